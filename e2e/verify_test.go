//go:build e2e

package e2e

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/infractl/infractl/internal/report"
)

func check(t *testing.T, v report.Verdict, id string) report.Check {
	t.Helper()
	for _, c := range v.Checks {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("check %s not in the verdict", id)
	return report.Check{}
}

func checkResult(t *testing.T, c report.Check, service string) report.CheckResult {
	t.Helper()
	for _, r := range c.Results {
		if r.Service == service {
			return r
		}
	}
	t.Fatalf("check %s has no result for %s: %+v", c.ID, service, c.Results)
	return report.CheckResult{}
}

// TestE2EVerifyAfterInfractlUpAndAfterCompose: verify passes on the demo
// stack whoever started it: infractl up, or docker compose up -d (v2).
func TestE2EVerifyAfterInfractlUpAndAfterCompose(t *testing.T) {
	demo := fixture("demo")
	flags := project(t, "demo", "--env-file", filepath.Join(demo, ".env.example"))
	if r := infra(t, args("up", flags)...); r.code != 0 {
		t.Fatalf("up: exit %d\n%s", r.code, r.stdout)
	}
	r := infra(t, args("verify", flags, "--rerun", "--audit", "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("verify after infractl up: exit %d\n%s", r.code, r.stdout)
	}
	v := verdict(t, r.stdout)
	for _, id := range []string{report.ReqCompose, report.ReqInitExit, report.ReqNFR60, report.ReqSecrets, report.ReqIdempotent, report.ReqAudit} {
		if c := check(t, v, id); c.Status != report.Pass {
			t.Errorf("%s: %s %+v", id, c.Status, c.Results)
		}
	}
	// Every declared resource is reported: 5 topics, 3 buckets, 2 roles,
	// 3 databases, 1 cluster.
	if n := len(check(t, v, report.ReqAudit).Results); n != 14 {
		t.Errorf("the audit reports %d resources, want 14: %+v", n, check(t, v, report.ReqAudit).Results)
	}
	if c := check(t, v, report.ReqBlocking); c.Status != report.Skip || c.Reason == "" {
		t.Errorf("VAL-SPC-102 must be skipped with a reason without --blocking: %+v", c)
	}

	down(t, flags)
	if _, err := dockerCompose(t, append(flags, "up", "-d")...); err != nil {
		t.Fatal(err)
	}
	// compose up -d returns before the inits finish; wait for them.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		running := 0
		for svc, id := range containerIDs(t, projectName(flags)) {
			if !strings.Contains(svc, "init") && svc != "minio-create-buckets" {
				continue
			}
			insp, err := docker.ContainerInspect(t.Context(), id, client.ContainerInspectOptions{})
			if err == nil && insp.Container.State.Status != "exited" {
				running++
			}
		}
		if running == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	r = infra(t, args("verify", flags, "--format", "json")...)
	if r.code != 0 {
		t.Fatalf("verify after docker compose up -d: exit %d\n%s", r.code, r.stdout)
	}
}

// TestE2EVerifyCatchesEachFailure: each failure is caught and named.
func TestE2EVerifyCatchesEachFailure(t *testing.T) {
	t.Run("an init that exited 1", func(t *testing.T) {
		flags := project(t, "e2e-fail-init")
		infra(t, args("up", flags)...)
		r := infra(t, args("verify", flags, "--format", "json")...)
		if r.code != 1 {
			t.Fatalf("exit %d", r.code)
		}
		v := verdict(t, r.stdout)
		if got := checkResult(t, check(t, v, report.ReqInitExit), "bad-init"); got.Status != report.Fail || got.Message != "failed (exit 3)" {
			t.Errorf("bad-init: %+v", got)
		}
		if got := checkResult(t, check(t, v, report.ReqInitExit), "after-bad"); got.Message != "never ran (created, never started)" {
			t.Errorf("after-bad: %+v", got)
		}
		if s := service(t, v, "bad-init"); !strings.Contains(strings.Join(s.LogTail, "\n"), "permission denied") {
			t.Errorf("no log tail: %+v", s.LogTail)
		}
	})
	t.Run("an init removed", func(t *testing.T) {
		flags := project(t, "chain")
		if r := infra(t, args("up", flags)...); r.code != 0 {
			t.Fatal("up failed")
		}
		if _, err := docker.ContainerRemove(t.Context(), containerIDs(t, projectName(flags))["init-2"], client.ContainerRemoveOptions{Force: true}); err != nil {
			t.Fatal(err)
		}
		r := infra(t, args("verify", flags, "--format", "json")...)
		v := verdict(t, r.stdout)
		if got := checkResult(t, check(t, v, report.ReqInitExit), "init-2"); r.code != 1 || got.Message != "never ran (no container)" {
			t.Errorf("exit %d, init-2: %+v", r.code, got)
		}
	})
	t.Run("an init slower than the limit", func(t *testing.T) {
		flags := project(t, "chain")
		if r := infra(t, args("up", flags)...); r.code != 0 {
			t.Fatal("up failed")
		}
		r := infra(t, args("verify", flags, "--max-init-seconds", "0.001", "--format", "json")...)
		v := verdict(t, r.stdout)
		if c := check(t, v, report.ReqNFR60); r.code != 1 || c.Status != report.Fail {
			t.Errorf("exit %d, NFR check %+v", r.code, c)
		}
	})
	t.Run("an init that prints its secret", func(t *testing.T) {
		flags := project(t, "e2e-secret-echo")
		infra(t, args("up", flags)...)
		r := infra(t, args("verify", flags, "--format", "json")...)
		v := verdict(t, r.stdout)
		got := checkResult(t, check(t, v, report.ReqSecrets), "leaky-init")
		if r.code != 1 || got.Status != report.Fail || !strings.Contains(got.Message, "password is ***") {
			t.Errorf("exit %d, leak check %+v", r.code, got)
		}
		if strings.Contains(r.stdout+r.stderr, "e2e-very-secret-value-1234") {
			t.Error("verify printed the secret")
		}
	})
	t.Run("an init that is not idempotent", func(t *testing.T) {
		flags := project(t, "e2e-not-idempotent")
		if r := infra(t, args("up", flags)...); r.code != 0 {
			t.Fatalf("up: exit %d", r.code)
		}
		r := infra(t, args("verify", flags, "--rerun", "--format", "json")...)
		v := verdict(t, r.stdout)
		c := check(t, v, report.ReqIdempotent)
		if got := checkResult(t, c, "role-init"); r.code != 1 || got.Status != report.Fail || !strings.Contains(got.Message, "not idempotent") {
			t.Errorf("exit %d, role-init: %+v", r.code, got)
		}
		if got := checkResult(t, c, "ok-init"); got.Status != report.Pass {
			t.Errorf("ok-init: %+v", got)
		}
	})
}

// TestE2EVerifyBlocking: --blocking tells an init that blocks and fails fast
// from one that does not wait and one that waits forever, and leaves the
// stack as it found it (same containers, running, healthy).
func TestE2EVerifyBlocking(t *testing.T) {
	flags := project(t, "e2e-blocking")
	if r := infra(t, args("up", flags)...); r.code != 0 {
		t.Fatalf("up: exit %d", r.code)
	}
	before := containerIDs(t, projectName(flags))
	junit := filepath.Join(t.TempDir(), "verify.xml")
	r := infra(t, args("verify", flags, "--blocking", "--grace", "2s", "--fail-fast-within", "8s", "--format", "json", "--junit", junit)...)
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stdout)
	}
	v := verdict(t, r.stdout)
	c := check(t, v, report.ReqBlocking)
	for _, want := range []struct {
		service string
		status  report.Status
		text    string
	}{
		{"good-init", report.Pass, "blocked, then exited 0"},
		{"impatient-init", report.Fail, "does not wait"},
		{"hanging-init", report.Fail, "never fails fast"},
	} {
		got := checkResult(t, c, want.service)
		if got.Status != want.status || !strings.Contains(got.Message, want.text) {
			t.Errorf("%s: %+v, want %s containing %q", want.service, got, want.status, want.text)
		}
	}
	// The stack as it was found.
	after := containerIDs(t, projectName(flags))
	if after["db"] != before["db"] {
		t.Errorf("db was replaced")
	}
	insp, err := docker.ContainerInspect(t.Context(), after["db"], client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !insp.Container.State.Running || insp.Container.State.Health == nil || insp.Container.State.Health.Status != "healthy" {
		t.Errorf("db after --blocking: running=%v health=%+v", insp.Container.State.Running, insp.Container.State.Health)
	}
	if len(after) != len(before) {
		t.Errorf("containers before %v, after %v: one-off containers left behind", before, after)
	}

	// The JUnit file agrees with the verdict.
	raw, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Failures int    `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(raw, &suites); err != nil {
		t.Fatal(err)
	}
	wantFail, wantTests, wantSkip := 0, 0, 0
	for _, s := range v.Services {
		wantTests++
		if s.Outcome != "ok" {
			wantFail++
		}
	}
	for _, ch := range v.Checks {
		if len(ch.Results) == 0 {
			wantTests++
			if ch.Status == report.Fail {
				wantFail++
			}
			if ch.Status == report.Skip {
				wantSkip++
			}
		}
		for _, r := range ch.Results {
			wantTests++
			switch r.Status {
			case report.Fail:
				wantFail++
			case report.Skip:
				wantSkip++
			}
		}
	}
	if suites.Tests != wantTests || suites.Failures != wantFail || suites.Skipped != wantSkip {
		t.Errorf("JUnit tests/failures/skipped = %d/%d/%d, verdict says %d/%d/%d", suites.Tests, suites.Failures, suites.Skipped, wantTests, wantFail, wantSkip)
	}
	found := false
	for _, s := range suites.Suites {
		if strings.HasPrefix(s.Name, report.ReqBlocking) {
			found = true
			if s.Failures != 2 {
				t.Errorf("%s suite has %d failures, want 2", s.Name, s.Failures)
			}
		}
	}
	if !found {
		t.Errorf("no %s testsuite", report.ReqBlocking)
	}
}
