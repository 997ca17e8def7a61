package config

import (
	"errors"
	"testing"
)

func TestCheckListen(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		key  Secret
		ok   bool
	}{
		{"127.0.0.1:8080", "", true},
		{"127.0.0.2:8080", "", true},
		{"localhost:8080", "", true},
		{"LOCALHOST", "", true},
		{"[::1]:8080", "", true},
		{"::1", "", true},
		{"127.0.0.1", "", true},
		{"0.0.0.0:8080", "", false},
		{"0.0.0.0", "", false},
		{"[::]:8080", "", false},
		{":8080", "", false},
		{"", "", false},
		{"192.168.1.5:8080", "", false},
		{"my-laptop.local:8080", "", false},
		{"localhost.evil.example:8080", "", false},
		{"0.0.0.0:8080", "k", true},
		{":8080", "k", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			s := Defaults()
			s.AuthKey = tt.key
			err := s.CheckListen(tt.addr)
			if tt.ok {
				if err != nil {
					t.Fatalf("CheckListen(%q) = %v, want ok", tt.addr, err)
				}
				return
			}
			var le *ListenError
			if !errors.As(err, &le) || le.Addr != tt.addr {
				t.Fatalf("CheckListen(%q) = %v, want a *ListenError for it", tt.addr, err)
			}
		})
	}
}
