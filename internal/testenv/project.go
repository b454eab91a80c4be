package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
)

// EnvKeep, set to 1, keeps a failed test's project (containers, volumes) for
// inspection instead of removing it.
const EnvKeep = "LEDGER_E2E_KEEP"

// Project is one scenario under test: a copy of testdata/e2e/<scenario>/ in
// a temp folder, run under a unique Compose project name. Everything it
// creates on the engine is removed when the test ends.
type Project struct {
	t testing.TB
	// Name is the Compose project name (unique per test).
	Name string
	// Dir is the project folder (a copy of the scenario).
	Dir string
	// Home is the project's private HOME (0700): XDG_CONFIG_HOME,
	// XDG_DATA_HOME, XDG_STATE_HOME, XDG_CACHE_HOME and DOCKER_CONFIG point
	// inside it, so tests never read or touch the tester's files.
	Home string
	// DockerConfig is the project's private DOCKER_CONFIG (Home/.docker):
	// cli-plugins/docker-compose links to the Compose v2 plugin, and there
	// is no config.json until a test writes one (pruneFilters, aliases,
	// contexts: `docker context create` writes here too).
	DockerConfig string
	// Env is added to the harness's environment (Environ) for every command
	// of the project: COMPOSE_PROJECT_NAME, POSTGRES_IMAGE, IDLE_IMAGE,
	// LEDGER_REAL_DOCKER, HOME, XDG_*, DOCKER_CONFIG. Tests may append.
	Env []string

	docker string
}

// Result is what a command did.
type Result struct {
	ExitCode int
	Stdout   string
	Stderr   string
}

// String describes the result for failure messages.
func (r Result) String() string {
	return fmt.Sprintf("exit status %d\n--- stdout:\n%s\n--- stderr:\n%s", r.ExitCode, r.Stdout, r.Stderr)
}

// Cmd is a command for Project.Exec.
type Cmd struct {
	// Bin is one of our binaries (ledger_docker, docker-ledger,
	// ledger-precommit), "docker" (the real CLI), or a path / PATH name.
	Bin   string
	Args  []string
	Env   []string  // added after the project's Env
	Dir   string    // default: the project folder
	Stdin io.Reader // default: none
}

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// NewProject copies testdata/e2e/<scenario>/ to a temp folder and prepares a
// unique project name and the environment. It requires the engine (see
// RequireEngine), the Compose v2 plugin and both test images.
func NewProject(t testing.TB, scenario string) *Project {
	t.Helper()
	RequireEngine(t)
	ComposeV2(t)
	src := filepath.Join(RepoRoot(t), "testdata", "e2e", scenario)
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("scenario %q: %v", scenario, err)
	}
	base := t.TempDir()
	dir := filepath.Join(base, scenario)
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatalf("copy scenario %s: %v", scenario, err)
	}
	home := filepath.Join(base, "home")
	if err := makeHome(home); err != nil {
		t.Fatal(err)
	}
	if err := linkCompose(dockerConfigOf(home)); err != nil {
		t.Fatalf("link the Compose plugin into the private DOCKER_CONFIG: %v", err)
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	p := &Project{
		t:            t,
		Name:         "lde2e_" + strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(scenario), "_"), "_") + "_" + hex.EncodeToString(suffix[:]),
		Dir:          dir,
		Home:         home,
		DockerConfig: dockerConfigOf(home),
		docker:       RealDocker(t),
	}
	p.Env = append([]string{
		"COMPOSE_PROJECT_NAME=" + p.Name,
		"POSTGRES_IMAGE=" + PostgresImage(t),
		"IDLE_IMAGE=" + IdleImage(t),
		"LEDGER_REAL_DOCKER=" + p.docker,
	}, homeEnv(home)...)
	t.Cleanup(p.cleanup)
	return p
}

// Volume is the engine name of the project's volume key (compose's
// "<project>_<key>"); a name that already has the prefix is returned as is.
func (p *Project) Volume(key string) string {
	if strings.HasPrefix(key, p.Name+"_") {
		return key
	}
	return p.Name + "_" + key
}

