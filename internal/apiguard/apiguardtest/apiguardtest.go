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
	"sync"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

// Engine is a fake engine answering HTTP on a unix socket.
type Engine struct {
	*fake.Engine
	Socket string
	// ForceAutoRemove makes every container create AutoRemove, whatever
	// the body says: an engine that reads a body otherwise than the guard.
	ForceAutoRemove bool

	mu    sync.Mutex
	paths []string
}

// Requests returns "METHOD PATH[?QUERY]" of every request the engine received.
func (fe *Engine) Requests() []string {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return append([]string(nil), fe.paths...)
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
	fe.mu.Lock()
	req := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		req += "?" + r.URL.RawQuery
	}
	fe.paths = append(fe.paths, req)
	fe.mu.Unlock()
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
	case r.Method == http.MethodPost && p == "/volumes/create":
		var spec struct {
			Name   string
			Labels map[string]string
		}
		_ = json.NewDecoder(r.Body).Decode(&spec)
		v, err := fe.CreateVolume(ctx, engine.VolumeSpec{Name: spec.Name, Labels: spec.Labels})
		if err == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"Name": v.Name, "Labels": v.Labels})
			return
		}
		reply(w, err, nil)
	case r.Method == http.MethodPost && p == "/containers/create":
		id, err := fe.create(ctx, r)
		if err == nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_ = json.NewEncoder(w).Encode(map[string]any{"Id": id, "Warnings": []string{}})
			return
		}
		reply(w, err, nil)
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

// create makes a container as the engine does: HostConfig, or the
// deprecated top-level fields when HostConfig is absent; an anonymous
// volume for each volume mount without a source (with its labels), the
// mounts of VolumesFrom containers shared.
func (fe *Engine) create(ctx context.Context, r *http.Request) (string, error) {
	type hc struct {
		AutoRemove  bool
		VolumesFrom []string
		Mounts      []struct {
			Type, Source, Target string
			VolumeOptions        *struct{ Labels map[string]string }
		}
	}
	var body struct {
		hc
		HostConfig *hc
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		return "", err
	}
	h := body.hc
	if body.HostConfig != nil {
		h = *body.HostConfig
	}
	spec := engine.ContainerSpec{Image: "x", AutoRemove: h.AutoRemove || fe.ForceAutoRemove}
	for i, m := range h.Mounts {
		name := m.Source
		if name == "" {
			name = strings.Repeat(strconv.Itoa(i%10), 64)
			var labels map[string]string
			if m.VolumeOptions != nil {
				labels = m.VolumeOptions.Labels
			}
			fe.AddVolume(engine.Volume{Name: name, Driver: "local", Labels: labels, Anonymous: true}, map[string]string{"marker": "new"})
		}
		spec.Mounts = append(spec.Mounts, engine.Mount{Type: "volume", Name: name, Destination: m.Target})
	}
	for _, from := range h.VolumesFrom {
		name, _, _ := strings.Cut(from, ":")
		c, err := fe.InspectContainer(ctx, name)
		if err != nil {
			return "", err
		}
		spec.Mounts = append(spec.Mounts, c.Mounts...)
	}
	fe.AddImage("x")
	return fe.CreateContainer(ctx, spec)
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
