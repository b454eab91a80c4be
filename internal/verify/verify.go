// Package verify proves a database backup good: pg_dump's exit status and
// completion trailer, a minimum size, the file re-read from disk (gzip CRC,
// sha256), and a test restore into a throwaway server of the same image
// whose row counts and schema fingerprint must equal the source's.
package verify

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/docker/go-units"
	"github.com/klauspost/compress/gzip"

	"github.com/ledger-docker/ledger-docker/internal/exitcode"
	"github.com/ledger-docker/ledger-docker/internal/pg"
)

// Check names, as they appear in manifests, reports and error messages.
const (
	CheckExitStatus  = "pg_dump_exit_status"
	CheckTrailer     = "completion_trailer"
	CheckMinSize     = "min_size"
	CheckGzip        = "gzip_crc"
	CheckSHA256      = "sha256"
	CheckSQLSHA256   = "sql_sha256"
	CheckRestore     = "test_restore"
	CheckRowCounts   = "row_counts"
	CheckFingerprint = "schema_fingerprint"
	CheckKeyTables   = "key_tables"
)

// Modes.
const (
	ModeFull  = "full"
	ModeQuick = "quick"
)

// Check is one verification step's result.
type Check struct {
	Name    string `json:"name"`
	OK      bool   `json:"ok"`
	Skipped bool   `json:"skipped,omitempty"`
	Detail  string `json:"detail,omitempty"`
}

// Report is a backup's verification.
type Report struct {
	// Mode is "full" (with a test restore) or "quick" (without).
	Mode string `json:"mode"`
	// OK: every check that ran passed, and the mandatory ones ran.
	OK     bool      `json:"ok"`
	At     time.Time `json:"at"`
	Checks []Check   `json:"checks"`
	// Seconds the verification took.
	Seconds float64 `json:"seconds"`
}

// Add records checks and keeps OK up to date.
func (r *Report) Add(cs ...Check) {
	r.Checks = append(r.Checks, cs...)
	r.OK = len(r.Failed()) == 0
}

// Failed returns the checks that ran and failed.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK && !c.Skipped {
			out = append(out, c)
		}
	}
	return out
}

// Err is nil when every check passed, else an error wrapping
// exitcode.ErrVerify that names each failed check.
func (r *Report) Err() error {
	failed := r.Failed()
	if len(failed) == 0 {
		return nil
	}
	var parts []string
	for _, c := range failed {
		parts = append(parts, c.Name+": "+c.Detail)
	}
	return fmt.Errorf("%w: %s", exitcode.ErrVerify, strings.Join(parts, "; "))
}

// Pass and Fail build checks.
func Pass(name, detail string) Check { return Check{Name: name, OK: true, Detail: detail} }

// Fail is a failed check.
func Fail(name, detail string) Check { return Check{Name: name, Detail: detail} }

// Skip is a check that did not run.
func Skip(name, why string) Check { return Check{Name: name, OK: true, Skipped: true, Detail: why} }

// Expect is what a backup file must be. Empty fields are not checked.
type Expect struct {
	SHA256    string
	Size      int64
	SQLSHA256 string
	MinSize   int64
}

// FileResult is what re-reading a file found.
type FileResult struct {
	Size      int64
	SHA256    string
	SQLSize   int64
	SQLSHA256 string
	Checks    []Check

	gzErr   error
	trailer bool
}

// File re-reads a .sql.gz from disk: its size against the minimum and the
// manifest, its sha256, every gzip member's CRC (by decompressing it
// whole), the SQL's sha256 and pg_dump's completion trailer.
func File(path string, exp Expect) (FileResult, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return FileResult{}, fmt.Errorf("backup file %s: %w", path, exitcode.ErrNotFound)
		}
		return FileResult{}, err
	}
	defer f.Close()
	res, err := Read(f, exp.SQLSHA256 != "")
	if err != nil {
		return res, fmt.Errorf("read %s: %w", path, err)
	}
	res.Judge(exp)
	return res, nil
}

// Read reads a gzipped dump to its end: sizes, the file's sha256, gzip
// CRCs and the trailer, and with sqlHash the SQL's sha256 too (only
// manifests of earlier versions record one: the gzip CRC already ties the
// SQL to what was compressed, at a fraction of the cost). Judge turns what
// it found into checks.
func Read(r io.Reader, sqlHash bool) (FileResult, error) {
	fileHash := sha256.New()
	counted := &countingReader{r: io.TeeReader(r, fileHash)}
	tail := &pg.TailWriter{}
	out := io.Writer(tail)
	var sqlSum hash.Hash
	if sqlHash {
		sqlSum = sha256.New()
		out = io.MultiWriter(sqlSum, tail)
	}
	// Large reads: one call per MB through the hash and the counter
	// (gzip's own buffer would read 4 KB at a time).
	gzErr := gunzipInto(bufio.NewReaderSize(counted, readBuffer), out)
	// Hash the rest of the file too when gzip stopped early.
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return FileResult{}, err
	}
	res := FileResult{
		Size: counted.n, SHA256: hexSum(fileHash), SQLSize: tail.N,
		gzErr: gzErr, trailer: pg.HasTrailer(tail.Tail()),
	}
	if sqlSum != nil {
		res.SQLSHA256 = hexSum(sqlSum)
	}
	return res, nil
}

