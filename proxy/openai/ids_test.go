package openai

import (
	"regexp"
	"strings"
	"testing"
)

var anthropicIDChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// TestToolIDRoundTrip: whatever id an upstream issues, the client's id is
// one Anthropic accepts, and it gives the upstream's id back exactly.
func TestToolIDRoundTrip(t *testing.T) {
	for _, upstream := range []string{
		"call_AbC123", "functions.Bash:0", "functions.Read:12", "function-call-7", "chatcmpl-tool-3f1e9a",
		"toolu_01A", "toolu_vrtx_01", "call 1/x", "id-with-ünïcode", "a\"b\\c", "__", "-", "9",
	} {
		id := clientToolID("Ab12Cd34", upstream)
		if !anthropicIDChars.MatchString(id) {
			t.Errorf("client id %q for %q has characters Anthropic refuses", id, upstream)
		}
		back, ok := upstreamToolID(id)
		if !ok || back != upstream {
			t.Errorf("upstreamToolID(%q) = %q, %v; want %q", id, back, ok, upstream)
		}
		if got := sentToolID(Generic, id); got != upstream {
			t.Errorf("sentToolID(%q) = %q, want %q", id, got, upstream)
		}
	}
	// Ids of other forms go upstream as they are.
	for _, id := range []string{"toolu_01Tq7mJ3xV9cR2pL8wZs4NbK", "toolu_gen4", "toolu_functions_Bash_0", "call_1", "toolu_Ab12Cd34_bad-ZZ"} {
		if _, ok := upstreamToolID(id); ok {
			t.Errorf("upstreamToolID(%q) decoded an id of another form", id)
		}
		if got := sentToolID(Generic, id); got != id {
			t.Errorf("sentToolID(%q) = %q, want it unchanged", id, got)
		}
	}
}

// TestMistralToolIDs: Mistral takes only 9 characters of [A-Za-z0-9]; an id
// of another form maps to one, the same for a call and its result, and its
// own ids come back as they are.
func TestMistralToolIDs(t *testing.T) {
	m, _ := LookupFamily("mistral")
	own := clientToolID("Ab12Cd34", "D681Bxk3q")
	if got := sentToolID(m, own); got != "D681Bxk3q" {
		t.Errorf("Mistral's own id came back as %q", got)
	}
	a, b := sentToolID(m, "toolu_01Tq7mJ3xV9cR2pL8wZs4NbK"), sentToolID(m, "toolu_01Tq7mJ3xV9cR2pL8wZs4NbK")
	c := sentToolID(m, "toolu_02Tq7mJ3xV9cR2pL8wZs4NbK")
	if a != b || a == c || !regexp.MustCompile(`^[A-Za-z0-9]{9}$`).MatchString(a) {
		t.Errorf("mapped ids %q, %q, %q: want 9 characters, stable, distinct", a, b, c)
	}
}

// TestToolNames: names a family refuses map to valid, deterministic,
// distinct names; valid ones are left alone.
func TestToolNames(t *testing.T) {
	gemini, _ := LookupFamily("gemini")
	long := "mcp__plugin_chrome-devtools-mcp_chrome-devtools__performance_analyze_insight"
	tests := []struct {
		rule nameRule
		name string
		same bool
	}{
		{openaiNames, "Bash", true},
		{openaiNames, "mcp__github__create_pull_request", true},
		{openaiNames, strings.Repeat("a", 64), true},
		{openaiNames, strings.Repeat("a", 65), false},
		{openaiNames, long, false},
		{openaiNames, "has space", false},
		{openaiNames, "dotted.name", false},
		{openaiNames, "3d_render", true},
		{gemini.toolNames, "3d_render", false},
		{gemini.toolNames, "-lead", false},
		{gemini.toolNames, "_lead", true},
	}
	valid := regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	for _, tt := range tests {
		up := tt.rule.upstreamName(tt.name)
		if (up == tt.name) != tt.same {
			t.Errorf("upstreamName(%q) = %q, want unchanged: %v", tt.name, up, tt.same)
		}
		if !valid.MatchString(up) || !tt.rule.valid(up) {
			t.Errorf("upstreamName(%q) = %q breaks the rule", tt.name, up)
		}
		if again := tt.rule.upstreamName(tt.name); again != up {
			t.Errorf("upstreamName(%q) gave %q, then %q", tt.name, up, again)
		}
	}
	// Two long names that share their first 64 characters stay apart.
	a, b := openaiNames.upstreamName(long+"_a"), openaiNames.upstreamName(long+"_b")
	if a == b {
		t.Errorf("two names mapped to %q", a)
	}
}
