// Package enginetest is the contract every engine.Engine must keep. The
// same suite runs against the in-memory fake (unit tests) and the real
// Docker engine (end-to-end), as restic runs one backend suite against
// every backend.
package enginetest

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/engine"
)

// Label marks everything the suite creates, so a cleanup can find it.
const Label = "com.ledgerflow.enginetest"

// Run runs the contract against a fresh engine from newEngine.
func Run(t *testing.T, newEngine func(t *testing.T) engine.Engine) {
	ctx := context.Background()
	suffix := fmt.Sprintf("%08x", rand.Uint32())
	image := "ledger-docker/enginetest:1" // one tag, re-imported each run

	t.Run("Info", func(t *testing.T) {
		e := newEngine(t)
		info, err := e.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.APIVersion == "" {
			t.Error("Info.APIVersion is empty")
		}
	})

	t.Run("VolumeLifecycle", func(t *testing.T) {
		e := newEngine(t)
		name := "enginetest_vol_" + suffix
		labels := map[string]string{Label: "true", "com.ledgerflow.protect": "true"}
		if _, err := e.CreateVolume(ctx, engine.VolumeSpec{Name: name, Labels: labels}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = e.RemoveVolume(ctx, name, true) })
		v, err := e.InspectVolume(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if v.Labels["com.ledgerflow.protect"] != "true" || v.Anonymous {
			t.Errorf("inspect = %+v", v)
		}
		list, err := e.ListVolumes(ctx, engine.VolumeFilter{Labels: []string{Label + "=true", "com.ledgerflow.protect"}})
		if err != nil {
			t.Fatal(err)
		}
		if !containsVolume(list, name) {
			t.Errorf("ListVolumes by label misses %s", name)
		}
		dangling := true
		list, err = e.ListVolumes(ctx, engine.VolumeFilter{Labels: []string{Label}, Dangling: &dangling})
		if err != nil {
			t.Fatal(err)
		}
		if !containsVolume(list, name) {
			t.Errorf("unused volume %s not listed as dangling", name)
		}
		if err := e.RemoveVolume(ctx, name, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.InspectVolume(ctx, name); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("inspect after remove: %v, want ErrNotFound", err)
		}
	})

	t.Run("CopyRoundTripThroughHelperContainer", func(t *testing.T) {
		e := newEngine(t)
		if err := e.ImportImage(ctx, image, emptyRootfs(t), []string{`CMD ["/none"]`}); err != nil {
			t.Fatal(err)
		}
		ok, err := e.ImageExists(ctx, image)
		if err != nil || !ok {
			t.Fatalf("ImageExists after import = %v, %v", ok, err)
		}
		vol := "enginetest_copy_" + suffix
		id, err := e.CreateContainer(ctx, engine.ContainerSpec{
			Image: image, Cmd: []string{"/none"}, Labels: map[string]string{Label: "true"},
			Mounts: []engine.Mount{{Name: vol, Destination: "/data"}}, NetworkDisabled: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = e.RemoveContainer(ctx, id, false)
			_ = e.RemoveVolume(ctx, vol, true)
		})
		in := tarOf(t, map[string]string{"a.txt": "alpha", "sub/b.txt": "beta"})
		if err := e.CopyTo(ctx, id, "/data", in); err != nil {
			t.Fatal(err)
		}
		in2, err := e.InspectContainer(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if in2.Running {
			t.Error("helper container is running; it must only be created")
		}
		users, err := e.ListContainers(ctx, engine.ContainerFilter{All: true, Volume: vol})
		if err != nil || len(users) != 1 {
			t.Errorf("ListContainers(volume) = %d, %v; want 1", len(users), err)
		}
		rc, err := e.CopyFrom(ctx, id, "/data")
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		got := readTar(t, rc)
		if got["data/a.txt"] != "alpha" || got["data/sub/b.txt"] != "beta" {
			t.Errorf("CopyFrom = %v", got)
		}
		if err := e.RemoveVolume(ctx, vol, false); !errors.Is(err, engine.ErrConflict) {
			t.Errorf("removing a mounted volume: %v, want ErrConflict", err)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		e := newEngine(t)
		if _, err := e.InspectContainer(ctx, "enginetest_missing_"+suffix); !errors.Is(err, engine.ErrNotFound) {
			t.Errorf("InspectContainer(missing) = %v, want ErrNotFound", err)
		}
		if ok, err := e.ImageExists(ctx, "ledger-docker/enginetest:missing-"+suffix); ok || err != nil {
			t.Errorf("ImageExists(missing) = %v, %v", ok, err)
		}
	})
}

func containsVolume(vs []engine.Volume, name string) bool {
	for _, v := range vs {
		if v.Name == name {
			return true
		}
	}
	return false
}

func emptyRootfs(t *testing.T) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "data/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func tarOf(t *testing.T, files map[string]string) io.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(content))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

func readTar(t *testing.T, r io.Reader) map[string]string {
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, _ := io.ReadAll(tr)
			out[h.Name] = string(b)
		}
	}
}
