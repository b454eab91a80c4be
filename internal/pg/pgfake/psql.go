package pgfake

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/pg"
)

// session is one psql connected to database db of cluster c.
type session struct {
	s         *Server
	container string
	c         *Cluster
	db        string
	user      string
	spec      engine.ExecSpec
	sep       string // psql -F
	line      int
	// tx is the cluster as the open transaction found it (nil outside
	// one); changed: the transaction changed the cluster.
	tx      *Cluster
	changed bool
}

func (s *Server) psql(ctx context.Context, container string, spec engine.ExecSpec) error {
	c, db, err := s.connect(ctx, container, spec)
	if err != nil {
		return err
	}
	ss := &session{s: s, container: container, c: c, db: db, user: arg(spec.Cmd, "-U"), spec: spec, sep: "|"}
	if slices.Contains(spec.Cmd, "-F") {
		ss.sep = arg(spec.Cmd, "-F")
	}
	in := bufio.NewReader(spec.Stdin)
	if spec.Stdin == nil {
		in = bufio.NewReader(strings.NewReader(""))
	}
	single := slices.Contains(spec.Cmd, "--single-transaction")
	if single || slices.ContainsFunc(spec.Env, func(e string) bool { return strings.HasPrefix(e, "PGOPTIONS=") }) {
		return ss.load(in, single)
	}
	return ss.queries(in)
}

