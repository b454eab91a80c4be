// Command check benchmarks the pre-commit checker: 50 generated compose
// files (each a project with a database, an app, a cache and several
// volumes, half of them with findings, some with include: and .env
// interpolation) plus 10 scripts, checked by the ledger-precommit binary as
// a hook runs it (one process, engine lookup on), and in-process.
//
// Targets: the hook over the 50 files, median under 100 ms and p90 under
// 200 ms over at least 60 runs; the hook on one small file under 25 ms.
// Run it with `make bench` (it needs bin/ledger-precommit) or
// `go run ./internal/bench/check -bin bin/ledger-precommit`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/check"
	"github.com/ledger-docker/ledger-docker/internal/config"
)

// The targets: the hook over the 50 files, and the hook on one small file
// (what a commit that touches one compose file pays: mostly process start).
const (
	limitMedian  = 100 * time.Millisecond
	limitP90     = 200 * time.Millisecond
	limitOneFile = 25 * time.Millisecond
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/check: ")
	bin := flag.String("bin", "bin/ledger-precommit", "the ledger-precommit binary to run")
	compare := flag.String("compare", "", "another ledger-precommit binary to run alternately with -bin (its figures are printed, not judged)")
	files := flag.Int("files", 50, "compose files to generate")
	runs := flag.Int("runs", 61, "timed runs (the median and the 90th percentile are reported)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the in-process runs to this file")
	keep := flag.String("keep", "", "generate the files into this new folder, and keep it (to run the hook on them by hand)")
	flag.Parse()

	dir := *keep
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "ledger-bench-check-"); err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
	} else if err = os.Mkdir(dir, 0o755); err != nil {
		log.Fatal(err)
	}
	args, err := generate(dir, *files)
	if err != nil {
		log.Fatal(err)
	}
	one := filepath.Join("single", "compose.yaml")
	if err := os.MkdirAll(filepath.Join(dir, "single"), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, one), []byte(singleFile), 0o644); err != nil {
		log.Fatal(err)
	}
	composeFiles := len(args) - 10

	bins := []string{*bin}
	if *compare != "" {
		bins = append(bins, *compare)
	}
	for i, b := range bins {
		if bins[i], err = filepath.Abs(b); err != nil {
			log.Fatal(err)
		}
		if _, err := os.Stat(bins[i]); err != nil {
			log.Fatalf("%v (run make build first)", err)
		}
	}
	hook := func(bin string, args []string, want int) time.Duration {
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir) // no user config
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != want {
			log.Fatalf("ledger-precommit exited %d (want %d): %v\n%s", code, want, err, out)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	// every binary once per round, in turn, so that load changes hit all
	many := make([]timings, len(bins))
	single := make([]timings, len(bins))
	var cpu []time.Duration
	for round := range *runs + 1 {
		for i, b := range bins {
			t := time.Now()
			c := hook(b, args, 1) // the files have findings
			d := time.Since(t)
			t = time.Now()
			hook(b, []string{one}, 0)
			d1 := time.Since(t)
			if round == 0 {
				continue // warms the page cache
			}
			many[i] = append(many[i], d)
			single[i] = append(single[i], d1)
			if i == 0 {
				cpu = append(cpu, c)
			}
		}
	}

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	var inproc timings
	for range *runs {
		t := time.Now()
		rep, err := check.Run(context.Background(), check.Request{Files: args, Dir: dir, ProtectLabel: config.DefaultProtectLabel})
		if err != nil || !rep.HasErrors() {
			log.Fatalf("check.Run: %v", err)
		}
		inproc = append(inproc, time.Since(t))
	}
	pprof.StopCPUProfile() // before a FAIL exits (a no-op without -cpuprofile)

	fmt.Printf("ledger-precommit, %d compose files + 10 scripts, engine lookup on, %d runs: median %v, p90 %v (limits %v, %v)\n",
		composeFiles, *runs, many[0].pct(50), many[0].pct(90), limitMedian, limitP90)
	fmt.Printf("ledger-precommit, one small compose file (process start and one load): median %v (limit %v)\n",
		single[0].pct(50), limitOneFile)
	fmt.Printf("ledger-precommit CPU time over the %d files (user+sys, all cores): median %v\n", composeFiles, timings(cpu).pct(50))
	fmt.Printf("in-process check.Run, same files, no engine: median %v\n", inproc.pct(50))
	if *compare != "" {
		fmt.Printf("compare %s: %d files median %v, p90 %v; one file median %v; median paired ratio (bin/compare) %.3f\n",
			*compare, composeFiles, many[1].pct(50), many[1].pct(90), single[1].pct(50), pairedRatio(many[0], many[1]))
	}
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average after the runs: %s", l) // other work on the machine slows the wall figures
	}
	failed := false
	for _, c := range []struct {
		what     string
		got, max time.Duration
	}{
		{"median over the files", many[0].pct(50), limitMedian},
		{"p90 over the files", many[0].pct(90), limitP90},
		{"median on one file", single[0].pct(50), limitOneFile},
	} {
		fmt.Printf("%s: ratio to the limit %.2f\n", c.what, float64(c.got)/float64(c.max))
		if c.got > c.max {
			fmt.Printf("FAIL: %s %v is over %v\n", c.what, c.got, c.max)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	fmt.Println("ok")
}

// singleFile is a commit's one small compose file.
const singleFile = `services:
  db:
    image: postgres:16
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
    labels:
      com.ledgerflow.protect: "true"
`

type timings []time.Duration

// pct is the p-th percentile (nearest rank).
func (t timings) pct(p int) time.Duration {
	s := slices.Sorted(slices.Values(t))
	i := (len(s)*p+99)/100 - 1
	return s[max(i, 0)].Round(time.Millisecond / 10)
}

// pairedRatio is the median of a[i]/b[i].
func pairedRatio(a, b timings) float64 {
	r := make([]float64, len(a))
	for i := range a {
		r[i] = float64(a[i]) / float64(b[i])
	}
	slices.Sort(r)
	return r[len(r)/2]
}

// generate writes n project folders and 10 scripts; it returns the paths
// (relative to dir) a pre-commit run would pass.
func generate(dir string, n int) ([]string, error) {
	var args []string
	write := func(rel, content string) error {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	for i := range n {
		proj := fmt.Sprintf("svc%02d", i)
		label := `      com.ledgerflow.protect: "true"`
		if i%2 == 1 {
			label = `      team: core`
		}
		compose := fmt.Sprintf(`# project %[1]s
services:
  db:
    image: ${DB_IMAGE:-postgres:16}
    environment:
      POSTGRES_USER: app
      POSTGRES_PASSWORD: ${DB_PASSWORD:?set it}
    volumes:
      - pgdata:/var/lib/postgresql/data
  app:
    image: example/%[1]s:${TAG:-latest}
    depends_on: [db, cache]
    environment:
      DATABASE_URL: postgres://app@db/app
    volumes:
      - media:/srv/media
      - ./config:/srv/config:ro
  cache:
    image: redis:7
    command: ["redis-server", "--save", "60", "1"]
    volumes:
      - cache:/data
  worker:
    extends:
      service: app
volumes:
  pgdata:
    labels:
%[2]s
  media:
    driver: local
    labels:
%[2]s
  cache:
    labels:
      - com.ledgerflow.protect=true
`, proj, label)
		if i%5 == 0 {
			compose = "include:\n  - extra.yaml\n" + compose
			if err := write(filepath.Join(proj, "extra.yaml"), "services:\n  mongo:\n    image: mongo:7\n    volumes:\n      - /data/db\n"); err != nil {
				return nil, err
			}
		}
		if err := write(filepath.Join(proj, ".env"), "TAG=1.2.3\nDB_PASSWORD=secret\n"); err != nil {
			return nil, err
		}
		rel := filepath.Join(proj, "compose.yaml")
		if err := write(rel, compose); err != nil {
			return nil, err
		}
		args = append(args, rel)
	}
	for i := range 10 {
		rel := fmt.Sprintf("scripts/deploy%02d.sh", i)
		script := "#!/bin/sh\nset -e\ngit pull\ndocker compose pull \\\n  --quiet\ndocker compose up -d\n"
		if i%2 == 0 {
			script += "docker compose down -v\n"
		}
		if err := write(rel, script); err != nil {
			return nil, err
		}
		args = append(args, rel)
	}
	return args, nil
}
