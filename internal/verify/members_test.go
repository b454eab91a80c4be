package verify

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
)

// members gzips sql as one gzip member per part and returns the file and
// each member's end.
func members(t *testing.T, parts ...[]byte) ([]byte, []int64) {
	t.Helper()
	var file []byte
	var ends []int64
	for _, p := range parts {
		file = append(file, gz(t, p)...)
		ends = append(ends, int64(len(file)))
	}
	return file, ends
}

// readMembers writes data through a Follower in small pieces, marking
// ends, and returns what ReadMembers found, judged against exp.
func readMembers(t *testing.T, data []byte, ends []int64, exp Expect) (FileResult, error) {
	t.Helper()
	w, fl := follow(t)
	type result struct {
		res FileResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := ReadMembers(fl)
		done <- result{res, err}
	}()
	for _, e := range ends {
		fl.Mark(e)
	}
	for off := 0; off < len(data); off += 1000 {
		n, _ := w.Write(data[off:min(off+1000, len(data))])
		fl.Advance(n)
	}
	fl.Close(nil)
	r := <-done
	if r.err == nil {
		r.res.Judge(exp)
	}
	return r.res, r.err
}

func failedChecks(res FileResult) []string {
	var names []string
	for _, c := range res.Checks {
		if !c.OK {
			names = append(names, c.Name)
		}
	}
	return names
}

func TestReadMembersChecksWhatReadChecks(t *testing.T) {
	sql := pgfake.CompleteDump(300 << 10)
	file, ends := members(t, sql[:100<<10], sql[100<<10:250<<10], sql[250<<10:])
	exp := Expect{SHA256: sum(file), Size: int64(len(file)), MinSize: 10 << 10}

	res, err := readMembers(t, file, ends, exp)
	if err != nil {
		t.Fatal(err)
	}
	if f := failedChecks(res); len(f) > 0 || res.SQLSize != int64(len(sql)) || res.SHA256 != sum(file) {
		t.Errorf("failed %v, SQL size %d (want %d)", f, res.SQLSize, len(sql))
	}
	// The whole-stream reader agrees: the file is one gzip stream to it.
	streamed, err := Read(bytes.NewReader(file), false)
	if err != nil {
		t.Fatal(err)
	}
	if streamed.SHA256 != res.SHA256 || streamed.SQLSize != res.SQLSize || streamed.gzErr != nil || !streamed.trailer {
		t.Errorf("Read found %+v", streamed)
	}

	flipped := append([]byte(nil), file...)
	flipped[ends[0]+200] ^= 0x40
	res, err = readMembers(t, flipped, ends, exp)
	if err != nil {
		t.Fatal(err)
	}
	if f := strings.Join(failedChecks(res), ","); f != CheckSHA256+","+CheckGzip+","+CheckTrailer {
		t.Errorf("flipped byte in the second member: failed %s", f)
	}

	// A mark off a member boundary, and bytes after the last member.
	for name, ends := range map[string][]int64{
		"mark inside a member": {ends[0] - 10, ends[2]},
		"data after the marks": ends[:2],
	} {
		res, err := readMembers(t, file, ends, exp)
		if err != nil {
			t.Fatal(err)
		}
		if f := failedChecks(res); len(f) == 0 || f[0] != CheckGzip {
			t.Errorf("%s: failed %v", name, f)
		}
	}
}

func TestReadMembersStops(t *testing.T) {
	file, ends := members(t, pgfake.CompleteDump(20<<10))
	// A mark beyond what was written when the writer closes.
	if _, err := readMembers(t, file, append(ends, ends[0]+50), Expect{}); err == nil || !strings.Contains(err.Error(), "after the") {
		t.Errorf("mark beyond the data: err = %v", err)
	}

	path := filepath.Join(t.TempDir(), "f")
	os.WriteFile(path, file, 0o600)
	fl, err := Follow(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fl.Done()
	boom := errors.New("dump failed")
	fl.Mark(ends[0])
	fl.Close(boom)
	if _, err := ReadMembers(fl); !errors.Is(err, boom) {
		t.Errorf("writer gave up: err = %v", err)
	}
}
