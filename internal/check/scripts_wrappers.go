package check

// Programs that run a command given in their arguments: find -exec,
// GNU parallel (and moreutils' parallel). watch, sh -c and ssh are in
// command.

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
