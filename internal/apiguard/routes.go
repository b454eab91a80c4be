package apiguard

import (
	"path"
	"regexp"
	"strings"
)

// kind says how the guard treats an endpoint.
type kind int

const (
	// kindSafe: cannot delete or recreate a volume; forwarded unchanged.
	kindSafe kind = iota
	kindVolumeDelete
	kindVolumePrune
	kindContainerDelete
	kindContainerCreate
	kindServiceWrite
	kindContainerStart
	kindVolumeCreate
)

// route is one Engine API endpoint, path relative to the version prefix.
// A segment "{x}" matches one path segment, "{x*}" one or more (image and
// plugin names contain slashes); at most one "*" segment per pattern.
type route struct {
	method  string
	pattern string
	kind    kind
}

// routes lists every endpoint of the Engine API reference from 1.41 to
// 1.51, plus the undocumented ones the docker CLI and BuildKit use
// (/session, /grpc, /build/cancel). docs/wrapper.md has the same list with
// the reason for each verdict. An endpoint that is not here and is not a
// read (GET, HEAD) is refused: it may be new and may delete.
var routes = []route{
	// The endpoints that can lose a volume come first.
	{"DELETE", "/volumes/{name}", kindVolumeDelete},
	{"POST", "/volumes/prune", kindVolumePrune},
	{"DELETE", "/containers/{id}", kindContainerDelete},
	{"POST", "/containers/create", kindContainerCreate},
	{"POST", "/containers/{id}/start", kindContainerStart},
	{"POST", "/services/create", kindServiceWrite},
	{"POST", "/services/{id}/update", kindServiceWrite},

	{"GET", "/_ping", kindSafe},
	{"HEAD", "/_ping", kindSafe},
	{"GET", "/version", kindSafe},
	{"GET", "/info", kindSafe},
	{"GET", "/events", kindSafe},
	{"GET", "/system/df", kindSafe},
	{"POST", "/auth", kindSafe},

	{"GET", "/containers/json", kindSafe},
	{"GET", "/containers/{id}/json", kindSafe},
	{"GET", "/containers/{id}/top", kindSafe},
	{"GET", "/containers/{id}/logs", kindSafe},
	{"GET", "/containers/{id}/changes", kindSafe},
	{"GET", "/containers/{id}/export", kindSafe},
	{"GET", "/containers/{id}/stats", kindSafe},
	{"POST", "/containers/{id}/resize", kindSafe},
	{"POST", "/containers/{id}/stop", kindSafe},
	{"POST", "/containers/{id}/restart", kindSafe},
	{"POST", "/containers/{id}/kill", kindSafe},
	{"POST", "/containers/{id}/update", kindSafe},
	{"POST", "/containers/{id}/rename", kindSafe},
	{"POST", "/containers/{id}/pause", kindSafe},
	{"POST", "/containers/{id}/unpause", kindSafe},
	{"POST", "/containers/{id}/attach", kindSafe},
	{"GET", "/containers/{id}/attach/ws", kindSafe},
	{"POST", "/containers/{id}/wait", kindSafe},
	{"HEAD", "/containers/{id}/archive", kindSafe},
	{"GET", "/containers/{id}/archive", kindSafe},
	{"PUT", "/containers/{id}/archive", kindSafe},
	{"POST", "/containers/{id}/exec", kindSafe},
	{"POST", "/containers/prune", kindSafe},

	{"POST", "/exec/{id}/start", kindSafe},
	{"POST", "/exec/{id}/resize", kindSafe},
	{"GET", "/exec/{id}/json", kindSafe},

	{"GET", "/images/json", kindSafe},
	{"POST", "/build", kindSafe},
	{"POST", "/build/prune", kindSafe},
	{"POST", "/build/cancel", kindSafe},
	{"POST", "/images/create", kindSafe},
	{"GET", "/images/search", kindSafe},
	{"POST", "/images/prune", kindSafe},
	{"GET", "/images/get", kindSafe},
	{"POST", "/images/load", kindSafe},
	{"GET", "/images/{name*}/json", kindSafe},
	{"GET", "/images/{name*}/history", kindSafe},
	{"POST", "/images/{name*}/push", kindSafe},
	{"POST", "/images/{name*}/tag", kindSafe},
	{"GET", "/images/{name*}/get", kindSafe},
	{"DELETE", "/images/{name*}", kindSafe},
	{"POST", "/commit", kindSafe},

	{"GET", "/networks", kindSafe},
	{"POST", "/networks/create", kindSafe},
	{"POST", "/networks/prune", kindSafe},
	{"GET", "/networks/{id}", kindSafe},
	{"DELETE", "/networks/{id}", kindSafe},
	{"POST", "/networks/{id}/connect", kindSafe},
	{"POST", "/networks/{id}/disconnect", kindSafe},

	{"GET", "/volumes", kindSafe},
	{"POST", "/volumes/create", kindVolumeCreate},
	{"GET", "/volumes/{name}", kindSafe},
	{"PUT", "/volumes/{name}", kindSafe}, // cluster volumes' availability; deletes nothing

	{"GET", "/swarm", kindSafe},
	{"POST", "/swarm/init", kindSafe},
	{"POST", "/swarm/join", kindSafe},
	{"POST", "/swarm/leave", kindSafe},
	{"POST", "/swarm/update", kindSafe},
	{"GET", "/swarm/unlockkey", kindSafe},
	{"POST", "/swarm/unlock", kindSafe},
	{"GET", "/nodes", kindSafe},
	{"GET", "/nodes/{id}", kindSafe},
	{"DELETE", "/nodes/{id}", kindSafe},
	{"POST", "/nodes/{id}/update", kindSafe},
	{"GET", "/services", kindSafe},
	{"GET", "/services/{id}", kindSafe},
	{"DELETE", "/services/{id}", kindSafe},
	{"GET", "/services/{id}/logs", kindSafe},
	{"GET", "/tasks", kindSafe},
	{"GET", "/tasks/{id}", kindSafe},
	{"GET", "/tasks/{id}/logs", kindSafe},
	{"GET", "/secrets", kindSafe},
	{"POST", "/secrets/create", kindSafe},
	{"GET", "/secrets/{id}", kindSafe},
	{"DELETE", "/secrets/{id}", kindSafe},
	{"POST", "/secrets/{id}/update", kindSafe},
	{"GET", "/configs", kindSafe},
	{"POST", "/configs/create", kindSafe},
	{"GET", "/configs/{id}", kindSafe},
	{"DELETE", "/configs/{id}", kindSafe},
	{"POST", "/configs/{id}/update", kindSafe},

	{"GET", "/plugins", kindSafe},
	{"GET", "/plugins/privileges", kindSafe},
	{"POST", "/plugins/pull", kindSafe},
	{"POST", "/plugins/create", kindSafe},
	{"GET", "/plugins/{name*}/json", kindSafe},
	{"POST", "/plugins/{name*}/enable", kindSafe},
	{"POST", "/plugins/{name*}/disable", kindSafe},
	{"POST", "/plugins/{name*}/upgrade", kindSafe},
	{"POST", "/plugins/{name*}/push", kindSafe},
	{"POST", "/plugins/{name*}/set", kindSafe},
	{"DELETE", "/plugins/{name*}", kindSafe},

	{"GET", "/distribution/{name*}/json", kindSafe},
	{"POST", "/session", kindSafe},
	{"POST", "/grpc", kindSafe},
}

