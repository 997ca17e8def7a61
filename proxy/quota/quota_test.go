package quota

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 12, 1, 13, 5, 0, 0, time.UTC)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		h    http.Header
		want Info
	}{
		{"nothing", hdr("Content-Type", "application/json"), Info{}},
		{"retry-after seconds", hdr("Retry-After", "30"), Info{RetryAfter: 30 * time.Second}},
		{"retry-after date", hdr("Retry-After", now.Add(2*time.Minute).Format(http.TimeFormat)), Info{RetryAfter: 2 * time.Minute}},
		{"retry-after garbage", hdr("Retry-After", "soon"), Info{}},
		{"anthropic API", hdr(
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-reset", "2026-12-01T13:05:40Z",
			"anthropic-ratelimit-input-tokens-limit", "30000",
			"anthropic-ratelimit-input-tokens-remaining", "27000",
			"anthropic-ratelimit-input-tokens-reset", "2026-12-01T13:06:00Z",
			"anthropic-ratelimit-tokens-limit", "38000",
			"anthropic-ratelimit-tokens-remaining", "35000",
			"anthropic-ratelimit-tokens-reset", "2026-12-01T13:06:00Z",
			"anthropic-ratelimit-output-tokens-limit", "8000",
			"anthropic-ratelimit-output-tokens-remaining", "8000",
			"anthropic-ratelimit-output-tokens-reset", "2026-12-01T13:05:01Z",
			"retry-after", "40"),
			Info{RetryAfter: 40 * time.Second, Windows: []Window{
				{Name: "requests", Limit: 50, Remaining: 0, Utilization: -1, Reset: now.Add(40 * time.Second)},
				{Name: "tokens", Limit: 38000, Remaining: 35000, Utilization: -1, Reset: now.Add(time.Minute)},
				{Name: "input-tokens", Limit: 30000, Remaining: 27000, Utilization: -1, Reset: now.Add(time.Minute)},
				{Name: "output-tokens", Limit: 8000, Remaining: 8000, Utilization: -1, Reset: now.Add(time.Second)},
			}}},
		{"subscription", hdr(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", "1764612000",
			"anthropic-ratelimit-unified-representative-claim", "five_hour",
			"anthropic-ratelimit-unified-5h-status", "rejected",
			"anthropic-ratelimit-unified-5h-reset", "1764612000",
			"anthropic-ratelimit-unified-5h-utilization", "1.0",
			"anthropic-ratelimit-unified-7d-status", "allowed",
			"anthropic-ratelimit-unified-7d-reset", "1765000000",
			"anthropic-ratelimit-unified-7d-utilization", "0.42"),
			Info{Windows: []Window{
				{Name: "5h", Limit: -1, Remaining: -1, Utilization: 1, Status: "rejected", Reset: time.Unix(1764612000, 0)},
				{Name: "7d", Limit: -1, Remaining: -1, Utilization: 0.42, Status: "allowed", Reset: time.Unix(1765000000, 0)},
				{Name: "unified", Limit: -1, Remaining: -1, Utilization: -1, Status: "rejected", Reset: time.Unix(1764612000, 0)},
			}}},
		{"openai", hdr(
			"x-ratelimit-limit-requests", "10000",
			"x-ratelimit-remaining-requests", "9999",
			"x-ratelimit-reset-requests", "6m0s",
			"x-ratelimit-limit-tokens", "1000000",
			"x-ratelimit-remaining-tokens", "0",
			"x-ratelimit-reset-tokens", "20ms"),
			Info{Windows: []Window{
				{Name: "requests", Limit: 10000, Remaining: 9999, Utilization: -1, Reset: now.Add(6 * time.Minute)},
				{Name: "tokens", Limit: 1000000, Remaining: 0, Utilization: -1, Reset: now.Add(20 * time.Millisecond)},
			}}},
		{"openai-compatible seconds and unix", hdr(
			"x-ratelimit-remaining-requests", "3",
			"x-ratelimit-reset-requests", "1.5",
			"x-ratelimit-reset-tokens", "1764612000"),
			Info{Windows: []Window{
				{Name: "requests", Limit: -1, Remaining: 3, Utilization: -1, Reset: now.Add(1500 * time.Millisecond)},
				{Name: "tokens", Limit: -1, Remaining: -1, Utilization: -1, Reset: time.Unix(1764612000, 0)},
			}}},
		{"malformed values are unknown", hdr(
			"anthropic-ratelimit-requests-remaining", "-3",
			"anthropic-ratelimit-unified-5h-utilization", "lots"), Info{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Parse(tt.h, now)); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWaitAndUse(t *testing.T) {
	hours := now.Add(4 * time.Hour)
	tests := []struct {
		name     string
		h        http.Header
		wait     time.Duration
		used     float64
		until    time.Time
		exhausts bool
	}{
		{"429 with retry-after only", hdr("retry-after", "20"), 20 * time.Second, -1, time.Time{}, false},
		{"subscription window used up for hours", hdr(
			"anthropic-ratelimit-unified-status", "rejected",
			"anthropic-ratelimit-unified-reset", itoa(hours.Unix()),
			"anthropic-ratelimit-unified-5h-utilization", "1",
			"anthropic-ratelimit-unified-5h-reset", itoa(hours.Unix()),
			"retry-after", "60"), 4 * time.Hour, 1, hours, true},
		{"requests exhausted, tokens not: the later exhausted reset counts", hdr(
			"anthropic-ratelimit-requests-remaining", "0",
			"anthropic-ratelimit-requests-limit", "50",
			"anthropic-ratelimit-requests-reset", now.Add(30*time.Second).Format(time.RFC3339),
			"anthropic-ratelimit-tokens-remaining", "100",
			"anthropic-ratelimit-tokens-limit", "1000",
			"anthropic-ratelimit-tokens-reset", now.Add(50*time.Second).Format(time.RFC3339)),
			30 * time.Second, 1, now.Add(30 * time.Second), true},
		{"close to the limit", hdr(
			"x-ratelimit-limit-tokens", "1000",
			"x-ratelimit-remaining-tokens", "50",
			"x-ratelimit-reset-tokens", "1m"), 0, 0.95, time.Time{}, false},
		{"utilization in percent", hdr("anthropic-ratelimit-unified-7d-utilization", "87.5"), 0, 0.875, time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info := Parse(tt.h, now)
			if got := info.Wait(now); got != tt.wait {
				t.Errorf("Wait = %v, want %v", got, tt.wait)
			}
			if got := info.Used(); got != tt.used {
				t.Errorf("Used = %v, want %v", got, tt.used)
			}
			until, ok := info.ExhaustedUntil()
			if ok != tt.exhausts || !until.Equal(tt.until) {
				t.Errorf("ExhaustedUntil = %v, %v; want %v, %v", until, ok, tt.until, tt.exhausts)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
