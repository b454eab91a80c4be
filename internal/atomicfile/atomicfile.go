// Package atomicfile writes a file so that its final name only ever holds
// complete content: write to a temp file in the destination folder, fsync,
// rename, fsync the folder (restic's way). An aborted write leaves nothing
// under the final name and removes its temp file.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TempPrefix starts every temp file's name, so leftovers of a killed run can
// be recognised (and are never taken for backups).
const TempPrefix = ".ledger-tmp-"

// DirMode and FileMode are the permissions of backup folders and files.
const (
	DirMode  os.FileMode = 0o700
	FileMode os.FileMode = 0o600
)

// File is a file being written. Commit publishes it; Abort discards it.
// Abort after Commit does nothing, so `defer f.Abort()` is always safe.
type File struct {
	*os.File
	final string
	done  bool
}

// MkdirPrivate creates dir (and parents) with DirMode and tightens an
// existing dir's mode to DirMode.
func MkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, DirMode); err != nil {
		return err
	}
	return os.Chmod(dir, DirMode)
}

// Create opens a temp file beside final (creating the folder 0700).
func Create(final string) (*File, error) {
	dir := filepath.Dir(final)
	if err := MkdirPrivate(dir); err != nil {
		return nil, fmt.Errorf("create folder %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, TempPrefix+filepath.Base(final)+"-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(FileMode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{File: f, final: final}, nil
}

// TempName is the temp file's path.
func (f *File) TempName() string { return f.File.Name() }

// FinalName is the path Commit renames to.
func (f *File) FinalName() string { return f.final }

// Commit syncs, closes and renames the file to its final name, then syncs
// the folder. It refuses to overwrite an existing final file.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	if err := f.File.Sync(); err != nil {
		f.Abort()
		return fmt.Errorf("sync %s: %w", f.TempName(), err)
	}
	if err := f.File.Close(); err != nil {
		f.Abort()
		return fmt.Errorf("close %s: %w", f.TempName(), err)
	}
	// Link + remove instead of rename so an existing final file is never
	// replaced by accident.
	if err := os.Link(f.TempName(), f.final); err != nil {
		f.Abort()
		return fmt.Errorf("publish %s: %w", f.final, err)
	}
	f.done = true
	_ = os.Remove(f.TempName())
	return SyncDir(filepath.Dir(f.final))
}

// Abort closes and removes the temp file. Safe to call more than once.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	_ = f.File.Close()
	_ = os.Remove(f.TempName())
}

// WriteFile writes data atomically to final with FileMode.
func WriteFile(final string, data []byte) error {
	f, err := Create(final)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}

// Replace writes data atomically to final, replacing an existing file
// (for manifests and config files that are rewritten in place).
func Replace(final string, data []byte, mode os.FileMode) error {
	f, err := Create(final)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.File.Chmod(mode); err != nil {
		return err
	}
	if err := f.File.Sync(); err != nil {
		return err
	}
	if err := f.File.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.TempName(), final); err != nil {
		return err
	}
	f.done = true
	return SyncDir(filepath.Dir(final))
}

// SyncDir fsyncs a folder so a rename in it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync folder %s: %w", dir, err)
	}
	return nil
}

// CleanTemps removes temp files left in dir by killed runs (older runs
// only: callers hold the project lock while calling it).
func CleanTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			p := filepath.Join(dir, e.Name())
			if err := os.Remove(p); err == nil {
				removed = append(removed, p)
			}
		}
	}
	return removed, nil
}
