package intercept

import (
	"path/filepath"
	"slices"
	"strings"
)

// PassThrough are the docker subcommands that cannot delete or recreate a
// volume, whatever their flags and operands: the only command lines that
// reach the real docker without the guard (PassesThrough). Each comment
// names the Engine API calls the subcommand makes. None of them can be
// aliased in config.json (docker/cli allows an alias for `builder` only)
// or shadowed by a CLI plugin (a plugin named like a built-in command is
// ignored). The C front (wrapper/front/ledger_docker.c) keeps the same
// list; a test in internal/wrapper compares the two.
var PassThrough = []string{
	"ps",      // GET /containers/json
	"images",  // GET /images/json
	"logs",    // GET /containers/{id}/json, GET /containers/{id}/logs
	"inspect", // GET /{containers,images,volumes,networks,...}/{id}[/json]
	"version", // GET /version
	"info",    // GET /info
	"events",  // GET /events
	"stats",   // GET /containers/json, GET /containers/{id}/stats, GET /events
	"top",     // GET /containers/{id}/top
	"port",    // GET /containers/{id}/json
	"diff",    // GET /containers/{id}/changes
	"history", // GET /images/{name}/history
	"search",  // GET /images/search
	"login",   // POST /auth (and GET /info for the default registry); writes config.json's auths
	"logout",  // no API call: config.json's auths only
	"pull",    // POST /images/create?fromImage=
	"push",    // POST /images/{name}/push
	"tag",     // POST /images/{name}/tag
	"save",    // GET /images/get
	"load",    // POST /images/load
}

// EnvExplain turns explain mode on: say what a command would do, run
// nothing (ExplainOn).
const EnvExplain = "LEDGER_EXPLAIN"

// ExplainOn reports whether explain mode is on: LEDGER_EXPLAIN is set to
// anything but "", "0", "false", "no" or "off" (case and surrounding
// spaces ignored). A value the user meant as "on" must never run the
// command for real.
func ExplainOn(getenv Getenv) bool {
	switch strings.ToLower(strings.TrimSpace(getenv(EnvExplain))) {
	case "", "0", "false", "no", "off":
		return false
	}
	return true
}

// PassesThrough reports whether a command line may go to the real docker
// directly: argv[0]'s base name is docker (or ledger_docker, the name the
// installed `alias docker=ledger_docker` runs), explain mode is off, and
// the first operand after docker's global flags is in PassThrough. Global
// flags are read exactly as docker/cli's root flag set spells them; any
// other word before the subcommand (an unknown flag, "--", -h/--help in
// any form, a group of short flags, a bool flag with "=value") makes it
// false: the guard decides.
func PassesThrough(argv []string, getenv Getenv) bool {
	if ExplainOn(getenv) {
		return false
	}
	rest, ok := subcommand(argv, true)
	return ok && slices.Contains(PassThrough, rest[0])
}

// subcommand is argv from docker's subcommand on: argv[0] is docker or
// ledger_docker, and every word before the first operand is one of
// docker's global flags as globalFlagArgs reads it (an endpoint flag only
// if endpoints is true). ok is false otherwise, or with no subcommand.
func subcommand(argv []string, endpoints bool) (rest []string, ok bool) {
	if len(argv) < 2 {
		return nil, false
	}
	if name := filepath.Base(argv[0]); name != string(Docker) && name != frontName {
		return nil, false
	}
	args := argv[1:]
	for len(args) > 0 {
		a := args[0]
		if a == "" || a[0] != '-' || a == "-" {
			return args, true
		}
		n := globalFlagArgs(a)
		if n == 0 || n > len(args) || (!endpoints && isEndpointFlag(a)) {
			return nil, false
		}
		args = args[n:]
	}
	return nil, false
}

// frontName is the C front's file name (wrapper.FrontName).
const frontName = "ledger_docker"

