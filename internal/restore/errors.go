package restore

import "github.com/ledger-docker/ledger-docker/internal/exitcode"

// The exit-code sentinels of internal/cli, under the names this package
// uses; wrap them with %w so the one ExitCode map applies.
var (
	ErrNotFound = exitcode.ErrNotFound
	ErrUsage    = exitcode.ErrUsage
	ErrVerify   = exitcode.ErrVerify
)
