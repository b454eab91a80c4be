// Package engine is the one narrow door to a container engine. Everything
// above it speaks these types; only internal/engine/docker knows moby's.
package engine

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"
)

// Sentinel errors every implementation returns (wrapped) so callers can
// decide with errors.Is.
var (
	// ErrUnreachable: the engine did not answer (daemon stopped, bad host,
	// permission denied on the socket).
	ErrUnreachable = errors.New("container engine unreachable")
	// ErrNotFound: the named volume, container or image does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object exists already or is in use.
	ErrConflict = errors.New("conflict")
)

// Info describes the engine we talk to.
type Info struct {
	ServerVersion string
	// APIVersion is the negotiated API version (e.g. "1.41"). It decides
	// what `volume prune` deletes.
	APIVersion string
	OS         string
}

// Volume is an engine volume.
type Volume struct {
	Name       string
	Driver     string
	Labels     map[string]string
	Options    map[string]string
	Mountpoint string
	CreatedAt  time.Time
	// Anonymous is true for volumes created without a name (64 hex chars,
	// or labelled com.docker.volume.anonymous).
	Anonymous bool
}

// VolumeFilter narrows ListVolumes. Zero value lists all.
type VolumeFilter struct {
	// Labels are "key" or "key=value" (all must match).
	Labels []string
	// Dangling: nil = any, true = unused only, false = in use only.
	Dangling *bool
}

// VolumeSpec creates a volume.
type VolumeSpec struct {
	Name       string
	Driver     string
	DriverOpts map[string]string
	Labels     map[string]string
}

// Mount is one mount of a container.
type Mount struct {
	Type        string // "volume", "bind", "tmpfs"
	Name        string // volume name, for Type == "volume"
	Source      string
	Destination string
	ReadOnly    bool
}

// Container is what we need to know of a container.
type Container struct {
	ID      string
	Name    string // without leading slash
	Image   string // image reference as configured
	ImageID string
	State   string // "running", "exited", "created", ...
	Running bool
	Labels  map[string]string
	Env     []string
	Mounts  []Mount
	Created time.Time
	// AutoRemove: the engine removes the container, with its anonymous
	// volumes, when it stops (docker run --rm). Set by InspectContainer.
	AutoRemove bool
}

// ContainerFilter narrows ListContainers.
type ContainerFilter struct {
	Labels []string
	// All includes stopped containers.
	All bool
	// Volume lists containers that mount this volume.
	Volume string
	// Name matches container names (engine semantics: substring).
	Name string
}

// ContainerSpec creates a helper container (never a user's service).
type ContainerSpec struct {
	Name   string
	Image  string
	Cmd    []string
	Env    []string
	Labels map[string]string
	// Mounts of volumes: Name -> Destination.
	Mounts []Mount
	// AutoRemove removes the container when it stops.
	AutoRemove bool
	// NetworkDisabled keeps the helper off every network.
	NetworkDisabled bool
}

// ExecSpec runs a process inside a running container.
type ExecSpec struct {
	Cmd    []string
	Env    []string
	User   string
	Stdin  io.Reader // nil: no stdin
	Stdout io.Writer // nil: discarded
	Stderr io.Writer // nil: discarded
}

// ExitError is returned (wrapped) by Exec when the process ran and exited
// non-zero. Callers must check it: a failed pg_dump is never a success.
type ExitError struct {
	Code   int
	Stderr string // the tail of stderr, for messages
}

func (e *ExitError) Error() string {
	if e.Stderr != "" {
		return "exited with status " + strconv.Itoa(e.Code) + ": " + e.Stderr
	}
	return "exited with status " + strconv.Itoa(e.Code)
}

// Engine is everything ledger-docker asks of a container engine.
type Engine interface {
	Info(ctx context.Context) (Info, error)

	ListVolumes(ctx context.Context, f VolumeFilter) ([]Volume, error)
	InspectVolume(ctx context.Context, name string) (Volume, error)
	CreateVolume(ctx context.Context, spec VolumeSpec) (Volume, error)
	RemoveVolume(ctx context.Context, name string, force bool) error

	ListContainers(ctx context.Context, f ContainerFilter) ([]Container, error)
	InspectContainer(ctx context.Context, idOrName string) (Container, error)
	CreateContainer(ctx context.Context, spec ContainerSpec) (string, error)
	StartContainer(ctx context.Context, id string) error
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	RemoveContainer(ctx context.Context, id string, removeVolumes bool) error

	// Exec runs spec.Cmd in a running container, streaming stdout/stderr,
	// and returns *ExitError (wrapped) when the process exits non-zero.
	Exec(ctx context.Context, container string, spec ExecSpec) error

	// CopyFrom returns a tar stream of path inside the container (works on
	// stopped containers too: volumes are mounted for the copy).
	CopyFrom(ctx context.Context, container, path string) (io.ReadCloser, error)
	// CopyTo extracts the tar stream into dir inside the container.
	CopyTo(ctx context.Context, container, dir string, tarStream io.Reader) error

	// ImageExists reports whether a local image with this reference exists.
	ImageExists(ctx context.Context, ref string) (bool, error)
	// ImportImage creates ref from a root filesystem tar stream (no registry).
	ImportImage(ctx context.Context, ref string, rootfs io.Reader, changes []string) error

	Close() error
}
