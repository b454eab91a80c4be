package check

import (
	"github.com/spf13/cobra"

	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/check"
	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/cli/clitest"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

func testFactory(e engine.Engine) (*cli.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	return &cli.Factory{
		IO:     ios,
		Getenv: func(string) string { return "" },
		Engine: func() (engine.Engine, error) { return e, nil },
		Config: func() (*config.Config, error) { return &config.Config{ProtectLabel: config.DefaultProtectLabel}, nil },
	}, out, errOut
}

// factoryCmd is the command as the plugin registers it (internal/cli/verbs).
func factoryCmd(f *cli.Factory, runF func(*Options) error) *cobra.Command {
	return NewCmd(Deps{IO: f.IO, Config: f.Config, Engine: f.Engine, Getenv: f.Getenv}, runF)
}

func TestNewCmdFlags(t *testing.T) {
	omit := func(o *Options) {
		o.IO, o.Config, o.Engine, o.Getenv, o.Name = nil, nil, nil, nil, ""
		if len(o.Files) == 0 {
			o.Files = nil // no FILE arguments: empty or nil alike
		}
	}
	clitest.RunCases(t, clitest.WithFactory(factoryCmd), omit, []clitest.Case[Options]{
		{Argv: "", Want: Options{Format: "text"}},
		{Argv: "compose.yaml deploy.sh", Want: Options{Format: "text", Files: []string{"compose.yaml", "deploy.sh"}}},
		{Argv: "--fix compose.yaml", Want: Options{Format: "text", Fix: true, Files: []string{"compose.yaml"}}},
		{Argv: "--json", Want: Options{Format: "json"}},
		{Argv: "--format json --no-engine", Want: Options{Format: "json", NoEngine: true}},
		{Argv: "--format=text --list-rules", Want: Options{Format: "text", ListRules: true}},
		{Argv: "--format yaml", WantErr: true},
		{Argv: "--bogus", WantErr: true},
	})
}

func fixture(t *testing.T, name string) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "testdata", "check", name))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRun(t *testing.T) {
	fe := fake.New()
	fe.AddVolume(engine.Volume{Name: "good_pgdata", Labels: map[string]string{"com.docker.compose.config-hash": "x"}}, nil)
	tests := []struct {
		name       string
		dir        string
		files      []string
		format     string
		noEngine   bool
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{name: "clean", dir: "override", files: []string{"compose.yaml"}, format: "text", wantCode: 0},
		{name: "errors", dir: "bad", files: []string{"compose.yaml"}, format: "text", wantCode: 1,
			wantStdout: []string{`compose.yaml:40:3: error: volume "media" has no com.ledgerflow.protect=true label`, "[volume-unprotected]"},
			wantStderr: []string{"docker ledger check: 10 errors, 3 warnings", `run "docker ledger check --fix"`}},
		{name: "engine warning only", dir: "good", files: []string{"compose.yaml"}, format: "text", wantCode: 0,
			wantStdout: []string{`warning: volume "pgdata" exists on the engine as "good_pgdata"`, "docker ledger protect good_pgdata"}},
		{name: "no engine", dir: "good", files: []string{"compose.yaml"}, format: "text", noEngine: true, wantCode: 0},
		{name: "scripts", dir: "scripts", files: []string{"Makefile"}, format: "text", wantCode: 1,
			wantStdout: []string{`Makefile:6:3: error: runs "docker compose down -v" directly`}},
		{name: "json", dir: "malformed", files: []string{"compose.yaml"}, format: "json", wantCode: 1,
			wantStdout: []string{`"rule": "compose-parse-error"`, `"errors": 1`}},
		{name: "missing file", dir: "good", files: []string{"absent.yaml"}, format: "text", wantCode: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, out, errOut := testFactory(fe)
			opts := &Options{IO: f.IO, Config: f.Config, Engine: f.Engine, Getenv: f.Getenv, Name: "docker ledger check",
				Dir: fixture(t, tt.dir), Files: tt.files, Format: tt.format, NoEngine: tt.noEngine}
			if code := runStatus(t, opts, errOut); code != tt.wantCode {
				t.Errorf("exit %d, want %d\n%s", code, tt.wantCode, out)
			}
			clitest.Contains(t, "stdout", out.String(), tt.wantStdout)
			clitest.Contains(t, "stderr", errOut.String(), tt.wantStderr)
			if tt.wantStdout == nil && out.Len() > 0 {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if tt.format == "json" {
				var rep check.Report
				if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
					t.Errorf("--format json: %v", err)
				}
			}
		})
	}
}

func TestListRules(t *testing.T) {
	f, out, _ := testFactory(fake.New())
	if err := run(context.Background(), &Options{IO: f.IO, ListRules: true}); err != nil {
		t.Fatal(err)
	}
	for _, r := range check.Rules {
		if !strings.Contains(out.String(), r.ID) {
			t.Errorf("--list-rules lacks %s", r.ID)
		}
	}
}
