package volume

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

func testFactory(e engine.Engine, snapDir string) (*cli.Factory, *bytes.Buffer) {
	ios, _, out, _ := iostreams.Test()
	return &cli.Factory{
		IO:     ios,
		Getenv: func(string) string { return "" },
		Engine: func() (engine.Engine, error) { return e, nil },
		Config: func() (*config.Config, error) {
			return &config.Config{ProtectLabel: config.DefaultProtectLabel, SnapshotDir: snapDir}, nil
		},
	}, out
}

func TestFlags(t *testing.T) {
	newCmd := func(runF func(*Options) error) *cobra.Command {
		f, _ := testFactory(fake.New(), "")
		return NewCmd(f, runF)
	}
	omit := func(o *Options) { o.Factory, o.Now = nil, nil }
	clitest.RunCases(t, newCmd, omit, []clitest.Case[Options]{
		{Argv: "snapshot media", Want: Options{Volume: "media"}},
		{Argv: "snapshot media --dir /b --json", Want: Options{Volume: "media", Dir: "/b", JSON: true}},
		{Argv: "restore s.tar.gz --to new", Want: Options{File: "s.tar.gz", Volume: "new"}},
		{Argv: "restore --to=new s.tar.gz --json", Want: Options{File: "s.tar.gz", Volume: "new", JSON: true}},
		{Argv: "restore s.tar.gz", WantErr: true},
		{Argv: "snapshot", WantErr: true},
		{Argv: "snapshot a b", WantErr: true},
	})
}

func TestSnapshotAndRestore(t *testing.T) {
	ctx := context.Background()
	e := fake.New()
	files := map[string]string{"x/y.txt": "data"}
	e.AddVolume(engine.Volume{Name: "media"}, files)
	dir := t.TempDir()
	f, out := testFactory(e, dir)
	now := func() time.Time { return time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC) }

	if err := runSnapshot(ctx, &Options{Factory: f, Volume: "media", JSON: true, Now: now}); err != nil {
		t.Fatal(err)
	}
	var r Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || r.Volume != "media" || r.Bytes == 0 ||
		r.File != filepath.Join(dir, "media_20260203_040506.tar.gz") {
		t.Fatalf("%s %v", out, err)
	}
	out.Reset()
	if err := runRestore(ctx, &Options{Factory: f, File: r.File, Volume: "media2", Now: now}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "restored") || !reflect.DeepEqual(e.VolumeFiles("media2"), files) {
		t.Errorf("%s %v", out, e.VolumeFiles("media2"))
	}
	if err := runSnapshot(ctx, &Options{Factory: f, Volume: "nosuch", Now: now}); exitcode.Of(err) != exitcode.NotFound {
		t.Errorf("missing volume: %v (exit %d)", err, exitcode.Of(err))
	}
	if err := runRestore(ctx, &Options{Factory: f, File: filepath.Join(dir, "none.tar.gz"), Volume: "m3"}); exitcode.Of(err) != exitcode.NotFound {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(r.File); err != nil {
		t.Error(err)
	}
}
