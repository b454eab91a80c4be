package wrapper_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// The attacker's table (the red-team rounds against the wrapper): every
// command form found that lost a protected volume (label
// com.ledgerflow.protect=true) through the installed wrapper, run for real
// on the engine exactly as a user has it installed: a shim folder first on
// PATH whose docker and docker-compose link to the C front, which hands
// over to the Go wrapper; the real docker and docker-compose are found on
// PATH behind the shim. Each row builds its state, writes a random marker
// file into every protected volume with the real docker, runs the attack,
// and then checks with the real docker that every protected volume still
// exists and holds its marker. Add every new form found here.
//
// Every row runs twice: with the docker config the row writes (none, or
// install.sh's pruneFilters, or aliases) in the project's private
// DOCKER_CONFIG, and with a hostile config.json on top of it in a
// DOCKER_CONFIG of the wrapper's own (hostileConfig): aliases, pruneFilters
// and a currentContext "second" whose endpoint is a byte-for-byte forward
// to the same engine (testenv.ForwardSocket), with DOCKER_HOST unset so
// that the context is what the docker CLI and the wrapper follow. Per group
// of rows, the wrapper must have gone through that endpoint at least once.
//
// Rows marked engineWide prune every unused volume on the engine (no filter
// can scope them without changing what is tested): they run one at a time
// on an engine of their own (testenv.PrivateEngine), beside the others.

// envOwnEngine, set to 1, says that nothing but this test uses the engine
// of DOCKER_HOST: the engine-wide rows then run on it, before the others
// (not beside them), instead of on a private engine.
const envOwnEngine = "LEDGER_E2E_OWN_ENGINE"

// hostileConfig is the config.json of a row's hostile variant; the row's
// own config (aliases, pruneFilters) is merged into it.
const hostileConfig = `{
  "aliases": {"builder": "compose"},
  "pruneFilters": ["label!=` + protectLabel + `"],
  "currentContext": "second"
}`

// attackMarker is the file every protected volume holds during a row.
const attackMarker = "ledger-attack-marker"

const protectLabel = "com.ledgerflow.protect=true"

type attackRow struct {
	name     string
	scenario string // testdata/e2e/<scenario>; default "attack"
	// engineWide: the command prunes the whole engine (see above).
	engineWide bool
	setup      func(a *attack)
	steps      func(a *attack) []attackStep
}

type attackStep struct {
	bin   string // "docker" or "docker-compose": the shim's link
	args  []string
	env   []string // after the shim's environment
	unset []string // keys removed from the environment
	dir   string   // default: the project folder
	stdin string
	// refuse: the step tries to delete a protected volume, so it must exit
	// non-zero with a message (77 when the wrapper refuses).
	refuse bool
	// explain: the step must be explained (exit 0, one JSON object on
	// stdout), not run.
	explain bool
	// race runs once the command waits at its y/N prompt; "y" is sent after.
	race func(a *attack)
}

// attack is one row's world.
type attack struct {
	t    *testing.T
	p    *testenv.Project
	shim string // docker and docker-compose -> ledger_docker
	// cfg is the DOCKER_CONFIG of the row's steps: the project's private one
	// (testenv's: cli-plugins/docker-compose), or in the hostile variant one
	// of their own holding hostileConfig and the context "second".
	cfg  string
	host string // the private engine's endpoint ("": the engine of DOCKER_HOST)
	// hostile: base is hostileConfig, second the forward its context names.
	base   map[string]any
	second string
	// protected volumes to check, with their markers
	marks map[string]string
	order []string
	solo  string // <project>_solo: a protected named volume no container uses
	ctr   string // <project>_c: a created container with a protected anonymous volume at /data
	anon  string // ctr's anonymous volume
}

func TestAttackProtectedVolumesSurvive(t *testing.T) {
	testenv.RequireEngine(t)
	rows := attackRows()
	variants := []struct {
		suffix  string
		hostile bool
	}{{"", false}, {" [hostile config.json]", true}}
	t.Run("scoped", func(t *testing.T) {
		t.Parallel()
		var through endpointTally
		t.Cleanup(func() { through.check(t) }) // after every row
		for _, row := range rows {
			if row.engineWide {
				continue
			}
			for _, v := range variants {
				t.Run(row.name+v.suffix, func(t *testing.T) {
					t.Parallel()
					runAttack(t, row, attackOpts{hostile: v.hostile, through: &through})
				})
			}
		}
	})
	t.Run("engine-wide", func(t *testing.T) {
		host := ""
		if os.Getenv(envOwnEngine) != "1" {
			t.Parallel() // an engine of its own: beside the scoped rows
			host = testenv.PrivateEngine(t)
		}
		var through endpointTally
		for _, row := range rows {
			if !row.engineWide {
				continue
			}
			for _, v := range variants {
				t.Run(row.name+v.suffix, func(t *testing.T) {
					runAttack(t, row, attackOpts{host: host, hostile: v.hostile, through: &through})
				})
			}
		}
		through.check(t)
	})
}

