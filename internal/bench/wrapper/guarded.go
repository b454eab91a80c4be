package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// Commands that run behind the engine API guard, each timed against the
// plain docker CLI in the same run: alternating runs, medians.
const (
	maxGuardedDelay = 5 * time.Millisecond // `volume ls`-class
	benchLabel      = "com.ledgerflow.e2e=bench"
	helperImage     = "ledger-docker/helper:1" // never started: a target for docker cp
	cpSize          = 100 << 20
)

// timer runs one command line and returns its wall time; it stops the
// bench (cleanups first) when the command fails.
type timer struct {
	env []string
}

func (t timer) run(path string, args ...string) time.Duration {
	cmd := exec.Command(path, args...)
	cmd.Env = t.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return d
}

func (t timer) output(path string, args ...string) string {
	cmd := exec.Command(path, args...)
	cmd.Env = t.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// pair is one guarded command timed against the same command run by the
// real docker.
type pair struct {
	name            string
	direct, guarded []time.Duration
}

// alternate runs direct and guarded one after the other, n times each,
// after warm runs of both.
func alternate(name string, t timer, real, wrap string, warm, n int, args ...string) pair {
	for i := 0; i < warm; i++ {
		t.run(real, args...)
		t.run(wrap, args...)
	}
	p := pair{name: name}
	for i := 0; i < n; i++ {
		p.direct = append(p.direct, t.run(real, args...))
		p.guarded = append(p.guarded, t.run(wrap, args...))
	}
	return p
}

func (p pair) ratio() float64 { return float64(median(p.guarded)) / float64(median(p.direct)) }

// delay is the median of the per-pair differences (guarded minus the
// direct run just before it): on a noisy machine it follows drift better
// than the difference of the two medians, which is printed too.
func (p pair) delay() time.Duration {
	ds := make([]time.Duration, len(p.direct))
	for i := range p.direct {
		ds[i] = p.guarded[i] - p.direct[i]
	}
	return median(ds)
}

// pairedRatio is the median of the per-pair ratios (guarded over the
// direct run just before it): the verdict on the ratio targets. The
// engine's own speed drifts by more than 10% over a run of docker cp
// (fuse-overlayfs, page cache), and a ratio within each pair cancels the
// drift that the ratio of the two medians (printed too) keeps.
func (p pair) pairedRatio() float64 {
	rs := make([]float64, len(p.direct))
	for i := range p.direct {
		rs[i] = float64(p.guarded[i]) / float64(p.direct[i])
	}
	slices.Sort(rs)
	return rs[len(rs)/2]
}

func (p pair) String() string {
	md, mg := median(p.direct), median(p.guarded)
	return fmt.Sprintf("%s, %d alternating runs: direct median %v (p25 %v, p75 %v), ledger_docker median %v (p25 %v, p75 %v); median paired ratio %.3f, ratio of medians %.3f, difference of medians %v, median paired difference %v",
		p.name, len(p.direct), round(md), round(quantile(p.direct, 0.25)), round(quantile(p.direct, 0.75)),
		round(mg), round(quantile(p.guarded, 0.25)), round(quantile(p.guarded, 0.75)),
		p.pairedRatio(), p.ratio(), round(mg-md), round(p.delay()))
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1))]
}

// guardedRuns are the runs of each guarded benchmark.
type guardedRuns struct{ ls, cp, run int }

