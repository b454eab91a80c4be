// Package protect recreates an existing volume with the protect label.
// Engine labels cannot change after creation, so: take a snapshot and
// verify it against the volume, stop and remove the containers that use it,
// remove the volume, create it again with the same name and labels plus the
// protect label (and the compose config hash compose will expect from the
// labelled file, so `compose up` does not offer to recreate it), copy the
// data back, verify every file against the snapshot, bring the containers
// back with compose, and keep the snapshot.
//
// Every phase that changes something returns its undo; the caller defers
// it at once, and a failure anywhere puts the old volume back from the
// verified snapshot and the services back as they were (errors joined).
package protect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/ledger-docker/ledger-docker/internal/check"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
)

// Compose labels on containers that say how to bring them back.
const (
	configFilesLabel = "com.docker.compose.project.config_files"
	workingDirLabel  = "com.docker.compose.project.working_dir"
	envFileLabel     = "com.docker.compose.project.environment_file"
)

// ErrRefused: the volume cannot be protected this way (the message says why
// and what to do); nothing was changed.
var ErrRefused = errors.New("cannot protect this volume")

// Request is what to protect.
type Request struct {
	Volume      string
	Label       string // protect label key
	SnapshotDir string
	// ComposeFiles and ProjectDir name the compose project that declares
	// the volume when its containers do not say (e.g. none exist).
	ComposeFiles []string
	ProjectDir   string
	Env          []string
	Now          func() time.Time
}

// Container is a container that uses the volume.
type Container struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Service string `json:"service"`
	Running bool   `json:"running"`
	OneOff  bool   `json:"one_off,omitempty"`
}

// Project is a compose project whose containers use the volume.
type Project struct {
	Name       string      `json:"name"`
	WorkingDir string      `json:"working_dir"`
	Files      []string    `json:"files"`
	EnvFiles   []string    `json:"env_files,omitempty"`
	Containers []Container `json:"containers"`
}

// Plan is what Execute will do.
type Plan struct {
	Volume    engine.Volume     `json:"-"`
	Name      string            `json:"volume"`
	NewLabels map[string]string `json:"labels"`
	// ConfigHash is the compose config hash set on the new volume
	// ("" for a volume compose did not create); HashFrom says from what.
	ConfigHash string    `json:"config_hash,omitempty"`
	HashFrom   string    `json:"config_hash_from,omitempty"`
	Projects   []Project `json:"projects"`
	// FileToLabel is the compose file that declares the volume without the
	// label: Execute adds it there last (as `check --fix` would).
	FileToLabel string `json:"file_to_label,omitempty"`
	VolumeKey   string `json:"volume_key,omitempty"`
	SnapshotDir string `json:"snapshot_dir"`
	Already     bool   `json:"already_protected"`
}

// LockNames are the projects to lock while the plan runs: the volume's
// compose project and those of its containers (the volume's own name for a
// volume compose did not make), sorted.
func (p *Plan) LockNames() []string {
	names := []string{}
	if proj := p.Volume.Labels[compose.ProjectLabel]; proj != "" {
		names = append(names, proj)
	} else {
		names = append(names, "volume-"+p.Name)
	}
	for _, pr := range p.Projects {
		if !slices.Contains(names, pr.Name) {
			names = append(names, pr.Name)
		}
	}
	slices.Sort(names)
	return names
}

// Composer runs `docker compose ARGS...` (the real CLI: containers come back
// exactly as compose makes them).
type Composer func(ctx context.Context, args []string) error

