// Package redact replaces secret values with *** in everything infractl
// prints or writes (SEC-SPC-AUTO-001, seed 000 §9: never echo secrets).
package redact

import (
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Mask is what a secret value is replaced with.
const Mask = "***"

// minLen avoids masking trivially short values ("1", "no") everywhere.
const minLen = 4

// credentialName matches variable names that hold credentials.
// DB_PWD and ROOT_PW are; PWD alone is the shell's working folder.
var credentialName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PASSPHRASE|PASS$|_PWD$|_PW$|SECRET|TOKEN|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL|API_KEY|APIKEY|AUTH_KEY)`)

// IsCredentialName reports whether an environment variable name looks like
// it holds a credential.
func IsCredentialName(name string) bool {
	return credentialName.MatchString(name) && !strings.HasSuffix(strings.ToUpper(name), "_FILE")
}

// Redactor replaces known secret values.
type Redactor struct {
	values []string // longest first
}

// New returns a redactor for the given values. A value is masked without
// the blank space around it (a secret file's trailing newline stays, so
// two lines are never merged), and each line of a multi-line value (a key,
// a certificate) is masked on its own too, wherever it is printed.
func New(values ...string) *Redactor {
	seen := map[string]bool{}
	r := &Redactor{}
	add := func(c string) {
		if len(c) >= minLen && !seen[c] {
			seen[c] = true
			r.values = append(r.values, c)
		}
	}
	for _, v := range values {
		v = strings.TrimSpace(v)
		add(v)
		if strings.ContainsAny(v, "\r\n") {
			for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(strings.TrimSpace(line))
			}
		}
	}
	sort.Slice(r.values, func(i, j int) bool { return len(r.values[i]) > len(r.values[j]) })
	return r
}

// ForProject collects every secret value a project defines: the content of
// its secrets (files, environment variables, inline content) and the values
// of credential-like environment variables of its services.
func ForProject(p *types.Project) *Redactor {
	var values []string
	for _, s := range p.Secrets {
		switch {
		case s.File != "":
			if b, err := os.ReadFile(s.File); err == nil {
				values = append(values, string(b))
			}
		case s.Environment != "":
			values = append(values, p.Environment[s.Environment])
		case s.Content != "":
			values = append(values, s.Content)
		}
	}
	for _, sc := range p.Services {
		for k, v := range sc.Environment {
			if v != nil && IsCredentialName(k) {
				values = append(values, *v)
			}
		}
	}
	return New(values...)
}

// String redacts s.
func (r *Redactor) String(s string) string {
	if r == nil {
		return s
	}
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, Mask)
	}
	return s
}

// Bytes redacts b.
func (r *Redactor) Bytes(b []byte) []byte { return []byte(r.String(string(b))) }

// Contains reports whether s holds any secret value (leak detection).
func (r *Redactor) Contains(s string) bool {
	if r == nil {
		return false
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			return true
		}
	}
	return false
}
