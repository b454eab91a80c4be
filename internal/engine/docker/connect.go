package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/docker/cli/cli/config"
	dcontext "github.com/docker/cli/cli/context"
	"github.com/docker/cli/cli/context/docker"
	"github.com/docker/cli/cli/context/store"
	cliflags "github.com/docker/cli/cli/flags"
	dopts "github.com/docker/cli/opts"
	"github.com/docker/docker/client"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Connection is the engine as the docker CLI would reach it: the client,
// its raw dialer (the guard's upstream) and the context's name. Connect is
// the one way ledger-docker reaches an engine: the plugin, the wrapper's
// guard and ledger-precommit all use it.
type Connection struct {
	Engine engine.Engine
	// Dial opens a raw connection to the engine (the docker client's own
	// dialer: unix, tcp+TLS, ssh through docker/cli's helpers).
	Dial    func(ctx context.Context) (net.Conn, error)
	Context string
}

// Close releases the client.
func (c Connection) Close() {
	if c.Engine != nil {
		_ = c.Engine.Close()
	}
}

// Connect builds the engine client for opts as the docker CLI does, from
// docker/cli's own pieces (its config file, context store, endpoint and
// TLS loading, connection helpers for ssh), so that --config,
// DOCKER_CONFIG, --context, DOCKER_CONTEXT, the config's currentContext,
// -H, DOCKER_HOST, TLS flags and DOCKER_API_VERSION are honoured. It does
// not dial. (docker/cli's command package does the same in
// NewAPIClientFromFlags; it is not linked here because its start-up cost
// is paid by every guarded command: see make bench.)
func Connect(_ context.Context, opts *cliflags.ClientOptions) (Connection, error) {
	fail := func(err error) (Connection, error) {
		return Connection{}, fmt.Errorf("%w: %v", engine.ErrUnreachable, err)
	}
	if opts.Context != "" && len(opts.Hosts) > 0 {
		return fail(errors.New("conflicting options: cannot specify both --host and --context"))
	}
	if opts.ConfigDir != "" {
		config.SetDir(opts.ConfigDir)
	}
	cf := config.LoadDefaultConfigFile(io.Discard)
	name := contextName(opts, cf.CurrentContext)
	var ep docker.Endpoint
	var err error
	if name == DefaultContext {
		ep, err = defaultEndpoint(opts)
	} else {
		s := store.New(config.ContextStoreDir(), store.NewConfig(func() any { return &map[string]any{} },
			store.EndpointTypeGetter(docker.DockerEndpoint, func() any { return &docker.EndpointMeta{} })))
		var meta store.Metadata
		if meta, err = s.GetMetadata(name); err == nil {
			var epMeta docker.EndpointMeta
			if epMeta, err = docker.EndpointFromContext(meta); err == nil {
				ep, err = docker.WithTLSData(s, name, epMeta)
			}
		}
	}
	if err != nil {
		return fail(fmt.Errorf("unable to resolve docker endpoint: %w", err))
	}
	copts, err := ep.ClientOpts()
	if err != nil {
		return fail(err)
	}
	if len(cf.HTTPHeaders) > 0 {
		copts = append(copts, client.WithHTTPHeaders(cf.HTTPHeaders))
	}
	copts = append(copts, client.WithVersionFromEnv(), client.WithAPIVersionNegotiation(), client.WithUserAgent("ledger-docker-guard"))
	api, err := client.NewClientWithOpts(copts...)
	if err != nil {
		return fail(err)
	}
	return Connection{Engine: New(api), Dial: api.Dialer(), Context: name}, nil
}

// DefaultContext is the docker context of -H, DOCKER_HOST and no context at all.
const DefaultContext = "default"

// contextName is docker/cli's resolveContextName: --context, else "default"
// with -H or DOCKER_HOST, else DOCKER_CONTEXT, else the config's
// currentContext, else "default".
func contextName(opts *cliflags.ClientOptions, current string) string {
	switch {
	case opts.Context != "":
		return opts.Context
	case len(opts.Hosts) > 0, os.Getenv(client.EnvOverrideHost) != "":
		return DefaultContext
	case os.Getenv("DOCKER_CONTEXT") != "":
		return os.Getenv("DOCKER_CONTEXT")
	case current != "":
		return current
	}
	return DefaultContext
}

// defaultEndpoint is docker/cli's resolveDefaultDockerEndpoint: -H (one
// only) or DOCKER_HOST, TLS from the flags' options.
func defaultEndpoint(opts *cliflags.ClientOptions) (docker.Endpoint, error) {
	var host string
	switch len(opts.Hosts) {
	case 0:
		host = os.Getenv(client.EnvOverrideHost)
	case 1:
		host = opts.Hosts[0]
	default:
		return docker.Endpoint{}, errors.New("specify only one -H")
	}
	host, err := dopts.ParseHost(opts.TLSOptions != nil, host)
	if err != nil {
		return docker.Endpoint{}, err
	}
	ep := docker.Endpoint{EndpointMeta: docker.EndpointMeta{Host: host}}
	if opts.TLSOptions != nil {
		ep.SkipTLSVerify = opts.TLSOptions.InsecureSkipVerify
		ep.TLSData, err = dcontext.TLSDataFromFiles(opts.TLSOptions.CAFile, opts.TLSOptions.CertFile, opts.TLSOptions.KeyFile)
		if err != nil {
			return docker.Endpoint{}, err
		}
	}
	return ep, nil
}
