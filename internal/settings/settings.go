// Package settings reads a project's ledger settings: the compose file's
// top-level `x-ledger:` extension, overridden by LEDGER_* environment
// variables (and, by the commands, by flags). Every key is documented in
// README.md ("Project settings").
//
//	x-ledger:
//	  database:
//	    service: db          # LEDGER_DB_SERVICE
//	    user: ledger         # LEDGER_DB_USER
//	    name: ledgerdb       # LEDGER_DB_NAME
//	  key_tables: [transactions, accounts]   # LEDGER_KEY_TABLES=a,b
//	  backup_dir: backups/dev                # LEDGER_BACKUP_DIR
//	  min_size: 10KB                         # LEDGER_MIN_SIZE
//	  verify: full                           # LEDGER_VERIFY (full|quick)
//	  freshness: 0s                          # LEDGER_FRESHNESS
//	  compression_level: 1                   # LEDGER_COMPRESSION_LEVEL (1-9)
//	  database_images:                       # more images the pre-commit check knows (config.DatabaseImage)
//	    - {image: team/ledger-db, data: /var/lib/ledger}
package settings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	units "github.com/docker/go-units"
	"gopkg.in/yaml.v3"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

// Extension is the compose file's top-level key.
const Extension = "x-ledger"

// Defaults.
const (
	DefaultBackupDir        = "backups/dev"
	DefaultMinSize          = 10 * 1024
	DefaultCompressionLevel = 1
	VerifyFull              = "full"
	VerifyQuick             = "quick"
)

// Database names the database to back up; empty fields are detected.
type Database struct {
	Service string `yaml:"service" json:"service,omitempty"`
	User    string `yaml:"user" json:"user,omitempty"`
	Name    string `yaml:"name" json:"name,omitempty"`
}

// Settings of one project.
type Settings struct {
	// Project is the compose project name; Dir its folder.
	Project string `json:"project"`
	Dir     string `json:"dir"`
	// Database to back up (detected where empty).
	Database Database `json:"database"`
	// KeyTables must exist in every backup (their counts are shown).
	KeyTables []string `json:"key_tables,omitempty"`
	// BackupDir is absolute (relative settings are under Dir).
	BackupDir string `json:"backup_dir"`
	// MinSize is the smallest acceptable .sql.gz, in bytes.
	MinSize int64 `json:"min_size"`
	// Verify is "full" (with a test restore) or "quick".
	Verify string `json:"verify"`
	// Freshness: a verified backup younger than this may be reused by
	// the wrapper (0: always a new one).
	Freshness time.Duration `json:"freshness"`
	// CompressionLevel of the gzip output (1 fastest .. 9 smallest).
	CompressionLevel int `json:"compression_level"`
	// DatabaseImages are images the pre-commit check treats as databases,
	// beside the ones it knows and those of the user configuration.
	DatabaseImages []config.DatabaseImage `json:"database_images,omitempty"`
}

// file is the x-ledger block as written.
type file struct {
	Database         Database `yaml:"database"`
	KeyTables        []string `yaml:"key_tables"`
	BackupDir        string   `yaml:"backup_dir"`
	MinSize          any      `yaml:"min_size"`
	Verify           string   `yaml:"verify"`
	Freshness        string   `yaml:"freshness"`
	CompressionLevel *int     `yaml:"compression_level"`

	DatabaseImages []config.DatabaseImage `yaml:"database_images"`
}

// Defaults returns the settings of a project without x-ledger or LEDGER_*.
func Defaults(project, dir string) *Settings {
	return &Settings{
		Project: project, Dir: dir,
		BackupDir:        filepath.Join(dir, DefaultBackupDir),
		MinSize:          DefaultMinSize,
		Verify:           VerifyFull,
		CompressionLevel: DefaultCompressionLevel,
	}
}

// Load loads the compose project as compose does and returns its settings
// and the project. Without a compose file but with a project name (-p),
// the project is nil and Dir is the working folder (or
// --project-directory): the database is then found by engine labels.
func Load(ctx context.Context, o compose.Options, getenv func(string) string) (*Settings, *types.Project, error) {
	p, err := compose.Load(ctx, o)
	switch {
	case errors.Is(err, compose.ErrNoComposeFile) && o.ProjectName != "":
		name, nerr := compose.ProjectName(ctx, o)
		if nerr != nil {
			return nil, nil, nerr
		}
		dir := o.ProjectDir
		if dir == "" {
			if dir, err = os.Getwd(); err != nil {
				return nil, nil, err
			}
		}
		if dir, err = filepath.Abs(dir); err != nil {
			return nil, nil, err
		}
		s := Defaults(name, dir)
		return s, nil, s.applyEnv(getenv)
	case errors.Is(err, compose.ErrNoComposeFile):
		return nil, nil, fmt.Errorf("no compose file here: run in a project folder, or name one with -f FILE or -p PROJECT: %w", exitcode.ErrNotFound)
	case err != nil:
		return nil, nil, fmt.Errorf("%w: %v", exitcode.ErrUsage, err)
	}
	s := Defaults(p.Name, p.WorkingDir)
	if err := s.applyExtension(p.Extensions[Extension]); err != nil {
		return nil, nil, err
	}
	if err := s.applyEnv(getenv); err != nil {
		return nil, nil, err
	}
	return s, p, nil
}

