package config

import (
	"errors"
	"os"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	for _, path := range []string{"../providers.example.yaml", "testdata/legacy.yaml", "testdata/legacy_v1.yaml", "testdata/legacy_v05.yaml"} {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(okProvider + "model_routes:\n  \"*\": [{provider: A, max_tokens: 9}]\nsettings: {port: 1, host: \"::1\", cache_ttl: 1e300}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("providers: &p\n  - *p\n"))
	f.Add([]byte("settings:\n  max_body_size: 9223372036854775807GiB\n  failure_cooldown: 1e20\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, testEnv)
		if err != nil {
			var list *Errors
			if !errors.As(err, &list) || len(list.List) == 0 {
				t.Fatalf("error %T %v is not a non-empty *Errors", err, err)
			}
			if cfg != nil {
				t.Fatalf("config returned along with errors")
			}
			return
		}
		if cfg == nil || len(cfg.Providers) == 0 {
			t.Fatalf("no error but config %+v", cfg)
		}
		// Whatever key set them, a loaded config has no timeout that fails
		// every request.
		s := cfg.Settings
		for name, d := range map[string]time.Duration{
			"failure_cooldown": s.FailureCooldown, "request_timeout": s.RequestTimeout, "stream_idle_timeout": s.StreamIdleTimeout,
			"nonstream_timeout": s.NonstreamTimeout, "connect_timeout": s.ConnectTimeout,
		} {
			if d <= 0 {
				t.Fatalf("%s = %v loaded", name, d)
			}
		}
	})
}
