// Package apiguard is ledger_docker's guard at the Docker Engine API: a
// reverse proxy between a docker client (docker, compose v1 or v2, any CLI
// plugin) and the engine, which forwards every request unchanged except the
// ones that can lose a volume. It decides on what actually reaches the
// engine, never on a guess about what a command line will send.
//
// Decide is a pure function of (request, engine state): it knows nothing of
// argv, so the same code can stand behind the engine's authorization plugin
// interface. Server executes its decisions: refuse, snapshot, hold volumes
// in use (pin) while a request runs, forward.
package apiguard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// State is what Decide may ask of the engine. engine.Engine satisfies it.
type State interface {
	Info(ctx context.Context) (engine.Info, error)
	ListVolumes(ctx context.Context, f engine.VolumeFilter) ([]engine.Volume, error)
	InspectVolume(ctx context.Context, name string) (engine.Volume, error)
	ListContainers(ctx context.Context, f engine.ContainerFilter) ([]engine.Container, error)
	InspectContainer(ctx context.Context, idOrName string) (engine.Container, error)
}

// Policy says which volumes are protected.
type Policy struct {
	// Protected reports whether a volume's labels protect it.
	Protected func(labels map[string]string) bool
	// Label names the protect label in messages ("com.ledgerflow.protect").
	Label string
}

// Request is one API request as the engine will read it.
type Request struct {
	Method string
	// Path is cleaned and without the version prefix ("/volumes/x").
	Path string
	// Version is the prefix's API version ("1.41"); "" when none.
	Version string
	// Form is the request's form as the engine parses it (query, and for
	// POST/PUT a url-encoded body).
	Form url.Values
	// Body is the request body, read for the endpoints that need it.
	Body []byte
}

// Decision is what to do with a request.
type Decision struct {
	// Endpoint names the matched route ("DELETE /volumes/{name}").
	Endpoint string
	// Deny refuses the request with Status and Message; nothing reaches
	// the engine.
	Deny    bool
	Status  int
	Message string
	// Snapshot lists unprotected volumes the request may delete: each is
	// saved before the request is forwarded.
	Snapshot []Save
	// Pin lists volumes to hold in use (a created, never started helper
	// container mounts them) while the request runs: the engine never
	// deletes a volume in use, whatever the request says.
	Pin []engine.Volume
	// Kept lists protected volumes the request would have deleted and
	// that the pin keeps, for the message.
	Kept []string
	// Path, when set, replaces the request's path (after the version
	// prefix) when forwarded: a container name resolved to its ID, so that
	// a rename between the decision and the engine changes nothing.
	Path string
	// Query, when set, replaces these query parameters of the forwarded
	// request ("" removes one): the engine reads the value decided on,
	// never a spelling it might read otherwise.
	Query map[string]string
	// Unchanged lists volumes that must still be unprotected right before
	// the request is forwarded, after the snapshots.
	Unchanged []engine.Volume
	// CheckCreated: check the container the engine created (its actual
	// AutoRemove and mounts) before answering, and remove it if it would
	// take a protected anonymous volume with it.
	CheckCreated bool
	// BackupFailed: refused because the snapshot before it failed.
	BackupFailed bool
	// Prune: the guard performs the prune itself, as the deletion of
	// exactly the Snapshot volumes, one by one, and answers with the
	// engine's report shape; the engine's own prune is never called.
	Prune bool
	// NewVolume: a volume create for a name no volume has (or no name:
	// the engine makes one up). Once the engine answers 201, the volume is
	// this command's own: if it carries ThrowawayLabel (docker ledger's
	// test-restore volume) when the same command deletes it, the guard
	// takes no snapshot.
	NewVolume bool
}

// Save is a volume to snapshot, with the container that holds it (zero
// when none), whose labels tell the compose project it belongs to.
type Save struct {
	Volume engine.Volume
	Holder engine.Container
}

func (d Decision) String() string {
	if d.Deny {
		return fmt.Sprintf("deny %s: %d %s", d.Endpoint, d.Status, d.Message)
	}
	return fmt.Sprintf("allow %s: snapshot %d, pin %d", d.Endpoint, len(d.Snapshot), len(d.Pin))
}