// benchGuarded times the guarded commands (volume ls, cp, run --rm
// through the guard) and returns the failed targets.
func benchGuarded(t timer, real, wrap, work string, runs guardedRuns) []string {
	assertGuarded(t, wrap)
	var failed []string

	ls := alternate("guarded volume ls: docker volume ls vs ledger_docker volume ls", t, real, wrap, 5, runs.ls, "volume", "ls")
	fmt.Println(ls)
	if d := ls.delay(); d > maxGuardedDelay {
		failed = append(failed, fmt.Sprintf("guarded volume ls is %v slower than direct (median paired difference; limit %v)", round(d), maxGuardedDelay))
	}

	// docker cp of 100 MB into a created (never started) container.
	file := filepath.Join(work, "bench-100M.bin")
	if err := randomFile(file, cpSize); err != nil {
		fatal(err)
	}
	name := "ledger-bench-cp-" + suffix(work)
	t.output(real, "create", "--label", benchLabel, "--name", name, helperImage)
	atExit(func() { _ = exec.Command(real, "rm", "-f", "-v", name).Run() })
	cp := alternate("docker cp of 100 MB into a container: docker cp vs ledger_docker cp", t, real, wrap, 1, runs.cp,
		"cp", file, name+":/bench-100M.bin")
	fmt.Println(cp)
	if r := cp.pairedRatio(); r > maxRatio {
		failed = append(failed, fmt.Sprintf("guarded cp: median paired ratio %.3f > %.2f", r, maxRatio))
	}

	// docker run --rm of a FROM-scratch image whose only program exits at once.
	image, err := buildTrueImage(t, real, work)
	if err != nil {
		fatal(err)
	}
	run := alternate("docker run --rm IMAGE /true: docker run vs ledger_docker run", t, real, wrap, 2, runs.run,
		"run", "--rm", "--label", benchLabel, image, "/true")
	fmt.Println(run)
	if r := run.pairedRatio(); r > maxRatio {
		failed = append(failed, fmt.Sprintf("guarded run: median paired ratio %.3f > %.2f", r, maxRatio))
	}
	return failed
}

// assertGuarded makes sure the guarded figures are figures of the guard.
// The timed command lines are off the allow-list (intercept.PassesThrough,
// which the C front mirrors), so the front hands them to the Go wrapper,
// which runs every such line behind the guard. That the child docker then
// really talks to the guard is checked with `docker context inspect`, also
// off the allow-list: it prints the endpoint the child was given, which
// must be the guard's private socket (unix://.../ledger-guard-*/...). No
// LEDGER_REAL_DOCKER is set, so no handshake is timed either.
func assertGuarded(t timer, wrap string) {
	for _, args := range [][]string{{"volume", "ls"}, {"cp", "a", "b:/c"}, {"run", "--rm", "i", "/true"}, {"context", "inspect"}} {
		if intercept.PassesThrough(append([]string{"ledger_docker"}, args...), os.Getenv) {
			fatalf("`ledger_docker %s` is on the allow-list: it would not be timed behind the guard", strings.Join(args, " "))
		}
	}
	host := t.output(wrap, "context", "inspect", "--format", "{{.Endpoints.docker.Host}}")
	if !strings.HasPrefix(host, "unix://") || !strings.Contains(host, "ledger-guard-") {
		fatalf("the guarded docker was given DOCKER_HOST %q, not the guard's socket", host)
	}
}

func randomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// buildTrueImage builds a FROM-scratch image holding one static Go program,
// /true, that exits 0 at once (no registry needed), and removes it at exit.
func buildTrueImage(t timer, real, work string) (string, error) {
	dir := filepath.Join(work, "true-image")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	files := map[string]string{
		"main.go":    "package main\n\nfunc main() {}\n",
		"go.mod":     "module benchtrue\n\ngo 1.24\n",
		"Dockerfile": "FROM scratch\nCOPY true /true\n",
	}
	for n, s := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(s), 0o644); err != nil {
			return "", err
		}
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", "true", ".")
	build.Dir = dir
	build.Env = append(buildEnv, "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build /true: %v\n%s", err, out)
	}
	image := "ledger-bench/true:" + suffix(work)
	t.output(real, "build", "-q", "--label", benchLabel, "-t", image, dir)
	atExit(func() { _ = exec.Command(real, "rmi", "-f", image).Run() })
	return image, nil
}

// suffix is the random part of the bench's work folder: it names what the
// bench creates on the engine, so that two benches never share anything.
func suffix(work string) string {
	return strings.TrimPrefix(filepath.Base(work), workPrefix)
}
