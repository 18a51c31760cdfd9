package lint_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/infractl/infractl/internal/compose"
	"github.com/infractl/infractl/internal/engine/memengine"
	"github.com/infractl/infractl/internal/lint"
	"github.com/infractl/infractl/internal/report"
)

func load(t *testing.T, dir string, envFiles ...string) *compose.Model {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join("..", "..", "testdata", "compose", dir))
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, e := range envFiles {
		env = append(env, filepath.Join(abs, e))
	}
	m, err := compose.Load(t.Context(), compose.Options{Files: []string{filepath.Join(abs, "compose.yaml")}, EnvFiles: env})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// hits renders findings of one rule as "file:line", relative to the fixture.
func hits(m *compose.Model, fs []lint.Finding, rule string) []string {
	out := []string{}
	for _, f := range fs {
		if f.Rule == rule {
			r, _ := filepath.Rel(m.Project.WorkingDir, f.File)
			out = append(out, fmt.Sprintf("%s:%d", r, f.Line))
		}
	}
	return out
}

func TestRules(t *testing.T) {
	tests := []struct {
		rule string
		bad  []string
	}{
		{"INF000", []string{"compose.yaml:6", "compose.yaml:16"}},
		{"INF001", []string{"compose.yaml:9", "compose.yaml:12"}},
		{"INF002", []string{"compose.yaml:16"}},
		{"INF003", []string{"compose.yaml:14"}},
		{"INF004", []string{"compose.yaml:6", "compose.yaml:7", "compose.yaml:9", "compose.yaml:10"}},
		{"INF005", []string{"compose.yaml:7"}},
		{"INF006", []string{"compose.yaml:6", "compose.yaml:8", "compose.yaml:10", "compose.yaml:13"}},
		{"INF007", []string{"compose.yaml:12"}},
		{"INF008", []string{"compose.yaml:11"}},
		{"INF009", []string{"compose.yaml:13"}},
		{"INF010", []string{"compose.yaml:11", "scripts/provision.sh:4"}},
		{"INF011", []string{"scripts/provision.sh:2", "scripts/provision.sh:4", "scripts/provision.sh:5"}},
		{"INF012", []string{"scripts/provision.sh:3", "scripts/provision.sh:6"}},
		{"INF013", []string{"compose.yaml:7"}},
		{"INF014", []string{"compose.yaml:12"}},
		{"INF015", []string{"compose.yaml:9"}},
		{"INF016", []string{"compose.yaml:7"}},
	}
	if len(tests) != len(lint.Rules) {
		t.Fatalf("%d rules, %d tested", len(lint.Rules), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.rule+"/bad", func(t *testing.T) {
			m := load(t, filepath.Join("lint-rules", tt.rule, "bad"))
			if got := hits(m, lint.Check(m), tt.rule); !reflect.DeepEqual(got, tt.bad) {
				t.Errorf("findings = %v, want %v", got, tt.bad)
			}
		})
		t.Run(tt.rule+"/good", func(t *testing.T) {
			m := load(t, filepath.Join("lint-rules", tt.rule, "good"))
			if got := hits(m, lint.Check(m), tt.rule); len(got) != 0 {
				t.Errorf("findings = %v, want none", got)
			}
		})
	}
}

func TestLintBadTriggersEveryRule(t *testing.T) {
	m := load(t, "lint-bad")
	seen := map[string]bool{}
	for _, f := range lint.Check(m) {
		seen[f.Rule] = true
	}
	for _, r := range lint.Rules {
		if !seen[r.ID] {
			t.Errorf("lint-bad does not trigger %s %s", r.ID, r.Name)
		}
	}
}

func TestSeedAndDemoStacksHaveNoErrors(t *testing.T) {
	for _, dir := range []string{"seed-stack", "demo"} {
		t.Run(dir, func(t *testing.T) {
			m := load(t, dir, ".env.example")
			for _, f := range lint.Check(m) {
				if f.Severity != lint.Info {
					t.Errorf("%s:%d %s %s: %s", f.File, f.Line, f.Rule, f.Severity, f.Message)
				}
			}
		})
	}
}

