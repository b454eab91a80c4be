// Package pg speaks to a PostgreSQL server inside a container through the
// engine's exec: psql and pg_dump always run next to the server, so client
// and server versions match and no port needs to be published.
//
// It answers what backups, verification and restores need: versions,
// exact per-table row counts, a schema fingerprint, and a pg_dump whose
// data and row counts come from one snapshot.
package pg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// DB is a database on a PostgreSQL server in a running container.
type DB struct {
	Engine engine.Engine
	// Container is the container's ID or name.
	Container string
	// User is the role psql and pg_dump connect as (POSTGRES_USER).
	User string
	// Name is the database (POSTGRES_DB).
	Name string
	// Env is passed to every exec (PGPASSWORD when the socket needs one).
	// It is never printed.
	Env []string
}

// FieldSep separates columns in query output (psql -F): a control
// character that never appears in names.
const FieldSep = "\x1f"

// On returns the same server with another database.
func (d DB) On(name string) DB {
	d.Name = name
	return d
}

// PsqlArgs is the psql command line for this database: no psqlrc, no
// password prompt, stop at the first error.
func (d DB) PsqlArgs(extra ...string) []string {
	args := []string{"psql", "-X", "--no-password", "-v", "ON_ERROR_STOP=1", "-U", d.User, "-d", d.Name}
	return append(args, extra...)
}

// queryArgs prints rows unaligned, tuples only, fields split by FieldSep.
func (d DB) queryArgs() []string {
	return d.PsqlArgs("-q", "-A", "-t", "-F", FieldSep)
}

// Query runs sql (one or more statements, psql meta-commands allowed) and
// returns the rows printed.
func (d DB) Query(ctx context.Context, sql string) ([][]string, error) {
	var out bytes.Buffer
	err := d.Engine.Exec(ctx, d.Container, engine.ExecSpec{
		Cmd:    d.queryArgs(),
		Env:    d.Env,
		Stdin:  strings.NewReader(sql + "\n"),
		Stdout: &out,
	})
	if err != nil {
		return nil, fmt.Errorf("psql on database %s: %w", d.Name, err)
	}
	return splitRows(out.String()), nil
}

func splitRows(s string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, FieldSep))
	}
	return rows
}

// Versions are the server's and pg_dump's versions.
type Versions struct {
	Server string `json:"server"`
	PgDump string `json:"pg_dump"`
}

// Versions asks the server (SHOW server_version) and pg_dump --version.
func (d DB) Versions(ctx context.Context) (Versions, error) {
	rows, err := d.Query(ctx, "SHOW server_version;")
	if err != nil {
		return Versions{}, err
	}
	var v Versions
	if len(rows) > 0 && len(rows[0]) > 0 {
		v.Server = rows[0][0]
	}
	var out bytes.Buffer
	if err := d.Engine.Exec(ctx, d.Container, engine.ExecSpec{Cmd: []string{"pg_dump", "--version"}, Env: d.Env, Stdout: &out}); err != nil {
		return Versions{}, fmt.Errorf("pg_dump --version: %w", err)
	}
	v.PgDump = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out.String()), "pg_dump (PostgreSQL)"))
	return v, nil
}

// userRelations selects the relations of the user's schemas (never the
// catalogs, TOAST or temp schemas). Alias c is pg_class, n pg_namespace.
const userRelations = `FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp'`

// CountsSQL prints one row per table, "schema.table" FieldSep count, for
// every ordinary and partitioned table, in name order. It is one psql
// input (it uses \gexec), so it runs inside whatever transaction the
// session is in.
const CountsSQL = `SELECT format('SELECT %L, count(*) FROM %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname)
` + userRelations + `
  AND c.relkind IN ('r', 'p')
ORDER BY n.nspname, c.relname
\gexec`

// Counts returns exact row counts (count(*)) of every table, keyed
// "schema.table".
func (d DB) Counts(ctx context.Context) (map[string]int64, error) {
	rows, err := d.Query(ctx, CountsSQL)
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	return parseCounts(rows)
}

