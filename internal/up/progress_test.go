package up

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/infractl/infractl/internal/redact"
	"github.com/infractl/infractl/internal/report"
	"github.com/infractl/infractl/internal/scheduler"
)

var elapsed = regexp.MustCompile(` +\d+\.\ds`)

func TestLiveViewRedrawsOneLinePerServiceInPlace(t *testing.T) {
	var b strings.Builder
	clock := clockwork.NewFakeClock()
	p := newProgress(&b, clock, clock.Now(), redact.New("s3cr3t-pass"))
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
	clock := clockwork.NewFakeClock()
	p := newProgress(&b, clock, clock.Now(), redact.New())
	now := clock.Now()
	p.observe(scheduler.Result{Name: "kafka-init", Init: true, Started: now})
	clock.Advance(1500 * time.Millisecond)
	p.observe(scheduler.Result{Name: "kafka-init", Init: true, Started: now, Exited: now, Outcome: scheduler.OK})
	p.observe(scheduler.Result{Name: "migrate", Init: true, Started: now, Retries: 1, Restarting: true, Detail: "exited 1; restart: on-failure runs it again (retry 1)"})
	p.observe(scheduler.Result{Name: "migrate", Init: true, Started: now, Retries: 1})
	p.observe(scheduler.Result{Name: "migrate", Init: true, Started: now, Exited: now, Retries: 1, Outcome: scheduler.OK})
	p.observe(scheduler.Result{Name: "schema", Started: now, Exited: now, Observed: true, Outcome: scheduler.OK})
	p.observe(scheduler.Result{Name: "app", Outcome: scheduler.Blocked, BlockedBy: "kafka-init"})
	got := b.String()
	want := "" +
		"   0.0s  kafka-init               started\n" +
		"   1.5s  kafka-init               exited 0\n" +
		"   1.5s  migrate                  exited 1; restart: on-failure runs it again (retry 1)\n" +
		"   1.5s  migrate                  started\n" +
		"   1.5s  migrate                  exited 0 after 1 retry\n" +
		"   1.5s  schema                   exited 0 (a one-shot, observed)\n" +
		"   1.5s  app                      blocked by kafka-init\n"
	if got != want {
		t.Errorf("lines:\n%q\nwant\n%q", got, want)
	}
	if strings.Contains(b.String(), "\x1b[") {
		t.Error("CI lines contain escape sequences")
	}
}
