package apiguard

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/snapshot"
)

// PinLabel marks the guard's pin containers (they also carry the helper
// label, so `docker ledger` cleans them up like any helper).
const PinLabel = "com.ledgerflow.pin"

// Pin holds volumes in use while a request runs: one created, never
// started helper container mounts them all. The engine refuses to delete a
// volume in use, by `volume rm`, by prune (whatever its filters) and when
// a container goes with its volumes. It returns the undo, which removes
// the container (never its volumes). A volume deleted since it was listed
// is created again, empty and without labels, by the engine when the
// container mounts it: Pin notices a labelled volume that lost its labels
// and the undo removes it again (an unlabelled one cannot be told from
// the original and is left; the engine reports a folder's modification
// time as a local volume's creation time, so that cannot tell either).
func Pin(ctx context.Context, e engine.Engine, volumes []engine.Volume) (func() error, error) {
	if err := snapshot.EnsureHelper(ctx, e); err != nil {
		return nil, err
	}
	mounts := make([]engine.Mount, len(volumes))
	for i, v := range volumes {
		mounts[i] = engine.Mount{Type: "volume", Name: v.Name, Destination: "/pin/" + strconv.Itoa(i), ReadOnly: true}
	}
	// Not cancelled with ctx: a create cut short may still make the
	// container, and we would not know its id to remove it.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	id, err := e.CreateContainer(cctx, engine.ContainerSpec{
		Image:           snapshot.HelperImage,
		Cmd:             []string{"/ledger-helper-never-started"},
		Labels:          map[string]string{snapshot.HelperLabel: "true", PinLabel: "true"},
		Mounts:          mounts,
		NetworkDisabled: true,
	})
	if err != nil {
		return nil, fmt.Errorf("pin container: %w", err)
	}
	var made []string
	for _, v := range volumes {
		now, err := e.InspectVolume(cctx, v.Name)
		if err == nil && len(v.Labels) > 0 && len(now.Labels) == 0 {
			made = append(made, v.Name)
		}
	}
	return func() error {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if err := e.RemoveContainer(rctx, id, false); err != nil && !errors.Is(err, engine.ErrNotFound) {
			return fmt.Errorf("remove pin container %s: %w (remove it with: docker rm %s)", id, err, id)
		}
		for _, name := range made {
			_ = e.RemoveVolume(rctx, name, false) // in use again by someone else: theirs now
		}
		return nil
	}, nil
}
