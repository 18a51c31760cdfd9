package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestRedactor(t *testing.T) {
	r := New("s3cr3t-value\n", "abc", "longer-s3cr3t-value", "-----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----\n")
	tests := []struct{ name, in, want string }{
		{"file content with newline", "pw=s3cr3t-value done", "pw=*** done"},
		{"a trailing newline is not eaten", "line1 s3cr3t-value\nline2", "line1 ***\nline2"},
		{"longest first", "longer-s3cr3t-value", "***"},
		{"short values are masked too", "x abc y", "x *** y"},
		{"nothing to mask", "hello", "hello"},
		{"a multi-line secret whole", "key: -----BEGIN KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END KEY-----", "key: ***"},
		{"each line of it printed alone", "got MIIEvQIBADANBgkq then\nhkiG9w0BAQEFAASC", "got *** then\n***"},
		{"with CRLF", "MIIEvQIBADANBgkq\r\nhkiG9w0BAQEFAASC\r\n", "***\r\n***\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	if !r.Contains("x s3cr3t-value y") || r.Contains("nothing") {
		t.Error("Contains is wrong")
	}
}

func TestIsCredentialName(t *testing.T) {
	for name, want := range map[string]bool{
		"POSTGRES_PASSWORD": true, "MINIO_ROOT_PASSWORD_FILE": false, "API_KEY": true,
		"AWS_SECRET_ACCESS_KEY": true, "PGHOST": false, "GITHUB_TOKEN": true, "BUCKETS": false,
		"DB_PWD": true, "ROOT_PW": true, "PWD": false, "SSH_PASSPHRASE": true, "OLDPWD": false,
		"KEYCLOAK_ADMIN": false,
	} {
		if got := IsCredentialName(name); got != want {
			t.Errorf("IsCredentialName(%q) = %v", name, got)
		}
	}
}

// Property: whatever text surrounds them and however the output is cut
// into lines, no declared secret, and no line of a multi-line one, survives
// redaction; the text around them is kept.
func TestNoSecretSurvives(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/=-_ :\n"
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for i := range 2000 {
		var secrets []string
		for range 1 + rng.IntN(3) {
			s := word(1 + rng.IntN(24))
			if rng.IntN(3) == 0 { // a multi-line one, maybe with a trailing newline
				s = word(4) + "\n" + word(4) + "\n" + word(4)
				if rng.IntN(2) == 0 {
					s += "\n"
				}
			}
			secrets = append(secrets, s)
		}
		r := New(secrets...)
		// Output: noise, the secrets whole, and their lines alone, in
		// any order.
		var parts []string
		for _, s := range secrets {
			parts = append(parts, s)
			parts = append(parts, strings.Split(s, "\n")...)
		}
		rng.Shuffle(len(parts), func(a, b int) { parts[a], parts[b] = parts[b], parts[a] })
		var out strings.Builder
		for _, p := range parts {
			out.WriteString(word(rng.IntN(8)))
			out.WriteString(p)
		}
		got := r.String(out.String())
		for _, s := range secrets {
			for _, piece := range append([]string{strings.TrimSpace(s)}, strings.Split(s, "\n")...) {
				if p := strings.TrimSpace(piece); p != "" && strings.Contains(got, p) {
					t.Fatalf("case %d: %q survives in %q (secrets %q)", i, p, got, secrets)
				}
			}
		}
	}
}

// The mask never brings a secret back: a value that is part of the mask,
// or one that masking forms from the text around a masked one.
func TestTheMaskNeverFormsASecret(t *testing.T) {
	for _, tt := range []struct {
		secrets []string
		in      string
	}{
		{[]string{"*"}, "a*b**c"},
		{[]string{"**"}, "x**y"},
		{[]string{"a*"}, "aa*"},
		{[]string{"*", "E", "<", "#"}, "*E<#REDACTED"},
		{[]string{"ab"}, "aabb"},
	} {
		r := New(tt.secrets...)
		got := r.String(tt.in)
		for _, s := range tt.secrets {
			if strings.Contains(got, s) {
				t.Errorf("%q in %q: %q survives (%q)", tt.secrets, tt.in, s, got)
			}
		}
	}
}

func TestCredentialsInURLsAndSigningKeys(t *testing.T) {
	if got := URLPasswords("postgres://app:p%40ss@db:5432/app?sslmode=disable and redis://:only-pw@cache"); strings.Join(got, " ") != "p%40ss p@ss only-pw" {
		t.Errorf("URLPasswords = %q", got)
	}
	if got := URLPasswords("http://u:pa@ss@host/x"); strings.Join(got, " ") != "pa@ss" {
		t.Errorf("a password holding @: %q", got)
	}
	if got := StripUserinfo("ftp://u:pa@ss@host/x"); got != "ftp://***@host/x" {
		t.Errorf("StripUserinfo = %q", got)
	}
	for _, n := range []string{"JWT_SIGNING_KEY", "ENCRYPTION_KEY", "SESSION_KEY", "PASSWORD_SALT"} {
		if !IsCredentialName(n) {
			t.Errorf("%s is a credential name", n)
		}
	}
	for _, n := range []string{"CACHE_KEY_PREFIX", "KEYCLOAK_URL", "AWS_ACCESS_KEY_ID_FILE"} {
		if IsCredentialName(n) {
			t.Errorf("%s is not a credential name", n)
		}
	}
}

func TestTerminalNeutralisesEscapes(t *testing.T) {
	r := New("pw-value")
	in := "\x1b]0;owned\x07red \x1b[31mX\x1b[0m\rOK pw-value\x9b2J\u202etxt\xff\ttab\n"
	in = strings.NewReplacer(`\x1b`, "\x1b", `\x07`, "\x07", `\r`, "\r", `\x9b`, "\u009b", `\u202e`, "\u202e", `\xff`, "\xff", `\t`, "\t", `\n`, "\n").Replace(in)
	got := r.Terminal(in)
	for i := 0; i < len(got); i++ {
		if c := got[i]; c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
			t.Fatalf("control byte %#x left in %q", c, got)
		}
	}
	if strings.Contains(got, "pw-value") || strings.Contains(got, "\u009b") || strings.Contains(got, "\u202e") || !strings.Contains(got, `\x1b]0;owned\x07`) || !strings.Contains(got, `\r`) || !strings.Contains(got, "\ttab\n") {
		t.Errorf("Terminal = %q", got)
	}
	// An escape that spells a secret once shown is masked too.
	if got := New("x1b").Terminal("a\x1bb"); strings.Contains(got, "x1b") {
		t.Errorf("the escape spells the secret: %q", got)
	}
}
