package check

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// at is one expected destructive-command finding: its line, its column
// and the command its message names (an error), or, after "warning: ", the
// whole message of a warning.
type at struct {
	line, col int
	what      string
}

// warning is the what of an expected warning.
func warning(msg string) string { return "warning: " + msg }

// scriptCase is a file and every finding the script rule must give for
// it (none: the file runs nothing destructive).
type scriptCase struct {
	name string
	file string // its name decides how it is read: *.sh, Makefile, CI paths
	src  string
	want []at
}

func runScriptCases(t *testing.T, cases []scriptCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tc.file)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, script, kind := kindOf(p)
			if !script {
				t.Fatalf("%s is not read as a script", tc.file)
			}
			got, err := checkScript(scriptFile{path: p, kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			var gotS, wantS []string
			for _, f := range got {
				if f.Rule != RuleDestructive || f.File != p {
					t.Errorf("finding %s: want a finding of rule %s in %s", f, RuleDestructive, p)
				}
				gotS = append(gotS, fmt.Sprintf("%d:%d %s: %s", f.Line, f.Column, f.Severity, f.Message))
			}
			var wantF []Finding
			for _, w := range tc.want {
				f := Finding{Line: w.line, Column: w.col, Severity: SeverityError, Message: destructiveMessage(w.what)}
				if msg, ok := strings.CutPrefix(w.what, "warning: "); ok {
					f.Severity, f.Message = SeverityWarning, msg
				}
				wantF = append(wantF, f)
				wantS = append(wantS, fmt.Sprintf("%d:%d %s: %s", f.Line, f.Column, f.Severity, f.Message))
			}
			ok := len(got) == len(wantF)
			for i := 0; ok && i < len(got); i++ {
				w := wantF[i]
				ok = got[i].Line == w.Line && got[i].Column == w.Column && got[i].Severity == w.Severity &&
					got[i].Message == w.Message
			}
			if !ok {
				t.Errorf("findings:\n  %s\nwant:\n  %s", strings.Join(gotS, "\n  "), strings.Join(wantS, "\n  "))
			}
		})
	}
}

const (
	downV       = "docker compose down -v"
	prune       = "docker volume prune"
	volumeRm    = "docker volume rm"
	systemPrune = "docker system prune --volumes"
)

func TestScriptShellShapes(t *testing.T)       { runScriptCases(t, shellShapes) }
func TestScriptMakefileShapes(t *testing.T)    { runScriptCases(t, makefileShapes) }
func TestScriptCIShapes(t *testing.T)          { runScriptCases(t, ciShapes) }
func TestScriptJenkinsfileShapes(t *testing.T) { runScriptCases(t, jenkinsShapes) }

