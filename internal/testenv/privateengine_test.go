package testenv

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPrivateEngine starts a private engine, gives it a running container
// with a named and an anonymous volume (overlay mounts, a containerd shim),
// reaches it through ForwardSocketTo, and then wants stop to leave nothing
// behind: no process, no mount, no network namespace, no folder; and the
// main engine's network untouched.
func TestPrivateEngine(t *testing.T) {
	RequireEngine(t)
	if missing := privateEngineMissing(); len(missing) > 0 {
		t.Fatalf("a private engine needs %s (LEDGER_E2E=0 skips)", strings.Join(missing, ", "))
	}
	docker := RealDocker(t)
	idle := IdleImage(t)
	hadDocker0 := hasDocker0(t)
	pe, err := startPrivateEngine()
	if pe == nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = pe.stop()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := pe.load(idle); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env := PrivateEngineEnv(pe.host)
	// Not the ID: engine 20.10 derives it from /etc/docker/key.json, which
	// both read.
	root, err := runCmd(ctx, "", env, docker, "info", "--format", "{{.DockerRootDir}}")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(root)); got != filepath.Join(pe.dir, "d") {
		t.Fatalf("the engine at %s has its data in %s, want %s", pe.host, got, filepath.Join(pe.dir, "d"))
	}
	if _, err := runCmd(ctx, "", env, docker, "run", "-d", "--network", "none", "--name", "lde2e_private_idle",
		"-v", "lde2e_private_vol:/named", "--mount", "type=volume,dst=/anon", idle); err != nil {
		t.Fatal(err)
	}
	t.Run("forward", func(t *testing.T) {
		sock := ForwardSocketTo(t, pe.host)
		got, err := runCmd(ctx, "", nil, docker, "-H", "unix://"+sock, "volume", "ls", "-q")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), "lde2e_private_vol") || ForwardedConnections(sock) == 0 {
			t.Errorf("volumes through the forward: %q (%d connections), want lde2e_private_vol", got, ForwardedConnections(sock))
		}
	})
	if mounts := mountsUnder(t, pe.dir); len(mounts) == 0 {
		t.Errorf("no mount under %s with a container running: the check below would prove nothing", pe.dir)
	}

	stopped = true
	if err := pe.stop(); err != nil {
		t.Errorf("stop: %v", err)
	}
	if _, err := os.Stat(pe.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("folder %s left: %v", pe.dir, err)
	}
	if _, err := os.Stat(filepath.Join(netnsDir, pe.netns)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("network namespace %s left: %v", pe.netns, err)
	}
	if mounts := mountsUnder(t, pe.dir); len(mounts) > 0 {
		t.Errorf("mounts left: %v", mounts)
	}
	if procs, err := processesUnder(pe.dir); err != nil || len(procs) > 0 {
		t.Errorf("processes left: %v %v", procs, err)
	}
	if hadDocker0 && !hasDocker0(t) {
		t.Error("docker0 is gone from the main network namespace")
	}
}

func TestMountPointsUnder(t *testing.T) {
	info := `21 1 0:20 / / rw - ext4 /dev/vda rw
90 21 0:51 / /tmp/lde2e-pe-1/d/overlay2/abc/merged rw - overlay overlay rw
91 21 0:52 / /tmp/lde2e-pe-1/e/netns/x rw - nsfs nsfs rw
92 21 0:53 / /tmp/lde2e-pe-1/d/with\040space rw - tmpfs tmpfs rw
93 21 0:54 / /tmp/lde2e-pe-10/d rw - tmpfs tmpfs rw
`
	got, err := mountPointsUnder(strings.NewReader(info), "/tmp/lde2e-pe-1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/tmp/lde2e-pe-1/d/overlay2/abc/merged", "/tmp/lde2e-pe-1/d/with space", "/tmp/lde2e-pe-1/e/netns/x"}
	if !slices.Equal(got, want) {
		t.Errorf("mountPointsUnder = %q, want %q", got, want)
	}
}

func mountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mountPointsUnder(f, dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// hasDocker0 tells whether the test process's network namespace has the
// main engine's bridge. (Other links come and go with other tests' compose
// networks.)
func hasDocker0(t *testing.T) bool {
	t.Helper()
	_, err := os.Stat("/sys/class/net/docker0")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}
