package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// VerdictSchemaVersion is the version of the verdict JSON document.
const VerdictSchemaVersion = 1

// Requirement IDs from the specs that a verdict's checks trace to.
const (
	ReqCompose    = "VAL-AUTO-001"     // the project loads as docker compose config -q would
	ReqInitExit   = "VAL-AUTO-002"     // every init exited 0
	ReqNFR60      = "NFR-INIT-60S"     // init completes < 60 s after backend readiness (seed 002 §8)
	ReqSecrets    = "SEC-SPC-AUTO-001" // secrets never in plaintext, never echoed
	ReqIdempotent = "VAL-SPC-101"      // a second run exits 0 (REQ-SPC-AUTO-001, REQ-AUTO-01)
	ReqBlocking   = "VAL-SPC-102"      // inits block until targets are ready (REQ-AUTO-02)
	ReqAudit      = "VAL-SPC-103"      // provisioned resources exist
	ReqFailFast   = "REQ-SPC-AUTO-002" // fail fast with a non-zero exit
	ReqReadiness  = "REQ-AUTO-02"      // readiness blocking
	ReqLoki       = "SPEC-INFRA-03-9"  // automation results are searchable in Loki (SPEC-INFRA-03 §9)
)

// Status of a check.
type Status string

// Check statuses.
const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skipped"
)

// Verdict is the one answer of a run: per service what happened, and the
// spec checks it proves or disproves.
type Verdict struct {
	SchemaVersion int              `json:"schemaVersion"`
	Command       string           `json:"command"`
	Project       string           `json:"project"`
	OK            bool             `json:"ok"`
	Interrupted   bool             `json:"interrupted,omitempty"`
	WallSeconds   float64          `json:"wallSeconds"`
	Services      []ServiceVerdict `json:"services"`
	Checks        []Check          `json:"checks"`
	LogsDir       string           `json:"logsDir,omitempty"`
	// Notes say what a reader of the verdict should know that is not a
	// failure (a backend ready by probe whose Docker healthcheck has not
	// passed yet).
	Notes []string `json:"notes,omitempty"`
	// ScaledDown are the containers removed because their service now has
	// fewer replicas (highest numbers first, as docker compose does).
	ScaledDown []string `json:"scaledDown,omitempty"`
	// Endpoint is the engine that ran the phase, and what chose it.
	Endpoint string `json:"endpoint,omitempty"`
	// Loki says what reached Loki (--loki-url), or why nothing did.
	Loki *LokiPush `json:"loki,omitempty"`
}

// LokiPush is the outcome of pushing a run's results to Loki.
type LokiPush struct {
	URL      string `json:"url"`
	Lines    int    `json:"lines"`
	Error    string `json:"error,omitempty"`
	Required bool   `json:"required,omitempty"`
}

// ServiceVerdict is what happened to one service.
type ServiceVerdict struct {
	Name    string `json:"name"`
	Role    string `json:"role"`
	Outcome string `json:"outcome"`
	// ExitCode is set for containers that exited.
	ExitCode  *int   `json:"exitCode,omitempty"`
	BlockedBy string `json:"blockedBy,omitempty"`
	Detail    string `json:"detail,omitempty"`
	Container string `json:"container,omitempty"`
	// ContainerID, StartedAt and FinishedAt are the engine's (zero when
	// it did not happen).
	ContainerID string    `json:"containerId,omitempty"`
	StartedAt   time.Time `json:"startedAt,omitzero"`
	FinishedAt  time.Time `json:"finishedAt,omitzero"`
	Reused      bool      `json:"reused,omitempty"`
	// RoleObserved is true when the role is "init" because the service
	// ran as a one-shot (its restart policy let it stay exited and it
	// exited), not because the file says so.
	RoleObserved bool `json:"roleObserved,omitempty"`
	// Retries counts the restarts its on-failure policy made.
	Retries int `json:"retries,omitempty"`
	// WaitSeconds is the time from the run's start to all of its
	// dependencies being satisfied.
	WaitSeconds float64 `json:"waitSeconds"`
	// RunSeconds is the time from its start to its exit (inits) or to
	// being ready (backends).
	RunSeconds float64 `json:"runSeconds"`
	// AfterReadySeconds is, for an init, the time from its targets being
	// ready to its exit (the < 60 s NFR).
	AfterReadySeconds float64  `json:"afterReadySeconds,omitempty"`
	ReadyBy           string   `json:"readyBy,omitempty"`
	Slow              bool     `json:"slow,omitempty"`
	LogFile           string   `json:"logFile,omitempty"`
	LogTail           []string `json:"logTail,omitempty"`
	Log               string   `json:"-"`
}

