package openai

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	sdk "github.com/anthropics/anthropic-sdk-go/v2"

	"github.com/ccbalancer/ccbalancer/internal/fake"
)

// sdkBlockTypes returns the "type" values of the content blocks a union of
// the official SDK can hold: each field OfX *T of the union, T's Type field,
// whose Default method gives the value.
func sdkBlockTypes(t *testing.T, union any) []string {
	t.Helper()
	var out []string
	ut := reflect.TypeOf(union)
	for i := range ut.NumField() {
		f := ut.Field(i)
		if !strings.HasPrefix(f.Name, "Of") || f.Type.Kind() != reflect.Pointer {
			continue
		}
		typ := reflect.New(f.Type.Elem()).Elem().FieldByName("Type")
		if !typ.IsValid() {
			t.Fatalf("%s.%s has no Type field", ut.Name(), f.Name)
		}
		def := typ.MethodByName("Default")
		if !def.IsValid() {
			t.Fatalf("%s.%s.Type has no Default method", ut.Name(), f.Name)
		}
		out = append(out, def.Call(nil)[0].String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// minimalBlocks gives each block type the fields it needs to be a valid
// block of the Messages API; a type not listed is sent with its type only.
var minimalBlocks = map[string]string{
	"text":                                   `"text":"x"`,
	"image":                                  `"source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}`,
	"document":                               `"source":{"type":"text","media_type":"text/plain","data":"doc"}`,
	"search_result":                          `"source":"https://example.com","title":"t","content":[{"type":"text","text":"r"}]`,
	"thinking":                               `"thinking":"hmm","signature":"EqoB"`,
	"redacted_thinking":                      `"data":"abc"`,
	"server_tool_use":                        `"id":"srvtoolu_1","name":"web_search","input":{"query":"q"}`,
	"web_search_tool_result":                 `"tool_use_id":"srvtoolu_1","content":[{"type":"web_search_result","title":"T","url":"https://example.com","encrypted_content":"zz"}]`,
	"web_fetch_tool_result":                  `"tool_use_id":"srvtoolu_1","content":{"type":"web_fetch_result","url":"https://example.com","content":{"type":"document","source":{"type":"text","media_type":"text/plain","data":"page"}}}`,
	"advisor_tool_result":                    `"tool_use_id":"srvtoolu_1","content":{"type":"advisor_result","text":"advice"}`,
	"code_execution_tool_result":             `"tool_use_id":"srvtoolu_1","content":{"type":"code_execution_result","stdout":"4","stderr":"","return_code":0,"content":[]}`,
	"bash_code_execution_tool_result":        `"tool_use_id":"srvtoolu_1","content":{"type":"bash_code_execution_result","stdout":"ok","stderr":"","return_code":0,"content":[]}`,
	"text_editor_code_execution_tool_result": `"tool_use_id":"srvtoolu_1","content":{"type":"text_editor_code_execution_view_result","content":"line","file_type":"text"}`,
	"tool_search_tool_result":                `"tool_use_id":"srvtoolu_1","content":{"type":"tool_search_tool_search_result","tool_references":[{"type":"tool_reference","tool_name":"Read"}]}`,
	"mcp_tool_use":                           `"id":"mcptoolu_1","name":"fetch","server_name":"s","input":{}`,
	"mcp_tool_result":                        `"tool_use_id":"mcptoolu_1","content":[{"type":"text","text":"r"}]`,
	"container_upload":                       `"file_id":"file_1"`,
	"compaction":                             `"content":"summary"`,
	"tool_addition":                          `"tool":{"type":"tool_reference","name":"Read"}`,
	"tool_removal":                           `"tool":{"type":"tool_reference","name":"Read"}`,
	"mcp_tool_listing":                       `"mcp_server_name":"s","tools":[]`,
	"fallback":                               `"from":{"model":"a"},"to":{"model":"b"}`,
	"tool_reference":                         `"tool_name":"Read"`,
	"browser_state":                          `"tabs":[{"tab_id":"1","title":"T","url":"https://example.com"}]`,
}

func blockJSON(typ string) string {
	b := `{"type":"` + typ + `"`
	if f, ok := minimalBlocks[typ]; ok {
		b += "," + f
	}
	return b + "}"
}

// TestEveryBlockTypeConverts: every content block type the official SDK
// defines, in a user turn, in an assistant turn and (those a tool result
// may hold) inside a tool result, converts to a valid Chat Completions
// request, by a rule of blocks.go: never an error, never "unknown".
func TestEveryBlockTypeConverts(t *testing.T) {
	types := append(sdkBlockTypes(t, sdk.BetaContentBlockParamUnion{}), sdkBlockTypes(t, sdk.ContentBlockParamUnion{})...)
	slices.Sort(types)
	types = slices.Compact(types)
	inResults := append(sdkBlockTypes(t, sdk.BetaToolResultBlockParamContentUnion{}), sdkBlockTypes(t, sdk.ToolResultBlockParamContentUnion{})...)
	slices.Sort(inResults)
	inResults = slices.Compact(inResults)
	if len(types) < 20 || len(inResults) < 5 {
		t.Fatalf("only %d block types and %d tool-result types read from the SDK", len(types), len(inResults))
	}
	const head = `{"model":"m","max_tokens":100,"tools":[{"name":"Read","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"},`
	check := func(t *testing.T, body string) {
		t.Helper()
		conv, err := ConvertRequest([]byte(body), RequestOptions{})
		if err != nil {
			t.Fatalf("refused: %v\n%s", err, body)
		}
		var req map[string]any
		if err := json.Unmarshal(conv.Body, &req); err != nil {
			t.Fatalf("output is not JSON: %v", err)
		}
		if err := fake.CheckChatShape(req); err != nil {
			t.Errorf("output is not a valid Chat Completions request: %v\n%s", err, conv.Body)
		}
		for _, w := range conv.Warnings {
			if strings.Contains(w, "unknown block type") {
				t.Errorf("no rule for a type the Messages API defines: %s", w)
			}
		}
	}
	for _, typ := range types {
		if typ == "tool_use" || typ == "tool_result" {
			continue // the conversation's own structure: the goldens cover them
		}
		t.Run(typ, func(t *testing.T) {
			check(t, head+`{"role":"user","content":[`+blockJSON(typ)+`]},{"role":"assistant","content":[`+blockJSON(typ)+`]},{"role":"user","content":"go on"}]}`)
		})
	}
	for _, typ := range inResults {
		t.Run("in a tool result/"+typ, func(t *testing.T) {
			check(t, head+`{"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"Read","input":{}}]},`+
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":[`+blockJSON(typ)+`]}]}]}`)
		})
	}
}
