package check

import "strings"

// Programs that run a command given in their arguments: find -exec,
// GNU parallel (and moreutils' parallel), the string of su, runuser and
// flock -c, trap. watch, sh -c and ssh are in command; flock, runuser -u
// and caffeinate running a command's words are runners.

// findCommands are the commands of find's -exec, -execdir, -ok and
// -okdir actions (up to `;`, or `{} +`).
func findCommands(args []field) [][]field {
	var out [][]field
	for k := 0; k < len(args); k++ {
		switch args[k].s {
		case "-exec", "-execdir", "-ok", "-okdir":
			end := k + 1
			for end < len(args) && args[end].s != ";" && (args[end].s != "+" || args[end-1].s != "{}") {
				end++
			}
			out = append(out, args[k+1:end])
			k = end
		}
	}
	return out
}

// Options of GNU parallel that take a value.
const parallelShort = "aCdEIjJLNnPSs"

var parallelLong = []string{"arg-file", "arg-file-sep", "arg-sep", "basefile", "bf", "block", "block-size", "colsep",
	"delay", "delimiter", "env", "halt", "halt-on-error", "header", "joblog", "jobs", "limit", "load", "max-args",
	"max-chars", "max-lines", "max-procs", "max-replace-args", "memfree", "memsuspend", "nice", "profile", "res",
	"results", "retries", "return", "rpl", "slf", "ssh", "sshdelay", "sshlogin", "sshloginfile", "tagstring",
	"template", "termseq", "tf", "timeout", "tmpdir", "transferfile", "wd", "workdir"}

// parallelCommands are the commands parallel runs, each through a shell:
// the command before `:::` (GNU) or `--` (moreutils), its arguments a word
// the check cannot know (as with xargs); without one, each argument after
// `:::` (GNU) or `--` (moreutils) is a command.
func parallelCommands(args []field) [][]field {
	i := skipOptions(args, 0, parallelShort, parallelLong...)
	moreutils := i > 0 && args[i-1].s == "--" // parallel [options] -- CMD...
	end := i
	for end < len(args) && !isParallelSep(args[end].s) && (moreutils || args[end].s != "--") {
		end++
	}
	switch {
	case moreutils && end == len(args): // each is a command
		var out [][]field
		for _, a := range args[i:] {
			out = append(out, []field{a})
		}
		return out
	case end > i:
		// the arguments go at the end of the command (or at its {})
		cmd := append(args[i:end:end], field{s: unknownWord, off: args[end-1].off, soff: args[end-1].off})
		return [][]field{cmd}
	case end < len(args) && args[end].s == ":::":
		var out [][]field
		for _, a := range args[end+1:] {
			if isParallelSep(a.s) {
				break
			}
			out = append(out, []field{a})
		}
		return out
	}
	return nil
}

func isParallelSep(s string) bool {
	return s == ":::" || s == "::::" || s == ":::+" || s == "::::+"
}

// wrapperShell is the index in args of the string su, runuser or flock
// hands to a shell (-1: none): `su [-] USER -c STRING`, `su -c STRING
// USER`, `runuser USER -c STRING` (runuser -u USER runs a command's words,
// as sudo does), `flock [options] FILE -c STRING`.
func wrapperShell(name string, args []field) int {
	switch name {
	case "flock":
		i := skipOptions(args, 0, runners["flock"], runnerLong["flock"]...) + 1 // past the lock file
		if i+1 < len(args) && (args[i].s == "-c" || args[i].s == "--command") {
			return i + 1
		}
	case "su", "runuser":
		for i := 0; i+1 < len(args); i++ {
			switch w := args[i].s; w {
			case "-u", "--user":
				return -1
			case "-c", "--command", "--session-command", "-lc", "-mc", "-pc", "-fc":
				return i + 1
			case "-g", "-G", "-s", "-w", "--group", "--supp-group", "--shell", "--whitelist-environment":
				i++ // the value
			}
		}
	}
	return -1
}

// trapAction is the index in args of the command trap sets (-1: none):
// `trap [--] ACTION SIGNAL...`; not `trap - SIGNAL` (a reset), `trap -p`
// or `trap -l` (they print), `trap SIGNAL` or `trap 1 2` (resets). An
// empty ACTION ignores the signals and runs nothing.
func trapAction(args []field) int {
	i := 0
	if len(args) > 0 && args[0].s == "--" {
		i++
	}
	if len(args)-i < 2 || strings.HasPrefix(args[i].s, "-") || isNumber(args[i].s) {
		return -1
	}
	return i
}

func isNumber(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
