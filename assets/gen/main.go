// Command gen draws ccbalancer's tray icons and writes them as PNG and ICO files
// into the assets directory. Run it with `go generate ./assets`; the outputs are
// committed so that builds need no generation step.
//
// Every state has its own colour and its own glyph (check, exclamation mark,
// cross, square), so the states stay apart for people who cannot tell the
// colours apart and on monochrome panels.
package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"
)

// sizes of the PNG files per state; the ICO holds the same sizes.
var sizes = []int{16, 22, 24, 32, 48, 64}

type state struct {
	name  string
	fill  color.NRGBA
	glyph []shape
}

func main() {
	out := flag.String("out", ".", "directory to write the icons to")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(dir string) error {
	for _, s := range states() {
		var pngs [][]byte
		for _, size := range sizes {
			b, err := encodePNG(draw(s, size))
			if err != nil {
				return fmt.Errorf("encoding %s at %d px: %w", s.name, size, err)
			}
			pngs = append(pngs, b)
			name := filepath.Join(dir, fmt.Sprintf("%s-%d.png", s.name, size))
			if err := os.WriteFile(name, b, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
		}
		name := filepath.Join(dir, s.name+".ico")
		if err := os.WriteFile(name, encodeICO(sizes, pngs), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return nil
}

// states lists the four icon states. Glyph coordinates are in a unit square.
func states() []state {
	return []state{
		{"healthy", color.NRGBA{0x2e, 0x9d, 0x4f, 0xff}, []shape{
			capsule{0.30, 0.52, 0.44, 0.66, 0.075},
			capsule{0.44, 0.66, 0.71, 0.36, 0.075},
		}},
		{"degraded", color.NRGBA{0xe0, 0x8e, 0x0b, 0xff}, []shape{
			capsule{0.5, 0.24, 0.5, 0.50, 0.08},
			capsule{0.5, 0.74, 0.5, 0.74, 0.08},
		}},
		{"down", color.NRGBA{0xd0, 0x31, 0x2d, 0xff}, []shape{
			capsule{0.33, 0.33, 0.67, 0.67, 0.075},
			capsule{0.67, 0.33, 0.33, 0.67, 0.075},
		}},
		{"stopped", color.NRGBA{0x75, 0x7b, 0x82, 0xff}, []shape{
			box{0.34, 0.34, 0.66, 0.66, 0.04},
		}},
	}
}

// shape is a region of the unit square.
type shape interface{ inside(x, y float64) bool }

// capsule is a line segment with round ends and half-width r.
type capsule struct{ x1, y1, x2, y2, r float64 }

func (c capsule) inside(x, y float64) bool {
	dx, dy := c.x2-c.x1, c.y2-c.y1
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((x-c.x1)*dx+(y-c.y1)*dy)/l))
	}
	px, py := c.x1+t*dx-x, c.y1+t*dy-y
	return px*px+py*py <= c.r*c.r
}

// box is a rectangle with corners rounded by r.
type box struct{ x1, y1, x2, y2, r float64 }

func (b box) inside(x, y float64) bool {
	cx := math.Max(b.x1+b.r, math.Min(b.x2-b.r, x))
	cy := math.Max(b.y1+b.r, math.Min(b.y2-b.r, y))
	dx, dy := x-cx, y-cy
	return dx*dx+dy*dy <= b.r*b.r
}

// draw renders a state at size×size pixels: a filled disk with a white glyph,
// 8×8 supersampled so edges stay smooth at 16 px.
func draw(s state, size int) *image.NRGBA {
	const ss = 8
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var disk, glyph int
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/ss) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/ss) / float64(size)
					if (x-0.5)*(x-0.5)+(y-0.5)*(y-0.5) > 0.47*0.47 {
						continue
					}
					disk++
					for _, g := range s.glyph {
						if g.inside(x, y) {
							glyph++
							break
						}
					}
				}
			}
			if disk == 0 {
				continue
			}
			// Blend the glyph over the disk, then give the pixel the disk's coverage.
			f := float64(glyph) / float64(disk)
			mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a)*(1-f) + float64(b)*f)) }
			img.SetNRGBA(px, py, color.NRGBA{
				R: mix(s.fill.R, white.R),
				G: mix(s.fill.G, white.G),
				B: mix(s.fill.B, white.B),
				A: uint8(math.Round(255 * float64(disk) / ss / ss)),
			})
		}
	}
	return img
}

func encodePNG(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestCompression}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// encodeICO packs PNG images into an ICO file (PNG entries are understood since
// Windows Vista).
func encodeICO(sizes []int, pngs [][]byte) []byte {
	var buf bytes.Buffer
	le := binary.LittleEndian
	header := make([]byte, 6)
	le.PutUint16(header[2:], 1) // type: icon
	le.PutUint16(header[4:], uint16(len(pngs)))
	buf.Write(header)
	offset := 6 + 16*len(pngs)
	for i, p := range pngs {
		e := make([]byte, 16)
		dim := byte(sizes[i])
		if sizes[i] >= 256 {
			dim = 0
		}
		e[0], e[1] = dim, dim
		le.PutUint16(e[4:], 1)  // colour planes
		le.PutUint16(e[6:], 32) // bits per pixel
		le.PutUint32(e[8:], uint32(len(p)))
		le.PutUint32(e[12:], uint32(offset))
		offset += len(p)
		buf.Write(e)
	}
	for _, p := range pngs {
		buf.Write(p)
	}
	return buf.Bytes()
}
