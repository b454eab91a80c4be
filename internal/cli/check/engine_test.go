package check

import (
	"os"
	"path/filepath"
	"testing"

	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/docker/client"
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
	tests := []struct {
		env      map[string]string
		wantHost string // "" = environment / default socket decides
	}{
		{env: map[string]string{}, wantHost: "unix:///run/desk/docker.sock"},
		{env: map[string]string{"DOCKER_CONTEXT": "remote"}, wantHost: "tcp://10.1.2.3:2375"},
		{env: map[string]string{"DOCKER_CONTEXT": "default"}},
		{env: map[string]string{"DOCKER_HOST": "unix:///x.sock", "DOCKER_CONTEXT": "remote"}},
	}
	for _, tt := range tests {
		tt.env["DOCKER_CONFIG"] = dir
		opts, err := contextClientOpts(func(k string) string { return tt.env[k] })
		if err != nil {
			t.Fatalf("%v: %v", tt.env, err)
		}
		if tt.wantHost == "" {
			if opts != nil {
				t.Errorf("%v: want the environment to decide, got context options", tt.env)
			}
			continue
		}
		c, err := client.NewClientWithOpts(opts...)
		if err != nil {
			t.Fatal(err)
		}
		if c.DaemonHost() != tt.wantHost {
			t.Errorf("%v: host %s, want %s", tt.env, c.DaemonHost(), tt.wantHost)
		}
	}
	if _, err := contextClientOpts(func(k string) string {
		return map[string]string{"DOCKER_CONFIG": dir, "DOCKER_CONTEXT": "nope"}[k]
	}); err == nil {
		t.Error("an unknown context must be an error (the engine rule is then skipped)")
	}
}
