// Package exitcode is the one map from errors to exit statuses, for every
// binary and every layer: the sentinel errors domain packages wrap, the
// numbers, and the EXIT STATUS help text. It depends on the standard
// library and internal/engine's error values only, so that a domain
// package (backup, restore, lock...) can return a classified error without
// linking the command framework.
package exitcode

import (
	"context"
	"errors"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Exit codes. One map for every binary; every command's help lists the
// whole table (EXIT STATUS, Help). Keep README.md's table in step; the C
// front's numbers are pinned to these by a test (internal/wrapper).
const (
	OK           = 0
	Failure      = 1  // anything not listed below
	Usage        = 2  // unknown flag, bad argument, malformed compose file
	Verify       = 3  // a backup failed verification
	Locked       = 4  // another run holds the project's lock
	NotFound     = 5  // backup file, service, volume or database not found
	NoSpace      = 6  // not enough free space for the backup
	Config       = 78 // configuration error (EX_CONFIG)
	Unavailable  = 69 // engine unreachable (EX_UNAVAILABLE)
	BackupFailed = 75 // the forced backup failed: the destructive command did not run
	Blocked      = 77 // blocked: a protected volume would be lost (EX_NOPERM)
	Interrupted  = 130
)

// Sentinel errors. Wrap them with %w; Of maps them.
var (
	ErrUsage        = errors.New("usage error")
	ErrVerify       = errors.New("verification failed")
	ErrLocked       = errors.New("another run is in progress")
	ErrNotFound     = errors.New("not found")
	ErrNoSpace      = errors.New("not enough free space")
	ErrConfig       = errors.New("configuration error")
	ErrBackupFailed = errors.New("backup failed")
	ErrBlocked      = errors.New("blocked")
	// ErrCancelled: the user declined a confirmation.
	ErrCancelled = errors.New("cancelled")
)

// Status is an error that carries its exit status and the message to print
// as is (a command that words its own summary). The plugin's root turns it
// into docker/cli's StatusError; a binary without docker/cli prints Message
// and exits with Code.
type Status struct {
	Code    int
	Message string
	Cause   error
}

func (s Status) Error() string {
	if s.Message == "" && s.Cause != nil {
		return s.Cause.Error()
	}
	return s.Message
}

func (s Status) Unwrap() error { return s.Cause }

// Of maps an error to the process exit status.
func Of(err error) int {
	var st Status
	switch {
	case err == nil:
		return OK
	case errors.As(err, &st):
		return st.Code
	case errors.Is(err, ErrBlocked):
		return Blocked
	case errors.Is(err, ErrBackupFailed):
		return BackupFailed
	case errors.Is(err, engine.ErrUnreachable):
		return Unavailable
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.Is(err, ErrUsage):
		return Usage
	case errors.Is(err, ErrVerify):
		return Verify
	case errors.Is(err, ErrLocked):
		return Locked
	case errors.Is(err, ErrNotFound), errors.Is(err, engine.ErrNotFound):
		return NotFound
	case errors.Is(err, ErrNoSpace):
		return NoSpace
	case errors.Is(err, ErrConfig):
		return Config
	case errors.Is(err, ErrCancelled):
		return Failure
	}
	return Failure
}

// Help is appended to every command's help (restic style).
const Help = `
EXIT STATUS
  0   success
  1   failure (anything not listed below), or the confirmation was declined
  2   usage error: unknown flag, bad argument, malformed compose file
  3   a backup failed verification
  4   another run holds this project's lock
  5   backup file, service, volume or database not found
  6   not enough free space
  69  the container engine is unreachable
  75  the forced backup failed; the destructive command did not run
  77  blocked: a protected volume would be lost
  78  configuration error
  130 interrupted (Ctrl-C, SIGTERM)
`
