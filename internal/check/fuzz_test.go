package check

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/config"
)

// Bounds every input must stay within (issue: a pre-commit hook must bound
// its time and memory on hostile input). They are asserted only while
// fuzzing (go test -fuzz): a plain test run never asserts on time.
const (
	fuzzMaxTime  = 2 * time.Second
	fuzzMaxAlloc = 200 << 20
)

// FuzzCheck runs the checker's entry point on a compose file (and a second
// file: the override compose loads with it, or other.yaml, which the first
// may include or extend) and requires that it never panics (a panic is
// also one caught as an "internal error" finding), and, while fuzzing,
// that it finishes within fuzzMaxTime and allocates at most fuzzMaxAlloc.
// --fix's editor runs on the file too. The seed corpus
// (testdata/fuzz/FuzzCheck) holds every malformed shape of issue 11.
func FuzzCheck(f *testing.F) {
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	f.Fuzz(func(t *testing.T, main, second []byte, override bool) {
		dir := t.TempDir()
		write := func(name string, b []byte) {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("compose.yaml", main)
		if len(second) > 0 {
			if override {
				write("compose.override.yaml", second)
			} else {
				write("other.yaml", second)
			}
		}
		if fuzzing {
			// a hang never ends the input: end it as a crash, which the
			// fuzzer saves, with every goroutine's stack
			watchdog := time.AfterFunc(5*fuzzMaxTime, func() {
				debug.SetTraceback("all")
				panic(fmt.Sprintf("check.Run still running after %v", 5*fuzzMaxTime))
			})
			defer watchdog.Stop()
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		rep, err := Run(context.Background(), Request{Files: []string{"compose.yaml"}, Dir: dir, Env: []string{},
			ProtectLabel: config.DefaultProtectLabel})
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		for _, fd := range rep.Findings {
			if strings.HasPrefix(fd.Message, internalErrorMessage) {
				t.Fatalf("panic while checking: %s", fd)
			}
			if fd.Line < 1 || fd.Column < 1 {
				t.Errorf("finding without a position: %s", fd)
			}
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; fuzzing && alloc > fuzzMaxAlloc {
			t.Errorf("allocated %d MB, over %d MB", alloc>>20, fuzzMaxAlloc>>20)
		}
		if fuzzing && took > fuzzMaxTime {
			t.Errorf("took %v, over %v", took, fuzzMaxTime)
		}
		// --fix's editor on every volume the file declares: it may refuse,
		// never panic
		if d, err := parseYAML("", main); err == nil {
			var volumes []string
			for k := range d.entries("volumes") {
				volumes = append(volumes, k)
			}
			_, _, _, _ = fixSource(main, volumes, config.DefaultProtectLabel)
		}
	})
}