// Prefix starts every message the guard returns to a client.
const Prefix = "ledger_docker: "

// Decide returns what to do with r. It fails closed: when it cannot tell
// (the engine errors, a body it cannot parse, an unknown endpoint that is
// not a read), the request is refused with a message that says why.
func Decide(ctx context.Context, st State, p Policy, r Request) Decision {
	rt, vals, ok := lookup(r.Method, r.Path)
	if !ok {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			return Decision{Endpoint: r.Method + " " + r.Path}
		}
		return deny(r.Method+" "+r.Path, http.StatusForbidden,
			"the engine API guard does not know %s %s, so it cannot tell whether it deletes a volume; nothing was run", r.Method, r.Path)
	}
	ep := rt.method + " " + rt.pattern
	var d Decision
	var err error
	switch rt.kind {
	case kindSafe:
		return Decision{Endpoint: ep}
	case kindVolumeDelete:
		d, err = volumeDelete(ctx, st, p, vals[0])
	case kindVolumePrune:
		d, err = volumePrune(ctx, st, p, r)
	case kindContainerDelete:
		d, err = containerDelete(ctx, st, p, vals[0], r)
	case kindContainerCreate:
		d, err = containerCreate(ctx, st, p, r)
	case kindServiceWrite:
		d, err = serviceWrite(p, r)
	case kindContainerStart:
		d = containerStart(r)
	case kindVolumeCreate:
		d = volumeCreate(ctx, st, r)
	}
	if err != nil {
		var bad badRequest
		if errors.As(err, &bad) {
			return deny(ep, http.StatusBadRequest, "%s %s: %v; nothing was run", r.Method, r.Path, err)
		}
		return deny(ep, http.StatusServiceUnavailable,
			"cannot tell whether %s %s deletes a protected volume (%v); nothing was run", r.Method, r.Path, err)
	}
	d.Endpoint = ep
	return d
}

// badRequest: the request itself cannot be read.
type badRequest struct{ error }

func deny(ep string, status int, format string, args ...any) Decision {
	return Decision{Endpoint: ep, Deny: true, Status: status, Message: Prefix + fmt.Sprintf(format, args...)}
}

func (p Policy) protectedMsg(what string) string {
	return fmt.Sprintf("%s is protected (label %s=true); nothing was deleted", what, p.Label)
}

// volumeDelete: DELETE /volumes/{name}. A protected volume is refused; an
// unprotected one is saved first.
func volumeDelete(ctx context.Context, st State, p Policy, name string) (Decision, error) {
	v, err := st.InspectVolume(ctx, name)
	if errors.Is(err, engine.ErrNotFound) {
		return Decision{}, nil // the engine answers 404 itself
	}
	if err != nil {
		return Decision{}, err
	}
	if p.Protected(v.Labels) {
		return deny("", http.StatusForbidden, "%s", p.protectedMsg("volume "+v.Name)), nil
	}
	return Decision{Snapshot: []Save{{Volume: v}}, Unchanged: []engine.Volume{v}}, nil
}

// volumeCreate: POST /volumes/create. Creating deletes nothing: it is
// always forwarded. It is NewVolume when no volume has the name now (an
// answer the guard cannot get leaves it an ordinary create: the volume is
// then saved like any other before a deletion).
func volumeCreate(ctx context.Context, st State, r Request) Decision {
	var spec struct{ Name string }
	if err := json.Unmarshal(r.Body, &spec); err != nil {
		return Decision{}
	}
	if spec.Name == "" {
		return Decision{NewVolume: true}
	}
	if _, err := st.InspectVolume(ctx, spec.Name); errors.Is(err, engine.ErrNotFound) {
		return Decision{NewVolume: true}
	}
	return Decision{}
}

