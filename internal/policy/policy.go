// Package policy decides what the wrapper does with a possibly destructive
// docker command: given the Intent and what the engine holds, which volumes
// would be deleted or recreated, and whether to pass, back up first, or
// block.
package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/ledger-docker/ledger-docker/internal/apiguard"
	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/intercept"
)

// Verdict is what the wrapper does.
type Verdict string

// The three verdicts.
const (
	Pass   Verdict = "pass"
	Backup Verdict = "backup"
	Block  Verdict = "block"
)

// Actions on a volume.
const (
	ActionDelete   = "delete"
	ActionRecreate = "recreate"
)

// Volume is one volume the command would lose.
type Volume struct {
	Name      string `json:"name"`
	Protected bool   `json:"protected"`
	Action    string `json:"action"`
	// ProtectedBy is the protect key whose value is true, for messages.
	ProtectedBy string `json:"-"`
	// Project is the compose project the volume belongs to ("" if none).
	Project string `json:"-"`
	// WorkingDir is that project's folder, when known.
	WorkingDir string `json:"-"`
	// Why says how the command would lose it, for messages.
	Why string `json:"-"`
}

// Decision is the policy's answer. Its JSON form is explain mode's output.
type Decision struct {
	Verdict Verdict  `json:"verdict"`
	Volumes []Volume `json:"volumes"`
	Reason  string   `json:"reason"`
	// Unavailable: blocked because the engine (or the project) could not
	// be read, so the command's effect is unknown.
	Unavailable bool `json:"-"`
	// Production: blocked by the environment lock.
	Production bool `json:"-"`
	// Advice lists safe alternatives, for the block message.
	Advice []string `json:"-"`
}

// Request is everything Decide looks at.
type Request struct {
	Intent intercept.Intent
	// Engine is nil when no connection could be made (EngineErr says why).
	Engine    engine.Engine
	EngineErr error
	Config    *config.Config
	Getenv    func(string) string
	// Env is the process environment, for loading compose projects.
	Env []string
	// Context is the docker context in use.
	Context string
}

// errUnreadable: the project could not be read, so the effect is unknown.
var errUnreadable = errors.New("cannot read the compose project")

// Decide returns the verdict for req.
func Decide(ctx context.Context, req Request) Decision {
	in := req.Intent
	if !in.Destructive() {
		return Decision{Verdict: Pass, Volumes: []Volume{}, Reason: "the command deletes no volume"}
	}
	if req.Engine == nil {
		return unavailable(in, req.EngineErr)
	}
	vols, err := affected(ctx, req)
	switch {
	case errors.Is(err, engine.ErrUnreachable):
		return unavailable(in, err)
	case err != nil:
		return Decision{Verdict: Block, Volumes: []Volume{}, Unavailable: true,
			Reason: fmt.Sprintf("cannot tell which volumes `%s` would delete: %v", in.CommandLine(), err)}
	}
	if vols == nil {
		vols = []Volume{} // JSON: [] rather than null
	}
	sort.SliceStable(vols, func(i, j int) bool { return vols[i].Name < vols[j].Name })
	d := Decision{Volumes: vols}
	if len(vols) == 0 {
		d.Verdict, d.Reason = Pass, "no existing volume would be deleted or recreated"
		return d
	}
	var protected, keys []string
	for _, v := range vols {
		if v.Protected {
			protected = append(protected, v.Name)
			if !slices.Contains(keys, v.ProtectedBy) {
				keys = append(keys, v.ProtectedBy)
			}
		}
	}
	if len(protected) > 0 {
		d.Verdict = Block
		d.Reason = fmt.Sprintf("would %s protected volume(s) %s (label %s)",
			verb(vols), strings.Join(protected, ", "), config.LabelText(keys))
		d.Advice = advice(in, keys)
		return d
	}
	if where := production(req, vols); where != "" && !req.Config.ProductionUnlocked(req.Getenv) {
		d.Verdict, d.Production = Block, true
		d.Reason = fmt.Sprintf("%s is listed as production: a command that deletes volumes needs %s=%s",
			where, req.Config.EnvVar, req.Config.ProdValue)
		d.Advice = []string{fmt.Sprintf("%s=%s %s", req.Config.EnvVar, req.Config.ProdValue, in.CommandLine())}
		return d
	}
	names := make([]string, len(vols))
	for i, v := range vols {
		names[i] = v.Name
	}
	d.Verdict = Backup
	d.Reason = fmt.Sprintf("would %s unprotected volume(s) %s: snapshot them first", verb(vols), strings.Join(names, ", "))
	return d
}