// attackOpts says where and how a row runs.
type attackOpts struct {
	host    string // a private engine's endpoint; "": the engine of DOCKER_HOST
	hostile bool   // the hostile config.json variant
	through *endpointTally
}

// endpointTally counts, over the hostile variants of a group of rows, the
// connections the wrapper's commands made through the endpoint of the
// hostile currentContext.
type endpointTally struct{ rows, conns atomic.Int64 }

// check fails the test when rows ran with the hostile config and none of
// them went through its context's endpoint: the variant tested nothing.
func (e *endpointTally) check(t *testing.T) {
	t.Helper()
	rows, conns := e.rows.Load(), e.conns.Load()
	t.Logf("hostile config.json: %d rows, %d connections through its currentContext's endpoint", rows, conns)
	if rows > 0 && conns == 0 {
		t.Errorf("no command of the %d rows with the hostile config.json went through its currentContext's endpoint "+
			"(DOCKER_HOST unset): the variant did not test what it says", rows)
	}
}

func attackRows() []attackRow {
	standalone := func(a *attack) { a.standalone() }
	composeUp := func(a *attack) { a.composeUp() }
	docker := func(args ...string) attackStep { return attackStep{bin: "docker", args: args} }
	refuse := func(s attackStep) attackStep { s.refuse = true; return s }
	with := func(s attackStep, env ...string) attackStep { s.env = append(s.env, env...); return s }
	pruneFilters := func(a *attack) {
		a.standalone()
		a.writeConfig(`{"pruneFilters": ["label!=` + protectLabel + `"]}`)
	}
	// In the hostile variant, hostileConfig without its pruneFilters.
	noPruneFilters := func(a *attack) {
		a.standalone()
		a.writeConfig(`{"pruneFilters": null}`)
	}
	var rows []attackRow

	// install.sh's pruneFilters are not applied by docker CLI >= 28.1 when
	// no label= filter is given; without them nothing else stands in the way.
	configs := []struct {
		name  string
		setup func(a *attack)
	}{{"no pruneFilters", noPruneFilters}, {"install.sh pruneFilters", pruneFilters}}
	for _, cfg := range configs {
		for _, args := range [][]string{
			{"volume", "prune", "-f"},
			{"volume", "prune", "--force"},
			{"system", "prune", "--volumes", "-af"},
		} {
			rows = append(rows, attackRow{
				name:       "docker " + strings.Join(args, " ") + " (" + cfg.name + ")",
				engineWide: true,
				setup:      cfg.setup,
				steps:      func(a *attack) []attackStep { return []attackStep{docker(args...)} },
			})
		}
	}

	// Filter keys the CLI lower-cases and trims before the engine sees them
	// (and before it merges pruneFilters). The second filter, spelled the
	// same way, keeps the prune to this row.
	for _, cfg := range configs {
		for _, f := range []struct{ cmd, key string }{
			{"volume prune -f", "LABEL="},
			{"volume prune -f", "label= "},
			{"system prune --volumes -f", "Label="},
		} {
			rows = append(rows, attackRow{
				name:  fmt.Sprintf("docker %s --filter %q (%s)", f.cmd, f.key+protectLabel, cfg.name),
				setup: cfg.setup,
				steps: func(a *attack) []attackStep {
					args := append(strings.Fields(f.cmd), "--filter", f.key+protectLabel, "--filter", f.key+a.scope())
					return []attackStep{docker(args...)}
				},
			})
		}
	}

	// --help=false and friends before the verb hide it from the argv parser.
	for _, h := range []string{"--help=false", "-h=false", "--help=0", "--help=F"} {
		rows = append(rows,
			attackRow{name: "docker volume " + h + " rm VOL", setup: standalone,
				steps: func(a *attack) []attackStep { return []attackStep{refuse(docker("volume", h, "rm", a.solo))} }},
			attackRow{name: "docker volume " + h + " remove VOL", setup: standalone,
				steps: func(a *attack) []attackStep { return []attackStep{refuse(docker("volume", h, "remove", a.solo))} }},
			attackRow{name: "docker system " + h + " prune --volumes -f", setup: standalone,
				steps: func(a *attack) []attackStep {
					return []attackStep{docker("system", h, "prune", "--volumes", "-f", "--filter", "label="+a.scope())}
				}},
			attackRow{name: "docker container " + h + " rm -v C", setup: standalone,
				steps: func(a *attack) []attackStep { return []attackStep{refuse(docker("container", h, "rm", "-v", a.ctr))} }},
			attackRow{name: "docker container " + h + " remove --volumes C", setup: standalone,
				steps: func(a *attack) []attackStep {
					return []attackStep{refuse(docker("container", h, "remove", "--volumes", a.ctr))}
				}},
		)
	}
	rows = append(rows, attackRow{name: "docker volume --help=F rm -f VOL", setup: standalone,
		steps: func(a *attack) []attackStep {
			return []attackStep{refuse(docker("volume", "--help=F", "rm", "-f", a.solo))}
		}})

	// A top-level alias the parser does not know.
	rows = append(rows, attackRow{name: "docker remove -v C (anonymous volume)", setup: standalone,
		steps: func(a *attack) []attackStep { return []attackStep{refuse(docker("remove", "-v", a.ctr))} }})

	// config.json aliases: docker/cli lets `builder` stand for a plugin.
	const aliases = `{"aliases": {"builder": "compose"}}`
	rows = append(rows,
		attackRow{name: "docker builder down -v (config.json aliases builder=compose, DOCKER_CONFIG set)",
			setup: func(a *attack) { a.composeUp(); a.writeConfig(aliases) },
			steps: func(a *attack) []attackStep { return []attackStep{refuse(docker("builder", "down", "-v"))} }},
		attackRow{name: "docker builder down -v (~/.docker/config.json aliases builder=compose, no DOCKER_CONFIG)",
			setup: composeUp,
			steps: func(a *attack) []attackStep {
				home := filepath.Join(a.p.Home, "alias-home")
				a.dockerConfig(filepath.Join(home, ".docker"), aliases)
				s := refuse(docker("builder", "down", "-v"))
				s.env = []string{"HOME=" + home}
				s.unset = []string{"DOCKER_CONFIG"}
				return []attackStep{s}
			}},
	)

	// Compose lower-cases project names; the real project is lower-case.
	rows = append(rows,
		attackRow{name: "docker compose -p UPPER down -v", setup: composeUp,
			steps: func(a *attack) []attackStep {
				return []attackStep{refuse(docker("compose", "-p", strings.ToUpper(a.p.Name), "down", "-v"))}
			}},
		attackRow{name: "docker compose --project-name=Capitalised down -v", setup: composeUp,
			steps: func(a *attack) []attackStep {
				return []attackStep{refuse(docker("compose", "--project-name="+strings.ToUpper(a.p.Name[:1])+a.p.Name[1:], "down", "-v"))}
			}},
		attackRow{name: "COMPOSE_PROJECT_NAME=UPPER docker compose down -v", setup: composeUp,
			steps: func(a *attack) []attackStep {
				return []attackStep{refuse(with(docker("compose", "down", "-v"), "COMPOSE_PROJECT_NAME="+strings.ToUpper(a.p.Name)))}
			}},
		attackRow{name: "docker compose down -v in a folder with only .env COMPOSE_PROJECT_NAME", setup: composeUp,
			steps: func(a *attack) []attackStep {
				dir := filepath.Join(a.p.Home, "no-compose-file")
				a.write(filepath.Join(dir, ".env"), "COMPOSE_PROJECT_NAME="+a.p.Name+"\n")
				s := refuse(docker("compose", "down", "-v"))
				s.dir, s.unset = dir, []string{"COMPOSE_PROJECT_NAME"}
				return []attackStep{s}
			}},
	)

	// Compose v1 through the shim: its own file names, .env and endpoint rules.
	v1 := func() attackStep { return refuse(attackStep{bin: "docker-compose", args: []string{"down", "-v"}}) }
	rows = append(rows,
		attackRow{name: "docker-compose down -v with docker-compose.yml and compose.yaml", scenario: "attack-v1-both",
			setup: func(a *attack) { a.v1Up(a.p.Dir) },
			steps: func(a *attack) []attackStep { return []attackStep{v1()} }},
		attackRow{name: "docker-compose down -v with .env COMPOSE_PROJECT_NAME: alpha (v1 names the project after the folder)",
			setup: func(a *attack) {
				// v1 names the project after its folder: give the folder the project's name.
				dir := filepath.Join(filepath.Dir(a.p.Dir), a.p.Name)
				if err := os.CopyFS(dir, os.DirFS(a.p.Dir)); err != nil {
					a.t.Fatal(err)
				}
				a.v1Up(dir)
				a.write(filepath.Join(dir, ".env"), "COMPOSE_PROJECT_NAME: alpha\n")
			},
			steps: func(a *attack) []attackStep {
				s := v1()
				s.dir, s.unset = filepath.Join(filepath.Dir(a.p.Dir), a.p.Name), []string{"COMPOSE_PROJECT_NAME"}
				return []attackStep{s}
			}},
		attackRow{name: "DOCKER_CONTEXT=elsewhere docker-compose down -v (v1 ignores contexts)",
			setup: func(a *attack) {
				if h := engineHost(a); h != "unix:///var/run/docker.sock" {
					a.t.Skipf("the engine is at %s: docker-compose without DOCKER_HOST would not reach it", h)
				}
				a.v1Up(a.p.Dir)
				a.createContext(a.cfg, "elsewhere", emptyEngine(a.t))
			},
			steps: func(a *attack) []attackStep {
				s := with(v1(), "DOCKER_CONTEXT=elsewhere")
				s.unset = []string{"DOCKER_HOST"}
				return []attackStep{s}
			}},
		attackRow{name: "docker-compose down -v with DOCKER_HOST in .env (current context elsewhere)",
			setup: func(a *attack) {
				a.v1Up(a.p.Dir)
				a.write(filepath.Join(a.p.Dir, ".env"), "DOCKER_HOST="+engineHost(a)+"\n")
				// A config of its own: the row's checks must still reach the real engine.
				cfg := a.dockerConfig(filepath.Join(a.p.Home, "elsewhere-config"), "")
				a.createContext(cfg, "elsewhere", emptyEngine(a.t))
				a.p.Exec(testenv.Cmd{Bin: "docker", Args: []string{"context", "use", "elsewhere"}, Env: []string{"DOCKER_CONFIG=" + cfg}})
			},
			steps: func(a *attack) []attackStep {
				s := with(v1(), "DOCKER_CONFIG="+filepath.Join(a.p.Home, "elsewhere-config"))
				s.unset = []string{"DOCKER_HOST", "DOCKER_CONTEXT"}
				return []attackStep{s}
			}},
	)

	// Compose commands that recreate a changed volume after a y/N prompt.
	changed := func(a *attack) {
		a.composeUp()
		a.p.WriteFile("compose.override.yaml", "volumes:\n  vault:\n    labels:\n      tier: changed\n")
	}
	stopped := func(a *attack) {
		changed(a)
		a.p.Compose("stop") // compose run cannot remove a running container to recreate the volume
	}
	for _, c := range []struct {
		args  []string
		setup func(a *attack)
	}{
		{[]string{"compose", "scale", "app=2"}, changed},
		{[]string{"compose", "run", "--rm", "app", "true"}, stopped},
	} {
		args := c.args
		rows = append(rows, attackRow{name: "docker " + strings.Join(args, " ") + " answering y to recreate the changed volume",
			setup: c.setup,
			steps: func(a *attack) []attackStep {
				s := refuse(docker(args...))
				s.stdin = "y\ny\n"
				return []attackStep{s}
			}})
	}

	rows = append(rows,
		// C is removed (no -v) while a --rm container holds its anonymous
		// volume through --volumes-from; when that one ends, the engine
		// removes the volume with it.
		attackRow{name: "docker run --rm --volumes-from C IMAGE, docker rm C, then the --rm container ends", setup: standalone,
			steps: func(a *attack) []attackStep {
				vf := a.p.Name + "_volumes_from"
				return []attackStep{
					refuse(docker("run", "-d", "--rm", "--init", "--name", vf, "--volumes-from", a.ctr,
						testenv.PostgresImage(a.t), "sleep", "infinity")),
					docker("rm", a.ctr),
					docker("stop", vf),
				}
			}},
		// Any decision taken before the command runs leaves this gap.
		attackRow{name: "docker volume prune answered y after the container using the volume is removed",
			setup: func(a *attack) {
				a.standalone()
				a.dockerCmd("create", "--name", a.p.Name+"_user", "--label", "com.ledgerflow.e2e="+a.p.Name,
					"-v", a.solo+":/d", testenv.PostgresImage(a.t), "true")
			},
			steps: func(a *attack) []attackStep {
				s := docker("volume", "prune", "--filter", "label="+a.scope())
				s.race = func(a *attack) { a.dockerCmd("rm", a.p.Name+"_user") }
				return []attackStep{s}
			}},
		attackRow{name: "LEDGER_EXPLAIN=true docker volume rm VOL (must explain, not run)", setup: standalone,
			steps: func(a *attack) []attackStep {
				s := with(docker("volume", "rm", a.solo), "LEDGER_EXPLAIN=true")
				s.explain = true
				return []attackStep{s}
			}},
		attackRow{name: "LEDGER_EXPLAIN=true docker remove -v C (must explain, not run)", setup: standalone,
			steps: func(a *attack) []attackStep {
				s := with(docker("remove", "-v", a.ctr), "LEDGER_EXPLAIN=true")
				s.explain = true
				return []attackStep{s}
			}},
		// No environment or configuration may remove the default protect key.
		attackRow{name: "LEDGER_PROTECT_LABEL=other docker volume rm VOL", setup: standalone,
			steps: func(a *attack) []attackStep {
				return []attackStep{refuse(with(docker("volume", "rm", a.solo), "LEDGER_PROTECT_LABEL=other"))}
			}},
		attackRow{name: "LEDGER_CONFIG naming another protect key, docker volume rm VOL", setup: standalone,
			steps: func(a *attack) []attackStep {
				cfg := filepath.Join(a.p.Home, "ledger-config.yaml")
				a.write(cfg, "protect_label: other\nprotect_labels: [other.key]\n")
				return []attackStep{refuse(with(docker("volume", "rm", a.solo), "LEDGER_CONFIG="+cfg))}
			}},
		attackRow{name: "LEDGER_WRAPPER_FULL=<real docker> docker volume rm VOL", setup: standalone,
			steps: func(a *attack) []attackStep {
				return []attackStep{refuse(with(docker("volume", "rm", a.solo), "LEDGER_WRAPPER_FULL="+testenv.RealDocker(a.t)))}
			}},
	)
	return rows
}