// MakePlan inspects the volume and its users and decides what to do. It
// changes nothing.
func MakePlan(ctx context.Context, e engine.Engine, req Request) (*Plan, error) {
	v, err := e.InspectVolume(ctx, req.Volume)
	if err != nil {
		return nil, fmt.Errorf("volume %s: %w", req.Volume, err)
	}
	p := &Plan{Volume: v, Name: v.Name, SnapshotDir: req.SnapshotDir}
	if v.Labels[req.Label] == "true" {
		p.Already = true
		return p, nil
	}
	if v.Driver != "" && v.Driver != "local" || len(v.Options) > 0 {
		return nil, fmt.Errorf("%w: volume %s uses driver %q with options %v; protect only recreates plain local volumes "+
			"(create a labelled copy by hand: docker volume create --label %s=true ...)", ErrRefused, v.Name, v.Driver, v.Options, req.Label)
	}
	ctrs, err := e.ListContainers(ctx, engine.ContainerFilter{All: true, Volume: v.Name})
	if err != nil {
		return nil, err
	}
	byProject := map[string]*Project{}
	for _, c := range ctrs {
		proj := c.Labels[compose.ProjectLabel]
		if proj == "" {
			return nil, fmt.Errorf("%w: container %s uses volume %s and was not made by compose, so it could not be "+
				"brought back; stop and remove it first", ErrRefused, c.Name, v.Name)
		}
		for _, m := range c.Mounts {
			if m.Type == "volume" && m.Name != v.Name && isAnonymous(m.Name) {
				return nil, fmt.Errorf("%w: container %s also keeps data in the anonymous volume %s, which a recreated "+
					"container would not get back; give it a name in the compose file first", ErrRefused, c.Name, m.Name)
			}
		}
		oneoff := strings.EqualFold(c.Labels[compose.OneoffLabel], "true")
		if oneoff && c.Running {
			return nil, fmt.Errorf("%w: one-off container %s (compose run) is using volume %s; let it finish first",
				ErrRefused, c.Name, v.Name)
		}
		pr := byProject[proj]
		if pr == nil {
			pr = &Project{Name: proj, WorkingDir: c.Labels[workingDirLabel]}
			if f := c.Labels[configFilesLabel]; f != "" {
				pr.Files = strings.Split(f, ",")
			}
			if f := c.Labels[envFileLabel]; f != "" {
				// only those still there: compose refuses a missing --env-file
				pr.EnvFiles = slices.DeleteFunc(strings.Split(f, ","), func(f string) bool {
					_, err := os.Stat(f)
					return err != nil
				})
			}
			byProject[proj] = pr
		}
		pr.Containers = append(pr.Containers, Container{ID: c.ID, Name: c.Name, Service: c.Labels[compose.ServiceLabel],
			Running: c.Running, OneOff: oneoff})
	}
	for _, k := range slices.Sorted(maps.Keys(byProject)) {
		p.Projects = append(p.Projects, *byProject[k])
	}
	p.NewLabels = maps.Clone(v.Labels)
	if p.NewLabels == nil {
		p.NewLabels = map[string]string{}
	}
	p.NewLabels[req.Label] = "true"
	if proj := v.Labels[compose.ProjectLabel]; proj != "" {
		if err := p.composeHash(ctx, req, proj, v.Labels[compose.VolumeLabel]); err != nil {
			return nil, err
		}
		p.NewLabels[compose.ConfigHashLabel] = p.ConfigHash
	}
	return p, nil
}

func isAnonymous(name string) bool {
	if len(name) != 64 {
		return false
	}
	return strings.Trim(name, "0123456789abcdef") == ""
}

// composeHash computes the config hash compose will expect once the file
// labels the volume: from the compose file when it can be found (request,
// else the containers' labels), else from the engine's labels.
func (p *Plan) composeHash(ctx context.Context, req Request, project, key string) error {
	files, dir := req.ComposeFiles, req.ProjectDir
	var envFiles []string
	if len(files) == 0 {
		for _, pr := range p.Projects {
			if pr.Name == project && len(pr.Files) > 0 {
				files, dir, envFiles = pr.Files, pr.WorkingDir, pr.EnvFiles
			}
		}
	}
	if key != "" {
		proj, err := compose.Load(ctx, compose.Options{ConfigPaths: files, ProjectDir: dir, ProjectName: project,
			EnvFiles: envFiles, Env: req.Env, Lenient: true})
		if err == nil {
			if vc, ok := proj.Volumes[key]; ok && vc.Name == p.Name {
				if vc.Labels[req.Label] != "true" {
					p.FileToLabel, p.VolumeKey = declaringFile(proj.ComposeFiles, key), key
				}
				vc.Labels = maps.Clone(vc.Labels)
				if vc.Labels == nil {
					vc.Labels = map[string]string{}
				}
				vc.Labels[req.Label] = "true"
				h, err := compose.VolumeHash(vc)
				if err != nil {
					return err
				}
				p.ConfigHash, p.HashFrom = h, strings.Join(proj.ComposeFiles, ", ")
				return nil
			}
		} else if !errors.Is(err, compose.ErrNoComposeFile) {
			return fmt.Errorf("load the compose project %s to compute the volume's config hash: %w", project, err)
		}
	}
	// No compose file: the volume's own labels without compose's.
	vc := engineVolumeConfig(p.Name, p.NewLabels)
	h, err := compose.VolumeHash(vc)
	if err != nil {
		return err
	}
	p.ConfigHash, p.HashFrom = h, "the engine's labels (no compose file found: pass -f)"
	return nil
}

// declaringFile is the first file whose top-level volumes: has key.
func declaringFile(files []string, key string) string {
	for _, f := range files {
		if src, err := os.ReadFile(f); err == nil && check.DeclaresVolume(src, key) {
			return f
		}
	}
	return ""
}

