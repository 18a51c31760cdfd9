package dockerapi

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/swarm"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine"
)

func loadYAML(t *testing.T, yaml string) *compose.Model {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{file}, ProjectName: "st"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestBuildSwarmService maps services as docker stack deploy does: names
// and labels of the stack, an init as a replicated job that Swarm never
// restarts, a backend as a replicated service with dnsrr (no IPVS here),
// secrets by ID, named volumes labelled with the stack, networks with the
// service's name as alias.
func TestBuildSwarmService(t *testing.T) {
	m := loadYAML(t, `
services:
  db:
    image: postgres:15
    environment: {POSTGRES_DB: app}
    healthcheck: {test: ["CMD-SHELL", "pg_isready"], timeout: 3s}
    secrets: [db_pw]
    volumes: [data:/var/lib/postgresql/data]
    networks: {back: {aliases: [pg]}}
    deploy: {replicas: 2, placement: {constraints: ["node.role == manager"]}}
  db-init:
    image: tool
    restart: "no"
    command: ["migrate"]
    secrets: [{source: db_pw, target: password}]
    depends_on: {db: {condition: service_healthy}}
    networks: [back]
  web:
    image: web
    deploy: {endpoint_mode: vip}
networks: {back: {}}
volumes: {data: {}}
secrets: {db_pw: {file: ./pw.txt}}
`)
	res := swarmResources{nets: map[string]string{"back": "st_back", "default": "st_default"}, secrets: map[string]string{"db_pw": "sec123"}}
	db, err := buildSwarmService(m.Project, m.Project.Services["db"], "st_db", false, res)
	if err != nil {
		t.Fatal(err)
	}
	s := db.spec
	if s.Name != "st_db" || s.Labels[LabelStackNamespace] != "st" || s.Labels[LabelService] != "db" || s.Labels[LabelStackImage] != "postgres:15" {
		t.Errorf("names and labels: %s %v", s.Name, s.Labels)
	}
	if s.Mode.Replicated == nil || *s.Mode.Replicated.Replicas != 2 || s.EndpointSpec.Mode != swarm.ResolutionModeDNSRR {
		t.Errorf("mode %+v, endpoint %+v", s.Mode, s.EndpointSpec)
	}
	if s.TaskTemplate.RestartPolicy.Condition != swarm.RestartPolicyConditionAny {
		t.Errorf("a backend with no restart key restarts as Swarm's default: %+v", s.TaskTemplate.RestartPolicy)
	}
	cs := s.TaskTemplate.ContainerSpec
	if !slices.Contains(cs.Env, "POSTGRES_DB=app") || cs.Labels[LabelStackNamespace] != "st" {
		t.Errorf("container spec: %+v", cs)
	}
	if len(cs.Secrets) != 1 || cs.Secrets[0].SecretID != "sec123" || cs.Secrets[0].SecretName != "st_db_pw" || cs.Secrets[0].File.Name != "db_pw" {
		t.Errorf("secrets: %+v", cs.Secrets)
	}
	if len(cs.Mounts) != 1 || cs.Mounts[0].Type != mount.TypeVolume || cs.Mounts[0].Source != "st_data" || cs.Mounts[0].VolumeOptions.Labels[LabelStackNamespace] != "st" {
		t.Errorf("mounts: %+v", cs.Mounts)
	}
	if n := s.TaskTemplate.Networks; len(n) != 1 || n[0].Target != "st_back" || !slices.Equal(n[0].Aliases, []string{"db", "pg"}) {
		t.Errorf("networks: %+v", n)
	}
	if !slices.Equal(db.healthTest, []string{"/bin/sh", "-c", "pg_isready"}) || db.healthTimeout != 3*time.Second {
		t.Errorf("health test %v %s", db.healthTest, db.healthTimeout)
	}
	if p := s.TaskTemplate.Placement; p == nil || !slices.Equal(p.Constraints, []string{"node.role == manager"}) {
		t.Errorf("placement: %+v", p)
	}

	job, err := buildSwarmService(m.Project, m.Project.Services["db-init"], "st_db-init", true, res)
	if err != nil {
		t.Fatal(err)
	}
	if j := job.spec.Mode.ReplicatedJob; j == nil || *j.TotalCompletions != 1 || *j.MaxConcurrent != 1 {
		t.Errorf("an init is a job that runs once: %+v", job.spec.Mode)
	}
	if job.spec.TaskTemplate.RestartPolicy.Condition != swarm.RestartPolicyConditionNone {
		t.Errorf(`restart: "no" is condition none: %+v`, job.spec.TaskTemplate.RestartPolicy)
	}
	if sec := job.spec.TaskTemplate.ContainerSpec.Secrets; len(sec) != 1 || sec[0].File.Name != "password" {
		t.Errorf("a secret's target: %+v", sec)
	}
	if !slices.Equal(job.spec.TaskTemplate.ContainerSpec.Args, []string{"migrate"}) {
		t.Errorf("command: %v", job.spec.TaskTemplate.ContainerSpec.Args)
	}

	web, err := buildSwarmService(m.Project, m.Project.Services["web"], "st_web", false, res)
	if err != nil {
		t.Fatal(err)
	}
	if web.spec.EndpointSpec.Mode != swarm.ResolutionModeVIP || web.spec.TaskTemplate.Networks[0].Target != "st_default" {
		t.Errorf("endpoint_mode: vip is kept; no networks: the default one: %+v %+v", web.spec.EndpointSpec, web.spec.TaskTemplate.Networks)
	}
	// The same service gives the same spec hash; a change, another.
	again, _ := buildSwarmService(m.Project, m.Project.Services["db"], "st_db", false, res)
	if again.hash != db.hash {
		t.Error("the spec hash is not stable")
	}
	changed := m.Project.Services["db"]
	changed.Environment = nil
	if other, _ := buildSwarmService(m.Project, changed, "st_db", false, res); other.hash == db.hash {
		t.Error("a changed service keeps its spec hash")
	}
}

// TestSwarmRefused names the keys Swarm cannot run, each with why.
func TestSwarmRefused(t *testing.T) {
	m := loadYAML(t, `
services:
  a:
    image: x
    build: .
    container_name: fixed
    privileged: true
    ports: ["8080:80"]
  b:
    image: x
    ports: [{target: 80, published: "8080", mode: host}]
    privileged: false
`)
	got := strings.Join(swarmRefused(m.Project.Services["a"]), "; ")
	for _, want := range []string{"build (images are per node", "container_name (", "privileged (", "ports 8080 in ingress mode"} {
		if !strings.Contains(got, want) {
			t.Errorf("refused %q lacks %q", got, want)
		}
	}
	if got := swarmRefused(m.Project.Services["b"]); len(got) != 0 {
		t.Errorf("host-mode ports and privileged: false are fine, got %v", got)
	}
}

func task(id string, state swarm.TaskState, desired swarm.TaskState, iter uint64, code int) swarm.Task {
	return swarm.Task{ID: id, DesiredState: desired, JobIteration: &swarm.Version{Index: iter},
		Status: swarm.TaskStatus{State: state, Timestamp: time.Unix(100, 0), ContainerStatus: &swarm.ContainerStatus{ExitCode: code}}}
}

// TestSwarmAggregate folds tasks into the one state the scheduler reads: a
// backend is up when every replica's task runs (healthy: Swarm reports
// running after its healthcheck); a job is its current iteration's tasks,
// and the local engine's exit is taken before the manager records it.
func TestSwarmAggregate(t *testing.T) {
	two := uint64(2)
	backend := swarm.Service{Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "st_db"},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &two}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Healthcheck: &container.HealthConfig{Test: []string{"CMD", "true"}}}}}}
	job := swarm.Service{Spec: swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "st_init"},
		Mode: swarm.ServiceMode{ReplicatedJob: &swarm.ReplicatedJob{}}}, JobStatus: &swarm.JobStatus{JobIteration: swarm.Version{Index: 3}}}
	R, S, C, F := swarm.TaskStateRunning, swarm.TaskStateStarting, swarm.TaskStateComplete, swarm.TaskStateFailed
	tests := []struct {
		name  string
		svc   swarm.Service
		tasks []swarm.Task
		obs   map[string]taskObs
		want  engine.State
	}{
		{name: "one of two replicas up", svc: backend, tasks: []swarm.Task{task("a", R, R, 0, 0), task("b", swarm.TaskStatePreparing, R, 0, 0)},
			want: engine.State{}},
		{name: "both up, one still starting", svc: backend, tasks: []swarm.Task{task("a", R, R, 0, 0), task("b", S, R, 0, 0)},
			want: engine.State{Running: true, Health: engine.HealthStarting}},
		{name: "both running: healthy", svc: backend, tasks: []swarm.Task{task("a", R, R, 0, 0), task("b", R, R, 0, 0), task("old", swarm.TaskStateShutdown, swarm.TaskStateShutdown, 0, 137)},
			want: engine.State{Running: true, Health: engine.HealthHealthy}},
		{name: "a local health event is not readiness", svc: backend, tasks: []swarm.Task{task("a", S, R, 0, 0), task("b", S, R, 0, 0)},
			obs:  map[string]taskObs{"a": {started: true, health: "healthy"}, "b": {started: true, health: "healthy"}},
			want: engine.State{Running: true, Health: engine.HealthStarting}},
		{name: "job of an earlier iteration only", svc: job, tasks: []swarm.Task{task("old", C, C, 2, 0)}, want: engine.State{}},
		{name: "job running", svc: job, tasks: []swarm.Task{task("old", C, C, 2, 0), task("now", R, C, 3, 0)}, want: engine.State{Running: true}},
		{name: "job complete", svc: job, tasks: []swarm.Task{task("now", C, C, 3, 0)}, want: engine.State{Exited: true}},
		{name: "job failed with its exit code", svc: job, tasks: []swarm.Task{task("now", F, C, 3, 5)}, want: engine.State{Exited: true, ExitCode: 5}},
		{name: "job exited here before the manager knew", svc: job, tasks: []swarm.Task{task("now", R, C, 3, 0)},
			obs: map[string]taskObs{"now": {started: true, exited: true, code: 7}}, want: engine.State{Exited: true, ExitCode: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := &swarmProject{obs: map[string]taskObs{}, iter: map[string]uint64{}}
			for k, v := range tt.obs {
				sp.obs[k] = v
			}
			got := sp.aggregate(tt.svc, tt.tasks)
			if got.Running != tt.want.Running || got.Exited != tt.want.Exited || got.ExitCode != tt.want.ExitCode || got.Health != tt.want.Health {
				t.Errorf("aggregate = running %v exited %v code %d health %q, want %+v", got.Running, got.Exited, got.ExitCode, got.Health, tt.want)
			}
		})
	}
}

