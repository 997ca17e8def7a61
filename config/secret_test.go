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
