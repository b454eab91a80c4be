package pg_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/pg"
	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
)

func TestHasTrailer(t *testing.T) {
	for _, c := range []struct {
		tail string
		want bool
	}{
		{"...\n--\n-- PostgreSQL database dump complete\n--\n\n", true},
		{"...\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict AbC123\n\n", true},
		{"...\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict AbC123", true},
		{"...\nCOPY public.t (id) FROM stdin;\n1\n2\n", false},
		{"", false},
		{"-- PostgreSQL database dump complete\n--\nSELECT 1;\n", false},
	} {
		if got := pg.HasTrailer([]byte(c.tail)); got != c.want {
			t.Errorf("HasTrailer(%q) = %v, want %v", c.tail, got, c.want)
		}
	}
}

func TestTailWriterKeepsTheEnd(t *testing.T) {
	tw := &pg.TailWriter{}
	dump := pgfake.CompleteDump(100 << 10)
	for i := 0; i < len(dump); i += 777 {
		tw.Write(dump[i:min(i+777, len(dump))])
	}
	if tw.N != int64(len(dump)) || !pg.HasTrailer(tw.Tail()) || !bytes.HasSuffix(dump, tw.Tail()) {
		t.Errorf("N=%d tail=%q", tw.N, tw.Tail())
	}
}

func str(s string) *string { return &s }

func project(services map[string]types.ServiceConfig) *types.Project {
	return &types.Project{Name: "shop", Services: services}
}

func addCtr(e *fake.Engine, service, image string, env ...string) {
	e.AddContainer(engine.Container{
		Name: "shop-" + service + "-1", Image: image, ImageID: "sha256:" + service, Running: true, Env: env,
		Labels: map[string]string{compose.ProjectLabel: "shop", compose.ServiceLabel: service},
	})
}

func TestDetect(t *testing.T) {
	e := fake.New()
	addCtr(e, "db", "postgres:16-alpine", "POSTGRES_USER=ledger", "POSTGRES_DB=books", "POSTGRES_PASSWORD=s3cret", "PGDATA=/data")
	addCtr(e, "app", "shop/app:1")
	p := project(map[string]types.ServiceConfig{
		"db":  {Name: "db", Image: "postgres:16-alpine"},
		"app": {Name: "app", Image: "shop/app:1", Environment: types.MappingWithEquals{"POSTGRES_HOST": str("db"), "POSTGRES_USER": str("ledger")}},
	})
	svc, err := pg.Detect(context.Background(), e, "shop", p, pg.Want{})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Service != "db" || svc.Container != "shop-db-1" || svc.DB.User != "ledger" || svc.DB.Name != "books" ||
		svc.DataDir != "/data" || svc.ImageID != "sha256:db" || len(svc.DB.Env) != 1 || svc.DB.Env[0] != "PGPASSWORD=s3cret" {
		t.Errorf("svc = %+v", svc)
	}
	// Explicit settings win over the environment.
	svc, err = pg.Detect(context.Background(), e, "shop", p, pg.Want{User: "admin", Database: "other"})
	if err != nil || svc.DB.User != "admin" || svc.DB.Name != "other" {
		t.Errorf("want overrides: %+v %v", svc, err)
	}
	// Without a compose file: the running containers' labels and env.
	svc, err = pg.Detect(context.Background(), e, "shop", nil, pg.Want{})
	if err != nil || svc.Service != "db" || svc.DB.Name != "books" {
		t.Errorf("by labels: %+v %v", svc, err)
	}
}

func TestDetectByEnvAndDefaults(t *testing.T) {
	e := fake.New()
	addCtr(e, "database", "registry.local/custom-pg:3")
	p := project(map[string]types.ServiceConfig{
		"database": {Name: "database", Image: "registry.local/custom-pg:3", Environment: types.MappingWithEquals{"POSTGRES_PASSWORD": str("x")}},
		"web":      {Name: "web", Image: "nginx"},
	})
	svc, err := pg.Detect(context.Background(), e, "shop", p, pg.Want{})
	if err != nil || svc.Service != "database" || svc.DB.User != "postgres" || svc.DB.Name != "postgres" || svc.DB.Env[0] != "PGPASSWORD=x" {
		t.Errorf("svc = %+v, %v", svc, err)
	}
}