// docker/cli's global flags (its root command's flag set, cli/flags) as
// PassesThrough reads them: the long ones that take a value, the
// one-letter ones that take a value, and the booleans. The C front keeps
// the same lists.
var (
	GlobalValueFlags      = []string{"--config", "--context", "--host", "--log-level", "--tlscacert", "--tlscert", "--tlskey"}
	GlobalShortValueFlags = "cHl" // -c/--context, -H/--host, -l/--log-level
	GlobalBoolFlags       = []string{"-D", "--debug", "--tls", "--tlsverify"}
)

// globalFlagArgs is how many arguments a docker global flag takes up
// (itself and its value), 0 for anything that is not exactly one of
// docker/cli's global flags in a form pflag reads: "--x v", "--x=v",
// "-X v", "-Xv" (pflag reads "-X=v" as the value "v"), and a bool flag
// alone.
func globalFlagArgs(a string) int {
	switch {
	case slices.Contains(GlobalBoolFlags, a):
		return 1
	case slices.Contains(GlobalValueFlags, a):
		return 2
	case len(a) >= 2 && a[0] == '-' && a[1] != '-' && strings.IndexByte(GlobalShortValueFlags, a[1]) >= 0:
		if len(a) == 2 {
			return 2
		}
		return 1
	}
	if name, _, ok := strings.Cut(a, "="); ok && slices.Contains(GlobalValueFlags, name) {
		return 1
	}
	return 0
}

// mayDestroy are the docker subcommands Parse may find destructive, each
// with the words after it that make it so (nil: any). Every other
// subcommand cannot be destructive by Parse, whatever follows.
var mayDestroy = map[string][]string{
	"rm":        nil,
	"compose":   nil,
	"volume":    {"rm", "remove", "prune"},
	"system":    {"prune"},
	"container": {"rm", "remove"},
}

// MayDestroy lists mayDestroy as "word" and "word next" entries, sorted
// (the C front keeps the same list; a test compares them).
func MayDestroy() []string {
	var out []string
	for w, next := range mayDestroy {
		if next == nil {
			out = append(out, w)
		}
		for _, n := range next {
			out = append(out, w+" "+n)
		}
	}
	slices.Sort(out)
	return out
}

// EndpointFlags are docker's global flags that choose the engine: a
// command line with one of them goes through the Go wrapper, which moves
// them to the guard's side (guardrun.Split).
var EndpointFlags = []string{"--context", "--host", "--tls", "--tlsverify", "--tlscacert", "--tlscert", "--tlskey"}

// EndpointShortFlags: -c (--context) and -H (--host).
const EndpointShortFlags = "cH"

// StartsAtFront reports whether the C front starts the real docker itself,
// behind the guard's socket, before it hands the command line to the Go
// wrapper (which adopts both: wrapper.EnvFrontChild): argv[0] is docker or
// ledger_docker, LEDGER_EXPLAIN is empty, the global flags are docker's
// and none chooses the endpoint, and the subcommand is neither on the
// allow-list nor one Parse may find destructive (mayDestroy). The real
// docker then starts while the guard does, so the guard's start-up costs
// the command next to nothing (make bench).
func StartsAtFront(argv []string, getenv Getenv) bool {
	if getenv(EnvExplain) != "" {
		return false
	}
	args, ok := subcommand(argv, false)
	if !ok || slices.Contains(PassThrough, args[0]) {
		return false
	}
	next, ok := mayDestroy[args[0]]
	if !ok {
		return true
	}
	return next != nil && (len(args) < 2 || !slices.Contains(next, args[1]))
}

// isEndpointFlag reports whether a (a global flag as globalFlagArgs reads
// it) chooses the endpoint.
func isEndpointFlag(a string) bool {
	name, _, _ := strings.Cut(a, "=")
	if slices.Contains(EndpointFlags, name) {
		return true
	}
	return len(a) >= 2 && a[0] == '-' && a[1] != '-' && strings.IndexByte(EndpointShortFlags, a[1]) >= 0
}
