package restore

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Server is the PostgreSQL server in the database service's container,
// reached with psql through the engine's exec (client and server versions
// always match; no port is published).
type Server struct {
	Engine    engine.Engine
	Container string
	// User is the database user psql connects as (POSTGRES_USER).
	User string
	// Env is passed to every exec (PGPASSWORD when the socket needs one).
	Env []string
}

// fieldSep separates columns in query output (psql -F): a control
// character that never appears in names.
const fieldSep = "\x1f"

func (s Server) psqlArgs(db string, extra ...string) []string {
	args := []string{"psql", "-X", "--no-password", "-v", "ON_ERROR_STOP=1", "-U", s.User, "-d", db}
	return append(args, extra...)
}

// Query runs the SQL statements in sql, one after the other (so CREATE and
// DROP DATABASE may be among them), in db and returns the rows they print
// (unaligned, tuples only). The first error stops it.
func (s Server) Query(ctx context.Context, db, sql string) ([][]string, error) {
	var out bytes.Buffer
	err := s.Engine.Exec(ctx, s.Container, engine.ExecSpec{
		Cmd:    s.psqlArgs(db, "-q", "-A", "-t", "-F", fieldSep),
		Env:    s.Env,
		Stdin:  strings.NewReader(sql + "\n"),
		Stdout: &out,
	})
	if err != nil {
		return nil, fmt.Errorf("psql: %w", err)
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, fieldSep))
	}
	return rows, nil
}

// Script runs SQL statements read from stdin in db with ON_ERROR_STOP: the
// first error stops psql with a non-zero status.
func (s Server) Script(ctx context.Context, db string, stdin io.Reader, stderr io.Writer) error {
	err := s.Engine.Exec(ctx, s.Container, engine.ExecSpec{
		Cmd:    s.psqlArgs(db, "-q"),
		Env:    s.Env,
		Stdin:  stdin,
		Stderr: stderr,
	})
	if err != nil {
		return fmt.Errorf("psql: %w", err)
	}
	return nil
}

// quoteIdent quotes a SQL identifier (a database or role name).
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// quoteLiteral quotes a SQL string literal.
func quoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
