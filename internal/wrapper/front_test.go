package wrapper_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
	"github.com/ledger-docker/ledger-docker/internal/intercept/intercepttest"
	"github.com/ledger-docker/ledger-docker/internal/policy/policytest"
	"github.com/ledger-docker/ledger-docker/internal/testenv"
	"github.com/ledger-docker/ledger-docker/internal/wrapper"
)

// Tests of the C front (wrapper/front/ledger_docker.c), built with cc:
// a command line that intercept.PassesThrough allows reaches the real
// docker that wrapper.FindReal would pick, argv[1:] and environment
// unchanged; every other one reaches the Go wrapper unchanged. And of the
// Go wrapper's Main, run as a program.

// envRecorder makes this test binary a recorder: run under another name,
// it prints its file, argv and environment as JSON and exits.
const envRecorder = "LEDGER_TEST_RECORDER"

// envWrapperMain (with envRecorder) makes a copy of this test binary named
// ledger_docker-full run wrapper.Main instead: the Go wrapper.
const envWrapperMain = "LEDGER_TEST_WRAPPER_MAIN"

type record struct {
	Exe  string   `json:"exe"`
	Argv []string `json:"argv"`
	Env  []string `json:"env"`
}

func TestMain(m *testing.M) {
	if os.Getenv(envRecorder) != "" {
		exe, _ := os.Executable()
		if len(os.Args) == 2 && os.Args[1] == wrapper.HandshakeArg && filepath.Base(exe) == wrapper.PluginName {
			_, _ = os.Stdout.WriteString(wrapper.PluginHandshakeAnswer) // a recorder as the plugin
			os.Exit(0)
		}
		if os.Getenv(envWrapperMain) != "" && filepath.Base(exe) == wrapper.FullName {
			os.Exit(wrapper.Main(os.Args, os.Environ(), nil))
		}
		_ = json.NewEncoder(os.Stdout).Encode(record{Exe: exe, Argv: os.Args, Env: os.Environ()})
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// front compiles the C front alone into its own folder (no
// ledger_docker-full beside it). Without a C compiler the test fails;
// under LEDGER_E2E=0 (unit tests only) it skips.
func front(t *testing.T) string {
	t.Helper()
	return frontAt(t, filepath.Join(t.TempDir(), "ledger_docker"))
}

func frontAt(t *testing.T, out string) string {
	t.Helper()
	if err := testenv.BuildFront(testenv.RepoRoot(t), out); err != nil {
		if !testenv.Enabled() {
			t.Skipf("the C front's tests need a C compiler (skipped under %s=0 only): %v", testenv.EnvE2E, err)
		}
		t.Fatal(err)
	}
	return out
}

// recorders puts two recorders in dir: the real docker and the Go
// wrapper, as the front sees them.
func recorders(t *testing.T, dir string) (real, full string) {
	t.Helper()
	b, err := recorderBinary()
	if err != nil {
		t.Fatal(err)
	}
	real, full = filepath.Join(dir, "real", "docker"), filepath.Join(dir, "full", wrapper.FullName)
	for _, p := range []string{real, full} {
		writeExe(t, p, b)
	}
	return real, full
}

// recorderSrc does what this test binary does under envRecorder, in a
// fraction of its start-up time (the parity test runs thousands of
// command lines).
const recorderSrc = `package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	exe, _ := os.Executable()
	if fc := os.Getenv("LEDGER_FRONT_CHILD"); fc != "" {
		// the Go wrapper's part: wait for the real docker the front
		// started, so that its record comes first
		pid, _, _ := strings.Cut(fc, ":")
		n, _ := strconv.Atoi(pid)
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(n, &ws, 0, nil)
	}
	if len(os.Args) == 2 && os.Args[1] == "--ledger-docker-handshake" && filepath.Base(exe) == "docker-ledger" {
		_, _ = os.Stdout.WriteString("docker-ledger handshake 1\n")
		return
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"exe": exe, "argv": os.Args, "env": os.Environ()})
}
`

// recorderBinary builds recorderSrc once per test process.
var recorderBinary = sync.OnceValues(func() ([]byte, error) {
	dir, err := os.MkdirTemp("", "ledger-recorder-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	for name, text := range map[string]string{"go.mod": "module recorder\n\ngo 1.21\n", "main.go": recorderSrc} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", "recorder", ".")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build the recorder: %v\n%s", err, out)
	}
	return os.ReadFile(filepath.Join(dir, "recorder"))
})

// goStages puts in dir recorders as the real docker, a Go wrapper and the
// plugin, and the Go wrapper (goWrapper).
func goStages(t *testing.T, dir string) (real, fullRecorder, plugin, goFull string) {
	t.Helper()
	real, fullRecorder = recorders(t, dir)
	b, err := recorderBinary()
	if err != nil {
		t.Fatal(err)
	}
	plugin = filepath.Join(dir, "plugin", wrapper.PluginName)
	writeExe(t, plugin, b)
	return real, fullRecorder, plugin, goWrapper(t, filepath.Join(dir, "go"))
}

// goWrapper puts a copy of this test binary named ledger_docker-full in
// dir: with envRecorder and envWrapperMain set it runs wrapper.Main.
func goWrapper(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, wrapper.FullName)
	writeExe(t, p, b)
	return p
}