// decodeExtension reads the x-ledger block as written: unknown keys and
// bad database_images entries are configuration errors.
func decodeExtension(ext any) (file, error) {
	var f file
	if ext == nil {
		return f, nil
	}
	if err := unknownKeys(ext, reflect.TypeOf(f), Extension); err != nil {
		return f, fmt.Errorf("%w: %w", err, exitcode.ErrConfig)
	}
	raw, err := yaml.Marshal(ext)
	if err != nil {
		return f, fmt.Errorf("%s: %v: %w", Extension, err, exitcode.ErrConfig)
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return f, fmt.Errorf("%s: %s: %w", Extension, decodeMessage(err), exitcode.ErrConfig)
	}
	for _, d := range f.DatabaseImages {
		if err := d.Validate(); err != nil {
			return f, fmt.Errorf("%s.database_images: %v: %w", Extension, err, exitcode.ErrConfig)
		}
	}
	return f, nil
}

// UnknownKeyError is a key of the x-ledger block that is not a setting.
type UnknownKeyError struct {
	Path  string   // where: x-ledger, x-ledger.database, x-ledger.database_images[1]
	Key   string   // the key
	Known []string // the keys known there, sorted
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("%s: unknown key %q (the keys are %s)", e.Path, e.Key, strings.Join(e.Known, ", "))
}

// Parts is the path to the key, as keys and list indexes:
// x-ledger.database_images[1] gives x-ledger, database_images, 1, and Key.
func (e *UnknownKeyError) Parts() []string { return append(pathParts(e.Path), e.Key) }

// unknownKeys reports the first key of v (the x-ledger block as compose-go
// read it) that t, the struct it is decoded into, has no field for, with
// its path and the keys that are known there.
func unknownKeys(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			items, ok := v.([]any)
			if !ok && v != nil {
				return &KeyError{path, fmt.Errorf("must be a list, not %s", shapeOf(v))}
			}
			for i, it := range items {
				if err := unknownKeys(it, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
			return nil
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil // a scalar: its setter checks it
	}
	m, ok := v.(map[string]any)
	if !ok && v != nil {
		return &KeyError{path, fmt.Errorf("must be a mapping, not %s", shapeOf(v))}
	}
	fields := map[string]reflect.Type{}
	var known []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			fields[name] = t.Field(i).Type
			known = append(known, name)
		}
	}
	keys := slices.Sorted(maps.Keys(m))
	for _, k := range keys {
		ft, ok := fields[k]
		if !ok {
			slices.Sort(known)
			return &UnknownKeyError{Path: path, Key: k, Known: known}
		}
		if err := unknownKeys(m[k], ft, path+"."+k); err != nil {
			return err
		}
	}
	return nil
}

// shapeOf words what a YAML value is.
func shapeOf(v any) string {
	switch v := v.(type) {
	case map[string]any:
		return "a mapping"
	case []any:
		return "a list"
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
}

// decodeMessage is yaml.v3's decode error without its "yaml: unmarshal
// errors:" prefix and line numbers: they are of the block as re-encoded
// here, not of the compose file.
func decodeMessage(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return yamlLine.ReplaceAllString(err.Error(), "")
	}
	msgs := make([]string, len(te.Errors))
	for i, e := range te.Errors {
		msgs[i] = yamlLine.ReplaceAllString(e, "")
	}
	return strings.Join(msgs, "; ")
}

var yamlLine = regexp.MustCompile(`\bline \d+: `)

// DatabaseImages returns the database_images of a project's x-ledger block
// (p.Extensions[Extension]), for the pre-commit check.
func DatabaseImages(ext any) ([]config.DatabaseImage, error) {
	s := Defaults("", "")
	// every value is checked: a bad one is committed and fails the next
	// backup otherwise
	if err := s.applyExtension(ext); err != nil {
		return nil, err
	}
	return s.DatabaseImages, nil
}

