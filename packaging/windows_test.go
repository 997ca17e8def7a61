package packaging

import (
	"archive/zip"
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Resource types (winuser.h).
const (
	rtIcon      = 3
	rtGroupIcon = 14
	rtVersion   = 16
	rtManifest  = 24
)

// TestWindowsExecutables reads the .exe in each Windows archive that
// packaging/build.sh made: a GUI-subsystem PE file for its architecture
// (no console window behind the tray) with an icon, version information
// and a manifest among its resources.
func TestWindowsExecutables(t *testing.T) {
	for _, arch := range []struct {
		name    string
		machine uint16
	}{{"amd64", pe.IMAGE_FILE_MACHINE_AMD64}, {"arm64", pe.IMAGE_FILE_MACHINE_ARM64}} {
		t.Run(arch.name, func(t *testing.T) {
			exe := exeFromArchive(t, arch.name)
			f, err := pe.NewFile(bytes.NewReader(exe))
			if err != nil {
				t.Fatalf("not a PE file: %v", err)
			}
			defer f.Close()
			if f.Machine != arch.machine {
				t.Errorf("machine %#x, want %#x", f.Machine, arch.machine)
			}
			oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
			if !ok {
				t.Fatalf("optional header %T, want a PE32+ header", f.OptionalHeader)
			}
			if oh.Subsystem != pe.IMAGE_SUBSYSTEM_WINDOWS_GUI {
				t.Errorf("subsystem %d, want %d (Windows GUI)", oh.Subsystem, pe.IMAGE_SUBSYSTEM_WINDOWS_GUI)
			}
			types, rsrc := resourceTypes(t, f)
			for _, want := range []uint32{rtIcon, rtGroupIcon, rtVersion, rtManifest} {
				if !slices.Contains(types, want) {
					t.Errorf("no resource of type %d (have %v)", want, types)
				}
			}
			// The version information names the program, UTF-16 as Windows keeps it.
			if !bytes.Contains(rsrc, utf16("ccbalancer.exe")) {
				t.Error("version information does not name ccbalancer.exe")
			}
			if !bytes.Contains(rsrc, []byte("<dpiAwareness xmlns=\"http://schemas.microsoft.com/SMI/2016/WindowsSettings\">permonitorv2")) {
				t.Error("the manifest does not declare per-monitor DPI awareness")
			}
		})
	}
}

// exeFromArchive returns ccbalancer.exe from dist/ccbalancer_*_windows_ARCH.zip.
// Without dist/ it skips (fails under CI=true, where .ci/run builds it first).
func exeFromArchive(t *testing.T, arch string) []byte {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join("..", "dist", "ccbalancer_*_windows_"+arch+".zip"))
	if len(matches) != 1 {
		msg := fmt.Sprintf("want one dist/ccbalancer_*_windows_%s.zip, found %d: run packaging/build.sh first", arch, len(matches))
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	zr, err := zip.OpenReader(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/ccbalancer.exe") {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("%s holds no ccbalancer.exe", matches[0])
	return nil
}

// resourceTypes returns the type IDs in the root of the .rsrc section's
// resource directory (IMAGE_RESOURCE_DIRECTORY followed by its entries),
// and the section's bytes.
func resourceTypes(t *testing.T, f *pe.File) ([]uint32, []byte) {
	t.Helper()
	s := f.Section(".rsrc")
	if s == nil {
		t.Fatal("no .rsrc section: the program has no resources")
	}
	b, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 16 {
		t.Fatalf(".rsrc section of %d bytes", len(b))
	}
	named := int(binary.LittleEndian.Uint16(b[12:]))
	ids := int(binary.LittleEndian.Uint16(b[14:]))
	var types []uint32
	for i := named; i < named+ids; i++ {
		off := 16 + 8*i
		if off+8 > len(b) {
			t.Fatalf("resource directory entry %d out of the section", i)
		}
		types = append(types, binary.LittleEndian.Uint32(b[off:]))
	}
	return types, b
}

func utf16(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return b
}
