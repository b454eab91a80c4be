package cli

import (
	"os"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/prompt"
)

// Factory gives commands what they need, lazily: nothing connects to the
// engine until a command asks for it.
type Factory struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string
	// Env is the process environment ("KEY=value"), for commands that run
	// another program with it.
	Env      []string
	Prompter prompt.Prompter
	// Engine connects on first call (docker/cli's client in the plugin).
	Engine func() (engine.Engine, error)
	// Config loads the user configuration.
	Config func() (*config.Config, error)
	// GlobalArgs are the docker global flags the plugin was called with
	// (--context, -H, --config...), to pass on to `docker compose` and the
	// guard: docker runs a plugin with its own argv, global flags before
	// "ledger" (PluginGlobalArgs).
	GlobalArgs []string
}

// PluginGlobalArgs are the docker global flags in a plugin's argv (docker
// passes them before "ledger"), read as the wrapper reads them.
func PluginGlobalArgs(argv []string) []string {
	if len(argv) < 2 {
		return nil
	}
	return intercept.Parse(append([]string{"docker"}, argv[1:]...), func(string) string { return "" }).GlobalArgs
}

// NewFactory returns a Factory for the process, given a lazy engine.
func NewFactory(newEngine func() (engine.Engine, error)) *Factory {
	ios := iostreams.System()
	f := &Factory{IO: ios, Getenv: os.Getenv, Prompter: prompt.New(ios), GlobalArgs: PluginGlobalArgs(os.Args), Env: os.Environ()}
	f.Engine = sync.OnceValues(newEngine)
	f.Config = sync.OnceValues(func() (*config.Config, error) { return config.Load(f.Getenv) })
	return f
}