// queries runs statements as they end (a line ending with ";", or
// \gexec), and prints \echo lines.
func (ss *session) queries(in *bufio.Reader) error {
	var stmt strings.Builder
	for {
		line, err := in.ReadString('\n')
		ss.line++
		text := strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(text, `\echo `):
			fmt.Fprintln(ss.spec.Stdout, strings.TrimPrefix(text, `\echo `))
		case text == `\gexec`:
			if err := ss.do(stmt.String(), ss.gexec); err != nil {
				return err
			}
			stmt.Reset()
		case strings.TrimSpace(text) != "":
			stmt.WriteString(text + "\n")
			if strings.HasSuffix(strings.TrimSpace(text), ";") || err == io.EOF {
				if err := ss.do(stmt.String(), ss.statement); err != nil {
					return err
				}
				stmt.Reset()
			}
		}
		if err == io.EOF {
			ss.end(true) // psql exits: an open transaction rolls back
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// do runs one statement with run, logged, under the server's lock, and
// prints its rows once the lock is released.
func (ss *session) do(stmt string, run func(q string) ([]string, error)) error {
	q := strings.TrimSuffix(strings.TrimSpace(stmt), ";")
	ss.s.mu.Lock()
	ss.s.Log = append(ss.s.Log, q)
	var rows []string
	err := ss.failOn(q)
	if err == nil && ss.c.DBs[ss.db] == nil {
		err = fmt.Errorf("FATAL:  database %q was dropped or renamed under this session", ss.db)
	}
	if err == nil {
		rows, err = run(q)
	}
	if err != nil {
		ss.end(true)
	}
	ss.s.mu.Unlock()
	for _, r := range rows {
		fmt.Fprintln(ss.spec.Stdout, r)
	}
	if err != nil {
		return fail(ss.spec, 3, fmt.Sprintf("psql:<stdin>:%d: %v", ss.line, err))
	}
	return nil
}

// failOn is the error FailOn injects into text.
func (ss *session) failOn(text string) error {
	if f := ss.s.FailOn; f != "" && strings.Contains(text, f) {
		return fmt.Errorf("ERROR:  syntax error at or near %q", f)
	}
	return nil
}

// end closes the open transaction (if any), committing it or rolling it
// back.
func (ss *session) end(rollback bool) {
	if ss.tx != nil && rollback && ss.changed {
		ss.c.DBs, ss.c.Roles = ss.tx.DBs, ss.tx.Roles
	}
	ss.tx, ss.changed = nil, false
}

func (ss *session) begin() {
	ss.tx, ss.changed = ss.c.clone(), false
}

// Statements the fake knows besides pg's exported SQL.
const (
	sizeSQL      = "SELECT 'size', pg_database_size(current_database())"
	roleFactsSQL = `SELECT 'role', rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname`
)

var (
	ident       = `("(?:[^"]|"")+"|[a-z_][a-z0-9_$]*)`
	literal     = regexp.MustCompile(`'((?:[^']|'')*)'`)
	reRoles     = regexp.MustCompile(`^SELECT rolname FROM pg_roles( WHERE rolname !~ '\^pg_' ORDER BY rolname)?$`)
	reDatabases = regexp.MustCompile(`^SELECT d\.datname, pg_get_userbyid\(d\.datdba\), pg_encoding_to_char\(d\.encoding\), d\.datcollate, d\.datctype FROM pg_database d WHERE (.*) ORDER BY 1$`)
	reTerminate = regexp.MustCompile(`^SELECT count\(pg_terminate_backend\(pid\)\) FROM pg_stat_activity WHERE datname = '`)
	reCreate    = regexp.MustCompile(`^CREATE DATABASE ` + ident + `(?: WITH TEMPLATE ` + ident + `)?(?: OWNER ` + ident + `)?`)
	reRename    = regexp.MustCompile(`^ALTER DATABASE ` + ident + ` RENAME TO ` + ident + `$`)
	reAllow     = regexp.MustCompile(`^ALTER DATABASE ` + ident + ` WITH ALLOW_CONNECTIONS (true|false)$`)
	reDrop      = regexp.MustCompile(`^DROP DATABASE IF EXISTS ` + ident + `$`)
	reNewRoles  = regexp.MustCompile(`^SELECT format\('CREATE ROLE %I', r\) FROM unnest\(ARRAY\[(.*)\]::text\[\]\) r WHERE NOT EXISTS \(SELECT 1 FROM pg_roles WHERE rolname = r\)$`)
)

func unquote(id string) string {
	if strings.HasPrefix(id, `"`) {
		return strings.ReplaceAll(id[1:len(id)-1], `""`, `"`)
	}
	return id
}

func literals(s string) []string {
	var out []string
	for _, m := range literal.FindAllStringSubmatch(s, -1) {
		out = append(out, strings.ReplaceAll(m[1], "''", "'"))
	}
	return out
}

// statement answers one statement (q: without its ";"); the lock is
// held and the session's database exists.
func (ss *session) statement(q string) ([]string, error) {
	c, d := ss.c, ss.c.DBs[ss.db]
	switch {
	case q == strings.TrimSuffix(pg.SchemaSQL, ";"):
		return slices.Clone(d.Schema), nil
	case q == strings.TrimSuffix(pg.RelationCountSQL, ";"):
		return []string{strconv.Itoa(d.Relations)}, nil
	case q == "SHOW server_version":
		return []string{ss.s.version()}, nil
	case q == "SELECT pg_export_snapshot()":
		return []string{Snapshot}, nil
	case q == sizeSQL:
		return []string{"size" + ss.sep + strconv.FormatInt(d.Size, 10)}, nil
	case q == roleFactsSQL:
		var rows []string
		for _, r := range slices.Sorted(slices.Values(c.Roles)) {
			rows = append(rows, "role"+ss.sep+r)
		}
		return rows, nil
	case reRoles.MatchString(q):
		return slices.Sorted(slices.Values(c.Roles)), nil
	case strings.HasPrefix(q, "SET "):
		return nil, nil
	case strings.HasPrefix(q, "BEGIN"):
		ss.begin()
		return nil, nil
	case q == "COMMIT":
		ss.end(false)
		return nil, nil
	case reDatabases.MatchString(q):
		return ss.databases(reDatabases.FindStringSubmatch(q)[1]), nil
	case reTerminate.MatchString(q):
		return []string{"1"}, nil // as if one client were connected
	case reCreate.MatchString(q):
		m := reCreate.FindStringSubmatch(q)
		name, template, owner := unquote(m[1]), unquote(m[2]), unquote(m[3])
		if owner == "" {
			owner = ss.user
		}
		switch {
		case c.DBs[name] != nil:
			return nil, fmt.Errorf("ERROR:  database %q already exists", name)
		case template != "" && c.DBs[template] == nil:
			return nil, fmt.Errorf("ERROR:  template database %q does not exist", template)
		case !slices.Contains(c.Roles, owner):
			return nil, fmt.Errorf("ERROR:  role %q does not exist", owner)
		}
		c.DBs[name] = &Database{Owner: owner}
	case reRename.MatchString(q):
		m := reRename.FindStringSubmatch(q)
		from, to := unquote(m[1]), unquote(m[2])
		switch {
		case c.DBs[from] == nil:
			return nil, fmt.Errorf("ERROR:  database %q does not exist", from)
		case c.DBs[to] != nil:
			return nil, fmt.Errorf("ERROR:  database %q already exists", to)
		case from == ss.db:
			return nil, fmt.Errorf("ERROR:  current database cannot be renamed")
		}
		c.DBs[to] = c.DBs[from]
		delete(c.DBs, from)
	case reAllow.MatchString(q):
		m := reAllow.FindStringSubmatch(q)
		if c.DBs[unquote(m[1])] == nil {
			return nil, fmt.Errorf("ERROR:  database %q does not exist", unquote(m[1]))
		}
		c.DBs[unquote(m[1])].closed = m[2] == "false"
	case reDrop.MatchString(q):
		name := unquote(reDrop.FindStringSubmatch(q)[1])
		if name == ss.db {
			return nil, fmt.Errorf("ERROR:  cannot drop the currently open database")
		}
		delete(c.DBs, name)
	default:
		return nil, fmt.Errorf("pgfake: statement not understood: %s", q)
	}
	ss.changed = true
	return nil, nil
}

// databases answers restore's look at pg_database: the databases named
// by "d.datname = 'X'" or holding a "strpos(d.datname, 'X') > 0" infix.
func (ss *session) databases(where string) []string {
	var rows []string
	for _, name := range slices.Sorted(maps.Keys(ss.c.DBs)) {
		match := strings.Contains(where, "d.datname = "+pg.QuoteLiteral(name))
		for _, infix := range literals(where) {
			match = match || (strings.Contains(where, "strpos(d.datname, "+pg.QuoteLiteral(infix)+") > 0") && strings.Contains(name, infix))
		}
		if match {
			rows = append(rows, strings.Join([]string{name, ss.c.DBs[name].Owner, "UTF8", "C.UTF-8", "C.UTF-8"}, ss.sep))
		}
	}
	return rows
}

// gexec runs the statements a \gexec query makes; the lock is held and
// the session's database exists.
func (ss *session) gexec(q string) ([]string, error) {
	switch {
	case q == strings.TrimSpace(strings.TrimSuffix(pg.CountsSQL, `\gexec`)):
		d := ss.c.DBs[ss.db]
		var rows []string
		for _, t := range slices.Sorted(maps.Keys(d.Counts)) {
			rows = append(rows, t+ss.sep+strconv.FormatInt(d.Counts[t], 10))
		}
		return rows, nil
	case reNewRoles.MatchString(q):
		for _, r := range literals(reNewRoles.FindStringSubmatch(q)[1]) {
			if !slices.Contains(ss.c.Roles, r) {
				ss.c.Roles = append(ss.c.Roles, r)
				ss.changed = true
			}
		}
		return nil, nil
	}
	return nil, fmt.Errorf("pgfake: \\gexec query not understood: %s", q)
}

// selectLiteral is a line "SELECT 'text';", which prints text (restore's
// sync markers).
var selectLiteral = regexp.MustCompile(`^SELECT '([^']*)';$`)

// load reads a dump line by line: SELECT 'text' lines print text (they
// answer as they come), \unrestrict needs \restrict before it, and every
// other line is appended to the database's SQL. Run as one transaction
// (single), a failure leaves the database as it was; once the load ends
// without error, the database holds Restores's tables.
func (ss *session) load(in *bufio.Reader, single bool) error {
	ss.s.mu.Lock()
	ss.s.Log = append(ss.s.Log, "LOAD "+ss.db)
	if single {
		ss.begin()
	}
	ss.s.mu.Unlock()
	restricted := false
	for {
		line, err := in.ReadString('\n')
		ss.line++
		if m := selectLiteral.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			fmt.Fprintln(ss.spec.Stdout, m[1])
		}
		var loadErr error
		switch {
		case strings.HasPrefix(line, `\restrict `):
			restricted = true
		case strings.HasPrefix(line, `\unrestrict `):
			if !restricted {
				// psql refuses it, and ON_ERROR_STOP ends the session.
				loadErr = errors.New(`error: \unrestrict: not currently in restricted mode`)
			}
			restricted = false
		}
		ss.s.mu.Lock()
		if loadErr == nil {
			loadErr = ss.loaded(line)
		}
		if loadErr != nil || err != nil {
			ss.endLoad(loadErr == nil && err == io.EOF)
		}
		ss.s.mu.Unlock()
		switch {
		case loadErr != nil:
			return fail(ss.spec, 3, fmt.Sprintf("psql:<stdin>:%d: %v", ss.line, loadErr))
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// loaded counts a line read and appends it to the database's SQL (a
// SELECT 'text' line aside); the lock is held.
func (ss *session) loaded(line string) error {
	if ss.s.Loaded == nil {
		ss.s.Loaded = map[string]int{}
	}
	ss.s.Loaded[ss.container] += len(line)
	if selectLiteral.MatchString(strings.TrimSpace(line)) {
		return nil
	}
	if err := ss.failOn(line); err != nil {
		return err
	}
	if d := ss.c.DBs[ss.db]; d != nil {
		d.SQL += line
		ss.changed = true
	}
	return nil
}

// endLoad ends a load; once it went through (ok), the database holds
// Restores's tables. The lock is held.
func (ss *session) endLoad(ok bool) {
	if d := ss.c.DBs[ss.db]; ok && d != nil {
		r := ss.s.Restores
		if r == nil {
			r = DefaultDatabase()
		}
		r = r.clone()
		d.Counts, d.Schema, d.Size, d.Relations = r.Counts, r.Schema, r.Size, r.Relations
	}
	ss.end(!ok)
}
