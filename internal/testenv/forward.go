package testenv

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ForwardSocket starts a unix socket, in a private 0700 temp folder, that
// forwards every connection byte for byte to the main engine (the
// endpoint the in-process client uses: DOCKER_HOST, else the default
// socket), and returns its path. Tests use it as a second engine endpoint,
// e.g. `docker context create second --docker host=unix://PATH` in a
// private DOCKER_CONFIG. It is closed, with its open connections, when the
// test ends; ForwardedConnections counts what it carried.
func ForwardSocket(t testing.TB) string {
	t.Helper()
	return ForwardSocketTo(t, os.Getenv("DOCKER_HOST"))
}

// ForwardSocketTo is ForwardSocket to the engine at host (unix:// or
// tcp://; "" is the default socket), e.g. a PrivateEngine.
func ForwardSocketTo(t testing.TB, host string) string {
	t.Helper()
	network, addr, err := hostAddr(host)
	if err != nil {
		t.Fatalf("ForwardSocket: %v", err)
	}
	// A short folder: a unix socket path has at most about 100 bytes.
	dir, err := os.MkdirTemp("", "lde2e-fwd-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "engine.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("ForwardSocket: %v", err)
	}
	f := &forwarder{ln: ln, network: network, addr: addr, open: map[net.Conn]struct{}{}}
	forwarders.Store(path, f)
	f.wg.Add(1)
	go f.serve()
	t.Cleanup(func() {
		f.close()
		forwarders.Delete(path)
		os.RemoveAll(dir)
	})
	return path
}

// ForwardedConnections is how many connections the ForwardSocket at socket
// has accepted so far (0 for an unknown socket).
func ForwardedConnections(socket string) int {
	if f, ok := forwarders.Load(socket); ok {
		return int(f.(*forwarder).accepted.Load())
	}
	return 0
}

var forwarders sync.Map // socket path -> *forwarder

type forwarder struct {
	ln            net.Listener
	network, addr string
	accepted      atomic.Int64
	wg            sync.WaitGroup

	mu     sync.Mutex
	closed bool
	open   map[net.Conn]struct{}
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return // closed
		}
		f.accepted.Add(1)
		if !f.track(c) {
			c.Close()
			return
		}
		f.wg.Add(1)
		go f.pipe(c)
	}
}

// track registers an open connection; false once the forwarder is closed.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.open[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.open, c)
	f.mu.Unlock()
	c.Close()
}

// pipe copies both ways until both sides are done, passing a half-close on
// (an attach whose stdin ends keeps reading the output).
func (f *forwarder) pipe(client net.Conn) {
	defer f.wg.Done()
	defer f.untrack(client)
	up, err := net.DialTimeout(f.network, f.addr, 30*time.Second)
	if err != nil {
		return
	}
	if !f.track(up) {
		up.Close()
		return
	}
	defer f.untrack(up)
	done := make(chan struct{}, 2)
	copyHalf := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			dst.Close()
		}
		done <- struct{}{}
	}
	go copyHalf(up, client)
	go copyHalf(client, up)
	<-done
	<-done
}

// close stops accepting, closes every open connection and waits for the
// goroutines.
func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.open {
		c.Close()
	}
	f.mu.Unlock()
	f.ln.Close()
	f.wg.Wait()
}

// hostAddr is the network and address of an engine endpoint as the
// in-process client (docker.FromEnv) reads a DOCKER_HOST value: unix:// or
// tcp://, and "" for the default unix socket.
func hostAddr(host string) (network, addr string, err error) {
	switch {
	case host == "":
		return "unix", "/var/run/docker.sock", nil
	case strings.HasPrefix(host, "unix://"):
		return "unix", strings.TrimPrefix(host, "unix://"), nil
	case strings.HasPrefix(host, "tcp://"):
		return "tcp", strings.TrimPrefix(host, "tcp://"), nil
	}
	return "", "", errors.New("DOCKER_HOST " + host + ": only unix:// and tcp:// endpoints can be forwarded")
}
