package wrapper_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/testenv"
)

// Stories of streams through the engine API guard: attached
// `compose up` and Ctrl-C, `run -it` on a terminal, `exec -i` with stdin,
// `cp` both ways, `build` (testdata/e2e/streams/). Every command runs
// through ledger_docker with the project's environment; each story first
// checks that such a command is run behind the guard.

// streamWait bounds every wait of these stories; it only guards against a
// hung stream and asserts no speed.
const streamWait = 2 * time.Minute

// viaGuard fails the test unless a command off the allow-list, run through
// ledger_docker with env, reaches the real docker with the guard's socket.
func viaGuard(t *testing.T, p *testenv.Project, env ...string) {
	t.Helper()
	r := p.RunEnv(env, "ledger_docker", "context", "inspect", "--format", "{{.Endpoints.docker.Host}}")
	host := strings.TrimSpace(r.Stdout)
	if r.ExitCode != 0 || !strings.HasPrefix(host, "unix://") || !strings.Contains(host, "ledger-guard-") {
		t.Fatalf("ledger_docker context inspect: want the guard's unix socket: %s", r)
	}
	t.Logf("behind the guard: DOCKER_HOST=%s", host)
}

// live is a command of the project started in its own process group, whose
// output is read while it runs.
type live struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser // nil when the command was given a reader
	stdout lockedBuffer
	stderr lockedBuffer
	done   chan struct{}
	err    error
}

// startLive starts argv (argv[0] a path) in the project folder with the
// project's environment plus env. A nil stdin gives the command a pipe that
// stays open until it is written to with send or the test ends.
func startLive(t *testing.T, p *testenv.Project, env []string, stdin io.Reader, argv ...string) *live {
	t.Helper()
	l := &live{t: t, name: strings.Join(argv, " "), done: make(chan struct{})}
	l.cmd = exec.Command(argv[0], argv[1:]...)
	l.cmd.Dir = p.Dir
	l.cmd.Env = testenv.Environ(append(append([]string(nil), p.Env...), env...)...)
	l.cmd.Stdout, l.cmd.Stderr = &l.stdout, &l.stderr
	l.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if stdin != nil {
		l.cmd.Stdin = stdin
	} else {
		w, err := l.cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		l.stdin = w
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", l.name, err)
	}
	go func() {
		l.err = l.cmd.Wait()
		close(l.done)
	}()
	t.Cleanup(func() {
		select {
		case <-l.done:
		default:
			_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
			<-l.done
		}
		if l.stdin != nil {
			_ = l.stdin.Close()
		}
	})
	return l
}

// startLedger starts ledger_docker with args.
func startLedger(t *testing.T, p *testenv.Project, env []string, stdin io.Reader, args ...string) *live {
	t.Helper()
	return startLive(t, p, env, stdin, append([]string{testenv.Binary(t, "ledger_docker")}, args...)...)
}

// startOnTerminal starts ledger_docker with args on a terminal of its own:
// `script` gives it a pseudo-terminal as stdin, stdout and stderr, and
// passes what send writes on as typed keys (Ctrl-C included).
func startOnTerminal(t *testing.T, p *testenv.Project, env []string, args ...string) *live {
	t.Helper()
	line := shellQuote(testenv.Binary(t, "ledger_docker"))
	for _, a := range args {
		line += " " + shellQuote(a)
	}
	return startLive(t, p, env, nil, "script", "-qfec", line, "/dev/null")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// send writes to the command's stdin pipe.
func (l *live) send(s string) {
	l.t.Helper()
	if _, err := io.WriteString(l.stdin, s); err != nil {
		l.t.Fatalf("%s: write %q: %v\n%s", l.name, s, err, l)
	}
}

// waitFor waits until the output holds want; it fails the test when the
// command ends first or after streamWait.
func (l *live) waitFor(want string) {
	l.t.Helper()
	deadline := time.After(streamWait)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(l.stdout.String(), want) || strings.Contains(l.stderr.String(), want) {
			return
		}
		select {
		case <-l.done:
			if strings.Contains(l.stdout.String(), want) || strings.Contains(l.stderr.String(), want) {
				return
			}
			l.t.Fatalf("%s ended before printing %q:\n%s", l.name, want, l)
		case <-deadline:
			l.t.Fatalf("%s: no %q within %v:\n%s", l.name, want, streamWait, l)
		case <-tick.C:
		}
	}
}

