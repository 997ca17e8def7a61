// Package assets holds ccbalancer's embedded icons: one per tray state, as PNG
// (Linux, macOS, notifications) and ICO (Windows). The files are drawn by
// ./gen and committed.
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

// Icon states, from best to worst, then stopped.
const (
	Healthy  State = "healthy"  // every enabled provider is in rotation
	Degraded State = "degraded" // some providers are cooling down
	Down     State = "down"     // every enabled provider is cooling down
	Stopped  State = "stopped"  // the proxy is not listening
)

// States lists every icon state.
var States = []State{Healthy, Degraded, Down, Stopped}

// Sizes lists the PNG sizes embedded for every state, in pixels.
var Sizes = []int{16, 22, 24, 32, 48, 64}

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
