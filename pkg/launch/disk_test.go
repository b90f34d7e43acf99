package launch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectFormat(t *testing.T) {
	dir := t.TempDir()
	iso := make([]byte, 0x8800)
	copy(iso[0x8000:], "\x01CD001\x01")
	vdi := make([]byte, 0x200)
	copy(vdi, "<<< Oracle VM VirtualBox Disk Image >>>\n")
	copy(vdi[0x40:], "\x7f\x10\xda\xbe")
	for _, c := range []struct {
		name string
		data []byte
		want Image
	}{
		{"empty", nil, Image{Format: FormatRaw}},
		{"short", []byte("QF"), Image{Format: FormatRaw}},
		{"qcow2", []byte("QFI\xfb\x00\x00\x00\x03"), Image{Format: FormatQcow2}},
		{"qed", []byte("QED\x00...."), Image{Format: FormatQED}},
		{"vmdk", []byte("KDMV\x01\x00\x00\x00"), Image{Format: FormatVMDK}},
		{"vhdx", []byte("vhdxfile"), Image{Format: FormatVHDX}},
		{"vdi", vdi, Image{Format: FormatVDI}},
		{"iso", iso, Image{Format: FormatRaw, ISO: true}},
		{"ffs", make([]byte, 0x10000), Image{Format: FormatRaw}},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := DetectFormat(p)
		if err != nil || got != c.want {
			t.Errorf("%s: DetectFormat = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	if _, err := DetectFormat(dir); err == nil || !strings.Contains(err.Error(), "not a disk image") {
		t.Errorf("directory: error %v", err)
	}
	if _, err := DetectFormat(filepath.Join(dir, "missing")); err == nil || !os.IsNotExist(err) {
		t.Errorf("missing file: error %v", err)
	}
}

func TestParseDiskSpec(t *testing.T) {
	dir := t.TempDir()
	comma := filepath.Join(dir, "a,/b")
	os.MkdirAll(filepath.Dir(comma), 0o755)
	if err := os.WriteFile(comma, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		arg  string
		want DiskSpec
	}{
		{"data.img", DiskSpec{Path: "data.img"}},
		{"data.img,/data", DiskSpec{Path: "data.img", Mountpoint: "/data"}},
		{"a,b.img", DiskSpec{Path: "a,b.img"}},
		{"a,b.img,/mnt/x", DiskSpec{Path: "a,b.img", Mountpoint: "/mnt/x"}},
		{comma, DiskSpec{Path: comma}}, // an existing file wins over the split
	} {
		got, err := ParseDiskSpec(c.arg)
		if err != nil || got != c.want {
			t.Errorf("ParseDiskSpec(%q) = %+v, %v; want %+v", c.arg, got, err, c.want)
		}
	}
	for arg, want := range map[string]string{"": "empty", ",/data": "no disk image"} {
		if _, err := ParseDiskSpec(arg); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseDiskSpec(%q) error %v, want %q", arg, err, want)
		}
	}
}
