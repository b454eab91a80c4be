package intercept

import (
	"slices"
	"strings"
	"testing"
)

func TestPassesThrough(t *testing.T) {
	tests := []struct {
		argv string
		env  []string
		want bool
	}{
		{argv: "docker ps", want: true},
		{argv: "/usr/bin/docker ps -a", want: true},
		{argv: "ledger_docker ps", want: true}, // alias docker=ledger_docker
		{argv: "docker images rm", want: true}, // an operand of images, not a subcommand
		{argv: "docker logs -f web", want: true},
		{argv: "docker inspect --type volume v", want: true},
		{argv: "docker pull img", want: true},
		{argv: "docker load -i x.tar", want: true},
		{argv: "docker -D ps", want: true},
		{argv: "docker --debug --tls --tlsverify ps", want: true},
		{argv: "docker -c prod ps", want: true},
		{argv: "docker -cprod ps", want: true},
		{argv: "docker -c=prod ps", want: true},
		{argv: "docker --context prod ps", want: true},
		{argv: "docker --context=prod ps", want: true},
		{argv: "docker --context= ps", want: true},
		{argv: "docker -H unix:///x -Htcp://h:2375 --host=h --host h ps", want: true},
		{argv: "docker --config /c --config=/c -l debug -ldebug --log-level info --log-level=info ps", want: true},
		{argv: "docker --tlscacert a --tlscert=b --tlskey c ps", want: true},
		{argv: "docker --context --help ps", want: true}, // --help is --context's value
		{argv: "docker -c -h ps", want: true},            // -h is -c's value

		// not docker
		{argv: "docker-compose ps"},
		{argv: "/usr/bin/docker-compose ps"},
		{argv: "docker-compose.exe ps"},
		{argv: "docker.exe ps"},
		{argv: "ledger_docker-full ps"},
		{argv: "dockerd ps"},
		{argv: "ps"},
		{argv: " ps"},
		// explain mode
		{argv: "docker ps", env: []string{"LEDGER_EXPLAIN=1"}},
		{argv: "docker ps", env: []string{"LEDGER_EXPLAIN=true"}},
		{argv: "docker ps", env: []string{"LEDGER_EXPLAIN=0"}, want: true},
		{argv: "docker ps", env: []string{"LEDGER_EXPLAIN=Off"}, want: true},
		// no subcommand, or not an allowed one
		{argv: "docker"},
		{argv: "docker -D"},
		{argv: "docker -c"},
		{argv: "docker --context"},
		{argv: "docker -c prod"},
		{argv: "docker volume ls"},
		{argv: "docker volume rm x"},
		{argv: "docker volume --help=false rm x"},
		{argv: "docker volume -h=false rm x"},
		{argv: "docker volume --help=0 rm x"},
		{argv: "docker system --help=false prune --volumes -f"},
		{argv: "docker container -h=false remove --volumes C"},
		{argv: "docker remove -v C"},
		{argv: "docker rm -v C"},
		{argv: "docker builder down -v"},
		{argv: "docker builder prune"},
		{argv: "docker --context=x volume rm v"},
		{argv: "docker -Hunix:///x volume rm v"},
		{argv: "docker run --rm --volumes-from C img true"},
		{argv: "docker exec C rm -rf /data"},
		{argv: "docker cp a C:/data"},
		{argv: "docker compose ps"},
		{argv: "docker ledger status"},
		{argv: "docker PS"},
		{argv: "docker Ps"},
		{argv: "docker ps ", want: true}, // an empty operand of ps
		{argv: "docker -"},
		{argv: "docker help ps"},
		// anything else before the subcommand
		{argv: "docker -- ps"},
		{argv: "docker -h ps"},
		{argv: "docker --help ps"},
		{argv: "docker --help=false ps"},
		{argv: "docker -h=false ps"},
		{argv: "docker -v ps"},
		{argv: "docker --version ps"},
		{argv: "docker -Dl debug ps"},
		{argv: "docker -lD ps", want: true}, // -l's value is "D"
		{argv: "docker -DD ps"},
		{argv: "docker --debug=true ps"},
		{argv: "docker -D=true ps"},
		{argv: "docker --tls=false ps"},
		{argv: "docker --tlsverify=1 ps"},
		{argv: "docker --unknown ps"},
		{argv: "docker --cont=x ps"},
		{argv: "docker --conte x ps"},
		{argv: "docker --Context=x ps"},
		{argv: "docker -C x ps"},
		{argv: "docker ---context=x ps"},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			argv := strings.Split(tt.argv, " ")
			if got := PassesThrough(argv, env(tt.env...)); got != tt.want {
				t.Errorf("PassesThrough(%q) = %v, want %v", argv, got, tt.want)
			}
		})
	}
	if PassesThrough(nil, env()) || PassesThrough([]string{}, env()) {
		t.Error("an empty argv passes through")
	}
}

// Every word of the table passes through, alone and after global flags.
func TestPassThroughWords(t *testing.T) {
	if len(PassThrough) == 0 {
		t.Fatal("empty table")
	}
	seen := map[string]bool{}
	for _, w := range PassThrough {
		if seen[w] {
			t.Errorf("%s twice", w)
		}
		seen[w] = true
		for _, argv := range [][]string{{"docker", w}, {"docker", "-H", "h", "--tls", w, "--help"}} {
			if !PassesThrough(argv, env()) {
				t.Errorf("%q does not pass through", argv)
			}
		}
	}
	for _, w := range []string{"volume", "system", "container", "rm", "remove", "compose", "builder", "run", "exec",
		"cp", "create", "start", "restart", "stop", "kill", "update", "commit", "import", "build", "buildx",
		"network", "image", "rmi", "plugin", "swarm", "service", "stack", "context", "config", "trust",
		"manifest", "attach", "wait", "pause", "unpause", "rename", "export", "help", "ledger"} {
		if seen[w] {
			t.Errorf("%s can delete something or run other code, and must not pass through", w)
		}
	}
}

func TestExplainOn(t *testing.T) {
	for v, want := range map[string]bool{
		"": false, "0": false, "false": false, "FALSE": false, "no": false, "No": false, "off": false, " off ": false,
		"\t0\n": false, "1": true, "true": true, "yes": true, "on": true, "2": true, "explain": true, " ": false,
		"f": true, "n": true,
	} {
		if got := ExplainOn(env(EnvExplain + "=" + v)); got != want {
			t.Errorf("ExplainOn(%q) = %v, want %v", v, got, want)
		}
	}
	if ExplainOn(env()) {
		t.Error("unset: on")
	}
}

// What passes through is never destructive for Parse, and Parse reads the
// same subcommand after the same global flags.
func FuzzPassesThrough(f *testing.F) {
	for _, s := range []string{"docker ps", "docker -cx --tls ps -a", "docker -H= -- rm -v=", "docker volume rm x",
		"ledger_docker -c -h images", "docker --context=x inspect v", "docker -l debug load -i x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := strings.Split(s, " ")
		if !PassesThrough(argv, env()) {
			return
		}
		in := Parse(argv, env())
		if in.Destructive() {
			t.Fatalf("%q passes through, and Parse calls it %s", argv, in.Op)
		}
		if len(in.GlobalArgs) >= len(in.Args) || !slices.Contains(PassThrough, in.Args[len(in.GlobalArgs)]) {
			t.Fatalf("%q passes through, and Parse reads global flags %q", argv, in.GlobalArgs)
		}
	})
}
