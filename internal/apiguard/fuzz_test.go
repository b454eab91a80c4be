package apiguard_test

import (
	"net/http"
	"strings"
	"testing"
)

// The vocabulary the fuzzer composes requests from: every spelling of the
// endpoints that delete volumes that anyone has found, and their names.
var (
	fuzzMethods = []string{"DELETE", "POST", "GET", "PUT", "delete", "HEAD"}
	fuzzPaths   = []string{"/v1.41/volumes/", "/volumes/", "/v1.44/volumes/", "/v1.41//volumes/./", "/v1.41/VOLUMES/",
		"/v1.41/containers/", "/containers/", "/v1.41/volumes/prune", "/v1.41/containers/create", "/v1.41/services/create",
		"/v1.41/containers/prune", "/v1.41/system/prune", "/v1.41/images/", "/v1.41/volumes/x/../"}
	fuzzNames   = []string{"keep", "free", anonProt, anonFree, "c1", "c2", "prune", "create", "%6beep", "keep/"}
	fuzzQueries = []string{"", "?v=1", "?v=yes", "?v=True", "?force=1&v=1", "?v=0;v=1", `?filters={"label!":{"x":true}}`,
		`?filters={"all":{"true":true}}`, `?filters={"label":{"com.ledgerflow.protect=true":true}}`, `?filters={"LABEL":["a"]}`, "?v"}
	fuzzBodies = []string{"", `{"HostConfig":{"AutoRemove":true,"VolumesFrom":["c1"]}}`, `{"HostConfig":{"AutoRemove":true,"VolumesFrom":["c2:ro"]}}`,
		`{"hostconfig":{"autoremove":true,"mounts":[{"type":"volume","volumeoptions":{"labels":{"com.ledgerflow.protect":"true"}}}]}}`, `{`}
)

// FuzzGuard sends sequences of requests built from the fuzzer's bytes
// through the guard to a fake engine with the engine's semantics, with a
// second container that shares the protected anonymous volume coming and
// going between requests. No sequence may lose a protected volume or the
// marker file inside it.
func FuzzGuard(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0})
	f.Add([]byte{1, 7, 0, 0, 0, 0, 5, 4, 1, 0})
	f.Add([]byte{0, 5, 4, 2, 0, 1, 8, 0, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := world()
		_, c, _ := guard(t, e)
		pick := func(i int, list []string) string {
			if i < len(data) {
				return list[int(data[i])%len(list)]
			}
			return list[0]
		}
		for i := 0; i+4 < len(data) && i < 60; i += 5 {
			method, p := strings.ToUpper(pick(i, fuzzMethods)), pick(i+1, fuzzPaths)
			if strings.HasSuffix(p, "/") {
				p += pick(i+2, fuzzNames)
			}
			url := p + pick(i+3, fuzzQueries)
			req, err := http.NewRequest(method, "http://docker"+url, strings.NewReader(pick(i+4, fuzzBodies)))
			if err != nil {
				continue
			}
			if data[i+4]%3 == 0 {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
			if data[i]%4 == 0 {
				_ = e.RemoveContainer(t.Context(), "c2", false)
			}
			for _, v := range []string{"keep", anonProt} {
				if !e.HasVolume(v) || e.VolumeFiles(v)["marker"] == "" {
					t.Fatalf("protected volume %s lost after %s %s", v, method, url)
				}
			}
		}
	})
}
