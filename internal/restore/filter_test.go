package restore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

const plainDump = `--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

CREATE TABLE public.accounts (
    id integer NOT NULL,
    name text
);

ALTER TABLE public.accounts OWNER TO ledger;

COPY public.accounts (id, name) FROM stdin;
1	ALTER TABLE x OWNER TO nobody;
2	\connect evil
\.

GRANT ALL ON TABLE public.accounts TO reporting WITH GRANT OPTION;
REVOKE ALL ON SCHEMA public FROM PUBLIC;

--
-- PostgreSQL database dump complete
--

`

func runFilter(t *testing.T, f *filter, in string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := f.copyTo(&out, strings.NewReader(in))
	return out.String(), err
}

func TestFilterPlainDumpPassesUnchanged(t *testing.T) {
	f := &filter{roles: map[string]bool{"ledger": true, "reporting": true}}
	out, err := runFilter(t, f, plainDump)
	if err != nil {
		t.Fatal(err)
	}
	if out != plainDump {
		t.Errorf("plain dump changed:\n%s", out)
	}
	if !f.stats.Complete || f.stats.CreateDB || len(f.stats.Removed) != 0 {
		t.Errorf("stats = %+v", f.stats)
	}
	if f.stats.Bytes != int64(len(plainDump)) {
		t.Errorf("Bytes = %d, want %d", f.stats.Bytes, len(plainDump))
	}
}

func TestFilterDropsUnknownRolesOutsideCopyOnly(t *testing.T) {
	f := &filter{roles: map[string]bool{"postgres": true}}
	out, err := runFilter(t, f, plainDump)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{"ALTER TABLE public.accounts OWNER TO ledger;", "GRANT ALL ON TABLE public.accounts TO reporting"} {
		if strings.Contains(out, gone) {
			t.Errorf("%q kept", gone)
		}
	}
	for _, kept := range []string{"1\tALTER TABLE x OWNER TO nobody;", "2\t\\connect evil", "REVOKE ALL ON SCHEMA public FROM PUBLIC;"} {
		if !strings.Contains(out, kept) {
			t.Errorf("%q dropped", kept)
		}
	}
	if len(f.stats.Removed) != 2 {
		t.Errorf("Removed = %q", f.stats.Removed)
	}
}

func TestFilterStripsCreateDatabase(t *testing.T) {
	in := "--\n-- PostgreSQL database dump\n--\n" +
		"CREATE DATABASE ledger WITH TEMPLATE = template0 ENCODING = 'UTF8';\n" +
		"ALTER DATABASE ledger OWNER TO ledger;\n" +
		"\\connect ledger\n" +
		"ALTER DATABASE ledger SET search_path TO public;\n" +
		"COMMENT ON DATABASE ledger IS 'x';\n" +
		"GRANT CONNECT ON DATABASE ledger TO ledger;\n" +
		"CREATE TABLE t (i int);\n" +
		"-- PostgreSQL database dump complete\n"
	f := &filter{}
	out, err := runFilter(t, f, in)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "DATABASE") || strings.Contains(out, `\connect`) {
		t.Errorf("database statements kept:\n%s", out)
	}
	if !strings.Contains(out, "CREATE TABLE t (i int);") || !f.stats.CreateDB || !f.stats.Complete {
		t.Errorf("out=%q stats=%+v", out, f.stats)
	}
}

func TestFilterRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"cluster dump":  "--\n-- PostgreSQL database cluster dump\n--\n\\connect template1\n",
		"two connects":  "\\connect a\nCREATE TABLE t();\n\\connect b\n",
		"custom format": "PGDMP\x01\x0e\x00",
		"binary":        "\x00\x01\x02\n",
		"empty":         "",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := runFilter(t, &filter{}, in)
			if !errors.Is(err, ErrNotRestorable) {
				t.Errorf("err = %v, want ErrNotRestorable", err)
			}
		})
	}
}

func TestFilterTruncatedDumpIsIncomplete(t *testing.T) {
	f := &filter{}
	if _, err := runFilter(t, f, plainDump[:len(plainDump)/2]); err != nil {
		t.Fatal(err)
	}
	if f.stats.Complete {
		t.Error("truncated dump reported complete")
	}
}

func TestFilterLongLines(t *testing.T) {
	long := strings.Repeat("x", 600<<10)
	in := "COPY t (v) FROM stdin;\n" + long + "\n\\.\n" +
		"ALTER TABLE t OWNER TO ghost" + long + ";\n" +
		"CREATE TABLE u();\n"
	out, err := runFilter(t, &filter{roles: map[string]bool{}}, in)
	if err != nil {
		t.Fatal(err)
	}
	want := "COPY t (v) FROM stdin;\n" + long + "\n\\.\n" + "CREATE TABLE u();\n"
	if out != want {
		t.Errorf("long lines: got %d bytes, want %d", len(out), len(want))
	}
}

func TestSplitRoles(t *testing.T) {
	got := splitRoles([]byte(`Ledger, "Mixed ""Case""", PUBLIC, current_user`))
	want := []string{"ledger", `Mixed "Case"`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitRoles = %q, want %q", got, want)
	}
}

// COPY data passes through in chunks; the end line is found wherever the
// reads split it, and data that only looks like SQL is never touched.
func TestCopyDataChunkBoundaries(t *testing.T) {
	var rows strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&rows, "%d\tALTER TABLE x OWNER TO nobody; \\\\.\n", i)
	}
	in := "COPY t (i, s) FROM stdin;\n" + rows.String() + "\\.\n" + "CREATE TABLE after();\n"
	for _, size := range []int{16, 17, 31, 64, 4096} {
		var out bytes.Buffer
		f := &filter{roles: map[string]bool{}}
		if err := f.copyTo(&out, iotest.OneByteReader(strings.NewReader(in))); err != nil {
			t.Fatal(err)
		}
		if out.String() != in {
			t.Fatalf("one byte at a time: output differs (%d bytes, want %d)", out.Len(), len(in))
		}
		out.Reset()
		f = &filter{roles: map[string]bool{}}
		if err := f.copyTo(&out, &chunkReader{s: in, n: size}); err != nil {
			t.Fatal(err)
		}
		if out.String() != in || f.stats.Bytes != int64(len(in)) {
			t.Fatalf("chunks of %d: output differs (%d bytes, want %d)", size, out.Len(), len(in))
		}
	}
}

type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := min(c.n, len(p), len(c.s))
	copy(p, c.s[:n])
	c.s = c.s[n:]
	return n, nil
}
