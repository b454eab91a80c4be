package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/client"
	"golang.org/x/sys/unix"

	"github.com/ledger-docker/ledger-docker/internal/engine/docker"
)

// PrivateEngine starts a Docker engine of the test's own, for the tests
// that act on a whole engine (an unfiltered `docker volume prune`,
// `docker system prune -a`): nothing else uses it. It has the harness's
// test images (PostgresImage, IdleImage) loaded from the main engine, and
// it is stopped and removed when the test ends. It returns its endpoint,
// "unix://<socket>"; a command reaches it with
// Environ(PrivateEngineEnv(host)...).
//
// It is a second dockerd in a network namespace of its own (`ip netns
// add`), entered with `nsenter --net` only, so that it shares the mounts
// (the cgroup hierarchy) of the main engine but never touches its network:
// with --bridge=none a dockerd deletes docker0, which must not happen in
// the main engine's namespace. Its data root, exec root, pid file and
// socket are in a private temp folder. Containers on it have no network:
// `--network none` (compose: `network_mode: none`) says so.
//
// It needs root, ip (iproute2), nsenter (util-linux) and dockerd, and fails
// the test, naming what is missing, when one is not there (LEDGER_E2E=0
// skips, as RequireEngine does).
func PrivateEngine(t testing.TB) string {
	t.Helper()
	RequireEngine(t)
	if missing := privateEngineMissing(); len(missing) > 0 {
		t.Fatalf("PrivateEngine: a Docker engine of the test's own needs %s. Run the tests as root with iproute2, "+
			"util-linux and docker.io installed (.ci/run does), or set LEDGER_E2E=0 to skip the end-to-end tests.",
			strings.Join(missing, ", "))
	}
	images := []string{PostgresImage(t), IdleImage(t)}
	pe, err := startPrivateEngine()
	if pe != nil {
		t.Cleanup(func() {
			if err := pe.stop(); err != nil {
				t.Errorf("PrivateEngine: stop: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("PrivateEngine: %v", err)
	}
	if err := pe.load(images...); err != nil {
		t.Fatalf("PrivateEngine: %v", err)
	}
	return pe.host
}

// PrivateEngineEnv is the environment (for Environ or Project.Env) of a
// command that talks to the engine at host, whatever the tester's own
// DOCKER_HOST and TLS settings are.
func PrivateEngineEnv(host string) []string {
	return []string{"DOCKER_HOST=" + host, "DOCKER_TLS_VERIFY=", "DOCKER_CERT_PATH="}
}

// privateEngineMissing names what PrivateEngine needs and does not have.
func privateEngineMissing() []string {
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, fmt.Sprintf("root (running as uid %d)", os.Geteuid()))
	}
	for _, p := range []struct{ bin, pkg string }{{"ip", "iproute2"}, {"nsenter", "util-linux"}, {"dockerd", "docker.io"}} {
		if _, err := exec.LookPath(p.bin); err != nil {
			missing = append(missing, fmt.Sprintf("%s (%s) on PATH", p.bin, p.pkg))
		}
	}
	return missing
}

// netnsDir is where `ip netns` keeps its namespaces.
const netnsDir = "/var/run/netns"

// privateEngineDeadline bounds each wait on the private engine (start,
// image load, stop): a guard against a hung test, not an assertion.
const privateEngineDeadline = 2 * time.Minute

type privateEngine struct {
	dir    string // the private folder: d (data root), e (exec root), s (socket), pid, dockerd.log
	netns  string
	host   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when dockerd has ended
	log    *os.File
}

// startPrivateEngine creates the folder and the network namespace and
// starts dockerd in it, then waits until it answers. On an error after
// something was created it returns the engine too: stop removes it.
func startPrivateEngine() (*privateEngine, error) {
	// A short folder: the socket path must stay under about 100 bytes.
	dir, err := os.MkdirTemp(shortTempDir(), "lde2e-pe-")
	if err != nil {
		return nil, err
	}
	var suffix [3]byte
	_, _ = rand.Read(suffix[:])
	pe := &privateEngine{
		dir:    dir,
		netns:  "lde2e-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(suffix[:]),
		host:   "unix://" + filepath.Join(dir, "s"),
		exited: make(chan struct{}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), privateEngineDeadline)
	defer cancel()
	if _, err := runCmd(ctx, "", nil, "ip", "netns", "add", pe.netns); err != nil {
		close(pe.exited)
		return pe, err
	}
	if _, err := runCmd(ctx, "", nil, "ip", "netns", "exec", pe.netns, "ip", "link", "set", "lo", "up"); err != nil {
		close(pe.exited)
		return pe, err
	}
	// Its own (empty) daemon.json: the machine's may set a data root or
	// hosts, which dockerd refuses to take twice.
	if err := os.WriteFile(filepath.Join(dir, "daemon.json"), []byte("{}\n"), 0o600); err != nil {
		close(pe.exited)
		return pe, err
	}
	if pe.log, err = os.Create(filepath.Join(dir, "dockerd.log")); err != nil {
		close(pe.exited)
		return pe, err
	}
	// nsenter --net, not `ip netns exec`: that one also gives dockerd a
	// mount namespace with a fresh /sys, without the cgroup mounts.
	pe.cmd = exec.Command("nsenter", "--net="+filepath.Join(netnsDir, pe.netns), "dockerd",
		"--config-file", filepath.Join(dir, "daemon.json"),
		"--data-root", filepath.Join(dir, "d"), "--exec-root", filepath.Join(dir, "e"),
		"--pidfile", filepath.Join(dir, "pid"), "-H", pe.host,
		"--bridge=none", "--iptables=false", "--ip6tables=false")
	pe.cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	pe.cmd.Stdout, pe.cmd.Stderr = pe.log, pe.log
	// Its own process group (a Ctrl-C to the tests reaches the tests, which
	// stop it), and SIGTERM when the test process dies. Pdeathsig belongs to
	// the thread that started it: that thread stays locked until dockerd
	// has ended.
	pe.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := pe.cmd.Start()
		started <- err
		if err == nil {
			_ = pe.cmd.Wait()
		}
		close(pe.exited)
	}()
	if err := <-started; err != nil {
		return pe, fmt.Errorf("start dockerd: %w", err)
	}
	return pe, pe.waitReady(ctx)
}

// waitReady waits until the engine answers, or dockerd ends, or ctx ends.
func (pe *privateEngine) waitReady(ctx context.Context) error {
	c, err := client.NewClientWithOpts(client.WithHost(pe.host), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	e := docker.New(c)
	defer e.Close()
	for {
		pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := e.Info(pingCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-pe.exited:
			return fmt.Errorf("dockerd ended before it answered (%v); its log ends with:\n%s", pe.cmd.ProcessState, pe.logTail())
		case <-ctx.Done():
			return fmt.Errorf("dockerd did not answer on %s within %s (%v); its log ends with:\n%s",
				pe.host, privateEngineDeadline, err, pe.logTail())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// load copies images from the main engine: docker save | docker load.
func (pe *privateEngine) load(images ...string) error {
	dockerPath, err := realDocker()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), privateEngineDeadline)
	defer cancel()
	save := exec.CommandContext(ctx, dockerPath, append([]string{"save"}, images...)...)
	save.Env = Environ()
	load := exec.CommandContext(ctx, dockerPath, "load", "-q")
	load.Env = Environ(PrivateEngineEnv(pe.host)...)
	saveErr, loadErr := &tailBuffer{max: 4 << 10}, &tailBuffer{max: 4 << 10}
	save.Stderr, load.Stderr = saveErr, loadErr
	pipe, err := save.StdoutPipe()
	if err != nil {
		return err
	}
	load.Stdin = pipe
	if err := save.Start(); err != nil {
		return err
	}
	errLoad := load.Run()
	if errLoad != nil {
		_ = save.Process.Kill()
	}
	errSave := save.Wait()
	if errSave != nil || errLoad != nil {
		return fmt.Errorf("docker save %s | docker load (into %s): save: %v %s; load: %v %s", strings.Join(images, " "), pe.host,
			errSave, saveErr.tail(10), errLoad, loadErr.tail(10))
	}
	return nil
}

// stop ends dockerd (SIGTERM, then SIGKILL at the deadline), kills what it
// may have left running, unmounts what is still mounted in its folder,
// deletes the network namespace and removes the folder.
func (pe *privateEngine) stop() error {
	var errs []error
	if pe.cmd != nil && pe.cmd.Process != nil {
		_ = pe.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-pe.exited:
		case <-time.After(privateEngineDeadline):
			errs = append(errs, fmt.Errorf("dockerd (pid %d) did not end within %s of SIGTERM: killed; its log ends with:\n%s",
				pe.cmd.Process.Pid, privateEngineDeadline, pe.logTail()))
			_ = killGroup(pe.cmd.Process.Pid)
			select {
			case <-pe.exited:
			case <-time.After(30 * time.Second):
				errs = append(errs, fmt.Errorf("dockerd (pid %d) still runs after SIGKILL", pe.cmd.Process.Pid))
			}
		}
		// Its containerd and shims, should any outlive it.
		_ = killGroup(pe.cmd.Process.Pid)
	}
	errs = append(errs, killUnder(pe.dir))
	errs = append(errs, unmountUnder(pe.dir))
	if pe.log != nil {
		pe.log.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join(netnsDir, pe.netns)); err == nil {
		if _, err := runCmd(ctx, "", nil, "ip", "netns", "del", pe.netns); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, os.RemoveAll(pe.dir))
	return errors.Join(errs...)
}

func (pe *privateEngine) logTail() string {
	b, err := os.ReadFile(filepath.Join(pe.dir, "dockerd.log"))
	if err != nil {
		return err.Error()
	}
	tb := &tailBuffer{max: 8 << 10}
	_, _ = tb.Write(b)
	return tb.tail(20)
}

// killUnder kills (SIGKILL) every process whose command line names a path
// in dir: only the private engine's own processes do (dockerd, its
// containerd, the containerd shims).
func killUnder(dir string) error {
	procs, err := processesUnder(dir)
	if err != nil {
		return err
	}
	var errs []error
	for pid, cmdline := range procs {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill %d (%s): %w", pid, cmdline, err))
		}
	}
	return errors.Join(errs...)
}

// processesUnder are the processes (but this one) whose command line names
// a path in dir: pid -> command line.
func processesUnder(dir string) (map[int]string, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	procs := map[int]string{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), dir+"/") {
			procs[pid] = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		}
	}
	return procs, nil
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) error {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return err
	}
	mounts, err := mountPointsUnder(f, dir)
	f.Close()
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	return errors.Join(errs...)
}

// mountPointsUnder lists the mount points of a mountinfo file that are
// below dir, deepest first.
func mountPointsUnder(mountinfo io.Reader, dir string) ([]string, error) {
	var mounts []string
	sc := bufio.NewScanner(mountinfo)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if strings.HasPrefix(mp, dir+"/") {
			mounts = append(mounts, mp)
		}
	}
	sort.Slice(mounts, func(i, j int) bool { return len(mounts[i]) > len(mounts[j]) })
	return mounts, sc.Err()
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// shortTempDir is os.TempDir, or /tmp when that is too long for a socket
// path below it.
func shortTempDir() string {
	if d := os.TempDir(); len(d) <= 60 {
		return d
	}
	return "/tmp"
}
