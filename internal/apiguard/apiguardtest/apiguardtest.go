// Package apiguardtest serves the Engine API endpoints that can lose a
// volume over an in-memory fake engine, with the engine's own semantics
// (a volume in use is never deleted; prune takes unused local volumes by
// its filters and API version; a container goes with its anonymous
// volumes when asked). Unit tests and the fuzzer put the guard in front of
// it and check that no protected volume is ever lost.
package apiguardtest

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

// Engine is a fake engine answering HTTP on a unix socket.
type Engine struct {
	*fake.Engine
	Socket string
}

// New starts the fake HTTP engine over e; it stops when the test ends.
func New(t testing.TB, e *fake.Engine) *Engine {
	t.Helper()
	dir, err := os.MkdirTemp("", "fake-engine-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	fe := &Engine{Engine: e, Socket: sock}
	srv := &http.Server{Handler: fe}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = os.RemoveAll(dir)
	})
	return fe
}

// Dial connects to the fake engine.
func (fe *Engine) Dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, "unix", fe.Socket)
}

var version = regexp.MustCompile(`^/v([0-9.]+)(/.*)$`)

// ServeHTTP answers like the engine for the endpoints that delete volumes;
// any other request gets 200 {}.
func (fe *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, api := path.Clean(r.URL.Path), fe.InfoValue.APIVersion
	if m := version.FindStringSubmatch(p); m != nil {
		p, api = m[2], m[1]
	}
	_ = r.ParseForm()
	seg := strings.Split(strings.TrimPrefix(p, "/"), "/")
	switch {
	case r.Method == http.MethodDelete && len(seg) == 2 && seg[0] == "volumes":
		reply(w, fe.RemoveVolume(ctx, seg[1], false), nil)
	case r.Method == http.MethodPost && p == "/volumes/prune":
		deleted, err := fe.prune(ctx, r.Form.Get("filters"), api)
		reply(w, err, map[string]any{"VolumesDeleted": deleted, "SpaceReclaimed": 0})
	case r.Method == http.MethodDelete && len(seg) == 2 && seg[0] == "containers":
		reply(w, fe.removeContainer(ctx, seg[1], boolValue(r.Form, "v")), nil)
	default:
		reply(w, nil, map[string]any{})
	}
}

func reply(w http.ResponseWriter, err error, body any) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case errors.Is(err, engine.ErrNotFound):
		w.WriteHeader(http.StatusNotFound)
	case errors.Is(err, engine.ErrConflict):
		w.WriteHeader(http.StatusConflict)
	case err != nil:
		w.WriteHeader(http.StatusInternalServerError)
	}
	if err != nil {
		body = map[string]string{"message": err.Error()}
	}
	if body == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

func boolValue(f url.Values, k string) bool {
	s := strings.ToLower(strings.TrimSpace(f.Get(k)))
	return !(s == "" || s == "0" || s == "no" || s == "false" || s == "none")
}

// prune deletes unused local volumes as the engine does.
func (fe *Engine) prune(ctx context.Context, filters, api string) ([]string, error) {
	f := map[string]map[string]bool{}
	if filters != "" {
		if err := json.Unmarshal([]byte(filters), &f); err != nil {
			var legacy map[string][]string
			if err := json.Unmarshal([]byte(filters), &legacy); err != nil {
				return nil, err
			}
			for k, vs := range legacy {
				f[k] = map[string]bool{}
				for _, v := range vs {
					f[k][v] = true
				}
			}
		}
	}
	legacy := less(api, "1.42") || less(fe.InfoValue.APIVersion, "1.42")
	all := false
	for v := range f["all"] {
		if b, _ := strconv.ParseBool(v); b {
			all = true
		}
	}
	dangling := true
	vols, err := fe.ListVolumes(ctx, engine.VolumeFilter{Dangling: &dangling})
	if err != nil {
		return nil, err
	}
	deleted := []string{}
	for _, v := range vols {
		if v.Driver != "" && v.Driver != "local" || !legacy && !all && !v.Anonymous || !labels(f, v.Labels) {
			continue
		}
		if fe.RemoveVolume(ctx, v.Name, false) == nil {
			deleted = append(deleted, v.Name)
		}
	}
	return deleted, nil
}

func labels(f map[string]map[string]bool, l map[string]string) bool {
	kv := func(set map[string]bool) bool {
		if len(l) == 0 {
			return false
		}
		for w := range set {
			k, v, has := strings.Cut(w, "=")
			if got, ok := l[k]; !ok || has && got != v {
				return false
			}
		}
		return true
	}
	if len(f["label"]) > 0 && !kv(f["label"]) {
		return false
	}
	return len(f["label!"]) == 0 || !kv(f["label!"])
}

func less(a, b string) bool {
	x, _ := strconv.ParseFloat(a, 64)
	y, _ := strconv.ParseFloat(b, 64)
	return x < y
}

// removeContainer removes a container and, with v, its anonymous volumes
// that no other container uses.
func (fe *Engine) removeContainer(ctx context.Context, id string, v bool) error {
	c, err := fe.InspectContainer(ctx, id)
	if err != nil {
		return err
	}
	if err := fe.RemoveContainer(ctx, c.ID, false); err != nil {
		return err
	}
	if !v {
		return nil
	}
	for _, m := range c.Mounts {
		vol, err := fe.InspectVolume(ctx, m.Name)
		if err != nil || !vol.Anonymous {
			continue
		}
		_ = fe.RemoveVolume(ctx, m.Name, false) // in use: kept, as the engine does
	}
	return nil
}
