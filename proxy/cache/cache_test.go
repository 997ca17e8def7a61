package cache

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func keys(c *Cache[string, string]) []string {
	var out []string
	for el := c.ll.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*entry[string, string]).key)
	}
	return out
}

func TestCache(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	tests := []struct {
		name   string
		limits Limits
		do     func(c *Cache[string, string])
		want   []string // keys left, most recently used first
		get    map[string]bool
	}{
		{"hit within the ttl", Limits{TTL: time.Minute, MaxEntries: 10, MaxBytes: 100}, func(c *Cache[string, string]) {
			c.Put("a", "A", 1)
			clk.t = clk.t.Add(59 * time.Second)
		}, []string{"a"}, map[string]bool{"a": true}},
		{"miss after the ttl", Limits{TTL: time.Minute, MaxEntries: 10, MaxBytes: 100}, func(c *Cache[string, string]) {
			c.Put("a", "A", 1)
			clk.t = clk.t.Add(time.Minute)
		}, nil, map[string]bool{"a": false}},
		{"evicted by entries, least recently used first", Limits{TTL: time.Hour, MaxEntries: 2, MaxBytes: 100}, func(c *Cache[string, string]) {
			c.Put("a", "A", 1)
			c.Put("b", "B", 1)
			c.Get("a")
			c.Put("c", "C", 1)
		}, []string{"c", "a"}, map[string]bool{"b": false}},
		{"evicted by bytes", Limits{TTL: time.Hour, MaxEntries: 10, MaxBytes: 10}, func(c *Cache[string, string]) {
			c.Put("a", "A", 4)
			c.Put("b", "B", 4)
			c.Put("c", "C", 4)
		}, []string{"b", "c"}, map[string]bool{"a": false, "b": true}}, // the Get moved b to the front
		{"larger than the byte limit: not kept", Limits{TTL: time.Hour, MaxEntries: 10, MaxBytes: 10}, func(c *Cache[string, string]) {
			c.Put("a", "A", 4)
			c.Put("big", "B", 11)
		}, []string{"a"}, map[string]bool{"big": false}},
		{"off with a zero ttl", Limits{TTL: 0, MaxEntries: 10, MaxBytes: 10}, func(c *Cache[string, string]) {
			c.Put("a", "A", 1)
		}, nil, map[string]bool{"a": false}},
		{"lower limits evict at once", Limits{TTL: time.Hour, MaxEntries: 10, MaxBytes: 100}, func(c *Cache[string, string]) {
			c.Put("a", "A", 1)
			c.Put("b", "B", 1)
			c.Put("c", "C", 1)
			c.SetLimits(Limits{TTL: time.Hour, MaxEntries: 1, MaxBytes: 100})
		}, []string{"c"}, nil},
		{"a second put replaces", Limits{TTL: time.Hour, MaxEntries: 10, MaxBytes: 100}, func(c *Cache[string, string]) {
			c.Put("a", "A", 5)
			c.Put("a", "A2", 7)
		}, []string{"a"}, map[string]bool{"a": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New[string, string](tt.limits, clk.now)
			tt.do(c)
			for k, want := range tt.get {
				if _, got := c.Get(k); got != want {
					t.Errorf("Get(%q) found = %v, want %v", k, got, want)
				}
			}
			if diff := cmp.Diff(tt.want, keys(c)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			var bytes int64
			for el := c.ll.Front(); el != nil; el = el.Next() {
				bytes += el.Value.(*entry[string, string]).size
			}
			if n, b := c.Len(); n != len(tt.want) || b != bytes {
				t.Errorf("Len() = %d, %d; want %d, %d", n, b, len(tt.want), bytes)
			}
		})
	}
}
