package proxy

import (
	"io"
	"net/http"
	"testing"
)

// TestReqBodyReferences: a pooled body buffer is not reused while an
// upstream reader of it is still open, and a reader closed twice releases once.
func TestReqBodyReferences(t *testing.T) {
	t.Parallel()
	rb := newReqBody(5)
	copy(*rb.buf, "hello")
	out, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	setBody(out, rb, (*rb.buf)[:2], []byte("XX"), (*rb.buf)[2:])
	again, _ := out.GetBody()
	if got := rb.refs.Load(); got != 3 {
		t.Fatalf("refs = %d, want 3 (handler, Body, GetBody)", got)
	}
	rb.release() // the handler is done
	b, _ := io.ReadAll(out.Body)
	if string(b) != "heXXllo" || out.ContentLength != 7 {
		t.Fatalf("body %q, length %d", b, out.ContentLength)
	}
	out.Body.Close()
	out.Body.Close()
	if got := rb.refs.Load(); got != 1 {
		t.Fatalf("refs = %d after one reader closed twice, want 1", got)
	}
	again.Close()
	if got := rb.refs.Load(); got != 0 {
		t.Fatalf("refs = %d, want 0", got)
	}
	var nilBody *reqBody
	nilBody.release() // nil-safe
}
