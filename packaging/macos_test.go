package packaging

import (
	"encoding/xml"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ccbalancer/ccbalancer/autostart"
)

// TestInfoPlist: the .app's Info.plist is a well-formed property list that
// makes ccbalancer a menu bar app (LSUIElement: no Dock icon) and names the
// executable and icon that packaging/build.sh puts in the bundle. Its
// identifier is the LaunchAgent label `autostart enable` uses.
func TestInfoPlist(t *testing.T) {
	f, err := os.Open("macos/Info.plist")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string]string{}
	dec := xml.NewDecoder(f)
	var key, last string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("Info.plist is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			last = tok.Name.Local
			if last == "true" || last == "false" {
				got[key] = last
			}
		case xml.CharData:
			switch last {
			case "key":
				key = string(tok)
			case "string":
				got[key] = string(tok)
			}
			last = ""
		}
	}
	want := map[string]string{
		"CFBundleName": "ccbalancer", "CFBundleDisplayName": "ccbalancer", "CFBundleIdentifier": autostart.Label,
		"CFBundleExecutable": "ccbalancer", "CFBundleIconFile": "ccbalancer", "CFBundlePackageType": "APPL",
		"CFBundleShortVersionString": "@VERSION@", "CFBundleVersion": "@VERSION@", "LSMinimumSystemVersion": "11.0",
		"LSUIElement": "true", "NSHighResolutionCapable": "true",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Info.plist (-want +got):\n%s", diff)
	}
}