// Result is what Execute did.
type Result struct {
	Snapshot  string   `json:"snapshot"`
	Files     int      `json:"files_verified"`
	Bytes     int64    `json:"bytes_verified"`
	Restarted []string `json:"restarted"`
	Labelled  string   `json:"compose_file_labelled,omitempty"`
}

// Execute carries out the plan. progress receives one line per phase.
func Execute(ctx context.Context, e engine.Engine, run Composer, p *Plan, req Request, progress io.Writer) (res *Result, err error) {
	res = &Result{}
	now := time.Now
	if req.Now != nil {
		now = req.Now
	}
	step := func(format string, a ...any) { fmt.Fprintf(progress, format+"\n", a...) }
	// undo runs the deferred undos when the whole run did not succeed
	var undos []func(context.Context) error
	defer func() {
		if err == nil {
			return
		}
		uctx := context.WithoutCancel(ctx)
		for i := len(undos) - 1; i >= 0; i-- {
			err = errors.Join(err, undos[i](uctx))
		}
	}()

	step("snapshot %s ...", p.Name)
	snap, before, err := verifiedSnapshot(ctx, e, p.Name, p.SnapshotDir, now())
	if snap != "" {
		res.Snapshot = snap
	}
	if err != nil {
		return res, err
	}
	step("snapshot %s: %d files, %d bytes, verified against the volume", snap, before.Files, before.Bytes)

	if err := ctx.Err(); err != nil {
		return res, err
	}
	undo, err := stopAndRemove(ctx, e, run, p, step)
	undos = append(undos, undo)
	if err != nil {
		return res, err
	}

	if err := ctx.Err(); err != nil {
		return res, err
	}
	undo, err = replaceVolume(ctx, e, p, snap, step)
	undos = append(undos, undo)
	if err != nil {
		return res, err
	}

	if err := ctx.Err(); err != nil {
		return res, err
	}
	step("verify %s against the snapshot ...", p.Name)
	after, err := volumeManifest(ctx, e, p.Name)
	if err != nil {
		return res, fmt.Errorf("read back volume %s: %w", p.Name, err)
	}
	if d := diff(before, after); d != "" {
		return res, fmt.Errorf("volume %s differs from its snapshot after the copy: %s", p.Name, d)
	}
	res.Files, res.Bytes = after.Files, after.Bytes
	step("verified: %d files, %d bytes, identical (sizes, modes, owners, sha256)", after.Files, after.Bytes)

	if err := ctx.Err(); err != nil {
		return res, err
	}
	if p.FileToLabel != "" {
		if err := check.FixFile(p.FileToLabel, p.VolumeKey, req.Label); err != nil {
			return res, fmt.Errorf("add the label to %s: %w", p.FileToLabel, err)
		}
		res.Labelled = p.FileToLabel
		step("added %s=true to volume %q in %s", req.Label, p.VolumeKey, p.FileToLabel)
	}

	// success from here on: bring the services back, even when interrupted
	// now; no undo
	undos = nil
	res.Restarted, err = bringBack(context.WithoutCancel(ctx), run, p)
	if err != nil {
		return res, fmt.Errorf("volume %s is protected and verified, but bringing its containers back failed "+
			"(run docker compose up -d): %w", p.Name, err)
	}
	return res, nil
}

// verifiedSnapshot takes a snapshot and checks it lists exactly what the
// volume holds (read a second time).
func verifiedSnapshot(ctx context.Context, e engine.Engine, volume, dir string, now time.Time) (string, *Manifest, error) {
	snap, err := snapshot.Take(ctx, e, volume, dir, now)
	if err != nil {
		return "", nil, fmt.Errorf("snapshot %s: %w", volume, err)
	}
	f, err := os.Open(snap)
	if err != nil {
		return snap, nil, err
	}
	defer f.Close()
	fromFile, err := manifestOf(f)
	if err != nil {
		return snap, nil, fmt.Errorf("re-read snapshot %s: %w", snap, err)
	}
	fromVolume, err := volumeManifest(ctx, e, volume)
	if err != nil {
		return snap, nil, err
	}
	if d := diff(fromVolume, fromFile); d != "" {
		return snap, nil, fmt.Errorf("snapshot %s does not match volume %s: %s", snap, volume, d)
	}
	return snap, fromFile, nil
}

// volumeManifest streams the volume through a tar.gz and lists it.
func volumeManifest(ctx context.Context, e engine.Engine, volume string) (*Manifest, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(snapshot.Write(ctx, e, volume, pw)) }()
	m, err := manifestOf(pr)
	pr.CloseWithError(err)
	return m, err
}

