// Command gen draws ccbalancer's icons and writes them into the assets
// directory: per tray state a PNG at every size and a multi-size ICO, and the
// application icon as a macOS ICNS. Run it with `go generate ./assets`; the
// outputs are committed so that builds need no generation step.
//
// The mark is a fork: one stem that splits into two branches, one request
// path spread over providers. The states change the mark's shape as well
// as its colour, so that they stay apart in grey-scale and for people who
// cannot tell the colours apart:
//   - healthy: the whole fork on green;
//   - degraded: one branch left, on amber;
//   - down: both branches cut short, on red;
//   - stopped: the fork alone, without its disk, light grey with a dark
//     rim, readable on light and dark panels alike;
//   - attention: a warning triangle with an exclamation mark.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/jackmordaunt/icns/v3"
	ico "github.com/sergeymakinen/go-ico"
)

// sizes of the PNG files per state; the ICO holds the same sizes.
var sizes = []int{16, 22, 24, 32, 48, 64, 128, 256}

// icnsSize is the size the macOS icon set is drawn at; icns scales it down
// to the other sizes.
const icnsSize = 1024

// style is how a state paints its shapes.
type style int

const (
	// filled: a coloured base with the glyph knocked out in white.
	filled style = iota
	// outline: no base; the glyph in light grey with a dark rim.
	outline
)

type state struct {
	name  string
	fill  color.NRGBA
	style style
	base  shape // the coloured background
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
		var imgs []image.Image
		for _, size := range sizes {
			img := draw(s, size)
			b, err := encodePNG(img)
			if err != nil {
				return fmt.Errorf("encoding %s at %d px: %w", s.name, size, err)
			}
			imgs = append(imgs, img)
			name := filepath.Join(dir, fmt.Sprintf("%s-%d.png", s.name, size))
			if err := os.WriteFile(name, b, 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
		}
		var buf bytes.Buffer
		if err := ico.EncodeAll(&buf, imgs); err != nil {
			return fmt.Errorf("encoding %s.ico: %w", s.name, err)
		}
		name := filepath.Join(dir, s.name+".ico")
		if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		if s.name == "healthy" {
			var buf bytes.Buffer
			if err := icns.Encode(&buf, draw(s, icnsSize)); err != nil {
				return fmt.Errorf("encoding ccbalancer.icns: %w", err)
			}
			name := filepath.Join(dir, "ccbalancer.icns")
			if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
				return fmt.Errorf("writing %s: %w", name, err)
			}
		}
	}
	return nil
}

// The fork, in a unit square (y grows downwards).
var (
	hub        = [2]float64{0.5, 0.53}
	stemFoot   = [2]float64{0.5, 0.80}
	leftTip    = [2]float64{0.29, 0.29}
	rightTip   = [2]float64{0.71, 0.29}
	strokeHalf = 0.075
	tipRadius  = 0.105
)

func stroke(a, b [2]float64) shape { return capsule{a[0], a[1], b[0], b[1], strokeHalf} }

// part returns the point a fraction f of the way from a to b.
func part(a, b [2]float64, f float64) [2]float64 {
	return [2]float64{a[0] + (b[0]-a[0])*f, a[1] + (b[1]-a[1])*f}
}

func fork(left, right bool) []shape {
	g := []shape{stroke(stemFoot, hub)}
	if left {
		g = append(g, stroke(hub, leftTip), disk{leftTip[0], leftTip[1], tipRadius})
	}
	if right {
		g = append(g, stroke(hub, rightTip), disk{rightTip[0], rightTip[1], tipRadius})
	}
	return g
}

var round = disk{0.5, 0.5, 0.47}

