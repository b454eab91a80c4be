package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDatabaseImages(t *testing.T) {
	c := load(t, `database_images:
  - image: registry.example.com/team/ledger-db
    kind: ledgerdb
    data: /var/lib/ledger
    volumes: [/var/lib/ledger]
    env: LEDGER_DATA
    flags: [--data-dir]
  - {image: team/cache-db, data: /srv}
`)
	want := []DatabaseImage{
		{Image: "registry.example.com/team/ledger-db", Kind: "ledgerdb", Data: "/var/lib/ledger",
			Volumes: []string{"/var/lib/ledger"}, Env: "LEDGER_DATA", Flags: []string{"--data-dir"}},
		{Image: "team/cache-db", Data: "/srv"},
	}
	if !reflect.DeepEqual(c.DatabaseImages, want) {
		t.Errorf("DatabaseImages = %+v, want %+v", c.DatabaseImages, want)
	}
}

func TestDatabaseImagesInvalid(t *testing.T) {
	for name, tc := range map[string]struct{ file, want string }{
		"no image":          {"database_images: [{data: /x}]\n", "an entry has no image"},
		"relative data":     {"database_images: [{image: a/b, data: data}]\n", `image "a/b": data "data" must be an absolute path`},
		"no data":           {"database_images: [{image: a/b}]\n", `image "a/b": no data (its data directory`},
		"relative volume":   {"database_images: [{image: a/b, data: /d, volumes: [d]}]\n", `image "a/b": volume "d" must be an absolute path`},
		"flag without dash": {"database_images: [{image: a/b, data: /d, flags: [datadir]}]\n", `image "a/b": flag "datadir" must start with -`},
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(p, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			vars := map[string]string{"HOME": t.TempDir(), "LEDGER_CONFIG": p}
			_, err := Load(func(k string) string { return vars[k] })
			if err == nil || !strings.Contains(err.Error(), p+": database_images: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load: %v, want an error naming the file and %q", err, tc.want)
			}
		})
	}
}
