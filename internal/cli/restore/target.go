package restore

import (
	"context"
	"path/filepath"

	"github.com/ledger-docker/ledger-docker/internal/backup"
	"github.com/ledger-docker/ledger-docker/internal/verify"
	"github.com/ledger-docker/ledger-docker/internal/version"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/lock"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/restore"
	"github.com/ledger-docker/ledger-docker/internal/settings"
)

// resolveTarget loads the project's settings (compose file, x-ledger,
// LEDGER_*, flags), takes the project's lock (not for --dry-run), finds its database service
// and wires the backup side in: the manifest reader and the safety backup.
// The returned func releases the lock.
func resolveTarget(ctx context.Context, opts *Options, eng engine.Engine) (*restore.Request, func(), error) {
	file, err := filepath.Abs(opts.File)
	if err != nil {
		return nil, nil, err
	}
	src, err := restore.OpenSource(file, loadManifest)
	if err != nil {
		return nil, nil, err
	}
	set, project, err := settings.Load(ctx, opts.Compose, opts.Getenv)
	if err != nil {
		return nil, nil, err
	}
	override(&set.Database.Service, opts.Service)
	override(&set.Database.User, opts.User)
	override(&set.Database.Name, opts.Database)
	if opts.BackupDir != "" {
		set.SetBackupDir(opts.BackupDir)
	}
	svc, err := pg.Detect(ctx, eng, set.Project, project, pg.Want{Service: set.Database.Service, User: set.Database.User, Database: set.Database.Name})
	if err != nil {
		return nil, nil, err
	}
	release := func() {}
	if !opts.DryRun {
		lk, err := lock.Acquire(lock.Dir(opts.Getenv), set.Project, "restore")
		if err != nil {
			return nil, nil, err
		}
		release = func() { _ = lk.Release() }
	}
	req := &restore.Request{
		Source: src,
		Target: restore.Target{Project: set.Project, Service: svc.Service, DB: svc.DB},
		// A full backup (test restore included) of the database as it is
		// now, taken under the lock this restore holds.
		SafetyBackup: func(ctx context.Context) (string, error) {
			safety := *set
			safety.Verify = settings.VerifyFull
			// The minimum size guards routine backups against a dump
			// that lost its data; a safety backup must keep whatever is
			// there, however little (a restore is often wanted exactly
			// because most rows are gone). Its test restore still runs.
			safety.MinSize = 0
			res, err := backup.Run(ctx, backup.Request{
				Settings: &safety, Project: project, Engine: eng, Getenv: opts.Getenv,
				Log: opts.IO.ErrOut, Trigger: "restore", Tool: "ledger-docker " + version.Version, HoldsLock: true,
			})
			if err != nil {
				return "", err
			}
			return res.Path, nil
		},
		CheckFile: func(ctx context.Context) error {
			exp := verify.Expect{}
			if m := src.Manifest; m != nil {
				exp.SHA256, exp.Size = m.SHA256, m.Size
			}
			fr, err := verify.File(file, exp)
			if err != nil {
				return err
			}
			rep := verify.Report{}
			rep.Add(fr.Checks...)
			return rep.Err()
		},
	}
	return req, release, nil
}

// loadManifest reads a backup's manifest (nil for a legacy file).
func loadManifest(path string) (*restore.Manifest, error) {
	m, err := backup.LoadManifest(path)
	if err != nil || m == nil {
		return nil, err
	}
	return &restore.Manifest{
		Created: m.Created, Project: m.Project, Service: m.Service, Database: m.Database,
		SHA256: m.SHA256, Size: m.Size, Counts: m.Counts, Fingerprint: m.Fingerprint,
		Verified: m.Verification.OK,
	}, nil
}

// override sets *setting to flag when the flag was given.
func override(setting *string, flag string) {
	if flag != "" {
		*setting = flag
	}
}
