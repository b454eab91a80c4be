// Command wrapper benchmarks ledger_docker against the real docker CLI on
// the real engine:
//
//   - pass-through: `ledger_docker ps` (the C front) vs `docker ps`,
//     alternating runs in the same process, medians and their ratio (target
//     <= 1.05); for reference the Go wrapper alone (ledger_docker-full) and
//     a Go program that only execs docker;
//   - decision: `LEDGER_EXPLAIN=1 ledger_docker compose down -v` on a real
//     project (a protected and an unprotected volume on the engine): the
//     whole wall time of deciding, wrapper hand-off included (target <=
//     100 ms), and the in-process policy.Decide for reference;
//   - guarded commands (guarded.go), each against the same docker command
//     in the same run: `volume ls` (target <= 5 ms slower), `cp` of 100 MB
//     into a container and `run --rm IMAGE /true` (targets <= 1.05x).
//
// The bench runs with a private DOCKER_CONFIG (never the user's ~/.docker)
// and without any LEDGER_* variable (no LEDGER_REAL_DOCKER handshake is
// timed, no user configuration is read).
//
// Run it with `make bench` (it needs bin/ledger_docker, bin/ledger_docker-full
// and bin/docker-ledger) or `go run ./internal/bench/wrapper -bin bin/ledger_docker`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/guardrun"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/policy"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