// Check is one spec check with its result per service.
type Check struct {
	ID      string        `json:"id"`
	Title   string        `json:"title"`
	Status  Status        `json:"status"`
	Reason  string        `json:"reason,omitempty"`
	Results []CheckResult `json:"results,omitempty"`
}

// CheckResult is a check's result for one service.
type CheckResult struct {
	Service string `json:"service"`
	Status  Status `json:"status"`
	Message string `json:"message,omitempty"`
}

// Failed reports whether any check failed or any service did not end ok.
func (v Verdict) Failed() bool { return !v.OK }

// Finish computes OK from the checks and services, and sorts.
func (v *Verdict) Finish() {
	v.SchemaVersion = VerdictSchemaVersion
	v.OK = !v.Interrupted
	for _, s := range v.Services {
		if s.Outcome != "ok" {
			v.OK = false
		}
	}
	for i := range v.Checks {
		c := &v.Checks[i]
		sort.Slice(c.Results, func(a, b int) bool { return c.Results[a].Service < c.Results[b].Service })
		if c.Status == "" {
			c.Status = Pass
			skipped := len(c.Results) > 0
			for _, r := range c.Results {
				if r.Status == Fail {
					c.Status = Fail
				}
				skipped = skipped && r.Status == Skip
			}
			if skipped {
				// Nothing was tested: a check that did not run never
				// passes.
				c.Status = Skip
				if c.Reason == "" {
					c.Reason = "nothing could be tested (see each result)"
				}
			}
		}
		if c.Status == Fail {
			v.OK = false
		}
	}
	if v.Services == nil {
		v.Services = []ServiceVerdict{}
	}
	if v.Checks == nil {
		v.Checks = []Check{}
	}
}

