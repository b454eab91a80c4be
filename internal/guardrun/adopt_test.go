package guardrun

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

// frontSocket makes a listening socket as the C front does and returns
// its file descriptor (owned by Adopt, as the front's is) and path.
func frontSocket(t *testing.T) (int, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ledger-guard-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "docker.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 8); err != nil {
		t.Fatal(err)
	}
	return fd, sock
}

func startSleep(t *testing.T, d string) int {
	t.Helper()
	sh, err := os.StartProcess("/bin/sh", []string{"sh", "-c", "sleep " + d}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	return sh.Pid
}

// A command line the Go wrapper must decide on before it runs, started
// by the front all the same (a front that disagrees with intercept): the
// guard answers nothing but refusals.
func TestAdoptRefusesWhatTheFrontMustNotStart(t *testing.T) {
	fd, sock := frontSocket(t)
	pid := startSleep(t, "0.5")
	got := make(chan string, 1)
	go func() {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return net.Dial("unix", sock)
		}}}
		resp, err := c.Get("http://docker/v1.41/volumes")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- resp.Status + " " + string(b)
	}()
	var stderr bytes.Buffer
	code := Adopt([]string{"volume", "rm", "v"}, []string{"PATH=/usr/bin:/bin"}, &stderr, pid, fd)
	if code != exitcode.Unavailable || !strings.Contains(stderr.String(), "No request") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if answer := <-got; !strings.HasPrefix(answer, "503") {
		t.Errorf("the child's request got %q, want a 503", answer)
	}
}

// A socket that is not the front's: the child is waited for, nothing is
// served.
func TestAdoptFailsClosedOnAForeignSocket(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", filepath.Join(dir, "docker.sock"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	pid := startSleep(t, "0")
	var stderr bytes.Buffer
	if code := Adopt([]string{"volume", "ls"}, nil, &stderr, pid, fd); code != exitcode.Unavailable || !strings.Contains(stderr.String(), "socket") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("the child %d was not waited for", pid)
	}
}
