package report

import (
	"strings"
	"testing"
)

// A 10 MB line with no newline is shown cut, saying how long it was.
func TestTailCutsAHugeLine(t *testing.T) {
	huge := strings.Repeat("x", 10<<20)
	got := Tail("first\n"+huge, 5)
	if len(got) != 2 || got[0] != "first" || len(got[1]) > MaxLine+64 || !strings.HasSuffix(got[1], "[line cut: 10485760 bytes]") {
		t.Errorf("tail: %d lines, last %d bytes ending %q", len(got), len(got[len(got)-1]), got[len(got)-1][max(0, len(got[len(got)-1])-40):])
	}
}

// JUnit embeds each log once and bounded, whatever the number of checks
// that name the service.
func TestJUnitEmbedsALogOnceAndBounded(t *testing.T) {
	log := strings.Repeat("line of output\n", 2<<20/15) // ~2 MB
	code := 1
	v := Verdict{Command: "up", Project: "p", Services: []ServiceVerdict{{Name: "init", Role: "init", Outcome: "failed (exit 1)", ExitCode: &code, Log: log, LogTail: Tail(log, 5), LogFile: "/logs/init.log"}},
		Checks: []Check{
			{ID: ReqInitExit, Status: Fail, Results: []CheckResult{{Service: "init", Status: Fail, Message: "failed (exit 1)"}}},
			{ID: ReqNFR60, Status: Fail, Results: []CheckResult{{Service: "init", Status: Fail, Message: "slow"}}},
		}}
	var b strings.Builder
	if err := WriteJUnit(&b, v); err != nil {
		t.Fatal(err)
	}
	if b.Len() > MaxEmbeddedLog+128<<10 {
		t.Errorf("JUnit is %d bytes for a %d-byte log", b.Len(), len(log))
	}
	if n := strings.Count(b.String(), "line of output"); n > MaxEmbeddedLog/15+50 {
		t.Errorf("the log appears %d times over", n)
	}
	if !strings.Contains(b.String(), "the whole log is in /logs/init.log") {
		t.Error("the cut log does not point at the file")
	}
}
