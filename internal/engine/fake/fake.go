// Package fake is an in-memory engine.Engine that records calls, for unit
// tests. It follows the same contract as the real engine (see enginetest).
package fake

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// ExecFunc answers an Exec in a fake container.
type ExecFunc func(ctx context.Context, container string, spec engine.ExecSpec) error

// Engine is the fake. Zero value is not usable: call New.
type Engine struct {
	mu          sync.Mutex
	InfoValue   engine.Info
	Unreachable bool
	volumes     map[string]engine.Volume
	containers  map[string]*engine.Container
	// files[volumeName][relPath] = content
	files  map[string]map[string][]byte
	images map[string]bool
	// ExecHandler answers Exec calls; nil returns an ExitError 127.
	ExecHandler ExecFunc
	calls       []string
	seq         int
}

// New returns an empty fake engine speaking API 1.41.
func New() *Engine {
	return &Engine{
		InfoValue:  engine.Info{ServerVersion: "20.10.24", APIVersion: "1.41", OS: "linux"},
		volumes:    map[string]engine.Volume{},
		containers: map[string]*engine.Container{},
		files:      map[string]map[string][]byte{},
		images:     map[string]bool{},
	}
}

var _ engine.Engine = (*Engine)(nil)

func (e *Engine) record(format string, args ...any) {
	e.calls = append(e.calls, fmt.Sprintf(format, args...))
}

// Calls returns the recorded calls, e.g. "RemoveVolume db".
func (e *Engine) Calls() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.calls...)
}

func (e *Engine) check() error {
	if e.Unreachable {
		return fmt.Errorf("fake: %w", engine.ErrUnreachable)
	}
	return nil
}

// AddVolume seeds a volume with files (relative path -> content).
func (e *Engine) AddVolume(v engine.Volume, files map[string]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v.Labels == nil {
		v.Labels = map[string]string{}
	}
	if v.Driver == "" {
		v.Driver = "local"
	}
	e.volumes[v.Name] = v
	fs := map[string][]byte{}
	for k, c := range files {
		fs[k] = []byte(c)
	}
	e.files[v.Name] = fs
}

// AddContainer seeds a container.
func (e *Engine) AddContainer(c engine.Container) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c.ID == "" {
		e.seq++
		c.ID = fmt.Sprintf("c%06d", e.seq)
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	if c.State == "" {
		if c.Running {
			c.State = "running"
		} else {
			c.State = "exited"
		}
	}
	cc := c
	e.containers[c.ID] = &cc
}

// VolumeFiles returns a copy of a volume's files.
func (e *Engine) VolumeFiles(name string) map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]string{}
	for k, v := range e.files[name] {
		out[k] = string(v)
	}
	return out
}

// HasVolume reports whether a volume exists.
func (e *Engine) HasVolume(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.volumes[name]
	return ok
}

// Info returns InfoValue.
func (e *Engine) Info(ctx context.Context) (engine.Info, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return engine.Info{}, err
	}
	return e.InfoValue, nil
}

