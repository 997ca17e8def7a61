package tokens

import (
	"encoding/json"
	"fmt"
	"strings"
)

// words feed the fixture's prose. The text is made up; only its shape
// (English prose, paths, code) matters for tokenising.
var words = strings.Fields(`the a file path when tool read write edit search run command output
	result directory project test build error change user request code line function return value
	should must never always only before after each every with without into from this that which
	repository branch commit review check format pattern match glob grep bash shell timeout limit
	offset content string number boolean array object schema property required description`)

// prose returns about n bytes of deterministic sentences, seeded by seed.
func prose(seed, n int) string {
	var sb strings.Builder
	for i := 0; sb.Len() < n; i++ {
		w := words[(seed*31+i*7+i*i)%len(words)]
		if i%12 == 0 {
			if i > 0 {
				sb.WriteString(". ")
			}
			w = strings.ToUpper(w[:1]) + w[1:]
		} else {
			sb.WriteByte(' ')
		}
		sb.WriteString(w)
	}
	sb.WriteByte('.')
	return sb.String()
}

// claudeCodeBody builds a count_tokens body shaped like Claude Code's first
// request: three system text blocks, 24 tools whose JSON Schema 2020-12
// definitions make up most of the bytes, user text blocks, a system message
// among the messages, and a tool round trip. It grows the tool
// descriptions until the body is about size bytes.
func claudeCodeBody(size int) []byte {
	toolShare := size * 80 / 100
	perTool := toolShare / 24
	tools := make([]map[string]any, 24)
	for i := range tools {
		props := map[string]any{}
		for p := range 4 {
			props[fmt.Sprintf("%s_%d", words[(i+p)%len(words)], p)] = map[string]any{
				"type":        []string{"string", "number", "boolean", "array"}[p],
				"description": prose(i*10+p, perTool/12),
			}
		}
		tools[i] = map[string]any{
			"name":        fmt.Sprintf("Tool%02d", i),
			"description": prose(i, perTool/2),
			"input_schema": map[string]any{
				"$schema":              "https://json-schema.org/draft/2020-12/schema",
				"type":                 "object",
				"properties":           props,
				"required":             []string{fmt.Sprintf("%s_0", words[i%len(words)])},
				"additionalProperties": false,
			},
		}
	}
	ephemeral := map[string]any{"type": "ephemeral"}
	rest := size - toolShare
	req := map[string]any{
		"model": "claude-opus-4-8",
		"system": []map[string]any{
			{"type": "text", "text": "x-billing-header: fixture"},
			{"type": "text", "text": prose(1000, rest/4), "cache_control": ephemeral},
			{"type": "text", "text": prose(1001, rest/4), "cache_control": ephemeral},
		},
		"messages": []map[string]any{
			{"role": "user", "content": []map[string]any{
				{"type": "text", "text": prose(2000, rest/8)},
				{"type": "text", "text": "Fix the failing test in proxy/route.", "cache_control": ephemeral},
			}},
			{"role": "system", "content": prose(2001, 400)},
			{"role": "assistant", "content": []map[string]any{
				{"type": "text", "text": "I will look at the test first."},
				{"type": "tool_use", "id": "toolu_01", "name": "Tool00", "input": map[string]any{"path": "proxy/route/route_test.go", "limit": 200}},
			}},
			{"role": "user", "content": []map[string]any{
				{"type": "tool_result", "tool_use_id": "toolu_01", "content": "package route\n\n" + prose(2002, rest/8), "cache_control": ephemeral},
			}},
		},
		"tools":    tools,
		"metadata": map[string]any{"user_id": `{"device_id":"d","session_id":"s"}`},
	}
	b, err := json.Marshal(req)
	if err != nil {
		panic(err)
	}
	return b
}
