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

// screen replays the live view's output on a tiny terminal model (cursor
// up, clear line, newline) and returns the lines left on screen, elapsed
// times removed.
func screen(out string) []string {
	var lines []string
	row := 0
	for len(out) > 0 {
		switch {
		case strings.HasPrefix(out, "\x1b["):
			end := strings.IndexAny(out, "AK")
			if out[end] == 'A' {
				n := 0
				for _, c := range out[2:end] {
					n = n*10 + int(c-'0')
				}
				row -= n
			} else if row < len(lines) {
				lines[row] = ""
			}
			out = out[end+1:]
		default:
			nl := strings.IndexByte(out, '\n')
			for len(lines) <= row {
				lines = append(lines, "")
			}
			lines[row] += out[:nl]
			row++
			out = out[nl+1:]
		}
	}
	for i := range lines {
		lines[i] = elapsed.ReplaceAllString(lines[i], "")
	}
	return lines
}

func TestLiveViewRedrawsOneLinePerServiceInPlace(t *testing.T) {
	var b strings.Builder
	p := newProgress(&b, time.Now(), redact.New("s3cr3t-pass"))
	p.live, p.styles = true, report.PlainStyles()
	now := time.Now()
	p.observe(scheduler.Result{Name: "postgres"})
	p.observe(scheduler.Result{Name: "db-init", Init: true})
	p.observe(scheduler.Result{Name: "postgres", Started: now})
	p.observe(scheduler.Result{Name: "postgres", Started: now, Outcome: scheduler.OK, ReadyBy: "probe"})
	p.observe(scheduler.Result{Name: "db-init", Init: true, Started: now})
	p.observe(scheduler.Result{Name: "db-init", Init: true, Started: now}) // unchanged: no redraw
	p.observe(scheduler.Result{Name: "db-init", Init: true, Started: now, Exited: now, ExitCode: 2, Outcome: scheduler.Failed, Detail: "password s3cr3t-pass rejected"})

	got := screen(b.String())
	want := []string{
		"postgres                 ready (probe)",
		"db-init                  failed (exit 2): password *** rejected",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := strings.Count(b.String(), "\x1b[2A"); n != 4 {
		t.Errorf("redrew %d times in place, want 4 (one per change after both lines exist)", n)
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