// installed is the front as install.sh leaves it, with a recorder as the
// Go wrapper beside it (no LEDGER_WRAPPER_FULL, so no handshake), and a
// recorder as the real docker.
func installed(t *testing.T) (bin, real, full string) {
	t.Helper()
	real, full = recorders(t, t.TempDir())
	return frontAt(t, filepath.Join(filepath.Dir(full), wrapper.FrontName)), real, full
}

func writeExe(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func script(t *testing.T, path, body string) string {
	t.Helper()
	writeExe(t, path, []byte("#!/bin/sh\n"+body+"\n"))
	return path
}

type runResult struct {
	code           int
	stdout, stderr string
}

// runFront runs bin with argv (argv[0] as given) and env, where a key set
// twice has its last assignment (as os/exec runs it).
func runFront(t *testing.T, bin, dir string, argv, env []string) runResult {
	t.Helper()
	var last []string
	for i, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.ContainsFunc(env[i+1:], func(later string) bool { return strings.HasPrefix(later, k+"=") }) {
			last = append(last, kv)
		}
	}
	return runRaw(t, bin, dir, argv, last)
}

// runRaw runs bin with argv and exactly env, a key set twice included.
func runRaw(t *testing.T, bin, dir string, argv, env []string) runResult {
	t.Helper()
	if env == nil {
		env = []string{} // nil would be this process's environment
	}
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := os.StartProcess(bin, argv, &os.ProcAttr{Dir: dir, Env: env, Files: []*os.File{devnull, outW, errW}})
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		t.Fatalf("%q: %v", argv, err)
	}
	var stdout, stderr bytes.Buffer
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _, _ = stdout.ReadFrom(outR) }()
	go func() { defer wg.Done(); _, _ = stderr.ReadFrom(errR) }()
	timer := time.AfterFunc(20*time.Second, func() { _ = p.Kill() })
	st, err := p.Wait()
	expired := !timer.Stop()
	wg.Wait()
	outR.Close()
	errR.Close()
	if err != nil {
		t.Fatalf("%q: %v", argv, err)
	}
	if expired {
		t.Fatalf("%q: no exit in 20s (a loop?)", argv)
	}
	return runResult{code: st.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

type argvCase struct {
	from string // where the command line comes from
	argv []string
	env  []string
}

// frontAttackLines are command lines that deleted a protected volume through an
// earlier wrapper: none may reach the real docker directly.
var frontAttackLines = []string{
	"docker volume --help=false rm x",
	"docker volume -h=false rm x",
	"docker volume --help=0 rm x",
	"docker volume --help=F rm -f x",
	"docker volume --help=false remove x",
	"docker system --help=false prune --volumes -f",
	"docker container --help=false rm -v C",
	"docker container -h=false remove --volumes C",
	"docker remove -v C",
	"docker builder down -v",
	"docker --context=x volume rm v",
	"docker -Hunix:///x volume rm v",
	"docker run --rm --volumes-from C img true",
	"docker rm C",
	"docker volume prune -f",
	"docker system prune --volumes -af",
	"docker compose -p PROJ1 down -v",
	"docker compose scale app=2",
	"docker compose run --rm app true",
	"docker-compose down -v",
	"ledger_docker volume rm x",
	"docker --help=false volume rm x",
	"docker -h=false volume rm x",
	"docker -- volume rm x",
	"docker -D=true volume rm x",
	"docker --tls=true ps",
	"docker -Dc x ps",
}

func TestFrontPassesThroughExactlyWhatInterceptAllows(t *testing.T) {
	bin, real, full := installed(t)
	cases := superset(t)
	for _, a := range frontAttackLines {
		cases = append(cases, argvCase{from: "attack", argv: strings.Split(a, " ")})
	}
	run, err := os.MkdirTemp("", "lrun")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(run) })
	base := []string{"PATH=/nonexistent", wrapper.EnvRealDocker + "=" + real, envRecorder + "=1", "XDG_RUNTIME_DIR=" + run}

	var mu sync.Mutex
	counts := map[string]int{}
	check := func(c argvCase, explain string) {
		env := append(slices.Clone(base), c.env...)
		if explain != "" {
			env = append(env, wrapper.EnvExplain+"="+explain)
		}
		getenv := wrapper.Getenv(env)
		// The front sends any non-empty LEDGER_EXPLAIN to the Go wrapper.
		direct := explain == "" && intercept.PassesThrough(c.argv, getenv)
		destructive := intercept.Parse(c.argv, getenv).Destructive()
		if c.from == "attack" && intercept.PassesThrough(c.argv, getenv) {
			t.Errorf("attack %q: intercept.PassesThrough allows it", c.argv)
		}
		r := runFront(t, bin, "", c.argv, env)
		atFront := explain == "" && intercept.StartsAtFront(c.argv, getenv)
		if atFront {
			if destructive || direct {
				t.Errorf("%s %q: started at the front, but Parse calls it destructive (%v) or it passes through (%v)", c.from, c.argv, destructive, direct)
			}
			checkStartedAtFront(t, c, r, env, bin, real, full)
			mu.Lock()
			counts[c.from+" -> front"]++
			counts["front"]++
			mu.Unlock()
			return
		}
		var rec record
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rec) != nil {
			t.Errorf("%s %q: front failed: %+v", c.from, c.argv, r)
			return
		}
		stage := "real"
		switch rec.Exe {
		case full:
			stage = "full"
			if direct {
				t.Errorf("%s %q (LEDGER_EXPLAIN=%q): intercept.PassesThrough allows it, but the front ran the Go wrapper", c.from, c.argv, explain)
			}
			if !slices.Equal(rec.Argv, c.argv) {
				t.Errorf("%s %q: the Go wrapper got argv %q", c.from, c.argv, rec.Argv)
			}
			if want := append(slices.Clone(env), wrapper.EnvSelf+"="+bin); !slices.Equal(rec.Env, want) {
				t.Errorf("%s %q: the Go wrapper got env %q, want %q", c.from, c.argv, rec.Env, want)
			}
		case real:
			if !direct {
				t.Errorf("%s %q (LEDGER_EXPLAIN=%q): intercept.PassesThrough refuses it, but the front ran the real docker", c.from, c.argv, explain)
			}
			if destructive {
				t.Errorf("%s %q (LEDGER_EXPLAIN=%q): destructive, but the front ran the real docker", c.from, c.argv, explain)
			}
			if rec.Argv[0] != "docker" || !slices.Equal(rec.Argv[1:], c.argv[1:]) {
				t.Errorf("%s %q: the real docker got argv %q", c.from, c.argv, rec.Argv)
			}
			if !slices.Equal(rec.Env, env) {
				t.Errorf("%s %q: the real docker got env %q, want %q", c.from, c.argv, rec.Env, env)
			}
		default:
			t.Errorf("%s %q: ran %s", c.from, c.argv, rec.Exe)
		}
		mu.Lock()
		counts[c.from+" -> "+stage]++
		counts[stage]++
		if destructive {
			counts["destructive"]++
		}
		mu.Unlock()
	}

	jobs := make(chan argvCase)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				check(c, "")
				if c.from != "generated" {
					check(c, "1")
					check(c, "0")
				}
			}
		}()
	}
	for _, c := range cases {
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	t.Logf("%d command lines: %v", len(cases), counts)
	if counts["destructive"] == 0 || counts["real"] < 100 || counts["full"] == 0 || counts["front"] < 100 {
		t.Errorf("too few destructive or passed-through command lines among the cases: %v", counts)
	}
}