func verb(vols []Volume) string {
	del, rec := false, false
	for _, v := range vols {
		if v.Action == ActionRecreate {
			rec = true
		} else {
			del = true
		}
	}
	switch {
	case del && rec:
		return "delete or recreate"
	case rec:
		return "recreate"
	}
	return "delete"
}

func unavailable(in intercept.Intent, err error) Decision {
	msg := "the container engine is unreachable"
	if err != nil {
		msg = err.Error()
	}
	return Decision{Verdict: Block, Volumes: []Volume{}, Unavailable: true,
		Reason: fmt.Sprintf("cannot check which volumes `%s` would delete (%s)", in.CommandLine(), msg)}
}

// production names the production project or context the command touches
// ("" if none).
func production(req Request, vols []Volume) string {
	if req.Config.IsProduction("", req.Context) {
		return "docker context " + strconv.Quote(req.Context)
	}
	for _, v := range vols {
		if v.Project != "" && req.Config.IsProduction(v.Project, "") {
			return "project " + strconv.Quote(v.Project)
		}
	}
	return ""
}

// advice: keys are the protect keys that matched.
func advice(in intercept.Intent, keys []string) []string {
	prog := "docker compose"
	if in.ComposeV1 {
		prog = "docker-compose"
	}
	backup := "docker ledger backup   (back up the project first; restore with docker ledger restore)"
	switch in.Op {
	case intercept.OpComposeDown:
		return []string{prog + " down   (without -v: removes containers and networks, keeps every volume)", backup}
	case intercept.OpComposeRm:
		return []string{prog + " rm   (without -v: keeps the volumes)", backup}
	case intercept.OpComposeUp:
		return []string{"docker ledger protect VOLUME   (recreates the volume with its data and the expected compose labels)",
			"keep the volume's configuration unchanged in the compose file", backup}
	case intercept.OpVolumePrune, intercept.OpSystemPrune:
		if len(keys) > 1 {
			// the engine ANDs label! filters: one per key would keep only
			// volumes that carry all of them
			return []string{"docker volume rm with only the unprotected volumes   (one prune filter cannot keep volumes " +
				"protected by different keys: " + config.LabelText(keys) + ")", backup}
		}
		return []string{fmt.Sprintf("add --filter 'label!=%s=true' (or install.sh's pruneFilters) so protected volumes are kept", keys[0]), backup}
	case intercept.OpContainerRm:
		return []string{"docker rm   (without -v: keeps the volumes)", backup}
	case intercept.OpVolumeRm:
		return []string{"docker volume rm with only the unprotected volumes",
			"docker ledger volume snapshot VOLUME   (keep a copy first)", backup}
	}
	return []string{"remove the protect label only after a verified backup (docker ledger backup)"}
}

// affected lists the volumes the command would delete or recreate.
func affected(ctx context.Context, req Request) ([]Volume, error) {
	in := req.Intent
	switch in.Op {
	case intercept.OpVolumeRm:
		return volumeRm(ctx, req)
	case intercept.OpVolumePrune, intercept.OpSystemPrune:
		return prune(ctx, req)
	case intercept.OpContainerRm:
		return containerRm(ctx, req)
	case intercept.OpComposeDown, intercept.OpComposeRm, intercept.OpComposeUp:
		return composeOp(ctx, req)
	}
	return nil, fmt.Errorf("unknown operation %q", in.Op)
}

type collector struct {
	req  Request
	seen map[string]bool
	out  []Volume
}

func (c *collector) add(v engine.Volume, action, why string, declared map[string]string, project, dir string) {
	if c.seen[v.Name] {
		return
	}
	c.seen[v.Name] = true
	if project == "" {
		project = v.Labels[compose.ProjectLabel]
	}
	key := c.req.Config.ProtectedBy(v.Labels)
	if key == "" {
		key = c.req.Config.ProtectedBy(declared)
	}
	c.out = append(c.out, Volume{
		Name:        v.Name,
		Protected:   key != "",
		ProtectedBy: key,
		Action:      action,
		Project:     project,
		WorkingDir:  dir,
		Why:         why,
	})
}

