// Command check benchmarks the pre-commit checker: 50 generated compose
// files (each a project with a database, an app, a cache and several
// volumes, half of them with findings, some with include: and .env
// interpolation) plus 10 scripts, checked by the ledger-precommit binary as
// a hook runs it (one process, engine lookup on), and in-process.
//
// Target: the hook's run over the 50 files <= 200 ms (median of the runs).
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

const limit = 200 * time.Millisecond

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench/check: ")
	bin := flag.String("bin", "bin/ledger-precommit", "the ledger-precommit binary to run")
	files := flag.Int("files", 50, "compose files to generate")
	runs := flag.Int("runs", 61, "timed runs (the median and the 90th percentile are reported)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the in-process runs to this file")
	flag.Parse()

	dir, err := os.MkdirTemp("", "ledger-bench-check-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	args, err := generate(dir, *files)
	if err != nil {
		log.Fatal(err)
	}
	composeFiles := len(args) - 10

	binPath, err := filepath.Abs(*bin)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := os.Stat(binPath); err != nil {
		log.Fatalf("%v (run make build first)", err)
	}
	var cpu []time.Duration
	hook := measure(*runs, func() {
		cmd := exec.Command(binPath, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+dir) // no user config
		out, err := cmd.CombinedOutput()
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			log.Fatalf("ledger-precommit exited %d (want 1: the files have findings): %v\n%s", code, err, out)
		}
		cpu = append(cpu, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
	})
	slices.Sort(cpu)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	inproc := measure(*runs, func() {
		rep, err := check.Run(context.Background(), check.Request{Files: args, Dir: dir, ProtectLabel: config.DefaultProtectLabel})
		if err != nil || !rep.HasErrors() {
			log.Fatalf("check.Run: %v", err)
		}
	})
	fmt.Printf("ledger-precommit, %d compose files + 10 scripts, engine lookup on: median %v (min %v) over %d runs; limit %v\n",
		composeFiles, hook.median.Round(time.Millisecond/10), hook.min.Round(time.Millisecond/10), *runs, limit)
	fmt.Printf("in-process check.Run, same files, no engine:               median %v (min %v)\n",
		inproc.median.Round(time.Millisecond/10), inproc.min.Round(time.Millisecond/10))
	fmt.Printf("ledger-precommit CPU time (user+sys, all cores): median %v\n", cpu[len(cpu)/2].Round(time.Millisecond/10))
	if l, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("load average during the run: %s", l) // other work on the machine slows the wall figures
	}
	fmt.Printf("ratio to the limit: %.2f\n", float64(hook.median)/float64(limit))
	if hook.median > limit {
		fmt.Println("FAIL: over the limit")
		os.Exit(1)
	}
	fmt.Println("ok")
}

type timing struct{ median, min time.Duration }

func measure(runs int, f func()) timing {
	f() // warm the page cache
	var ds []time.Duration
	for range runs {
		start := time.Now()
		f()
		ds = append(ds, time.Since(start))
	}
	slices.Sort(ds)
	return timing{median: ds[len(ds)/2], min: ds[0]}
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