func (s *Settings) applyExtension(ext any) error {
	f, err := decodeExtension(ext)
	if err != nil {
		return err
	}
	s.DatabaseImages = f.DatabaseImages
	s.Database = f.Database
	s.KeyTables = f.KeyTables
	if f.BackupDir != "" {
		s.SetBackupDir(f.BackupDir)
	}
	if f.MinSize != nil {
		if err := s.SetMinSize(fmt.Sprint(f.MinSize)); err != nil {
			return &KeyError{Extension + ".min_size", err}
		}
	}
	if f.Verify != "" {
		if err := s.SetVerify(f.Verify); err != nil {
			return &KeyError{Extension + ".verify", err}
		}
	}
	if f.Freshness != "" {
		if err := s.SetFreshness(f.Freshness); err != nil {
			return &KeyError{Extension + ".freshness", err}
		}
	}
	if f.CompressionLevel != nil {
		if err := s.SetCompressionLevel(strconv.Itoa(*f.CompressionLevel)); err != nil {
			return &KeyError{Extension + ".compression_level", err}
		}
	}
	return nil
}

// KeyError is a bad value of the x-ledger block, at Path
// (x-ledger.verify, x-ledger.database_images[1]).
type KeyError struct {
	Path string
	Err  error
}

func (e *KeyError) Error() string { return e.Path + ": " + e.Err.Error() }

func (e *KeyError) Unwrap() error { return e.Err }

// Parts is Path as keys and list indexes.
func (e *KeyError) Parts() []string { return pathParts(e.Path) }

func pathParts(path string) []string {
	return strings.Split(strings.NewReplacer("[", ".", "]", "").Replace(path), ".")
}

// applyEnv applies the LEDGER_* overrides.
func (s *Settings) applyEnv(getenv func(string) string) error {
	if getenv == nil {
		return nil
	}
	str := map[string]*string{
		"LEDGER_DB_SERVICE": &s.Database.Service,
		"LEDGER_DB_USER":    &s.Database.User,
		"LEDGER_DB_NAME":    &s.Database.Name,
	}
	for k, p := range str {
		if v := getenv(k); v != "" {
			*p = v
		}
	}
	if v := getenv("LEDGER_KEY_TABLES"); v != "" {
		s.KeyTables = nil
		for _, t := range strings.Split(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				s.KeyTables = append(s.KeyTables, t)
			}
		}
	}
	if v := getenv("LEDGER_BACKUP_DIR"); v != "" {
		s.SetBackupDir(v)
	}
	setters := []struct {
		env string
		set func(string) error
	}{
		{"LEDGER_MIN_SIZE", s.SetMinSize},
		{"LEDGER_VERIFY", s.SetVerify},
		{"LEDGER_FRESHNESS", s.SetFreshness},
		{"LEDGER_COMPRESSION_LEVEL", s.SetCompressionLevel},
	}
	for _, st := range setters {
		if v := getenv(st.env); v != "" {
			if err := st.set(v); err != nil {
				return fmt.Errorf("%s: %w", st.env, err)
			}
		}
	}
	return nil
}

// SetBackupDir sets the backup folder; a relative one is under Dir.
func (s *Settings) SetBackupDir(dir string) {
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.Dir, dir)
	}
	s.BackupDir = filepath.Clean(dir)
}

// SetMinSize parses "10KB", "1MiB", "20480".
func (s *Settings) SetMinSize(v string) error {
	n, err := units.RAMInBytes(v)
	if err != nil || n < 0 {
		return fmt.Errorf("min_size %q is not a size like 10KB: %w", v, exitcode.ErrConfig)
	}
	s.MinSize = n
	return nil
}

// SetVerify accepts "full" or "quick".
func (s *Settings) SetVerify(v string) error {
	switch v {
	case VerifyFull, VerifyQuick:
		s.Verify = v
		return nil
	}
	return fmt.Errorf("verify %q: want full or quick: %w", v, exitcode.ErrConfig)
}

// SetFreshness parses a Go duration ("10m", "1h30m", "0").
func (s *Settings) SetFreshness(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return fmt.Errorf("freshness %q is not a duration like 15m: %w", v, exitcode.ErrConfig)
	}
	s.Freshness = d
	return nil
}

// SetCompressionLevel accepts 1..9.
func (s *Settings) SetCompressionLevel(v string) error {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 9 {
		return fmt.Errorf("compression_level %q: want 1 (fastest) to 9 (smallest): %w", v, exitcode.ErrConfig)
	}
	s.CompressionLevel = n
	return nil
}
