package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/settings"
)

// WrapperRequest is the wrapper's ask: a verified database backup of a
// compose project before a destructive command runs.
type WrapperRequest struct {
	Engine     engine.Engine
	Project    string
	WorkingDir string
	// Command is the command about to run (for backup.log).
	Command string
	Getenv  func(string) string
	// Log receives what happens (stderr).
	Log io.Writer
	Now func() time.Time
}

// ForWrapper returns the path of a verified backup of the project's
// database: a new one, or, when the project's freshness setting allows
// it, a verified one younger than that. It returns ("", nil) when the
// project has no PostgreSQL service, or when its database service is
// stopped: a stopped server's files are consistent, and the command only
// loses them if it deletes their volume, which the wrapper snapshots then.
//
// The backup is fully verified but not held to min_size: it keeps what the
// database holds before a destructive command, however little (a fresh
// project's nearly empty database must not block `compose down -v`).
func ForWrapper(ctx context.Context, r WrapperRequest) (string, error) {
	s, project, err := settings.Load(ctx, compose.Options{ProjectName: r.Project, ProjectDir: r.WorkingDir}, r.Getenv)
	if err != nil {
		return "", err
	}
	s.MinSize = 0
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	if path := fresh(s, now()); path != "" {
		if r.Log != nil {
			fmt.Fprintf(r.Log, "ledger_docker: reusing verified database backup %s (younger than %s)\n", path, s.Freshness)
		}
		return path, nil
	}
	res, err := Run(ctx, Request{
		Settings: s, Project: project, Engine: r.Engine, Getenv: r.Getenv,
		Log: r.Log, Trigger: "ledger_docker " + r.Command, Now: r.Now, Tool: "ledger_docker",
	})
	if errors.Is(err, pg.ErrNoDatabase) {
		return "", nil
	}
	if errors.Is(err, pg.ErrNotRunning) {
		if r.Log != nil {
			fmt.Fprintf(r.Log, "ledger_docker: no database dump of project %s: %v (volumes it would delete are snapshotted while it is stopped)\n", r.Project, err)
		}
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return res.Path, nil
}

// fresh returns the newest verified backup of the project younger than
// the freshness window ("" when the window is 0 or none is).
func fresh(s *settings.Settings, now time.Time) string {
	if s.Freshness <= 0 {
		return ""
	}
	entries, err := List(s.BackupDir)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if e.Project != s.Project || (e.State != StateVerified && e.State != StateVerifiedQuick) {
			continue
		}
		if s.Verify == settings.VerifyFull && e.State != StateVerified {
			continue
		}
		if now.Sub(e.Time) <= s.Freshness && !e.Time.After(now) {
			return filepath.Join(s.BackupDir, e.File)
		}
	}
	return ""
}