// checkStartedAtFront checks a command line the front started itself:
// the real docker first, with argv[0] docker and the guard's child
// environment (DOCKER_HOST the socket in a fresh private folder, the TLS
// variables empty, no LEDGER_WRAPPER), then the Go wrapper with argv and
// environment unchanged plus LEDGER_WRAPPER and LEDGER_FRONT_CHILD.
func checkStartedAtFront(t *testing.T, c argvCase, r runResult, env []string, bin, real, full string) {
	t.Helper()
	var recs []record
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	for {
		var rec record
		if err := dec.Decode(&rec); err != nil {
			break
		}
		recs = append(recs, rec)
	}
	if r.code != 0 || len(recs) != 2 || recs[0].Exe != real || recs[1].Exe != full {
		t.Errorf("%s %q: want the real docker, then the Go wrapper; got %+v", c.from, c.argv, r)
		return
	}
	child, goEnv := recs[0], recs[1].Env
	host := wrapper.Getenv(child.Env)("DOCKER_HOST")
	sock, ok := strings.CutPrefix(host, "unix://")
	dir := filepath.Dir(sock)
	if !ok || filepath.Base(sock) != "docker.sock" || !strings.HasPrefix(filepath.Base(dir), "ledger-guard-") ||
		filepath.Dir(dir) != wrapper.Getenv(env)("XDG_RUNTIME_DIR") {
		t.Errorf("%s %q: the real docker got DOCKER_HOST %q", c.from, c.argv, host)
		return
	}
	defer os.RemoveAll(dir)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s %q: the socket folder is not private: %v", c.from, c.argv, err)
	}
	var wantChild []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains([]string{"DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS",
			wrapper.EnvSelf, wrapper.EnvFrontChild}, k) {
			wantChild = append(wantChild, kv)
		}
	}
	wantChild = append(wantChild, "DOCKER_HOST="+host, "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH=", "DOCKER_TLS=")
	if child.Argv[0] != "docker" || !slices.Equal(child.Argv[1:], c.argv[1:]) || !slices.Equal(child.Env, wantChild) {
		t.Errorf("%s %q: the real docker got argv %q env %q, want env %q", c.from, c.argv, child.Argv, child.Env, wantChild)
	}
	n := len(goEnv)
	if n < 2 || !slices.Equal(recs[1].Argv, c.argv) || !slices.Equal(goEnv[:n-2], env) || goEnv[n-2] != wrapper.EnvSelf+"="+bin ||
		!strings.HasPrefix(goEnv[n-1], wrapper.EnvFrontChild+"=") {
		t.Errorf("%s %q: the Go wrapper got argv %q env %q", c.from, c.argv, recs[1].Argv, goEnv)
	}
}

