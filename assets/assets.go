// Package assets holds ccbalancer's embedded icons: one per tray state, as PNG
// (Linux, macOS, notifications) and ICO (Windows). The files are drawn by
// ./gen and committed; ./gen also draws ccbalancer.icns, the macOS
// application icon, which packaging uses and the binary does not embed.
package assets

import (
	"embed"
	"fmt"
)

//go:generate go run ./gen -out .

//go:embed *.png *.ico
var files embed.FS

// State is what the tray icon shows.
type State string

// Icon states, from best to worst, then stopped and attention.
const (
	Healthy  State = "healthy"  // every enabled provider is in rotation
	Degraded State = "degraded" // some providers are out of rotation
	Down     State = "down"     // no provider or route can serve
	Stopped  State = "stopped"  // the proxy is not listening
	// Attention: the user must act: a provider's key was rejected or its
	// credit is used up, or the configuration does not load, or the port
	// is taken.
	Attention State = "attention"
)

// States lists every icon state.
var States = []State{Healthy, Degraded, Down, Stopped, Attention}

// Sizes lists the PNG sizes embedded for every state, in pixels; each
// state's ICO holds the same sizes.
var Sizes = []int{16, 22, 24, 32, 48, 64, 128, 256}

// PNG returns the state's icon at size pixels (one of Sizes).
func PNG(s State, size int) ([]byte, error) {
	b, err := files.ReadFile(fmt.Sprintf("%s-%d.png", s, size))
	if err != nil {
		return nil, fmt.Errorf("icon %s at %d px: %w", s, size, err)
	}
	return b, nil
}

// ICO returns the state's icon as a Windows ICO holding every size.
func ICO(s State) ([]byte, error) {
	b, err := files.ReadFile(string(s) + ".ico")
	if err != nil {
		return nil, fmt.Errorf("icon %s: %w", s, err)
	}
	return b, nil
}

// AppIcon is the application's icon for notifications: the healthy state at 64 px.
func AppIcon() []byte {
	b, err := PNG(Healthy, 64)
	if err != nil {
		// The file is embedded at build time; its absence is a build defect.
		panic(err)
	}
	return b
}
