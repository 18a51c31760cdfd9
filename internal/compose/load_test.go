package compose_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/infractl/infractl/internal/compose"
)

func fixture(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "compose", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func load(t *testing.T, opts compose.Options) *compose.Model {
	t.Helper()
	m, err := compose.Load(t.Context(), opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return m
}

func TestSeedStackInits(t *testing.T) {
	dir := fixture(t, "seed-stack")
	m := load(t, compose.Options{
		Files:    []string{filepath.Join(dir, "compose.yaml")},
		EnvFiles: []string{filepath.Join(dir, ".env.example")},
	})
	var inits []string
	for _, s := range m.Inits() {
		inits = append(inits, s.Name)
	}
	want := []string{"grafana-init", "k-init", "kafka-init", "minio-create-buckets", "mng-pg-init", "os-init", "pg-cluster-init", "valkey-cluster-init"}
	if !reflect.DeepEqual(inits, want) {
		t.Errorf("inits = %v, want %v", inits, want)
	}
	// Every init runs after everything it waits on.
	for _, s := range m.Services {
		for _, e := range s.Deps {
			if m.Services[e.To].Stage >= s.Stage {
				t.Errorf("%s (stage %d) waits on %s (stage %d)", s.Name, s.Stage, e.To, m.Services[e.To].Stage)
			}
		}
	}
	if got := m.Project.Name; got != "infra" {
		t.Errorf("project name = %q", got)
	}
	if got := len(m.Files); got != 9 {
		t.Errorf("files read = %d (%v), want the root and 8 includes", got, m.Files)
	}
	loc := m.Services["kafka-init"].Location
	if !strings.HasSuffix(loc.File, "infra/05-messaging/kafka/docker-compose.yml") || loc.Line != 35 {
		t.Errorf("kafka-init location = %v", loc)
	}
	if img := m.Services["minio"].Config.Image; img != "minio/minio:RELEASE.2024-10-13T13-34-11Z" {
		t.Errorf("minio image from .env.example = %q", img)
	}
	if got := strings.Join(m.CriticalPath, " -> "); got != "kafka-1 -> kafka-init -> k-init" {
		t.Errorf("critical path = %s", got)
	}
}

func TestDiscoveryRoles(t *testing.T) {
	m := load(t, compose.Options{Files: []string{filepath.Join(fixture(t, "discovery"), "compose.yaml")}})
	tests := []struct {
		name   string
		role   compose.Role
		reason string
	}{
		{"db", compose.RoleBackend, `"db-init", "migrate", "topics" wait on it`},
		{"db-init", compose.RoleInit, "service_completed_successfully"},
		{"migrate", compose.RoleInit, `"api" waits for it to complete`},
		{"topics", compose.RoleInit, `one-shot (restart: "no", no healthcheck, no ports) gated on "db"`},
		{"api", compose.RoleBackend, "wait on it"},
		{"smoke", compose.RoleApp, "label infractl.role=app"},
		{"warmup", compose.RoleInit, "label infractl.role=init"},
		{"report", compose.RoleApp, "nothing waits on it"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := m.Services[tt.name]
			if s == nil {
				t.Fatalf("service %q missing", tt.name)
			}
			if s.Role != tt.role || !strings.Contains(s.Reason, tt.reason) {
				t.Errorf("role, reason = %s, %q; want %s, containing %q", s.Role, s.Reason, tt.role, tt.reason)
			}
		})
	}
	if !reflect.DeepEqual(m.Disabled, []string{"seeder"}) {
		t.Errorf("disabled = %v", m.Disabled)
	}
	if len(m.Services["report"].Deps) != 0 {
		t.Errorf("optional dependency on a disabled service kept: %v", m.Services["report"].Deps)
	}
	wantStages := [][]string{{"db", "report"}, {"db-init", "migrate", "topics"}, {"api"}, {"smoke", "warmup"}}
	if !reflect.DeepEqual(m.Stages, wantStages) {
		t.Errorf("stages = %v, want %v", m.Stages, wantStages)
	}
}

func TestDiscoveryProfileEnablesService(t *testing.T) {
	m := load(t, compose.Options{
		Files:    []string{filepath.Join(fixture(t, "discovery"), "compose.yaml")},
		Profiles: []string{"seed"},
	})
	s := m.Services["seeder"]
	if s == nil || s.Role != compose.RoleInit {
		t.Fatalf("seeder with --profile seed = %+v", s)
	}
	if len(m.Services["report"].Deps) != 1 {
		t.Errorf("report should wait on seeder once it is enabled")
	}
	m = load(t, compose.Options{
		Files: []string{filepath.Join(fixture(t, "discovery"), "compose.yaml")},
		Env:   []string{"COMPOSE_PROFILES=seed"},
	})
	if m.Services["seeder"] == nil {
		t.Errorf("COMPOSE_PROFILES=seed did not enable seeder")
	}
}

func TestPreStartHookIsInit(t *testing.T) {
	m := load(t, compose.Options{Files: []string{filepath.Join(fixture(t, "pre-start"), "compose.yaml")}})
	h := m.Services[compose.HookName("app", 0)]
	if h == nil || h.Role != compose.RoleInit {
		t.Fatalf("hook = %+v", h)
	}
	if got := m.Services["app"].Deps; len(got) != 2 || got[0].To != compose.HookName("app", 0) || got[0].Condition != compose.ConditionCompleted {
		t.Errorf("app deps = %+v", got)
	}
	if h.Stage != 1 || m.Services["app"].Stage != 2 {
		t.Errorf("stages hook=%d app=%d", h.Stage, m.Services["app"].Stage)
	}
}

func TestLoadEnvironment(t *testing.T) {
	dir := fixture(t, "env-files")
	file := filepath.Join(dir, "compose.yaml")
	tests := []struct {
		name       string
		opts       compose.Options
		chdir      string
		wantName   string
		wantTarget string
		wantImage  string
		wantInit   bool
		wantBack   string
	}{
		{name: "dotenv", opts: compose.Options{Files: []string{file}}, wantName: "env-files", wantTarget: "from-dotenv", wantImage: "dotenv-image", wantBack: "toolbox"},
		{name: "env-file replaces .env", opts: compose.Options{Files: []string{file}, EnvFiles: []string{filepath.Join(dir, "alt.env")}}, wantName: "env-files", wantTarget: "from-alt-env-file", wantImage: "toolbox", wantInit: false, wantBack: "toolbox"},
		{name: "process env wins", opts: compose.Options{Files: []string{file}, Env: []string{"TARGET=from-shell"}}, wantName: "env-files", wantTarget: "from-shell", wantImage: "dotenv-image", wantBack: "toolbox"},
		{name: "profile from .env enabled", opts: compose.Options{Files: []string{file}, Profiles: []string{"jobs"}}, wantName: "env-files", wantTarget: "from-dotenv", wantImage: "dotenv-image", wantInit: true, wantBack: "toolbox"},
		{name: "project name flag", opts: compose.Options{Files: []string{file}, ProjectName: "custom", Env: []string{"COMPOSE_PROJECT_NAME=ignored"}}, wantName: "custom", wantTarget: "from-dotenv", wantImage: "dotenv-image", wantBack: "toolbox"},
		{name: "COMPOSE_PROJECT_NAME", opts: compose.Options{Files: []string{file}, Env: []string{"COMPOSE_PROJECT_NAME=fromenv"}}, wantName: "fromenv", wantTarget: "from-dotenv", wantImage: "dotenv-image", wantBack: "toolbox"},
		{name: "COMPOSE_FILE with separator", chdir: dir, opts: compose.Options{Env: []string{"COMPOSE_FILE=compose.yaml;override.yaml", "COMPOSE_PATH_SEPARATOR=;"}}, wantName: "env-files", wantTarget: "from-dotenv", wantImage: "dotenv-image", wantBack: "overridden"},
		{name: "default file found in a parent folder", chdir: filepath.Join(dir, "sub"), opts: compose.Options{}, wantName: "env-files", wantTarget: "from-dotenv", wantImage: "dotenv-image", wantBack: "toolbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.chdir != "" {
				t.Chdir(tt.chdir)
			}
			m := load(t, tt.opts)
			if m.Project.Name != tt.wantName {
				t.Errorf("name = %q, want %q", m.Project.Name, tt.wantName)
			}
			init, enabled := m.Project.Services["init"]
			if !enabled {
				init = m.Project.DisabledServices["init"]
			}
			if got := init.Environment["TARGET"]; got == nil || *got != tt.wantTarget {
				t.Errorf("TARGET = %v, want %q", got, tt.wantTarget)
			}
			if init.Image != tt.wantImage {
				t.Errorf("image = %q, want %q", init.Image, tt.wantImage)
			}
			if enabled != tt.wantInit {
				t.Errorf("init enabled = %v, want %v", enabled, tt.wantInit)
			}
			if got := m.Project.Services["backend"].Image; got != tt.wantBack {
				t.Errorf("backend image = %q, want %q", got, tt.wantBack)
			}
		})
	}
}

