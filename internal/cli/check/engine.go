package check

import (
	"fmt"
	"os"
	"path/filepath"

	dockerconfig "github.com/docker/cli/cli/config"
	ctxdocker "github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	"github.com/docker/docker/client"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
)

// HookEngine connects the way the docker CLI would, without the CLI:
// DOCKER_HOST, else the context named by DOCKER_CONTEXT or the docker
// config's currentContext, else the default socket. The engine rule then
// looks at the engine the user's `docker` commands reach.
func HookEngine() (engine.Engine, error) {
	opts, err := contextClientOpts(os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", engine.ErrUnreachable, err)
	}
	if opts == nil {
		return docker.FromEnv()
	}
	c, err := client.NewClientWithOpts(append(opts, client.WithAPIVersionNegotiation())...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", engine.ErrUnreachable, err)
	}
	return docker.New(c), nil
}

// contextClientOpts returns the client options of the docker context in use,
// or nil when the environment or the default context decides.
func contextClientOpts(getenv func(string) string) ([]client.Opt, error) {
	if getenv("DOCKER_HOST") != "" {
		return nil, nil
	}
	dir := getenv("DOCKER_CONFIG")
	if dir == "" {
		dir = dockerconfig.Dir()
	}
	name := getenv("DOCKER_CONTEXT")
	if name == "" {
		cfg, err := dockerconfig.Load(dir)
		if err != nil {
			return nil, err
		}
		name = cfg.CurrentContext
	}
	if name == "" || name == "default" {
		return nil, nil
	}
	s := store.New(filepath.Join(dir, "contexts"), store.NewConfig(func() any { return &map[string]any{} },
		store.EndpointTypeGetter(ctxdocker.DockerEndpoint, func() any { return &ctxdocker.EndpointMeta{} })))
	meta, err := s.GetMetadata(name)
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %w", name, err)
	}
	epMeta, err := ctxdocker.EndpointFromContext(meta)
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %w", name, err)
	}
	ep, err := ctxdocker.WithTLSData(s, name, epMeta)
	if err != nil {
		return nil, fmt.Errorf("docker context %q: %w", name, err)
	}
	return ep.ClientOpts()
}
