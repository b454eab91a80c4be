package explain

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/ledger-docker/ledger-docker/internal/cli"
	"github.com/ledger-docker/ledger-docker/internal/iostreams"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		argv    string
		guard   bool
		want    Options
		wantErr bool
	}{
		{argv: "-- compose down -v", want: Options{Args: []string{"compose", "down", "-v"}}},
		{argv: "compose down -v", want: Options{Args: []string{"compose", "down", "-v"}}},
		{argv: "volume prune -af", want: Options{Args: []string{"volume", "prune", "-af"}}},
		{argv: "--as docker-compose -- down -v", want: Options{Program: "docker-compose", Args: []string{"down", "-v"}}},
		{argv: "--json -- -H tcp://x:2375 volume rm v", want: Options{Args: []string{"-H", "tcp://x:2375", "volume", "rm", "v"}}},
		{argv: "", wantErr: true},
		{argv: "--as docker -- ps", guard: true, want: Options{Program: "docker", Args: []string{"ps"}, Guard: true}},
	}
	for _, tt := range tests {
		t.Run(tt.argv, func(t *testing.T) {
			ios, _, _, _ := iostreams.Test()
			f := &cli.Factory{IO: ios}
			var got *Options
			cmd := newCmd(f, func(o *Options) error { got = o; return nil }, tt.guard)
			cmd.SetArgs(strings.Fields(tt.argv))
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantErr {
				if err == nil {
					t.Fatal("want a usage error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.Factory, got.Exit = nil, nil
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got %+v want %+v", *got, tt.want)
			}
		})
	}
}

func TestPluginGlobalArgs(t *testing.T) {
	got := pluginGlobalArgs(strings.Fields("/p/docker-ledger --context prod -D ledger explain -- volume rm x"))
	if strings.Join(got, " ") != "--context prod -D" {
		t.Errorf("%q", got)
	}
	if got := pluginGlobalArgs(strings.Fields("docker-ledger ledger guard --as docker -- -H h ps")); len(got) != 0 {
		t.Errorf("%q", got)
	}
}
