package protect

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/lock"
	"github.com/ledger-docker/ledger-docker/internal/prompt"
)

func TestNewCmdFlags(t *testing.T) {
	omit := func(o *Options) { o.IO, o.Engine, o.Config, o.Prompter, o.Getenv = nil, nil, nil, nil, nil }
	clitest.RunCases(t, clitest.WithFactory(NewCmd), omit, []clitest.Case[Options]{
		{Argv: "vol", Want: Options{Volume: "vol"}},
		{Argv: "vol --dry-run", Want: Options{Volume: "vol", DryRun: true}},
		{Argv: "-y --json vol", Want: Options{Volume: "vol", Yes: true, JSON: true}},
		{Argv: "vol -f a.yml -f b.yml --project-directory p", Want: Options{Volume: "vol", ComposeFiles: []string{"a.yml", "b.yml"}, ProjectDir: "p"}},
		{Argv: "", WantErr: true},
		{Argv: "a b", WantErr: true},
	})
}

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		key        string // the configured protect_label ("" = none)
		volume     string
		dryRun     bool
		yes        bool
		tty        bool
		answer     string
		wantErr    error
		wantStdout []string
		wantCalls  []string // engine calls that must (not, with !) appear
	}{
		{name: "dry run", volume: "data", dryRun: true,
			wantStdout: []string{"Plan to protect volume data:", "remove the volume and create it again with com.ledgerflow.protect=true"},
			wantCalls:  []string{"!RemoveVolume data"}},
		{name: "no tty no yes", volume: "data", wantErr: exitcode.ErrUsage, wantCalls: []string{"!RemoveVolume data"}},
		{name: "typed wrong name", volume: "data", tty: true, answer: "dat", wantErr: exitcode.ErrCancelled, wantCalls: []string{"!RemoveVolume data"}},
		{name: "typed name", volume: "data", tty: true, answer: "data",
			wantStdout: []string{"volume data is protected (com.ledgerflow.protect=true): 1 files"}, wantCalls: []string{"RemoveVolume data"}},
		{name: "yes", volume: "data", yes: true, wantStdout: []string{"is protected"}},
		{name: "already", volume: "safe", wantStdout: []string{"already carries com.ledgerflow.protect=true"}},
		{name: "missing", volume: "nope", wantErr: engine.ErrNotFound},
		// an added key is written; any key, the default included, counts as protected
		{name: "added key", key: "other", volume: "data", dryRun: true,
			wantStdout: []string{"remove the volume and create it again with other=true"}},
		{name: "added key, default already", key: "other", volume: "safe",
			wantStdout: []string{"already carries com.ledgerflow.protect=true"}, wantCalls: []string{"!RemoveVolume safe"}},
		{name: "added key already", key: "other", volume: "othersafe", yes: true,
			wantStdout: []string{"already carries other=TRUE"}, wantCalls: []string{"!RemoveVolume othersafe"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe := fake.New()
			fe.AddVolume(engine.Volume{Name: "data"}, map[string]string{"a.txt": "hello"})
			fe.AddVolume(engine.Volume{Name: "safe", Labels: map[string]string{config.DefaultProtectLabel: "true"}}, nil)
			fe.AddVolume(engine.Volume{Name: "othersafe", Labels: map[string]string{"other": "TRUE"}}, nil)
			ios, _, out, _ := iostreams.Test()
			ios.SetTTY(tt.tty)
			opts := &Options{IO: ios, Engine: func() (engine.Engine, error) { return fe, nil },
				Config: func() (*config.Config, error) {
					return &config.Config{ProtectLabel: tt.key, SnapshotDir: t.TempDir()}, nil
				},
				Prompter: &prompt.Static{Answers: []string{tt.answer}}, Getenv: func(string) string { return "" },
				Compose: func(context.Context, []string) error { return errors.New("no compose expected") },
				Volume:  tt.volume, DryRun: tt.dryRun, Yes: tt.yes}
			err := run(context.Background(), opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			clitest.Contains(t, "stdout", out.String(), tt.wantStdout)
			calls := strings.Join(fe.Calls(), "\n")
			for _, c := range tt.wantCalls {
				if neg, ok := strings.CutPrefix(c, "!"); ok {
					if strings.Contains(calls, neg) {
						t.Errorf("call %q made", neg)
					}
				} else if !strings.Contains(calls, c) {
					t.Errorf("call %q not made:\n%s", c, calls)
				}
			}
		})
	}
}

func TestRunRefusesWhileLocked(t *testing.T) {
	lockDir := t.TempDir()
	held, err := lock.Acquire(lockDir, "shop", "backup")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	fe := fake.New()
	fe.AddVolume(engine.Volume{Name: "shop_data", Labels: map[string]string{"com.docker.compose.project": "shop"}}, map[string]string{"a": "b"})
	ios, _, _, _ := iostreams.Test()
	opts := &Options{IO: ios, Engine: func() (engine.Engine, error) { return fe, nil },
		Config: func() (*config.Config, error) {
			return &config.Config{ProtectLabel: config.DefaultProtectLabel, SnapshotDir: t.TempDir()}, nil
		},
		Getenv: func(k string) string { return map[string]string{"LEDGER_LOCK_DIR": lockDir}[k] },
		Volume: "shop_data", Yes: true, ProjectDir: t.TempDir()}
	if err := run(context.Background(), opts); !errors.Is(err, exitcode.ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if strings.Contains(strings.Join(fe.Calls(), "\n"), "RemoveVolume") {
		t.Error("volume removed while the project was locked")
	}
}
