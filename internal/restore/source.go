package restore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/backupname"
)

// Manifest is what restore needs of a backup's manifest. Backups without
// one (legacy `pg_dump | gzip` files) restore too, unchecked by counts.
type Manifest struct {
	// Created is when the dump was taken.
	Created time.Time
	// Project, Service and Database name where the dump came from.
	Project, Service, Database string
	// SHA256 and Size of the .sql.gz file.
	SHA256 string
	Size   int64
	// Counts are exact per-table row counts taken in the dump's snapshot.
	Counts map[string]int64
	// Fingerprint is the schema fingerprint of the source database.
	Fingerprint string
	// Verified tells whether the backup passed its verification.
	Verified bool
}

// Source is the backup file to restore.
type Source struct {
	Path string
	Size int64
	// Manifest is nil for legacy backups.
	Manifest *Manifest
	// Time is the backup's time: the manifest's, else the one in the file
	// name, else the file's modification time.
	Time time.Time
	// TimeFrom says where Time came from: "manifest", "file name", "file
	// modification time".
	TimeFrom string
}

// Legacy reports whether the backup has no manifest.
func (s Source) Legacy() bool { return s.Manifest == nil }

// ManifestLoader reads the manifest that belongs to a backup file. It
// returns (nil, nil) when the backup has none.
type ManifestLoader func(backupPath string) (*Manifest, error)

// OpenSource looks at the backup file and its manifest.
func OpenSource(path string, load ManifestLoader) (Source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return Source{}, fmt.Errorf("backup file %s: %w", path, ErrNotFound)
		}
		return Source{}, fmt.Errorf("backup file: %w", err)
	}
	if fi.IsDir() {
		return Source{}, fmt.Errorf("backup file %s is a folder: %w", path, ErrUsage)
	}
	src := Source{Path: path, Size: fi.Size()}
	if load != nil {
		m, err := load(path)
		if err != nil {
			return Source{}, fmt.Errorf("manifest of %s: %w", filepath.Base(path), err)
		}
		src.Manifest = m
	}
	switch t, ok := backupname.Time(path); {
	case src.Manifest != nil && !src.Manifest.Created.IsZero():
		src.Time, src.TimeFrom = src.Manifest.Created, "manifest"
	case ok:
		src.Time, src.TimeFrom = t, "file name"
	default:
		src.Time, src.TimeFrom = fi.ModTime(), "file modification time"
	}
	return src, nil
}