// WriteVerdictJSON writes the verdict as indented JSON.
func WriteVerdictJSON(w io.Writer, v Verdict) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteVerdictText writes the verdict for people and CI logs.
func WriteVerdictText(w io.Writer, v Verdict, st Styles) error {
	bw := &errWriter{w: w}
	status := st.OK.Render("OK")
	if !v.OK {
		status = st.Fail.Render("FAILED")
	}
	if v.Interrupted {
		status = st.Fail.Render("INTERRUPTED")
	}
	bw.printf("%s %s: %s (%.1fs)\n", st.Title.Render("infractl "+v.Command), st.Name.Render(v.Project), status, v.WallSeconds)
	if len(v.Services) > 0 && v.Command == "verify" {
		width := len("SERVICE")
		for _, s := range v.Services {
			width = max(width, len(s.Name))
		}
		bw.printf("\n  %s  %-7s  %s\n", pad("SERVICE", width), "ROLE", "STATE")
		for _, s := range v.Services {
			style := st.OK
			if s.Outcome != "ok" {
				style = st.Fail
			}
			bw.printf("  %s  %-7s  %s\n", pad(s.Name, width), s.Role, style.Render(s.Outcome))
		}
	} else if len(v.Services) > 0 {
		width := len("SERVICE")
		for _, s := range v.Services {
			width = max(width, len(s.Name))
		}
		bw.printf("\n  %s  %-7s  %-28s  %7s  %7s  %s\n", pad("SERVICE", width), "ROLE", "OUTCOME", "WAITED", "RAN", "READY BY")
		observed := false
		for _, s := range v.Services {
			style := st.OK
			if s.Outcome != "ok" {
				style = st.Fail
			}
			outcome := s.Outcome
			if s.Reused {
				outcome += " (kept)"
			}
			if s.Retries == 1 {
				outcome += " (1 retry)"
			} else if s.Retries > 1 {
				outcome += fmt.Sprintf(" (%d retries)", s.Retries)
			}
			if s.Slow {
				outcome += " SLOW"
			}
			role := s.Role
			if s.RoleObserved {
				role += "*"
				observed = true
			}
			bw.printf("  %s  %-7s  %s  %7s  %7s  %s\n", pad(s.Name, width), role, style.Render(pad(outcome, 28)),
				secs(s.WaitSeconds), secs(s.RunSeconds), s.ReadyBy)
		}
		if observed {
			bw.printf("  * role observed: not declared an init, it ran as a one-shot (its restart policy let it stay exited, and it exited)\n")
		}
	}
	if len(v.Checks) > 0 {
		bw.printf("\n%s\n", st.Title.Render("checks"))
		for _, c := range v.Checks {
			style := st.OK
			switch c.Status {
			case Fail:
				style = st.Fail
			case Skip:
				style = st.Warn
			}
			bw.printf("  %-16s %s  %s", c.ID, style.Render(pad(string(c.Status), 7)), c.Title)
			if c.Reason != "" {
				bw.printf(" (%s)", c.Reason)
			}
			bw.printf("\n")
			for _, r := range c.Results {
				if r.Status == Pass && c.Status == Pass {
					continue
				}
				bw.printf("      %-7s %s: %s\n", r.Status, r.Service, r.Message)
			}
		}
	}
	for _, s := range v.Services {
		if s.Outcome == "ok" || len(s.LogTail) == 0 && s.Detail == "" {
			continue
		}
		bw.printf("\n%s %s", st.Fail.Render(s.Name), s.Outcome)
		if s.Detail != "" && !strings.Contains(s.Outcome, s.Detail) {
			bw.printf(": %s", s.Detail)
		}
		bw.printf("\n")
		if len(s.LogTail) > 0 {
			where := ""
			if s.LogFile != "" {
				where = " of " + s.LogFile
			}
			bw.printf("  last %d lines%s:\n", len(s.LogTail), where)
			for _, l := range s.LogTail {
				bw.printf("  | %s\n", l)
			}
		}
	}
	for _, n := range v.Notes {
		bw.printf("\nnote: %s\n", n)
	}
	if len(v.ScaledDown) > 0 {
		bw.printf("\nscaled down: removed %s\n", strings.Join(v.ScaledDown, ", "))
	}
	if v.LogsDir != "" {
		bw.printf("\nlogs: %s\n", v.LogsDir)
	}
	if v.Endpoint != "" {
		bw.printf("engine: %s\n", v.Endpoint)
	}
	if l := v.Loki; l != nil {
		switch {
		case l.Error == "":
			bw.printf("loki: %d lines pushed to %s\n", l.Lines, l.URL)
		case l.Required:
			bw.printf("%s\n", st.Fail.Render(fmt.Sprintf("loki: push to %s failed (--loki-required): %s", l.URL, l.Error)))
		default:
			bw.printf("%s\n", st.Warn.Render(fmt.Sprintf("WARNING loki: push to %s failed, the results are not in Loki: %s", l.URL, l.Error)))
		}
	}
	return bw.err
}

func secs(s float64) string {
	if s <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fs", s)
}