// The front's lists are intercept's: the subcommands that pass through
// and docker's global flags.
func TestFrontListsAreIntercepts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "wrapper", "front", "ledger_docker.c"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	cArray := func(name string) []string {
		t.Helper()
		_, rest, ok := strings.Cut(src, "static const char *const "+name+"[] = {")
		body, _, ok2 := strings.Cut(rest, "};")
		if !ok || !ok2 {
			t.Fatalf("ledger_docker.c: no array %s", name)
		}
		var out []string
		for _, f := range strings.Split(body, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			s, err := strconv.Unquote(f)
			if err != nil {
				t.Fatalf("ledger_docker.c: %s: %q is not a plain string: %v", name, f, err)
			}
			out = append(out, s)
		}
		return out
	}
	for _, l := range []struct {
		name string
		want []string
	}{
		{"pass_through", intercept.PassThrough},
		{"global_value_flags", intercept.GlobalValueFlags},
		{"global_bool_flags", intercept.GlobalBoolFlags},
		{"may_destroy", intercept.MayDestroy()},
		{"endpoint_flags", intercept.EndpointFlags},
	} {
		if got := cArray(l.name); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(l.want))) {
			t.Errorf("ledger_docker.c's %s is %q, intercept's %q", l.name, got, l.want)
		}
	}
	if want := fmt.Sprintf("enum { exit_unavailable = %d, exit_not_found = %d };", exitcode.Unavailable, wrapper.ExitNotFound); !strings.Contains(src, want) {
		t.Errorf("ledger_docker.c's exit statuses are not exitcode's: want the line %s", want)
	}
	for _, want := range []string{"static const char global_short_values[] = " + strconv.Quote(intercept.GlobalShortValueFlags) + ";",
		"static const char endpoint_short[] = " + strconv.Quote(intercept.EndpointShortFlags) + ";"} {
		if !strings.Contains(src, want) {
			t.Errorf("ledger_docker.c has no line %s", want)
		}
	}
}

// superset gathers the command lines: policy's decision table, intercept's
// shared table (intercepttest.Lines), FuzzParse's seeds and corpus, and a generated set.
func superset(t *testing.T) []argvCase {
	t.Helper()
	root := testenv.RepoRoot(t)
	var cases []argvCase
	for _, r := range policytest.Decide {
		cases = append(cases, argvCase{from: "policy table", argv: strings.Fields(r.Argv), env: r.Env})
	}
	for _, l := range intercepttest.Lines {
		cases = append(cases, argvCase{from: "intercept table", argv: strings.Fields(l.Argv), env: l.Env})
	}
	seeds := slices.Clone(intercepttest.FuzzSeeds)
	corpus, _ := filepath.Glob(filepath.Join(root, "internal", "intercept", "testdata", "fuzz", "FuzzParse", "*"))
	for _, f := range corpus {
		seeds = append(seeds, corpusStrings(t, f)...)
	}
	if len(seeds) == 0 {
		t.Fatal("FuzzParse: no seed read")
	}
	for _, s := range seeds {
		cases = append(cases, argvCase{from: "fuzz seed", argv: strings.Split(s, " ")})
	}
	return append(append(cases, generated(3000)...), generatedDocker(3000)...)
}

// generated builds command lines from docker's and compose's words, flags
// and odd spellings, with a fixed seed.
func generated(n int) []argvCase {
	argv0 := []string{"docker", "/usr/bin/docker", "docker", "/opt/bin/ledger_docker", "docker-compose", "/opt/bin/docker-compose", "docker-compose.exe",
		"docker-compose/", "ledger_docker", "dockerd", "", "compose"}
	words := []string{"volume", "system", "rm", "container", "compose", "ps", "prune", "remove", "down", "up",
		"create", "ls", "image", "run", "-v", "--volumes", "--volumes=false", "--volume", "-f", "-af", "-a", "--all",
		"--filter", "label=x", "-H", "tcp://h:2375", "-c", "prod", "-cprod", "--context=x", "--config", "/c", "-D",
		"-l", "debug", "--help", "-h", "--version", "--", "-vt5", "-t", "5", "--dry-run", "-sfv", "-fv", "x", "web",
		"Volume", "volumes", "rm ", " rm", "--rm", "-p", "proj", "--project-name=p", "-y", "--yes", "-", "",
		"compose=x", "--file", "a.yml", "--vol", "-V", "builder",
		// the allow-list and docker's global flags in and out of pflag's spellings
		"ps", "images", "logs", "inspect", "version", "info", "pull", "load", "save", "tag", "login", "logout",
		"--help=false", "-h=false", "--help=0", "--tls", "--tls=true", "--tlsverify", "--debug", "--debug=false",
		"-Hunix:///x", "-H=h", "--host=h", "--host", "-l", "-ldebug", "--log-level=info", "-c=x", "--tlscacert",
		"--tlskey=k", "-Dl", "-cD", "--con=x", "PS"}
	rnd := rand.New(rand.NewPCG(1, 2))
	out := make([]argvCase, 0, n)
	for range n {
		argv := pick(rnd, nil, argv0, 1, 1)
		out = append(out, argvCase{from: "generated", argv: pick(rnd, argv, words, 0, 6)})
	}
	return out
}

// pick appends between least and most random words of list to argv.
func pick(rnd *rand.Rand, argv, list []string, least, most int) []string {
	for range least + rnd.IntN(most-least+1) {
		argv = append(argv, list[rnd.IntN(len(list))])
	}
	return argv
}

