package lint

import (
	"regexp"
	"strings"
)

// problem is a finding inside a shell script (1-based line).
type problem struct {
	rule string
	line int
	col  int
	msg  string
}

var (
	setX       = regexp.MustCompile(`(^|[;&|]\s*)set\s+-[a-wyzA-Z]*x`)
	loopStart  = regexp.MustCompile(`(^|[;&|]\s*)(until|while)\s`)
	forStart   = regexp.MustCompile(`(^|[;&|]\s*)for\s`)
	doneWord   = regexp.MustCompile(`(^|[;&|]\s*)done\b`)
	sleepCmd   = regexp.MustCompile(`(^|[;&|]\s*)sleep\s+\S+`)
	bound      = regexp.MustCompile(`\b(exit|return)\b|\btimeout\b`)
	counter    = regexp.MustCompile(`-(ge|gt|le|lt|eq)\b|\$\(\(|\btimeout\b|\bseq\b`)
	assignment = regexp.MustCompile(`^\s*(?:export\s+|local\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)
	printCmd   = regexp.MustCompile(`(^|[;&]\s*|then\s+|do\s+|else\s+)(echo|printf|cat)\s`)
)

// scanScript finds the script-level problems: set -x and printed secrets
// (INF011), fixed sleeps outside a wait loop (INF010) and wait loops with
// no bound (INF012).
func scanScript(text string) []problem {
	lines := strings.Split(text, "\n")
	var out []problem
	secretVars := map[string]bool{}
	type loop struct {
		start   int
		text    strings.Builder
		isWhile bool
	}
	var stack []*loop
	for i, raw := range lines {
		n := i + 1
		line := stripComment(raw)
		if strings.TrimSpace(line) == "" {
			continue
		}
		if m := setX.FindStringIndex(line); m != nil {
			out = append(out, problem{"INF011", n, m[0] + 1, "set -x prints every expanded command, secrets included"})
		}
		// Variables read from secrets.
		if m := assignment.FindStringSubmatch(line); m != nil && readsSecret(m[2]) {
			secretVars[m[1]] = true
		}
		// Printing a secret.
		if m := printCmd.FindStringIndex(line); m != nil {
			stmt := line[m[0]:]
			if p := printsSecret(stmt, secretVars); p != "" {
				out = append(out, problem{"INF011", n, m[0] + 1, p})
			}
		}
		// Loops.
		for range loopStart.FindAllStringIndex(line, -1) {
			stack = append(stack, &loop{start: n, isWhile: true})
		}
		for range forStart.FindAllStringIndex(line, -1) {
			stack = append(stack, &loop{start: n})
		}
		for _, l := range stack {
			l.text.WriteString(line)
			l.text.WriteString("\n")
		}
		if m := sleepCmd.FindStringIndex(line); m != nil && len(stack) == 0 {
			out = append(out, problem{"INF010", n, m[0] + 1, "a fixed sleep outside a readiness loop"})
		}
		for range doneWord.FindAllStringIndex(line, -1) {
			if len(stack) == 0 {
				break
			}
			l := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			body := l.text.String()
			if l.isWhile && !(bound.MatchString(body) && counter.MatchString(body)) {
				out = append(out, problem{"INF012", l.start, 1, "a wait loop with no retry bound or deadline: it can never fail fast"})
			}
		}
	}
	return out
}

func stripComment(line string) string {
	t := strings.TrimSpace(line)
	if strings.HasPrefix(t, "#") {
		return ""
	}
	if i := strings.Index(line, " #"); i >= 0 && !strings.Contains(line[:i], "'") && !strings.Contains(line[:i], "\"") {
		return line[:i]
	}
	return line
}

var fileVar = regexp.MustCompile(`\$\{?[A-Za-z0-9_]*_FILE\b`)

func readsSecret(expr string) bool {
	return strings.Contains(expr, "/run/secrets") || fileVar.MatchString(expr) && strings.Contains(expr, "cat")
}

var toFile = regexp.MustCompile(`>\s*[^&\s]`)

// printsSecret reports what a statement prints that is a secret.
func printsSecret(stmt string, secretVars map[string]bool) string {
	// Only what reaches the output: not piped into another command, not
	// redirected to a file.
	end := len(stmt)
	for _, sep := range []string{" | ", "|", ";", "&&"} {
		if i := strings.Index(stmt, sep); i >= 0 && i < end {
			if sep == " | " || sep == "|" {
				return ""
			}
			end = i
		}
	}
	stmt = stmt[:end]
	if toFile.MatchString(strings.ReplaceAll(stmt, ">&2", "")) {
		return ""
	}
	if strings.Contains(stmt, "/run/secrets") {
		return "prints a secret read from /run/secrets"
	}
	if strings.HasPrefix(strings.TrimLeft(stmt, ";& "), "cat") {
		return ""
	}
	for v := range secretVars {
		if regexp.MustCompile(`\$\{?` + v + `\b`).MatchString(stmt) {
			return "prints $" + v + ", which holds a secret"
		}
	}
	return ""
}