// JUnit XML, as GitLab and GitHub test reporters read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the verdict as JUnit XML: one testsuite per check ID
// (plus one for the services' outcomes), one testcase per service.
func WriteJUnit(w io.Writer, v Verdict) error {
	root := junitSuites{Name: "infractl " + v.Command + " " + v.Project}
	byName := map[string]ServiceVerdict{}
	svc := junitSuite{Name: "services"}
	for _, s := range v.Services {
		byName[s.Name] = s
		// The log is embedded once, here (bounded); the checks' cases
		// point at it.
		c := junitCase{Name: s.Name, Classname: v.Project + "." + s.Role, Time: fmt.Sprintf("%.3f", s.RunSeconds), SystemOut: embedLog(s)}
		if s.Outcome != "ok" {
			c.Failure = &junitFailure{Message: s.Outcome, Text: failureText(s)}
			svc.Failures++
		}
		svc.Cases = append(svc.Cases, c)
		svc.Tests++
	}
	if len(svc.Cases) > 0 {
		root.Suites = append(root.Suites, svc)
	}
	for _, ch := range v.Checks {
		suite := junitSuite{Name: ch.ID + " " + ch.Title}
		if len(ch.Results) == 0 {
			c := junitCase{Name: ch.ID, Classname: v.Project + "." + ch.ID, Time: "0"}
			switch ch.Status {
			case Fail:
				c.Failure = &junitFailure{Message: ch.Reason, Text: ch.Reason}
				suite.Failures++
			case Skip:
				c.Skipped = &junitSkipped{Message: ch.Reason}
				suite.Skipped++
			}
			suite.Cases, suite.Tests = append(suite.Cases, c), 1
		}
		for _, r := range ch.Results {
			c := junitCase{Name: r.Service, Classname: v.Project + "." + ch.ID, Time: "0"}
			switch r.Status {
			case Fail:
				text := r.Message
				if s, ok := byName[r.Service]; ok && len(s.LogTail) > 0 {
					text += "\n\n" + strings.Join(s.LogTail, "\n")
				}
				c.Failure = &junitFailure{Message: r.Message, Text: text}
				suite.Failures++
			case Skip:
				c.Skipped = &junitSkipped{Message: r.Message}
				suite.Skipped++
			}
			if s, ok := byName[r.Service]; ok && s.Log != "" {
				c.SystemOut = "its log: the case " + s.Name + " of the suite services"
			}
			suite.Cases = append(suite.Cases, c)
			suite.Tests++
		}
		root.Suites = append(root.Suites, suite)
	}
	for _, s := range root.Suites {
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Skipped += s.Skipped
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func failureText(s ServiceVerdict) string {
	text := s.Outcome
	if s.Detail != "" {
		text += ": " + s.Detail
	}
	if len(s.LogTail) > 0 {
		text += "\n\n" + strings.Join(s.LogTail, "\n")
	}
	return text
}

// Tail returns the last n lines of s (20 when n <= 0), none for an empty s.
func Tail(s string, n int) []string {
	if n <= 0 {
		n = 20
	}
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = cutLine(l)
	}
	return lines
}

// MaxLine is the most of one log line a verdict shows (the log file keeps
// it whole).
const MaxLine = 512

// cutLine keeps the start of a very long line and says how long it was.
func cutLine(l string) string {
	if len(l) <= MaxLine {
		return l
	}
	cut := MaxLine
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… [line cut: %d bytes]", l[:cut], len(l))
}

// MaxEmbeddedLog is the most of a log JUnit embeds (its end; the log file
// keeps it whole).
const MaxEmbeddedLog = 256 << 10

// embedLog is a log as JUnit embeds it: its last MaxEmbeddedLog bytes.
func embedLog(s ServiceVerdict) string {
	log := s.Log
	if len(log) <= MaxEmbeddedLog {
		return log
	}
	start := len(log) - MaxEmbeddedLog
	for start < len(log) && !utf8.RuneStart(log[start]) {
		start++
	}
	where := ""
	if s.LogFile != "" {
		where = "; the whole log is in " + s.LogFile
	}
	return fmt.Sprintf("[%d bytes before this cut%s]\n%s", start, where, log[start:])
}
