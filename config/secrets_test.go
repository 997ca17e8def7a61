package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/keyring"
)

// fakeKeyring answers keyring lookups from a map and counts them; a name
// mapped to an error answers that error.
type fakeKeyring struct {
	values map[string]string
	errs   map[string]error
	calls  map[string]int
}

func (k *fakeKeyring) get(name string) (string, error) {
	if k.calls == nil {
		k.calls = map[string]int{}
	}
	k.calls[name]++
	if err, ok := k.errs[name]; ok {
		return "", err
	}
	if v, ok := k.values[name]; ok {
		return v, nil
	}
	return "", keyring.ErrNotFound
}

// routes is a model_routes section for files whose provider is named A.
const routes = "model_routes:\n  \"*sonnet*\": [{provider: A}]\n"

func TestKeyringReferences(t *testing.T) {
	locked := errors.New("the keyring is locked")
	kr := func() *fakeKeyring {
		return &fakeKeyring{
			values: map[string]string{"anthropic": "sk-ant-kr", "header": "h-kr"},
			errs:   map[string]error{"locked": locked},
		}
	}
	const one = "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_value: %q\n    enabled: %v\n"
	tests := []struct {
		name      string
		yaml      string
		keyring   bool // false: Sources without a keyring
		wantKey   string
		wantErrs  []string
		wantWarns []string // those that mention the keyring
	}{
		{name: "stored entry", yaml: fmt.Sprintf(one, "keyring:anthropic", true), keyring: true, wantKey: "sk-ant-kr"},
		{name: "missing entry of an enabled provider", yaml: fmt.Sprintf(one, "keyring:nope", true), keyring: true,
			wantErrs: []string{"p.yaml:5: providers[0].auth_value: provider \"A\": keyring entry \"nope\" is not stored: store it with `ccbalancer secret set nope`"}},
		{name: "missing entry of a disabled provider", yaml: fmt.Sprintf(one, "keyring:nope", false), keyring: true,
			wantWarns: []string{"p.yaml:5: providers[0].auth_value: provider \"A\": keyring entry \"nope\" is not stored: store it with `ccbalancer secret set nope` (the provider is disabled)"}},
		{name: "keyring that cannot be read", yaml: fmt.Sprintf(one, "keyring:locked", true), keyring: true,
			wantErrs: []string{`p.yaml:5: providers[0].auth_value: provider "A": keyring entry "locked" cannot be read: the keyring is locked`}},
		{name: "no keyring at all", yaml: fmt.Sprintf(one, "keyring:anthropic", true),
			wantErrs: []string{`p.yaml:5: providers[0].auth_value: provider "A": keyring entry "anthropic" cannot be read: no keyring is available here`}},
		{name: "invalid name", yaml: fmt.Sprintf(one, "keyring:a b", true), keyring: true,
			wantErrs: []string{`p.yaml:5: providers[0].auth_value: provider "A": keyring entry name "a b" may hold only letters, digits, '.', '_' and '-'`}},
		{name: "empty name", yaml: fmt.Sprintf(one, "keyring:", true), keyring: true,
			wantErrs: []string{`p.yaml:5: providers[0].auth_value: provider "A": a keyring entry needs a name`}},
		{name: "header and client key from the keyring", keyring: true, wantKey: "sk-ant-kr",
			yaml: fmt.Sprintf(one, "keyring:anthropic", true) + "    headers: {X-Extra: \"keyring:header\"}\nsettings:\n  auth_key: \"keyring:anthropic\"\n"},
		{name: "settings.auth_key entry missing", keyring: true, wantKey: "sk-ant-kr",
			yaml:     fmt.Sprintf(one, "keyring:anthropic", true) + "settings:\n  auth_key: \"keyring:gone\"\n",
			wantErrs: []string{"p.yaml:8: settings.auth_key: keyring entry \"gone\" is not stored: store it with `ccbalancer secret set gone`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := Sources{}
			k := kr()
			if tt.keyring {
				src.Keyring = k.get
			}
			cfg, err := ParseWith("p.yaml", []byte(tt.yaml+routes), src)
			if diff := cmp.Diff(tt.wantErrs, errLines(t, err)); diff != "" {
				t.Fatalf("errors (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.wantWarns, filterWarnings(cfg.Warnings, "keyring")); diff != "" {
				t.Errorf("keyring warnings (-want +got):\n%s", diff)
			}
			if got := cfg.Providers[0].AuthValue.Reveal(); got != tt.wantKey {
				t.Errorf("key = %q, want %q", got, tt.wantKey)
			}
			if h := cfg.Providers[0].Headers["X-Extra"]; tt.name == "header and client key from the keyring" {
				if h != "h-kr" || cfg.Settings.AuthKey.Reveal() != "sk-ant-kr" {
					t.Errorf("header %q, auth_key %q: not read from the keyring", h, cfg.Settings.AuthKey.Reveal())
				}
				if k.calls["anthropic"] != 1 {
					t.Errorf("entry read %d times for two uses, want once per file", k.calls["anthropic"])
				}
			}
		})
	}
}

// TestKeyringKeyIsNotPlainText: a world-readable file that names keyring
// entries holds no key, so it gets no chmod warning (nor for plain header
// values, which are not credentials); one with a key gets a warning that
// names chmod 600 and the keyring.
func TestKeyringKeyIsNotPlainText(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not apply")
	}
	k := &fakeKeyring{values: map[string]string{"a": "sk-ant"}}
	for _, tt := range []struct {
		value string
		want  []string
	}{
		{"keyring:a", nil},
		{"keyring:a\n    headers: {X-Title: ccbalancer}", nil},
		{"sk-plain", []string{"%s:5: a credential is written in plain text in a world-readable file (mode 0644): run chmod 600 %s, " +
			"or keep the key in the keyring (`ccbalancer secret set NAME`, then auth_value: \"keyring:NAME\") or in ${ENV_VAR}"}},
	} {
		path := filepath.Join(t.TempDir(), "providers.yaml")
		content := "providers:\n  - name: A\n    type: anthropic\n    base_url: https://a.example\n    auth_value: " + tt.value + "\n" + routes
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := LoadWith(path, Sources{Keyring: k.get})
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, w := range tt.want {
			want = append(want, fmt.Sprintf(w, path, path))
		}
		if diff := cmp.Diff(want, cfg.Warnings); diff != "" {
			t.Errorf("%s: warnings (-want +got):\n%s", tt.value, diff)
		}
	}
}

// TestHeaderSecrets: header values read from the environment or the
// keyring, and those of headers named as credentials, are secrets; others
// are not.
func TestHeaderSecrets(t *testing.T) {
	env := map[string]string{"CCB_TEST_GATEWAY": "gw-token-1234567890"}
	cfg, err := Parse("p.yaml", []byte(`providers:
  - name: A
    type: openai
    base_url: https://example.com/v1
    auth_value: sk-test-0123456789
    headers:
      api-key: azure-key-0123456789
      X-Gateway: ${CCB_TEST_GATEWAY}
      X-Title: ccbalancer
model_routes:
  "*": [{provider: A, model: m}]
`), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Providers[0].HeaderSecrets()
	slices.Sort(got)
	if want := []string{"azure-key-0123456789", "gw-token-1234567890"}; !slices.Equal(got, want) {
		t.Errorf("HeaderSecrets = %q, want %q", got, want)
	}
}
