package redact

import "testing"

func TestRedactor(t *testing.T) {
	r := New("s3cr3t-value\n", "abc", "longer-s3cr3t-value")
	tests := []struct{ name, in, want string }{
		{"file content with newline", "pw=s3cr3t-value done", "pw=*** done"},
		{"longest first", "longer-s3cr3t-value", "***"},
		{"short values are not masked", "abc", "abc"},
		{"nothing to mask", "hello", "hello"},
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
	} {
		if got := IsCredentialName(name); got != want {
			t.Errorf("IsCredentialName(%q) = %v", name, got)
		}
	}
}
