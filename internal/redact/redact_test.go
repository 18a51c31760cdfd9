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
		{"short values are not masked", "abc", "abc"},
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
			s := word(minLen + rng.IntN(24))
			if rng.IntN(3) == 0 { // a multi-line one, maybe with a trailing newline
				s = word(minLen+4) + "\n" + word(minLen+4) + "\n" + word(minLen+4)
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
				if p := strings.TrimSpace(piece); len(p) >= minLen && strings.Contains(got, p) {
					t.Fatalf("case %d: %q survives in %q (secrets %q)", i, p, got, secrets)
				}
			}
		}
	}
}