// runAttack runs one row.
func runAttack(t *testing.T, row attackRow, opts attackOpts) {
	scenario := row.scenario
	if scenario == "" {
		scenario = "attack"
	}
	p := testenv.NewProject(t, scenario)
	if opts.host != "" {
		p.Env = append(p.Env, testenv.PrivateEngineEnv(opts.host)...)
	}
	a := newAttack(t, p, opts)
	if row.engineWide {
		a.keepImages()
	}
	row.setup(a)
	steps := row.steps(a)
	var codes []string
	before := testenv.ForwardedConnections(a.second)
	for _, s := range steps {
		r := a.run(s)
		codes = append(codes, fmt.Sprint(r.ExitCode))
		t.Logf("%s %s: exit %d\n--- stdout:\n%s\n--- stderr:\n%s", s.bin, strings.Join(s.args, " "), r.ExitCode,
			strings.TrimSpace(r.Stdout), strings.TrimSpace(r.Stderr))
		switch {
		case s.explain:
			var obj map[string]any
			if r.ExitCode != 0 || json.Unmarshal([]byte(r.Stdout), &obj) != nil {
				t.Errorf("%s %v: want an explanation (exit 0, one JSON object on stdout), not a run: %s", s.bin, s.args, r)
			}
		case s.refuse && (r.ExitCode == 0 || strings.TrimSpace(r.Stderr) == ""):
			t.Errorf("%s %v tries to delete a protected volume: want a non-zero exit status (77 when refused) and a message: %s",
				s.bin, s.args, r)
		}
	}
	if opts.hostile {
		n := testenv.ForwardedConnections(a.second) - before
		opts.through.rows.Add(1)
		opts.through.conns.Add(int64(n))
		t.Logf("hostile config.json: %d connections through its currentContext's endpoint", n)
	}
	if lost := a.lost(); len(lost) > 0 {
		t.Errorf("RESULT lost: protected data gone (exit %s): %s", strings.Join(codes, ","), strings.Join(lost, "; "))
	} else {
		t.Logf("RESULT kept: every protected volume and its marker (exit %s)", strings.Join(codes, ","))
	}
}