// VolumeExists reports whether the project's volume (key or full name)
// exists on the engine.
func (p *Project) VolumeExists(key string) bool {
	p.t.Helper()
	r := p.Docker("volume", "inspect", p.Volume(key))
	return r.ExitCode == 0
}

// Exec runs c in the project folder with Environ(p.Env..., c.Env...) (never
// the tester's own configuration) and returns its result; it fails the test
// only when the command cannot start.
func (p *Project) Exec(c Cmd) Result {
	p.t.Helper()
	bin := c.Bin
	switch {
	case bin == "docker":
		bin = p.docker
	case binaryPkgs[bin] != "" || cBinaries[bin] != "":
		bin = Binary(p.t, bin)
	}
	cmd := exec.Command(bin, c.Args...)
	cmd.Dir = p.Dir
	if c.Dir != "" {
		cmd.Dir = c.Dir
	}
	cmd.Env = Environ(append(append([]string(nil), p.Env...), c.Env...)...)
	cmd.Stdin = c.Stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	case err != nil:
		p.t.Fatalf("run %s %v: %v", c.Bin, c.Args, err)
	}
	return r
}

// Run runs one of our binaries (or "docker", the real CLI) with args.
func (p *Project) Run(bin string, args ...string) Result {
	p.t.Helper()
	return p.Exec(Cmd{Bin: bin, Args: args})
}

// RunEnv is Run with extra environment ("KEY=value").
func (p *Project) RunEnv(env []string, bin string, args ...string) Result {
	p.t.Helper()
	return p.Exec(Cmd{Bin: bin, Args: args, Env: env})
}

// Docker runs the real docker CLI (never our wrapper).
func (p *Project) Docker(args ...string) Result {
	p.t.Helper()
	return p.Exec(Cmd{Bin: "docker", Args: args})
}

// ComposeNoCheck runs the real `docker compose` (v2) in the project.
func (p *Project) ComposeNoCheck(args ...string) Result {
	p.t.Helper()
	return p.Docker(append([]string{"compose"}, args...)...)
}