func TestBrokenFixtures(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string
	}{
		{"broken-cycle", []string{"compose.yaml", "dependency cycle detected: a -> b -> a"}},
		{"broken-undefined-dep", []string{"compose.yaml:7:3", `"kafka-init"`, `"kafka-9"`}},
		{"broken-bad-yaml", []string{"compose.yaml", "line 5"}},
		{"broken-missing-include", []string{"compose.yaml:4:5", "infra/04-data/minio/docker-compose.yml does not exist"}},
		{"broken-missing-secret", []string{"compose.yaml:8:3", `"mng_pg_password"`, `"mng-pg-init"`}},
		{"broken-unknown-condition", []string{"compose.yaml:5:3", "minio-create-buckets", "service_healthy"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			m, err := compose.Load(t.Context(), compose.Options{Files: []string{filepath.Join(fixture(t, tt.fixture), "compose.yaml")}})
			if err == nil {
				err = m.Validate()
			}
			if !errors.Is(err, compose.ErrInvalidProject) {
				t.Fatalf("err = %v, want an ErrInvalidProject", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLineIndexKey(t *testing.T) {
	dir := fixture(t, "seed-stack")
	idx := compose.NewLineIndex([]string{filepath.Join(dir, "infra/04-data/minio/docker-compose.yml")})
	tests := []struct {
		path []string
		line int
	}{
		{nil, 2},
		{[]string{"environment", "MINIO_ROOT_PASSWORD_FILE"}, 7},
		{[]string{"volumes", "minio-data:/data"}, 10},
		{[]string{"no-such-key"}, 2},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.path, "."), func(t *testing.T) {
			if got := idx.Key("minio", tt.path...); got.Line != tt.line {
				t.Errorf("line = %d, want %d", got.Line, tt.line)
			}
		})
	}
}

func TestMain(m *testing.M) {
	// compose-go reads no process environment unless told to; make sure a
	// developer's COMPOSE_* variables cannot leak into the tests.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "COMPOSE_") {
			os.Unsetenv(k)
		}
	}
	os.Exit(m.Run())
}

// TestValidateInContainer: provision runs as an init with the project file
// as a config and its secrets in /run/secrets, so the secret files the
// project names are not there; that is fine inside the container and an
// error everywhere else.
func TestValidateInContainer(t *testing.T) {
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{filepath.Join(fixture(t, "broken-missing-secret"), "compose.yaml")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Validate(); !errors.Is(err, compose.ErrInvalidProject) {
		t.Errorf("Validate: %v, want the missing secret file", err)
	}
	if err := m.ValidateInContainer(); err != nil {
		t.Errorf("ValidateInContainer: %v", err)
	}
}
