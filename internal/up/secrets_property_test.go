package up_test

import (
	"bytes"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/loki"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/up"
)

// The stack of the secrets property: a backend whose failing healthcheck
// prints the secret (the detail channel), an init that prints it and fails,
// a pre_start hook that prints it and fails, and a service built with the
// secret as a build arg (a RUN step echoes it).
const secretsStack = `
services:
  db:
    image: db
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  cache:
    image: cache
    healthcheck: {test: ["CMD", "true"], interval: 30s}
  db-init:
    image: tool
    restart: "no"
    depends_on: {db: {condition: service_healthy}}
  api:
    image: api
    build: {context: .}
    pre_start:
      - command: ["migrate"]
    depends_on: {db: {condition: service_healthy}}
secrets:
  db_password:
    file: ./db_password.txt
`

// placement is where the property puts the secret value in the project.
type placement struct {
	name  string
	place func(p *types.Project, dir, value string)
}

var placements = []placement{
	{"service environment", func(p *types.Project, _, v string) { setEnv(p, "db-init", "DB_PASSWORD", v) }},
	{"hook environment", func(p *types.Project, _, v string) {
		sc := p.Services["api"]
		sc.PreStart[0].Environment = types.MappingWithEquals{"API_TOKEN": &v}
		p.Services["api"] = sc
	}},
	{"build arg", func(p *types.Project, _, v string) {
		sc := p.Services["api"]
		sc.Build.Args = types.MappingWithEquals{"NPM_TOKEN": &v}
		p.Services["api"] = sc
	}},
	{"secret file", func(p *types.Project, dir, v string) {
		if err := os.WriteFile(filepath.Join(dir, "db_password.txt"), []byte(v+"\n"), 0o600); err != nil {
			panic(err)
		}
	}},
	{"URL in a variable of any name", func(p *types.Project, _, v string) {
		// As a URL holds a password: escaped (url.UserPassword).
		setEnv(p, "db-init", "DATABASE_URL", "postgres://"+url.UserPassword("app", v).String()+"@db:5432/app")
	}},
}

func setEnv(p *types.Project, service, k, v string) {
	sc := p.Services[service]
	if sc.Environment == nil {
		sc.Environment = types.MappingWithEquals{}
	}
	sc.Environment[k] = &v
	p.Services[service] = sc
}

// channels runs up with value placed by pl and printed by every container
// and the build, and returns what each output channel holds.
func channels(t *testing.T, pl placement, value string, printed string) map[string]string {
	t.Helper()
	m := memengine.LoadYAML(t, "p", secretsStack)
	dir := m.Project.WorkingDir
	secret := m.Project.Secrets["db_password"]
	secret.File = filepath.Join(dir, "db_password.txt")
	m.Project.Secrets["db_password"] = secret
	if err := os.WriteFile(secret.File, []byte("other-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pl.place(m.Project, dir, value)
	// The build echoes every build arg: give it the printed value too.
	if pl.name != "build arg" {
		sc := m.Project.Services["api"]
		sc.Build.Args = types.MappingWithEquals{"HARMLESS": &printed}
		m.Project.Services["api"] = sc
	}
	model, err := compose.NewModel(m.Project)
	if err != nil {
		t.Fatal(err)
	}
	e := memengine.New(t0, map[string]memengine.Behavior{
		"db":               {Healthcheck: true, HealthyAfter: time.Second},
		"cache":            {Healthcheck: true, UnhealthyAfter: time.Second, HealthOutput: "probe said " + printed},
		"db-init":          {ExitAfter: time.Second, ExitCode: 1, Logs: "before " + printed + " after\n"},
		"api/pre_start[0]": {ExitAfter: time.Second, ExitCode: 1, Logs: "hook " + printed + "\n"},
		"api":              {},
	})
	var progress, warnings bytes.Buffer
	logs := t.TempDir()
	opts := up.Options{MaxInitSeconds: 60, LogsDir: logs, TailLines: 20, Clock: e.Clock, Progress: &progress, Warnings: &warnings, Build: true}
	var v report.Verdict
	var runErr error
	if !e.Drive(2*time.Second, 30*time.Minute, func(idle func(int)) {
		opts.Idle = idle
		v, runErr = up.Run(t.Context(), e, model, opts)
	}) {
		t.Fatal("up did not finish")
	}
	out := map[string]string{"progress": progress.String(), "warnings": warnings.String()}
	if runErr != nil {
		out["error"] = runErr.Error()
	}
	var b bytes.Buffer
	_ = report.WriteVerdictText(&b, v, report.PlainStyles())
	out["text verdict"] = b.String()
	b.Reset()
	_ = report.WriteVerdictJSON(&b, v)
	out["json verdict"] = b.String()
	b.Reset()
	_ = report.WriteJUnit(&b, v)
	out["junit"] = b.String()
	var lines []string
	for _, s := range loki.Streams(v, "run", t0) {
		for _, e := range s.Entries {
			lines = append(lines, e.Line)
		}
	}
	out["loki"] = strings.Join(lines, "\n")
	files, _ := filepath.Glob(filepath.Join(logs, "*"))
	for _, f := range files {
		c, _ := os.ReadFile(f)
		out["log file "+filepath.Base(f)] = string(c)
	}
	return out
}

// TestPropertyNoChannelShowsASecret: for random secret values (1-64 bytes,
// any bytes) placed in service and hook environments, build args, secret
// files and URLs, and printed by every container, the build and a
// healthcheck, no output channel (progress, warnings, error, text, JSON,
// JUnit, Loki lines, log files) contains the value.
//
// A channel that mixes infractl's own words with foreign bytes may contain
// a very short value as part of those words ("e" in "exited"): there the
// value must occur no more often than in a control run whose secret is
// another value, so every occurrence is infractl's own. Log files hold
// foreign bytes only: there the value never occurs.
func TestPropertyNoChannelShowsASecret(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 2026))
	value := func() string {
		for {
			b := make([]byte, 1+rng.IntN(64))
			for i := range b {
				b[i] = byte(rng.IntN(256))
			}
			// A trailing line break is not part of a secret (a file's
			// newline): a value of line breaks only is no value.
			if s := strings.TrimRight(string(b), "\r\n"); s != "" {
				return s
			}
		}
	}
	runs := 60
	if testing.Short() {
		runs = 10
	}
	short := 0
	for i := range runs {
		for _, pl := range placements {
			v := value()
			if len(v) < 4 {
				short++
			}
			w := value()
			for strings.Contains(w, v) || strings.Contains(v, w) {
				w = value()
			}
			got := channels(t, pl, v, v)
			control := channels(t, pl, w, w)
			for name, out := range got {
				n := strings.Count(out, v)
				if n == 0 {
					continue
				}
				if strings.HasPrefix(name, "log file") {
					t.Fatalf("run %d, %s: %s shows the secret %q:\n%q", i, pl.name, name, v, out)
				}
				if c := strings.Count(control[name], v); n > c {
					t.Fatalf("run %d, %s: %s shows the secret %q %d times, infractl's own words hold it %d times:\n%q", i, pl.name, name, v, n, c, out)
				}
			}
		}
	}
	t.Logf("%d runs, %d placements each; %d values of 1-3 bytes", runs, len(placements), short)
}
