package initrd

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// endless is a line that never ends.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}

// A file list or spec on an endless input is an error after a bounded
// read, not a hang that fills memory.
func TestEndlessInputs(t *testing.T) {
	for _, sep := range []byte{'\n', 0} {
		err := NewBuilder(Options{}).AddList(endless{}, "list", sep)
		if err == nil || err.Error() != "initrd: list:1: a line of more than 4096 bytes names no file" {
			t.Errorf("endless list (sep %q): %v", sep, err)
		}
	}
	// The longest line a list may have is read (and fails only because
	// no such file exists).
	long := strings.Repeat("./", 2046) + "file"
	err := NewBuilder(Options{}).AddList(strings.NewReader(long+"\n"), "list", '\n')
	if err == nil || !strings.Contains(err.Error(), "list:1: lstat") {
		t.Errorf("4096-byte line: %v, want it looked up", err)
	}
	err = NewBuilder(Options{}).AddSpec(io.LimitReader(endless{}, 64<<20), "spec")
	if err == nil || !strings.Contains(err.Error(), "spec: bufio.Scanner: token too long") {
		t.Errorf("endless spec line: %v", err)
	}
}

// A json.cfg that shares its inode with a name sorting after it would
// get no data of its own (newc stores a hard link's data with its last
// name): it is written as a file of its own instead, which every reader
// takes as /json.cfg.
func TestHardLinkedConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "json.cfg")
	if err := os.WriteFile(cfg, []byte(`{"cmdline": "app"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"zz-copy", "etc/also"} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, other)), 0o755)
		if err := os.Link(cfg, filepath.Join(dir, other)); err != nil {
			t.Fatal(err)
		}
	}
	a := buildTree(t, dir, Options{})
	data, err := ReadFile(bytes.NewReader(a), "json.cfg", 100)
	if err != nil || string(data) != `{"cmdline": "app"}` {
		t.Errorf("/json.cfg = %q, %v", data, err)
	}
	for _, e := range readArchive(t, a) {
		switch e.Name {
		case "json.cfg":
			if e.Links != 1 || e.Size == 0 {
				t.Errorf("json.cfg: %d links, %d bytes", e.Links, e.Size)
			}
		case "etc/also", "zz-copy": // still one file, its data with the last
			if e.Links != 2 || e.Inode == 0 {
				t.Errorf("%s: %d links", e.Name, e.Links)
			}
		}
	}
}

// -z compresses text about as well as gzip does: base64 (6 bits of
// entropy per byte) once came out nearly uncompressed, a third larger
// than from gzip -6 (see gzipLevel).
func TestGzipRatio(t *testing.T) {
	raw := make([]byte, 3<<20)
	x := uint64(88172645463325252)
	for i := range raw {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		raw[i] = byte(x)
	}
	text := []byte(base64.StdEncoding.EncodeToString(raw))
	add := func(b *Builder) error { return b.AddData("data.b64", text, 0o644, "text") }
	plain := build(t, Options{}, add)
	ours := build(t, Options{Gzip: true}, add)
	var ref bytes.Buffer
	zw := gzip.NewWriter(&ref) // Go's own, level 6 as gzip's default
	zw.Write(plain)
	zw.Close()
	if ratio := float64(len(ours)) / float64(ref.Len()); ratio > 1.02 {
		t.Errorf("-z wrote %d bytes, gzip -6 %d (%.2fx)", len(ours), ref.Len(), ratio)
	}
}
