package main

import (
	"io"
	"log"
	"net/url"
	"testing"
)

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
