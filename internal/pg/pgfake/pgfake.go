// Package pgfake plays PostgreSQL servers behind the fake engine
// (internal/engine/fake), so backups, verification and restores can be
// unit-tested: psql, pg_dump and pg_isready in a container answer the SQL
// that packages pg, verify and restore send as a server would.
//
// The model: one server (a Cluster) per container, holding named databases
// and roles; each Database has its row counts, schema lines, size,
// relation count and the SQL loaded into it. psql and pg_dump connect to
// the database named by -d. Queries are answered statement by statement,
// keyed on package pg's SQL constants where it has them; CREATE, ALTER ...
// RENAME and DROP DATABASE change the cluster; a statement the fake does
// not know fails, so the fake cannot silently drift from pg. A load (psql
// run with PGOPTIONS, as restore runs it, or --single-transaction, as
// verify does) reads a dump: its lines are appended to the database's SQL
// and, when it ends without error, the database holds Server.Restores's
// tables.
package pgfake

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
	"github.com/ledger-docker/ledger-docker/internal/pg"
)

// Database is one database of a server.
type Database struct {
	// Counts are the exact row counts by "schema.table".
	Counts map[string]int64
	// Schema is the schema description (pg.SchemaSQL's lines).
	Schema []string
	// Size is pg_database_size.
	Size int64
	// Relations is the user relation count (pg.RelationCountSQL).
	Relations int
	// SQL is what loads wrote into the database.
	SQL   string
	Owner string
	// closed: ALTER DATABASE ... WITH ALLOW_CONNECTIONS false.
	closed bool
}

func (d *Database) clone() *Database {
	c := *d
	c.Counts = maps.Clone(d.Counts)
	c.Schema = slices.Clone(d.Schema)
	return &c
}

// Cluster is one server: its databases by name, and its roles.
type Cluster struct {
	DBs   map[string]*Database
	Roles []string
}

// NewCluster is a server as the postgres image initialises it for
// POSTGRES_USER=user and POSTGRES_DB=db: databases postgres, template0
// (which takes no connections), template1 and db, holding d (empty when
// nil), all owned by user, the one role.
func NewCluster(user, db string, d *Database) *Cluster {
	c := &Cluster{DBs: map[string]*Database{}, Roles: []string{user}}
	for _, name := range []string{"postgres", "template0", "template1", db} {
		c.DBs[name] = &Database{Owner: user, closed: name == "template0"}
	}
	if d != nil {
		if d.Owner == "" {
			d.Owner = user
		}
		c.DBs[db] = d
	}
	return c
}

func (c *Cluster) clone() *Cluster {
	out := &Cluster{DBs: map[string]*Database{}, Roles: slices.Clone(c.Roles)}
	for name, d := range c.DBs {
		out.DBs[name] = d.clone()
	}
	return out
}

// DefaultDatabase is a small ledger: what CompleteDump stands for.
func DefaultDatabase() *Database {
	return &Database{
		Counts:    map[string]int64{"public.accounts": 3, "public.transactions": 42},
		Schema:    []string{"column public.accounts 00001 id integer not null", "relation public.accounts kind=r persistence=p"},
		Size:      8 << 20,
		Relations: 2,
	}
}

// SmallSchema is SmallDatabase's schema description.
const SmallSchema = "relation public.t kind=r persistence=p"

// SmallFingerprint is SmallSchema's fingerprint, as pg.DB.Fingerprint
// computes it.
var SmallFingerprint = pg.FingerprintOf([]string{SmallSchema})

// SmallDump is a small complete plain pg_dump of SmallDatabase: table
// public.t with 2 rows, owned by a role the server does not have.
const SmallDump = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (i int);\nCOPY t (i) FROM stdin;\n1\n2\n\\.\n" +
	"ALTER TABLE t OWNER TO ghost;\n--\n-- PostgreSQL database dump complete\n--\n"

// SmallDatabase is what SmallDump restores.
func SmallDatabase() *Database {
	return &Database{Counts: map[string]int64{"public.t": 2}, Schema: []string{SmallSchema}, Relations: 1}
}

// CompleteDump is a small dump as pg_dump 15.14 and later write it (in
// psql's \restrict mode, left at the end), ending with pg_dump's trailer,
// padded to at least size bytes with rows of pseudo-random memo text (so
// it does not compress to nothing).
func CompleteDump(size int) []byte {
	var b strings.Builder
	b.WriteString("--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\n-- Dumped from database version 15.20\n-- Dumped by pg_dump version 15.20\n\nCOPY public.transactions (id, memo) FROM stdin;\n")
	x := uint64(42)
	for i := 0; b.Len() < size; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		fmt.Fprintf(&b, "%d\t%016x%016x\n", i, x, x*31)
	}
	b.WriteString("\\.\n")
	b.WriteString("\n--\n-- " + "PostgreSQL database dump complete" + "\n--\n\n\\unrestrict abc\n\n")
	return []byte(b.String())
}

// Snapshot is the snapshot every transaction exports.
const Snapshot = "00000003-0000001B-1"

// Server answers the fake engine's execs. Zero fields have working
// defaults.
type Server struct {
	mu  sync.Mutex
	eng *fake.Engine
	// Clusters by container, as execs name it (name or ID). A container
	// without one gets NewCluster from its POSTGRES_USER and POSTGRES_DB
	// (default postgres, and the user) on its first exec, as the image's
	// entrypoint would make it.
	Clusters map[string]*Cluster
	// Restores is what a database holds once a load ended without error:
	// its counts, schema, size and relations (default DefaultDatabase).
	Restores *Database
	// Dump is pg_dump's output (default: CompleteDump(64 KB)).
	Dump []byte
	// DumpExit is pg_dump's exit status (0 = success).
	DumpExit int
	// FailOn makes the statement or loaded line containing it fail.
	FailOn string
	// Loaded counts the bytes each container's loads read.
	Loaded map[string]int
	// Version is the server and pg_dump version (default 15.20).
	Version string
	// Log records every statement run outside loads, "LOAD db" for each
	// load, and Record's events, in order.
	Log []string
}

