package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestKeyLists(t *testing.T) {
	const file = `providers:
  - name: A
    type: anthropic
    base_url: https://a.example
    auth_value: ["${KEY}", "sk-literal-second", "${KEY2}"]
  - {name: B, type: openai, base_url: "https://b.example/v1", auth_value: ["${KEY}"]}
model_routes:
  "*": [{provider: A}, {provider: B}]
`
	cfg, err := Parse("p.yaml", []byte(file), env(map[string]string{"KEY": "sk-one", "KEY2": "sk-three"}))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := cfg.Provider("A")
	b, _ := cfg.Provider("B")
	got := map[string][]string{}
	for _, p := range []Provider{a, b} {
		for _, k := range p.Credentials() {
			got[p.Name] = append(got[p.Name], k.Reveal())
		}
	}
	want := map[string][]string{"A": {"sk-one", "sk-literal-second", "sk-three"}, "B": {"sk-one"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("credentials (-want +got):\n%s", diff)
	}
	if a.AuthValue.Reveal() != "sk-one" || b.Keys != nil {
		t.Errorf("AuthValue = first key; a one-item list is a single key (A.AuthValue %q, B.Keys %d)", a.AuthValue.Reveal(), len(b.Keys))
	}
}

func TestProfiles(t *testing.T) {
	const file = okProvider + `  - {name: B, type: anthropic, base_url: "https://b.example", auth_value: "${KEY}"}
model_routes:
  "*sonnet*": [{provider: A}]
settings:
  failure_cooldown: 60
  request_timeout: 30
profiles:
  work:
    model_routes:
      "*": [{provider: B, model: glm-4.6}, {provider: A}]
    settings:
      selection_strategy: round_robin
      failure_cooldown: 10
  home: {}
`
	cfg, err := Parse("p.yaml", []byte(file), testEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Profiles) != 2 {
		t.Fatalf("profiles = %+v", cfg.Profiles)
	}
	work, ok := cfg.Profile("work")
	if !ok {
		t.Fatal("no profile work")
	}
	wantRoutes := []Route{{Pattern: "*", Line: 12, Entries: []RouteEntry{
		{Provider: "B", Model: "glm-4.6", Priority: 1}, {Provider: "A", Model: Passthrough, Priority: 2}}}}
	if diff := cmp.Diff(wantRoutes, work.Routes); diff != "" {
		t.Errorf("work routes (-want +got):\n%s", diff)
	}
	if work.Settings.SelectionStrategy != StrategyRoundRobin || work.Settings.FailureCooldown != 10*time.Second ||
		work.Settings.RequestTimeout != 30*time.Second {
		t.Errorf("work settings: strategy %s, cooldown %v, request timeout %v; want round_robin, 10s, 30s (inherited)",
			work.Settings.SelectionStrategy, work.Settings.FailureCooldown, work.Settings.RequestTimeout)
	}
	if cfg.Settings.FailureCooldown != time.Minute || cfg.Settings.SelectionStrategy != StrategyPriority {
		t.Errorf("the profile changed the top-level settings")
	}
	home, _ := cfg.Profile("home")
	if diff := cmp.Diff(cfg.Routes, home.Routes); diff != "" {
		t.Errorf("a profile without routes uses the top-level ones (-want +got):\n%s", diff)
	}
}

func TestProfileErrors(t *testing.T) {
	const file = okProvider + `model_routes:
  "*": [{provider: A}]
profiles:
  "bad name":
    settings: {}
  work:
    model_routes:
      "*": [{provider: Nope}]
    settings:
      port: 9000
      selection_strategy: best
    extra: 1
`
	_, err := Parse("p.yaml", []byte(file), testEnv)
	want := []string{
		`p.yaml:6: profiles.bad name: "bad name" is not a profile name (letters, digits, '.', '_' and '-', used in the URL /p/NAME)`,
		`p.yaml:10: profiles.work.model_routes["*"][0].provider: unknown provider "Nope"`,
		`p.yaml:12: profiles.work.settings.port: "port" is not a per-profile setting (a profile may set [selection_strategy failure_cooldown request_timeout stream_idle_timeout nonstream_timeout default_route quota_near_limit]; the others apply to the whole proxy)`,
		`p.yaml:13: profiles.work.settings.selection_strategy: "best" is not one of priority, round_robin, random`,
		`p.yaml:14: profiles.work.extra: unknown key "extra" (expected model_routes or settings)`,
	}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestKeyListErrors(t *testing.T) {
	const file = `providers:
  - {name: A, type: anthropic, base_url: "https://a.example", auth_value: []}
  - {name: B, type: anthropic, base_url: "https://b.example", auth_value: ["${KEY}", passthrough, "${NOPE}", ""]}
model_routes:
  "*": [{provider: A}]
`
	_, err := Parse("p.yaml", []byte(file), testEnv)
	want := []string{
		`p.yaml:2: providers[0].auth_value: an empty list: give one key or several`,
		`p.yaml:3: providers[1].auth_value[1]: "passthrough" cannot be one of several keys: write auth_value: passthrough alone`,
		`p.yaml:3: providers[1].auth_value[2]: provider "B": environment variable NOPE is not set`,
		`p.yaml:3: providers[1].auth_value[3]: an empty key`,
	}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// TestKeyListForms: each item of a key list takes any credential form,
// resolved by the one secret reader: ${ENV}, keyring:NAME, or literal; a
// keyring entry that is not stored is reported at its item.
func TestKeyListForms(t *testing.T) {
	const file = `providers:
  - {name: A, type: anthropic, base_url: "https://a.example", auth_value: ["${KEY}", "keyring:second", "sk-third", "keyring:missing"]}
model_routes:
  "*": [{provider: A}]
`
	kr := &fakeKeyring{values: map[string]string{"second": "sk-from-keyring"}}
	_, err := ParseWith("p.yaml", []byte(file), Sources{Env: testEnv, Keyring: kr.get})
	want := []string{`p.yaml:2: providers[0].auth_value[3]: provider "A": keyring entry "missing" is not stored: store it with ` + "`ccbalancer secret set missing`"}
	if diff := cmp.Diff(want, errLines(t, err)); diff != "" {
		t.Fatalf("errors (-want +got):\n%s", diff)
	}
	ok := strings.Replace(file, `, "keyring:missing"`, "", 1)
	cfg, err := ParseWith("p.yaml", []byte(ok), Sources{Env: testEnv, Keyring: kr.get})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range cfg.Providers[0].Credentials() {
		got = append(got, k.Reveal())
	}
	if diff := cmp.Diff([]string{"sk-secret-from-env", "sk-from-keyring", "sk-third"}, got); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}