func newAttack(t *testing.T, p *testenv.Project, opts attackOpts) *attack {
	a := &attack{t: t, p: p, host: opts.host, marks: map[string]string{}}
	if opts.host != "" {
		// The engine is the rows' own: each row leaves it empty.
		t.Cleanup(a.emptyEngine)
	}
	a.shim = filepath.Join(p.Home, "shim")
	if err := os.MkdirAll(a.shim, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"docker", "docker-compose"} {
		if err := os.Symlink(testenv.Binary(t, "ledger_docker"), filepath.Join(a.shim, name)); err != nil {
			t.Fatal(err)
		}
	}
	a.cfg = p.DockerConfig
	if opts.hostile {
		if opts.host == "" {
			a.second = testenv.ForwardSocket(t)
		} else {
			a.second = testenv.ForwardSocketTo(t, opts.host)
		}
		if err := json.Unmarshal([]byte(hostileConfig), &a.base); err != nil {
			t.Fatal(err)
		}
		a.cfg = a.dockerConfig(filepath.Join(p.Home, "hostile-docker"), "")
	}
	return a
}

// emptyEngine removes every container and volume of the private engine.
func (a *attack) emptyEngine() {
	ids := strings.Fields(a.p.Docker("ps", "-aq").Stdout)
	if len(ids) > 0 {
		if r := a.p.Docker(append([]string{"rm", "-f"}, ids...)...); r.ExitCode != 0 {
			a.t.Errorf("empty the private engine: %s", r)
		}
	}
	vols := strings.Fields(a.p.Docker("volume", "ls", "-q").Stdout)
	if len(vols) > 0 {
		if r := a.p.Docker(append([]string{"volume", "rm", "-f"}, vols...)...); r.ExitCode != 0 {
			a.t.Errorf("empty the private engine: %s", r)
		}
	}
}

