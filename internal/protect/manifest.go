package protect

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Entry is one file of a volume as a tar stream lists it.
type Entry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Size     int64
	Link     string
	SHA256   string // regular files only
}

// Manifest lists a volume's files, sorted by name.
type Manifest struct {
	Entries []Entry
	Files   int   // regular files
	Bytes   int64 // sum of regular file sizes
}

// manifestOf reads a gzip'd tar stream (a snapshot) to its end, through the
// gzip checksum, and lists every entry with a sha256 of each file.
func manifestOf(r io.Reader) (*Manifest, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	m := &Manifest{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		e := Entry{Name: strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/"), Type: h.Typeflag,
			Mode: h.Mode, UID: h.Uid, GID: h.Gid, Link: h.Linkname}
		if h.Typeflag == tar.TypeReg {
			sum := sha256.New()
			n, err := io.Copy(sum, tr)
			if err != nil {
				return nil, err
			}
			e.Size, e.SHA256 = n, hex.EncodeToString(sum.Sum(nil))
			m.Files++
			m.Bytes += n
		}
		m.Entries = append(m.Entries, e)
	}
	if _, err := io.Copy(io.Discard, zr); err != nil { // verify the gzip trailer
		return nil, err
	}
	sort.Slice(m.Entries, func(i, j int) bool { return m.Entries[i].Name < m.Entries[j].Name })
	return m, nil
}

// diff describes the first differences between two manifests ("" = same).
func diff(want, got *Manifest) string {
	w := map[string]Entry{}
	for _, e := range want.Entries {
		w[e.Name] = e
	}
	var out []string
	seen := map[string]bool{}
	for _, g := range got.Entries {
		seen[g.Name] = true
		e, ok := w[g.Name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("%s: not in the snapshot", g.Name))
		case e != g:
			out = append(out, fmt.Sprintf("%s: %+v, snapshot has %+v", g.Name, g, e))
		}
	}
	for _, e := range want.Entries {
		if !seen[e.Name] {
			out = append(out, fmt.Sprintf("%s: missing", e.Name))
		}
	}
	if len(out) > 5 {
		out = append(out[:5], fmt.Sprintf("and %d more", len(out)-5))
	}
	return strings.Join(out, "; ")
}
