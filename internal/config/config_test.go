package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// load runs Load with only env (plus a private HOME), never the tester's
// own configuration; file, when not "", is the configuration file's text.
func load(t *testing.T, file string, env ...string) *Config {
	t.Helper()
	vars := map[string]string{"HOME": t.TempDir(), "XDG_CONFIG_HOME": t.TempDir(), "LEDGER_CONFIG": ""}
	if file != "" {
		p := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(p, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		vars["LEDGER_CONFIG"] = p
	}
	for i := 0; i+1 < len(env); i += 2 {
		vars[env[i]] = env[i+1]
	}
	c, err := Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestProtectKeys(t *testing.T) {
	const def = DefaultProtectLabel
	tests := []struct {
		name      string
		file      string
		env       []string
		wantKeys  []string
		wantWrite string
	}{
		{name: "defaults", wantKeys: []string{def}, wantWrite: def},
		{name: "empty env changes nothing", env: []string{"LEDGER_PROTECT_LABEL", ""}, wantKeys: []string{def}, wantWrite: def},
		{name: "blank env list changes nothing", env: []string{"LEDGER_PROTECT_LABEL", " , ,"}, wantKeys: []string{def}, wantWrite: def},
		{name: "env adds", env: []string{"LEDGER_PROTECT_LABEL", "other"}, wantKeys: []string{def, "other"}, wantWrite: "other"},
		{name: "env list", env: []string{"LEDGER_PROTECT_LABEL", "a, b,a"}, wantKeys: []string{def, "a", "b"}, wantWrite: "a"},
		{name: "env naming the default", env: []string{"LEDGER_PROTECT_LABEL", def}, wantKeys: []string{def}, wantWrite: def},
		{name: "file protect_label adds", file: "protect_label: other\n", wantKeys: []string{def, "other"}, wantWrite: "other"},
		{name: "file protect_labels", file: "protect_labels: [x, y]\n", wantKeys: []string{def, "x", "y"}, wantWrite: "x"},
		{name: "file both", file: "protect_label: a\nprotect_labels: [b, a]\n", wantKeys: []string{def, "a", "b"}, wantWrite: "a"},
		{name: "env before file", file: "protect_label: f\n", env: []string{"LEDGER_PROTECT_LABEL", "e"},
			wantKeys: []string{def, "e", "f"}, wantWrite: "e"},
		{name: "empty file key", file: "protect_label: \"\"\nprotect_labels: []\n", wantKeys: []string{def}, wantWrite: def},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t, tt.file, tt.env...)
			if got := c.ProtectKeys(); !slices.Equal(got, tt.wantKeys) {
				t.Errorf("ProtectKeys = %q, want %q", got, tt.wantKeys)
			}
			if got := c.WriteKey(); got != tt.wantWrite || c.ProtectLabel != tt.wantWrite {
				t.Errorf("WriteKey = %q, ProtectLabel = %q, want %q", got, c.ProtectLabel, tt.wantWrite)
			}
		})
	}
}

// TestDefaultKeyAlwaysProtects: no configuration removes the default key
// (LEDGER_PROTECT_LABEL=other used to replace it).
func TestDefaultKeyAlwaysProtects(t *testing.T) {
	for name, c := range map[string]*Config{
		"env":               load(t, "", "LEDGER_PROTECT_LABEL", "other"),
		"file":              load(t, "protect_label: other\n"),
		"file list":         load(t, "protect_labels: [other]\n"),
		"env replaced file": load(t, "protect_label: other\n", "LEDGER_PROTECT_LABEL", "other"),
		"hand-built":        {ProtectLabel: "other"},
	} {
		t.Run(name, func(t *testing.T) {
			for _, labels := range []map[string]string{
				{DefaultProtectLabel: "true"},
				{"other": "true"},
				{DefaultProtectLabel: "false", "other": "true"},
				{DefaultProtectLabel: "true", "other": "no"},
			} {
				if !c.IsProtected(labels) {
					t.Errorf("%v: not protected", labels)
				}
			}
			for _, labels := range []map[string]string{nil, {}, {"other": "false"}, {DefaultProtectLabel: ""}, {"unrelated": "true"}} {
				if c.IsProtected(labels) {
					t.Errorf("%v: protected", labels)
				}
			}
		})
	}
}

func TestProtectedBy(t *testing.T) {
	c := &Config{ProtectLabels: []string{"a", "b"}}
	for _, tt := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{DefaultProtectLabel: "true", "a": "true"}, DefaultProtectLabel},
		{map[string]string{"b": "TRUE"}, "b"},
		{map[string]string{"a": " True "}, "a"},
		{map[string]string{"a": "yes", "b": "1"}, ""},
		{map[string]string{DefaultProtectLabel + " ": "true"}, ""},
	} {
		if got := c.ProtectedBy(tt.labels); got != tt.want {
			t.Errorf("ProtectedBy(%v) = %q, want %q", tt.labels, got, tt.want)
		}
	}
}

func TestLabelText(t *testing.T) {
	if got := LabelText([]string{DefaultProtectLabel}); got != "com.ledgerflow.protect=true" {
		t.Errorf("one key: %q", got)
	}
	if got := LabelText([]string{"a", "b"}); got != "a=true or b=true" {
		t.Errorf("two keys: %q", got)
	}
}
