package backup

import (
	"context"
	"os"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/wrapper/guard"
)

// The wrapper's guard (run inside this plugin binary) takes the project's
// database backup before a command it lets through with a backup verdict.
func init() {
	guard.DBBackup = func(ctx context.Context, req guard.DBRequest) (string, error) {
		return backup.ForWrapper(ctx, backup.WrapperRequest{
			Engine: req.Engine, Project: req.Project, WorkingDir: req.WorkingDir,
			Command: req.Command, Getenv: os.Getenv, Log: os.Stderr,
		})
	}
}
