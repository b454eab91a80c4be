package check

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

func TestHookEngineFollowsDockerContext(t *testing.T) {
	dir := t.TempDir()
	s := store.New(filepath.Join(dir, "contexts"), store.NewConfig(func() any { return &map[string]any{} },
		store.EndpointTypeGetter(ctxdocker.DockerEndpoint, func() any { return &ctxdocker.EndpointMeta{} })))
	for name, host := range map[string]string{"remote": "tcp://10.1.2.3:2375", "desk": "unix:///run/desk/docker.sock"} {
		if err := s.CreateOrUpdate(store.Metadata{Name: name,
			Endpoints: map[string]any{ctxdocker.DockerEndpoint: ctxdocker.EndpointMeta{Host: host}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext": "desk"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	for _, tt := range []struct{ host, context, want string }{
		{want: "desk"},
		{context: "remote", want: "remote"},
		{context: "default", want: "default"},
		{host: "unix:///x.sock", context: "remote", want: "default"}, // DOCKER_HOST wins
	} {
		t.Setenv("DOCKER_HOST", tt.host)
		t.Setenv("DOCKER_CONTEXT", tt.context)
		conn, err := hookConnection()
		if err != nil {
			t.Fatalf("%+v: %v", tt, err)
		}
		conn.Close()
		if conn.Context != tt.want {
			t.Errorf("DOCKER_HOST=%q DOCKER_CONTEXT=%q: context %q, want %q", tt.host, tt.context, conn.Context, tt.want)
		}
	}
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "nope")
	if _, err := hookConnection(); !errors.Is(err, engine.ErrUnreachable) {
		t.Errorf("an unknown context: %v, want an unreachable engine (the engine rule is then skipped)", err)
	}
}
