// Package docker implements engine.Engine over the Docker Go client. It is
// the only package that sees moby types.
package docker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Engine wraps a Docker API client.
type Engine struct {
	api client.APIClient
}

var _ engine.Engine = (*Engine)(nil)

// New wraps an existing client (the CLI plugin passes docker/cli's, which
// already honours --context, -H, DOCKER_HOST, DOCKER_CONTEXT...).
func New(api client.APIClient) *Engine { return &Engine{api: api} }

// FromEnv connects like the docker CLI does with only environment variables
// (DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY),
// negotiating the API version so engines from API 1.41 up work.
func FromEnv() (*Engine, error) {
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("%w: %v", engine.ErrUnreachable, err)
	}
	return New(c), nil
}

// Close releases the client.
func (e *Engine) Close() error { return e.api.Close() }

// wrap maps client errors to the engine sentinels.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("%s: %w: %v", op, engine.ErrUnreachable, err)
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%s: %w: %v", op, engine.ErrNotFound, err)
	case cerrdefs.IsConflict(err):
		return fmt.Errorf("%s: %w: %v", op, engine.ErrConflict, err)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: %w: %v", op, engine.ErrUnreachable, err)
	}
	if strings.Contains(err.Error(), "Cannot connect to the Docker daemon") ||
		strings.Contains(err.Error(), "connect: permission denied") {
		return fmt.Errorf("%s: %w: %v", op, engine.ErrUnreachable, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Info pings the engine and returns its versions.
func (e *Engine) Info(ctx context.Context) (engine.Info, error) {
	if nc, ok := e.api.(interface{ NegotiateAPIVersion(context.Context) }); ok {
		nc.NegotiateAPIVersion(ctx)
	}
	v, err := e.api.ServerVersion(ctx)
	if err != nil {
		return engine.Info{}, wrap("engine version", err)
	}
	api := e.api.ClientVersion()
	if api == "" {
		api = v.APIVersion
	}
	return engine.Info{ServerVersion: v.Version, APIVersion: api, OS: v.Os}, nil
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func toVolume(v *volume.Volume) engine.Volume {
	out := engine.Volume{
		Name:       v.Name,
		Driver:     v.Driver,
		Labels:     v.Labels,
		Options:    v.Options,
		Mountpoint: v.Mountpoint,
	}
	if out.Labels == nil {
		out.Labels = map[string]string{}
	}
	if t, err := time.Parse(time.RFC3339, v.CreatedAt); err == nil {
		out.CreatedAt = t
	}
	_, anon := v.Labels["com.docker.volume.anonymous"]
	out.Anonymous = anon || hex64.MatchString(v.Name)
	return out
}

// ListVolumes lists volumes matching f.
func (e *Engine) ListVolumes(ctx context.Context, f engine.VolumeFilter) ([]engine.Volume, error) {
	args := filters.NewArgs()
	for _, l := range f.Labels {
		args.Add("label", l)
	}
	if f.Dangling != nil {
		args.Add("dangling", fmt.Sprint(*f.Dangling))
	}
	resp, err := e.api.VolumeList(ctx, volume.ListOptions{Filters: args})
	if err != nil {
		return nil, wrap("list volumes", err)
	}
	out := make([]engine.Volume, 0, len(resp.Volumes))
	for _, v := range resp.Volumes {
		out = append(out, toVolume(v))
	}
	return out, nil
}

// InspectVolume returns one volume.
func (e *Engine) InspectVolume(ctx context.Context, name string) (engine.Volume, error) {
	v, err := e.api.VolumeInspect(ctx, name)
	if err != nil {
		return engine.Volume{}, wrap("inspect volume "+name, err)
	}
	return toVolume(&v), nil
}

// CreateVolume creates a volume.
func (e *Engine) CreateVolume(ctx context.Context, spec engine.VolumeSpec) (engine.Volume, error) {
	v, err := e.api.VolumeCreate(ctx, volume.CreateOptions{
		Name: spec.Name, Driver: spec.Driver, DriverOpts: spec.DriverOpts, Labels: spec.Labels,
	})
	if err != nil {
		return engine.Volume{}, wrap("create volume "+spec.Name, err)
	}
	return toVolume(&v), nil
}

// RemoveVolume removes a volume.
func (e *Engine) RemoveVolume(ctx context.Context, name string, force bool) error {
	return wrap("remove volume "+name, e.api.VolumeRemove(ctx, name, force))
}

func toMounts(ms []container.MountPoint) []engine.Mount {
	out := make([]engine.Mount, 0, len(ms))
	for _, m := range ms {
		out = append(out, engine.Mount{
			Type: string(m.Type), Name: m.Name, Source: m.Source,
			Destination: m.Destination, ReadOnly: !m.RW,
		})
	}
	return out
}

// ListContainers lists containers matching f.
func (e *Engine) ListContainers(ctx context.Context, f engine.ContainerFilter) ([]engine.Container, error) {
	args := filters.NewArgs()
	for _, l := range f.Labels {
		args.Add("label", l)
	}
	if f.Volume != "" {
		args.Add("volume", f.Volume)
	}
	if f.Name != "" {
		args.Add("name", f.Name)
	}
	list, err := e.api.ContainerList(ctx, container.ListOptions{All: f.All, Filters: args})
	if err != nil {
		return nil, wrap("list containers", err)
	}
	out := make([]engine.Container, 0, len(list))
	for _, c := range list {
		name := ""
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		out = append(out, engine.Container{
			ID: c.ID, Name: name, Image: c.Image, ImageID: c.ImageID,
			State: c.State, Running: c.State == "running", Labels: c.Labels,
			Mounts: toMounts(c.Mounts), Created: time.Unix(c.Created, 0),
		})
	}
	return out, nil
}

// InspectContainer returns one container with its env and mounts.
func (e *Engine) InspectContainer(ctx context.Context, idOrName string) (engine.Container, error) {
	c, err := e.api.ContainerInspect(ctx, idOrName)
	if err != nil {
		return engine.Container{}, wrap("inspect container "+idOrName, err)
	}
	out := engine.Container{
		ID: c.ID, Name: strings.TrimPrefix(c.Name, "/"), ImageID: c.Image,
		Mounts: toMounts(c.Mounts),
	}
	if c.Config != nil {
		out.Image = c.Config.Image
		out.Labels = c.Config.Labels
		out.Env = c.Config.Env
	}
	if c.State != nil {
		out.State = c.State.Status
		out.Running = c.State.Running
	}
	if c.HostConfig != nil {
		out.AutoRemove = c.HostConfig.AutoRemove
	}
	if t, err := time.Parse(time.RFC3339Nano, c.Created); err == nil {
		out.Created = t
	}
	return out, nil
}

// CreateContainer creates a helper container.
func (e *Engine) CreateContainer(ctx context.Context, spec engine.ContainerSpec) (string, error) {
	hc := &container.HostConfig{AutoRemove: spec.AutoRemove}
	for _, m := range spec.Mounts {
		hc.Mounts = append(hc.Mounts, mount.Mount{
			Type: mount.TypeVolume, Source: m.Name, Target: m.Destination, ReadOnly: m.ReadOnly,
		})
	}
	if spec.NetworkDisabled {
		hc.NetworkMode = "none"
	}
	resp, err := e.api.ContainerCreate(ctx, &container.Config{
		Image: spec.Image, Cmd: spec.Cmd, Env: spec.Env, Labels: spec.Labels,
		NetworkDisabled: spec.NetworkDisabled,
	}, hc, nil, nil, spec.Name)
	if err != nil {
		return "", wrap("create container", err)
	}
	return resp.ID, nil
}

// StartContainer starts a container.
func (e *Engine) StartContainer(ctx context.Context, id string) error {
	return wrap("start container", e.api.ContainerStart(ctx, id, container.StartOptions{}))
}

// StopContainer stops a container.
func (e *Engine) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(timeout.Seconds())
	return wrap("stop container", e.api.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}))
}