// wait waits for the command to end and returns its exit status; after
// streamWait it kills the process group and fails the test.
func (l *live) wait() int {
	l.t.Helper()
	select {
	case <-l.done:
	case <-time.After(streamWait):
		_ = syscall.Kill(-l.cmd.Process.Pid, syscall.SIGKILL)
		<-l.done
		l.t.Fatalf("%s did not end within %v (killed):\n%s", l.name, streamWait, l)
	}
	var ee *exec.ExitError
	switch {
	case l.err == nil:
		return 0
	case errors.As(l.err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	l.t.Fatalf("%s: %v", l.name, l.err)
	return -1
}

// result waits for the command and returns what it did.
func (l *live) result() testenv.Result {
	l.t.Helper()
	code := l.wait()
	return testenv.Result{ExitCode: code, Stdout: l.stdout.String(), Stderr: l.stderr.String()}
}

func (l *live) String() string {
	return "--- stdout:\n" + tail(l.stdout.String(), 2000) + "\n--- stderr:\n" + tail(l.stderr.String(), 2000)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// runLedger runs ledger_docker to its end, within streamWait.
func runLedger(t *testing.T, p *testenv.Project, stdin io.Reader, args ...string) testenv.Result {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	return startLedger(t, p, nil, stdin, args...).result()
}

// randomFile writes n random bytes to path and returns their sha256.
func randomFile(t *testing.T, path string, n int) string {
	t.Helper()
	data := make([]byte, n)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return sha256Hex(data)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(b)
}

// helperContainer starts (or, with start false, only creates) a container
// of the PostgreSQL image named after the project, so that the harness
// removes it, running `sleep infinity`.
func helperContainer(t *testing.T, p *testenv.Project, suffix string, start bool) string {
	t.Helper()
	verb := []string{"create"}
	if start {
		verb = []string{"run", "-d"}
	}
	args := append(verb, "--name", p.Name+"_"+suffix, "--label", "com.ledgerflow.e2e="+p.Name,
		testenv.PostgresImage(t), "sleep", "infinity")
	r := p.Docker(args...)
	if r.ExitCode != 0 {
		t.Fatalf("docker %v: %s", args, r)
	}
	return strings.TrimSpace(r.Stdout)
}

// runningServices is `docker compose ps` of the running containers.
func runningServices(t *testing.T, p *testenv.Project) string {
	t.Helper()
	return strings.TrimSpace(p.Compose("ps", "--status", "running", "--format", "{{.Service}} {{.State}}").Stdout)
}

func TestStreamComposeUpAttachedStopsOnCtrlC(t *testing.T) {
	for _, c := range []struct {
		name string
		// interrupt sends Ctrl-C; up's stdin is a pipe except on a terminal.
		start     func(t *testing.T, p *testenv.Project) *live
		interrupt func(t *testing.T, l *live)
	}{
		{"SIGINT to the process", func(t *testing.T, p *testenv.Project) *live {
			return startLedger(t, p, nil, nil, "compose", "up")
		}, func(t *testing.T, l *live) {
			if err := l.cmd.Process.Signal(os.Interrupt); err != nil {
				t.Fatal(err)
			}
		}},
		{"SIGINT to the process group", func(t *testing.T, p *testenv.Project) *live {
			return startLedger(t, p, nil, nil, "compose", "up")
		}, func(t *testing.T, l *live) {
			if err := syscall.Kill(-l.cmd.Process.Pid, syscall.SIGINT); err != nil {
				t.Fatal(err)
			}
		}},
		{"Ctrl-C on a terminal", func(t *testing.T, p *testenv.Project) *live {
			return startOnTerminal(t, p, nil, "compose", "up")
		}, func(t *testing.T, l *live) { l.send("\x03") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := testenv.NewProject(t, "streams")
			viaGuard(t, p)
			l := c.start(t, p)
			l.waitFor("tick 3")
			if got := runningServices(t, p); !strings.Contains(got, "ticker running") || !strings.Contains(got, "idle running") {
				t.Fatalf("before Ctrl-C: want ticker and idle running, compose ps shows %q", got)
			}
			c.interrupt(t, l)
			code := l.wait()
			t.Logf("compose up ended with exit status %d; output ends with:\n%s", code, l)
			if code != 0 && code != 130 {
				t.Errorf("compose up after Ctrl-C: exit status %d, want 130 or 0 as compose gives", code)
			}
			if got := runningServices(t, p); got != "" {
				t.Errorf("after Ctrl-C compose ps still shows running containers:\n%s", got)
			}
			all := strings.TrimSpace(p.Compose("ps", "--all", "--format", "{{.Service}} {{.State}}").Stdout)
			t.Logf("compose ps --all after Ctrl-C:\n%s", all)
		})
	}
}

func TestStreamRunInteractiveTTY(t *testing.T) {
	p := testenv.NewProject(t, "streams")
	viaGuard(t, p)
	l := startOnTerminal(t, p, nil, "run", "--rm", "-it", "--name", p.Name+"_tty", "--label", "com.ledgerflow.e2e="+p.Name,
		testenv.PostgresImage(t), "sh", "-c", `echo ready-for-input; read x; echo "got:$x"`)
	l.waitFor("ready-for-input")
	line := "hello through the guard"
	l.send(line + "\r")
	l.waitFor("got:" + line)
	code := l.wait()
	t.Logf("run -it on a terminal: exit status %d, output %q", code, l.stdout.String())
	if code != 0 {
		t.Errorf("run -it: exit status %d, want 0:\n%s", code, l)
	}
}

func TestStreamExecStdin(t *testing.T) {
	p := testenv.NewProject(t, "streams")
	viaGuard(t, p)
	c := helperContainer(t, p, "exec", true)

	// cat ends only when the end of stdin reaches it: the half-close.
	r := runLedger(t, p, strings.NewReader("hello\n"), "exec", "-i", c, "cat")
	t.Logf("echo hello | exec -i cat: %s", r)
	if r.ExitCode != 0 || r.Stdout != "hello\n" {
		t.Errorf("echo hello | ledger_docker exec -i C cat: want hello and exit 0: %s", r)
	}

	data := make([]byte, 5<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	want := sha256Hex(data)
	r = runLedger(t, p, bytes.NewReader(data), "exec", "-i", c, "sha256sum")
	t.Logf("5 MB | exec -i sha256sum: exit status %d, stdout %q (want %s), stderr %q", r.ExitCode, r.Stdout, want, r.Stderr)
	if got, _, _ := strings.Cut(r.Stdout, " "); r.ExitCode != 0 || got != want {
		t.Errorf("5 MB through exec -i sha256sum: want %s and exit 0: %s", want, r)
	}
}

func TestStreamCopyBothWays(t *testing.T) {
	for _, c := range []struct {
		name  string
		start bool
	}{{"running container", true}, {"created, never started", false}} {
		t.Run(c.name, func(t *testing.T) {
			p := testenv.NewProject(t, "streams")
			viaGuard(t, p)
			id := helperContainer(t, p, "cp", c.start)
			dir := t.TempDir()
			in := filepath.Join(dir, "in.bin")
			want := randomFile(t, in, 4<<20)

			r := runLedger(t, p, nil, "cp", in, id+":/tmp/in.bin")
			if r.ExitCode != 0 {
				t.Fatalf("ledger_docker cp into the container: %s", r)
			}
			if c.start {
				inside := p.Docker("exec", id, "sha256sum", "/tmp/in.bin")
				if got, _, _ := strings.Cut(inside.Stdout, " "); got != want {
					t.Errorf("sha256 inside the container: want %s: %s", want, inside)
				}
			}
			out := filepath.Join(dir, "out.bin")
			r = runLedger(t, p, nil, "cp", id+":/tmp/in.bin", out)
			if r.ExitCode != 0 {
				t.Fatalf("ledger_docker cp out of the container: %s", r)
			}
			got := fileSHA256(t, out)
			t.Logf("4 MB in and back out: sha256 %s, was %s", got, want)
			if got != want {
				t.Errorf("sha256 after the round trip: %s, want %s", got, want)
			}
		})
	}
}

func TestStreamBuild(t *testing.T) {
	buildx := testenv.NewProject(t, "streams").Docker("buildx", "version")
	t.Logf("docker buildx version: exit status %d %s%s", buildx.ExitCode, strings.TrimSpace(buildx.Stdout), strings.TrimSpace(buildx.Stderr))
	for _, c := range []struct {
		name string
		env  []string
	}{
		{"legacy builder", []string{"DOCKER_BUILDKIT=0"}},
		{"the CLI's default builder", nil},
		{"BuildKit", []string{"DOCKER_BUILDKIT=1"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != nil && c.env[0] == "DOCKER_BUILDKIT=1" && buildx.ExitCode != 0 {
				t.Fatal("docker buildx is not installed: the docker CLI builds with BuildKit only through buildx; install it with: bash testdata/images/buildx/build.sh")
			}
			p := testenv.NewProject(t, "streams")
			viaGuard(t, p, c.env...)
			ctxDir := filepath.Join(p.Dir, "build")
			want := randomFile(t, filepath.Join(ctxDir, "payload.bin"), 2<<20)
			tag := "ledger-e2e/" + p.Name + ":built"
			t.Cleanup(func() {
				if r := p.Docker("image", "rm", "-f", tag); r.ExitCode != 0 {
					t.Errorf("remove %s: %s", tag, r)
				}
			})

			r := startLedger(t, p, c.env, strings.NewReader(""), "build", "--label", "com.ledgerflow.e2e="+p.Name, "-t", tag, ctxDir).result()
			t.Logf("ledger_docker build (%v): exit status %d\n--- stderr:\n%s", c.env, r.ExitCode, tail(r.Stderr, 1500))
			if r.ExitCode != 0 {
				t.Fatalf("ledger_docker build: %s", r)
			}
			img := p.Docker("image", "inspect", "--format", `{{index .Config.Labels "com.ledgerflow.e2e"}}`, tag)
			if img.ExitCode != 0 || strings.TrimSpace(img.Stdout) != p.Name {
				t.Fatalf("image %s: want it built with label com.ledgerflow.e2e=%s: %s", tag, p.Name, img)
			}
			// The context came through whole: the payload comes back out of
			// the image unchanged.
			ctr := p.Name + "_built"
			if r := p.Docker("create", "--name", ctr, tag, "none"); r.ExitCode != 0 {
				t.Fatalf("create from %s: %s", tag, r)
			}
			out := filepath.Join(t.TempDir(), "payload.bin")
			r = p.Docker("cp", ctr+":/payload.bin", out)
			if rm := p.Docker("rm", "-f", ctr); rm.ExitCode != 0 {
				t.Errorf("remove %s: %s", ctr, rm)
			}
			if r.ExitCode != 0 {
				t.Fatalf("cp the payload out of the image: %s", r)
			}
			if got := fileSHA256(t, out); got != want {
				t.Errorf("payload in the image: sha256 %s, want %s", got, want)
			}
		})
	}
}