// generatedDocker builds docker command lines at the allow-list's edge:
// global flags in and out of pflag's spellings, then a subcommand on or
// off the list, then anything.
func generatedDocker(n int) []argvCase {
	argv0 := []string{"docker", "/usr/bin/docker", "ledger_docker", "/opt/ledger_docker", "docker-compose", "ledger_docker-full"}
	globals := []string{"-D", "--debug", "--tls", "--tlsverify", "-c", "x", "-cx", "-c=x", "--context", "--context=x",
		"-H", "-Hunix:///x", "--host", "--host=tcp://h:1", "--config", "--config=/c", "-l", "-linfo", "--log-level",
		"--log-level=debug", "--tlscacert", "--tlscert=c", "--tlskey", "--tls=true", "--debug=1", "-D=true", "-Dc",
		"-cD", "-h", "--help", "--help=false", "-h=false", "-v", "--version", "--", "-", "", "--contex=x", "-C"}
	subs := append(slices.Clone(intercept.PassThrough), "volume", "system", "container", "rm", "remove", "compose",
		"builder", "run", "exec", "cp", "image", "help", "ledger", "Ps", "ps=x", "-ps")
	rest := []string{"rm", "-v", "--volumes", "prune", "-f", "x", "--help=false", "volume", "down", "-a"}
	rnd := rand.New(rand.NewPCG(3, 4))
	out := make([]argvCase, 0, n)
	for range n {
		argv := pick(rnd, pick(rnd, pick(rnd, nil, argv0, 1, 1), globals, 0, 3), subs, 1, 1)
		out = append(out, argvCase{from: "generated", argv: pick(rnd, argv, rest, 0, 2)})
	}
	return out
}

// corpusStrings reads the string values of a `go test fuzz v1` file.
func corpusStrings(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "string("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(v, ")"))
			if err != nil {
				t.Fatalf("%s: %q: %v", file, line, err)
			}
			out = append(out, s)
		}
	}
	return out
}