// shellShapes: shell scripts.
var shellShapes = []scriptCase{
	{name: "plain command", file: "reset.sh", src: "docker compose down -v\n", want: []at{{1, 1, downV}}},
	{name: "command substitution", file: "reset.sh", src: "out=$(docker compose down -v)\n", want: []at{{1, 7, downV}}},
	{name: "backquote substitution", file: "reset.sh", src: "echo `docker volume prune -f`\n", want: []at{{1, 7, prune}}},
	{name: "command substitution in double quotes", file: "reset.sh",
		src: `echo "removed: $(docker volume rm data)"` + "\n", want: []at{{1, 18, volumeRm}}},
	{name: "process substitution", file: "reset.sh", src: "readarray -t gone < <(docker volume prune -f)\n",
		want: []at{{1, 23, prune}}},
	{name: "subshell", file: "reset.sh", src: "(cd app && docker compose down -v)\n", want: []at{{1, 12, downV}}},
	{name: "brace group", file: "reset.sh", src: "{ echo bye; docker volume prune -f; } >log\n", want: []at{{1, 13, prune}}},
	{name: "function body", file: "reset.sh", src: "reset() {\n  docker compose down --volumes\n}\nreset\n",
		want: []at{{2, 3, downV}}},
	{name: "function keyword body", file: "reset.sh", src: "function reset {\n  docker volume rm db\n}\n",
		want: []at{{2, 3, volumeRm}}},
	{name: "if-chain", file: "reset.sh",
		src:  "if docker compose down -v; then\n  echo ok\nelif true; then docker volume prune -f; fi\n",
		want: []at{{1, 4, downV}, {3, 17, prune}}},
	{name: "while and until loops", file: "reset.sh",
		src:  "while true; do docker volume prune -f; done\nuntil docker compose down -v; do sleep 1; done\n",
		want: []at{{1, 16, prune}, {2, 7, downV}}},
	{name: "for loop", file: "reset.sh", src: "for v in a b; do\n  docker volume rm \"$v\"\ndone\n",
		want: []at{{2, 3, volumeRm}}},
	{name: "case branch", file: "reset.sh", src: "case $1 in\n  reset) docker compose down -v ;;\nesac\n",
		want: []at{{2, 10, downV}}},
	{name: "and-or chain", file: "reset.sh", src: "git pull && docker compose down -vt 5 || docker volume prune -f\n",
		want: []at{{1, 13, downV}, {1, 42, prune}}},
	{name: "negated and backgrounded", file: "reset.sh", src: "! docker volume prune -f &\n", want: []at{{1, 3, prune}}},
	{name: "pipeline into xargs", file: "reset.sh", src: "docker volume ls -q | xargs -r -n 1 docker volume rm\n",
		want: []at{{1, 37, volumeRm}}},
	{name: "continued line", file: "reset.sh", src: "docker compose \\\n  --profile all \\\n  down \\\n  -v\n",
		want: []at{{1, 1, downV}}},
	{name: "continued line after a prefix", file: "reset.sh",
		src: "COMPOSE_PROJECT_NAME=shop docker compose \\\n  down -v\n", want: []at{{1, 27, downV}}},
	{name: "sudo and env prefixes", file: "reset.sh", src: "sudo -u deploy env COMPOSE_FILE=x.yml docker compose down -v\n",
		want: []at{{1, 39, downV}}},
	{name: "exec, nohup and timeout", file: "reset.sh",
		src:  "nohup timeout -s KILL 60 docker volume prune -f\nexec docker compose down -v\n",
		want: []at{{1, 26, prune}, {2, 6, downV}}},
	{name: "full path and docker-compose", file: "reset.sh",
		src:  "/usr/bin/docker volume prune --filter label=tmp=1\ndocker-compose rm -fsv\n",
		want: []at{{1, 1, prune}, {2, 1, "docker-compose rm -v"}}},
	{name: "system prune with volumes", file: "reset.sh", src: "docker --context prod system prune -af --volumes\n",
		want: []at{{1, 1, systemPrune}}},

	{name: "heredoc to sh", file: "reset.sh", src: "sh <<EOF\ncd /srv\ndocker compose down -v\nEOF\n",
		want: []at{{3, 1, downV}}},
	{name: "heredoc to bash -s with a quoted delimiter", file: "reset.sh",
		src: "bash -s -- prod <<'EOF'\n  docker volume prune -f\nEOF\n", want: []at{{2, 3, prune}}},
	{name: "heredoc to ssh", file: "reset.sh", src: "ssh deploy@host <<-EOF\n\tcd /srv/app\n\tdocker compose down -v\n\tEOF\n",
		want: []at{{3, 2, downV}}},
	{name: "heredoc to su, whose shell reads it", file: "reset.sh",
		src: "su - deploy <<'EOF'\ncd /srv/app\ndocker compose down -v\nEOF\n", want: []at{{3, 1, downV}}},
	{name: "heredoc to su -c is data for the command", file: "reset.sh",
		src: "su deploy -c 'cat > notes' <<'EOF'\ndocker compose down -v\nEOF\n"},
	{name: "heredoc cat piped to sh", file: "reset.sh", src: "cat <<'EOF' | sh\ndocker volume prune -f\nEOF\n",
		want: []at{{2, 1, prune}}},
	{name: "heredoc to cat is data", file: "reset.sh", src: "cat <<EOF\nrun: docker compose down -v\nEOF\n"},
	{name: "heredoc to tee is data", file: "reset.sh", src: "tee notes.txt <<'EOF' >/dev/null\ndocker volume prune -f\nEOF\n"},
	{name: "heredoc to a script file is data", file: "reset.sh", src: "bash ./deploy.sh <<EOF\ndocker volume prune -f\nEOF\n"},
	{name: "command substitution in a heredoc to cat runs", file: "reset.sh",
		src: "cat <<EOF\nremoved $(docker volume prune -f)\nEOF\n", want: []at{{2, 11, prune}}},
	{name: "here-string to bash", file: "reset.sh", src: "bash <<< \"docker compose down -v\"\n", want: []at{{1, 11, downV}}},

	{name: "sh -c string", file: "reset.sh", src: "sh -c 'docker compose down -v'\n", want: []at{{1, 8, downV}}},
	{name: "bash -ec string with a chain", file: "reset.sh", src: `bash -ec "cd app && docker compose down -v"` + "\n",
		want: []at{{1, 21, downV}}},
	{name: "sudo sh -c", file: "reset.sh", src: "sudo sh -c 'docker volume prune -f'\n", want: []at{{1, 13, prune}}},
	{name: "ssh remote command", file: "reset.sh", src: "ssh -p 2222 host 'docker volume prune -f'\n",
		want: []at{{1, 19, prune}}},
	{name: "ssh remote command in words", file: "reset.sh", src: "ssh host docker compose down -v\n",
		want: []at{{1, 10, downV}}},
	{name: "eval", file: "reset.sh", src: `eval "docker compose down -v"` + "\n", want: []at{{1, 7, downV}}},
	{name: "trap string runs at the signal", file: "reset.sh",
		src:  "trap \"docker compose -p test down -v\" EXIT INT\ntrap 'docker volume rm x' EXIT\ntrap -- 'docker volume prune -f' TERM\n",
		want: []at{{1, 7, downV}, {2, 7, volumeRm}, {3, 10, prune}}},
	{name: "trap reset, ignore and print are not commands", file: "reset.sh",
		src: "cleanup() { docker compose down; }\ntrap cleanup EXIT\ntrap - EXIT\ntrap '' INT\ntrap -p\ntrap -l\ntrap EXIT\n" +
			"trap 'echo docker volume rm x' EXIT\n"},
	{name: "echo piped to sh", file: "reset.sh", src: `echo "docker compose down -v" | sh` + "\n", want: []at{{1, 7, downV}}},

	{name: "echo of a command is not a command", file: "reset.sh", src: `echo "never run docker compose down -v"` + "\n"},
	{name: "printf of a command is not a command", file: "reset.sh", src: `printf '%s\n' "docker volume prune -f" >notes` + "\n"},
	{name: "comment is not a command", file: "reset.sh", src: "# docker compose down -v\necho ok # docker volume prune -f\n"},
	{name: "comment inside a string", file: "reset.sh",
		src: `echo "# docker compose down -v"` + "\nmsg='docker volume prune -f # never'\n"},
	{name: "string argument is not a command", file: "reset.sh", src: `git commit -m "docker compose down -v"` + "\n"},
	{name: "a script file for sh is not a string", file: "reset.sh", src: "sh docker-compose-down-v.sh\n"},
	{name: "command -v only looks", file: "reset.sh", src: "command -v docker volume prune\n"},
	{name: "safe commands", file: "reset.sh",
		src: "docker compose down\ndocker compose down --volumes=false\nledger_docker compose down -v\n" +
			"docker compose --dry-run down -v\ndocker system prune -af\ndocker compose up -d\n"},

	{name: "variable holding the command", file: "reset.sh", src: "DC=\"docker compose -f prod.yml\"\n$DC down -v\n${DC} down\n",
		want: []at{{2, 1, downV}}},
	{name: "variable built from a variable", file: "reset.sh",
		src:  "DOCKER=docker\nexport DC=\"$DOCKER compose\"\n\"${DOCKER}\" volume prune -f\n$DC down -v\n",
		want: []at{{3, 1, prune}, {4, 1, downV}}},
	{name: "function using a variable assigned after it", file: "reset.sh",
		src: "reset() {\n  $DC down -v\n}\nDC=\"docker compose\"\nreset\n", want: []at{{2, 3, downV}}},
	{name: "local variable", file: "reset.sh", src: "f() {\n  local dc=\"docker compose\"\n  $dc down -v\n}\n",
		want: []at{{3, 3, downV}}},
	{name: "default value expansion", file: "reset.sh",
		src:  "DOCKER=${DOCKER:-docker}\n$DOCKER volume prune -f\n${DOCKER_BIN:-docker} volume rm x\n",
		want: []at{{2, 1, prune}, {3, 1, volumeRm}}},
	{name: "alternate value may be nothing or its word", file: "reset.sh",
		src:  "docker compose down ${CLEAN:+-v}\ndocker compose down \"${CLEAN:+-v}\"\ndocker compose down ${PURGE+--volumes}\n",
		want: []at{{1, 1, downV}, {2, 1, downV}, {3, 1, downV}}},
	{name: "alternate value that deletes nothing", file: "reset.sh",
		src: "docker compose down ${QUICK:+-t 1}\nCLEAN=\ndocker compose down ${CLEAN:+-v}\n${DRY:+echo} docker compose ps\n"},
	{name: "default value may be the value or its word", file: "reset.sh",
		src:  "${RUN-echo} docker volume prune -f\n${DOCKER:-docker} compose down ${CLEAN:+-v}\ndocker volume rm ${VOLUME:-}\n",
		want: []at{{1, 13, prune}, {2, 1, downV}, {3, 1, volumeRm}}},
	{name: "default value that deletes nothing", file: "reset.sh",
		src: "${DOCKER:-docker} compose down\n${DRY_RUN:-echo} docker compose ps\ndocker compose down ${FLAGS:--t 5}\n"},
	{name: "command -v in a variable", file: "reset.sh", src: "DOCKER=$(command -v docker)\n$DOCKER compose down -v\n",
		want: []at{{2, 1, downV}}},
	{name: "empty sudo variable", file: "reset.sh", src: "SUDO=\"\"\n$SUDO docker volume prune -f\n",
		want: []at{{2, 7, prune}}},
	{name: "unknown variable is kept as written", file: "reset.sh",
		src:  "docker volume rm $(docker volume ls -q)\ndocker volume rm \"$VOLUME\"\ndocker compose \"$CMD\" -v\n",
		want: []at{{1, 1, volumeRm}, {2, 1, volumeRm}}},
	{name: "unknown variable may expand to nothing", file: "reset.sh",
		src:  "docker compose $COMPOSE_FLAGS down -v\ndocker compose $(flags) down --volumes\n",
		want: []at{{1, 1, downV}, {2, 1, downV}}},
	{name: "unknown variable before docker may be sudo or nothing", file: "reset.sh",
		src:  "${SUDO} docker volume prune -f\n$DOCKER_SUDO docker compose down -v\n",
		want: []at{{1, 9, prune}, {2, 14, downV}}},
	{name: "unknown command word is not guessed", file: "reset.sh", src: "$DOCKER compose down -v\n\"$(which dockr)\" volume prune\n"},
	{name: "quoted unknown variable before docker may be sudo or nothing", file: "reset.sh",
		src:  "\"$SUDO\" docker volume prune -f\n\"${SUDO:-}\" docker compose down -v\n\"$(get_sudo)\" docker volume rm x\n",
		want: []at{{1, 9, prune}, {2, 13, downV}, {3, 15, volumeRm}}},
	{name: "quoted sudo path before docker", file: "reset.sh",
		src:  "\"$(command -v sudo)\" docker volume prune -f\nSUDO=sudo\n\"$SUDO\" -u deploy docker compose down -v\n",
		want: []at{{1, 22, prune}, {3, 19, downV}}},
	{name: "quoted empty variable before docker", file: "reset.sh", src: "SUDO=\"\"\n\"$SUDO\" docker volume prune -f\n",
		want: []at{{2, 9, prune}}},
	{name: "quoted variable before a docker file name is not docker", file: "reset.sh",
		src: "\"$EDITOR\" docker-compose.yml\n\"$PAGER\" docker.log\n"},
	{name: "list of arguments the check cannot know may be nothing", file: "reset.sh",
		src: "docker compose \"$@\" down -v\ndocker compose \"${EXTRA[@]}\" down -v\n", want: []at{{1, 1, downV}, {2, 1, downV}}},

	{name: "function wrapping docker with its arguments", file: "reset.sh",
		src: "dc() { docker compose \"$@\"; }\ndc ps\ndc down -v\n", want: []at{{3, 1, downV}}},
	{name: "function wrapping docker with unquoted $*", file: "reset.sh",
		src: "function dc {\n  docker compose $*\n}\ndc down --volumes\n", want: []at{{4, 1, downV}}},
	{name: "function using positional parameters", file: "reset.sh",
		src: "vol() {\n  docker volume \"$1\" \"${2}\"\n}\nvol ls\nvol rm data\n", want: []at{{5, 1, volumeRm}}},
	{name: "function that shifts its arguments", file: "reset.sh",
		src:  "compose() {\n  local env=$1\n  shift\n  docker compose -f \"$env.yml\" \"$@\"\n}\ncompose prod ps\ncompose prod down -v\n",
		want: []at{{7, 1, downV}}},
	{name: "function calling a function", file: "reset.sh",
		src: "dc() { docker compose \"$@\"; }\nreset() { dc \"$@\"; }\nreset down -v\n", want: []at{{3, 1, downV}}},
	{name: "function calling a function defined after it", file: "reset.sh",
		src: "main() {\n  dc down -v\n}\ndc() { docker compose \"$@\"; }\nmain\n", want: []at{{2, 3, downV}}},
	{name: "function running its arguments", file: "reset.sh",
		src: "run() { echo \"+ $*\"; \"$@\"; }\nrun docker volume prune -f\nrun echo docker volume prune\n", want: []at{{2, 1, prune}}},
	{name: "function call with arguments the check cannot know", file: "reset.sh",
		src:  "dc() { docker compose \"$@\"; }\ndc $FLAGS down -v\ndc \"$ACTION\" -v\nf() { docker compose \"$2\" -v; }\nf $X down\n",
		want: []at{{2, 1, downV}, {5, 1, downV}}},
	{name: "function whose body is destructive is reported in the body", file: "reset.sh",
		src: "reset() { docker volume prune -f; }\nreset\nreset now\n", want: []at{{1, 11, prune}}},
	{name: "function named docker is what docker runs", file: "reset.sh",
		src:  "docker() { ledger_docker \"$@\"; }\ndocker compose down -v\ncommand docker volume prune -f\n",
		want: []at{{3, 9, prune}}},
	{name: "function calling itself", file: "reset.sh", src: "f() { f \"$@\"; docker volume \"$@\"; }\nf rm x\n",
		want: []at{{2, 1, volumeRm}}},
	{name: "function that prints its arguments is not a command", file: "reset.sh",
		src: "say() { echo \"$@\"; }\nsay docker compose down -v\nnote() { git commit -m \"$*\"; }\nnote docker volume prune\n"},
	{name: "array holding the command", file: "reset.sh", src: "cmd=(docker compose down -v)\n\"${cmd[@]}\"\n",
		want: []at{{2, 1, downV}}},
	{name: "array holding the arguments", file: "reset.sh",
		src:  "args=(down -v)\ndocker compose \"${args[@]}\"\nargs+=(--remove-orphans)\ndocker compose ${args[*]}\n",
		want: []at{{2, 1, downV}, {4, 1, downV}}},
	{name: "local array in a function", file: "reset.sh",
		src: "f() {\n  local -a cmd=(docker volume prune -f)\n  \"${cmd[@]}\"\n}\n", want: []at{{3, 3, prune}}},
	{name: "array that deletes nothing or is printed", file: "reset.sh",
		src: "args=(down --timeout 5)\ndocker compose \"${args[@]}\"\ncmd=(docker volume prune)\necho \"${cmd[@]}\"\n"},
	{name: "set -- then the positional parameters", file: "reset.sh", src: "set -- docker volume prune -f\n\"$@\"\n",
		want: []at{{2, 1, prune}}},
	{name: "sh -c string with its arguments", file: "reset.sh",
		src: "sh -c 'docker compose \"$@\"' sh down -v\nsh -c 'docker compose \"$1\"' sh ps\n", want: []at{{1, 8, downV}}},
	{name: "watch", file: "reset.sh", src: "watch -n 5 docker volume prune -f\nwatch 'docker compose down -v'\n",
		want: []at{{1, 12, prune}, {2, 8, downV}}},
	{name: "find -exec and -execdir", file: "reset.sh",
		src:  "find . -name '*.vol' -exec docker volume rm {} +\nfind /srv -execdir sudo docker compose down -v \\;\n",
		want: []at{{1, 28, volumeRm}, {2, 25, downV}}},
	{name: "find -exec sh -c", file: "reset.sh", src: "find . -type d -exec sh -c 'docker volume rm \"$1\"' sh {} \\;\n",
		want: []at{{1, 29, volumeRm}}},
	{name: "find -exec of a command that is not docker", file: "reset.sh",
		src: "find . -exec echo docker volume rm {} \\;\nfind . -name docker -delete\n"},
	{name: "GNU parallel", file: "reset.sh",
		src:  "parallel -j 2 docker volume rm ::: a b\nparallel ::: 'docker compose down -v' 'echo ok'\n",
		want: []at{{1, 15, volumeRm}, {2, 15, downV}}},
	{name: "parallel of a command that is not docker", file: "reset.sh", src: "parallel echo docker volume rm ::: a b\n"},
	{name: "runners with long options", file: "reset.sh",
		src:  "timeout --signal KILL 60 docker volume prune -f\nsudo --user deploy docker compose down -v\n",
		want: []at{{1, 26, prune}, {2, 20, downV}}},
	{name: "nice, time, command and setsid", file: "reset.sh",
		src:  "nice -n 10 docker volume prune -f\ntime docker compose down -v\ncommand docker volume rm x\nsetsid docker volume prune\n",
		want: []at{{1, 12, prune}, {2, 6, downV}, {3, 9, volumeRm}, {4, 8, prune}}},
	{name: "flock running a command or a -c string", file: "reset.sh",
		src:  "flock /tmp/lock docker volume rm x\nflock -n -w 5 /tmp/lock docker compose down -v\nflock /tmp/lock -c 'docker volume rm x'\n",
		want: []at{{1, 17, volumeRm}, {2, 25, downV}, {3, 21, volumeRm}}},
	{name: "su and runuser -c strings", file: "reset.sh",
		src: "su deploy -c 'docker volume rm a'\nsu - deploy -c 'docker compose down -v'\nsu -c 'docker volume prune -f' deploy\n" +
			"runuser deploy -c 'docker compose down -v'\nsudo su -s /bin/bash -lc 'docker volume rm a' deploy\n",
		want: []at{{1, 15, volumeRm}, {2, 17, downV}, {3, 8, prune}, {4, 20, downV}, {5, 27, volumeRm}}},
	{name: "runuser -u and caffeinate running a command", file: "reset.sh",
		src:  "runuser -u deploy -- docker volume rm a\ncaffeinate -d -i docker volume prune -f\ncaffeinate -t 600 -w 42 docker compose down -v\n",
		want: []at{{1, 22, volumeRm}, {2, 18, prune}, {3, 25, downV}}},
	{name: "flock, su, runuser and caffeinate of what is not destructive", file: "reset.sh",
		src: "flock /tmp/docker.lock make build\nflock -w 5 docker.lock docker compose down\nflock 9\n" +
			"flock /tmp/lock -c 'echo docker volume rm x'\nsu - docker\nsu deploy -c 'docker compose down'\n" +
			"runuser -u docker -- id\nrunuser docker\ncaffeinate -t 60 ./docker-build.sh\ncaffeinate -w 42\n"},
	{name: "variable too long to follow", file: "reset.sh",
		src:  "X=\"docker compose down -v\"\n" + strings.Repeat("X=\"$X $X\"\n", 8) + "$X\n",
		want: []at{{10, 1, warning("the value of $X is over 4096 bytes: this line was not checked for destructive docker commands")}}},

	{name: "parse error: the statements before it are parsed", file: "reset.sh",
		src:  "echo \"docker volume prune\"\ndocker volume rm a\nfi\ndocker compose down -v\n",
		want: []at{{2, 1, volumeRm}, {4, 1, downV}}},
	{name: "parse error: a broken line is read as words", file: "reset.sh",
		src: "if [ -n x ]; then\n  docker compose down -v )\n", want: []at{{2, 3, downV}}},
	{name: "parse error: an unclosed quote", file: "reset.sh",
		src: "echo \"unclosed\ndocker volume prune -f\n", want: []at{{2, 1, prune}}},
	{name: "CRLF line endings", file: "reset.sh", src: "set -e\r\ndocker compose down -v\r\n", want: []at{{2, 1, downV}}},
	{name: "script without docker", file: "reset.sh", src: "rm -rf /tmp/x\n"},
}

