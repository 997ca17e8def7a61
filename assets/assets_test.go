package assets

import (
	"bytes"
	"encoding/binary"
	"image/png"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// TestICO reads the ICO directory and checks every entry is a PNG of the
// announced size.
func TestICO(t *testing.T) {
	for _, s := range States {
		b, err := ICO(s)
		if err != nil {
			t.Fatal(err)
		}
		le := binary.LittleEndian
		if le.Uint16(b[0:]) != 0 || le.Uint16(b[2:]) != 1 {
			t.Fatalf("%s: not an icon header: % x", s, b[:6])
		}
		n := int(le.Uint16(b[4:]))
		var got []int
		for i := range n {
			e := b[6+16*i:]
			size, off := le.Uint32(e[8:]), le.Uint32(e[12:])
			img, err := png.Decode(bytes.NewReader(b[off : off+size]))
			if err != nil {
				t.Fatalf("%s entry %d: %v", s, i, err)
			}
			if int(e[0]) != img.Bounds().Dx() {
				t.Errorf("%s entry %d: directory says %d px, image is %d", s, i, e[0], img.Bounds().Dx())
			}
			got = append(got, img.Bounds().Dx())
		}
		if diff := cmp.Diff(Sizes, got); diff != "" {
			t.Errorf("%s sizes (-want +got):\n%s", s, diff)
		}
	}
}

func TestAppIcon(t *testing.T) {
	if _, err := png.Decode(bytes.NewReader(AppIcon())); err != nil {
		t.Fatal(err)
	}
}