// Compose runs the real `docker compose` and fails the test when it fails.
func (p *Project) Compose(args ...string) Result {
	p.t.Helper()
	r := p.ComposeNoCheck(args...)
	if r.ExitCode != 0 {
		p.t.Fatalf("docker compose %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// Up starts the project (or the given services) in the background and waits
// until every started service of the PostgreSQL test image accepts
// connections (WaitPostgres), so a test never races the first start's
// initialisation.
func (p *Project) Up(services ...string) {
	p.t.Helper()
	p.Compose(append([]string{"up", "-d"}, services...)...)
	pgImage := p.env("POSTGRES_IMAGE")
	out := p.Compose(append([]string{"ps", "--format", "{{.Service}}\t{{.Image}}"}, services...)...).Stdout
	for _, line := range strings.Split(out, "\n") {
		service, image, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if ok && pgImage != "" && image == pgImage {
			p.WaitPostgres(service)
		}
	}
}

// env is the value of key in the project's Env ("" when unset).
func (p *Project) env(key string) string {
	v := ""
	for _, kv := range p.Env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// ContainerID is the id of service's (first) container.
func (p *Project) ContainerID(service string) string {
	p.t.Helper()
	id := strings.TrimSpace(p.Compose("ps", "-q", "--all", service).Stdout)
	if i := strings.IndexByte(id, '\n'); i >= 0 {
		id = id[:i]
	}
	if id == "" {
		p.t.Fatalf("service %s has no container", service)
	}
	return id
}

// WaitPostgres waits until pg_isready answers inside service's container.
// The bound (2 min) only guards against a hung test; it asserts no speed.
func (p *Project) WaitPostgres(service string) {
	p.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		// -h localhost: the server listens on TCP only once initialisation
		// (which uses the socket only) is over.
		r := p.ComposeNoCheck("exec", "-T", service, "pg_isready", "-q", "-h", "localhost")
		if r.ExitCode == 0 {
			return
		}
		if time.Now().After(deadline) {
			logs := p.ComposeNoCheck("logs", "--no-color", "--tail", "50", service)
			p.t.Fatalf("PostgreSQL in service %s is not ready: %s\n--- logs:\n%s%s", service, r, logs.Stdout, logs.Stderr)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Psql runs SQL through `docker compose exec` in service as POSTGRES_USER on
// POSTGRES_DB (from the container's environment) and returns the unaligned,
// tuples-only output; it fails the test when psql fails.
func (p *Project) Psql(service, sql string) string {
	p.t.Helper()
	r := p.Exec(Cmd{Bin: "docker", Args: []string{"compose", "exec", "-T", service, "sh", "-c",
		`exec psql -v ON_ERROR_STOP=1 -X -q -tA -U "${POSTGRES_USER:-postgres}" -d "${POSTGRES_DB:-${POSTGRES_USER:-postgres}}" -f -`},
		Stdin: strings.NewReader(sql)})
	if r.ExitCode != 0 {
		p.t.Fatalf("psql in %s: %s", service, r)
	}
	return strings.TrimSpace(r.Stdout)
}

// WriteFile writes a file into the project folder (relative name).
func (p *Project) WriteFile(name, content string) {
	p.t.Helper()
	path := filepath.Join(p.Dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// cleanup removes, with the real engine, every container and volume of the
// project (protected ones included) and every helper labelled with the
// project's name by ledger-docker (any com.ledgerflow.* label whose value is
// the project name) or named after it.
func (p *Project) cleanup() {
	if os.Getenv(EnvKeep) == "1" && p.t.Failed() {
		p.t.Logf("%s=1: keeping project %s's containers and volumes for inspection; remove them with:\n"+
			"  docker compose -p %s down -v", EnvKeep, p.Name, p.Name)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// compose down first: it stops in dependency order and removes networks.
	cmd := exec.CommandContext(ctx, p.docker, "compose", "down", "--volumes", "--remove-orphans", "--timeout", "0")
	cmd.Dir = p.Dir
	// The test may have left a config.json in p.DockerConfig whose context
	// is gone by now (a ForwardSocket closes first): use the process's
	// private DOCKER_CONFIG, which has none.
	env := append([]string(nil), p.Env...)
	if home, err := processHome(); err == nil {
		env = append(env, "DOCKER_CONFIG="+dockerConfigOf(home), "DOCKER_CONTEXT=")
	}
	cmd.Env = Environ(env...)
	_ = cmd.Run()

	e, err := docker.FromEnv()
	if err != nil {
		p.t.Logf("cleanup: %v", err)
		return
	}
	defer e.Close()
	var errs []error
	ctrs, err := e.ListContainers(ctx, engine.ContainerFilter{All: true})
	errs = append(errs, err)
	for _, c := range ctrs {
		if p.owns(c.Name, c.Labels) {
			errs = append(errs, ignoreNotFound(e.RemoveContainer(ctx, c.ID, true)))
		}
	}
	vols, err := e.ListVolumes(ctx, engine.VolumeFilter{})
	errs = append(errs, err)
	for _, v := range vols {
		if p.owns(v.Name, v.Labels) {
			errs = append(errs, ignoreNotFound(removeVolume(ctx, e, v.Name)))
		}
	}
	if err := errors.Join(errs...); err != nil {
		p.t.Errorf("cleanup of project %s: %v", p.Name, err)
	}
}

// removeVolume removes a volume, waiting (up to 30 s) while another test's
// guard holds it in use: a prune through ledger_docker pins every protected
// volume on the shared engine for as long as the prune runs.
func removeVolume(ctx context.Context, e engine.Engine, name string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := e.RemoveVolume(ctx, name, true)
		if !errors.Is(err, engine.ErrConflict) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func ignoreNotFound(err error) error {
	if errors.Is(err, engine.ErrNotFound) {
		return nil
	}
	return err
}

// owns tells whether an engine object belongs to the project.
func (p *Project) owns(name string, labels map[string]string) bool {
	if strings.HasPrefix(name, p.Name) {
		return true
	}
	for k, v := range labels {
		if v == p.Name && (k == "com.docker.compose.project" || strings.HasPrefix(k, "com.ledgerflow.")) {
			return true
		}
	}
	return false
}