// noNetwork is the network flag of a container on a private engine, which
// has no bridge.
func (a *attack) noNetwork() []string {
	if a.host == "" {
		return nil
	}
	return []string{"--network", "none"}
}

// scope is a label filter value that only this row's objects match.
func (a *attack) scope() string { return "com.ledgerflow.e2e=" + a.p.Name }

// standalone creates <project>_solo, a protected volume no container uses,
// and <project>_c, a created container with a protected anonymous volume,
// each with a marker.
func (a *attack) standalone() {
	a.solo = a.p.Name + "_solo"
	a.dockerCmd("volume", "create", "--label", protectLabel, "--label", a.scope(), a.solo)
	a.ctr = a.p.Name + "_c"
	a.dockerCmd(slices.Concat([]string{"create", "--name", a.ctr, "--label", a.scope()}, a.noNetwork(), []string{
		"--mount", "type=volume,dst=/data,volume-label=" + protectLabel + ",volume-label=" + a.scope(),
		testenv.PostgresImage(a.t), "true"})...)
	r := a.dockerCmd("inspect", "-f", `{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}`, a.ctr)
	a.anon = strings.TrimSpace(r.Stdout)
	if a.anon == "" {
		a.t.Fatalf("container %s has no anonymous volume at /data", a.ctr)
	}
	a.mark(a.solo)
	a.mark(a.anon)
}