// makefileShapes: Makefiles.
var makefileShapes = []scriptCase{
	{name: "Makefile recipe", file: "Makefile", src: "reset:\n\t@docker compose down -v\n", want: []at{{2, 3, downV}}},
	{name: "Makefile undefined variable before docker", file: "Makefile", src: "reset:\n\t$(UNDEFINED) docker volume prune\n",
		want: []at{{2, 15, prune}}},
	{name: "Makefile recipe prefixes", file: "Makefile", src: "reset:\n\t-docker volume prune -f\n\t+@ docker volume rm x\n",
		want: []at{{2, 3, prune}, {3, 5, volumeRm}}},
	{name: "Makefile continued recipe", file: "Makefile", src: "clean:\n\tdocker compose \\\n\t  down --volumes\n",
		want: []at{{2, 2, downV}}},
	{name: "Makefile recipe if-chain", file: "Makefile",
		src: "reset:\n\tif [ -n \"$(FORCE)\" ]; then \\\n\t  docker compose down -v; \\\n\tfi\n", want: []at{{3, 4, downV}}},
	{name: "Makefile variable", file: "Makefile",
		src:  "DOCKER ?= docker\nDC := $(DOCKER) compose\nreset:\n\t$(DC) down --volumes\n\t${DC} ps\n",
		want: []at{{4, 2, downV}}},
	{name: "Makefile variable appended and defined later", file: "Makefile",
		src:  "reset:\n\t$(DC) down $(FLAGS)\nDC = docker compose\nFLAGS = -t 5\nFLAGS += -v\n",
		want: []at{{2, 2, downV}}},
	{name: "Makefile double dollar is the shell's dollar", file: "Makefile",
		src: "reset:\n\tfor v in $$(docker volume ls -q); do docker volume rm $$v; done\n", want: []at{{2, 39, volumeRm}}},
	{name: "Makefile shell function", file: "Makefile", src: "GONE := $(shell docker volume prune -f)\n",
		want: []at{{1, 17, prune}}},
	{name: "Makefile shell assignment", file: "Makefile", src: "GONE != docker volume prune -f\n", want: []at{{1, 9, prune}}},
	{name: "Makefile inline recipe", file: "Makefile", src: "reset: ; docker compose down -v\n", want: []at{{1, 10, downV}}},
	{name: "Makefile define block", file: "Makefile", src: "define RESET\n\tdocker compose down -v\nendef\n",
		want: []at{{2, 2, downV}}},
	{name: "Makefile recipe prefix", file: "Makefile", src: ".RECIPEPREFIX = >\nreset:\n> docker compose down -v\n",
		want: []at{{3, 3, downV}}},
	{name: "Makefile automatic variables", file: "Makefile", src: "%.reset:\n\tdocker volume rm $* $(@:.reset=)\n",
		want: []at{{2, 2, volumeRm}}},
	{name: "Makefile text that is not run", file: "Makefile",
		src: "# docker compose down -v\nHELP = run docker compose down -v to reset\nreset:\n\t@echo \"docker compose down -v\"\n" +
			"\t# docker volume prune -f\n"},
	{name: "Makefile safe recipe", file: "GNUmakefile", src: "safe:\n\tledger_docker compose down -v\n\tdocker compose down\n"},
	{name: "make include file", file: "docker.mk", src: "reset:\n\t$(MAKE) -C app reset; docker volume prune\n",
		want: []at{{2, 24, prune}}},
	{name: "Makefile variable too long to follow", file: "Makefile",
		src:  "X := docker compose down -v\n" + strings.Repeat("X := $(X) $(X)\n", 8) + "reset:\n\t@$(X)\n",
		want: []at{{11, 3, warning("the value of $(X) is over 4096 bytes: this line was not checked for destructive docker commands")}}},
	{name: "Makefile flags too long to follow", file: "Makefile",
		src:  "FLAGS := -t 5\nFLAGS += " + strings.Repeat("--remove-orphans ", 250) + "\nreset:\n\tdocker compose down $(FLAGS)\n",
		want: []at{{4, 22, warning("the value of $(FLAGS) is over 4096 bytes: this line was not checked for destructive docker commands")}}},
	{name: "Makefile variables too long together", file: "Makefile",
		src:  "A := " + strings.Repeat("a", 3000) + "\nB := $(A)\nreset:\n\tdocker volume $(A)$(B)\n",
		want: []at{{4, 20, warning("this word expands to over 4096 bytes: this line was not checked for destructive docker commands")}}},
	{name: "Makefile long value that runs no docker", file: "Makefile",
		src: "SRCS := " + strings.Repeat("src/file.c ", 400) + "\nall:\n\tcc -o app $(SRCS)\nreset:\n\tdocker compose down\n"},
}

