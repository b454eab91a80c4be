// Package backupname is the one reader and writer of database backup file
// names: ours, <project>_db_backup_YYYYMMDD_HHMMSS.sql.gz with the time in
// UTC, and the older <anything>_YYYYMMDD_HHMMSS.sql.gz ones (such as
// ledgerflow_backup_...), whose time is local. backup writes and lists
// them; restore reads the time of a backup that has no manifest.
package backupname

import (
	"path/filepath"
	"regexp"
	"time"
)

// Suffix of database backups.
const Suffix = ".sql.gz"

// TimeLayout is the time stamp in names.
const TimeLayout = "20060102_150405"

var (
	// ours: group 1 is the project, 2 the time (UTC)
	oursRE = regexp.MustCompile(`^(.+)_db_backup_(\d{8}_\d{6})\.sql\.gz$`)
	// any other name with a time stamp before the suffix (local time)
	legacyRE = regexp.MustCompile(`_(\d{8}_\d{6})\.sql\.gz$`)
)

// Of is <project>_db_backup_YYYYMMDD_HHMMSS.sql.gz for t in UTC.
func Of(project string, t time.Time) string {
	return project + "_db_backup_" + t.UTC().Format(TimeLayout) + Suffix
}

// Parse returns the project and (UTC) time of one of our names (a path's
// base name is read).
func Parse(name string) (project string, t time.Time, ok bool) {
	m := oursRE.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return "", time.Time{}, false
	}
	t, err := time.ParseInLocation(TimeLayout, m[2], time.UTC)
	if err != nil {
		return "", time.Time{}, false
	}
	return m[1], t, true
}

// Time returns the time stamp in a backup's name: UTC in ours, local time
// in any other name that carries one (no zone is written there).
func Time(name string) (time.Time, bool) {
	if _, t, ok := Parse(name); ok {
		return t, true
	}
	m := legacyRE.FindStringSubmatch(filepath.Base(name))
	if m == nil {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(TimeLayout, m[1], time.Local)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
