package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretNeverPrinted(t *testing.T) {
	const key = "sk-ant-very-secret-0123456789"
	cfg := mustParse(t, okProvider+"settings:\n  auth_key: \"${KEY}\"\n", env(map[string]string{"KEY": key}))
	if cfg.Providers[0].AuthValue.Reveal() != key || cfg.Settings.AuthKey.Reveal() != key {
		t.Fatalf("the secret was not loaded; the test would prove nothing")
	}

	jsonOut, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", cfg, "provider", cfg.Providers[0], "key", cfg.Settings.AuthKey)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "config", cfg, "key", cfg.Providers[0].AuthValue)

	outputs := map[string]string{
		"%v":        fmt.Sprintf("%v", cfg),
		"%+v":       fmt.Sprintf("%+v", cfg),
		"%#v":       fmt.Sprintf("%#v", cfg),
		"%s":        fmt.Sprintf("%s", cfg.Providers[0].AuthValue),
		"%q":        fmt.Sprintf("%q", cfg.Settings.AuthKey),
		"%v value":  fmt.Sprintf("%v", *cfg),
		"%#v value": fmt.Sprintf("%#v", *cfg),
		"json":      string(jsonOut),
		"slog text": text.String(),
		"slog json": js.String(),
	}
	for name, out := range outputs {
		if strings.Contains(out, key) {
			t.Errorf("%s output contains the secret: %s", name, out)
		}
		if !strings.Contains(out, "REDACTED") {
			t.Errorf("%s output does not show the redaction: %s", name, out)
		}
	}
}

func TestSecretPassthroughAndEmptyShow(t *testing.T) {
	tests := []struct {
		s    Secret
		want string
	}{
		{"", ""},
		{Passthrough, Passthrough},
		{"x", "[REDACTED]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(tt.s); got != tt.want {
			t.Errorf("Sprint(%q) = %q, want %q", tt.s.Reveal(), got, tt.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://user:s3cret@api.example.com/v1", "https://[REDACTED]@api.example.com/v1"},
		{"https://tok3n@api.example.com", "https://[REDACTED]@api.example.com"},
		{"http://a:b@c@host:8080/p?q=1@x", "http://[REDACTED]@host:8080/p?q=1@x"},
		{"https://api.example.com/v1/users/me@example", "https://api.example.com/v1/users/me@example"},
		{"user:s3cret@host/path", "[REDACTED]@host/path"},
		{"https://api.example.com", "https://api.example.com"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestBaseURLPasswordNeverShown: a base_url's password is kept for the
// requests and never printed, in a valid file or in an error.
func TestBaseURLPasswordNeverShown(t *testing.T) {
	const pw = "pa55-w0rd-secret"
	cfg := mustParse(t, "providers:\n  - {name: A, type: anthropic, base_url: \"https://u:"+pw+"@a.example/v1\", auth_value: k}\n", env(nil))
	if p := cfg.Providers[0]; p.BaseURL != "https://u:"+pw+"@a.example/v1" || strings.Contains(p.DisplayURL(), pw) {
		t.Errorf("BaseURL %q, DisplayURL %q", p.BaseURL, p.DisplayURL())
	}
	for _, bad := range []string{"ftp://u:" + pw + "@a.example", "https://u:" + pw + "@a.example/?q=1", "u:" + pw + "@a.example"} {
		_, err := Parse("f.yaml", []byte("providers:\n  - {name: A, type: anthropic, base_url: \""+bad+"\", auth_value: k}\n"), env(nil))
		if err == nil {
			t.Fatalf("%s: no error", bad)
		}
		if strings.Contains(err.Error(), pw) || !strings.Contains(err.Error(), "[REDACTED]@a.example") {
			t.Errorf("%s: error %q", bad, err)
		}
	}
}
