package check

import (
	"context"
	"os"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	enginedocker "github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/guardrun"
)

// HookEngine connects to the engine the user's `docker` commands reach,
// resolved as the wrapper's guard resolves it (engine/docker.Connect, docker/cli's
// own config, context store and endpoint packages): DOCKER_HOST, else the
// context named by DOCKER_CONTEXT or the docker config's currentContext,
// else the default socket.
func HookEngine() (engine.Engine, error) {
	conn, err := hookConnection()
	if err != nil {
		return nil, err
	}
	return conn.Engine, nil
}

func hookConnection() (guardrun.Connection, error) {
	cmd, err := guardrun.SplitDocker(nil, nil)
	if err != nil {
		return guardrun.Connection{}, err
	}
	// DOCKER_CONFIG as it is now (docker/cli reads it once per process)
	cmd.Opts.ConfigDir = os.Getenv("DOCKER_CONFIG")
	return enginedocker.Connect(context.Background(), cmd.Opts)
}
