package cli

import (
	"context"
	"errors"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Exit codes. One map for every binary; each command's help lists the ones
// it can return (EXIT STATUS). Keep README.md's table in step.
const (
	ExitOK           = 0
	ExitFailure      = 1  // anything not listed below
	ExitUsage        = 2  // unknown flag, bad argument, malformed compose file
	ExitVerify       = 3  // a backup failed verification
	ExitLocked       = 4  // another run holds the project's lock
	ExitNotFound     = 5  // backup file, service, volume or database not found
	ExitNoSpace      = 6  // not enough free space for the backup
	ExitConfig       = 78 // configuration error (EX_CONFIG)
	ExitUnavailable  = 69 // engine unreachable (EX_UNAVAILABLE)
	ExitBackupFailed = 75 // the forced backup failed: the destructive command did not run
	ExitBlocked      = 77 // blocked: a protected volume would be lost (EX_NOPERM)
	ExitInterrupted  = 130
)

// Sentinel errors. Wrap them with %w; ExitCode maps them.
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

// ExitCode maps an error to the process exit status.
func ExitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrBlocked):
		return ExitBlocked
	case errors.Is(err, ErrBackupFailed):
		return ExitBackupFailed
	case errors.Is(err, engine.ErrUnreachable):
		return ExitUnavailable
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.Is(err, ErrUsage):
		return ExitUsage
	case errors.Is(err, ErrVerify):
		return ExitVerify
	case errors.Is(err, ErrLocked):
		return ExitLocked
	case errors.Is(err, ErrNotFound), errors.Is(err, engine.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, ErrNoSpace):
		return ExitNoSpace
	case errors.Is(err, ErrConfig):
		return ExitConfig
	case errors.Is(err, ErrCancelled):
		return ExitFailure
	}
	return ExitFailure
}

// ExitStatusHelp is appended to every command's help (restic style).
const ExitStatusHelp = `
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
