// Package redact replaces secret values with *** in everything infractl
// prints or writes (SEC-SPC-AUTO-001, seed 000 §9: never echo secrets), and
// makes foreign bytes (container logs, build output, engine messages) safe
// to show on a terminal.
//
// One Redactor serves every channel (verdict, live view, log files, JUnit,
// JSON, Loki, build output, error messages); ForProject feeds it from every
// source of secret values a compose project has:
//   - the content of its secrets (files, environment, inline content);
//   - the values of credential variables (Credential names them) in the
//     environment of its services and of their pre_start hooks, and in
//     their build args;
//   - the password of any URL with user info (scheme://user:password@host)
//     in those environments and build args, whatever the variable's name;
//   - the values of the variables named in INFRACTL_SECRET_NAMES (an
//     opt-in list, comma separated).
//
// Values of any length are masked (a 1-byte secret hides every occurrence
// of that byte in foreign text).
package redact

import (
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/infractl/infractl/internal/fileobj"
)

// Mask is what a secret value is replaced with.
const Mask = "***"

// masks are tried in order: the first that holds no secret value is used
// (a secret "*" must not come back through its own mask); the last resort
// removes the value.
var masks = []string{Mask, "[REDACTED]", "<secret>", "#", ""}

// credentialName is the documented rule for names that hold credentials:
// a name containing PASSWORD, PASSWD, PASSPHRASE, SECRET, TOKEN,
// CREDENTIAL, PRIVATE_KEY, API_KEY, APIKEY, ACCESS_KEY, AUTH_KEY,
// SIGNING_KEY, ENCRYPTION_KEY, or ending in PASS, _PW, _PWD, _KEY, _SALT.
// DB_PWD and ROOT_PW are; PWD alone is the shell's working folder.
var credentialName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|PASSPHRASE|SECRET|TOKEN|CREDENTIAL|PRIVATE_KEY|API_?KEY|ACCESS_KEY|AUTH_KEY|SIGNING_KEY|ENCRYPTION_KEY|PASS$|_PWD$|_PW$|_KEY$|_SALT$)`)

// IsCredentialName reports whether an environment variable name looks like
// it holds a credential (the rule above; a name ending in _FILE holds a
// path, not the credential).
func IsCredentialName(name string) bool {
	return credentialName.MatchString(name) && !strings.HasSuffix(strings.ToUpper(name), "_FILE")
}

// urlPassword finds the password of URLs with user info anywhere in a
// value ("postgres://app:pw@db:5432/app", also inside a longer string).
var urlPassword = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#:@]*:([^\s/?#]+)@`)

// URLPasswords returns the passwords of the URLs with user info in s, as
// written and URL-decoded.
func URLPasswords(s string) []string {
	var out []string
	for _, m := range urlPassword.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
		if d, err := url.PathUnescape(m[1]); err == nil && d != m[1] {
			out = append(out, d)
		}
	}
	return out
}

// StripUserinfo replaces the user info of URLs in s with ***, for messages
// that quote a URL given by the user (a --loki-url that does not parse).
func StripUserinfo(s string) string {
	return userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
}

var userinfo = regexp.MustCompile(`(//)[^\s/?#]*@`)

// Redactor replaces known secret values.
type Redactor struct {
	values []string // longest first
	mask   string
}

// New returns a redactor for the given values. Each value is masked as
// given and without the blank space around it (a secret file's trailing
// newline stays, so two lines are never merged), and each line of a
// multi-line value (a key, a certificate) is masked on its own too,
// wherever it is printed. Empty values are ignored.
func New(values ...string) *Redactor {
	seen := map[string]bool{}
	r := &Redactor{}
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			r.values = append(r.values, c)
		}
	}
	for _, v := range values {
		// A file's trailing line break is not part of the secret.
		v = strings.TrimRight(v, "\r\n")
		add(v)
		t := strings.TrimSpace(v)
		add(t)
		if strings.ContainsAny(t, "\r\n") {
			for _, line := range strings.FieldsFunc(t, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(line)
				add(strings.TrimSpace(line))
			}
		}
	}
	slices.SortStableFunc(r.values, func(a, b string) int { return len(b) - len(a) })
	for _, m := range masks {
		r.mask = m
		if !slices.ContainsFunc(r.values, func(v string) bool { return m != "" && strings.Contains(m, v) }) {
			break
		}
	}
	return r
}