// keepImages runs a container of each test image until the row ends, so
// that system prune -a keeps the images (the checks need them).
func (a *attack) keepImages() {
	run := slices.Concat([]string{"run", "-d"}, a.noNetwork())
	a.dockerCmd(append(run, "--init", "--name", a.p.Name+"_keep_postgres", testenv.PostgresImage(a.t), "sleep", "infinity")...)
	a.dockerCmd(append(run, "--name", a.p.Name+"_keep_idle", testenv.IdleImage(a.t))...)
}

// composeUp starts the project with the real Compose v2 and marks its
// protected volume.
func (a *attack) composeUp() {
	a.p.Compose("up", "-d") // not p.Up: app runs the PostgreSQL image, but no server
	a.mark(a.p.Volume("vault"))
}

// v1Up starts the project in dir with the real docker-compose (v1) and
// marks its protected volume.
func (a *attack) v1Up(dir string) {
	compose, err := exec.LookPath("docker-compose")
	if err == nil {
		if real, err2 := filepath.EvalSymlinks(compose); err2 != nil || filepath.Base(real) == "ledger_docker" {
			err = fmt.Errorf("%s is ledger_docker's shim", compose)
		}
	}
	if err != nil {
		a.t.Fatalf("Compose v1 (docker-compose) is needed for this row: %v", err)
	}
	if r := a.p.Exec(testenv.Cmd{Bin: compose, Args: []string{"up", "-d"}, Dir: dir}); r.ExitCode != 0 {
		a.t.Fatalf("docker-compose up -d: %s", r)
	}
	a.mark(a.p.Volume("vault"))
}

// mark writes a random marker into a protected volume with the real docker.
func (a *attack) mark(volume string) {
	var b [16]byte
	_, _ = rand.Read(b[:])
	m := hex.EncodeToString(b[:])
	if r := a.helper("-v", volume+":/d", testenv.PostgresImage(a.t), "sh", "-c", `printf %s "$1" > /d/`+attackMarker, "sh", m); r.ExitCode != 0 {
		a.t.Fatalf("write the marker into %s: %s", volume, r)
	}
	a.marks[volume] = m
	a.order = append(a.order, volume)
}

