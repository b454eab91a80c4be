package verify

import (
	"context"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/apiguard"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

// cutShort is an engine whose container create is interrupted after the
// engine made the container: the ID never reaches the caller.
type cutShort struct{ *fake.Engine }

func (c cutShort) CreateContainer(ctx context.Context, spec engine.ContainerSpec) (string, error) {
	if _, err := c.Engine.CreateContainer(ctx, spec); err != nil {
		return "", err
	}
	return "", context.Canceled
}

// An interruption during the throwaway server's create leaves neither the
// container nor the volume behind.
func TestScratchCutShortLeavesNothing(t *testing.T) {
	e := fake.New()
	e.AddImage("pg:1")
	_, err := StartScratch(context.Background(), cutShort{e}, ScratchSpec{Project: "p", Image: "pg:1", User: "u", Database: "d"})
	if err == nil {
		t.Fatal("StartScratch succeeded")
	}
	cs, _ := e.ListContainers(context.Background(), engine.ContainerFilter{All: true})
	vs, _ := e.ListVolumes(context.Background(), engine.VolumeFilter{})
	if len(cs) != 0 || len(vs) != 0 {
		t.Errorf("left behind: %d container(s) %v, %d volume(s) %v", len(cs), cs, len(vs), vs)
	}
}

// The guard recognises the throwaway volumes by this label.
func TestThrowawayLabelIsTheGuards(t *testing.T) {
	if LabelScratch != apiguard.ThrowawayLabel {
		t.Errorf("verify.LabelScratch %q, apiguard.ThrowawayLabel %q", LabelScratch, apiguard.ThrowawayLabel)
	}
}
