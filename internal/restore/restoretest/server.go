// Package restoretest is a fake PostgreSQL server for unit tests of
// restores: the fake engine's ExecHandler answers psql as the server would
// for the statements internal/restore and internal/pg send.
package restoretest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/pg"
)

// Server plays a PostgreSQL server behind psql in the fake engine: it keeps
// the set of databases (each with the SQL loaded into it) and applies the
// CREATE / ALTER ... RENAME / DROP DATABASE statements restore sends, so
// tests can check what exists under which name after each step.
type Server struct {
	mu sync.Mutex
	// DBs maps database names to the SQL loaded into them.
	DBs map[string]string
	// Relations maps database names to their user relation count.
	Relations map[string]int
	Roles     []string
	// FailOn makes the statement (or loaded SQL) containing it fail.
	FailOn string
	// Log records every statement (and "LOAD db") in order.
	Log []string
}

// Schema is the schema description of every database the fake loads.
const Schema = "relation public.t kind=r persistence=p"

// Fingerprint is Schema's fingerprint, as pg.DB.Fingerprint computes it.
var Fingerprint = pg.FingerprintOf([]string{Schema})

// Dump is a small complete plain pg_dump: table public.t with 2 rows,
// owned by a role the server does not have.
const Dump = "--\n-- PostgreSQL database dump\n--\nCREATE TABLE t (i int);\nCOPY t (i) FROM stdin;\n1\n2\n\\.\n" +
	"ALTER TABLE t OWNER TO ghost;\n--\n-- PostgreSQL database dump complete\n--\n"

// NewServer returns a server with databases postgres, template1 and
// "ledger" (3 relations, content "old data"), and roles ledger, postgres.
func NewServer() *Server {
	return &Server{
		DBs:       map[string]string{"postgres": "", "template1": "", "ledger": "old data"},
		Relations: map[string]int{"ledger": 3},
		Roles:     []string{"ledger", "postgres"},
	}
}

// Record appends an event to the log (e.g. a safety backup taken).
func (f *Server) Record(event string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Log = append(f.Log, event)
}

var (
	reCreate = regexp.MustCompile(`^CREATE DATABASE "([^"]+)"`)
	reRename = regexp.MustCompile(`^ALTER DATABASE "([^"]+)" RENAME TO "([^"]+)"`)
	reDrop   = regexp.MustCompile(`^DROP DATABASE IF EXISTS "([^"]+)"`)
)

// Exec is the fake engine's ExecHandler.
func (f *Server) Exec(ctx context.Context, container string, spec engine.ExecSpec) error {
	if spec.Cmd[0] != "psql" {
		return &engine.ExitError{Code: 127}
	}
	db := spec.Cmd[slices.Index(spec.Cmd, "-d")+1]
	f.mu.Lock()
	_, ok := f.DBs[db]
	f.mu.Unlock()
	if !ok {
		return &engine.ExitError{Code: 2, Stderr: fmt.Sprintf("psql: FATAL: database %q does not exist", db)}
	}
	if slices.ContainsFunc(spec.Env, func(e string) bool { return strings.HasPrefix(e, "PGOPTIONS=") }) {
		return f.load(db, spec)
	}
	in, err := io.ReadAll(spec.Stdin)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sql := string(in)
	switch {
	case strings.Contains(sql, `\gexec`): // pg.CountsSQL
		if strings.Contains(f.DBs[db], "COPY t") {
			fmt.Fprintln(spec.Stdout, "public.t\x1f2")
		}
		return nil
	case sql == pg.SchemaSQL+"\n":
		fmt.Fprintln(spec.Stdout, Schema)
		return nil
	}
	// Undo of a failed transaction: keep the names as they were.
	snapshot := map[string]string{}
	for k, v := range f.DBs {
		snapshot[k] = v
	}
	inTx := false
	for _, stmt := range strings.Split(sql, ";\n") {
		stmt = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(stmt), ";"))
		if stmt == "" {
			continue
		}
		f.Log = append(f.Log, stmt)
		if f.FailOn != "" && strings.Contains(stmt, f.FailOn) {
			if inTx {
				f.DBs = snapshot
			}
			return &engine.ExitError{Code: 3, Stderr: "ERROR:  injected failure"}
		}
		switch {
		case stmt == "BEGIN":
			inTx = true
			snapshot = map[string]string{}
			for k, v := range f.DBs {
				snapshot[k] = v
			}
		case stmt == "COMMIT":
			inTx = false
		case strings.Contains(stmt, "FROM pg_database d"):
			for _, name := range f.Names() {
				if strings.Contains(stmt, "'"+name+"'") || strings.Contains(name, "__ledger_") {
					fmt.Fprintf(spec.Stdout, "%s\x1fledger\x1fUTF8\x1fC.UTF-8\x1fC.UTF-8\n", name)
				}
			}
		case stmt+";" == pg.RelationCountSQL:
			fmt.Fprintf(spec.Stdout, "%d\n", f.Relations[db])
		case strings.Contains(stmt, "FROM pg_roles"):
			fmt.Fprintln(spec.Stdout, strings.Join(f.Roles, "\n"))
		case strings.Contains(stmt, "pg_terminate_backend"):
			fmt.Fprintln(spec.Stdout, "1")
		case reCreate.MatchString(stmt):
			f.DBs[reCreate.FindStringSubmatch(stmt)[1]] = ""
		case reRename.MatchString(stmt):
			m := reRename.FindStringSubmatch(stmt)
			f.DBs[m[2]] = f.DBs[m[1]]
			delete(f.DBs, m[1])
		case reDrop.MatchString(stmt):
			delete(f.DBs, reDrop.FindStringSubmatch(stmt)[1])
		}
	}
	return nil
}

// load plays a psql session loading a dump (restore's sessions set
// PGOPTIONS): it reads line by line, answers sync markers as they come, and
// appends the rest to the database's content.
func (f *Server) load(db string, spec engine.ExecSpec) error {
	f.Record("LOAD " + db)
	br := bufio.NewReader(spec.Stdin)
	restricted := false
	for {
		line, err := br.ReadString('\n')
		switch {
		case strings.HasPrefix(line, `\restrict `):
			restricted = true
		case strings.HasPrefix(line, `\unrestrict `) && !restricted:
			// psql refuses it, and ON_ERROR_STOP ends the session.
			fmt.Fprintln(spec.Stderr, `psql:<stdin>:1: error: \unrestrict: not currently in restricted mode`)
			return &engine.ExitError{Code: 3}
		}
		if strings.HasPrefix(line, "SELECT '__ledger_restore_sync_") {
			fmt.Fprintln(spec.Stdout, strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(line), "SELECT '"), "';"))
		} else if line != "" {
			f.mu.Lock()
			failed := f.FailOn != "" && strings.Contains(line, f.FailOn)
			if !failed {
				f.DBs[db] += line
			}
			f.mu.Unlock()
			if failed {
				fmt.Fprintf(spec.Stderr, "psql:<stdin>:1: ERROR:  syntax error at or near %q\n", f.FailOn)
				return &engine.ExitError{Code: 3}
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Names lists the databases, sorted.
func (f *Server) Names() []string {
	var out []string
	for k := range f.DBs {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Statements returns the logged statements that start with one of prefixes.
func (f *Server) Statements(prefixes ...string) []string {
	var out []string
	for _, s := range f.Log {
		for _, p := range prefixes {
			if strings.HasPrefix(s, p) {
				out = append(out, s)
				break
			}
		}
	}
	return out
}
