package settings

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

// TestDatabaseImagesInExtension: x-ledger's database_images is a known key
// (backup and restore load the same block) and reads as the configuration's.
func TestDatabaseImagesInExtension(t *testing.T) {
	s, err := load(t, base+`x-ledger:
  database_images:
    - {image: team/ledger-db, kind: ledgerdb, data: /var/lib/ledger, volumes: [/var/lib/ledger]}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []config.DatabaseImage{{Image: "team/ledger-db", Kind: "ledgerdb", Data: "/var/lib/ledger", Volumes: []string{"/var/lib/ledger"}}}
	if !reflect.DeepEqual(s.DatabaseImages, want) {
		t.Errorf("DatabaseImages = %+v, want %+v", s.DatabaseImages, want)
	}

	_, err = load(t, base+"x-ledger:\n  database_images:\n    - {image: team/ledger-db, data: relative}\n", nil)
	if !errors.Is(err, exitcode.ErrConfig) || !strings.Contains(err.Error(), `x-ledger.database_images: image "team/ledger-db": data "relative" must be an absolute path`) {
		t.Errorf("a relative data directory: %v, want a configuration error naming it", err)
	}
	if _, err := DatabaseImages(map[string]any{"database_images": []any{map[string]any{"image": "x", "dat": "/d"}}}); !errors.Is(err, exitcode.ErrConfig) {
		t.Errorf("an unknown key in an entry: %v, want a configuration error", err)
	}
	if got, err := DatabaseImages(nil); err != nil || got != nil {
		t.Errorf("no x-ledger: %v, %v", got, err)
	}
}
