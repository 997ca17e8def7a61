package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sseEvent is one parsed server-sent event.
type sseEvent struct {
	Name string
	Data string
}

// parseSSE reads a whole event stream; every event must have a name and one data line.
func parseSSE(t *testing.T, r io.Reader) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.Name == "" || cur.Data == "" {
				t.Fatalf("incomplete event %+v", cur)
			}
			out = append(out, cur)
			cur = sseEvent{}
		case strings.HasPrefix(line, "event: "):
			cur.Name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			cur.Data = strings.TrimPrefix(line, "data: ")
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	if cur != (sseEvent{}) {
		t.Fatalf("stream ended inside an event: %+v", cur)
	}
	return out
}

func post(t *testing.T, srv *httptest.Server, body []byte, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages?beta=true", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestUpstreamStream(t *testing.T) {
	srv := httptest.NewServer(&upstream{events: 50, gap: time.Hour})
	defer srv.Close()
	sc := scenario{Body: buildBody(bodySmall, true, "claude-sonnet-5"), Stream: true, Events: 3, Gap: time.Millisecond}
	resp := post(t, srv, sc.Body, sc.header())
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	events := parseSSE(t, resp.Body)
	var names []string
	for _, e := range events {
		names = append(names, e.Name)
		var data struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal([]byte(e.Data), &data); err != nil {
			t.Errorf("event %s: data is not JSON: %v", e.Name, err)
		}
		if data.Type != e.Name {
			t.Errorf("event %s carries type %q", e.Name, data.Type)
		}
	}
	want := []string{"message_start", "content_block_start", "ping", "content_block_delta", "content_block_delta",
		"content_block_delta", "content_block_stop", "message_delta", "message_stop"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("event sequence (-want +got):\n%s", diff)
	}
	var start struct {
		Message struct {
			Model string `json:"model"`
		} `json:"message"`
	}
	_ = json.Unmarshal([]byte(events[0].Data), &start)
	if start.Message.Model != "claude-sonnet-5" {
		t.Errorf("message_start model = %q, want the request's", start.Message.Model)
	}
}

func TestUpstreamMessage(t *testing.T) {
	srv := httptest.NewServer(&upstream{})
	defer srv.Close()
	resp := post(t, srv, buildBody(bodyLarge, false, "claude-opus-4-8"), clientHeaders())
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if len(b) < 900 || len(b) > 1300 {
		t.Errorf("answer is %d bytes, want ~1 KB", len(b))
	}
	var msg struct {
		Type    string `json:"type"`
		Model   string `json:"model"`
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StopReason string `json:"stop_reason"`
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	if msg.Type != "message" || msg.Model != "claude-opus-4-8" || len(msg.Content) != 1 || msg.StopReason != "end_turn" {
		t.Errorf("answer %+v is not a Messages API message for the request's model", msg)
	}
}

func TestPeekRequest(t *testing.T) {
	tests := []struct {
		body       string
		model      string
		stream, ok bool
	}{
		{`{"model":"m1","messages":[],"stream":true}`, "m1", true, true},
		{`{"model":"m1","messages":[],"stream":true}` + "\n", "m1", true, true},
		{`{"model":"m1","messages":[{"text":"\"stream\":true"}]}`, "m1", false, true},
		{`{"model":"m1","stream":false}`, "m1", false, true},
		{`{"messages":[]}`, "", false, false},
	}
	for _, tt := range tests {
		model, stream, ok := peekRequest([]byte(tt.body))
		if model != tt.model || stream != tt.stream || ok != tt.ok {
			t.Errorf("peekRequest(%s) = %q, %v, %v; want %q, %v, %v", tt.body, model, stream, ok, tt.model, tt.stream, tt.ok)
		}
	}
}

// chatPost sends a Chat Completions body to the fake.
func chatPost(t *testing.T, srv *httptest.Server, body string, h http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestUpstreamChatStream(t *testing.T) {
	srv := httptest.NewServer(&upstream{events: 50, gap: time.Hour})
	defer srv.Close()
	h := http.Header{}
	h.Set(headerEvents, "3")
	h.Set(headerGap, "1ms")
	resp := chatPost(t, srv, `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":true,"stream_options":{"include_usage":true}}`, h)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range strings.Split(strings.TrimSpace(string(b)), "\n\n") {
		data, ok := strings.CutPrefix(ev, "data: ")
		if !ok {
			t.Fatalf("event %q is not a data line", ev)
		}
		if data == "[DONE]" {
			got = append(got, "[DONE]")
			continue
		}
		var chunk struct {
			Model   string `json:"model"`
			Choices []struct {
				Delta struct {
					Content *string `json:"content"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal([]byte(data), &chunk); err != nil {
			t.Fatalf("chunk %s: %v", data, err)
		}
		if chunk.Model != "gpt-4.1" {
			t.Errorf("chunk model %q, want the request's", chunk.Model)
		}
		switch {
		case chunk.Usage != nil:
			got = append(got, "usage")
		case chunk.Choices[0].FinishReason != nil:
			got = append(got, "finish:"+*chunk.Choices[0].FinishReason)
		case chunk.Choices[0].Delta.Content != nil:
			got = append(got, "content:"+*chunk.Choices[0].Delta.Content)
		}
	}
	want := []string{"content:", "content:token 0 of the answer ", "content:token 1 of the answer ", "content:token 2 of the answer ",
		"finish:stop", "usage", "[DONE]"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
}

func TestUpstreamChatCompletion(t *testing.T) {
	srv := httptest.NewServer(&upstream{})
	defer srv.Close()
	resp := chatPost(t, srv, `{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"stream":false}`, http.Header{})
	var c struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		t.Fatal(err)
	}
	if c.Object != "chat.completion" || c.Model != "gpt-4.1" || len(c.Choices) != 1 || c.Choices[0].FinishReason != "stop" || c.Choices[0].Message.Content != answerText {
		t.Errorf("answer %+v is not a chat.completion for the request's model", c)
	}
}