func TestDetectErrors(t *testing.T) {
	e := fake.New()
	two := project(map[string]types.ServiceConfig{
		"a": {Name: "a", Image: "postgres:15"}, "b": {Name: "b", Image: "postgis/postgis:15-3.4"},
	})
	none := project(map[string]types.ServiceConfig{"web": {Name: "web", Image: "nginx"}})
	stopped := project(map[string]types.ServiceConfig{"db": {Name: "db", Image: "postgres"}})
	for name, c := range map[string]struct {
		p    *types.Project
		want pg.Want
		err  error
		code int
	}{
		"several":     {two, pg.Want{}, exitcode.ErrConfig, exitcode.Config},
		"none":        {none, pg.Want{}, pg.ErrNoDatabase, exitcode.NotFound},
		"not running": {stopped, pg.Want{}, pg.ErrNotRunning, exitcode.NotFound},
		"unknown":     {stopped, pg.Want{Service: "nope"}, exitcode.ErrNotFound, exitcode.NotFound},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := pg.Detect(context.Background(), e, "shop", c.p, c.want)
			if !errors.Is(err, c.err) || exitcode.Of(err) != c.code {
				t.Errorf("err = %v (exit %d), want %v", err, exitcode.Of(err), c.err)
			}
		})
	}
}

// newDB is database books of user ledger, a DefaultDatabase, in shop-db-1.
func newDB() (pg.DB, *pgfake.Server) {
	e := fake.New()
	addCtr(e, "db", "postgres:15")
	srv := pgfake.Serve(e, "shop-db-1", "ledger", "books", pgfake.DefaultDatabase())
	return pg.DB{Engine: e, Container: "shop-db-1", User: "ledger", Name: "books"}, srv
}

func TestDumpCountsAndFingerprintInTheSnapshot(t *testing.T) {
	db, _ := newDB()
	var out bytes.Buffer
	res, err := db.Dump(context.Background(), &out, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Snapshot != "00000003-0000001B-1" || res.Counts["public.transactions"] != 42 || !res.Complete ||
		res.Bytes != int64(out.Len()) || res.Fingerprint != pg.FingerprintOf(pgfake.DefaultDatabase().Schema) {
		t.Errorf("res = %+v", res)
	}
	calls := strings.Join(db.Engine.(*fake.Engine).Calls(), "\n")
	if !strings.Contains(calls, "pg_dump --no-password -U ledger -d books --snapshot=00000003-0000001B-1") {
		t.Errorf("pg_dump did not run in the snapshot:\n%s", calls)
	}
}

func TestDumpFailures(t *testing.T) {
	db, srv := newDB()
	srv.DumpExit = 1
	_, err := db.Dump(context.Background(), &bytes.Buffer{}, nil)
	var ee *engine.ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Errorf("exit 1: err = %v", err)
	}
	db, srv = newDB()
	srv.Dump = []byte("--\n-- PostgreSQL database dump\n--\nCOPY t FROM stdin;\n1\n")
	res, err := db.Dump(context.Background(), &bytes.Buffer{}, nil)
	if err == nil || res.Complete || !strings.Contains(err.Error(), pg.Trailer) {
		t.Errorf("no trailer: res=%+v err=%v", res, err)
	}
}

func TestVersionsCountsRoles(t *testing.T) {
	db, srv := newDB()
	srv.Version = "16.4"
	ctx := context.Background()
	v, err := db.Versions(ctx)
	if err != nil || v.Server != "16.4" || v.PgDump != "16.4" {
		t.Errorf("versions %+v %v", v, err)
	}
	c, err := db.Counts(ctx)
	if err != nil || len(c) != 2 {
		t.Errorf("counts %v %v", c, err)
	}
	r, err := db.Roles(ctx)
	if err != nil || len(r) != 1 || r[0] != "ledger" {
		t.Errorf("roles %v %v", r, err)
	}
}

func TestHeaderVersions(t *testing.T) {
	v := pg.HeaderVersions(pgfake.CompleteDump(10))
	if v.Server != "15.20" || v.PgDump != "15.20" {
		t.Errorf("versions = %+v", v)
	}
}

func TestMissingDatabase(t *testing.T) {
	db, _ := newDB()
	_, err := db.On("nope").Counts(context.Background())
	var ee *engine.ExitError
	if !errors.As(err, &ee) || ee.Code != 2 || !strings.Contains(err.Error(), `database "nope" does not exist`) {
		t.Errorf("err = %v", err)
	}
}
