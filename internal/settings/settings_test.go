package settings

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

func load(t *testing.T, yml string, env map[string]string) (*Settings, error) {
	t.Helper()
	dir := t.TempDir()
	if yml != "" {
		if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yml), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, _, err := Load(context.Background(), compose.Options{ProjectDir: dir, Env: []string{}, ProjectName: env["-p"]}, func(k string) string { return env[k] })
	return s, err
}

const base = "services:\n  db:\n    image: postgres:16\n"

func TestDefaults(t *testing.T) {
	s, err := load(t, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.BackupDir != filepath.Join(s.Dir, "backups", "dev") || s.MinSize != 10240 || s.Verify != "full" || s.Freshness != 0 || s.CompressionLevel != 1 {
		t.Errorf("defaults = %+v", s)
	}
}

func TestExtensionThenEnv(t *testing.T) {
	yml := base + `x-ledger:
  database: {service: db, user: app, name: appdb}
  key_tables: [transactions]
  backup_dir: /srv/backups
  min_size: 1MB
  verify: quick
  freshness: 15m
  compression_level: 6
`
	s, err := load(t, yml, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Database{Service: "db", User: "app", Name: "appdb"}
	if s.Database != want || s.BackupDir != "/srv/backups" || s.MinSize != 1<<20 || s.Verify != "quick" ||
		s.Freshness != 15*time.Minute || s.CompressionLevel != 6 || len(s.KeyTables) != 1 {
		t.Errorf("settings = %+v", s)
	}
	s, err = load(t, yml, map[string]string{"LEDGER_DB_NAME": "other", "LEDGER_BACKUP_DIR": "rel/dir", "LEDGER_MIN_SIZE": "20480", "LEDGER_KEY_TABLES": "a, b"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Database.Name != "other" || s.BackupDir != filepath.Join(s.Dir, "rel", "dir") || s.MinSize != 20480 || len(s.KeyTables) != 2 {
		t.Errorf("env overrides = %+v", s)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, c := range map[string]struct {
		yml string
		env map[string]string
	}{
		"unknown key":     {base + "x-ledger:\n  backupdir: x\n", nil},
		"bad size":        {base + "x-ledger:\n  min_size: lots\n", nil},
		"bad verify":      {base + "x-ledger:\n  verify: sometimes\n", nil},
		"bad freshness":   {base, map[string]string{"LEDGER_FRESHNESS": "soon"}},
		"bad compression": {base, map[string]string{"LEDGER_COMPRESSION_LEVEL": "11"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := load(t, c.yml, c.env)
			if !errors.Is(err, exitcode.ErrConfig) {
				t.Errorf("err = %v, want a configuration error", err)
			}
		})
	}
}

func TestNoComposeFile(t *testing.T) {
	_, err := load(t, "", nil)
	if !errors.Is(err, exitcode.ErrNotFound) {
		t.Errorf("err = %v", err)
	}
	s, err := load(t, "", map[string]string{"-p": "shop"})
	if err != nil || s.Project != "shop" {
		t.Errorf("with -p: %+v %v", s, err)
	}
}

// An x-ledger block with a mistake says which key, where in the block, and
// what the keys are; never a decoder's type names or the line of a block
// re-encoded in memory.
func TestExtensionMistakesAreWorded(t *testing.T) {
	for _, tc := range []struct{ name, block, want string }{
		{"a list where the block's mapping belongs", " [1, 2]\n",
			"x-ledger: must be a mapping, not a list: configuration error"},
		{"a misspelt top-level key", "\n  backupdir: x\n",
			`x-ledger: unknown key "backupdir" (the keys are backup_dir, compression_level, database, ` +
				`database_images, freshness, key_tables, min_size, verify): configuration error`},
		{"a misspelt key under database", "\n  database:\n    servce: db\n",
			`x-ledger.database: unknown key "servce" (the keys are name, service, user): configuration error`},
		{"a misspelt key in the second database image", "\n  database_images:\n    - {image: a, data: /a}\n" +
			"    - {image: b, dir: /b}\n",
			`x-ledger.database_images[1]: unknown key "dir" (the keys are data, env, flags, image, kind, volumes): ` +
				`configuration error`},
		{"a number where a list of names belongs", "\n  key_tables: 3\n",
			"x-ledger.key_tables: must be a list, not 3: configuration error"},
		{"one name where a list of names belongs", "\n  key_tables: transactions\n",
			`x-ledger.key_tables: must be a list, not "transactions": configuration error`},
		{"a list where the database's mapping belongs", "\n  database: [db]\n",
			"x-ledger.database: must be a mapping, not a list: configuration error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, base+"x-ledger:"+tc.block, nil)
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant   %s", err, tc.want)
			}
		})
	}
}
