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

func TestStartsAtFront(t *testing.T) {
	tests := []struct {
		argv string
		env  []string
		want bool
	}{
		{argv: "docker volume ls", want: true},
		{argv: "ledger_docker volume ls -q", want: true},
		{argv: "/usr/bin/docker volume inspect v", want: true},
		{argv: "docker volume", want: true},
		{argv: "docker volume --help rm v", want: true}, // Parse: not destructive; docker prints help
		{argv: "docker run --rm -v v:/d img true", want: true},
		{argv: "docker exec -i C sh", want: true},
		{argv: "docker cp a C:/d", want: true},
		{argv: "docker build .", want: true},
		{argv: "docker buildx build .", want: true},
		{argv: "docker system df", want: true},
		{argv: "docker container ls", want: true},
		{argv: "docker container prune -f", want: true},
		{argv: "docker network rm n", want: true},
		{argv: "docker -D --config /c -l debug volume ls", want: true},
		{argv: "docker --log-level=debug run img", want: true},
		{argv: "docker volume ls", env: []string{"LEDGER_EXPLAIN=0"}}, // any LEDGER_EXPLAIN: the Go wrapper reads it
		{argv: "docker volume ls", env: []string{"LEDGER_EXPLAIN=1"}},
		// on the allow-list: the front execs the real docker
		{argv: "docker ps"},
		{argv: "docker -D images"},
		// Parse may find these destructive: the Go wrapper decides first
		{argv: "docker rm C"},
		{argv: "docker rm -v C"},
		{argv: "docker compose ps"},
		{argv: "docker compose down -v"},
		{argv: "docker volume rm v"},
		{argv: "docker volume remove v"},
		{argv: "docker volume prune -af"},
		{argv: "docker system prune --volumes"},
		{argv: "docker container rm -v C"},
		{argv: "docker container remove -v C"},
		{argv: "docker -D volume rm v"},
		// an endpoint flag: the Go wrapper moves it to the guard's side
		{argv: "docker -H unix:///x volume ls"},
		{argv: "docker -Hunix:///x volume ls"},
		{argv: "docker --host=tcp://h volume ls"},
		{argv: "docker -c prod volume ls"},
		{argv: "docker -cprod volume ls"},
		{argv: "docker -c=prod volume ls"},
		{argv: "docker --context prod run img"},
		{argv: "docker --context= run img"},
		{argv: "docker --tls volume ls"},
		{argv: "docker --tlsverify volume ls"},
		{argv: "docker --tlscacert=a volume ls"},
		{argv: "docker --tlscert a volume ls"},
		{argv: "docker --tlskey a volume ls"},
		{argv: "docker -l debug -H h volume ls"},
		// not docker, no subcommand, or flags docker's root does not read
		{argv: "docker-compose up"},
		{argv: "ledger_docker-full volume ls"},
		{argv: "docker"},
		{argv: "docker -D"},
		{argv: "docker -- volume ls"},
		{argv: "docker -h volume ls"},
		{argv: "docker --version volume ls"},
		{argv: "docker --unknown volume ls"},
		{argv: "docker -DH h volume ls"},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			argv := strings.Split(tt.argv, " ")
			if got := StartsAtFront(argv, env(tt.env...)); got != tt.want {
				t.Errorf("StartsAtFront(%q) = %v, want %v", argv, got, tt.want)
			}
		})
	}
}

// What the front starts itself is never destructive for Parse, never on
// the allow-list, and names no endpoint.
func FuzzStartsAtFront(f *testing.F) {
	for _, s := range []string{"docker volume ls", "docker -D volume rm x", "docker volume  rm", "docker container remove",
		"docker -l x system prune", "docker rm", "docker compose down", "docker -cx run i", "docker --tls=x run"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := strings.Split(s, " ")
		if !StartsAtFront(argv, env()) {
			return
		}
		in := Parse(argv, env())
		if in.Destructive() || PassesThrough(argv, env()) {
			t.Fatalf("%q starts at the front, and Parse calls it %q (passes through: %v)", argv, in.Op, PassesThrough(argv, env()))
		}
		if in.Context != "" || len(in.Hosts) > 0 {
			t.Fatalf("%q starts at the front with endpoint flags", argv)
		}
	})
}
