// Package config holds the user-wide settings of ledger-docker. Per-project
// settings live in the compose file's top-level `x-ledger:` extension (see
// internal/settings); environment variables override both.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultProtectLabel marks a volume that must never be deleted. It is
// always a protect key: configuration can add keys, never remove this one.
const DefaultProtectLabel = "com.ledgerflow.protect"

// Config is the user-wide configuration.
type Config struct {
	// ProtectLabel (file: protect_label, kept for older files) adds one
	// protect key. After Load it is the key `protect` and `check --fix`
	// write: the first added key, else DefaultProtectLabel (see WriteKey).
	ProtectLabel string `yaml:"protect_label"`
	// ProtectLabels (file: protect_labels) adds more protect keys. After
	// Load it lists every added key: LEDGER_PROTECT_LABEL's first, then
	// protect_label, then protect_labels.
	ProtectLabels []string `yaml:"protect_labels"`
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
	// DatabaseImages (file: database_images) are more images whose data the
	// pre-commit check must see mounted (see DatabaseImage).
	DatabaseImages []DatabaseImage `yaml:"database_images"`
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
// environment: LEDGER_PROTECT_LABEL (a comma-separated list) adds protect
// keys, LEDGER_SNAPSHOT_DIR overrides the snapshot folder.
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
	// The environment comes first, so that its first key is the one written
	// (environment variables override the file, as everywhere else).
	added := cleanKeys(append(append(strings.Split(getenv("LEDGER_PROTECT_LABEL"), ","), c.ProtectLabel), c.ProtectLabels...))
	c.ProtectLabel, c.ProtectLabels = "", added
	c.ProtectLabel = c.WriteKey()
	for _, d := range c.DatabaseImages {
		if err := d.Validate(); err != nil {
			return nil, fmt.Errorf("%s: database_images: %w", path, err)
		}
	}
	if v := getenv("LEDGER_SNAPSHOT_DIR"); v != "" {
		c.SnapshotDir = v
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

// cleanKeys trims keys and drops empty ones and repeats, keeping the order.
func cleanKeys(keys []string) []string {
	out := []string{}
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// ProtectKeys are the label keys that protect a volume: DefaultProtectLabel
// first, whatever the configuration says, then the keys it adds.
func (c *Config) ProtectKeys() []string {
	return cleanKeys(append([]string{DefaultProtectLabel, c.ProtectLabel}, c.ProtectLabels...))
}

// WriteKey is the key `protect` and `check --fix` write: ProtectLabel, else
// the first of ProtectLabels, else DefaultProtectLabel.
func (c *Config) WriteKey() string {
	if k := cleanKeys(append([]string{c.ProtectLabel}, c.ProtectLabels...)); len(k) > 0 {
		return k[0]
	}
	return DefaultProtectLabel
}

// IsTrue is the protect value rule: "true" in any letter case, surrounding
// blanks ignored. It is more generous than the engine's exact label
// filters on purpose: a doubtful value protects.
func IsTrue(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "true") }

// ProtectedBy is the first protect key whose value in labels is true, or ""
// when labels do not protect the volume.
func (c *Config) ProtectedBy(labels map[string]string) string {
	for _, k := range c.ProtectKeys() {
		if v, ok := labels[k]; ok && IsTrue(v) {
			return k
		}
	}
	return ""
}

// IsProtected reports whether any protect key in labels is true.
func (c *Config) IsProtected(labels map[string]string) bool { return c.ProtectedBy(labels) != "" }

// LabelText names the protect labels for messages: "K=true" for one key,
// "K1=true or K2=true" for more.
func LabelText(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=true"
	}
	return strings.Join(parts, " or ")
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