// states lists the icon states, in the order of assets.States.
func states() []state {
	return []state{
		{name: "healthy", fill: color.NRGBA{0x1f, 0x8a, 0x43, 0xff}, base: round, glyph: fork(true, true)},
		{name: "degraded", fill: color.NRGBA{0xd9, 0x82, 0x06, 0xff}, base: round, glyph: fork(true, false)},
		{name: "down", fill: color.NRGBA{0xc6, 0x28, 0x28, 0xff}, base: round, glyph: []shape{
			stroke(stemFoot, hub),
			stroke(hub, part(hub, leftTip, 0.45)),
			stroke(hub, part(hub, rightTip, 0.45)),
		}},
		{name: "stopped", fill: color.NRGBA{0xd4, 0xd8, 0xdc, 0xff}, style: outline, glyph: fork(true, true)},
		{name: "attention", fill: color.NRGBA{0xe6, 0x4a, 0x19, 0xff}, base: triangle{}, glyph: []shape{
			capsule{0.5, 0.36, 0.5, 0.62, 0.07},
			disk{0.5, 0.77, 0.075},
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

type disk struct{ x, y, r float64 }

func (d disk) inside(x, y float64) bool { return (x-d.x)*(x-d.x)+(y-d.y)*(y-d.y) <= d.r*d.r }

// triangle is an upright triangle with rounded corners filling the square.
type triangle struct{}

func (triangle) inside(x, y float64) bool {
	// Corners at (0.5, 0.08), (0.04, 0.9), (0.96, 0.9), rounded by shrinking
	// the triangle and growing it back by r.
	const r = 0.07
	ax, ay, bx, by, cx, cy := 0.5, 0.08+r*1.6, 0.04+r*1.6, 0.9-r, 0.96-r*1.6, 0.9-r
	if inTriangle(x, y, ax, ay, bx, by, cx, cy) {
		return true
	}
	for _, e := range [][4]float64{{ax, ay, bx, by}, {bx, by, cx, cy}, {cx, cy, ax, ay}} {
		if (capsule{e[0], e[1], e[2], e[3], r}).inside(x, y) {
			return true
		}
	}
	return false
}

func inTriangle(x, y, ax, ay, bx, by, cx, cy float64) bool {
	side := func(x1, y1, x2, y2 float64) float64 { return (x-x2)*(y1-y2) - (x1-x2)*(y-y2) }
	d1, d2, d3 := side(ax, ay, bx, by), side(bx, by, cx, cy), side(cx, cy, ax, ay)
	neg := d1 < 0 || d2 < 0 || d3 < 0
	pos := d1 > 0 || d2 > 0 || d3 > 0
	return !(neg && pos)
}

// dilate grows a set of shapes by d: a point is inside when a point within
// d of it is (sampled on a circle, enough for a rim a few pixels wide).
type dilate struct {
	shapes []shape
	d      float64
}

func (g dilate) inside(x, y float64) bool {
	for i := range 16 {
		a := float64(i) * math.Pi / 8
		for _, s := range g.shapes {
			if s.inside(x+g.d*math.Cos(a), y+g.d*math.Sin(a)) {
				return true
			}
		}
	}
	for _, s := range g.shapes {
		if s.inside(x, y) {
			return true
		}
	}
	return false
}

func anyInside(shapes []shape, x, y float64) bool {
	for _, s := range shapes {
		if s.inside(x, y) {
			return true
		}
	}
	return false
}

// draw renders a state at size×size pixels, 8×8 supersampled so that edges
// stay smooth at 16 px.
func draw(s state, size int) *image.NRGBA {
	ss := 8
	if size > 128 {
		ss = 3 // plenty of samples per edge at this size, and quick
	}
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	rimColor := color.NRGBA{0x2b, 0x2f, 0x33, 0xff}
	// The outline style's rim: at least one pixel wide at small sizes.
	rimWidth := math.Max(0.035, 1.2/float64(size))
	lines := s.glyph
	rim := dilate{lines, rimWidth}
	for py := 0; py < size; py++ {
		for px := 0; px < size; px++ {
			var r, g, b, cover float64
			for sy := 0; sy < ss; sy++ {
				for sx := 0; sx < ss; sx++ {
					x := (float64(px) + (float64(sx)+0.5)/float64(ss)) / float64(size)
					y := (float64(py) + (float64(sy)+0.5)/float64(ss)) / float64(size)
					var c color.NRGBA
					switch {
					case s.style == filled && s.base.inside(x, y) && anyInside(s.glyph, x, y):
						c = white
					case s.style == filled && s.base.inside(x, y):
						c = s.fill
					case s.style == outline && anyInside(lines, x, y):
						c = s.fill
					case s.style == outline && rim.inside(x, y):
						c = rimColor
					default:
						continue
					}
					r += float64(c.R)
					g += float64(c.G)
					b += float64(c.B)
					cover++
				}
			}
			if cover == 0 {
				continue
			}
			n := float64(ss * ss)
			img.SetNRGBA(px, py, color.NRGBA{
				R: uint8(math.Round(r / cover)),
				G: uint8(math.Round(g / cover)),
				B: uint8(math.Round(b / cover)),
				A: uint8(math.Round(255 * cover / n)),
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
