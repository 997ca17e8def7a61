package openai

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"iter"
	"math/bits"
	"strconv"
)

// cursor reads a JSON document one value at a time, validating what it
// reads, without decoding anything it is not asked for: a string comes back
// as its raw, still-escaped bytes, which can be written into another JSON
// document as they are. Conversion copies most of a request this way (the
// prompts, tool results and schemas are nearly all of its bytes), so the
// body is read once and nothing is unescaped and escaped again.
//
// The first error sticks: every later call returns zero values, and loops
// over objects and arrays end. Callers check err once, at the end.
type cursor struct {
	b   []byte
	i   int
	err error
}

// maxNesting bounds the depth of skipped values, so that a hostile body
// cannot exhaust the stack.
const maxNesting = 512

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("invalid JSON at byte %d: %s", c.i, fmt.Sprintf(format, args...))
	}
	c.i = len(c.b)
}

func (c *cursor) ws() {
	if c.i < len(c.b) && c.b[c.i] > ' ' {
		return // compact JSON: the usual case
	}
	for c.i < len(c.b) {
		switch c.b[c.i] {
		case ' ', '\t', '\n', '\r':
			c.i++
		default:
			return
		}
	}
}

// peek returns the first byte of the next value ('"', '{', '[', 't', 'f',
// 'n', '-' or a digit), 0 at the end or after an error.
func (c *cursor) peek() byte {
	c.ws()
	if c.err != nil || c.i >= len(c.b) {
		return 0
	}
	return c.b[c.i]
}

func (c *cursor) eat(ch byte) bool {
	c.ws()
	if c.i < len(c.b) && c.b[c.i] == ch {
		c.i++
		return true
	}
	return false
}

// object starts reading an object; false (with an error) if the next value
// is not one. Its members are then read with key.
func (c *cursor) object() bool {
	if c.err != nil {
		return false
	}
	if !c.eat('{') {
		c.fail("expected an object")
		return false
	}
	return true
}

// key returns the next member's key of the object being read, after its
// ':' (the value is next), or ok=false at the object's end. n counts the
// members read so far; start it at 0. A key with escapes is unescaped.
func (c *cursor) key(n *int) (key []byte, ok bool) {
	if c.err != nil {
		return nil, false
	}
	if *n == 0 {
		if c.eat('}') {
			return nil, false
		}
	} else if !c.eat(',') {
		if c.eat('}') {
			return nil, false
		}
		c.fail("expected ',' or '}' in an object")
		return nil, false
	}
	*n++
	c.ws()
	raw, esc := c.str()
	if !c.eat(':') {
		c.fail("expected ':' after an object key")
		return nil, false
	}
	if esc {
		raw = appendUnescaped(nil, raw)
	}
	return raw, c.err == nil
}

// members reads an object member by member: it yields each key with the
// cursor on the member's value, which the loop body must read or skip. A
// value that is not an object is an error (as object) and yields nothing.
// The loop runs to the object's end; a body that stops early leaves the
// cursor inside the object.
func (c *cursor) members() iter.Seq[[]byte] {
	return func(yield func([]byte) bool) {
		if !c.object() {
			return
		}
		n := 0
		for {
			key, ok := c.key(&n)
			if !ok || !yield(key) {
				return
			}
		}
	}
}

// elems reads an array element by element: it yields each element's index
// (from 0) with the cursor on the element, which the loop body must read or
// skip. A value that is not an array is an error (as array) and yields
// nothing. The loop runs to the array's end; a body that stops early leaves
// the cursor inside the array.
func (c *cursor) elems() iter.Seq[int] {
	return func(yield func(int) bool) {
		if !c.array() {
			return
		}
		n := 0
		for c.elem(&n) {
			if !yield(n - 1) {
				return
			}
		}
	}
}

// array starts reading an array; false (with an error) if the next value is
// not one. Its elements are then read after each elem.
func (c *cursor) array() bool {
	if c.err != nil {
		return false
	}
	if !c.eat('[') {
		c.fail("expected an array")
		return false
	}
	return true
}