// RemoveContainer force-removes a container.
func (e *Engine) RemoveContainer(ctx context.Context, id string, removeVolumes bool) error {
	return wrap("remove container", e.api.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: removeVolumes}))
}

// tailWriter keeps the last n bytes written, for error messages.
type tailWriter struct {
	buf []byte
	n   int
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = t.buf[len(t.buf)-t.n:]
	}
	return len(p), nil
}

// Exec runs a command in a running container and checks its exit status.
func (e *Engine) Exec(ctx context.Context, ctr string, spec engine.ExecSpec) error {
	created, err := e.api.ContainerExecCreate(ctx, ctr, container.ExecOptions{
		User: spec.User, Env: spec.Env, Cmd: spec.Cmd,
		AttachStdin: spec.Stdin != nil, AttachStdout: true, AttachStderr: true,
	})
	if err != nil {
		return wrap("exec "+spec.Cmd[0], err)
	}
	hj, err := e.api.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return wrap("exec attach "+spec.Cmd[0], err)
	}
	defer hj.Close()

	stdout := spec.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	tail := &tailWriter{n: 2048}
	var stderr io.Writer = tail
	if spec.Stderr != nil {
		stderr = io.MultiWriter(spec.Stderr, tail)
	}
	inErr := make(chan error, 1)
	if spec.Stdin != nil {
		go func() {
			_, err := io.Copy(hj.Conn, spec.Stdin)
			if cw, ok := hj.Conn.(interface{ CloseWrite() error }); ok {
				_ = cw.CloseWrite()
			} else {
				_ = hj.CloseWrite()
			}
			inErr <- err
		}()
	} else {
		inErr <- nil
	}
	outDone := make(chan error, 1)
	go func() {
		_, err := stdcopy.StdCopy(stdout, stderr, hj.Reader)
		outDone <- err
	}()
	select {
	case <-ctx.Done():
		// Closing the connection ends StdCopy; wait for it so nothing
		// writes to the caller's Stdout after Exec returned.
		hj.Close()
		<-outDone
		return ctx.Err()
	case err = <-outDone:
	}
	if err != nil {
		return fmt.Errorf("exec %s: stream: %w", spec.Cmd[0], err)
	}
	// The output ended, so the process is done with its streams. A process
	// that exits before reading all of its stdin leaves the copy blocked on
	// the caller's reader: do not wait for it forever.
	stdinUnread := false
	select {
	case err := <-inErr:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("exec %s: stdin: %w", spec.Cmd[0], err)
		}
	case <-time.After(2 * time.Second):
		stdinUnread = true
		hj.Close()
	case <-ctx.Done():
		hj.Close()
		return ctx.Err()
	}
	// The stream ended; the exit code may take a moment to be recorded.
	for i := 0; ; i++ {
		ins, err := e.api.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return wrap("exec inspect", err)
		}
		if !ins.Running {
			if ins.ExitCode != 0 {
				return &engine.ExitError{Code: ins.ExitCode, Stderr: string(bytes.TrimSpace(tail.buf))}
			}
			if stdinUnread {
				return fmt.Errorf("exec %s: exited before reading all of its input", spec.Cmd[0])
			}
			return nil
		}
		if i > 200 {
			return fmt.Errorf("exec %s: still running after its output ended", spec.Cmd[0])
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// CopyFrom returns a tar stream of path in the container.
func (e *Engine) CopyFrom(ctx context.Context, ctr, path string) (io.ReadCloser, error) {
	rc, _, err := e.api.CopyFromContainer(ctx, ctr, path)
	if err != nil {
		return nil, wrap("copy from "+path, err)
	}
	return rc, nil
}

// CopyTo extracts a tar stream into dir in the container.
func (e *Engine) CopyTo(ctx context.Context, ctr, dir string, tarStream io.Reader) error {
	return wrap("copy to "+dir, e.api.CopyToContainer(ctx, ctr, dir, tarStream, container.CopyToContainerOptions{}))
}

// ImageExists reports whether ref exists locally.
func (e *Engine) ImageExists(ctx context.Context, ref string) (bool, error) {
	_, err := e.api.ImageInspect(ctx, ref)
	if err == nil {
		return true, nil
	}
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	return false, wrap("inspect image "+ref, err)
}

// ImportImage creates ref from a rootfs tar stream.
func (e *Engine) ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error {
	rc, err := e.api.ImageImport(ctx, image.ImportSource{Source: rootfs, SourceName: "-"}, ref, image.ImportOptions{Changes: changes})
	if err != nil {
		return wrap("import image "+ref, err)
	}
	defer rc.Close()
	body, _ := io.ReadAll(rc)
	if bytes.Contains(body, []byte(`"error"`)) {
		return fmt.Errorf("import image %s: %s", ref, bytes.TrimSpace(body))
	}
	return nil
}