// lost checks every protected volume and its marker with the real docker.
func (a *attack) lost() []string {
	var lost []string
	for _, v := range a.order {
		if r := a.p.Docker("volume", "inspect", v); r.ExitCode != 0 {
			lost = append(lost, v+": volume gone")
			continue
		}
		r := a.helper("-v", v+":/d:ro", testenv.PostgresImage(a.t), "sh", "-c", `test -f "$1" || exit 3; cat "$1"`, "sh", "/d/"+attackMarker)
		switch {
		case r.ExitCode == 3:
			lost = append(lost, v+": marker file gone (the volume was emptied or recreated)")
		case r.ExitCode != 0:
			a.t.Fatalf("cannot read the marker of %s: %s", v, r)
		case r.Stdout != a.marks[v]:
			lost = append(lost, fmt.Sprintf("%s: marker %q, want %q", v, r.Stdout, a.marks[v]))
		}
	}
	return lost
}

// helper runs a container with the real docker and removes it before it
// returns (with --rm the engine removes it a moment after docker run
// returns, and a volume it used stays in use until then).
func (a *attack) helper(args ...string) testenv.Result {
	a.t.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := a.p.Name + "_helper_" + hex.EncodeToString(b[:])
	r := a.p.Docker(slices.Concat([]string{"run", "--name", name, "--label", a.scope()}, a.noNetwork(), args)...)
	a.dockerCmd("rm", "-f", name)
	return r
}

// dockerCmd runs the real docker for the row's state and fails on error.
func (a *attack) dockerCmd(args ...string) testenv.Result {
	a.t.Helper()
	r := a.p.Exec(testenv.Cmd{Bin: "docker", Args: args})
	if r.ExitCode != 0 {
		a.t.Fatalf("docker %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// dockerConfig makes another private docker config folder, beside the
// project's (testenv's DOCKER_CONFIG): its cli-plugins are the project's
// (Compose v2), config.json is configJSON when given. In the hostile
// variant it is hostileConfig with configJSON merged in, and the folder
// has the context "second".
func (a *attack) dockerConfig(dir, configJSON string) string {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		a.t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(a.p.DockerConfig, "cli-plugins"), filepath.Join(dir, "cli-plugins")); err != nil {
		a.t.Fatal(err)
	}
	if a.base != nil {
		a.createContext(dir, "second", "unix://"+a.second)
	}
	a.writeConfigIn(dir, configJSON)
	return dir
}

// writeConfig writes the steps' DOCKER_CONFIG/config.json (see
// writeConfigIn).
func (a *attack) writeConfig(configJSON string) {
	a.writeConfigIn(a.cfg, configJSON)
}

// writeConfigIn writes dir/config.json: configJSON, merged into
// hostileConfig in the hostile variant (a key set to null is removed).
// Nothing is written when that leaves no key in a config that had none.
func (a *attack) writeConfigIn(dir, configJSON string) {
	cfg := maps.Clone(a.base)
	if cfg == nil {
		cfg = map[string]any{}
	}
	if configJSON != "" {
		var row map[string]any
		if err := json.Unmarshal([]byte(configJSON), &row); err != nil {
			a.t.Fatalf("config.json %s: %v", configJSON, err)
		}
		for k, v := range row {
			if v == nil {
				delete(cfg, k)
			} else {
				cfg[k] = v
			}
		}
	}
	if len(cfg) == 0 && a.base == nil {
		return
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		a.t.Fatal(err)
	}
	a.write(filepath.Join(dir, "config.json"), string(b)+"\n")
}

// createContext adds a docker context to the docker config folder cfg.
func (a *attack) createContext(cfg, name, host string) {
	r := a.p.Exec(testenv.Cmd{Bin: "docker", Args: []string{"context", "create", name, "--docker", "host=" + host},
		Env: []string{"DOCKER_CONFIG=" + cfg}})
	if r.ExitCode != 0 {
		a.t.Fatalf("docker context create %s: %s", name, r)
	}
}

func (a *attack) write(path, content string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// engineHost is the real engine's endpoint, as the real docker reaches it.
func engineHost(a *attack) string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return strings.TrimSpace(a.p.Docker("context", "inspect", "-f", "{{.Endpoints.docker.Host}}").Stdout)
}

// environ is a step's environment: testenv's (nothing of the tester's own
// configuration) with the project's, then the shim as install.sh sets it
// up (the shim folder first on PATH, the real binaries found behind it),
// then the steps' DOCKER_CONFIG, then the step's, without the keys it
// unsets. In the hostile variant a docker step has no DOCKER_HOST (nor its
// TLS settings): DOCKER_HOST would beat the currentContext. Compose v1
// reads no context, so a docker-compose step keeps it.
func (a *attack) environ(s attackStep) []string {
	extra := append([]string(nil), a.p.Env...)
	extra = append(extra, "PATH="+a.shim+string(os.PathListSeparator)+os.Getenv("PATH"), "LEDGER_SHIM_DIR="+a.shim,
		"LEDGER_REAL_DOCKER=", "DOCKER_CONFIG="+a.cfg)
	env := testenv.Environ(append(extra, s.env...)...)
	unset := s.unset
	if a.base != nil && s.bin == "docker" && !slices.ContainsFunc(s.env, func(kv string) bool { return strings.HasPrefix(kv, "DOCKER_HOST=") }) {
		unset = append(slices.Clip(unset), "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
	}
	out := env[:0]
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(unset, k) {
			out = append(out, kv)
		}
	}
	return out
}

// run runs a step through the shim. The engine runs one prune at a time
// and fails the others at once: such a step is run again (the tests of
// other packages share the engine), at most a minute long.
func (a *attack) run(s attackStep) testenv.Result {
	a.t.Helper()
	for attempt := 1; ; attempt++ {
		r := a.runOnce(s)
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "a prune operation is already running") || s.race != nil || attempt == 60 {
			return r
		}
		time.Sleep(time.Second)
	}
}

// runOnce runs a step through the shim. A race step gets its stdin from a
// pipe: once the y/N prompt shows, race runs, then "y" is sent.
func (a *attack) runOnce(s attackStep) testenv.Result {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(a.shim, s.bin), s.args...)
	cmd.Dir = a.p.Dir
	if s.dir != "" {
		cmd.Dir = s.dir
	}
	cmd.Env = a.environ(s)
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var stdin io.WriteCloser
	if s.race != nil {
		var err error
		if stdin, err = cmd.StdinPipe(); err != nil {
			a.t.Fatal(err)
		}
	} else {
		cmd.Stdin = strings.NewReader(s.stdin)
	}
	if err := cmd.Start(); err != nil {
		a.t.Fatalf("start %s %v: %v", s.bin, s.args, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	finished := false
	if s.race != nil {
		tick := time.NewTicker(50 * time.Millisecond)
		deadline := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case err = <-done:
				finished = true
				a.t.Logf("%s %v ended before its y/N prompt", s.bin, s.args)
				break wait
			case <-deadline:
				a.t.Errorf("%s %v: no y/N prompt within 2 minutes", s.bin, s.args)
				break wait
			case <-tick.C:
				if strings.Contains(stdout.String(), "[y/N]") {
					s.race(a)
					_, _ = io.WriteString(stdin, "y\n")
					break wait
				}
			}
		}
		tick.Stop()
		_ = stdin.Close()
		if !finished {
			err = <-done
		}
	} else {
		err = <-done
	}
	r := testenv.Result{Stdout: stdout.String(), Stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.ExitCode = ee.ExitCode()
	case err != nil:
		a.t.Fatalf("run %s %v: %v", s.bin, s.args, err)
	}
	return r
}