func TestOutputNeverShowsSecretValues(t *testing.T) {
	m := load(t, "lint-rules/INF004/bad")
	fs := lint.Check(m)
	var all bytes.Buffer
	base := m.Project.WorkingDir
	for _, write := range []func() error{
		func() error { return report.WriteLintText(&all, base, fs, report.PlainStyles()) },
		func() error { return report.WriteLintJSON(&all, m.Project.Name, base, fs) },
		func() error { return report.WriteLintSARIF(&all, base, "test", fs) },
		func() error { return report.WriteLintGitHub(&all, base, fs) },
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
	}
	for _, secret := range []string{"hunter2-literal", "from-the-host-env", "hunter3-literal"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("output contains %q", secret)
		}
	}
	if !strings.Contains(all.String(), "***") {
		t.Error("the values are not shown as ***")
	}
}

// TestSARIFValidatesAgainstTheSchema checks the SARIF output against the
// OASIS SARIF 2.1.0 JSON schema shipped in testdata.
func TestSARIFValidatesAgainstTheSchema(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	m := load(t, "lint-bad")
	var out bytes.Buffer
	if err := report.WriteLintSARIF(&out, m.Project.WorkingDir, "test", lint.Check(m)); err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("SARIF output does not validate: %v", err)
	}
	// The fields GitHub code scanning reads.
	var log struct {
		Runs []struct {
			Tool struct {
				Driver struct {
					Rules []struct{ ID string } `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range log.Runs[0].Results {
		pl := r.Locations[0].PhysicalLocation
		if pl.Region.StartLine == 0 || filepath.IsAbs(pl.ArtifactLocation.URI) {
			t.Errorf("result %s: location %+v", r.RuleID, pl)
		}
		uris = append(uris, pl.ArtifactLocation.URI)
	}
	sort.Strings(uris)
	if len(log.Runs[0].Tool.Driver.Rules) != len(lint.Rules) || len(uris) == 0 || uris[0] != "compose.yaml" {
		t.Errorf("rules %d, uris %v", len(log.Runs[0].Tool.Driver.Rules), uris)
	}
}

// The script and secret rules apply to pre_start hooks, located inside the
// hook's own entry; what a hook inherits from its service is not reported
// twice.
func TestRulesApplyToHooks(t *testing.T) {
	m := load(t, "lint-hooks")
	var got []string
	for _, f := range lint.Check(m) {
		if strings.HasPrefix(f.Service, "app/pre_start") {
			r, _ := filepath.Rel(m.Project.WorkingDir, f.File)
			got = append(got, fmt.Sprintf("%s %s %s:%d", f.Rule, f.Service, r, f.Line))
		}
	}
	want := []string{
		"INF010 app/pre_start[0] compose.yaml:12",
		"INF004 app/pre_start[1] compose.yaml:15",
		"INF011 app/pre_start[1] compose.yaml:13",
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("hook findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A password inside a URL is a plaintext credential whatever the
// variable's name (#25 item 4), a signing key by the _KEY rule; a URL
// whose password the container's shell fills in is not.
func TestINF004SeesURLPasswordsAndSigningKeys(t *testing.T) {
	yaml := `
services:
  migrate:
    image: tool
    restart: "no"
    environment:
      DATABASE_URL: postgres://app:Lint-Url-Pass@db:5432/app
      JWT_SIGNING_KEY: Lint-Jwt-Key
      FROM_SHELL: postgres://app:$$DB_PASSWORD@db/app
      PLAIN_URL: http://db:5432/app
`
	m := memengine.LoadYAML(t, "p", yaml)
	got := map[string]string{}
	for _, f := range lint.Check(m) {
		if f.Rule == "INF004" {
			got[strings.Fields(f.Message)[2]] = f.Message
		}
	}
	if len(got) != 2 || got["DATABASE_URL"] == "" || got["JWT_SIGNING_KEY"] == "" {
		t.Errorf("INF004 findings %q, want DATABASE_URL and JWT_SIGNING_KEY", got)
	}
	if strings.Contains(got["DATABASE_URL"], "Lint-Url-Pass") {
		t.Errorf("the finding shows the password: %s", got["DATABASE_URL"])
	}
}