// elem reports whether the array being read has another element, which is
// then the next value. n counts the elements read so far; start it at 0.
func (c *cursor) elem(n *int) bool {
	if c.err != nil {
		return false
	}
	if *n == 0 {
		if c.eat(']') {
			return false
		}
	} else if !c.eat(',') {
		if c.eat(']') {
			return false
		}
		c.fail("expected ',' or ']' in an array")
		return false
	}
	*n++
	return true
}

// str reads a string and returns its raw content between the quotes, and
// whether it holds escapes. The string is scanned eight bytes at a time for
// the bytes that need a look (a quote, a backslash, a control character),
// so that a string of any length is read in one pass.
func (c *cursor) str() (raw []byte, esc bool) {
	c.ws()
	if c.err != nil {
		return nil, false
	}
	if c.i >= len(c.b) || c.b[c.i] != '"' {
		c.fail("expected a string")
		return nil, false
	}
	c.i++
	start := c.i
	b := c.b
	for {
		i := c.i
		for i+8 <= len(b) {
			if m := specialBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
			i++
		}
	found:
		c.i = i
		if i >= len(b) {
			c.fail("unterminated string")
			return nil, false
		}
		switch b[i] {
		case '"':
			c.i++
			return b[start:i], esc
		case '\\':
		default:
			c.fail("control character in a string")
			return nil, false
		}
		esc = true
		if i+1 >= len(b) {
			c.fail("unterminated string")
			return nil, false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			c.i += 2
		case 'u':
			if i+6 > len(b) || !isHex4(b[i+2:i+6]) {
				c.fail("bad unicode escape")
				return nil, false
			}
			c.i += 6
		default:
			c.fail("bad escape in a string")
			return nil, false
		}
	}
}

// specialBytes returns x (eight bytes of a string) with the high bit set in
// the first byte that is a quote, a backslash or below 0x20, and maybe in
// bytes after it; zero when there is none. (v - 0x0101…01) &^ v &
// 0x8080…80 flags the bytes of v that are zero, exactly up to the first.
func specialBytes(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q := x ^ (ones * '"')
	bs := x ^ (ones * '\\')
	return ((q-ones)&^q | (bs-ones)&^bs | (x-ones*0x20)&^x) & highs
}

// text reads a string and returns its value; a value that is not a string
// is skipped and gives "".
func (c *cursor) text() string {
	if c.peek() != '"' {
		c.skip()
		return ""
	}
	raw, esc := c.str()
	if esc {
		return string(appendUnescaped(make([]byte, 0, len(raw)), raw))
	}
	return string(raw)
}

// rawText reads a string and returns its raw content, or nil (the value
// skipped) if it is not a string.
func (c *cursor) rawText() []byte {
	if c.peek() != '"' {
		c.skip()
		return nil
	}
	raw, _ := c.str()
	return raw
}

// int reads a number as an integer; ok is false (the value skipped) for
// anything else, or a number with a fraction.
func (c *cursor) int() (n int64, ok bool) {
	p := c.peek()
	if p != '-' && (p < '0' || p > '9') {
		c.skip()
		return 0, false
	}
	raw := c.num()
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(raw), 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0, false
		}
		return int64(f), true
	}
	return v, true
}

// number reads a number and returns its text, or nil (the value skipped)
// for anything else.
func (c *cursor) number() []byte {
	p := c.peek()
	if p != '-' && (p < '0' || p > '9') {
		c.skip()
		return nil
	}
	return c.num()
}

// boolean reads true or false; anything else is skipped and gives false.
func (c *cursor) boolean() bool {
	switch c.peek() {
	case 't':
		c.lit("true")
		return c.err == nil
	default:
		c.skip()
		return false
	}
}