// New returns a server answering e's execs (its ExecHandler).
func New(e *fake.Engine) *Server {
	s := &Server{eng: e, Clusters: map[string]*Cluster{}, Loaded: map[string]int{}}
	e.ExecHandler = s.Exec
	return s
}

// Serve is New with container's server made by NewCluster(user, db, d).
func Serve(e *fake.Engine, container, user, db string, d *Database) *Server {
	s := New(e)
	s.Clusters[container] = NewCluster(user, db, d)
	return s
}

// RestoreTarget is Serve for restore tests: container's server has
// database ledger of user ledger holding "old data" in 3 relations, and a
// load restores SmallDatabase.
func RestoreTarget(e *fake.Engine, container string) *Server {
	s := Serve(e, container, "ledger", "ledger", &Database{SQL: "old data", Relations: 3})
	s.Restores = SmallDatabase()
	return s
}

// DB returns a database of container's server (nil if there is none).
func (s *Server) DB(container, name string) *Database {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.Clusters[container]; c != nil {
		return c.DBs[name]
	}
	return nil
}

// SQL returns what loads wrote into a database ("" if there is none).
func (s *Server) SQL(container, name string) string {
	if d := s.DB(container, name); d != nil {
		return d.SQL
	}
	return ""
}

// Names lists the databases of container's server, sorted.
func (s *Server) Names(container string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.Clusters[container]; c != nil {
		return slices.Sorted(maps.Keys(c.DBs))
	}
	return nil
}

// Record appends an event to the log (e.g. a safety backup taken).
func (s *Server) Record(event string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Log = append(s.Log, event)
}

// Statements returns the logged entries that start with one of prefixes.
func (s *Server) Statements(prefixes ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.Log {
		if slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(l, p) }) {
			out = append(out, l)
		}
	}
	return out
}

func (s *Server) version() string {
	if s.Version == "" {
		return "15.20"
	}
	return s.Version
}

// Exec is the fake engine's ExecHandler.
func (s *Server) Exec(ctx context.Context, container string, spec engine.ExecSpec) error {
	spec.Stdout, spec.Stderr = orDiscard(spec.Stdout), orDiscard(spec.Stderr)
	switch spec.Cmd[0] {
	case "pg_isready":
		return nil
	case "pg_dump":
		return s.pgDump(ctx, container, spec)
	case "psql":
		return s.psql(ctx, container, spec)
	}
	return fail(spec, 127, "pgfake: unknown command "+spec.Cmd[0])
}

func (s *Server) pgDump(ctx context.Context, container string, spec engine.ExecSpec) error {
	if slices.Contains(spec.Cmd, "--version") {
		fmt.Fprintf(spec.Stdout, "pg_dump (PostgreSQL) %s\n", s.version())
		return nil
	}
	if _, _, err := s.connect(ctx, container, spec); err != nil {
		return err
	}
	dump := s.Dump
	if dump == nil {
		dump = CompleteDump(64 << 10)
	}
	if _, err := spec.Stdout.Write(dump); err != nil {
		return err
	}
	if s.DumpExit != 0 {
		return fail(spec, s.DumpExit, "pg_dump: error: query failed: server closed the connection unexpectedly")
	}
	return nil
}

// connect returns the cluster of container and the database -d names,
// failing as the client does when it does not take connections.
func (s *Server) connect(ctx context.Context, container string, spec engine.ExecSpec) (*Cluster, string, error) {
	s.mu.Lock()
	c := s.Clusters[container]
	s.mu.Unlock()
	if c == nil {
		ctr, err := s.eng.InspectContainer(ctx, container)
		if err != nil {
			return nil, "", err
		}
		env := map[string]string{"POSTGRES_USER": "postgres"}
		for _, kv := range ctr.Env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		if env["POSTGRES_DB"] == "" {
			env["POSTGRES_DB"] = env["POSTGRES_USER"]
		}
		s.mu.Lock()
		if s.Clusters == nil {
			s.Clusters = map[string]*Cluster{}
		}
		if s.Clusters[container] == nil {
			s.Clusters[container] = NewCluster(env["POSTGRES_USER"], env["POSTGRES_DB"], nil)
		}
		c = s.Clusters[container]
		s.mu.Unlock()
	}
	name := arg(spec.Cmd, "-d")
	s.mu.Lock()
	d := c.DBs[name]
	s.mu.Unlock()
	code := 2 // psql: the connection failed
	if spec.Cmd[0] == "pg_dump" {
		code = 1
	}
	switch {
	case d == nil:
		return nil, "", fail(spec, code, fmt.Sprintf("%s: FATAL: database %q does not exist", spec.Cmd[0], name))
	case d.closed:
		return nil, "", fail(spec, code, fmt.Sprintf("%s: FATAL: database %q is not currently accepting connections", spec.Cmd[0], name))
	}
	return c, name, nil
}

// arg returns the value after flag in cmd ("" when absent).
func arg(cmd []string, flag string) string {
	if i := slices.Index(cmd, flag); i >= 0 && i+1 < len(cmd) {
		return cmd[i+1]
	}
	return ""
}

// fail prints msg on stderr and returns the exit error.
func fail(spec engine.ExecSpec, code int, msg string) error {
	fmt.Fprintln(spec.Stderr, msg)
	return &engine.ExitError{Code: code, Stderr: msg}
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
