package apiguard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// maxBody bounds the request bodies the guard reads to decide (container
// and service specifications, prune forms); larger ones are refused.
const maxBody = 16 << 20

// Options configure a Server.
type Options struct {
	// Dial opens a connection to the engine (unix, tcp+TLS, ssh: the
	// docker client's own dialer).
	Dial func(ctx context.Context) (net.Conn, error)
	// Engine talks to the same engine, for facts, snapshots and pins.
	Engine engine.Engine
	Policy Policy
	// Snapshot saves an unprotected volume before a request that may
	// delete it, and returns the file's path.
	Snapshot func(ctx context.Context, s Save) (string, error)
	// Log gets one line per refusal, snapshot and kept volume (stderr).
	Log io.Writer
}

// Server is a running guard: a unix socket in a private 0700 folder.
type Server struct {
	o      Options
	dir    string
	sock   string
	ln     net.Listener
	srv    *http.Server
	proxy  *httputil.ReverseProxy
	bulk   *httputil.ReverseProxy
	mu     sync.Mutex
	denied []Decision
	saved  map[string]time.Time
	// created are the volumes this command created (Decision.NewVolume):
	// they are deleted without a snapshot
	created map[string]bool
	// conns are the hijacked connections, closed with the server.
	conns map[net.Conn]struct{}
	// unreachable: a request could not be forwarded, the engine did not
	// answer (Unreachable).
	unreachable atomic.Bool
	// busy counts requests being handled: Close waits for them, so that a
	// snapshot cut short by a vanished client removes its temp file and
	// its helper container before the process ends.
	busy sync.WaitGroup
}

// closeWait bounds how long Close waits for requests being handled.
const closeWait = 2 * time.Minute

// Start listens on a fresh socket and serves until Close.
func Start(o Options) (*Server, error) {
	s, err := Listen()
	if err != nil {
		return nil, err
	}
	s.Serve(o)
	return s, nil
}

// Listen makes the guard's socket in a fresh 0700 folder (SocketDir) and
// returns a Server that does not answer yet: a client that connects waits
// in the socket's backlog until Serve or Fail. The Go wrapper starts the
// real program right after Listen, so that the guard's own set-up runs
// while the program starts.
func Listen() (*Server, error) {
	dir, err := os.MkdirTemp(SocketDir(), socketDirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("guard socket folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	sock := filepath.Join(dir, socketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("guard socket: %w", err)
	}
	return &Server{dir: dir, sock: sock, ln: ln, saved: map[string]time.Time{}, created: map[string]bool{}, conns: map[net.Conn]struct{}{}}, nil
}

// Adopt takes a listening socket made by the C front (wrapper/front) as
// Listen would have made it: a unix socket named docker.sock in a 0700
// folder ledger-guard-* of this user's. f is closed.
func Adopt(f *os.File) (*Server, error) {
	ln, err := net.FileListener(f)
	_ = f.Close()
	if err != nil {
		return nil, fmt.Errorf("the front's guard socket: %w", err)
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		_ = ln.Close()
		return nil, fmt.Errorf("the front's guard socket: not a unix socket (%s)", ln.Addr())
	}
	ul.SetUnlinkOnClose(false)
	sock := ul.Addr().String()
	dir := filepath.Dir(sock)
	fi, err := os.Lstat(dir)
	ours := err == nil && fi.IsDir() && owned(fi) && filepath.IsAbs(sock) && filepath.Base(sock) == socketName &&
		strings.HasPrefix(filepath.Base(dir), socketDirPrefix)
	fail := func(format string, args ...any) (*Server, error) {
		_ = ln.Close()
		if ours {
			// the front made it for this command: leave nothing behind
			_ = os.Chmod(dir, 0o700)
			_ = os.Remove(sock)
			_ = os.Remove(dir)
		}
		return nil, fmt.Errorf("the front's guard socket: "+format, args...)
	}
	if !ours {
		return fail("%q is not a socket the front makes (docker.sock in a folder ledger-guard-* of this user's)", sock)
	}
	if fi.Mode().Perm() != 0o700 {
		return fail("%s is not private (mode %v)", dir, fi.Mode().Perm())
	}
	if !listening(ul) {
		return fail("%s is not listening", sock)
	}
	return &Server{dir: dir, sock: sock, ln: ln, saved: map[string]time.Time{}, created: map[string]bool{}, conns: map[net.Conn]struct{}{}}, nil
}

// owned reports whether this user owns the file.
func owned(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Getuid()
}

// listening reports whether l's socket accepts connections.
func listening(l *net.UnixListener) bool {
	rc, err := l.SyscallConn()
	if err != nil {
		return false
	}
	v, gerr := 0, error(nil)
	if err := rc.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	}); err != nil || gerr != nil {
		return false
	}
	return v == 1
}

