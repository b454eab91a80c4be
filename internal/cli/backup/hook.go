package backup

import (
	"context"
	"os"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/wrapper/guard"
)

// ForGuard takes a compose project's verified database backup for the
// wrapper's guard (run inside this plugin binary), before a command that
// deletes the project's volumes runs.
func ForGuard(ctx context.Context, req guard.DBRequest) (string, error) {
	return backup.ForWrapper(ctx, backup.WrapperRequest{
		Engine: req.Engine, Project: req.Project, WorkingDir: req.WorkingDir,
		Command: req.Command, Getenv: os.Getenv, Log: os.Stderr,
	})
}
