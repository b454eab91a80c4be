package cli

import (
	"os"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
	"github.com/ledger-docker/ledger-docker/internal/prompt"
)

// Version is set by the build (-ldflags -X).
var Version = "dev"

// Factory gives commands what they need, lazily: nothing connects to the
// engine until a command asks for it.
type Factory struct {
	IO       *iostreams.IOStreams
	Getenv   func(string) string
	Prompter prompt.Prompter
	// Engine connects on first call (docker/cli's client in the plugin).
	Engine func() (engine.Engine, error)
	// Config loads the user configuration.
	Config func() (*config.Config, error)
	// Context is the docker context in use ("" when unknown).
	Context string
	// GlobalArgs are the docker global flags the plugin was called with
	// (--context, -H, --config...), to pass on to `docker compose`.
	GlobalArgs []string
}

// NewFactory returns a Factory for the process, given a lazy engine.
func NewFactory(newEngine func() (engine.Engine, error)) *Factory {
	ios := iostreams.System()
	f := &Factory{IO: ios, Getenv: os.Getenv, Prompter: prompt.New(ios)}
	f.Engine = sync.OnceValues(newEngine)
	f.Config = sync.OnceValues(func() (*config.Config, error) { return config.Load(f.Getenv) })
	return f
}
