package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/internal/fake"
	"github.com/ccbalancer/ccbalancer/proxy/anthropic"
	"github.com/ccbalancer/ccbalancer/proxy/sse"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// clientModel is the model name the client asked for in every golden test.
const clientModel = "claude-sonnet-5"

// seqIDs returns an id generator that counts, so goldens are stable.
func seqIDs() func(string) string {
	n := 0
	return func(prefix string) string {
		n++
		return prefix + "gen" + strconv.Itoa(n)
	}
}

// checkGolden compares got with the golden file, or rewrites it with -update.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
	}
}

// streamResult is what converting one upstream transcript gives.
type streamResult struct {
	events   []anthropic.Event
	err      error // from Process or Finish
	started  bool
	warnings []string
}

// convertTranscript feeds an upstream SSE transcript through a converter as
// the proxy does: each event's data to Process, Finish at the end.
func convertTranscript(t testing.TB, name string, transcript []byte) streamResult {
	t.Helper()
	c := NewStreamConverter(goldenStreamOptions(name))
	c.newID = seqIDs()
	var res streamResult
	r := sse.NewReader(bytes.NewReader(transcript), 0)
	for {
		ev, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("reading transcript: %v", err)
		}
		events, err := c.Process(ev.Data)
		res.events = append(res.events, events...)
		if err != nil {
			res.err = err
			break
		}
	}
	if res.err == nil {
		events, err := c.Finish()
		res.events = append(res.events, events...)
		res.err = err
	}
	res.started = c.Started()
	res.warnings = c.Warnings()
	return res
}

// render writes the events as the client receives them, then the outcome as
// comment lines.
func (r streamResult) render() []byte {
	var out []byte
	for _, e := range r.events {
		out = e.AppendSSE(out)
	}
	for _, w := range r.warnings {
		out = fmt.Appendf(out, "# warning: %s\n", w)
	}
	if r.err != nil {
		out = fmt.Appendf(out, "# error: %v\n", r.err)
	}
	out = fmt.Appendf(out, "# started: %v\n", r.started)
	return out
}

func TestStreamGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/stream/*.sse")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".sse")
		t.Run(name, func(t *testing.T) {
			transcript, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			res := convertTranscript(t, name, transcript)
			checkGolden(t, strings.TrimSuffix(in, ".sse")+".golden", res.render())
		})
	}
}

func TestResponseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/response/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no responses: %v", err)
	}
	for _, in := range files {
		if strings.HasSuffix(in, ".golden.json") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			msg, warnings, err := convertResponse(body, goldenStreamOptions(name), seqIDs())
			var got []byte
			if err == nil {
				got = indent(t, msg.AppendJSON(nil))
			}
			got = appendOutcome(got, warnings, err)
			checkGolden(t, strings.TrimSuffix(in, ".json")+".golden", got)
		})
	}
}

// goldenProvider is the provider name every golden is converted for.
const goldenProvider = "prov"

// goldenFamily returns the family of a golden: the family whose name starts
// the golden's name, before an underscore ("gemini_thought_signatures"),
// else Generic.
func goldenFamily(name string) *Family {
	prefix, _, _ := strings.Cut(name, "_")
	if f, err := LookupFamily(prefix); err == nil {
		return f
	}
	return Generic
}

// goldenToolNames are the function names a golden's request renamed.
var goldenToolNames = map[string]map[string]string{
	"long_tool_name": {"mcp__plugin_chrome-devtools-mcp_chrome-devtools__perfor_4d5b4b1f": "mcp__plugin_chrome-devtools-mcp_chrome-devtools__performance_analyze_insight"},
}

// goldenStreamOptions are the options the stream and response goldens are
// converted with: the golden's family, and 42 as the local input count.
func goldenStreamOptions(name string) StreamOptions {
	return StreamOptions{Model: clientModel, Family: goldenFamily(name), Provider: goldenProvider,
		ToolNames: goldenToolNames[name], EstimateInput: func() int { return 42 }}
}

// requestOptions are the options of the request goldens that need more
// than their family.
var requestOptions = map[string]RequestOptions{
	"thinking_enabled_reasoning":  {Reasoning: true},
	"thinking_adaptive_reasoning": {Reasoning: true},
	"max_tokens_clamped":          {Model: "deepseek-chat", MaxTokens: 8192},
	"claude_code":                 {Model: "google/gemini-2.5-pro", Reasoning: true},
	"openai_reasoning_model":      {Model: "gpt-5", Reasoning: true},
	"openai_o_series":             {Model: "o4-mini"},
	"openrouter_reasoning":        {Model: "openai/gpt-5", Reasoning: true},
	"glm_reasoning":               {Model: "glm-4.6", Reasoning: true},
	"qwen_reasoning":              {Model: "qwen3-coder-plus", Reasoning: true},
	"deepseek_reasoning":          {Model: "deepseek-chat", Reasoning: true},
	"gemini_claude_code":          {Model: "gemini-3-pro-preview", Reasoning: true},
}

// goldenRequestOptions returns a request golden's options, with its family
// and the golden provider.
func goldenRequestOptions(name string) RequestOptions {
	o := requestOptions[name]
	o.Family, o.Provider = goldenFamily(name), goldenProvider
	return o
}

func TestRequestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/request/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no requests: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ConvertRequest(body, goldenRequestOptions(name))
			var got []byte
			var warnings []string
			if err == nil {
				got = indent(t, req.Body)
				warnings = req.Warnings
				var decoded map[string]any
				if err := json.Unmarshal(req.Body, &decoded); err != nil {
					t.Fatalf("output is not JSON: %v", err)
				}
				if err := fake.CheckChatShape(decoded); err != nil {
					t.Errorf("output is not a valid Chat Completions request: %v", err)
				}
				for _, up := range slices.Sorted(maps.Keys(req.ToolNames)) {
					got = fmt.Appendf(got, "# tool name: %s -> %s\n", up, req.ToolNames[up])
				}
			}
			got = appendOutcome(got, warnings, err)
			checkGolden(t, strings.TrimSuffix(in, ".json")+".golden", got)
		})
	}
}

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, "", "  "); err != nil {
		t.Fatalf("output is not valid JSON: %v\n%s", err, b)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func appendOutcome(out []byte, warnings []string, err error) []byte {
	for _, w := range warnings {
		out = fmt.Appendf(out, "# warning: %s\n", w)
	}
	if err != nil {
		out = fmt.Appendf(out, "# error: %v\n", err)
	}
	return out
}

// TestClaudeCodeCaptures converts what Claude Code sends, as captured from
// the real CLI (docs/captures, scripts/claude-code-capture.sh): each
// request converts to a valid Chat Completions request, by a rule for every
// block it holds, as its golden under testdata/captures shows.
func TestClaudeCodeCaptures(t *testing.T) {
	files, err := filepath.Glob("../../docs/captures/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range files {
		if strings.HasSuffix(in, ".headers.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ConvertRequest(body, RequestOptions{Model: "gpt-4.1", Reasoning: true, Provider: goldenProvider})
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			var decoded map[string]any
			if err := json.Unmarshal(req.Body, &decoded); err != nil {
				t.Fatal(err)
			}
			if err := fake.CheckChatShape(decoded); err != nil {
				t.Errorf("not a valid Chat Completions request: %v", err)
			}
			for _, w := range req.Warnings {
				if strings.Contains(w, "unknown block type") {
					t.Errorf("no rule for a block Claude Code sends: %s", w)
				}
			}
			checkGolden(t, filepath.Join("testdata", "captures", name+".golden"), appendOutcome(indent(t, req.Body), req.Warnings, nil))
		})
	}
	if n == 0 {
		t.Fatal("no captures in docs/captures")
	}
}