// ThrowawayLabel marks docker ledger's throwaway test-restore containers
// and volumes (verify.LabelScratch; a test keeps them equal).
const ThrowawayLabel = "com.ledgerflow.verify"

// The guard's socket: socketName in a folder socketDirPrefix* (the C
// front makes the same).
const (
	socketName      = "docker.sock"
	socketDirPrefix = "ledger-guard-"
)

// SocketDir is where the guard's socket folder goes: $XDG_RUNTIME_DIR (a
// per-user tmpfs, the place for sockets) when it is an absolute path to a
// folder of this user's (not another user's, as under sudo -E), else the
// temporary folder.
func SocketDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(d) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && owned(fi) {
			return d
		}
	}
	return os.TempDir()
}

// Serve starts answering requests with o. Call it (or Fail) once.
func (s *Server) Serve(o Options) {
	s.o = o
	s.proxy = s.newProxy(smallBuffer, &smallBuffers)
	s.bulk = s.newProxy(bulkBuffer, &bulkBuffers)
	s.serve(s)
}

// Fail starts answering every request with 503 and msg: the guard could
// not be set up (its configuration, the engine's endpoint), so nothing
// may reach the engine. Call it (or Serve) once.
func (s *Server) Fail(msg string) {
	s.serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.refuse(w, deny(r.Method+" "+r.URL.Path, http.StatusServiceUnavailable, "%s", msg))
	}))
}

func (s *Server) serve(h http.Handler) {
	s.mu.Lock()
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: time.Minute}
	s.mu.Unlock()
	go func() { _ = s.srv.Serve(s.ln) }()
}

// newProxy is a reverse proxy to the engine whose connections and copies
// use buffers of size bytes.
func (s *Server) newProxy(size int, pool *sync.Pool) *httputil.ReverseProxy {
	tr := &http.Transport{
		DialContext:         func(ctx context.Context, _, _ string) (net.Conn, error) { return s.o.Dial(ctx) },
		DisableCompression:  true,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
		WriteBufferSize:     size,
		ReadBufferSize:      size,
	}
	return &httputil.ReverseProxy{
		Rewrite:       func(*httputil.ProxyRequest) {},
		Transport:     tr,
		FlushInterval: -1,
		BufferPool:    bufferPool{pool, size},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.unreachable.Store(true)
			writeError(w, http.StatusBadGateway, Prefix+"the engine API guard could not reach the engine: "+err.Error())
		},
	}
}

// Buffer sizes: docker cp, exports and image loads and saves stream
// hundreds of MB, and large buffers keep the second copy through the guard
// cheap (bulk endpoints); every other request is small, and a large
// buffer would only cost its pages on every command (see make bench).
const (
	smallBuffer = 32 << 10
	bulkBuffer  = 256 << 10
)

var smallBuffers, bulkBuffers sync.Pool

// bufferPool lends a reverse proxy its copy buffers.
type bufferPool struct {
	pool *sync.Pool
	size int
}

func (p bufferPool) Get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, p.size)
}

func (p bufferPool) Put(b []byte) { p.pool.Put(&b) }

// proxyFor is the proxy for a request: the bulk one for the endpoints
// that stream archives and images, and for any request whose body is
// large or of unknown length.
func (s *Server) proxyFor(r *http.Request, rest string) *httputil.ReverseProxy {
	if r.ContentLength < 0 || r.ContentLength > smallBuffer {
		return s.bulk
	}
	if rt, _, ok := lookup(r.Method, rest); ok && bulkRoutes[rt.method+" "+rt.pattern] {
		return s.bulk
	}
	return s.proxy
}

// Unreachable reports whether a request could not be forwarded because
// the engine did not answer.
func (s *Server) Unreachable() bool { return s.unreachable.Load() }

// Host is the DOCKER_HOST value that reaches the guard.
func (s *Server) Host() string { return "unix://" + s.sock }

// Denied returns the refused requests so far.
func (s *Server) Denied() []Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Decision(nil), s.denied...)
}

