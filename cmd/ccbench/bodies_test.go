package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestBuildBody(t *testing.T) {
	tests := []struct {
		name           string
		size           bodySize
		stream         bool
		minLen, maxLen int
		tools          int
		toolResults    int
	}{
		{"small", bodySmall, false, 1500, 2600, 1, 0},
		{"small stream", bodySmall, true, 1500, 2600, 1, 0},
		{"large", bodyLarge, false, 80_000, 100_000, 24, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := buildBody(tt.size, tt.stream, "claude-sonnet-5")
			if len(b) < tt.minLen || len(b) > tt.maxLen {
				t.Errorf("len = %d, want %d..%d", len(b), tt.minLen, tt.maxLen)
			}
			if !bytes.HasPrefix(b, []byte(`{"model":"claude-sonnet-5","messages":`)) {
				t.Errorf("body starts %.60q, want model then messages (Claude Code's key order)", b)
			}
			var req struct {
				Messages []struct {
					Role    string `json:"role"`
					Content []struct {
						Type         string          `json:"type"`
						CacheControl json.RawMessage `json:"cache_control"`
					} `json:"content"`
				} `json:"messages"`
				System []struct {
					CacheControl json.RawMessage `json:"cache_control"`
				} `json:"system"`
				Tools []struct {
					InputSchema map[string]any `json:"input_schema"`
				} `json:"tools"`
				Stream *bool `json:"stream"`
			}
			if err := json.Unmarshal(b, &req); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if len(req.System) != 3 || req.System[0].CacheControl != nil || req.System[2].CacheControl == nil {
				t.Errorf("system blocks: want 3, the last two with cache_control")
			}
			if len(req.Tools) != tt.tools {
				t.Errorf("tools = %d, want %d", len(req.Tools), tt.tools)
			}
			for _, tl := range req.Tools {
				if tl.InputSchema["$schema"] == nil || tl.InputSchema["additionalProperties"] != false {
					t.Errorf("tool schema %v lacks $schema or additionalProperties:false", tl.InputSchema)
				}
			}
			systemMessages, results := 0, 0
			for _, m := range req.Messages {
				if m.Role == "system" {
					systemMessages++
				}
				for _, c := range m.Content {
					if c.Type == "tool_result" {
						results++
					}
				}
			}
			if systemMessages != 1 || req.Messages[1].Role != "system" {
				t.Errorf("want one role:system message right after the first user turn")
			}
			if results != tt.toolResults {
				t.Errorf("tool results = %d, want %d", results, tt.toolResults)
			}
			if (req.Stream != nil) != tt.stream {
				t.Errorf("stream key present = %v, want %v (omitted, not false, when not streaming)", req.Stream != nil, tt.stream)
			}
			if !bytes.Equal(b, buildBody(tt.size, tt.stream, "claude-sonnet-5")) {
				t.Errorf("bodies differ between calls; they must be deterministic")
			}
		})
	}
}
