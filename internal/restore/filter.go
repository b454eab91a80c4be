package restore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrNotRestorable: the file is not a plain single-database pg_dump (a
// pg_dumpall cluster dump, a custom-format archive, not SQL at all).
var ErrNotRestorable = errors.New("not a plain pg_dump of one database")

// completeTrailer is the last comment pg_dump writes when it finished.
var completeTrailer = []byte("-- PostgreSQL database dump complete")

// FilterStats tells what the filter saw and changed.
type FilterStats struct {
	// Complete: pg_dump's completion trailer was seen.
	Complete bool
	// CreateDB: the dump was made with -C (CREATE DATABASE + \connect);
	// those lines were removed so the dump restores into the scratch
	// database instead of the one named in the file.
	CreateDB bool
	// Removed lists the statements that were left out, with why.
	Removed []string
	// Bytes is the SQL read (uncompressed).
	Bytes int64
}

// filter passes a plain pg_dump SQL stream to psql, leaving out what must
// not run against the scratch database:
//   - CREATE DATABASE, \connect and database-level statements (ALTER /
//     COMMENT ON / GRANT ... ON / REVOKE ... ON DATABASE): with -C dumps
//     they name the original database, which is the live target;
//   - ALTER ... OWNER TO, GRANT and REVOKE naming a role this server does
//     not have (a dump from another installation), which would stop the
//     restore under ON_ERROR_STOP; objects then belong to the restoring user.
//
// It refuses cluster dumps (pg_dumpall) and anything that is not SQL. COPY
// data passes through untouched.
type filter struct {
	roles map[string]bool // nil: keep every role statement
	stats FilterStats
	// router, when set, is told of entry headers and SET lines (the
	// filter's output is the router itself).
	router *router
}

// maxRemoved bounds the list of removed statements kept for the report.
const maxRemoved = 20

func (f *filter) remove(line []byte, why string) {
	if len(f.stats.Removed) < maxRemoved {
		s := string(bytes.TrimSpace(line))
		if len(s) > 120 {
			s = s[:120] + "..."
		}
		f.stats.Removed = append(f.stats.Removed, why+": "+s)
	}
}

// copyTo streams r to w through the filter. It fails on anything that is
// not a plain pg_dump; w only ever receives SQL the filter accepted.
func (f *filter) copyTo(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 256<<10)
	bw := bufio.NewWriterSize(w, 256<<10)
	inCopy, first, connects := false, true, 0
	// partial: the current line did not fit the buffer; its next pieces
	// follow the fate of its first (kept, or dropped when dropping).
	partial, dropping := false, false
	for {
		if inCopy && !partial {
			// The bulk of a dump: pass COPY data through in large chunks,
			// up to the line "\." that ends it.
			n, err := copyData(bw, br)
			f.stats.Bytes += n
			if err != nil && err != io.EOF {
				return err
			}
		}
		line, err := br.ReadSlice('\n')
		f.stats.Bytes += int64(len(line))
		if len(line) > 0 {
			if first {
				first = false
				if err := sniff(line); err != nil {
					return err
				}
			}
			keep := true
			switch {
			case partial:
				keep = !dropping
			case inCopy:
				if isEndOfCopy(line) {
					inCopy = false
				}
			case len(line) == 0 || line[0] == '\n':
			case line[0] == '-':
				if typ, ok := entryType(line); ok && f.router != nil {
					if err := bw.Flush(); err != nil {
						return err
					}
					if err := f.router.header(typ); err != nil {
						return err
					}
				} else if bytes.HasPrefix(line, completeTrailer) {
					f.stats.Complete = true
				} else if bytes.HasPrefix(line, []byte("-- PostgreSQL database cluster dump")) {
					return fmt.Errorf("%w: this is a pg_dumpall cluster dump; restore one database's pg_dump", ErrNotRestorable)
				}
			case line[0] == '\\':
				if isMeta(line, `\connect`) || isMeta(line, `\c`) {
					connects++
					if connects > 1 {
						return fmt.Errorf("%w: it connects to more than one database (\\connect); restore one database's pg_dump", ErrNotRestorable)
					}
					f.stats.CreateDB = true
					keep = false
					f.remove(line, "database switch")
				} else if f.router != nil {
					// psql meta-commands (\restrict, \unrestrict) belong to
					// the main session: end any parallel part first.
					if err := bw.Flush(); err != nil {
						return err
					}
					if err := f.router.header(`\`); err != nil {
						return err
					}
				}
			case f.router != nil && isSetting(line):
				keep = false
				if err := bw.Flush(); err != nil {
					return err
				}
				if err := f.router.setting(line); err != nil {
					return err
				}
			case line[0] == 'C' && bytes.HasPrefix(line, []byte("COPY ")):
				inCopy = bytes.HasSuffix(bytes.TrimRight(line, "\r\n"), []byte("FROM stdin;"))
			case line[0] == 'C' && bytes.HasPrefix(line, []byte("CREATE DATABASE ")):
				f.stats.CreateDB = true
				keep = false
				f.remove(line, "database creation")
			case isDatabaseLevel(line):
				keep = false
				f.remove(line, "database-level statement")
			case f.roles != nil && f.unknownRole(line):
				keep = false
				f.remove(line, "role missing on this server")
			}
			partial, dropping = err == bufio.ErrBufferFull, !keep
			if keep {
				if _, werr := bw.Write(line); werr != nil {
					return werr
				}
			}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	if first {
		return fmt.Errorf("%w: the file holds no SQL", ErrNotRestorable)
	}
	return bw.Flush()
}

// sniff checks the first line looks like SQL text from pg_dump.
func sniff(line []byte) error {
	switch {
	case bytes.HasPrefix(line, []byte("PGDMP")):
		return fmt.Errorf("%w: this is a pg_dump custom-format archive (use pg_restore); docker ledger restores plain SQL dumps", ErrNotRestorable)
	case bytes.IndexByte(line, 0) >= 0:
		return fmt.Errorf("%w: the file holds binary data, not SQL", ErrNotRestorable)
	}
	return nil
}

// entryType returns T of a pg_dump entry header "-- Name: ...; Type: T; ...".
func entryType(line []byte) (string, bool) {
	if !bytes.HasPrefix(line, []byte("-- Name: ")) {
		return "", false
	}
	i := bytes.Index(line, []byte("; Type: "))
	if i < 0 {
		return "", false
	}
	rest := line[i+len("; Type: "):]
	if j := bytes.IndexByte(rest, ';'); j >= 0 {
		rest = rest[:j]
	}
	return string(bytes.TrimSpace(rest)), true
}

// isSetting matches pg_dump's session settings (SET x = y; and
// SELECT pg_catalog.set_config(...)).
func isSetting(line []byte) bool {
	return bytes.HasPrefix(line, []byte("SET ")) || bytes.HasPrefix(line, []byte("SELECT pg_catalog.set_config("))
}

// copyData writes COPY data rows from br to w, stopping before the line
// that ends the data ("\\." alone on its line, which COPY's text format
// never produces inside data) or at EOF. It never stops inside a line.
func copyData(w io.Writer, br *bufio.Reader) (int64, error) {
	var n int64
	atLineStart, want := true, 1
	for {
		_, err := br.Peek(want) // waits for want bytes, EOF or an error
		buf, _ := br.Peek(br.Buffered())
		if len(buf) == 0 {
			return n, err
		}
		end := -1
		if atLineStart && isEndOfCopyPrefix(buf) {
			end = 0
		} else if i := bytes.Index(buf, []byte("\n\\.")); i >= 0 && isEndOfCopyPrefix(buf[i+1:]) {
			end = i + 1
		}
		take := end
		switch {
		case end >= 0:
		case err != nil:
			take = len(buf) // nothing follows: no line can straddle
		default:
			// Keep the last bytes back: the end line may straddle reads.
			take = len(buf) - 3
			if take <= 0 {
				want = len(buf) + 1
				continue
			}
		}
		if take > 0 {
			if _, werr := w.Write(buf[:take]); werr != nil {
				return n, werr
			}
			atLineStart = buf[take-1] == '\n'
			n += int64(take)
			_, _ = br.Discard(take)
		}
		if end >= 0 {
			return n, nil
		}
		want = 1
	}
}

// isEndOfCopyPrefix: b starts with the end-of-data line "\." (followed by
// a line end, or by EOF).
func isEndOfCopyPrefix(b []byte) bool {
	if !bytes.HasPrefix(b, []byte("\\.")) {
		return false
	}
	return len(b) == 2 || b[2] == '\n' || b[2] == '\r'
}

func isEndOfCopy(line []byte) bool {
	return bytes.Equal(line, []byte("\\.\n")) || bytes.Equal(line, []byte("\\.\r\n")) || bytes.Equal(line, []byte("\\."))
}

// isMeta reports whether line is the psql meta-command cmd (followed by
// space or end of line).
func isMeta(line []byte, cmd string) bool {
	if !bytes.HasPrefix(line, []byte(cmd)) {
		return false
	}
	rest := line[len(cmd):]
	return len(rest) == 0 || rest[0] == ' ' || rest[0] == '\t' || rest[0] == '\n' || rest[0] == '\r'
}

var dbLevel = [][]byte{
	[]byte("ALTER DATABASE "),
	[]byte("COMMENT ON DATABASE "),
}

// isDatabaseLevel matches statements that name a database: in a dump they
// name the original one, which must not be touched while restoring into
// the scratch database.
func isDatabaseLevel(line []byte) bool {
	for _, p := range dbLevel {
		if bytes.HasPrefix(line, p) {
			return true
		}
	}
	if bytes.HasPrefix(line, []byte("GRANT ")) || bytes.HasPrefix(line, []byte("REVOKE ")) {
		return bytes.Contains(line, []byte(" ON DATABASE "))
	}
	return false
}

// unknownRole reports whether line is a one-line ALTER ... OWNER TO, GRANT
// ... TO or REVOKE ... FROM naming a role absent from f.roles.
func (f *filter) unknownRole(line []byte) bool {
	var kw []byte
	switch {
	case bytes.HasPrefix(line, []byte("ALTER ")):
		kw = []byte(" OWNER TO ")
	case bytes.HasPrefix(line, []byte("GRANT ")):
		kw = []byte(" TO ")
	case bytes.HasPrefix(line, []byte("REVOKE ")):
		kw = []byte(" FROM ")
	default:
		return false
	}
	i := bytes.LastIndex(line, kw)
	if i < 0 {
		return false
	}
	rest := bytes.TrimRight(line[i+len(kw):], " \t\r\n;")
	// "GRANT ... TO role WITH GRANT OPTION", "... GRANTED BY role".
	if j := bytes.Index(rest, []byte(" WITH ")); j >= 0 {
		rest = rest[:j]
	}
	if j := bytes.Index(rest, []byte(" GRANTED BY ")); j >= 0 {
		rest = rest[:j]
	}
	for _, r := range splitRoles(rest) {
		if !f.roles[r] {
			return true
		}
	}
	return false
}

// pseudoRoles are keywords where a role name may stand.
var pseudoRoles = map[string]bool{"public": true, "current_user": true, "session_user": true, "current_role": true}

// splitRoles splits `a, "B c"` into role names as the server spells them:
// quoted identifiers unquoted, others folded to lower case; PUBLIC and
// CURRENT_USER-like keywords are left out.
func splitRoles(s []byte) []string {
	var out []string
	for len(s) > 0 {
		s = bytes.TrimLeft(s, " ,")
		if len(s) == 0 {
			break
		}
		if s[0] == '"' {
			var name []byte
			i := 1
			for i < len(s) {
				if s[i] == '"' {
					if i+1 < len(s) && s[i+1] == '"' {
						name = append(name, '"')
						i += 2
						continue
					}
					i++
					break
				}
				name = append(name, s[i])
				i++
			}
			out = append(out, string(name))
			s = s[i:]
			continue
		}
		j := bytes.IndexByte(s, ',')
		if j < 0 {
			j = len(s)
		}
		if name := string(bytes.ToLower(bytes.TrimSpace(s[:j]))); !pseudoRoles[name] {
			out = append(out, name)
		}
		s = s[j:]
	}
	return out
}