// containerStart: POST /containers/{id}/start. Below API 1.24 the engine
// applies a HostConfig sent with start to the existing container (it could
// turn on AutoRemove for a container holding a protected anonymous
// volume); no docker client sends one: a start with a body is refused.
func containerStart(r Request) Decision {
	switch strings.TrimSpace(string(r.Body)) {
	case "", "null", "{}":
		return Decision{}
	}
	return deny("", http.StatusForbidden, "a container start that carries a configuration (the API before 1.24 applies it to the container) is refused by the engine API guard; nothing was started")
}

// volumePrune: POST /volumes/prune. The engine's prune deletes whatever
// unused volume matches at the moment it runs: one created (protected or
// not) after any check of the guard would go too. So the guard does not
// forward it: it reads the filters as the engine reads them, selects the
// unused, local, unprotected volumes the prune would take, saves them, and
// deletes exactly those, one by one (Prune). Protected volumes are never
// in the list, whatever the filters, the client or the API version.
func volumePrune(ctx context.Context, st State, p Policy, r Request) (Decision, error) {
	f, err := parseFilters(r.Form.Get("filters"))
	if err != nil {
		return Decision{}, badRequest{fmt.Errorf("filters: %w", err)}
	}
	for k := range f {
		// the engine refuses any other filter ("Invalid filter"): so does
		// the guard, rather than prune more than asked
		if k != "label" && k != "label!" && k != "all" {
			return Decision{}, badRequest{fmt.Errorf("invalid filter %q for a volume prune", k)}
		}
	}
	api := r.Version
	info, err := st.Info(ctx)
	if err != nil {
		return Decision{}, err
	}
	if api == "" || VersionLess(info.APIVersion, api) {
		api = info.APIVersion
	}
	legacy := VersionLess(api, "1.42")
	all := false
	for _, v := range f["all"] {
		if b, err := strconv.ParseBool(v); err == nil && b {
			all = true
		}
	}
	vols, err := st.ListVolumes(ctx, engine.VolumeFilter{})
	if err != nil {
		return Decision{}, err
	}
	dangling := true
	unused, err := st.ListVolumes(ctx, engine.VolumeFilter{Dangling: &dangling})
	if err != nil {
		return Decision{}, err
	}
	isUnused := map[string]bool{}
	for _, v := range unused {
		isUnused[v.Name] = true
	}
	d := Decision{Prune: true}
	for _, v := range vols {
		if v.Driver != "" && v.Driver != "local" {
			continue // prune deletes local volumes only; pinning a plugin's could call it
		}
		candidate := isUnused[v.Name] && (legacy || all || v.Anonymous) && MatchLabels(f, v.Labels)
		switch {
		case candidate && p.Protected(v.Labels):
			d.Kept = append(d.Kept, v.Name)
		case candidate:
			d.Snapshot = append(d.Snapshot, Save{Volume: v})
			d.Unchanged = append(d.Unchanged, v)
		}
	}
	return d, nil
}

// containerDelete: DELETE /containers/{id}. With v (the engine reads it
// as true unless "", 0, no, false, none), the engine also deletes the
// container's anonymous volumes that no other container uses. A protected
// one is refused; one that another container uses is pinned (the engine
// keeps it); an unprotected one is saved first.
func containerDelete(ctx context.Context, st State, p Policy, id string, r Request) (Decision, error) {
	if !boolValue(r.Form, "v") {
		return Decision{Query: map[string]string{"v": ""}}, nil
	}
	c, err := st.InspectContainer(ctx, id)
	if errors.Is(err, engine.ErrNotFound) {
		// not there now: one created under the name before the request
		// arrives loses no volume with it
		return Decision{Query: map[string]string{"v": ""}}, nil
	}
	if err != nil {
		return Decision{}, err
	}
	d := Decision{Path: "/containers/" + c.ID, Query: map[string]string{"v": "1"}}
	anon, err := anonymousVolumes(ctx, st, c)
	if err != nil {
		return Decision{}, err
	}
	for _, v := range anon {
		shared, err := usedByOthers(ctx, st, v.Name, c.ID)
		if err != nil {
			return Decision{}, err
		}
		switch {
		case shared:
			d.Pin = append(d.Pin, v)
		case p.Protected(v.Labels):
			return deny("", http.StatusForbidden, "container %s holds anonymous volume %s, which is protected (label %s=true), and removing the container with its volumes would delete it; nothing was deleted. Remove the container without -v to keep the volume",
				c.Name, v.Name, p.Label), nil
		default:
			d.Snapshot = append(d.Snapshot, Save{Volume: v, Holder: c})
		}
	}
	return d, nil
}

