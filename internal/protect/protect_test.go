package protect

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ledger-docker/ledger-docker/internal/compose"
	"github.com/ledger-docker/ledger-docker/internal/config"
	"github.com/ledger-docker/ledger-docker/internal/engine"
	"github.com/ledger-docker/ledger-docker/internal/engine/fake"
)

const label = config.DefaultProtectLabel

var files = map[string]string{"PG_VERSION": "15\n", "base/1/1259": strings.Repeat("x", 9000), "empty": ""}

// project writes a compose project declaring media and returns its folder.
func project(t *testing.T) string {
	dir := t.TempDir()
	src := "services:\n  app:\n    image: idle\n    volumes:\n      - media:/media\nvolumes:\n  media: {}   # uploads\n"
	if err := os.WriteFile(filepath.Join(dir, "compose.yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func seed(t *testing.T, dir string) *fake.Engine {
	fe := fake.New()
	fe.AddVolume(engine.Volume{Name: "shop_media", Labels: map[string]string{
		compose.ProjectLabel: "shop", compose.VolumeLabel: "media", compose.ConfigHashLabel: "old"}}, files)
	fe.AddContainer(engine.Container{Name: "shop-app-1", Running: true,
		Labels: map[string]string{compose.ProjectLabel: "shop", compose.ServiceLabel: "app",
			workingDirLabel: dir, configFilesLabel: filepath.Join(dir, "compose.yaml")},
		Mounts: []engine.Mount{{Type: "volume", Name: "shop_media", Destination: "/media"}}})
	fe.AddContainer(engine.Container{Name: "shop-worker-1", Running: false,
		Labels: map[string]string{compose.ProjectLabel: "shop", compose.ServiceLabel: "worker",
			workingDirLabel: dir, configFilesLabel: filepath.Join(dir, "compose.yaml")},
		Mounts: []engine.Mount{{Type: "volume", Name: "shop_media", Destination: "/media"}}})
	return fe
}

// setup seeds a project and plans to protect its media volume.
func setup(t *testing.T) (string, *fake.Engine, Request, *Plan) {
	dir := project(t)
	fe := seed(t, dir)
	req := request(t)
	plan, err := MakePlan(context.Background(), fe, req)
	if err != nil {
		t.Fatal(err)
	}
	return dir, fe, req, plan
}

func request(t *testing.T) Request {
	return Request{Volume: "shop_media", Label: label, SnapshotDir: filepath.Join(t.TempDir(), "snaps"), Env: []string{},
		Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
}

type recorder struct{ calls []string }

func (r *recorder) run(_ context.Context, args []string) error {
	r.calls = append(r.calls, strings.Join(args, " "))
	return nil
}

func TestProtect(t *testing.T) {
	dir, fe, req, plan := setup(t)
	if plan.FileToLabel != filepath.Join(dir, "compose.yaml") || plan.VolumeKey != "media" || len(plan.Projects) != 1 {
		t.Fatalf("plan = %+v", plan)
	}
	var rec recorder
	res, err := Execute(context.Background(), fe, rec.run, plan, req, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	v, err := fe.InspectVolume(context.Background(), "shop_media")
	if err != nil {
		t.Fatal(err)
	}
	if v.Labels[label] != "true" || v.Labels[compose.ProjectLabel] != "shop" || v.Labels[compose.ConfigHashLabel] == "old" {
		t.Errorf("labels = %v", v.Labels)
	}
	if got := fe.VolumeFiles("shop_media"); !equalFiles(got, files) {
		t.Errorf("files = %v", got)
	}
	if res.Files != 3 || res.Snapshot != filepath.Join(req.SnapshotDir, "shop_media_20260102_030405.tar.gz") {
		t.Errorf("result = %+v", res)
	}
	if _, err := os.Stat(res.Snapshot); err != nil {
		t.Errorf("snapshot not kept: %v", err)
	}
	base := "--project-name shop --project-directory " + dir + " --file " + filepath.Join(dir, "compose.yaml")
	want := []string{base + " create --no-recreate worker", base + " up --detach --no-deps --no-recreate app"}
	if !slices.Equal(rec.calls, want) {
		t.Errorf("compose calls = %q, want %q", rec.calls, want)
	}
	src, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if !strings.Contains(string(src), `media: {labels: {com.ledgerflow.protect: "true"}}   # uploads`) {
		t.Errorf("compose file not labelled in place:\n%s", src)
	}
	// the hash set on the volume is the one compose computes from the labelled file
	p, err := compose.Load(context.Background(), compose.Options{ConfigPaths: []string{filepath.Join(dir, "compose.yaml")},
		ProjectName: "shop", Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	h, _ := compose.VolumeHash(p.Volumes["media"])
	if v.Labels[compose.ConfigHashLabel] != h {
		t.Errorf("config hash %s, compose expects %s", v.Labels[compose.ConfigHashLabel], h)
	}
}

func equalFiles(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// failing fails CreateVolume for the new (labelled) volume.
type failing struct {
	*fake.Engine
}

func (f failing) CreateVolume(ctx context.Context, spec engine.VolumeSpec) (engine.Volume, error) {
	if spec.Labels[label] == "true" {
		return engine.Volume{}, errors.New("disk on fire")
	}
	return f.Engine.CreateVolume(ctx, spec)
}

func TestFailurePutsEverythingBack(t *testing.T) {
	dir, fe, req, plan := setup(t)
	var rec recorder
	res, err := Execute(context.Background(), failing{fe}, rec.run, plan, req, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	v, ierr := fe.InspectVolume(context.Background(), "shop_media")
	if ierr != nil {
		t.Fatalf("old volume not put back: %v", ierr)
	}
	if v.Labels[label] != "" || v.Labels[compose.ConfigHashLabel] != "old" {
		t.Errorf("old volume's labels = %v", v.Labels)
	}
	if !equalFiles(fe.VolumeFiles("shop_media"), files) {
		t.Errorf("old volume's files = %v", fe.VolumeFiles("shop_media"))
	}
	if len(rec.calls) != 2 {
		t.Errorf("services not brought back: %q", rec.calls)
	}
	if _, serr := os.Stat(res.Snapshot); serr != nil {
		t.Errorf("snapshot not kept: %v", serr)
	}
	src, _ := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if strings.Contains(string(src), label) {
		t.Error("compose file labelled although the volume was not")
	}
}

func TestRefusals(t *testing.T) {
	fe := fake.New()
	fe.AddVolume(engine.Volume{Name: "nfs", Options: map[string]string{"type": "nfs"}}, nil)
	fe.AddVolume(engine.Volume{Name: "plain"}, nil)
	fe.AddVolume(engine.Volume{Name: "done", Labels: map[string]string{label: "true"}}, nil)
	fe.AddContainer(engine.Container{Name: "hand-made", Mounts: []engine.Mount{{Type: "volume", Name: "plain", Destination: "/d"}}})
	req := Request{Label: label, Env: []string{}}
	for name, want := range map[string]error{"nfs": ErrRefused, "plain": ErrRefused, "missing": engine.ErrNotFound} {
		req.Volume = name
		if _, err := MakePlan(context.Background(), fe, req); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", name, err, want)
		}
	}
	req.Volume = "done"
	if p, err := MakePlan(context.Background(), fe, req); err != nil || !p.Already {
		t.Errorf("already protected: %+v %v", p, err)
	}
}

// interrupting cancels the run when the old volume is removed, as Ctrl-C
// would, and honours the cancelled context afterwards (the fake does not).
type interrupting struct {
	*fake.Engine
	cancel context.CancelFunc
}

func (i interrupting) RemoveVolume(ctx context.Context, name string, force bool) error {
	err := i.Engine.RemoveVolume(ctx, name, force)
	i.cancel()
	return err
}

func (i interrupting) CreateVolume(ctx context.Context, spec engine.VolumeSpec) (engine.Volume, error) {
	if err := ctx.Err(); err != nil {
		return engine.Volume{}, err
	}
	return i.Engine.CreateVolume(ctx, spec)
}

func TestInterruptPutsEverythingBack(t *testing.T) {
	_, fe, req, plan := setup(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec recorder
	_, err := Execute(ctx, interrupting{fe, cancel}, rec.run, plan, req, io.Discard)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	v, ierr := fe.InspectVolume(context.Background(), "shop_media")
	if ierr != nil || v.Labels[compose.ConfigHashLabel] != "old" || !equalFiles(fe.VolumeFiles("shop_media"), files) {
		t.Fatalf("old volume not back: %v %v %v", ierr, v.Labels, fe.VolumeFiles("shop_media"))
	}
	if len(rec.calls) != 2 {
		t.Errorf("services not brought back: %q", rec.calls)
	}
}
