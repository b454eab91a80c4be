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
//     100 ms), and the in-process policy.Decide for reference.
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
	"path/filepath"
	"slices"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/policy"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
	"github.com/ledger-docker/ledger-docker/internal/guardrun"
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
	flag.Parse()

	wrap, err := filepath.Abs(*bin)
	if err != nil {
		log.Fatal(err)
	}
	full, err := filepath.Abs(*fullBin)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{wrap, full} {
		if _, err := os.Stat(p); err != nil {
			log.Fatalf("%v (run make build first)", err)
		}
	}
	real, err := wrapper.FindReal(intercept.Docker, os.Getenv)
	if err != nil {
		log.Fatal(err)
	}

	// pass-through: the same command line, alternating, after a warm-up
	run := func(path string, env []string, args ...string) time.Duration {
		cmd := exec.Command(path, args...)
		cmd.Env = env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("%s %v: %v\n%s", path, args, err, out)
		}
		return time.Since(start)
	}
	env := os.Environ()
	// The floor of any Go wrapper: a program that only execs docker.
	floor, floorCleanup, err := buildFloor()
	if err != nil {
		log.Fatal(err)
	}
	defer floorCleanup()
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
	fmt.Printf("  reference: the Go wrapper alone (ledger_docker-full ps): median %v, ratio %.3f to docker\n",
		mfull.Round(10*time.Microsecond), float64(mfull)/float64(md))
	fmt.Printf("  reference: a Go program that only execs docker: median %v, ratio %.3f to docker; ledger_docker to it %.3f\n",
		mf.Round(10*time.Microsecond), float64(mf)/float64(md), float64(mw)/float64(mf))

	// decision on a real project
	dir, cleanup, err := project()
	if err != nil {
		log.Fatal(err)
	}
	defer cleanup()
	file := filepath.Join(dir, "compose.yaml")
	explainEnv := append(os.Environ(), "LEDGER_EXPLAIN=1")
	args := []string{"compose", "-f", file, "down", "-v"}
	check := func() {
		cmd := exec.Command(wrap, args...)
		cmd.Env = explainEnv
		out, err := cmd.Output()
		var d policy.Decision
		if err != nil || json.Unmarshal(out, &d) != nil || d.Verdict != policy.Block || len(d.Volumes) != 2 {
			log.Fatalf("explain compose down -v: %v %s", err, out)
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

	failed := false
	if ratio > maxRatio {
		fmt.Printf("FAIL: pass-through ratio %.3f > %.2f\n", ratio, maxRatio)
		failed = true
	}
	if mdec > maxDecision {
		fmt.Printf("FAIL: decision %v > %v\n", mdec, maxDecision)
		failed = true
	}
	if failed {
		// os.Exit skips deferred calls: remove the project's volumes first.
		cleanup()
		floorCleanup()
		os.Exit(1)
	}
	fmt.Println("ok")
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
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
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
		log.Fatal(err)
	}
	in := intercept.Parse([]string{"docker", "compose", "-f", file, "down", "-v"}, os.Getenv)
	var ds []time.Duration
	for i := 0; i < n; i++ {
		start := time.Now()
		cmd, err := guardrun.SplitDocker(nil, in.Args)
		if err != nil {
			log.Fatal(err)
		}
		conn, err := guardrun.Connect(ctx, cmd.Opts)
		if err != nil {
			log.Fatal(err)
		}
		d := policy.Decide(ctx, policy.Request{Intent: in, Engine: conn.Engine, Config: cfg, Getenv: os.Getenv,
			Env: os.Environ(), Context: conn.Context})
		ds = append(ds, time.Since(start))
		_ = conn.Engine.Close()
		if d.Verdict != policy.Block {
			log.Fatalf("in-process decision: %+v", d)
		}
	}
	return median(ds)
}
