package backup

import (
	stdgzip "compress/gzip"
	"io"
	"os"
	"testing"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/pgzip"

	"github.com/ledger-docker/ledger-docker/internal/pg/pgfake"
)

// BenchmarkCompress compares the gzip writers a backup could use on
// dump-like SQL (why backups use klauspost/pgzip at level 1).
func BenchmarkCompress(b *testing.B) {
	sql := pgfake.CompleteDump(32 << 20)
	if f := os.Getenv("LEDGER_BENCH_SQL"); f != "" {
		// A real dump compresses differently from the generated one.
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		sql = data
	}
	for _, c := range []struct {
		name string
		new  func(w io.Writer) io.WriteCloser
	}{
		{"stdlib-gzip-6", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, 6); return z }},
		{"stdlib-gzip-1", func(w io.Writer) io.WriteCloser { z, _ := stdgzip.NewWriterLevel(w, 1); return z }},
		{"klauspost-gzip-1", func(w io.Writer) io.WriteCloser { z, _ := kgzip.NewWriterLevel(w, 1); return z }},
		{"pgzip-1", func(w io.Writer) io.WriteCloser { z, _ := pgzip.NewWriterLevel(w, 1); return z }},
		{"pgzip-6", func(w io.Writer) io.WriteCloser { z, _ := pgzip.NewWriterLevel(w, 6); return z }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(sql)))
			var out countFunc = func(int) {}
			for i := 0; i < b.N; i++ {
				z := c.new(out)
				for off := 0; off < len(sql); off += 32 << 10 {
					z.Write(sql[off:min(off+32<<10, len(sql))])
				}
				z.Close()
			}
		})
	}
}
