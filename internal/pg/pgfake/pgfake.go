// Package pgfake scripts psql, pg_dump and pg_isready for the fake engine
// (internal/engine/fake), so backups, verification and restores can be
// unit-tested: it answers the SQL that package pg sends with the rows a
// configured server would print.
package pgfake

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/pg"
)

// Database is what one server (container) holds.
type Database struct {
	Counts map[string]int64
	Schema []string
	Roles  []string
	// Size is pg_database_size.
	Size int64
}

// Server answers execs. Zero fields have working defaults.
type Server struct {
	mu sync.Mutex
	// DBs by container (name or ID); Default serves any other container.
	DBs     map[string]*Database
	Default *Database
	// Dump is pg_dump's output (default: a small complete dump).
	Dump []byte
	// DumpExit is pg_dump's exit status (0 = success).
	DumpExit int
	// LoadError makes a restore (psql reading a dump) fail with it.
	LoadError string
	// Loaded records how many SQL bytes each container's restore read.
	Loaded map[string]int
	// OnLoad, when set, makes the restored database of a container
	// (the test restore's counts and schema).
	OnLoad func(container string) *Database
	// Version is the server and pg_dump version.
	Version string
}

// DefaultDatabase is a small ledger.
func DefaultDatabase() *Database {
	return &Database{
		Counts: map[string]int64{"public.accounts": 3, "public.transactions": 42},
		Schema: []string{"column public.accounts 00001 id integer not null", "relation public.accounts kind=r persistence=p"},
		Roles:  []string{"ledger"},
		Size:   8 << 20,
	}
}

// CompleteDump is a small dump ending with pg_dump's trailer, padded to
// at least size bytes with rows of pseudo-random memo text (so it does not
// compress to nothing).
func CompleteDump(size int) []byte {
	var b strings.Builder
	b.WriteString("--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 15.20\n-- Dumped by pg_dump version 15.20\n\nCOPY public.transactions (id, memo) FROM stdin;\n")
	x := uint64(42)
	for i := 0; b.Len() < size; i++ {
		x = x*6364136223846793005 + 1442695040888963407
		fmt.Fprintf(&b, "%d\t%016x%016x\n", i, x, x*31)
	}
	b.WriteString("\\.\n")
	b.WriteString("\n--\n-- " + "PostgreSQL database dump complete" + "\n--\n\n\\unrestrict abc\n\n")
	return []byte(b.String())
}

func (s *Server) db(container string) *Database {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.DBs[container]; ok {
		return d
	}
	if s.Default == nil {
		s.Default = DefaultDatabase()
	}
	return s.Default
}

// Exec is the fake engine's ExecHandler.
func (s *Server) Exec(ctx context.Context, container string, spec engine.ExecSpec) error {
	out := spec.Stdout
	if out == nil {
		out = io.Discard
	}
	version := s.Version
	if version == "" {
		version = "15.20"
	}
	switch spec.Cmd[0] {
	case "pg_isready":
		return nil
	case "pg_dump":
		if len(spec.Cmd) > 1 && spec.Cmd[1] == "--version" {
			fmt.Fprintf(out, "pg_dump (PostgreSQL) %s\n", version)
			return nil
		}
		dump := s.Dump
		if dump == nil {
			dump = CompleteDump(64 << 10)
		}
		if _, err := out.Write(dump); err != nil {
			return err
		}
		if s.DumpExit != 0 {
			if spec.Stderr != nil {
				fmt.Fprintln(spec.Stderr, "pg_dump: error: query failed: server closed the connection unexpectedly")
			}
			return &engine.ExitError{Code: s.DumpExit, Stderr: "pg_dump: error: query failed"}
		}
		return nil
	case "psql":
		if isQuery(spec.Cmd) {
			return s.session(container, spec, version)
		}
		return s.load(container, spec)
	}
	return &engine.ExitError{Code: 127, Stderr: "pgfake: unknown command " + spec.Cmd[0]}
}

// isQuery: psql -A -t (package pg's queries and sessions), not a restore.
func isQuery(cmd []string) bool {
	for _, a := range cmd {
		if a == "-A" {
			return true
		}
	}
	return false
}

// session answers statements up to each \echo marker, and the rest at EOF.
func (s *Server) session(container string, spec engine.ExecSpec, version string) error {
	d := s.db(container)
	w := spec.Stdout
	if w == nil {
		w = io.Discard
	}
	sc := bufio.NewScanner(spec.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var stmt strings.Builder
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, `\echo `) {
			answer(w, stmt.String(), d, version)
			fmt.Fprintln(w, strings.TrimPrefix(line, `\echo `))
			stmt.Reset()
			continue
		}
		stmt.WriteString(line + "\n")
	}
	answer(w, stmt.String(), d, version)
	return nil
}

func answer(w io.Writer, sql string, d *Database, version string) {
	switch {
	case strings.TrimSpace(sql) == "":
	case strings.Contains(sql, "SELECT 'size'"):
		fmt.Fprintf(w, "size%s%d\n", pg.FieldSep, d.Size)
		for _, r := range d.Roles {
			fmt.Fprintf(w, "role%s%s\n", pg.FieldSep, r)
		}
	case strings.Contains(sql, "pg_export_snapshot"):
		fmt.Fprintln(w, "00000003-0000001B-1")
	case strings.Contains(sql, "SHOW server_version"):
		fmt.Fprintln(w, version)
	case strings.Contains(sql, "pg_database_size"):
		fmt.Fprintln(w, d.Size)
	case strings.Contains(sql, "FROM pg_roles"):
		for _, r := range d.Roles {
			fmt.Fprintln(w, r)
		}
	case strings.Contains(sql, "count(*)"):
		tables := make([]string, 0, len(d.Counts))
		for t := range d.Counts {
			tables = append(tables, t)
		}
		sort.Strings(tables)
		for _, t := range tables {
			fmt.Fprintf(w, "%s%s%d\n", t, pg.FieldSep, d.Counts[t])
		}
	case strings.Contains(sql, "'relation '"):
		for _, l := range d.Schema {
			fmt.Fprintln(w, l)
		}
	}
}

// load reads a restore's SQL; LoadError fails it like psql ON_ERROR_STOP.
func (s *Server) load(container string, spec engine.ExecSpec) error {
	n, _ := io.Copy(io.Discard, spec.Stdin)
	s.mu.Lock()
	if s.Loaded == nil {
		s.Loaded = map[string]int{}
	}
	s.Loaded[container] += int(n)
	loadErr, onLoad := s.LoadError, s.OnLoad
	s.mu.Unlock()
	if loadErr != "" {
		if spec.Stderr != nil {
			fmt.Fprintf(spec.Stderr, "psql:<stdin>:12: ERROR:  %s\n", loadErr)
		}
		return &engine.ExitError{Code: 3, Stderr: "ERROR:  " + loadErr}
	}
	restored := s.db("")
	if onLoad != nil {
		restored = onLoad(container)
	}
	s.mu.Lock()
	if s.DBs == nil {
		s.DBs = map[string]*Database{}
	}
	s.DBs[container] = restored
	s.mu.Unlock()
	return nil
}
