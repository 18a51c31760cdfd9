package up

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/scheduler"
)

var elapsed = regexp.MustCompile(` +\d+\.\ds`)

func TestLiveViewRedrawsOneLinePerServiceInPlace(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, time.Now(), redact.New("s3cr3t-pass"))
	p.live, p.styles = report.NewLive(&b, func() int { return 0 }), report.PlainStyles()
	now := time.Now()
	p.observe(scheduler.Result{Name: "postgres"})
	p.observe(scheduler.Result{Name: "db-init", Init: true})
	p.observe(scheduler.Result{Name: "postgres", Started: now})
	p.observe(scheduler.Result{Name: "postgres", Started: now, Outcome: scheduler.OK, ReadyBy: "probe"})
	p.observe(scheduler.Result{Name: "db-init", Init: true, Started: now})
	p.observe(scheduler.Result{Name: "db-init", Init: true, Started: now}) // unchanged: no redraw
	p.observe(scheduler.Result{Name: "db-init", Init: true, Started: now, Exited: now, ExitCode: 2, Outcome: scheduler.Failed, Detail: "password s3cr3t-pass rejected"})

	p.live.Close()
	got := report.Screen(b.String())
	for i := range got {
		got[i] = elapsed.ReplaceAllString(got[i], "")
	}
	want := []string{
		"postgres                 ready (probe)",
		"db-init                  failed (exit 2): password *** rejected",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(b.String(), "s3cr3t") {
		t.Error("the live view printed a secret")
	}
}

func TestProgressLinesForCI(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, time.Now(), redact.New())
	now := time.Now()
	p.observe(scheduler.Result{Name: "kafka-init", Init: true, Started: now})
	p.observe(scheduler.Result{Name: "kafka-init", Init: true, Started: now, Exited: now, Outcome: scheduler.OK})
	p.observe(scheduler.Result{Name: "app", Outcome: scheduler.Blocked, BlockedBy: "kafka-init"})
	got := regexp.MustCompile(`(?m)^ *\d+\.\ds`).ReplaceAllString(b.String(), "")
	want := "  kafka-init               started\n  kafka-init               exited 0\n  app                      blocked by kafka-init\n"
	if got != want {
		t.Errorf("lines:\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("CI lines contain escape sequences")
	}
}