func parseCounts(rows [][]string) (map[string]int64, error) {
	counts := make(map[string]int64, len(rows))
	for _, r := range rows {
		if len(r) != 2 {
			return nil, fmt.Errorf("count rows: unexpected psql output %q", strings.Join(r, " "))
		}
		n, err := strconv.ParseInt(r[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("count rows of %s: %w", r[0], err)
		}
		counts[r[0]] = n
	}
	return counts, nil
}

// SchemaSQL prints the schema as sorted lines: tables (and views,
// sequences), columns with types, defaults and nullability, constraints,
// indexes, enum and domain types. Nothing that changes on a dump and
// restore is in it (no OIDs, attribute numbers or owners).
var SchemaSQL = `SELECT line FROM (
SELECT 'relation ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' kind=' || c.relkind::text || ' persistence=' || c.relpersistence::text AS line
` + userRelations + ` AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
UNION ALL
SELECT 'column ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ' ||
  lpad((row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum))::text, 5, '0') || ' ' ||
  quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod) ||
  CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
  CASE WHEN a.attidentity <> '' THEN ' identity=' || a.attidentity::text ELSE '' END ||
  CASE WHEN a.attgenerated <> '' THEN ' generated=' || a.attgenerated::text ELSE '' END ||
  COALESCE(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') ||
  CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END
` + strings.Replace(userRelations, "FROM pg_class c", `FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum`, 1) + `
  AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ' || quote_ident(co.conname) || ' ' || pg_get_constraintdef(co.oid, true)
` + strings.Replace(userRelations, "FROM pg_class c", "FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid", 1) + `
UNION ALL
SELECT 'index ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname) || ' ' || pg_get_indexdef(i.indexrelid)
` + strings.Replace(userRelations, "FROM pg_class c", "FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid", 1) + `
UNION ALL
SELECT 'domain constraint ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname) || ' ' || quote_ident(co.conname) || ' ' || pg_get_constraintdef(co.oid, true)
FROM pg_constraint co JOIN pg_type t ON t.oid = co.contypid JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
UNION ALL
SELECT 'type ' || quote_ident(n.nspname) || '.' || quote_ident(t.typname) || ' ' || t.typtype::text ||
  COALESCE(' enum(' || (SELECT string_agg(quote_literal(e.enumlabel), ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) || ')', '') ||
  CASE WHEN t.typtype = 'd' THEN ' base ' || format_type(t.typbasetype, t.typtypmod) || CASE WHEN t.typnotnull THEN ' not null' ELSE '' END ELSE '' END
FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname !~ '^pg_toast' AND n.nspname !~ '^pg_temp'
  AND t.typtype IN ('e', 'd')
) s ORDER BY line COLLATE "C";`

// Schema returns the schema description that Fingerprint hashes: one line
// per object, sorted (bytewise).
func (d DB) Schema(ctx context.Context) ([]string, error) {
	var out bytes.Buffer
	err := d.Engine.Exec(ctx, d.Container, engine.ExecSpec{
		Cmd:    d.PsqlArgs("-q", "-A", "-t"),
		Env:    d.Env,
		Stdin:  strings.NewReader(SchemaSQL + "\n"),
		Stdout: &out,
	})
	if err != nil {
		return nil, fmt.Errorf("read schema of database %s: %w", d.Name, err)
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// Fingerprint is the sha256 (hex) of the schema description.
func (d DB) Fingerprint(ctx context.Context) (string, error) {
	lines, err := d.Schema(ctx)
	if err != nil {
		return "", err
	}
	return FingerprintOf(lines), nil
}

// FingerprintOf hashes schema lines as Fingerprint does.
func FingerprintOf(lines []string) string {
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Roles lists the database roles other than the built-in pg_* ones, so a
// test restore into a fresh server can create the owners a dump names.
func (d DB) Roles(ctx context.Context) ([]string, error) {
	rows, err := d.Query(ctx, `SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname;`)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	var roles []string
	for _, r := range rows {
		roles = append(roles, r[0])
	}
	return roles, nil
}

// Facts are what a backup asks before dumping, in one exec.
type Facts struct {
	// Size is pg_database_size of the database.
	Size  int64
	Roles []string
}

// Facts returns the database's size and the server's roles.
func (d DB) Facts(ctx context.Context) (Facts, error) {
	rows, err := d.Query(ctx, "SELECT 'size', pg_database_size(current_database());\n"+
		"SELECT 'role', rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY rolname;")
	if err != nil {
		return Facts{}, err
	}
	var f Facts
	for _, r := range rows {
		switch {
		case len(r) != 2:
		case r[0] == "size":
			f.Size, _ = strconv.ParseInt(r[1], 10, 64)
		case r[0] == "role":
			f.Roles = append(f.Roles, r[1])
		}
	}
	return f, nil
}

// QuoteIdent quotes a SQL identifier.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// QuoteLiteral quotes a SQL string literal.
func QuoteLiteral(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }
