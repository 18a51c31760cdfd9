package endpoint

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeContext writes a context as `docker context create` stores it.
func writeContext(t *testing.T, dir, name, host string, tls bool) {
	t.Helper()
	id := contextDir(name)
	meta := filepath.Join(dir, "contexts", "meta", id)
	if err := os.MkdirAll(meta, 0o755); err != nil {
		t.Fatal(err)
	}
	body := `{"Name":"` + name + `","Metadata":{},"Endpoints":{"docker":{"Host":"` + host + `","SkipTLSVerify":false}}}`
	if err := os.WriteFile(filepath.Join(meta, "meta.json"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if tls {
		d := filepath.Join(dir, "contexts", "tls", id, "docker")
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte(f), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestResolveInTheDockerCLIsOrder(t *testing.T) {
	dir := t.TempDir()
	writeContext(t, dir, "build", "tcp://build:2376", true)
	writeContext(t, dir, "vm", "ssh://me@vm:2222", false)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"currentContext":"vm"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		flags Flags
		env   map[string]string
		host  string
		from  string
		ctx   string
	}{
		{"--context wins over everything", Flags{Context: "build"}, map[string]string{"DOCKER_HOST": "tcp://x:1", "DOCKER_CONTEXT": "vm"}, "tcp://build:2376", "--context", "build"},
		{"--host", Flags{Host: "tcp://h:2375"}, map[string]string{"DOCKER_CONTEXT": "vm"}, "tcp://h:2375", "--host", ""},
		{"DOCKER_HOST before DOCKER_CONTEXT", Flags{}, map[string]string{"DOCKER_HOST": "unix:///run/d.sock", "DOCKER_CONTEXT": "build"}, "unix:///run/d.sock", "DOCKER_HOST", ""},
		{"DOCKER_CONTEXT", Flags{}, map[string]string{"DOCKER_CONTEXT": "build"}, "tcp://build:2376", "DOCKER_CONTEXT", "build"},
		{"currentContext", Flags{}, nil, "ssh://me@vm:2222", "currentContext in " + filepath.Join(dir, "config.json"), "vm"},
		{"the default context", Flags{Context: "default"}, nil, DefaultHost, "--context", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DOCKER_CONFIG": dir}
			for k, v := range tt.env {
				env[k] = v
			}
			ep, err := Resolve(tt.flags, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			if ep.Host != tt.host || ep.From != tt.from || ep.Context != tt.ctx {
				t.Errorf("got %+v, want host %s from %s context %q", ep, tt.host, tt.from, tt.ctx)
			}
		})
	}
	ep, _ := Resolve(Flags{Context: "build"}, func(k string) (string, bool) { return map[string]string{"DOCKER_CONFIG": dir}[k], k == "DOCKER_CONFIG" })
	if string(ep.CA) != "ca.pem" || string(ep.Cert) != "cert.pem" || string(ep.Key) != "key.pem" {
		t.Errorf("TLS material not read: %q %q %q", ep.CA, ep.Cert, ep.Key)
	}
	// No config at all: the default socket.
	ep, err := Resolve(Flags{}, func(k string) (string, bool) {
		return map[string]string{"DOCKER_CONFIG": t.TempDir()}[k], k == "DOCKER_CONFIG"
	})
	if err != nil || ep.Host != DefaultHost || ep.From != "default" {
		t.Errorf("default: %+v %v", ep, err)
	}
}

func TestResolveRefusesWhatCannotBe(t *testing.T) {
	dir := t.TempDir()
	env := func(k string) (string, bool) { return map[string]string{"DOCKER_CONFIG": dir}[k], k == "DOCKER_CONFIG" }
	for _, tt := range []struct {
		flags Flags
		want  string
	}{
		{Flags{Context: "nope"}, `context "nope" (from --context) does not exist`},
		{Flags{Context: "a", Host: "tcp://x:1"}, "--context and --host are both given"},
		{Flags{Host: "localhost:2375"}, "want unix://, tcp:// or ssh://"},
		{Flags{Host: "fd://"}, "fd:// is only for dockerd"},
	} {
		_, err := Resolve(tt.flags, env)
		if !errors.Is(err, ErrEndpoint) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.flags, err, tt.want)
		}
	}
}
