// Package config holds the user-wide settings of ledger-docker. Per-project
// settings live in the compose file's top-level `x-ledger:` extension (see
// internal/compose); environment variables override both.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// DefaultProtectLabel marks a volume that must never be deleted.
const DefaultProtectLabel = "com.ledgerflow.protect"

// Config is the user-wide configuration.
type Config struct {
	// ProtectLabel is the volume label key; a volume is protected when the
	// label's value is "true".
	ProtectLabel string `yaml:"protect_label"`
	// Production lists projects and contexts that need the environment
	// lock (EnvVar=ProdValue) for any destructive verdict.
	Production struct {
		Projects []string `yaml:"projects"`
		Contexts []string `yaml:"contexts"`
	} `yaml:"production"`
	// EnvVar names the variable that unlocks production (default LEDGER_ENV).
	EnvVar string `yaml:"env_var"`
	// ProdValue is the value EnvVar must have (default "prod").
	ProdValue string `yaml:"prod_value"`
	// SnapshotDir receives volume snapshots taken for commands that are not
	// tied to a compose project folder (default: $XDG_DATA_HOME/ledger-docker/snapshots).
	SnapshotDir string `yaml:"snapshot_dir"`
	// Path is where this configuration was read from ("" when defaults).
	Path string `yaml:"-"`
}

// Getenv is os.Getenv's shape, so tests can pass a map.
type Getenv func(string) string

// DefaultPath is $LEDGER_CONFIG, else $XDG_CONFIG_HOME/ledger-docker/config.yaml,
// else ~/.config/ledger-docker/config.yaml.
func DefaultPath(getenv Getenv) string {
	if p := getenv("LEDGER_CONFIG"); p != "" {
		return p
	}
	base := getenv("XDG_CONFIG_HOME")
	if base == "" {
		base = filepath.Join(homeDir(getenv), ".config")
	}
	return filepath.Join(base, "ledger-docker", "config.yaml")
}

func homeDir(getenv Getenv) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	h, _ := os.UserHomeDir()
	return h
}

// Load reads the configuration file (absent is fine) and applies the
// environment overrides LEDGER_PROTECT_LABEL, LEDGER_SNAPSHOT_DIR.
func Load(getenv Getenv) (*Config, error) {
	c := &Config{}
	path := DefaultPath(getenv)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := yaml.Unmarshal(data, c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		c.Path = path
	case errors.Is(err, os.ErrNotExist):
	default:
		return nil, err
	}
	if v := getenv("LEDGER_PROTECT_LABEL"); v != "" {
		c.ProtectLabel = v
	}
	if v := getenv("LEDGER_SNAPSHOT_DIR"); v != "" {
		c.SnapshotDir = v
	}
	if c.ProtectLabel == "" {
		c.ProtectLabel = DefaultProtectLabel
	}
	if c.EnvVar == "" {
		c.EnvVar = "LEDGER_ENV"
	}
	if c.ProdValue == "" {
		c.ProdValue = "prod"
	}
	if c.SnapshotDir == "" {
		base := getenv("XDG_DATA_HOME")
		if base == "" {
			base = filepath.Join(homeDir(getenv), ".local", "share")
		}
		c.SnapshotDir = filepath.Join(base, "ledger-docker", "snapshots")
	}
	return c, nil
}

// IsProtected reports whether labels mark a volume protected.
func (c *Config) IsProtected(labels map[string]string) bool {
	return labels[c.ProtectLabel] == "true"
}

// ProductionUnlocked reports whether the environment lock is open.
func (c *Config) ProductionUnlocked(getenv Getenv) bool {
	return getenv(c.EnvVar) == c.ProdValue
}

// IsProduction reports whether a project or context is listed as production.
func (c *Config) IsProduction(project, context string) bool {
	for _, p := range c.Production.Projects {
		if p != "" && p == project {
			return true
		}
	}
	for _, x := range c.Production.Contexts {
		if x != "" && x == context {
			return true
		}
	}
	return false
}