// lockedBuffer is a bytes.Buffer safe to read while a command writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9.]+`)

// emptyEngine serves, on a unix socket, a Docker Engine API with nothing in
// it: no containers, no volumes; it refuses every change. A context or
// DOCKER_HOST naming it is "the wrong engine" a wrapper may look at while
// the command goes to the real one. It returns the socket's unix:// URL.
func emptyEngine(t *testing.T) string {
	dir, err := os.MkdirTemp("", "lde2e-engine-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.41")
		w.Header().Set("Ostype", "linux")
		w.Header().Set("Server", "Docker/20.10.24 (linux)")
		path := apiVersionPrefix.ReplaceAllString(r.URL.Path, "")
		if r.Method != http.MethodGet && r.Method != http.MethodHead && path != "/_ping" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `{"message":"empty test engine: changes are refused"}`)
			return
		}
		body := ""
		switch path {
		case "/_ping":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, "OK")
			return
		case "/version":
			body = `{"Version":"20.10.24","ApiVersion":"1.41","MinAPIVersion":"1.12","Os":"linux","Arch":"amd64"}`
		case "/info":
			body = `{"ID":"empty-test-engine","Name":"empty-test-engine","ServerVersion":"20.10.24","OSType":"linux"}`
		case "/containers/json", "/networks", "/images/json":
			body = `[]`
		case "/volumes":
			body = `{"Volumes":[],"Warnings":null}`
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"message":"no such object in the empty test engine"}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = os.RemoveAll(dir)
	})
	return "unix://" + sock
}
