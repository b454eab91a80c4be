package pg

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
)

// ErrNoDatabase: the project has no PostgreSQL service (it wraps
// exitcode.ErrNotFound).
var ErrNoDatabase = fmt.Errorf("no PostgreSQL service: %w", exitcode.ErrNotFound)

// ErrNotRunning: the project's database service has no running container,
// so nothing can be dumped (it wraps exitcode.ErrNotFound).
var ErrNotRunning = fmt.Errorf("database service not running: %w", exitcode.ErrNotFound)

// DefaultDataDir is where the postgres image keeps its cluster (PGDATA).
const DefaultDataDir = "/var/lib/postgresql/data"

// Want are explicit settings (x-ledger, LEDGER_* or flags); empty fields
// are detected.
type Want struct {
	Service  string
	User     string
	Database string
}

// Service is a project's database service, found and running.
type Service struct {
	Project string `json:"project"`
	Service string `json:"service"`
	// Image is the image reference the container runs; ImageID its ID (a
	// test restore uses the very same image).
	Image   string `json:"image"`
	ImageID string `json:"image_id"`
	// Container is the running container's name.
	Container string `json:"container"`
	// DataDir is PGDATA inside the container.
	DataDir string `json:"data_dir"`
	// DB connects to the database (user, name, password env).
	DB DB `json:"-"`
}

// candidate is a service as detection sees it.
type candidate struct {
	name  string
	image string
	env   map[string]string
}

// isPostgresImage matches postgres, postgis/postgis, timescale/timescaledb,
// registry.example/library/postgres:16-alpine and the like.
func isPostgresImage(ref string) bool {
	repo := ref
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	base := path.Base(repo)
	for _, p := range []string{"postgres", "postgis", "timescaledb", "pgvector"} {
		if strings.HasPrefix(base, p) {
			return true
		}
	}
	return false
}

// isServerEnv: POSTGRES_* variables that configure a server (a client app
// with POSTGRES_HOST set connects to one elsewhere).
func isServerEnv(env map[string]string) bool {
	if _, ok := env["POSTGRES_HOST"]; ok {
		return false
	}
	for _, k := range []string{"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_HOST_AUTH_METHOD", "POSTGRES_INITDB_ARGS"} {
		if _, ok := env[k]; ok {
			return true
		}
	}
	return false
}

// pick chooses the database service: the one named in want, else the one
// service with a postgres image, else the one with server POSTGRES_* env.
func pick(project string, cands []candidate, want string) (candidate, error) {
	sort.Slice(cands, func(i, j int) bool { return cands[i].name < cands[j].name })
	if want != "" {
		for _, c := range cands {
			if c.name == want {
				return c, nil
			}
		}
		return candidate{}, fmt.Errorf("database service %q is not a service of project %s: %w", want, project, exitcode.ErrNotFound)
	}
	var byImage, byEnv []candidate
	for _, c := range cands {
		switch {
		case isPostgresImage(c.image):
			byImage = append(byImage, c)
		case isServerEnv(c.env):
			byEnv = append(byEnv, c)
		}
	}
	for _, set := range [][]candidate{byImage, byEnv} {
		switch len(set) {
		case 0:
			continue
		case 1:
			return set[0], nil
		default:
			var names []string
			for _, c := range set {
				names = append(names, c.name)
			}
			return candidate{}, fmt.Errorf("project %s has several PostgreSQL services (%s): name one with x-ledger: {database: {service: NAME}} or LEDGER_DB_SERVICE: %w",
				project, strings.Join(names, ", "), exitcode.ErrConfig)
		}
	}
	return candidate{}, fmt.Errorf("project %s: %w (no postgres image, no POSTGRES_* environment): name one with x-ledger: {database: {service: NAME}}",
		project, ErrNoDatabase)
}

func envMap(kvs []string) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// Candidates lists a loaded project's services for detection.
func projectCandidates(p *types.Project) []candidate {
	var cands []candidate
	for name, s := range p.Services {
		env := map[string]string{}
		for k, v := range s.Environment {
			if v != nil {
				env[k] = *v
			} else {
				env[k] = ""
			}
		}
		cands = append(cands, candidate{name: name, image: s.Image, env: env})
	}
	return cands
}

// Detect finds the project's database service and its running container.
// p may be nil when no compose file exists: the project's running
// containers (by compose's labels) are looked at instead.
func Detect(ctx context.Context, eng engine.Engine, projectName string, p *types.Project, want Want) (Service, error) {
	ctrs, err := eng.ListContainers(ctx, engine.ContainerFilter{Labels: []string{compose.ProjectLabel + "=" + projectName}})
	if err != nil {
		return Service{}, fmt.Errorf("list containers of project %s: %w", projectName, err)
	}
	// Listing does not return a container's environment: inspect.
	var running []engine.Container
	for _, c := range ctrs {
		if !c.Running || c.Labels[compose.OneoffLabel] == "True" {
			continue
		}
		full, err := eng.InspectContainer(ctx, c.ID)
		if err != nil {
			return Service{}, fmt.Errorf("inspect container %s: %w", c.Name, err)
		}
		running = append(running, full)
	}
	var cands []candidate
	if p != nil {
		cands = projectCandidates(p)
	} else {
		seen := map[string]bool{}
		for _, c := range running {
			name := c.Labels[compose.ServiceLabel]
			if name != "" && !seen[name] {
				seen[name] = true
				cands = append(cands, candidate{name: name, image: c.Image, env: envMap(c.Env)})
			}
		}
	}
	c, err := pick(projectName, cands, want.Service)
	if err != nil {
		return Service{}, err
	}
	var ctr *engine.Container
	for i := range running {
		if running[i].Labels[compose.ServiceLabel] == c.name {
			ctr = &running[i]
			break
		}
	}
	if ctr == nil {
		return Service{}, fmt.Errorf("database service %s of project %s is not running: start it (docker compose up -d %s) and try again: %w",
			c.name, projectName, c.name, ErrNotRunning)
	}
	// The container's own environment is what the server was started
	// with; the compose file's fills what it does not say.
	env := envMap(ctr.Env)
	for k, v := range c.env {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	svc := Service{
		Project: projectName, Service: c.name,
		Image: ctr.Image, ImageID: ctr.ImageID,
		Container: ctr.Name, DataDir: DefaultDataDir,
	}
	if v := env["PGDATA"]; v != "" {
		svc.DataDir = v
	}
	svc.DB = DB{Engine: eng, Container: ctr.Name, User: want.User, Name: want.Database}
	if svc.DB.User == "" {
		svc.DB.User = env["POSTGRES_USER"]
	}
	if svc.DB.User == "" {
		svc.DB.User = "postgres"
	}
	if svc.DB.Name == "" {
		svc.DB.Name = env["POSTGRES_DB"]
	}
	if svc.DB.Name == "" {
		svc.DB.Name = svc.DB.User
	}
	if pw := env["POSTGRES_PASSWORD"]; pw != "" {
		svc.DB.Env = []string{"PGPASSWORD=" + pw}
	}
	return svc, nil
}
