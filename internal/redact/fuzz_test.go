package redact

import (
	"strings"
	"testing"
)

// FuzzRedact: whatever a secret and the text around it hold, no secret
// value (as given or trimmed, any length), and no line of it, survives.
// Its seed corpus (testdata/fuzz/FuzzRedact) runs with every go test.
func FuzzRedact(f *testing.F) {
	f.Add("s3cr3t-value\n", "pw=s3cr3t-value done")
	f.Add("-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----", "got MIIEvQIBADANBgkq then")
	f.Add("  spaced  ", "x  spaced  y")
	f.Add("a\r\nbbbbbb\r\n", "bbbbbb")
	f.Fuzz(func(t *testing.T, secret, text string) {
		r := New(secret)
		got := r.String(text + secret + text)
		for _, piece := range append([]string{secret}, strings.Split(secret, "\n")...) {
			p := strings.TrimSpace(piece)
			if p != "" && strings.Contains(got, p) {
				t.Fatalf("%q survives in %q", p, got)
			}
		}
	})
}