func labelsMatch(have map[string]string, want []string) bool {
	for _, w := range want {
		k, v, hasV := strings.Cut(w, "=")
		got, ok := have[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	return true
}

func (e *Engine) inUse(name string) bool {
	for _, c := range e.containers {
		for _, m := range c.Mounts {
			if m.Type == "volume" && m.Name == name {
				return true
			}
		}
	}
	return false
}

// ListVolumes lists volumes sorted by name.
func (e *Engine) ListVolumes(ctx context.Context, f engine.VolumeFilter) ([]engine.Volume, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return nil, err
	}
	var out []engine.Volume
	for _, v := range e.volumes {
		if !labelsMatch(v.Labels, f.Labels) {
			continue
		}
		if f.Dangling != nil && *f.Dangling == e.inUse(v.Name) {
			continue
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// InspectVolume returns one volume.
func (e *Engine) InspectVolume(ctx context.Context, name string) (engine.Volume, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return engine.Volume{}, err
	}
	v, ok := e.volumes[name]
	if !ok {
		return engine.Volume{}, fmt.Errorf("volume %s: %w", name, engine.ErrNotFound)
	}
	return v, nil
}

// CreateVolume creates a volume (an existing one is returned unchanged, as
// the engine does).
func (e *Engine) CreateVolume(ctx context.Context, spec engine.VolumeSpec) (engine.Volume, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return engine.Volume{}, err
	}
	e.record("CreateVolume %s", spec.Name)
	if v, ok := e.volumes[spec.Name]; ok {
		return v, nil
	}
	if spec.Name == "" {
		e.seq++
		spec.Name = fmt.Sprintf("%064x", e.seq)
	}
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	driver := spec.Driver
	if driver == "" {
		driver = "local"
	}
	v := engine.Volume{Name: spec.Name, Driver: driver, Labels: labels, Options: spec.DriverOpts, CreatedAt: time.Now()}
	e.volumes[v.Name] = v
	e.files[v.Name] = map[string][]byte{}
	return v, nil
}

// RemoveVolume removes a volume; in use is a conflict.
func (e *Engine) RemoveVolume(ctx context.Context, name string, force bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return err
	}
	e.record("RemoveVolume %s", name)
	if _, ok := e.volumes[name]; !ok {
		if force {
			return nil
		}
		return fmt.Errorf("volume %s: %w", name, engine.ErrNotFound)
	}
	if e.inUse(name) {
		return fmt.Errorf("volume %s is in use: %w", name, engine.ErrConflict)
	}
	delete(e.volumes, name)
	delete(e.files, name)
	return nil
}

// ListContainers lists containers sorted by name.
func (e *Engine) ListContainers(ctx context.Context, f engine.ContainerFilter) ([]engine.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return nil, err
	}
	var out []engine.Container
	for _, c := range e.containers {
		if !f.All && !c.Running {
			continue
		}
		if !labelsMatch(c.Labels, f.Labels) {
			continue
		}
		if f.Name != "" && !strings.Contains(c.Name, f.Name) {
			continue
		}
		if f.Volume != "" {
			found := false
			for _, m := range c.Mounts {
				if m.Name == f.Volume {
					found = true
				}
			}
			if !found {
				continue
			}
		}
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (e *Engine) find(idOrName string) (*engine.Container, error) {
	if c, ok := e.containers[idOrName]; ok {
		return c, nil
	}
	for _, c := range e.containers {
		if c.Name == idOrName {
			return c, nil
		}
	}
	return nil, fmt.Errorf("container %s: %w", idOrName, engine.ErrNotFound)
}

// lockContainer takes the lock, which the caller releases whatever this
// returns, then checks the engine is reachable and finds the container by ID
// or name: the start of every method on one container.
func (e *Engine) lockContainer(idOrName string) (*engine.Container, error) {
	e.mu.Lock()
	if err := e.check(); err != nil {
		return nil, err
	}
	return e.find(idOrName)
}

// InspectContainer returns a container.
func (e *Engine) InspectContainer(ctx context.Context, idOrName string) (engine.Container, error) {
	c, err := e.lockContainer(idOrName)
	defer e.mu.Unlock()
	if err != nil {
		return engine.Container{}, err
	}
	return *c, nil
}

// CreateContainer creates a container; its image must exist.
func (e *Engine) CreateContainer(ctx context.Context, spec engine.ContainerSpec) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return "", err
	}
	if !e.images[spec.Image] {
		return "", fmt.Errorf("image %s: %w", spec.Image, engine.ErrNotFound)
	}
	e.seq++
	id := fmt.Sprintf("h%06d", e.seq)
	name := spec.Name
	if name == "" {
		name = "helper_" + id
	}
	var mounts []engine.Mount
	for _, m := range spec.Mounts {
		m.Type = "volume"
		if _, ok := e.volumes[m.Name]; !ok {
			e.volumes[m.Name] = engine.Volume{Name: m.Name, Driver: "local", Labels: map[string]string{}, CreatedAt: time.Now()}
			e.files[m.Name] = map[string][]byte{}
		}
		mounts = append(mounts, m)
	}
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	e.containers[id] = &engine.Container{ID: id, Name: name, Image: spec.Image, State: "created", Labels: labels, Env: spec.Env, Mounts: mounts, Created: time.Now(), AutoRemove: spec.AutoRemove}
	e.record("CreateContainer %s", spec.Image)
	return id, nil
}

// StartContainer marks a container running.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	c, err := e.lockContainer(id)
	defer e.mu.Unlock()
	if err != nil {
		return err
	}
	c.Running, c.State = true, "running"
	e.record("StartContainer %s", c.Name)
	return nil
}

// StopContainer marks a container exited.
func (e *Engine) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	c, err := e.lockContainer(id)
	defer e.mu.Unlock()
	if err != nil {
		return err
	}
	c.Running, c.State = false, "exited"
	e.record("StopContainer %s", c.Name)
	return nil
}