const gh = ".github/workflows/ci.yml"

// ciShapes: CI files.
var ciShapes = []scriptCase{
	{name: "GitHub Actions run block", file: gh,
		src:  "jobs:\n  test:\n    steps:\n      - run: |\n          make test\n          docker compose down -v\n",
		want: []at{{6, 11, downV}}},
	{name: "GitHub Actions single-line run", file: gh,
		src:  "jobs:\n  t:\n    steps:\n      - name: cleanup\n        run: docker system prune --volumes --force\n",
		want: []at{{5, 14, systemPrune}}},
	{name: "GitHub Actions quoted run", file: gh, src: "steps:\n  - run: \"docker volume prune -f\"\n",
		want: []at{{2, 11, prune}}},
	{name: "GitHub Actions folded run", file: gh, src: "steps:\n  - run: >\n      docker compose\n      down -v\n",
		want: []at{{3, 7, downV}}},
	{name: "GitHub Actions run block with a heredoc and a function", file: gh,
		src:  "steps:\n  - run: |\n      reset() { docker volume prune -f; }\n      ssh host <<EOF\n      docker compose down -v\n      EOF\n",
		want: []at{{3, 17, prune}, {5, 7, downV}}},
	{name: "GitHub Actions expression", file: gh,
		src: "steps:\n  - run: docker compose -p ${{ github.run_id }} down -v\n", want: []at{{2, 10, downV}}},
	{name: "GitHub Actions expression before docker", file: gh,
		src: "steps:\n  - run: ${{ matrix.prefix }} docker compose down -v\n", want: []at{{2, 31, downV}}},
	{name: "GitHub Actions env variable", file: gh,
		src:  "env:\n  DC: docker compose\njobs:\n  t:\n    steps:\n      - run: $DC down -v\n",
		want: []at{{6, 14, downV}}},
	{name: "GitHub Actions composite action", file: ".github/actions/reset/action.yml",
		src: "runs:\n  using: composite\n  steps:\n    - run: docker volume prune -f\n      shell: bash\n", want: []at{{4, 12, prune}}},
	{name: "GitHub Actions text that is not run", file: gh,
		src: "name: docker compose down -v\njobs:\n  t:\n    steps:\n      - name: docker volume prune -f\n" +
			"        uses: ./reset\n        with:\n          args: docker compose down -v\n      - run: echo \"docker compose down -v\"\n"},
	{name: "GitLab script list", file: ".gitlab-ci.yml",
		src: "cleanup:\n  script:\n    - docker compose down --volumes\n    - docker volume ls\n", want: []at{{3, 7, downV}}},
	{name: "GitLab before_script and after_script", file: ".gitlab-ci.yml",
		src:  "default:\n  before_script: docker volume prune -f\njob:\n  after_script:\n    - - docker compose down -v\n",
		want: []at{{2, 18, prune}, {5, 9, downV}}},
	{name: "GitLab multi-line list item", file: ".gitlab-ci.yml",
		src: "job:\n  script:\n    - |\n      if true; then\n        docker compose down -v\n      fi\n", want: []at{{5, 9, downV}}},
	{name: "GitLab variables", file: ".gitlab-ci.yml",
		src:  "variables:\n  DC: \"docker compose\"\n  DOCKER:\n    value: docker\njob:\n  script:\n    - $DC down -v\n    - $DOCKER volume prune\n",
		want: []at{{7, 7, downV}, {8, 7, prune}}},
	{name: "GitLab reference is not a command", file: ".gitlab-ci.yml",
		src: ".docker:\n  variables:\n    X: docker\njob:\n  script:\n    - !reference [.docker, script]\n    - echo docker compose down -v\n"},
	{name: "GitLab included file", file: ".gitlab/ci/cleanup.gitlab-ci.yml",
		src: "cleanup:\n  script:\n    - docker compose down -v\n", want: []at{{3, 7, downV}}},
	{name: "CircleCI run command", file: ".circleci/config.yml",
		src:  "jobs:\n  t:\n    steps:\n      - run:\n          name: reset\n          command: docker volume prune -f\n",
		want: []at{{6, 20, prune}}},
	{name: "Taskfile cmds", file: "Taskfile.yml", src: "tasks:\n  reset:\n    cmds:\n      - docker compose down -v\n      - cmd: docker volume prune -f\n",
		want: []at{{4, 9, downV}, {5, 14, prune}}},
	{name: "CI file that is not YAML is read line by line", file: ".gitlab-ci.yml",
		src: "job:\n  script: [\n  - docker compose down -v\n  - echo \"docker volume prune\"\n", want: []at{{3, 5, downV}}},
}

