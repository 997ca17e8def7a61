package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/presets"
)

// runOK runs a command and fails unless it exits 0.
func runOK(t *testing.T, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("run(%q) = %d\nstdout: %s\nstderr: %s", args, code, out.String(), errb.String())
	}
	return out.String()
}

// TestInitPresetsCheck: init --preset writes each preset's file, and
// `ccbalancer check` accepts it.
func TestInitPresetsCheck(t *testing.T) {
	all, err := presets.All()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, p := range all {
		if p.Key != "" {
			t.Setenv(p.Key, "sk-test-"+p.Name)
		}
	}
	for _, p := range all {
		t.Run(p.Name, func(t *testing.T) {
			path := filepath.Join(dir, p.Name+".yaml")
			out := runOK(t, "init", "--preset", p.Name, "--config", path)
			if p.Key != "" && !strings.Contains(out, "export "+p.Key+"=") {
				t.Errorf("init did not say which variable holds the key:\n%s", out)
			}
			if out := runOK(t, "check", "--config", path); !strings.Contains(out, p.Name+".yaml: ok") {
				t.Errorf("check: %s", out)
			}
		})
	}
	path := filepath.Join(dir, "combo.yaml")
	runOK(t, "init", "--preset", "claude-subscription,deepseek,openrouter", "--config", path)
	out := runOK(t, "check", "--config", path)
	if !strings.Contains(out, "Subscription, DeepSeek as deepseek-v4-pro, OpenRouter as anthropic/claude-opus-4.1") {
		t.Errorf("combined presets, check output:\n%s", out)
	}
	list := runOK(t, "init", "--list")
	if !strings.Contains(list, "claude-subscription") || !strings.Contains(list, "$DEEPSEEK_API_KEY") {
		t.Errorf("--list:\n%s", list)
	}
	var errb bytes.Buffer
	if code := run([]string{"init", "--preset", "nope", "--config", filepath.Join(dir, "x.yaml")}, &bytes.Buffer{}, &errb); code != 2 || !strings.Contains(errb.String(), `no preset "nope"`) {
		t.Errorf("unknown preset: %d %s", code, errb.String())
	}
}

// TestImport runs the import command on each tool's sample file, from the
// default location for cc-switch, and checks the result.
func TestImport(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("OPENROUTER_API_KEY", "x")
	t.Setenv("ANTHROPIC_API_KEY", "x")
	t.Setenv("CCR_CLIENT_KEY", "x")
	t.Setenv("ZHIPU_KEY", "x")
	os.MkdirAll(filepath.Join(home, ".cc-switch"), 0o700)
	sample, _ := os.ReadFile("importer/testdata/cc-switch.json")
	os.WriteFile(filepath.Join(home, ".cc-switch", "config.json"), sample, 0o600)

	out := filepath.Join(home, "from-ccswitch.yaml")
	report := runOK(t, "import", "cc-switch", "--config", out)
	if !strings.Contains(report, "3 providers") || !strings.Contains(report, "env API_TIMEOUT_MS has no equivalent") {
		t.Errorf("report:\n%s", report)
	}
	runOK(t, "check", "--config", out)

	// A key variable this shell does not set: the file is written all the
	// same (it loads once the key is there) and the report says what to set.
	os.Unsetenv("OPENROUTER_API_KEY")
	out2 := filepath.Join(home, "from-ccr.yaml")
	report = runOK(t, "import", "claude-code-router", "importer/testdata/claude-code-router.json", "--config", out2)
	if !strings.Contains(report, "Router.longContext") || !strings.Contains(report, "export OPENROUTER_API_KEY=<your key>") ||
		strings.Contains(report, "export ANTHROPIC_API_KEY") {
		t.Errorf("report:\n%s", report)
	}
	t.Setenv("OPENROUTER_API_KEY", "x")
	runOK(t, "check", "--config", out2)

	var errb bytes.Buffer
	if code := run([]string{"import", "claude-code-router", "--config", out2}, &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), ".claude-code-router/config.json") {
		t.Errorf("missing default file: %d %s", code, errb.String())
	}
}

// TestModelsCommand lists a configured provider's models.
func TestModelsCommand(t *testing.T) {
	up := fake.New("A")
	up.SetModels(0, "claude-sonnet-5", "claude-opus-5-5")
	hs := httptest.NewServer(up)
	defer hs.Close()
	path := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(path, []byte("providers:\n  - {name: A, type: anthropic, base_url: \""+hs.URL+"\", auth_value: sk-a}\nmodel_routes:\n  \"*\": [{provider: A}]\n"), 0o600)
	if out := runOK(t, "models", "A", "--config", path); out != "claude-opus-5-5\nclaude-sonnet-5\n" {
		t.Errorf("models: %q", out)
	}
	if got := up.Requests()[0].Header.Get("X-Api-Key"); got != "sk-a" {
		t.Errorf("x-api-key %q", got)
	}
	var errb bytes.Buffer
	if code := run([]string{"models", "B", "--config", path}, &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), `no provider "B"`) {
		t.Errorf("unknown provider: %d %s", code, errb.String())
	}
}
