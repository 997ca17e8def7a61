package assets

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"

	"github.com/google/go-cmp/cmp"
	ico "github.com/sergeymakinen/go-ico"
)

func TestPNGSizes(t *testing.T) {
	for _, s := range States {
		for _, size := range Sizes {
			b, err := PNG(s, size)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s-%d: %v", s, size, err)
			}
			if got := img.Bounds().Size(); got.X != size || got.Y != size {
				t.Errorf("%s-%d: size %v", s, size, got)
			}
			// Corners are transparent, the centre is opaque: a round icon on any panel.
			if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
				t.Errorf("%s-%d: corner alpha %d, want 0", s, size, a)
			}
			if _, _, _, a := img.At(size/2, size/2).RGBA(); a != 0xffff {
				t.Errorf("%s-%d: centre alpha %d, want opaque", s, size, a)
			}
		}
	}
	if _, err := PNG(Healthy, 17); err == nil {
		t.Error("PNG(Healthy, 17) succeeded, want an error")
	}
}

func TestStatesLookDifferent(t *testing.T) {
	seen := map[string]State{}
	for _, s := range States {
		b, err := PNG(s, 32)
		if err != nil {
			t.Fatal(err)
		}
		if other, dup := seen[string(b)]; dup {
			t.Errorf("%s and %s share one icon", s, other)
		}
		seen[string(b)] = s
	}
}

// TestICO decodes every state's ICO: one image per size, each the PNG of
// that size.
func TestICO(t *testing.T) {
	for _, s := range States {
		b, err := ICO(s)
		if err != nil {
			t.Fatal(err)
		}
		imgs, err := ico.DecodeAll(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s.ico: %v", s, err)
		}
		var got []int
		for _, img := range imgs {
			got = append(got, img.Bounds().Dx())
			p, err := PNG(s, img.Bounds().Dx())
			if err != nil {
				t.Fatal(err)
			}
			want, err := png.Decode(bytes.NewReader(p))
			if err != nil {
				t.Fatal(err)
			}
			if !samePixels(want, img) {
				t.Errorf("%s.ico at %d px differs from the PNG", s, img.Bounds().Dx())
			}
		}
		if diff := cmp.Diff(Sizes, got); diff != "" {
			t.Errorf("%s sizes (-want +got):\n%s", s, diff)
		}
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, a1 := a.At(x, y).RGBA()
			r2, g2, b2, a2 := b.At(x, y).RGBA()
			// Premultiplied storage rounds by a unit or so.
			if diff(r1, r2) > 0x200 || diff(g1, g2) > 0x200 || diff(b1, b2) > 0x200 || diff(a1, a2) > 0x200 {
				return false
			}
		}
	}
	return true
}

func diff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

// TestGreyScale: the states stay apart without colour: at 24 px (a panel's
// size), over a light and over a dark panel, the grey-scale images of any two
// states differ clearly in many pixels.
func TestGreyScale(t *testing.T) {
	for _, panel := range []float64{0.93, 0.17} {
		grey := map[State][]float64{}
		for _, s := range States {
			b, err := PNG(s, 24)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			var px []float64
			for y := range 24 {
				for x := range 24 {
					c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
					l := (0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)) / 255
					al := float64(c.A) / 255
					px = append(px, al*l+(1-al)*panel)
				}
			}
			grey[s] = px
		}
		for i, a := range States {
			for _, b := range States[i+1:] {
				differ := 0
				for k := range grey[a] {
					if d := grey[a][k] - grey[b][k]; d > 0.15 || d < -0.15 {
						differ++
					}
				}
				if differ < 24 {
					t.Errorf("panel %.2f: %s and %s differ in %d of 576 pixels in grey-scale, want at least 24", panel, a, b, differ)
				}
			}
		}
	}
}

func TestAppIcon(t *testing.T) {
	if _, err := png.Decode(bytes.NewReader(AppIcon())); err != nil {
		t.Fatal(err)
	}
}
