package guardrun

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	enginedocker "github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// This package copies compose's labels so as not to link the compose
// loader: they must stay equal.
func TestCopiedConstants(t *testing.T) {
	if projectLabel != compose.ProjectLabel || workingDirLabel != compose.WorkingDirLabel {
		t.Error("compose labels differ from internal/compose's")
	}
}

// The guard's child gets the guard's socket as its endpoint, whatever
// endpoint settings the environment had.
func TestChildEnv(t *testing.T) {
	env := childEnv([]string{"A=1", "DOCKER_HOST=tcp://x:2376", "DOCKER_CONTEXT=prod", "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=/c"}, "unix:///g.sock")
	got := strings.Join(env, " ")
	if got != "A=1 DOCKER_HOST=unix:///g.sock DOCKER_TLS_VERIFY= DOCKER_CERT_PATH= DOCKER_TLS=" {
		t.Errorf("%s", got)
	}
}

// SplitDocker reads the global flags with docker/cli's own flag set and
// moves the endpoint flags to the upstream side; Connect honours them.
func TestConnectHonoursGlobalFlags(t *testing.T) {
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	ctx := context.Background()
	for _, tt := range []struct{ argv, rest string }{
		{"docker -H unix:///nonexistent.sock volume rm x", "volume rm x"},
		{"docker --host=unix:///nonexistent.sock -D -l error volume rm x", "--debug=true --log-level=error volume rm x"},
		{"docker-compose -H unix:///nonexistent.sock -f a.yml down -v", "-f a.yml down -v"},
		{"docker-compose --verbose -Hunix:///nonexistent.sock down -v", "--verbose down -v"},
	} {
		argv := strings.Fields(tt.argv)
		var cmd Command
		var err error
		if argv[0] == "docker" {
			cmd, err = SplitDocker(nil, argv[1:])
		} else {
			in := intercept.Parse(argv, func(string) string { return "" })
			cmd, err = SplitCompose(in, argv[1:], func(string) string { return "" })
		}
		if err != nil || strings.Join(cmd.Args, " ") != tt.rest {
			t.Fatalf("%s: %q %v", tt.argv, cmd.Args, err)
		}
		conn, err := enginedocker.Connect(ctx, cmd.Opts)
		if err != nil {
			t.Fatalf("%s: %v", tt.argv, err)
		}
		_, err = conn.Engine.Info(ctx)
		if !errors.Is(err, engine.ErrUnreachable) || !strings.Contains(err.Error(), "nonexistent.sock") {
			t.Errorf("%s: want the flag's host, unreachable: %v", tt.argv, err)
		}
		conn.Close()
	}
	in := intercept.Parse(strings.Fields("docker-compose --tlsverify -H tcp://127.0.0.1:1 down"), func(string) string { return "" })
	cmd, _ := SplitCompose(in, strings.Fields("--tlsverify -H tcp://127.0.0.1:1 down"), func(string) string { return "" })
	if _, err := enginedocker.Connect(ctx, cmd.Opts); err == nil || !strings.Contains(err.Error(), "ca.pem") {
		t.Errorf("compose v1 --tlsverify: want TLS with the certificates, got %v", err)
	}
	cmd, _ = SplitDocker(nil, strings.Fields("--context nosuch volume rm x"))
	if _, err := enginedocker.Connect(ctx, cmd.Opts); !errors.Is(err, engine.ErrUnreachable) {
		t.Errorf("unknown context: want ErrUnreachable, got %v", err)
	}
	cmd, _ = SplitDocker(nil, strings.Fields("-H unix:///a.sock --context x volume rm v"))
	if _, err := enginedocker.Connect(ctx, cmd.Opts); err == nil {
		t.Error("-H with --context: docker refuses it, so must we")
	}
	if _, err := SplitDocker(nil, strings.Fields("--bogus volume rm v")); !errors.Is(err, exitcode.ErrUsage) {
		t.Errorf("unknown global flag: %v", err)
	}
}