// Close stops serving, closes every connection and removes the socket's
// folder.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	} else {
		err = s.ln.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.busy.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(closeWait):
		err = errors.Join(err, errors.New("the engine API guard stopped with requests still running"))
	}
	// The folder holds the socket only (never RemoveAll: an adopted
	// socket's folder came from another program).
	if rmErr := os.Remove(s.sock); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) {
		err = errors.Join(err, rmErr)
	}
	if rmErr := os.Remove(s.dir); rmErr != nil {
		err = errors.Join(err, rmErr)
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// needsBody: the endpoints whose body Decide reads.
func needsBody(method, rest string) bool {
	if method != http.MethodPost {
		return false
	}
	rt, _, ok := lookup(method, rest)
	return ok && rt.kind != kindSafe
}

// ServeHTTP decides and forwards one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.busy.Add(1)
	defer s.busy.Done()
	clean, version, rest := splitPath(r.URL.Path)
	query, err := url.ParseQuery(r.URL.RawQuery)
	form := query
	if err != nil {
		s.refuse(w, deny(r.Method+" "+rest, http.StatusBadRequest, "malformed query %q: %v; nothing was run", r.URL.RawQuery, err))
		return
	}
	var body []byte
	if needsBody(r.Method, rest) {
		body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			s.refuse(w, deny(r.Method+" "+rest, http.StatusBadRequest, "cannot read the request body: %v; nothing was run", err))
			return
		}
		if len(body) > maxBody {
			s.refuse(w, deny(r.Method+" "+rest, http.StatusRequestEntityTooLarge, "the request body is larger than the %d bytes the engine API guard reads to decide; nothing was run", maxBody))
			return
		}
		if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			// The engine's ParseForm reads such a body too, and its values
			// come first.
			bf, err := url.ParseQuery(string(body))
			if err != nil {
				s.refuse(w, deny(r.Method+" "+rest, http.StatusBadRequest, "malformed form body: %v; nothing was run", err))
				return
			}
			for k, v := range query {
				bf[k] = append(bf[k], v...)
			}
			form = bf
		}
	}
	req := Request{Method: r.Method, Path: rest, Version: version, Form: form, Body: body}
	ctx := r.Context()
	// Deciding only reads; an engine that never answers must not hang the
	// command: past the deadline the guard refuses.
	dctx, cancel := context.WithTimeout(ctx, decideTimeout)
	d := Decide(dctx, s.o.Engine, s.o.Policy, req)
	cancel()
	if d.Deny {
		s.refuse(w, d)
		return
	}
	undo, err := s.prepare(ctx, d)
	pinned := len(d.Pin) > 0
	if err != nil {
		d = deny(d.Endpoint, http.StatusServiceUnavailable, "%s %s was not run: %v", r.Method, rest, err)
		d.BackupFailed = true
		s.refuse(w, d)
		return
	}
	if !pinned {
		defer undo()
	}
	if d.Prune {
		s.prune(w, ctx, d)
		return
	}
	if err := s.unchanged(ctx, d); err != nil {
		if pinned {
			undo()
		}
		if errors.Is(err, errGone) {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		s.refuse(w, deny(d.Endpoint, http.StatusServiceUnavailable, "%s %s was not run: %v", r.Method, rest, err))
		return
	}
	if d.Path != "" {
		clean = strings.TrimSuffix(clean, rest) + d.Path
	}
	for k, v := range d.Query {
		if v == "" {
			query.Del(k)
		} else {
			query.Set(k, v)
		}
	}
	// Forward exactly what was decided on: the cleaned path, the query
	// as parsed (re-encoded: no spelling the engine could read otherwise).
	out := r.Clone(ctx)
	out.URL.Scheme, out.URL.Host = "http", "docker"
	out.URL.Path, out.URL.RawPath = clean, ""
	out.URL.RawQuery = query.Encode()
	out.RequestURI = ""
	if body != nil {
		out.Body = io.NopCloser(bytes.NewReader(body))
		out.ContentLength = int64(len(body))
		out.Header.Del("Transfer-Encoding")
		out.TransferEncoding = nil
	}
	if isUpgrade(r) {
		s.upgrade(w, out)
		if pinned {
			undo()
		}
		return
	}
	if pinned || d.CheckCreated || d.NewVolume {
		if !pinned {
			undo = func() {}
		}
		s.forwardThenUnpin(w, out, undo, d)
		return
	}
	s.proxyFor(r, rest).ServeHTTP(w, out)
}

// decideTimeout bounds the engine questions of one decision.
const decideTimeout = 2 * time.Minute

// errGone: a volume decided on no longer exists.
var errGone = errors.New("no such volume")