// RemoveContainer deletes a container (and its anonymous volumes if asked).
func (e *Engine) RemoveContainer(ctx context.Context, id string, removeVolumes bool) error {
	c, err := e.lockContainer(id)
	defer e.mu.Unlock()
	if err != nil {
		return err
	}
	delete(e.containers, c.ID)
	e.record("RemoveContainer %s", c.Name)
	if removeVolumes {
		for _, m := range c.Mounts {
			if v, ok := e.volumes[m.Name]; ok && v.Anonymous && !e.inUse(m.Name) {
				delete(e.volumes, m.Name)
				delete(e.files, m.Name)
			}
		}
	}
	return nil
}

// Exec delegates to ExecHandler.
func (e *Engine) Exec(ctx context.Context, container string, spec engine.ExecSpec) error {
	e.mu.Lock()
	if err := e.check(); err != nil {
		e.mu.Unlock()
		return err
	}
	c, err := e.find(container)
	if err == nil && !c.Running {
		err = fmt.Errorf("container %s is not running: %w", container, engine.ErrConflict)
	}
	e.record("Exec %s %s", container, strings.Join(spec.Cmd, " "))
	h := e.ExecHandler
	e.mu.Unlock()
	if err != nil {
		return err
	}
	if h == nil {
		return &engine.ExitError{Code: 127, Stderr: "fake: no exec handler"}
	}
	return h(ctx, container, spec)
}

// mountFor finds the volume mounted at or above p in the container.
func (e *Engine) mountFor(c *engine.Container, p string) (vol, rel string, ok bool) {
	p = path.Clean("/" + p)
	for _, m := range c.Mounts {
		d := path.Clean(m.Destination)
		if p == d {
			return m.Name, "", true
		}
		if strings.HasPrefix(p, d+"/") {
			return m.Name, strings.TrimPrefix(p, d+"/"), true
		}
	}
	return "", "", false
}

// CopyFrom returns a tar of a mounted volume's directory, rooted at the
// base name of path (like the engine's archive API).
func (e *Engine) CopyFrom(ctx context.Context, container, p string) (io.ReadCloser, error) {
	c, err := e.lockContainer(container)
	defer e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	vol, rel, ok := e.mountFor(c, p)
	if !ok {
		return nil, fmt.Errorf("fake: %s is not on a volume: %w", p, engine.ErrNotFound)
	}
	base := path.Base(path.Clean(p))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: base + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: time.Unix(0, 0)})
	names := make([]string, 0)
	for k := range e.files[vol] {
		if rel == "" || strings.HasPrefix(k, rel+"/") {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		data := e.files[vol][k]
		name := strings.TrimPrefix(strings.TrimPrefix(k, rel), "/")
		_ = tw.WriteHeader(&tar.Header{Name: base + "/" + name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0)})
		_, _ = tw.Write(data)
	}
	_ = tw.Close()
	e.record("CopyFrom %s %s", c.Name, p)
	return io.NopCloser(&buf), nil
}

// CopyTo extracts the regular files of a tar stream into the volumes
// mounted where each entry lands (dir joined with the entry's name).
func (e *Engine) CopyTo(ctx context.Context, container, dir string, tarStream io.Reader) error {
	c, err := e.lockContainer(container)
	defer e.mu.Unlock()
	if err != nil {
		return err
	}
	if _, _, ok := e.mountFor(c, dir); !ok && !e.hasMountBelow(c, dir) {
		return fmt.Errorf("fake: %s is not on a volume: %w", dir, engine.ErrNotFound)
	}
	tr := tar.NewReader(tarStream)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("fake copy to: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		vol, rel, ok := e.mountFor(c, path.Join(dir, h.Name))
		if !ok || rel == "" {
			return fmt.Errorf("fake: %s is not on a volume: %w", path.Join(dir, h.Name), engine.ErrNotFound)
		}
		e.files[vol][rel] = data
	}
	e.record("CopyTo %s %s", c.Name, dir)
	return nil
}

func (e *Engine) hasMountBelow(c *engine.Container, dir string) bool {
	d := path.Clean("/" + dir)
	for _, m := range c.Mounts {
		if d == "/" || strings.HasPrefix(path.Clean(m.Destination), d+"/") {
			return true
		}
	}
	return false
}

// AddImage marks an image present.
func (e *Engine) AddImage(ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[ref] = true
}

// ImageExists reports whether ref was added or imported.
func (e *Engine) ImageExists(ctx context.Context, ref string) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return false, err
	}
	return e.images[ref], nil
}

// ImportImage records ref as present.
func (e *Engine) ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.check(); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, rootfs)
	e.images[ref] = true
	e.record("ImportImage %s", ref)
	return nil
}

// Close does nothing.
func (e *Engine) Close() error { return nil }

// RenameContainer renames a container (tests of races on names).
func (e *Engine) RenameContainer(idOrName, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, err := e.find(idOrName); err == nil {
		c.Name = name
	}
}