// null reads a null and reports whether there was one (nothing is read
// otherwise).
func (c *cursor) null() bool {
	if c.peek() == 'n' {
		c.lit("null")
		return c.err == nil
	}
	return false
}

// raw reads any value and returns its bytes.
func (c *cursor) raw() []byte {
	c.ws()
	start := c.i
	c.skip()
	if c.err != nil {
		return nil
	}
	return c.b[start:c.i]
}

// skip reads and validates any value. Skipped values are most of a
// request's structure (the tools' JSON Schemas), so this is one loop with
// its own stack of open containers rather than a recursion through key and
// elem.
func (c *cursor) skip() {
	var stack [maxNesting]byte
	depth := 0
	b := c.b
	for {
		c.ws()
		if c.err != nil {
			return
		}
		if c.i >= len(b) {
			c.fail("unexpected end of input")
			return
		}
		switch ch := b[c.i]; {
		case ch == '"':
			c.str()
		case ch == '{' || ch == '[':
			c.i++
			closer := byte('}')
			if ch == '[' {
				closer = ']'
			}
			c.ws()
			if c.i < len(b) && b[c.i] == closer {
				c.i++
				break // empty: a whole value
			}
			if depth == maxNesting {
				c.fail("nesting too deep")
				return
			}
			stack[depth] = ch
			depth++
			if ch == '{' {
				c.str()
				if !c.eat(':') {
					c.fail("expected ':' after an object key")
				}
			}
			continue // its first value
		case ch == 't':
			c.lit("true")
		case ch == 'f':
			c.lit("false")
		case ch == 'n':
			c.lit("null")
		case ch == '-' || ch >= '0' && ch <= '9':
			c.num()
		default:
			c.fail("unexpected character %q", ch)
		}
		// A value is complete: close the containers it completes, up to
		// the next member or element.
		for c.err == nil && depth > 0 {
			c.ws()
			if c.i >= len(b) {
				c.fail("unexpected end of input")
				return
			}
			top := stack[depth-1]
			if b[c.i] == ',' {
				c.i++
				if top == '{' {
					c.str()
					if !c.eat(':') {
						c.fail("expected ':' after an object key")
					}
				}
				break
			}
			if top == '{' && b[c.i] == '}' || top == '[' && b[c.i] == ']' {
				c.i++
				depth--
				continue
			}
			c.fail("expected ',' or the end of the %s", map[byte]string{'{': "object", '[': "array"}[top])
		}
		if c.err != nil || depth == 0 {
			return
		}
	}
}

func (c *cursor) lit(w string) {
	if !bytes.HasPrefix(c.b[c.i:], []byte(w)) {
		c.fail("invalid literal")
		return
	}
	c.i += len(w)
}

func (c *cursor) num() []byte {
	start := c.i
	if c.i < len(c.b) && c.b[c.i] == '-' {
		c.i++
	}
	digits := func() int {
		n := 0
		for c.i < len(c.b) && c.b[c.i] >= '0' && c.b[c.i] <= '9' {
			c.i++
			n++
		}
		return n
	}
	switch {
	case c.i < len(c.b) && c.b[c.i] == '0':
		c.i++
	case digits() == 0:
		c.fail("invalid number")
		return nil
	}
	if c.i < len(c.b) && c.b[c.i] == '.' {
		c.i++
		if digits() == 0 {
			c.fail("invalid number")
			return nil
		}
	}
	if c.i < len(c.b) && (c.b[c.i] == 'e' || c.b[c.i] == 'E') {
		c.i++
		if c.i < len(c.b) && (c.b[c.i] == '+' || c.b[c.i] == '-') {
			c.i++
		}
		if digits() == 0 {
			c.fail("invalid number")
			return nil
		}
	}
	return c.b[start:c.i]
}

// end checks that nothing but white space follows the document.
func (c *cursor) end() {
	c.ws()
	if c.err == nil && c.i != len(c.b) {
		c.fail("unexpected data after the JSON value")
	}
}

func isHex4(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