const (
	maxRatio    = 1.05
	maxDecision = 100 * time.Millisecond
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/wrapper: ")
	bin := flag.String("bin", "bin/ledger_docker", "the ledger_docker binary (the C front)")
	fullBin := flag.String("full", "bin/ledger_docker-full", "the Go wrapper the front hands to")
	runs := flag.Int("runs", 301, "alternating pass-through runs of each command")
	decisions := flag.Int("decisions", 21, "timed decisions")
	var guarded guardedRuns
	flag.IntVar(&guarded.ls, "ls-runs", 201, "alternating runs of volume ls")
	flag.IntVar(&guarded.cp, "cp-runs", 15, "alternating runs of cp of 100 MB")
	flag.IntVar(&guarded.run, "run-runs", 31, "alternating runs of run --rm")
	flag.Parse()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		runCleanups()
		os.Exit(130)
	}()
	work, err := isolate()
	if err != nil {
		fatal(err)
	}

	wrap, err := filepath.Abs(*bin)
	if err != nil {
		fatal(err)
	}
	full, err := filepath.Abs(*fullBin)
	if err != nil {
		fatal(err)
	}
	for _, p := range []string{wrap, full} {
		if _, err := os.Stat(p); err != nil {
			fatalf("%v (run make build first)", err)
		}
	}
	real, err := wrapper.FindReal(intercept.Docker, os.Getenv)
	if err != nil {
		fatal(err)
	}

	// pass-through: the same command line, alternating, after a warm-up
	run := func(path string, env []string, args ...string) time.Duration {
		cmd := exec.Command(path, args...)
		cmd.Env = env
		if path == full {
			// argv[0] as `alias docker=ledger_docker` gives it (install.sh
			// without a C compiler): the Go wrapper's own pass-through
			cmd.Args[0] = wrapper.FrontName
		}
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			fatalf("%s %v: %v\n%s", path, args, err, out)
		}
		return time.Since(start)
	}
	env := os.Environ()
	// The floor of any Go wrapper: a program that only execs docker.
	floor, floorCleanup, err := buildFloor()
	if err != nil {
		fatal(err)
	}
	atExit(floorCleanup)
	floorEnv := append(os.Environ(), "FLOOR_TARGET="+real)
	for i := 0; i < 5; i++ {
		run(real, env, "ps")
		run(wrap, env, "ps")
		run(full, env, "ps")
		run(floor, floorEnv, "ps")
	}
	var dockerPS, wrapPS, fullPS, floorPS []time.Duration
	for i := 0; i < *runs; i++ {
		dockerPS = append(dockerPS, run(real, env, "ps"))
		wrapPS = append(wrapPS, run(wrap, env, "ps"))
		fullPS = append(fullPS, run(full, env, "ps"))
		floorPS = append(floorPS, run(floor, floorEnv, "ps"))
	}
	md, mw, mfull, mf := median(dockerPS), median(wrapPS), median(fullPS), median(floorPS)
	ratio := float64(mw) / float64(md)
	fmt.Printf("pass-through, %d alternating runs: docker ps median %v, ledger_docker ps (C front) median %v, ratio %.3f (limit %.2f)\n",
		*runs, md.Round(10*time.Microsecond), mw.Round(10*time.Microsecond), ratio, maxRatio)
	fmt.Printf("  reference: the Go wrapper's own pass-through (ledger_docker-full ps, as installed without a C compiler): median %v, ratio %.3f to docker\n",
		mfull.Round(10*time.Microsecond), float64(mfull)/float64(md))
	fmt.Printf("  reference: a Go program that only execs docker: median %v, ratio %.3f to docker; ledger_docker to it %.3f\n",
		mf.Round(10*time.Microsecond), float64(mf)/float64(md), float64(mw)/float64(mf))

	// decision on a real project
	dir, cleanup, err := project()
	if err != nil {
		fatal(err)
	}
	atExit(cleanup)
	file := filepath.Join(dir, "compose.yaml")
	explainEnv := append(os.Environ(), "LEDGER_EXPLAIN=1")
	args := []string{"compose", "-f", file, "down", "-v"}
	check := func() {
		cmd := exec.Command(wrap, args...)
		cmd.Env = explainEnv
		out, err := cmd.Output()
		var d policy.Decision
		if err != nil || json.Unmarshal(out, &d) != nil || d.Verdict != policy.Block || len(d.Volumes) != 2 {
			fatalf("explain compose down -v: %v %s", err, out)
		}
	}
	check()
	var wall []time.Duration
	for i := 0; i < *decisions; i++ {
		wall = append(wall, run(wrap, explainEnv, args...))
	}
	check()
	inproc := inProcess(file, *decisions)
	mdec := median(wall)
	fmt.Printf("decision, LEDGER_EXPLAIN=1 ledger_docker compose down -v (front + Go wrapper + guard + compose load + engine), %d runs: median %v (limit %v)\n",
		*decisions, mdec.Round(10*time.Microsecond), maxDecision)
	fmt.Printf("  in-process connect + policy.Decide: median %v\n", inproc.Round(10*time.Microsecond))

	failed := benchGuarded(timer{env: env}, real, wrap, work, guarded)
	if ratio > maxRatio {
		failed = append(failed, fmt.Sprintf("pass-through ratio %.3f > %.2f", ratio, maxRatio))
	}
	if mdec > maxDecision {
		failed = append(failed, fmt.Sprintf("decision %v > %v", mdec, maxDecision))
	}
	runCleanups()
	for _, f := range failed {
		fmt.Println("FAIL: " + f)
	}
	if len(failed) > 0 {
		os.Exit(1)
	}
	fmt.Println("ok")
}

const workPrefix = "ledger-bench-guard-"

// buildEnv is the environment the bench started with: the go tool builds
// the helper programs with the user's own go settings.
var buildEnv = os.Environ()

// isolate gives the bench a private DOCKER_CONFIG and XDG_CONFIG_HOME in a
// temp folder (also its work folder, removed at exit) and drops every
// LEDGER_* variable, so that neither the user's ~/.docker nor their ledger
// configuration is read and no LEDGER_REAL_DOCKER handshake is timed.
func isolate() (string, error) {
	work, err := os.MkdirTemp("", workPrefix)
	if err != nil {
		return "", err
	}
	atExit(func() { _ = os.RemoveAll(work) })
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "LEDGER_") {
			_ = os.Unsetenv(k)
		}
	}
	for _, v := range []string{"DOCKER_CONFIG", "XDG_CONFIG_HOME"} {
		dir := filepath.Join(work, strings.ToLower(v))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", err
		}
		if err := os.Setenv(v, dir); err != nil {
			return "", err
		}
	}
	return work, nil
}

