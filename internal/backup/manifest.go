// Package backup takes a project's database backup: pg_dump inside the
// database container, streamed to the host and gzipped there, written
// atomically as <backup_dir>/<project>_db_backup_YYYYMMDD_HHMMSS.sql.gz
// (UTC) with a manifest beside it (<same name>.json), verified before it
// is published, one line in <backup_dir>/backup.log per run.
package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/atomicfile"
	"github.com/ledger-docker/ledger-docker/internal/backupname"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/verify"
)

// ManifestVersion is the manifest format's version.
const ManifestVersion = 1

// TypeDB is the backup type of database dumps.
const TypeDB = "db"

// Manifest describes one backup. It is written next to the backup as
// <name>.json (the .sql.gz suffix replaced).
type Manifest struct {
	Version int    `json:"version"`
	Type    string `json:"type"`
	// File is the backup's base name (it lives beside the manifest).
	File string `json:"file"`
	// Created is when the dump started (UTC).
	Created time.Time `json:"created"`
	Tool    string    `json:"tool"`

	Project   string `json:"project"`
	Service   string `json:"service"`
	Database  string `json:"database"`
	User      string `json:"user"`
	Container string `json:"container"`
	Image     string `json:"image"`
	ImageID   string `json:"image_id,omitempty"`

	Versions pg.Versions `json:"versions"`
	Snapshot string      `json:"snapshot"`

	// Size and SHA256 of the .sql.gz file; SQLSize of the SQL inside it
	// (the gzip CRC, checked on every re-read, covers its content).
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	SQLSize int64  `json:"sql_size"`
	// SQLSHA256 is the SQL's sha256, recorded by earlier versions only;
	// verify checks it when it is there.
	SQLSHA256 string `json:"sql_sha256,omitempty"`
	// Compression is "gzip" with its level.
	Compression      string `json:"compression"`
	CompressionLevel int    `json:"compression_level"`

	// Counts are exact row counts per table ("schema.table"), taken in
	// the dump's snapshot.
	Counts map[string]int64 `json:"counts"`
	// Fingerprint is the sha256 of the source's schema description.
	Fingerprint string `json:"schema_fingerprint"`
	// Roles are the server's roles (a test restore creates them).
	Roles []string `json:"roles,omitempty"`
	// KeyTables are the project's key tables (settings).
	KeyTables []string `json:"key_tables,omitempty"`

	Durations    Durations     `json:"durations"`
	Verification verify.Report `json:"verification"`
}

// Durations in seconds.
type Durations struct {
	Dump   float64 `json:"dump_seconds"`
	Verify float64 `json:"verify_seconds"`
	Total  float64 `json:"total_seconds"`
}

// Suffix of database backups.
const Suffix = backupname.Suffix

// FileName is <project>_db_backup_YYYYMMDD_HHMMSS.sql.gz for t in UTC.
func FileName(project string, t time.Time) string { return backupname.Of(project, t) }

// ManifestPath is the manifest of a backup file: the .sql.gz (or .gz)
// suffix replaced by .json.
func ManifestPath(backupPath string) string {
	base := strings.TrimSuffix(backupPath, Suffix)
	if base == backupPath {
		base = strings.TrimSuffix(backupPath, ".gz")
	}
	return base + ".json"
}

// LoadManifest reads the manifest of a backup file; (nil, nil) when it has
// none (a legacy `pg_dump | gzip` file).
func LoadManifest(backupPath string) (*Manifest, error) {
	data, err := os.ReadFile(ManifestPath(backupPath))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", ManifestPath(backupPath), err)
	}
	return &m, nil
}

// Save writes the manifest beside the backup file, atomically.
func (m *Manifest) Save(backupPath string) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Replace(ManifestPath(backupPath), append(data, '\n'), atomicfile.FileMode)
}

// Entry is one backup in a folder.
type Entry struct {
	Path     string    `json:"path"`
	File     string    `json:"file"`
	Project  string    `json:"project,omitempty"`
	Time     time.Time `json:"time"`
	Size     int64     `json:"size"`
	Manifest *Manifest `json:"-"`
	// State is "verified" (full), "verified-quick", "failed", or
	// "unverified" (no manifest: a legacy file).
	State string `json:"state"`
	// Mode is the verification mode recorded ("full", "quick", "").
	Mode string `json:"mode,omitempty"`
	// Failed names the checks that failed.
	Failed []string `json:"failed,omitempty"`
	// Counts and Database from the manifest.
	Database string           `json:"database,omitempty"`
	Counts   map[string]int64 `json:"counts,omitempty"`
}

// States of a listed backup.
const (
	StateVerified      = "verified"
	StateVerifiedQuick = "verified-quick"
	StateFailed        = "failed"
	StateUnverified    = "unverified"
	StateBadManifest   = "bad-manifest"
)

// List returns the .sql.gz backups in dir (ours and legacy ones), newest
// first, with their verification state. A missing folder lists nothing.
func List(dir string) ([]Entry, error) {
	des, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, de := range des {
		name := de.Name()
		if de.IsDir() || !strings.HasSuffix(name, ".gz") || strings.HasPrefix(name, atomicfile.TempPrefix) {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		e := Entry{Path: filepath.Join(dir, name), File: name, Size: fi.Size(), Time: fi.ModTime().UTC()}
		if p, _, ok := backupname.Parse(name); ok {
			e.Project = p
		}
		if t, ok := backupname.Time(name); ok {
			e.Time = t.UTC()
		}
		m, err := LoadManifest(e.Path)
		switch {
		case err != nil:
			e.State = StateBadManifest
		case m == nil:
			e.State = StateUnverified
		default:
			e.Manifest = m
			e.Project, e.Database, e.Counts = m.Project, m.Database, m.Counts
			if !m.Created.IsZero() {
				e.Time = m.Created
			}
			e.Mode = m.Verification.Mode
			switch {
			case !m.Verification.OK:
				e.State = StateFailed
				for _, c := range m.Verification.Failed() {
					e.Failed = append(e.Failed, c.Name)
				}
			case m.Verification.Mode == verify.ModeQuick:
				e.State = StateVerifiedQuick
			default:
				e.State = StateVerified
			}
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.After(out[j].Time)
		}
		return out[i].File > out[j].File
	})
	return out, nil
}