// match reports whether p (cleaned, without version prefix) matches
// pattern, and returns the values of its {x} segments in order.
func match(pattern, p string) ([]string, bool) {
	ps := strings.Split(strings.TrimPrefix(pattern, "/"), "/")
	ss := strings.Split(strings.TrimPrefix(p, "/"), "/")
	star := -1
	for i, s := range ps {
		if strings.HasSuffix(s, "*}") {
			star = i
		}
	}
	if star < 0 {
		if len(ss) != len(ps) {
			return nil, false
		}
		return matchSegs(ps, ss)
	}
	tail := len(ps) - star - 1
	if len(ss) < len(ps) {
		return nil, false
	}
	head, err1 := matchSegs(ps[:star], ss[:star])
	rest, err2 := matchSegs(ps[star+1:], ss[len(ss)-tail:])
	name := strings.Join(ss[star:len(ss)-tail], "/")
	if !err1 || !err2 || name == "" {
		return nil, false
	}
	return append(append(head, name), rest...), true
}

// matchSegs matches equal-length segment lists.
func matchSegs(ps, ss []string) ([]string, bool) {
	var vals []string
	for i, s := range ps {
		switch {
		case strings.HasPrefix(s, "{"):
			if ss[i] == "" {
				return nil, false
			}
			vals = append(vals, ss[i])
		case s != ss[i]:
			return nil, false
		}
	}
	return vals, true
}

// versionPrefix is the engine router's "/v{version:[0-9.]+}" prefix.
var versionPrefix = regexp.MustCompile(`^/v([0-9.]+)(/.*)?$`)

// splitPath cleans p as the engine's router does before matching (a path
// that is not clean is redirected there) and splits off the version prefix.
func splitPath(p string) (clean, version, rest string) {
	if p == "" {
		p = "/"
	}
	clean = path.Clean(p)
	if m := versionPrefix.FindStringSubmatch(clean); m != nil {
		rest = m[2]
		if rest == "" {
			rest = "/"
		}
		return clean, m[1], rest
	}
	return clean, "", clean
}

// bulkRoutes are the endpoints whose answer is a stream of archive or
// image data (the guard copies them with large buffers).
var bulkRoutes = map[string]bool{
	"GET /containers/{id}/archive": true,
	"GET /containers/{id}/export":  true,
	"GET /images/get":              true,
	"GET /images/{name*}/get":      true,
}

// lookup finds the route of method and p (without version prefix). A path
// that matches a volume-losing route only when compared without case is
// reported as such, so that no spelling reaches the engine unchecked.
func lookup(method, p string) (route, []string, bool) {
	for _, r := range routes {
		if r.method != method {
			continue
		}
		if vals, ok := match(r.pattern, p); ok {
			return r, vals, true
		}
	}
	lp, lm := strings.ToLower(p), strings.ToUpper(method)
	for _, r := range routes {
		if r.kind == kindSafe || r.method != lm {
			continue
		}
		if vals, ok := match(r.pattern, lp); ok {
			return r, vals, true
		}
	}
	return route{}, nil, false
}