// Add returns a redactor that also masks values.
func (r *Redactor) Add(values ...string) *Redactor {
	if r == nil {
		return New(values...)
	}
	return New(append(slices.Clone(r.values), values...)...)
}

// Values are the values r masks (nil for a nil redactor).
func (r *Redactor) Values() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.values)
}

// Empty reports whether r masks nothing.
func (r *Redactor) Empty() bool { return r == nil || len(r.values) == 0 }

// ForProject collects every secret value a project defines (see the package
// doc). extraNames are more variable names whose values are secrets
// (INFRACTL_SECRET_NAMES). A secret file that cannot be read is an error
// naming it: its value could not be kept out of the output.
func ForProject(p *types.Project, extraNames ...string) (*Redactor, error) {
	var values []string
	for _, name := range slices.Sorted(maps.Keys(p.Secrets)) {
		s := p.Secrets[name]
		switch {
		case bool(s.External):
		case s.File != "":
			b, err := fileobj.Read(s.File)
			if err != nil {
				return nil, fmt.Errorf("secret %q: file %s cannot be read by infractl (%w), so its value could not be kept out of the output; make it a regular file this user can read", name, s.File, err)
			}
			values = append(values, string(b))
		case s.Environment != "":
			values = append(values, p.Environment[s.Environment])
		case s.Content != "":
			values = append(values, s.Content)
		}
	}
	extra := map[string]bool{}
	for _, n := range extraNames {
		if n = strings.TrimSpace(n); n != "" {
			extra[n] = true
		}
	}
	fromEnv := func(env map[string]*string) {
		for k, v := range env {
			if v == nil || *v == "" {
				continue
			}
			if IsCredentialName(k) || extra[k] {
				values = append(values, *v)
			}
			values = append(values, URLPasswords(*v)...)
		}
	}
	for _, sc := range p.Services {
		fromEnv(sc.Environment)
		for _, h := range sc.PreStart {
			fromEnv(h.Environment)
		}
		for _, h := range sc.PostStart {
			fromEnv(h.Environment)
		}
		for _, h := range sc.PreStop {
			fromEnv(h.Environment)
		}
		if sc.Build != nil {
			fromEnv(sc.Build.Args)
		}
	}
	return New(values...), nil
}

// String redacts s: no secret value remains, even one that masking itself
// would form from the text around a masked one.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.values) == 0 {
		return s
	}
	for pass := 0; ; pass++ {
		mask := r.mask
		if pass >= 8 {
			mask = "" // strictly shorter each pass: ends
		}
		changed := false
		for _, v := range r.values {
			if strings.Contains(s, v) {
				s = strings.ReplaceAll(s, v, mask)
				changed = true
			}
		}
		if !changed {
			return s
		}
	}
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

// Terminal renders foreign text (a log tail, build output, a message from
// the engine) safe for a terminal, redacted: escape sequences, control
// bytes and carriage returns are shown as Go escapes (\x1b, \r) instead of
// acting on the terminal; tabs and newlines stay. Redaction runs before
// and after, so an escape that spells a secret is masked too.
func (r *Redactor) Terminal(s string) string {
	return r.String(Sanitize(r.String(s)))
}

// Sanitize is Terminal without redaction.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\n' && c != '\t' || c == 0x7f || c >= 0x80 {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	for i, w := 0, 0; i < len(s); i += w {
		c, size := decodeRune(s[i:])
		w = size
		switch {
		case c == '\n' || c == '\t':
			b.WriteRune(c)
		case c == '\r':
			b.WriteString(`\r`)
		case c == -1: // invalid UTF-8
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c >= 0x80 && c < 0xa0, c == 0x2028, c == 0x2029, c >= 0x202a && c <= 0x202e, c >= 0x2066 && c <= 0x2069:
			// C1 controls (a second CSI), line separators and the bidi
			// overrides that reorder what a terminal shows.
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteString(s[i : i+size])
		}
	}
	return b.String()
}

// decodeRune is utf8.DecodeRuneInString with -1 for an invalid byte.
func decodeRune(s string) (rune, int) {
	c, size := utf8.DecodeRuneInString(s)
	if c == utf8.RuneError && size <= 1 {
		return -1, 1
	}
	return c, size
}
