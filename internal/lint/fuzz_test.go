package lint

import (
	"strings"
	"testing"
)

// FuzzScanScript: the script scanner never panics and every problem points
// at a line of the script. Its seed corpus (testdata/fuzz/FuzzScanScript)
// runs with every go test.
func FuzzScanScript(f *testing.F) {
	f.Add("#!/bin/sh\nset -x\nsleep 5\nwhile true; do\n  nc -z db 5432 && break\ndone\n")
	f.Add("PW=$(cat /run/secrets/pw)\necho $PW\n")
	f.Add("for i in 1 2 3; do sleep 1; done")
	f.Add("until pg_isready; do :; done\ndone\ndone")
	f.Fuzz(func(t *testing.T, script string) {
		lines := strings.Count(script, "\n") + 1
		for _, p := range scanScript(script) {
			if p.line < 1 || p.line > lines || p.col < 0 {
				t.Fatalf("problem %+v outside the script's %d lines", p, lines)
			}
			if RuleByIDOK(p.rule) == false {
				t.Fatalf("problem %+v has an unknown rule", p)
			}
		}
	})
}

// RuleByIDOK reports whether a rule exists (for the fuzz test).
func RuleByIDOK(id string) bool {
	_, ok := RuleByID(id)
	return ok
}
