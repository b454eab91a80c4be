// Command testsummary reads `go test -json` on stdin and prints what a person
// needs: one line per package (like plain `go test`), the full output of
// every failed test, and a closing summary line. It exits 1 when anything
// failed (a test, a package, a build), so `make test` fails with it.
//
//	go test -json ./... | go run ./internal/testenv/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build events
	Test       string
	Elapsed    float64
	Output     string
}

type counts struct {
	pass, fail, skip            int
	pkgOK, pkgFail, pkgNoTest   int
	failedTests, failedPackages []string
}

func main() {
	c, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if c.fail > 0 || c.pkgFail > 0 {
		os.Exit(1)
	}
}

func summarise(in io.Reader, out io.Writer) (*counts, error) {
	c := &counts{}
	// Output of each running test (and of each package itself, key ""),
	// printed only when it fails.
	outputs := map[string]*strings.Builder{}
	key := func(e event) string { return e.Package + "\x00" + e.Test }
	buf := func(k string) *strings.Builder {
		b := outputs[k]
		if b == nil {
			b = &strings.Builder{}
			outputs[k] = b
		}
		return b
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1024*1024), 64*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			// Not JSON (e.g. a build error go test printed as text).
			fmt.Fprintln(out, string(line))
			continue
		}
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			// The package's own "fail" event follows and is counted.
		case "output":
			buf(key(e)).WriteString(e.Output)
		case "pass", "skip", "fail":
			k := key(e)
			if e.Test != "" {
				switch e.Action {
				case "pass":
					c.pass++
				case "skip":
					c.skip++
				case "fail":
					c.fail++
					c.failedTests = append(c.failedTests, e.Package+"."+e.Test)
					fmt.Fprint(out, outputs[k].String())
				}
				delete(outputs, k)
				continue
			}
			pkgOut := ""
			if b := outputs[k]; b != nil {
				pkgOut = b.String()
			}
			delete(outputs, k)
			switch {
			case e.Action == "fail":
				c.pkgFail++
				c.failedPackages = append(c.failedPackages, e.Package)
				// Tests that never finished (a panic, a timeout) first.
				var unfinished []string
				for tk := range outputs {
					if strings.HasPrefix(tk, e.Package+"\x00") {
						unfinished = append(unfinished, tk)
					}
				}
				sort.Strings(unfinished)
				for _, tk := range unfinished {
					fmt.Fprint(out, outputs[tk].String())
					delete(outputs, tk)
				}
				fmt.Fprint(out, failedPackageOutput(pkgOut))
				fmt.Fprintf(out, "FAIL\t%s\t%.1fs\n", e.Package, e.Elapsed)
			case strings.Contains(pkgOut, "[no test files]"):
				c.pkgNoTest++
			default:
				c.pkgOK++
				fmt.Fprintf(out, "ok  \t%s\t%.1fs\n", e.Package, e.Elapsed)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	sort.Strings(c.failedTests)
	fmt.Fprintln(out)
	for _, t := range c.failedTests {
		fmt.Fprintln(out, "FAILED TEST:", t)
	}
	for _, p := range c.failedPackages {
		fmt.Fprintln(out, "FAILED PACKAGE:", p)
	}
	verdict := "PASS"
	if c.fail > 0 || c.pkgFail > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(out, "== %s: %d tests passed, %d failed, %d skipped; %d packages ok, %d failed, %d without tests\n",
		verdict, c.pass, c.fail, c.skip, c.pkgOK, c.pkgFail, c.pkgNoTest)
	return c, nil
}

// failedPackageOutput keeps what explains a package failure (a panic, a
// TestMain error, a timeout) and drops the per-test lines already shown.
func failedPackageOutput(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || t == "FAIL" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- ") ||
			strings.HasPrefix(t, "FAIL\t") || strings.HasPrefix(t, "ok ") || t == "PASS" {
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}