// stopAndRemove stops the running containers (remembering them) and
// removes all that use the volume. Its undo brings them back as they were.
func stopAndRemove(ctx context.Context, e engine.Engine, run Composer, p *Plan, step func(string, ...any)) (func(context.Context) error, error) {
	var stopped, removed []Container
	undo := func(ctx context.Context) error {
		var errs []error
		if len(removed) > 0 {
			_, err := bringBack(ctx, run, p)
			errs = append(errs, err)
		}
		for _, c := range stopped {
			if !slices.Contains(removed, c) {
				errs = append(errs, e.StartContainer(ctx, c.ID))
			}
		}
		return errors.Join(errs...)
	}
	for _, pr := range p.Projects {
		for _, c := range pr.Containers {
			if !c.Running {
				continue
			}
			step("stop %s", c.Name)
			if err := e.StopContainer(ctx, c.ID, 30*time.Second); err != nil {
				return undo, fmt.Errorf("stop %s: %w", c.Name, err)
			}
			stopped = append(stopped, c)
		}
	}
	for _, pr := range p.Projects {
		for _, c := range pr.Containers {
			step("remove container %s", c.Name)
			if err := e.RemoveContainer(ctx, c.ID, false); err != nil {
				return undo, fmt.Errorf("remove %s: %w", c.Name, err)
			}
			removed = append(removed, c)
		}
	}
	return undo, nil
}

// replaceVolume removes the volume and creates it again with the new labels
// from the snapshot. Its undo removes the new volume and puts the old one
// back (old labels, same snapshot).
func replaceVolume(ctx context.Context, e engine.Engine, p *Plan, snap string, step func(string, ...any)) (func(context.Context) error, error) {
	removed, created := false, false
	undo := func(ctx context.Context) error {
		if !removed {
			return nil
		}
		var errs []error
		if created {
			errs = append(errs, e.RemoveVolume(ctx, p.Name, false))
		}
		if err := snapshot.Restore(ctx, e, snap, p.Name, p.Volume.Labels); err != nil {
			errs = append(errs, fmt.Errorf("put volume %s back from %s: %w", p.Name, snap, err))
		}
		return errors.Join(errs...)
	}
	step("remove volume %s", p.Name)
	if err := e.RemoveVolume(ctx, p.Name, false); err != nil {
		return undo, fmt.Errorf("remove volume %s: %w", p.Name, err)
	}
	removed = true
	step("create volume %s with %s and copy the data back", p.Name, labelList(p.NewLabels))
	created = true // Restore creates it first; on a failure it is left and must go
	if err := snapshot.Restore(ctx, e, snap, p.Name, p.NewLabels); err != nil {
		if _, ierr := e.InspectVolume(ctx, p.Name); errors.Is(ierr, engine.ErrNotFound) {
			created = false
		}
		return undo, err
	}
	return undo, nil
}

// bringBack recreates the removed containers with compose: services that
// were running are started again (up -d --no-deps), the others created.
func bringBack(ctx context.Context, run Composer, p *Plan) ([]string, error) {
	var started []string
	var errs []error
	for _, pr := range p.Projects {
		base := []string{"--project-name", pr.Name}
		if pr.WorkingDir != "" {
			base = append(base, "--project-directory", pr.WorkingDir)
		}
		for _, f := range pr.Files {
			base = append(base, "--file", f)
		}
		for _, f := range pr.EnvFiles {
			base = append(base, "--env-file", f)
		}
		var up, create []string
		for _, c := range pr.Containers {
			switch {
			case c.OneOff || c.Service == "":
			case c.Running:
				if !slices.Contains(up, c.Service) {
					up = append(up, c.Service)
				}
			default:
				if !slices.Contains(create, c.Service) {
					create = append(create, c.Service)
				}
			}
		}
		create = slices.DeleteFunc(create, func(s string) bool { return slices.Contains(up, s) })
		if len(create) > 0 {
			errs = append(errs, run(ctx, append(append(slices.Clone(base), "create", "--no-recreate"), create...)))
		}
		if len(up) > 0 {
			errs = append(errs, run(ctx, append(append(slices.Clone(base), "up", "--detach", "--no-deps", "--no-recreate"), up...)))
			for _, s := range up {
				started = append(started, pr.Name+"/"+s)
			}
		}
	}
	return started, errors.Join(errs...)
}

func labelList(l map[string]string) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(l)) {
		out = append(out, k+"="+l[k])
	}
	return strings.Join(out, ", ")
}

// engineVolumeConfig rebuilds the declared config of a volume from its
// engine labels (compose's own com.docker.compose.* labels are not part of
// the declaration).
func engineVolumeConfig(name string, labels map[string]string) types.VolumeConfig {
	user := types.Labels{}
	for k, v := range labels {
		if !strings.HasPrefix(k, "com.docker.compose.") {
			user[k] = v
		}
	}
	return types.VolumeConfig{Name: name, Labels: user}
}