// TestSwarmSpecHashIsStable: maps in the compose model (ulimits, extra
// hosts, environment, labels) never make an unchanged service look changed
// (which would update, and restart, a backend on every up).
func TestSwarmSpecHashIsStable(t *testing.T) {
	m := loadYAML(t, `
services:
  db:
    image: x
    environment: {A: "1", B: "2", C: "3", D: "4"}
    labels: {a: "1", b: "2", c: "3"}
    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512, core: 0, memlock: -1}
    extra_hosts: ["a.example:10.0.0.1", "b.example:10.0.0.2", "c.example:10.0.0.3", "d.example:10.0.0.4"]
    sysctls: {net.core.somaxconn: "1024", net.ipv4.tcp_syncookies: "0"}
`)
	res := swarmResources{nets: map[string]string{"default": "st_default"}}
	first, err := buildSwarmService(m.Project, m.Project.Services["db"], "st_db", false, res)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		again, err := buildSwarmService(m.Project, m.Project.Services["db"], "st_db", false, res)
		if err != nil {
			t.Fatal(err)
		}
		if again.hash != first.hash {
			t.Fatalf("the spec hash changed between two conversions of the same service: %s, %s", first.hash, again.hash)
		}
	}
}

// TestSwarmModes: deploy.mode global is a global service, global-job a
// global job, for what runs for good and for one-shots alike.
func TestSwarmModes(t *testing.T) {
	m := loadYAML(t, `
services:
  agent: {image: x, deploy: {mode: global}}
  everywhere-init: {image: x, restart: "no", deploy: {mode: global-job}}
`)
	res := swarmResources{nets: map[string]string{"default": "st_default"}}
	agent, err := buildSwarmService(m.Project, m.Project.Services["agent"], "st_agent", false, res)
	if err != nil {
		t.Fatal(err)
	}
	if agent.spec.Mode.Global == nil {
		t.Errorf("global: %+v", agent.spec.Mode)
	}
	job, err := buildSwarmService(m.Project, m.Project.Services["everywhere-init"], "st_everywhere-init", true, res)
	if err != nil {
		t.Fatal(err)
	}
	if job.spec.Mode.GlobalJob == nil {
		t.Errorf("global-job: %+v", job.spec.Mode)
	}
}