// jenkinsShapes: Jenkinsfiles (Groovy: only the strings of sh steps run).
var jenkinsShapes = []scriptCase{
	{name: "Jenkinsfile sh step", file: "Jenkinsfile",
		src:  "pipeline {\n  stages {\n    stage('reset') {\n      steps {\n        sh 'docker compose down -v'\n        sh(\"docker volume prune -f\")\n",
		want: []at{{5, 13, downV}, {6, 13, prune}}},
	{name: "Jenkinsfile multi-line sh script", file: "Jenkinsfile",
		src:  "node {\n  sh script: \"\"\"\n    cd ${env.APP_DIR}\n    docker compose -p ${env.BUILD_TAG} down -v\n  \"\"\", returnStatus: true\n}\n",
		want: []at{{4, 5, downV}}},
	{name: "Jenkinsfile escapes", file: "Jenkinsfile", src: "sh \"for v in \\$(docker volume ls -q); do docker volume rm \\$v; done\"\n",
		want: []at{{1, 42, volumeRm}}},
	{name: "Jenkinsfile text that is not run", file: "Jenkinsfile",
		src: "// sh 'docker compose down -v'\n/* sh 'docker volume prune -f' */\necho 'docker compose down -v'\n" +
			"error \"run docker volume prune\"\nsh 'echo docker compose down -v'\n"},
}

// A file whose function calls go past what the check reads again gets a
// warning at the first call not followed, never silence. Not a fuzz seed:
// the body is 585 KB.
func TestScriptFunctionCallsPastTheBudget(t *testing.T) {
	runScriptCases(t, []scriptCase{{name: "function calls past the budget", file: "reset.sh",
		src: "f() {\n" + strings.Repeat("  echo \"$1\"\n", 45000) + "}\nf a\ndocker compose down -v\n",
		want: []at{{45003, 1, warning("the function calls of this file go past 1048576 bytes of shell to read again: " +
			"this call and the later ones were not checked for destructive docker commands")}, {45004, 1, downV}}}})
}
