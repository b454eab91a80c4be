package verify

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
)

func gz(t *testing.T, sql []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(sql)
	zw.Close()
	return b.Bytes()
}

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// failed runs File on data and returns the failed checks' names.
func failed(t *testing.T, data []byte, exp Expect) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.sql.gz")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := File(path, exp)
	if err != nil {
		t.Fatal(err)
	}
	r := Report{}
	r.Add(res.Checks...)
	var names []string
	for _, c := range r.Failed() {
		names = append(names, c.Name)
	}
	if len(names) > 0 {
		err := r.Err()
		if !errors.Is(err, exitcode.ErrVerify) || exitcode.Of(err) != exitcode.Verify || !strings.Contains(err.Error(), names[0]) {
			t.Errorf("Err() = %v", err)
		}
	}
	return names
}

func TestFileChecks(t *testing.T) {
	sql := pgfake.CompleteDump(200 << 10)
	good := gz(t, sql)
	exp := Expect{SHA256: sum(good), Size: int64(len(good)), SQLSHA256: sum(sql), MinSize: 10 << 10}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x40
	noTrailer := gz(t, sql[:len(sql)-200])
	for name, c := range map[string]struct {
		data []byte
		exp  Expect
		want []string
	}{
		"good":                   {good, exp, nil},
		"good without manifest":  {good, Expect{MinSize: 10 << 10}, nil},
		"good, current manifest": {good, Expect{SHA256: sum(good), Size: int64(len(good)), MinSize: 10 << 10}, nil},
		"other SQL sha256":       {good, Expect{SHA256: sum(good), Size: int64(len(good)), SQLSHA256: sum(nil), MinSize: 10 << 10}, []string{CheckSQLSHA256}},
		"truncated":              {good[:len(good)/2], exp, []string{CheckMinSize, CheckSHA256, CheckGzip, CheckTrailer}},
		"truncated, no manifest": {good[:len(good)/2], Expect{MinSize: 10 << 10}, []string{CheckGzip, CheckTrailer}},
		"flipped byte":           {flipped, exp, []string{CheckSHA256, CheckGzip, CheckTrailer}},
		"empty":                  {nil, exp, []string{CheckMinSize, CheckSHA256, CheckGzip, CheckTrailer}},
		"not gzip":               {[]byte(strings.Repeat("SELECT 1;\n", 2000)), Expect{MinSize: 10}, []string{CheckGzip, CheckTrailer}},
		"no trailer":             {noTrailer, Expect{MinSize: 10}, []string{CheckTrailer}},
		"below minimum":          {good, Expect{MinSize: 1 << 30}, []string{CheckMinSize}},
	} {
		t.Run(name, func(t *testing.T) {
			got := failed(t, c.data, c.exp)
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Errorf("failed checks = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCompareCounts(t *testing.T) {
	want := map[string]int64{"public.a": 1, "public.b": 2}
	if c := CompareCounts(want, map[string]int64{"public.a": 1, "public.b": 2}); !c.OK {
		t.Errorf("equal counts: %+v", c)
	}
	c := CompareCounts(want, map[string]int64{"public.a": 1, "public.c": 0})
	if c.OK || c.Detail != "public.b missing (want 2 rows); unexpected table public.c (0 rows)" {
		t.Errorf("different counts: %+v", c)
	}
}
