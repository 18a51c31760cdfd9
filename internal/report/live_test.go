package report_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"charm.land/lipgloss/v2"

	"github.com/infractl/infractl/internal/report"
)

func TestRedrawCutsLinesToTheTerminalWidthKeepingStyles(t *testing.T) {
	long := "kafka-init               failed (exit 1): " + strings.Repeat("x", 200)
	red := lipgloss.NewStyle().Foreground(lipgloss.Color("9")).Render(long)
	out := report.Redraw([]string{"postgres                 ready", red}, 0, 40)
	got := report.Screen(out)
	if len(got) != 2 || got[0] != "postgres                 ready" {
		t.Fatalf("screen %q", got)
	}
	plain := stripANSI(got[1])
	if n := utf8.RuneCountInString(plain); n != 39 || !strings.HasSuffix(plain, "…") {
		t.Errorf("cut line %q (%d columns), want 39 ending in …", plain, n)
	}
	if !strings.HasPrefix(got[1], "\x1b[") {
		t.Errorf("the style was lost: %q", got[1])
	}
	// Redrawn over the two lines in place: the screen still has two.
	again := report.Screen(out + report.Redraw([]string{"postgres                 ready", "kafka-init               exited 0"}, 2, 40))
	if len(again) != 2 || again[1] != "kafka-init               exited 0" {
		t.Errorf("after a redraw in place: %q", again)
	}
}

func TestLiveDrawsTheLastStateOnClose(t *testing.T) {
	var b strings.Builder
	l := report.NewLive(&b, func() int { return 80 })
	for i := range 100 {
		l.Set("a", "a "+strings.Repeat(".", i%7))
		l.Set("b", "b")
	}
	l.Set("a", "a done")
	l.Close()
	l.Close() // twice is fine
	if got := report.Screen(b.String()); strings.Join(got, "|") != "a done|b" {
		t.Errorf("screen %q, want [a done b]", got)
	}
}

func stripANSI(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b {
			for i < len(s) && s[i] != 'm' {
				i++
			}
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