// Cleanups run at exit in reverse order, on failure and interrupt too
// (os.Exit and log.Fatal skip deferred calls).
var (
	cleanupMu sync.Mutex
	cleanups  []func()
)

func atExit(f func()) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	cleanups = append(cleanups, f)
}

func runCleanups() {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	cleanups = nil
}

func fatal(err error) { fatalf("%v", err) }

func fatalf(format string, args ...any) {
	runCleanups()
	log.Fatalf(format, args...)
}

// buildFloor compiles the smallest possible exec wrapper (its own module,
// standard library only) into a temp folder.
func buildFloor() (string, func(), error) {
	dir, err := os.MkdirTemp("", "ledger-bench-floor-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	src := `package main

import (
	"os"
	"syscall"
)

func main() {
	_ = syscall.Exec(os.Getenv("FLOOR_TARGET"), append([]string{"docker"}, os.Args[1:]...), os.Environ())
	os.Exit(127)
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module floor\n\ngo 1.24\n"), 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	bin := filepath.Join(dir, "floor")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(buildEnv, "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("build the reference exec program: %v\n%s", err, out)
	}
	return bin, cleanup, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// project writes a compose project with a protected database volume and an
// unprotected media volume, and creates both volumes on the engine as
// compose would (labels included). Nothing is started.
func project() (string, func(), error) {
	dir, err := os.MkdirTemp("", "ledger-bench-wrapper-")
	if err != nil {
		return "", nil, err
	}
	name := filepath.Base(dir)
	name = "ledgerbench" + name[len(name)-6:]
	yaml := fmt.Sprintf(`name: %s
services:
  db:
    image: ledger-docker/helper:1
    volumes: [pgdata:/var/lib/postgresql/data]
  app:
    image: ledger-docker/helper:1
    volumes: [media:/media]
volumes:
  pgdata:
    labels:
      %s: "true"
  media: {}
`, name, config.DefaultProtectLabel)
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(yaml), 0o644); err != nil {
		return "", nil, err
	}
	e, err := docker.FromEnv()
	if err != nil {
		return "", nil, err
	}
	ctx := context.Background()
	var made []string
	cleanup := func() {
		for _, v := range made {
			_ = e.RemoveVolume(ctx, v, true)
		}
		_ = e.Close()
		_ = os.RemoveAll(dir)
	}
	for key, extra := range map[string]map[string]string{"pgdata": {config.DefaultProtectLabel: "true"}, "media": nil} {
		labels := map[string]string{compose.ProjectLabel: name, compose.VolumeLabel: key}
		for k, v := range extra {
			labels[k] = v
		}
		v, err := e.CreateVolume(ctx, engine.VolumeSpec{Name: name + "_" + key, Labels: labels})
		if err != nil {
			cleanup()
			return "", nil, err
		}
		made = append(made, v.Name)
	}
	return dir, cleanup, nil
}

// inProcess times connect + Decide without process start-up.
func inProcess(file string, n int) time.Duration {
	ctx := context.Background()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fatal(err)
	}
	in := intercept.Parse([]string{"docker", "compose", "-f", file, "down", "-v"}, os.Getenv)
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		cmd, err := guardrun.SplitDocker(nil, in.Args)
		if err != nil {
			fatal(err)
		}
		conn, err := docker.Connect(ctx, cmd.Opts)
		if err != nil {
			fatal(err)
		}
		d := policy.Decide(ctx, policy.Request{Intent: in, Engine: conn.Engine, Config: cfg, Getenv: os.Getenv,
			Env: os.Environ(), Context: conn.Context})
		ds = append(ds, time.Since(start))
		_ = conn.Engine.Close()
		if d.Verdict != policy.Block {
			fatalf("in-process decision: %+v", d)
		}
	}
	return median(ds)
}