// unchanged checks, right before forwarding, that the volumes d decided
// on are still unprotected: a volume deleted and created again under the
// same name, protected, while it was being saved is not the volume the
// decision was about. (A volume's creation time cannot tell: the local
// driver of engine 20.10 reports its folder's modification time.)
func (s *Server) unchanged(ctx context.Context, d Decision) error {
	for _, v := range d.Unchanged {
		now, err := s.o.Engine.InspectVolume(ctx, v.Name)
		if errors.Is(err, engine.ErrNotFound) {
			// gone meanwhile: deleting the name now could delete a volume
			// created under it since
			return fmt.Errorf("%w: volume %s", errGone, v.Name)
		}
		if err != nil {
			return err
		}
		if s.o.Policy.Protected(now.Labels) {
			return fmt.Errorf("volume %s is protected now (it was created again while the guard was saving it)", v.Name)
		}
	}
	return nil
}

// checkCreated looks at the container the engine just created; when it
// would take a protected anonymous volume with it, it removes it again
// (never its volumes) and returns the refusal.
func (s *Server) checkCreated(ctx context.Context, d Decision, status int, body []byte) *Decision {
	if !d.CheckCreated || status != http.StatusCreated {
		return nil
	}
	var created struct{ ID string }
	if err := json.Unmarshal(body, &created); err != nil || created.ID == "" {
		x := deny(d.Endpoint, http.StatusBadGateway, "cannot read the engine's answer to a container create (%v); check the new container's volumes", err)
		return &x
	}
	msg, err := CheckCreated(ctx, s.o.Engine, s.o.Policy, created.ID)
	if err == nil && msg == "" {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	rmErr := s.o.Engine.RemoveContainer(rctx, created.ID, false)
	var x Decision
	switch {
	case err != nil:
		x = deny(d.Endpoint, http.StatusServiceUnavailable, "cannot check the container the engine created (%v); it was removed again", err)
	default:
		x = deny(d.Endpoint, http.StatusForbidden, "%s", strings.TrimPrefix(msg, Prefix))
	}
	if rmErr != nil {
		x.Message += fmt.Sprintf(" (removing it failed: %v; remove it with docker rm %s, without -v)", rmErr, created.ID)
	}
	return &x
}

// forwardThenUnpin forwards a request that runs with volumes pinned (or
// whose result must be checked or recorded: NewVolume), reads the engine's (small) answer,
// unpins and checks, and only then answers the client: a command's next
// request must never find a volume still held by the guard, nor start a
// container the guard has not seen.
func (s *Server) forwardThenUnpin(w http.ResponseWriter, out *http.Request, undo func(), d Decision) {
	resp, err := s.proxy.Transport.RoundTrip(out)
	if err != nil {
		undo()
		s.unreachable.Store(true)
		writeError(w, http.StatusBadGateway, Prefix+"the engine API guard could not reach the engine: "+err.Error())
		return
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	undo()
	if err != nil {
		writeError(w, http.StatusBadGateway, Prefix+"read the engine's answer: "+err.Error())
		return
	}
	if x := s.checkCreated(out.Context(), d, resp.StatusCode, body); x != nil {
		s.refuse(w, *x)
		return
	}
	if d.NewVolume && resp.StatusCode == http.StatusCreated {
		var v struct{ Name string }
		if json.Unmarshal(body, &v) == nil && v.Name != "" {
			s.mu.Lock()
			s.created[v.Name] = true
			s.mu.Unlock()
		}
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.Header().Del("Content-Length")
	w.Header().Del("Transfer-Encoding")
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(body)
}

func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" && strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

func (s *Server) refuse(w http.ResponseWriter, d Decision) {
	s.mu.Lock()
	s.denied = append(s.denied, d)
	s.mu.Unlock()
	s.logf("%s", d.Message)
	writeError(w, d.Status, d.Message)
}

func (s *Server) logf(format string, args ...any) {
	if s.o.Log != nil {
		fmt.Fprintf(s.o.Log, strings.TrimSuffix(format, "\n")+"\n", args...)
	}
}

// writeError answers as the engine does: JSON {"message": ...}, which the
// docker CLI and compose print as "Error response from daemon: ...".
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// prepare saves and pins what d asks for, and returns the undo (unpin).
func (s *Server) prepare(ctx context.Context, d Decision) (func(), error) {
	for _, sv := range d.Snapshot {
		if err := s.save(ctx, sv); err != nil {
			return nil, fmt.Errorf("the snapshot of volume %s before it is deleted failed: %w", sv.Volume.Name, err)
		}
	}
	if len(d.Pin) == 0 {
		return func() {}, nil
	}
	unpin, err := Pin(ctx, s.o.Engine, d.Pin)
	if err != nil {
		return nil, fmt.Errorf("cannot hold the volumes it must keep in use: %w", err)
	}

	return func() {
		if err := unpin(); err != nil {
			s.logf("%s%v", Prefix, err)
		}
	}, nil
}

func (s *Server) save(ctx context.Context, sv Save) error {
	v := sv.Volume
	s.mu.Lock()
	t, ok := s.saved[v.Name]
	// A throwaway volume of docker ledger's own (ThrowawayLabel) that this
	// command created itself holds nothing from before the command: its
	// deletion needs no snapshot, once. A volume of that name created or
	// filled by another command in between does not carry the label (the
	// engine answers a create of an existing name with the existing
	// volume), so it is saved like any other.
	own := s.created[v.Name] && v.Labels[ThrowawayLabel] != ""
	if own {
		delete(s.created, v.Name)
	}
	s.mu.Unlock()
	if own || (ok && t.Equal(v.CreatedAt)) {
		return nil
	}
	if s.o.Snapshot == nil {
		return errors.New("no snapshot function")
	}
	path, err := s.o.Snapshot(ctx, sv)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.saved[v.Name] = v.CreatedAt
	s.mu.Unlock()
	s.logf("%svolume %s saved to %s (restore: docker ledger volume restore %s --to NEW_VOLUME)", Prefix, v.Name, path, path)
	return nil
}

// prune performs a volume prune as the deletion of exactly the volumes d
// saved, each checked again right before (still there, same creation
// time, still unprotected), and answers with the engine's report shape.
// A volume in use again is skipped, as the engine's prune would skip it.
// The space reclaimed is not known to the guard: it reports 0.
func (s *Server) prune(w http.ResponseWriter, ctx context.Context, d Decision) {
	deleted := []string{}
	for _, v := range d.Unchanged {
		if err := s.unchanged(ctx, Decision{Unchanged: []engine.Volume{v}}); err != nil {
			if !errors.Is(err, errGone) {
				s.logf("%skept volume %s: %v", Prefix, v.Name, err)
			}
			continue
		}
		err := s.o.Engine.RemoveVolume(ctx, v.Name, false)
		switch {
		case err == nil:
			deleted = append(deleted, v.Name)
		case errors.Is(err, engine.ErrNotFound), errors.Is(err, engine.ErrConflict):
		default:
			writeError(w, http.StatusInternalServerError, fmt.Sprintf("%sthe prune stopped after deleting %d volume(s) (%s): %v",
				Prefix, len(deleted), strings.Join(deleted, ", "), err))
			return
		}
	}
	if len(d.Kept) > 0 {
		s.logf("%skept protected volume(s) %s (label %s=true) out of the prune", Prefix, strings.Join(d.Kept, ", "), s.o.Policy.Label)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"VolumesDeleted": deleted, "SpaceReclaimed": 0})
}

// upgrade forwards a request that switches protocols (attach, exec start,
// BuildKit's session and grpc) and then copies both ways, passing on a
// half-close each way (docker exec -i with stdin ends its input with one).
func (s *Server) upgrade(w http.ResponseWriter, out *http.Request) {
	up, err := s.o.Dial(out.Context())
	if err != nil {
		s.unreachable.Store(true)
		writeError(w, http.StatusBadGateway, Prefix+"the engine API guard could not reach the engine: "+err.Error())
		return
	}
	if err := out.Write(up); err != nil {
		_ = up.Close()
		writeError(w, http.StatusBadGateway, Prefix+"forward: "+err.Error())
		return
	}
	br := bufio.NewReader(up)
	resp, err := http.ReadResponse(br, out)
	if err != nil {
		_ = up.Close()
		writeError(w, http.StatusBadGateway, Prefix+"read the engine's answer: "+err.Error())
		return
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		// Not upgraded (an error, or an engine that streams on the plain
		// connection): pass the answer on as it comes.
		defer up.Close()
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		flushCopy(w, resp.Body)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = up.Close()
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		_ = up.Close()
		return
	}
	s.track(conn, up)
	defer s.untrack(conn, up)
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %s\r\n", resp.Status)
	_ = resp.Header.Write(&head)
	head.WriteString("\r\n")
	if _, err := conn.Write(head.Bytes()); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // engine -> client
		defer wg.Done()
		_, _ = io.Copy(conn, br)
		closeWrite(conn)
	}()
	go func() { // client -> engine
		defer wg.Done()
		_, _ = io.Copy(up, brw.Reader)
		closeWrite(up)
	}()
	wg.Wait()
}

func (s *Server) track(cs ...net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		s.conns[c] = struct{}{}
	}
}

func (s *Server) untrack(cs ...net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		delete(s.conns, c)
		_ = c.Close()
	}
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
		return
	}
	_ = c.Close()
}

// flushCopy copies a stream, flushing after each read.
func flushCopy(w http.ResponseWriter, r io.Reader) {
	f, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if f != nil {
				f.Flush()
			}
		}
		if err != nil {
			return
		}
	}
}
