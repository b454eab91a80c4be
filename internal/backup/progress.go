package backup

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker/go-units"
)

// progress prints "bytes, MB/s" on one terminal line twice a second.
type progress struct {
	out   io.Writer
	n     atomic.Int64
	start time.Time
	quit  chan struct{}
	wg    sync.WaitGroup
}

func startProgress(out io.Writer) *progress {
	p := &progress{out: out, start: time.Now(), quit: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				p.print()
				fmt.Fprintln(p.out)
				return
			case <-t.C:
				p.print()
			}
		}
	}()
	return p
}

func (p *progress) add(n int) { p.n.Add(int64(n)) }

func (p *progress) print() {
	n := p.n.Load()
	secs := time.Since(p.start).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(n) / secs / 1e6
	}
	fmt.Fprintf(p.out, "\rdumping: %s of SQL, %.1f MB/s   ", units.HumanSize(float64(n)), rate)
}

func (p *progress) stop() {
	select {
	case <-p.quit:
		return
	default:
	}
	close(p.quit)
	p.wg.Wait()
}