func usedByOthers(ctx context.Context, st State, volume, self string) (bool, error) {
	cs, err := st.ListContainers(ctx, engine.ContainerFilter{All: true, Volume: volume})
	if err != nil {
		return false, err
	}
	for _, c := range cs {
		if c.ID != self {
			return true, nil
		}
	}
	return false, nil
}

// containerCreate: POST /containers/create. A container created with
// AutoRemove deletes its anonymous volumes when it stops, those it shares
// through VolumesFrom included: refused when one of them is protected. The
// engine also reads the HostConfig fields at the top level of the body
// (deprecated, when HostConfig is absent or null): both places are read.
// And whatever the body says, the container the engine created is checked
// before the client hears of it (CheckCreated).
func containerCreate(ctx context.Context, st State, p Policy, r Request) (Decision, error) {
	type hostConfig struct {
		AutoRemove  bool
		VolumesFrom []string
		Mounts      []mountSpec
	}
	var body struct {
		hostConfig
		HostConfig *hostConfig
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return Decision{}, badRequest{fmt.Errorf("cannot read the container configuration: %w", err)}
	}
	hc := body.hostConfig
	if n := body.HostConfig; n != nil {
		hc.AutoRemove = hc.AutoRemove || n.AutoRemove
		hc.VolumesFrom = append(hc.VolumesFrom, n.VolumesFrom...)
		hc.Mounts = append(hc.Mounts, n.Mounts...)
	}
	d := Decision{CheckCreated: true}
	if !hc.AutoRemove {
		return d, nil
	}
	for _, m := range hc.Mounts {
		if m.protectedAnonymous(p) {
			return deny("", http.StatusForbidden, "a container removed when it stops (--rm) would delete its anonymous volume at %s, which is labelled protected (%s=true); nothing was created", m.Target, p.Label), nil
		}
	}
	for _, from := range hc.VolumesFrom {
		name, _, _ := strings.Cut(from, ":")
		c, err := st.InspectContainer(ctx, name)
		if errors.Is(err, engine.ErrNotFound) {
			continue // the engine refuses the create itself
		}
		if err != nil {
			return Decision{}, err
		}
		v, err := protectedAnonymous(ctx, st, p, c)
		if err != nil {
			return Decision{}, err
		}
		if v != "" {
			return deny("", http.StatusForbidden, "a container removed when it stops (--rm) with --volumes-from %s would delete that container's anonymous volume %s, which is protected (label %s=true); nothing was created. Run it without --rm, or mount the volume by name",
				c.Name, v, p.Label), nil
		}
	}
	return d, nil
}

// CheckCreated looks at a container the engine has just created: when it
// is removed on stop (AutoRemove) and holds a protected anonymous volume,
// it returns the refusal message ("" when all is well).
func CheckCreated(ctx context.Context, st State, p Policy, id string) (string, error) {
	c, err := st.InspectContainer(ctx, id)
	if err != nil {
		return "", err
	}
	if !c.AutoRemove {
		return "", nil
	}
	v, err := protectedAnonymous(ctx, st, p, c)
	if err != nil || v == "" {
		return "", err
	}
	return Prefix + fmt.Sprintf("the container would be removed when it stops (--rm) and take the protected anonymous volume %s (label %s=true) with it; it was removed again before it could start", v, p.Label), nil
}

// protectedAnonymous returns a protected anonymous volume mounted by c
// ("" when none).
func protectedAnonymous(ctx context.Context, st State, p Policy, c engine.Container) (string, error) {
	anon, err := anonymousVolumes(ctx, st, c)
	if err != nil {
		return "", err
	}
	for _, v := range anon {
		if p.Protected(v.Labels) {
			return v.Name, nil
		}
	}
	return "", nil
}

