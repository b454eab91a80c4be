package testenv

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// djangoRepo is the repository of the sample app's web image; its base
// (Debian + Django, no app) is djangoRepo + "-base".
const djangoRepo = "ledger-e2e/django"

// SampleAppDir is the sample app's folder under the repository root.
const SampleAppDir = "testdata/sampleapp"

// DjangoImage returns the tag of the sample app's web image: Debian
// bookworm's python3-django and python3-psycopg2 with testdata/sampleapp in
// /app, built by testdata/images/django/build.sh. The tag hashes the script
// and the app's files, so editing the app gives a new image; the Debian base
// is rebuilt (about a minute) only when the script or the apt sources
// reader changes.
func DjangoImage(t testing.TB) string {
	t.Helper()
	tag, err := ensureDjango()
	if err != nil {
		t.Fatalf("Django test image: %v", err)
	}
	return tag
}

// SampleApp is a Project holding a copy of testdata/sampleapp (not a
// testdata/e2e scenario), with .env made from .env.example and the
// environment its compose.yaml reads: POSTGRES_IMAGE (from NewProject),
// LEDGERFLOW_WEB_IMAGE (DjangoImage) and LEDGERFLOW_PORT=0 (a free host port).
func SampleApp(t testing.TB) *Project {
	t.Helper()
	// NewProject copies testdata/e2e/<scenario>; the sample app is its
	// sibling, shared with the README's quick start.
	p := NewProject(t, filepath.Join("..", filepath.Base(SampleAppDir)))
	env, err := os.ReadFile(filepath.Join(p.Dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	p.WriteFile(".env", string(env))
	p.Env = append(p.Env, "LEDGERFLOW_WEB_IMAGE="+DjangoImage(t), "LEDGERFLOW_PORT=0")
	return p
}

var ensureDjango = sync.OnceValues(func() (string, error) {
	dir, err := imageDir("django")
	if err != nil {
		return "", err
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	app := filepath.Join(root, SampleAppDir)
	script := filepath.Join(dir, "build.sh")
	baseInputs := []string{script, filepath.Join(dir, "..", "apt-sources.sh")}
	baseHash, err := hashFiles(baseInputs...)
	if err != nil {
		return "", err
	}
	base := djangoRepo + "-base:" + baseHash
	files, err := appFiles(app)
	if err != nil {
		return "", err
	}
	return ensureImage(djangoRepo, append(baseInputs, files...), func(ctx context.Context, tag string) error {
		dockerPath, err := realDocker()
		if err != nil {
			return err
		}
		if _, err := runCmd(ctx, dir, []string{"DOCKER=" + dockerPath}, "bash", script, tag, base, app); err != nil {
			return err
		}
		removeOldTags(ctx, djangoRepo+"-base", base)
		return nil
	})
})

// appFiles lists the files of the app that go into the image, in lexical
// order: everything but what its .dockerignore leaves out.
func appFiles(app string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(app, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch name := d.Name(); {
		case d.IsDir() && path != app && (name == "__pycache__" || name == "backups" || name == "media"):
			return filepath.SkipDir
		case d.Type().IsRegular() && name != ".env" && filepath.Ext(name) != ".pyc":
			files = append(files, path)
		}
		return nil
	})
	return files, err
}
