package dockerapi

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/moby/api/types/mount"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

// TestBuildSpec converts a compose service into create options with no
// daemon: names, compose's labels, environment, healthcheck as exec
// arguments, secrets from a file bind-mounted and from the environment
// copied in, networks with aliases.
func TestBuildSpec(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw.txt"), []byte("pw"), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := `
services:
  db:
    image: postgres:15
    environment: {POSTGRES_DB: app}
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U app"]
      timeout: 3s
    secrets: [db_pw, token]
    networks:
      back: {aliases: [pg]}
    stop_grace_period: 7s
  init:
    image: tool
    restart: "no"
    container_name: custom-init
    depends_on: {db: {condition: service_healthy}}
    networks: [back]
networks:
  back: {}
secrets:
  db_pw: {file: ./pw.txt}
  token: {environment: TOKEN}
`
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{file}, ProjectName: "p", Env: []string{"TOKEN=t0ken"}})
	if err != nil {
		t.Fatal(err)
	}
	spec, err := buildSpec(m.Project, m.Project.Services["db"], "1.41")
	if err != nil {
		t.Fatal(err)
	}
	if spec.name != "p-db-1" || spec.opts.Name != "p-db-1" {
		t.Errorf("name %q / %q", spec.name, spec.opts.Name)
	}
	// On a remote engine the file secret is copied through the API, not
	// bind-mounted from a path that exists only here.
	remote := *spec
	if err := remote.forRemote(); err != nil {
		t.Fatal(err)
	}
	for _, mnt := range remote.opts.HostConfig.Mounts {
		if mnt.Target == "/run/secrets/db_pw" {
			t.Errorf("remote: still bind-mounts %s", mnt.Source)
		}
	}
	if i := slices.IndexFunc(remote.copies, func(c fileCopy) bool { return c.Path == "/run/secrets/db_pw" }); i < 0 || string(remote.copies[i].Content) != "pw" {
		t.Errorf("remote: copies %+v", remote.copies)
	}
	if !slices.ContainsFunc(spec.opts.HostConfig.Mounts, func(m mount.Mount) bool { return m.Target == "/run/secrets/db_pw" }) {
		t.Error("the local spec lost its bind mount")
	}
	labels := spec.opts.Config.Labels
	for k, want := range map[string]string{engine.LabelProject: "p", engine.LabelService: "db", engine.LabelNumber: "1", engine.LabelOneoff: "False", engine.LabelConfigHash: spec.hashes[0]} {
		if labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, labels[k], want)
		}
	}
	if !slices.Contains(spec.opts.Config.Env, "POSTGRES_DB=app") {
		t.Errorf("env %v", spec.opts.Config.Env)
	}
	if !spec.health || !slices.Equal(spec.healthTest, []string{"/bin/sh", "-c", "pg_isready -U app"}) || spec.healthTimeout != 3*time.Second {
		t.Errorf("health %v %q %s", spec.health, spec.healthTest, spec.healthTimeout)
	}
	var bound bool
	for _, mt := range spec.opts.HostConfig.Mounts {
		if mt.Target == "/run/secrets/db_pw" && mt.Source == filepath.Join(dir, "pw.txt") && mt.ReadOnly {
			bound = true
		}
	}
	if !bound {
		t.Errorf("file secret not bind-mounted read-only: %+v", spec.opts.HostConfig.Mounts)
	}
	if len(spec.copies) != 1 || spec.copies[0].Path != "/run/secrets/token" || string(spec.copies[0].Content) != "t0ken" {
		t.Errorf("environment secret not copied in: %+v", spec.copies)
	}
	ep := spec.opts.NetworkingConfig.EndpointsConfig["p_back"]
	if ep == nil || !slices.Contains(ep.Aliases, "pg") {
		t.Errorf("network p_back with alias pg: %+v", spec.opts.NetworkingConfig.EndpointsConfig)
	}
	if spec.stop != 7*time.Second {
		t.Errorf("stop grace %s", spec.stop)
	}

	init, err := buildSpec(m.Project, m.Project.Services["init"], "1.41")
	if err != nil {
		t.Fatal(err)
	}
	if init.name != "custom-init" || init.opts.HostConfig.RestartPolicy.Name != "no" {
		t.Errorf("init: name %q restart %q", init.name, init.opts.HostConfig.RestartPolicy.Name)
	}
	if init.opts.Config.Labels[engine.LabelDependsOn] != "db:service_healthy:false" { // name:condition:restart, as compose writes it
		t.Errorf("depends_on label %q", init.opts.Config.Labels[engine.LabelDependsOn])
	}
}

// A hook's runner and a replica are created as compose v5.6.0 creates them.
func TestHookAndReplicaSpecs(t *testing.T) {
	dir := t.TempDir()
	yaml := `
services:
  api:
    image: app
    environment: {A: "1"}
    labels: {team: core}
    deploy: {replicas: 2}
    pre_start:
      - command: ["migrate"]
        environment: {B: "2"}
      - image: tool
        command: ["seed"]
`
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{file}, ProjectName: "p"})
	if err != nil {
		t.Fatal(err)
	}
	sc := m.Project.Services["api"]
	h0, err := buildHookSpec(m.Project, sc, 0, "1.41")
	if err != nil {
		t.Fatal(err)
	}
	l := h0.opts.Config.Labels
	if h0.name != "p-api-pre_start-0" || h0.opts.Name != h0.name || l[LabelHook] != "pre_start" || l[LabelHookIndex] != "0" || l[LabelProject] != "p" || l[LabelService] != "api" || l["team"] != "core" {
		t.Errorf("hook 0: name %q, labels %v", h0.name, l)
	}
	for _, k := range []string{LabelConfigHash, LabelNumber, LabelOneoff} {
		if _, ok := l[k]; ok {
			t.Errorf("hook 0 has %s: compose's ps and reconciliation would take it for the service's container", k)
		}
	}
	if got := strings.Join(h0.opts.Config.Env, " "); got != "A=1 B=2" {
		t.Errorf("hook 0 env %q, want the service's and its own", got)
	}
	if h0.opts.Config.Image != "app" || strings.Join(h0.opts.Config.Cmd, " ") != "migrate" {
		t.Errorf("hook 0: image %q cmd %v", h0.opts.Config.Image, h0.opts.Config.Cmd)
	}
	h1, err := buildHookSpec(m.Project, sc, 1, "1.41")
	if err != nil {
		t.Fatal(err)
	}
	if h1.opts.Config.Image != "tool" || h1.opts.Config.Labels[LabelHookIndex] != "1" {
		t.Errorf("hook 1: image %q labels %v", h1.opts.Config.Image, h1.opts.Config.Labels)
	}
	spec, err := buildSpec(m.Project, sc, "1.41")
	if err != nil {
		t.Fatal(err)
	}
	r := spec.replica("p", sc, 2)
	if r.name != "p-api-2" || r.opts.Name != "p-api-2" || r.opts.Config.Labels[LabelNumber] != "2" || spec.opts.Config.Labels[LabelNumber] != "1" {
		t.Errorf("replica 2: %q %q labels %v (replica 1's %v)", r.name, r.opts.Name, r.opts.Config.Labels, spec.opts.Config.Labels)
	}
}

// deploy.replicas runs whatever empty keys compose-go fills next to it
// (placement: {}); a deploy key with a value infractl cannot run is
// refused.
func TestDeployReplicasIsSupported(t *testing.T) {
	two := 2
	ok := types.ServiceConfig{Name: "w", Deploy: &types.DeployConfig{Replicas: &two, Placement: types.Placement{}}}
	if bad := unsupportedKeys(ok); len(bad) != 0 {
		t.Errorf("deploy.replicas refused: %v", bad)
	}
	global := types.ServiceConfig{Name: "w", Deploy: &types.DeployConfig{Mode: "global"}}
	if bad := unsupportedKeys(global); len(bad) != 1 || !strings.HasPrefix(bad[0], "deploy (") {
		t.Errorf("deploy.mode global: %v, want refused", bad)
	}
}
