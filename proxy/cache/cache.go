// Package cache is the response cache (the original project's cache_ttl and
// cache_size_limit): complete answers kept for a time to live, bounded by a
// number of entries and by their bytes, the least recently used evicted
// first.
package cache

import (
	"container/list"
	"sync"
	"time"
)

// Limits bound a Cache. A zero TTL turns it off.
type Limits struct {
	TTL time.Duration
	// MaxEntries and MaxBytes bound what is kept; zero means no entry fits.
	MaxEntries int
	MaxBytes   int64
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	size    int64
	expires time.Time
}

// Cache maps keys to values with a size each. It is safe for concurrent
// use. Time comes from the clock given to New.
type Cache[K comparable, V any] struct {
	now func() time.Time

	mu     sync.Mutex
	limits Limits
	ll     *list.List // front: most recently used
	m      map[K]*list.Element
	bytes  int64
}

// New returns an empty Cache with the given limits; now is its clock
// (time.Now when nil).
func New[K comparable, V any](limits Limits, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[K, V]{now: now, limits: limits, ll: list.New(), m: make(map[K]*list.Element)}
}

// Enabled reports whether the cache keeps anything.
func (c *Cache[K, V]) Enabled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.limits.TTL > 0 && c.limits.MaxEntries > 0 && c.limits.MaxBytes > 0
}

// SetLimits changes the limits, evicting what no longer fits.
func (c *Cache[K, V]) SetLimits(l Limits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.limits = l
	c.evictLocked()
}

// Clear empties the cache.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.m)
	c.bytes = 0
}

// Get returns the value for k if it is there and has not expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var zero V
	el, ok := c.m[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !c.now().Before(e.expires) {
		c.removeLocked(el)
		return zero, false
	}
	c.ll.MoveToFront(el)
	return e.val, true
}

// Put stores v of the given size (bytes) for the TTL. A value larger than
// MaxBytes is not stored; older entries are evicted to make room.
func (c *Cache[K, V]) Put(k K, v V, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.limits.TTL <= 0 || c.limits.MaxEntries <= 0 || size > c.limits.MaxBytes {
		return
	}
	if el, ok := c.m[k]; ok {
		c.removeLocked(el)
	}
	e := &entry[K, V]{key: k, val: v, size: size, expires: c.now().Add(c.limits.TTL)}
	c.m[k] = c.ll.PushFront(e)
	c.bytes += size
	c.evictLocked()
}

// Len returns the number of entries and their bytes (expired ones included
// until they are evicted or looked up).
func (c *Cache[K, V]) Len() (entries int, bytes int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.bytes
}

// evictLocked drops expired entries, then the least recently used until the
// limits hold.
func (c *Cache[K, V]) evictLocked() {
	now := c.now()
	for el := c.ll.Back(); el != nil; {
		prev := el.Prev()
		if !now.Before(el.Value.(*entry[K, V]).expires) {
			c.removeLocked(el)
		}
		el = prev
	}
	for c.ll.Len() > 0 && (c.ll.Len() > c.limits.MaxEntries || c.bytes > c.limits.MaxBytes || c.limits.TTL <= 0) {
		c.removeLocked(c.ll.Back())
	}
}

func (c *Cache[K, V]) removeLocked(el *list.Element) {
	e := c.ll.Remove(el).(*entry[K, V])
	delete(c.m, e.key)
	c.bytes -= e.size
}