func newCollector(req Request) *collector { return &collector{req: req, seen: map[string]bool{}} }

// inspect returns the volume, or ok=false when it does not exist.
func inspect(ctx context.Context, e engine.Engine, name string) (engine.Volume, bool, error) {
	v, err := e.InspectVolume(ctx, name)
	if errors.Is(err, engine.ErrNotFound) {
		return v, false, nil
	}
	return v, err == nil, err
}

func volumeRm(ctx context.Context, req Request) ([]Volume, error) {
	c := newCollector(req)
	for _, n := range req.Intent.Names {
		v, ok, err := inspect(ctx, req.Engine, n)
		if err != nil {
			return nil, err
		}
		if ok {
			c.add(v, ActionDelete, "named on the command line", nil, "", "")
		}
	}
	return c.out, nil
}

// anonymousOf adds the anonymous volumes mounted by containers (rm -v,
// compose down -v, compose rm -v remove those).
func (c *collector) anonymousOf(ctx context.Context, cs []engine.Container, why string) error {
	for _, ct := range cs {
		for _, m := range ct.Mounts {
			if m.Type != "volume" || m.Name == "" {
				continue
			}
			v, ok, err := inspect(ctx, c.req.Engine, m.Name)
			if err != nil {
				return err
			}
			if ok && v.Anonymous {
				c.add(v, ActionDelete, fmt.Sprintf("%s (anonymous volume of container %s)", why, ct.Name),
					nil, ct.Labels[compose.ProjectLabel], ct.Labels[compose.WorkingDirLabel])
			}
		}
	}
	return nil
}