// FindReal parity: PATH layouts where the front must pick the file
// wrapper.FindReal picks, or fail the same way.
func TestFrontFindsTheRealDockerLikeFindReal(t *testing.T) {
	bin := front(t)
	d := t.TempDir()
	self := filepath.Join(d, "bin", "ledger_docker")
	script := func(path string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\nprintf '%s\\n' \"$0\"\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(self), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(self, b, 0o755); err != nil {
		t.Fatal(err)
	}
	script(filepath.Join(d, "other", wrapper.FullName), 0o755)
	script(filepath.Join(d, "xdg", "ledger-docker", "shim", "docker"), 0o755)
	script(filepath.Join(d, "home", ".local", "share", "ledger-docker", "shim", "docker"), 0o755)
	symlink(self, filepath.Join(d, "shim", "docker"))
	symlink(self, filepath.Join(d, "tofront", "docker"))
	symlink(filepath.Join(d, "other", wrapper.FullName), filepath.Join(d, "tofull", "docker"))
	if err := os.MkdirAll(filepath.Join(d, "hardlink"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(self, filepath.Join(d, "hardlink", "docker")); err != nil {
		t.Fatal(err)
	}
	script(filepath.Join(d, "noexec", "docker"), 0o644)
	if err := os.MkdirAll(filepath.Join(d, "isdir", "docker"), 0o755); err != nil {
		t.Fatal(err)
	}
	script(filepath.Join(d, "real1", "docker"), 0o755)
	script(filepath.Join(d, "real2", "docker"), 0o755)
	script(filepath.Join(d, "cwd", "docker"), 0o755)
	script(filepath.Join(d, "override"), 0o755)
	t.Chdir(filepath.Join(d, "cwd")) // an empty PATH entry is "."

	p := func(dirs ...string) string {
		for i, x := range dirs {
			if x != "" {
				dirs[i] = filepath.Join(d, x)
			}
		}
		return "PATH=" + strings.Join(dirs, ":")
	}
	shimEnv := wrapper.EnvShimDir + "=" + filepath.Join(d, "shim")
	tests := []struct {
		name string
		env  []string
	}{
		{"shim dir first", []string{p("shim", "real1"), shimEnv}},
		{"shim dir from XDG_DATA_HOME", []string{p("xdg/ledger-docker/shim", "real1"), "XDG_DATA_HOME=" + filepath.Join(d, "xdg")}},
		{"shim dir from HOME", []string{p("home/.local/share/ledger-docker/shim", "real2"), "HOME=" + filepath.Join(d, "home")}},
		{"XDG_DATA_HOME wins over HOME", []string{p("home/.local/share/ledger-docker/shim", "real2"),
			"HOME=" + filepath.Join(d, "home"), "XDG_DATA_HOME=" + filepath.Join(d, "xdg")}},
		{"link to ledger_docker named docker", []string{p("tofront", "real1")}},
		{"link to ledger_docker-full named docker", []string{p("tofull", "real2")}},
		{"the front itself under another name", []string{p("hardlink", "real1")}},
		{"LEDGER_WRAPPER lists it", []string{p("hardlink", "real1"), wrapper.EnvSelf + "=/nonexistent:" + self}},
		{"LEDGER_REAL_DOCKER", []string{p("real1"), wrapper.EnvRealDocker + "=" + filepath.Join(d, "override")}},
		{"empty PATH entry", []string{p("noexec", "", "real1")}},
		{"empty entry at the end", []string{p("noexec") + ":"}},
		{"non-executable file", []string{p("noexec", "real2")}},
		{"directory named docker", []string{p("isdir", "real1")}},
		{"all of them", []string{p("shim", "tofront", "tofull", "hardlink", "noexec", "isdir", "real2", "real1"), shimEnv}},
		{"only wrappers and shims", []string{p("shim", "tofront", "tofull", "noexec", "isdir"), shimEnv}},
		{"empty PATH", []string{"PATH="}},
		{"no PATH", nil},
		// as Go's os.Environ and glibc's getenv read it
		{"the first assignment wins", []string{p("real1"), p("real2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := wrapper.FindReal(intercept.Docker, wrapper.Getenv(append([]string{wrapper.EnvSelf + "=" + self}, firstWins(tt.env)...)))
			// The front is run as self: LEDGER_WRAPPER is not needed for it
			// to skip itself, and FindReal above got self in its place.
			r := runRaw(t, self, "", []string{"docker", "ps"}, tt.env)
			if err != nil {
				if r.code != 127 || r.stderr != "ledger_docker: "+err.Error()+"\n" || r.stdout != "" {
					t.Errorf("FindReal: %v; front: %+v", err, r)
				}
				return
			}
			if r.code != 0 || filepath.Clean(strings.TrimSpace(r.stdout)) != filepath.Clean(want) {
				t.Errorf("FindReal: %s; front ran %+v", want, r)
			}
		})
	}
}

// firstWins is env as a Go program's os.Environ gives it: for a key set
// twice, the first assignment.
func firstWins(env []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if !seen[k] {
			seen[k] = true
			out = append(out, kv)
		}
	}
	return out
}

func TestFrontExitStatuses(t *testing.T) {
	bin := front(t)
	real, _ := recorders(t, t.TempDir())
	t.Run("no real docker", func(t *testing.T) {
		r := runFront(t, bin, "", []string{"docker", "ps"}, []string{"PATH="})
		want := "ledger_docker: no real docker found on PATH (ledger_docker and its shims are skipped; set LEDGER_REAL_DOCKER)\n"
		if r.code != 127 || r.stderr != want || r.stdout != "" {
			t.Errorf("%+v", r)
		}
	})
	for name, full := range map[string]string{"none beside the front": "", "LEDGER_WRAPPER_FULL missing": filepath.Join(t.TempDir(), "missing")} {
		t.Run("no Go wrapper: "+name, func(t *testing.T) {
			env := []string{wrapper.EnvRealDocker + "=" + real, envRecorder + "=1", "LEDGER_WRAPPER_FULL=" + full}
			r := runFront(t, bin, "", []string{"docker", "volume", "rm", "x"}, env)
			if r.code != 69 || !strings.Contains(r.stderr, "Nothing was run.") || r.stdout != "" {
				t.Errorf("%+v", r)
			}
		})
	}
	t.Run("Go wrapper beside the front, called through a link", func(t *testing.T) {
		d := t.TempDir()
		installed := filepath.Join(d, "bin", "ledger_docker")
		_, full := recorders(t, d)
		for _, f := range []struct{ from, to string }{{bin, installed}, {full, filepath.Join(d, "bin", wrapper.FullName)}} {
			b, err := os.ReadFile(f.from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(f.to), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f.to, b, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		link := filepath.Join(d, "shim", "docker-compose")
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(installed, link); err != nil {
			t.Fatal(err)
		}
		r := runFront(t, link, "", []string{"docker-compose", "ps"}, []string{envRecorder + "=1"})
		var rec record
		if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rec) != nil ||
			rec.Exe != filepath.Join(d, "bin", wrapper.FullName) || !slices.Equal(rec.Argv, []string{"docker-compose", "ps"}) {
			t.Errorf("%+v", r)
		}
	})
}

// recordOf reads what a recorder printed, failing the test unless the
// command succeeded and ran exe.
func recordOf(t *testing.T, r runResult, exe string) record {
	t.Helper()
	var rec record
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &rec) != nil || rec.Exe != exe {
		t.Fatalf("want a run of %s, got %+v", exe, r)
	}
	return rec
}

func TestFrontAnswersItsOwnHandshake(t *testing.T) {
	bin, _, full := installed(t)
	r := runFront(t, bin, "", []string{"ledger_docker", wrapper.HandshakeArg}, nil)
	if r.code != 0 || r.stdout != wrapper.FrontHandshakeAnswer || r.stderr != "" {
		t.Errorf("%+v", r)
	}
	// Not the handshake alone: an ordinary command line for the Go wrapper.
	argv := []string{"docker", wrapper.HandshakeArg, "ps"}
	if rec := recordOf(t, runFront(t, bin, "", argv, []string{envRecorder + "=1"}), full); !slices.Equal(rec.Argv, argv) {
		t.Errorf("argv %q", rec.Argv)
	}
}

// LEDGER_WRAPPER_FULL gets a command line only once it has answered the
// Go wrapper's handshake: set to the real docker, it must not delete.
func TestFrontHandsToLedgerWrapperFullOnlyAfterItsHandshake(t *testing.T) {
	bin := front(t)
	d := t.TempDir()
	real, fullRecorder, plugin, goFull := goStages(t, d)
	argv := []string{"docker", "volume", "rm", "x"}
	env := func(full string) []string {
		return []string{"PATH=/nonexistent", wrapper.EnvRealDocker + "=" + real, wrapper.EnvPlugin + "=" + plugin,
			envRecorder + "=1", envWrapperMain + "=1", "LEDGER_WRAPPER_FULL=" + full}
	}

	t.Run("the Go wrapper", func(t *testing.T) {
		rec := recordOf(t, runFront(t, bin, "", argv, env(goFull)), plugin)
		want := []string{wrapper.PluginName, "ledger", wrapper.GuardVerb, wrapper.ProgramFlag, "docker", "--", "volume", "rm", "x"}
		if !slices.Equal(rec.Argv, want) {
			t.Errorf("the guard got %q, want %q", rec.Argv, want)
		}
	})
	answer := strconv.Quote(wrapper.HandshakeAnswer)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	refused := map[string]string{
		"the real docker":                    real,
		"a program named ledger_docker-full": fullRecorder,
		"the front itself":                   bin,
		"missing":                            filepath.Join(d, "missing"),
		"a directory":                        d,
		"silent":                             script(t, filepath.Join(d, "s", "silent"), "exit 0"),
		"the front's answer":                 script(t, filepath.Join(d, "s", "front"), "printf "+strconv.Quote(wrapper.FrontHandshakeAnswer)),
		"answer without newline":             script(t, filepath.Join(d, "s", "nonl"), "printf "+strconv.Quote(strings.TrimSuffix(wrapper.HandshakeAnswer, "\n"))),
		"answer and more":                    script(t, filepath.Join(d, "s", "more"), "printf "+answer+"; echo more"),
		"answer, then exit status 1":         script(t, filepath.Join(d, "s", "status"), "printf "+answer+"; exit 1"),
		"answer, then no exit":               script(t, filepath.Join(d, "s", "hang"), "printf "+answer+"; exec "+sleep+" 60"),
		"no answer, no exit":                 script(t, filepath.Join(d, "s", "mute"), "exec "+sleep+" 60"),
	}
	for name, full := range refused {
		t.Run(name, func(t *testing.T) {
			r := runFront(t, bin, "", argv, env(full))
			if r.code != 69 || r.stdout != "" || !strings.Contains(r.stderr, "LEDGER_WRAPPER_FULL="+full+" is not ledger_docker-full") ||
				!strings.Contains(r.stderr, "Nothing was run.") {
				t.Errorf("%+v", r)
			}
		})
	}
}

// LEDGER_REAL_DOCKER must not be ledger_docker: the front refuses its own
// file and links to ledger_docker or ledger_docker-full.
func TestFrontRefusesItselfAsTheRealDocker(t *testing.T) {
	d := t.TempDir()
	bin, real, full := installed(t)
	toFront := filepath.Join(d, "a", "docker")
	toFull := filepath.Join(d, "b", "docker")
	for target, l := range map[string]string{bin: toFront, full: toFull} {
		if err := os.MkdirAll(filepath.Dir(l), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, l); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(d, "copy", "docker") // runs, then finds itself
	writeExe(t, copied, b)
	for name, p := range map[string]string{"its own file": bin, "a link to it": toFront,
		"a link to ledger_docker-full": toFull, "a copy named docker": copied} {
		t.Run(name, func(t *testing.T) {
			r := runFront(t, bin, "", []string{"docker", "ps"}, []string{wrapper.EnvRealDocker + "=" + p, envRecorder + "=1"})
			if r.code != 69 || r.stdout != "" || !strings.Contains(r.stderr, "is ledger_docker, not the real docker") {
				t.Errorf("%+v", r)
			}
		})
	}
	t.Run("the real docker", func(t *testing.T) {
		recordOf(t, runFront(t, bin, "", []string{"docker", "ps"}, []string{wrapper.EnvRealDocker + "=" + real, envRecorder + "=1"}), real)
	})
}

// The Go wrapper's Main, run as a program: the handshake, the allow-list
// to the real docker, everything else to the guard.
func TestGoWrapperMain(t *testing.T) {
	d := t.TempDir()
	real, _, plugin, full := goStages(t, d)
	base := []string{"PATH=/nonexistent", wrapper.EnvRealDocker + "=" + real, wrapper.EnvPlugin + "=" + plugin,
		envRecorder + "=1", envWrapperMain + "=1"}
	guard := func(verb, prog string, args ...string) []string {
		return append([]string{wrapper.PluginName, "ledger", verb, wrapper.ProgramFlag, prog, "--"}, args...)
	}

	t.Run("handshake", func(t *testing.T) {
		r := runFront(t, full, "", []string{wrapper.FullName, wrapper.HandshakeArg}, base)
		if r.code != 0 || r.stdout != wrapper.HandshakeAnswer || r.stderr != "" {
			t.Errorf("%+v", r)
		}
	})
	// A plugin that does not answer docker-ledger's handshake (here: the
	// real docker, which would run the command unguarded) gets nothing.
	t.Run("plugin without handshake", func(t *testing.T) {
		env := append(slices.Clone(base), wrapper.EnvPlugin+"="+real)
		r := runFront(t, full, "", []string{"docker", "volume", "rm", "x"}, env)
		if r.code != 69 || r.stdout != "" || !strings.Contains(r.stderr, "handshake") {
			t.Errorf("%+v", r)
		}
	})
	type want struct {
		exe  string
		argv []string
	}
	tests := []struct {
		argv string
		env  []string
		want want
	}{
		{argv: "docker ps -a", want: want{real, []string{"docker", "ps", "-a"}}},
		{argv: "ledger_docker -H unix:///x images", want: want{real, []string{"docker", "-H", "unix:///x", "images"}}},
		{argv: "docker ps", env: []string{"LEDGER_EXPLAIN=0"}, want: want{real, []string{"docker", "ps"}}},
		{argv: "docker ps", env: []string{"LEDGER_EXPLAIN=true"}, want: want{plugin, guard(wrapper.ExplainVerb, "docker", "ps")}},
		{argv: "docker volume rm x", env: []string{"LEDGER_EXPLAIN=1"}, want: want{plugin, guard(wrapper.ExplainVerb, "docker", "volume", "rm", "x")}},
		{argv: "docker volume ls", want: want{plugin, guard(wrapper.GuardVerb, "docker", "volume", "ls")}},
		{argv: "docker run --rm img true", want: want{plugin, guard(wrapper.GuardVerb, "docker", "run", "--rm", "img", "true")}},
		{argv: "docker " + wrapper.HandshakeArg + " ps", want: want{plugin, guard(wrapper.GuardVerb, "docker", wrapper.HandshakeArg, "ps")}},
		{argv: "docker-compose ps", want: want{plugin, guard(wrapper.GuardVerb, "docker-compose", "ps")}},
		{argv: "/usr/bin/docker-compose down -v", want: want{plugin, guard(wrapper.GuardVerb, "docker-compose", "down", "-v")}},
	}
	for _, a := range frontAttackLines {
		argv := strings.Split(a, " ")
		prog := "docker"
		if argv[0] == "docker-compose" {
			prog = argv[0]
		}
		tests = append(tests, struct {
			argv string
			env  []string
			want want
		}{argv: a, want: want{plugin, guard(wrapper.GuardVerb, prog, argv[1:]...)}})
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			env := append(slices.Clone(base), tt.env...)
			rec := recordOf(t, runFront(t, full, "", strings.Split(tt.argv, " "), env), tt.want.exe)
			if !slices.Equal(rec.Argv, tt.want.argv) {
				t.Errorf("argv %q, want %q", rec.Argv, tt.want.argv)
			}
			if tt.want.exe == plugin && !slices.Contains(rec.Env, wrapper.EnvSelf+"="+full) {
				t.Errorf("the guard got no %s=%s: %q", wrapper.EnvSelf, full, rec.Env)
			}
		})
	}

	answers := script(t, filepath.Join(d, "answers", "docker"), "printf "+strconv.Quote(wrapper.HandshakeAnswer))
	for name, p := range map[string]string{"itself": full, "a program that answers the handshake": answers} {
		t.Run("LEDGER_REAL_DOCKER is "+name, func(t *testing.T) {
			env := append(slices.Clone(base), wrapper.EnvRealDocker+"="+p)
			r := runFront(t, full, "", []string{"docker", "ps"}, env)
			if r.code != 69 || r.stdout != "" || !strings.Contains(r.stderr, "is ledger_docker, not the real program") {
				t.Errorf("%+v", r)
			}
		})
	}
}

// Where the front starts the real docker itself and where it leaves that
// to the Go wrapper, at the edges: closed standard descriptors, a
// relative TMPDIR, a key set twice.
func TestFrontStartsAtTheEdges(t *testing.T) {
	bin, real, full := installed(t)
	run, err := os.MkdirTemp("", "lrun")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(run) })
	base := []string{"PATH=/nonexistent", wrapper.EnvRealDocker + "=" + real, envRecorder + "=1"}
	records := func(r runResult) []record {
		var recs []record
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		for {
			var rec record
			if dec.Decode(&rec) != nil {
				return recs
			}
			recs = append(recs, rec)
		}
	}
	frontChild := func(rec record) string { return wrapper.Getenv(rec.Env)(wrapper.EnvFrontChild) }

	// stdin closed: the socket must not take descriptor 0
	devnull, _ := os.Open(os.DevNull)
	defer devnull.Close()
	outR, outW, _ := os.Pipe()
	p, err := os.StartProcess(bin, []string{"docker", "volume", "ls"}, &os.ProcAttr{
		Env: append(slices.Clone(base), "XDG_RUNTIME_DIR="+run), Files: []*os.File{nil, outW, devnull}})
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	_, _ = out.ReadFrom(outR)
	_, _ = p.Wait()
	recs := records(runResult{stdout: out.String()})
	if len(recs) != 2 || recs[1].Exe != full {
		t.Fatalf("stdin closed: %s", out.String())
	}
	if _, fd, _ := strings.Cut(frontChild(recs[1]), ":"); func() bool { n, err := strconv.Atoi(fd); return err != nil || n < 3 }() {
		t.Errorf("stdin closed: the socket got descriptor %q", fd)
	}
	os.RemoveAll(filepath.Dir(strings.TrimPrefix(wrapper.Getenv(recs[0].Env)("DOCKER_HOST"), "unix://")))

	for _, tt := range []struct {
		name    string
		env     []string
		atFront bool
	}{
		{"relative TMPDIR: the Go wrapper makes the socket", []string{"TMPDIR=rel"}, false},
		{"LEDGER_EXPLAIN set, then empty: the first counts", []string{"LEDGER_EXPLAIN=1", "LEDGER_EXPLAIN="}, false},
		{"LEDGER_EXPLAIN empty, then set: the first counts", []string{"XDG_RUNTIME_DIR=" + run, "LEDGER_EXPLAIN=", "LEDGER_EXPLAIN=1"}, true},
	} {
		r := runRaw(t, bin, t.TempDir(), []string{"docker", "volume", "ls"}, append(slices.Clone(base), tt.env...))
		recs := records(r)
		switch {
		case tt.atFront && (len(recs) != 2 || recs[1].Exe != full || frontChild(recs[1]) == ""):
			t.Errorf("%s: want the real docker, then the Go wrapper: %+v", tt.name, r)
		case !tt.atFront && (len(recs) != 1 || recs[0].Exe != full || frontChild(recs[0]) != ""):
			t.Errorf("%s: want the Go wrapper alone: %+v", tt.name, r)
		}
		if tt.atFront && len(recs) == 2 {
			os.RemoveAll(filepath.Dir(strings.TrimPrefix(wrapper.Getenv(recs[0].Env)("DOCKER_HOST"), "unix://")))
		}
	}
}
