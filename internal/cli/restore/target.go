package restore

import (
	"context"
	"path/filepath"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/lock"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/restore"
	"github.com/ledger-docker/ledger-docker/internal/settings"
)

// resolveTarget loads the project's settings (compose file, x-ledger,
// LEDGER_*, flags), takes the project's lock, finds its database service
// and wires the backup side in: the manifest reader and the safety backup.
// The returned func releases the lock.
func resolveTarget(ctx context.Context, opts *Options, eng engine.Engine) (*restore.Request, func(), error) {
	file, err := filepath.Abs(opts.File)
	if err != nil {
		return nil, nil, err
	}
	src, err := restore.OpenSource(file, nil)
	if err != nil {
		return nil, nil, err
	}
	set, project, err := settings.Load(ctx, opts.Compose, opts.Getenv)
	if err != nil {
		return nil, nil, err
	}
	want := pg.Want{Service: set.Database.Service, User: set.Database.User, Database: set.Database.Name}
	override(&want.Service, opts.Service)
	override(&want.User, opts.User)
	override(&want.Database, opts.Database)
	svc, err := pg.Detect(ctx, eng, set.Project, project, want)
	if err != nil {
		return nil, nil, err
	}
	lk, err := lock.Acquire(lock.Dir(opts.Getenv), set.Project, "restore")
	if err != nil {
		return nil, nil, err
	}
	req := &restore.Request{
		Source: src,
		Target: restore.Target{Project: set.Project, Service: svc.Service, DB: svc.DB},
	}
	return req, func() { _ = lk.Release() }, nil
}

// override sets *setting to flag when the flag was given.
func override(setting *string, flag string) {
	if flag != "" {
		*setting = flag
	}
}