func containerRm(ctx context.Context, req Request) ([]Volume, error) {
	c := newCollector(req)
	for _, n := range req.Intent.Names {
		ct, err := req.Engine.InspectContainer(ctx, n)
		if errors.Is(err, engine.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := c.anonymousOf(ctx, []engine.Container{ct}, "rm -v removes it"); err != nil {
			return nil, err
		}
	}
	return c.out, nil
}

// prune evaluates volume prune (and system prune --volumes) the way the
// engine does: unused local volumes; on API < 1.42 named ones too, from
// 1.42 anonymous ones only unless --all (filter all=true); then the label
// filters. Protected volumes are not listed: the engine API guard holds
// them in use while any prune runs, so a prune keeps them whatever its
// filters (and whatever the CLI config's pruneFilters, which docker CLI
// 28.1 and newer do not always apply).
func prune(ctx context.Context, req Request) ([]Volume, error) {
	in := req.Intent
	api := in.APIVersion
	if api == "" {
		info, err := req.Engine.Info(ctx)
		if err != nil {
			return nil, err
		}
		api = info.APIVersion
	}
	legacy := apiguard.VersionLess(api, "1.42")
	filters := in.Filters
	byKey := map[string][]string{}
	for _, f := range filters {
		k, v, _ := strings.Cut(f, "=")
		byKey[k] = append(byKey[k], v)
	}
	all := in.Op == intercept.OpVolumePrune && in.All
	for _, f := range filters {
		if k, v, _ := strings.Cut(f, "="); k == "all" && (v == "true" || v == "1") {
			all = true
		}
	}
	dangling := true
	unused, err := req.Engine.ListVolumes(ctx, engine.VolumeFilter{Dangling: &dangling})
	if err != nil {
		return nil, err
	}
	why := "unused volume removed by prune"
	if legacy {
		why += fmt.Sprintf(" (API %s < 1.42 prunes named volumes too)", api)
	}
	c := newCollector(req)
	for _, v := range unused {
		if v.Driver != "" && v.Driver != "local" {
			continue
		}
		if !legacy && !all && !v.Anonymous {
			continue
		}
		if !apiguard.MatchLabels(byKey, v.Labels) || req.Config.IsProtected(v.Labels) {
			continue
		}
		c.add(v, ActionDelete, why, nil, "", "")
	}
	return c.out, nil
}

// composeOp handles compose down -v, rm -v and up.
func composeOp(ctx context.Context, req Request) ([]Volume, error) {
	in := req.Intent
	opts := compose.Options{
		ConfigPaths: in.Compose.ConfigPaths,
		ProjectName: in.Compose.ProjectName,
		ProjectDir:  in.Compose.ProjectDir,
		Profiles:    in.Compose.Profiles,
		EnvFiles:    in.Compose.EnvFiles,
		Env:         req.Env,
	}
	for _, f := range opts.ConfigPaths {
		if f == "-" {
			// Reading it would consume the stdin the real command needs.
			return nil, fmt.Errorf("%w: the compose file comes from stdin (-f -); write it to a file to run this command", errUnreadable)
		}
	}
	var project *types.Project
	name := in.Compose.ProjectName
	// compose v2 finds a project given by -p alone (no -f) by its labels,
	// never by a file; so does down/rm when the file cannot be loaded but
	// COMPOSE_PROJECT_NAME names it. Compose v1 always reads the file.
	if in.ComposeV1 || name == "" || len(opts.ConfigPaths) > 0 || in.Op == intercept.OpComposeUp {
		p, err := compose.Load(ctx, opts)
		switch {
		case err == nil:
			project, name = p, p.Name
		case !in.ComposeV1 && in.Op != intercept.OpComposeUp && req.Getenv("COMPOSE_PROJECT_NAME") != "":
			name = req.Getenv("COMPOSE_PROJECT_NAME")
		case errors.Is(err, compose.ErrNoComposeFile):
			// compose fails the same way: nothing is deleted.
			return nil, nil
		default:
			return nil, fmt.Errorf("%w: %v", errUnreadable, err)
		}
	}
	c := newCollector(req)
	dir := ""
	if project != nil {
		dir = project.WorkingDir
	}
	if in.Op == intercept.OpComposeUp {
		return c.out, c.recreated(ctx, project)
	}
	containers, err := req.Engine.ListContainers(ctx, engine.ContainerFilter{All: true, Labels: []string{compose.ProjectLabel + "=" + name}})
	if err != nil {
		return nil, err
	}
	if dir == "" {
		for _, ct := range containers {
			if d := ct.Labels[compose.WorkingDirLabel]; d != "" {
				dir = d
				break
			}
		}
	}
	if in.Op == intercept.OpComposeRm {
		containers = byService(containers, in.Names)
		return c.out, c.anonymousOf(ctx, containers, "rm -v removes it")
	}
	// down -v: the project's named, non-external volumes, then anonymous
	// volumes of its containers.
	if project != nil {
		for _, key := range sortedKeys(project.Volumes) {
			decl := project.Volumes[key]
			if bool(decl.External) {
				continue
			}
			v, ok, err := inspect(ctx, req.Engine, decl.Name)
			if err != nil {
				return nil, err
			}
			if ok {
				c.add(v, ActionDelete, "down -v removes the project's named volumes", decl.Labels, name, dir)
			}
		}
	} else {
		vols, err := req.Engine.ListVolumes(ctx, engine.VolumeFilter{Labels: []string{compose.ProjectLabel + "=" + name}})
		if err != nil {
			return nil, err
		}
		for _, v := range vols {
			c.add(v, ActionDelete, "down -v removes the project's volumes (found by label "+compose.ProjectLabel+")", nil, name, dir)
		}
	}
	return c.out, c.anonymousOf(ctx, containers, "down -v removes it")
}

// recreated adds the declared volumes whose config hash changed: compose
// >= 2.32 offers to recreate them (and does with -y).
func (c *collector) recreated(ctx context.Context, project *types.Project) error {
	for _, key := range sortedKeys(project.Volumes) {
		decl := project.Volumes[key]
		if bool(decl.External) {
			continue
		}
		v, ok, err := inspect(ctx, c.req.Engine, decl.Name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		have, labelled := v.Labels[compose.ConfigHashLabel]
		if !labelled {
			continue
		}
		want, err := compose.VolumeHash(decl)
		if err != nil {
			return err
		}
		if have != want {
			c.add(v, ActionRecreate, "its configuration in the compose file changed: compose up recreates it (data lost)",
				decl.Labels, project.Name, project.WorkingDir)
		}
	}
	return nil
}

func byService(cs []engine.Container, services []string) []engine.Container {
	if len(services) == 0 {
		return cs
	}
	var out []engine.Container
	for _, ct := range cs {
		for _, s := range services {
			if ct.Labels[compose.ServiceLabel] == s {
				out = append(out, ct)
				break
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
