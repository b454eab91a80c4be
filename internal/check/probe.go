package check

import (
	"context"
	"fmt"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// DefaultEngineTimeout bounds the engine rule: a hook must never wait on an
// engine that does not answer.
const DefaultEngineTimeout = 250 * time.Millisecond

// probe lists the engine's volumes in the background while files are read.
type probe struct {
	done    chan struct{}
	off     bool
	volumes map[string]engine.Volume
	err     error
}

func startProbe(ctx context.Context, newEngine func() (engine.Engine, error), timeout time.Duration) *probe {
	p := &probe{done: make(chan struct{})}
	if newEngine == nil {
		p.off = true
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		if timeout <= 0 {
			timeout = DefaultEngineTimeout
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		e, err := newEngine()
		if err != nil {
			p.err = err
			return
		}
		vols, err := e.ListVolumes(ctx, engine.VolumeFilter{})
		if err != nil {
			p.err = err
			return
		}
		p.volumes = make(map[string]engine.Volume, len(vols))
		for _, v := range vols {
			p.volumes[v.Name] = v
		}
	}()
	return p
}

// check waits for the probe and warns about volumes the files protect that
// exist on the engine without the label.
func (p *probe) check(declared []declaredVolume, prot *config.Config) ([]Finding, string) {
	<-p.done
	switch {
	case p.off:
		return nil, "off"
	case p.err != nil:
		return nil, "unavailable"
	}
	var out []Finding
	for _, d := range declared {
		v, ok := p.volumes[d.name]
		if !ok || prot.IsProtected(v.Labels) {
			continue
		}
		why := "the engine does not see it as protected until it is recreated with the label"
		if _, ok := v.Labels[compose.ConfigHashLabel]; ok {
			why = "compose >= 2.32 will offer to recreate it when this file is deployed (answering yes deletes its data)"
		}
		out = append(out, Finding{File: d.file, Line: d.line, Column: d.col, Severity: SeverityWarning,
			Rule: RuleEngineLabel, Volume: d.key,
			Message: fmt.Sprintf("volume %q exists on the engine as %q without %s: %s; run \"docker ledger protect %s\"",
				d.key, d.name, config.LabelText(prot.ProtectKeys()), why, d.name)})
	}
	return out, "checked"
}