// ReadMembers re-reads, while it is written, a file the writer writes as
// a series of whole gzip members and whose ends it marks (Follower.Mark):
// each member is read back from disk whole, hashed, and decompressed from
// memory with its CRC checked. It checks what Read checks (the file's
// sha256, every CRC, the trailer), at a sixth less CPU: the decompressor
// reads a byte slice faster than a stream.
func ReadMembers(fl *Follower) (FileResult, error) {
	fileHash := sha256.New()
	tail := &pg.TailWriter{}
	var res FileResult
	var buf []byte
	var zr *gzip.Reader
	for {
		end, err := fl.nextMember()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return FileResult{}, err
		}
		buf = slices.Grow(buf[:0], int(end-res.Size))[:end-res.Size]
		if _, err := fl.f.ReadAt(buf, res.Size); err != nil {
			return FileResult{}, err
		}
		fileHash.Write(buf)
		res.Size = end
		if res.gzErr == nil {
			zr, res.gzErr = gunzipMember(zr, buf, tail)
		}
	}
	// Bytes after the last member are hashed and make the file bad.
	rest, err := io.Copy(fileHash, io.NewSectionReader(fl.f, res.Size, fl.size()-res.Size))
	if err != nil {
		return FileResult{}, err
	}
	if rest > 0 && res.gzErr == nil {
		res.gzErr = fmt.Errorf("%d bytes after the last gzip member", rest)
	}
	res.Size += rest
	res.SHA256, res.SQLSize, res.trailer = hexSum(fileHash), tail.N, pg.HasTrailer(tail.Tail())
	return res, nil
}

// gunzipMember decompresses one whole gzip member into w, checking its
// CRC, with zr (reused; nil the first time).
func gunzipMember(zr *gzip.Reader, member []byte, w io.Writer) (*gzip.Reader, error) {
	r := bytes.NewReader(member)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(r)
	} else {
		err = zr.Reset(r)
	}
	if err != nil {
		return zr, fmt.Errorf("not gzip data: %v", err)
	}
	zr.Multistream(false)
	if _, err := io.Copy(w, zr); err != nil {
		return zr, fmt.Errorf("corrupt gzip data: %v", err)
	}
	if r.Len() > 0 {
		return zr, fmt.Errorf("%d bytes after a gzip member, inside a marked member", r.Len())
	}
	return zr, nil
}

// readBuffer is the size of Read's reads from the file.
const readBuffer = 1 << 20

// Judge sets Checks: what Read found against what is expected.
func (res *FileResult) Judge(exp Expect) {
	res.Checks = []Check{sizeCheck(res.Size, exp)}
	switch {
	case exp.SHA256 == "":
		res.Checks = append(res.Checks, Skip(CheckSHA256, "no recorded sha256 (no manifest)"))
	case exp.SHA256 == res.SHA256:
		res.Checks = append(res.Checks, Pass(CheckSHA256, res.SHA256))
	default:
		res.Checks = append(res.Checks, Fail(CheckSHA256, fmt.Sprintf("file has %s, manifest records %s", res.SHA256, exp.SHA256)))
	}
	if res.gzErr != nil {
		res.Checks = append(res.Checks, Fail(CheckGzip, res.gzErr.Error()),
			Fail(CheckTrailer, "the SQL could not be read to its end"))
		return
	}
	res.Checks = append(res.Checks, Pass(CheckGzip, fmt.Sprintf("%s of SQL", units.BytesSize(float64(res.SQLSize)))))
	if exp.SQLSHA256 != "" {
		if exp.SQLSHA256 == res.SQLSHA256 {
			res.Checks = append(res.Checks, Pass(CheckSQLSHA256, res.SQLSHA256))
		} else {
			res.Checks = append(res.Checks, Fail(CheckSQLSHA256, fmt.Sprintf("SQL has %s, manifest records %s", res.SQLSHA256, exp.SQLSHA256)))
		}
	}
	if res.trailer {
		res.Checks = append(res.Checks, Pass(CheckTrailer, pg.Trailer))
	} else {
		res.Checks = append(res.Checks, Fail(CheckTrailer, fmt.Sprintf("the SQL does not end with %q: the dump is incomplete", pg.Trailer)))
	}
}

func sizeCheck(size int64, exp Expect) Check {
	switch {
	case size == 0:
		return Fail(CheckMinSize, "the file is empty")
	case exp.Size > 0 && size != exp.Size:
		return Fail(CheckMinSize, fmt.Sprintf("the file has %d bytes, the manifest records %d", size, exp.Size))
	case size < exp.MinSize:
		return Fail(CheckMinSize, fmt.Sprintf("%d bytes is below the minimum of %d", size, exp.MinSize))
	}
	return Pass(CheckMinSize, fmt.Sprintf("%d bytes >= %d", size, exp.MinSize))
}

// NewGzipReader reads (every member of) a gzip stream.
func NewGzipReader(r io.Reader) (io.ReadCloser, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not gzip data: %w", err)
	}
	return zr, nil
}

// gunzipInto decompresses every gzip member of r into w, checking CRCs.
func gunzipInto(r io.Reader, w io.Writer) error {
	zr, err := gzip.NewReader(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("not gzip data: the file is empty")
		}
		return fmt.Errorf("not gzip data: %v", err)
	}
	defer zr.Close()
	if _, err := io.Copy(w, zr); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("the file is truncated (unexpected end of gzip data)")
		}
		return fmt.Errorf("corrupt gzip data: %v", err)
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