// anonymousVolumes are the anonymous volumes c mounts: the ones the engine
// deletes with the container (a named mount never goes with it).
func anonymousVolumes(ctx context.Context, st State, c engine.Container) ([]engine.Volume, error) {
	var out []engine.Volume
	for _, m := range c.Mounts {
		if m.Type != "volume" || m.Name == "" {
			continue
		}
		v, err := st.InspectVolume(ctx, m.Name)
		if errors.Is(err, engine.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if v.Anonymous {
			out = append(out, v)
		}
	}
	return out, nil
}

// mountSpec is a mount of a create request (API field names: the engine
// decodes them case-insensitively with encoding/json, and so do we).
type mountSpec struct {
	Type          string
	Source        string
	Target        string
	VolumeOptions *struct{ Labels map[string]string }
}

func (m mountSpec) protectedAnonymous(p Policy) bool {
	return m.Type == "volume" && m.Source == "" && m.VolumeOptions != nil && p.Protected(m.VolumeOptions.Labels)
}

// serviceWrite: POST /services/create and /services/{id}/update. Swarm
// removes a task's container with its anonymous volumes whenever the task
// is replaced: a service with a protected anonymous volume is refused.
func serviceWrite(p Policy, r Request) (Decision, error) {
	var body struct {
		TaskTemplate *struct {
			ContainerSpec *struct{ Mounts []mountSpec }
		}
	}
	if err := json.Unmarshal(r.Body, &body); err != nil {
		return Decision{}, badRequest{fmt.Errorf("cannot read the service specification: %w", err)}
	}
	if body.TaskTemplate == nil || body.TaskTemplate.ContainerSpec == nil {
		return Decision{}, nil
	}
	for _, m := range body.TaskTemplate.ContainerSpec.Mounts {
		if m.protectedAnonymous(p) {
			return deny("", http.StatusForbidden, "swarm deletes a task's anonymous volumes when it replaces the task: the anonymous volume at %s is labelled protected (%s=true); nothing was changed. Mount a named volume instead", m.Target, p.Label), nil
		}
	}
	return Decision{}, nil
}

// boolValue reads a form value as the engine's httputils.BoolValue does.
func boolValue(f url.Values, key string) bool {
	s := strings.ToLower(strings.TrimSpace(f.Get(key)))
	return !(s == "" || s == "0" || s == "no" || s == "false" || s == "none")
}

// parseFilters reads the filters parameter in both of the engine's JSON
// forms ({"key":{"value":true}} and the legacy {"key":["value"]}).
func parseFilters(s string) (map[string][]string, error) {
	out := map[string][]string{}
	if s == "" {
		return out, nil
	}
	var modern map[string]map[string]bool
	if err := json.Unmarshal([]byte(s), &modern); err == nil {
		for k, vs := range modern {
			for v := range vs {
				out[k] = append(out[k], v)
			}
		}
		return out, nil
	}
	var legacy map[string][]string
	if err := json.Unmarshal([]byte(s), &legacy); err != nil {
		return nil, err
	}
	return legacy, nil
}

// MatchLabels applies a prune's label and label! filters to a volume's
// labels as the engine does (filters.Args.MatchKVList: every label= must
// match; a volume is excluded when it matches every label!= given).
func MatchLabels(f map[string][]string, labels map[string]string) bool {
	if pos := f["label"]; len(pos) > 0 && !matchKVList(pos, labels) {
		return false
	}
	if neg := f["label!"]; len(neg) > 0 && matchKVList(neg, labels) {
		return false
	}
	return true
}

func matchKVList(want []string, labels map[string]string) bool {
	if len(labels) == 0 {
		return false
	}
	for _, w := range want {
		k, v, hasV := strings.Cut(w, "=")
		got, ok := labels[k]
		if !ok || (hasV && got != v) {
			return false
		}
	}
	return true
}

// VersionLess compares API versions: "1.41" < "1.42".
func VersionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
