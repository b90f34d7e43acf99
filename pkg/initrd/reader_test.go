package initrd

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
)

// entry is a header with its data, for building and comparing archives.
type entry struct {
	Header
	Data string
}

func writeArchive(t testing.TB, entries []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, e := range entries {
		h := e.Header
		if err := w.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, e.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readArchive(t testing.TB, archive []byte) []entry {
	t.Helper()
	entries, err := readAll(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func readAll(rd io.Reader) ([]entry, error) {
	r, err := NewReader(rd)
	if err != nil {
		return nil, err
	}
	var entries []entry
	for {
		h, err := r.Next()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return entries, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return entries, err
		}
		entries = append(entries, entry{*h, string(data)})
	}
}

var sample = []entry{
	{Header: Header{Name: "bin", Mode: TypeDir | 0o755, Inode: 1, Links: 2, Mtime: 1700000000}},
	{Header: Header{Name: "bin/a", Mode: TypeReg | 0o4755, Inode: 2, Links: 2, UID: 1000, GID: 100}},
	{Header: Header{Name: "bin/b", Mode: TypeReg | 0o755, Inode: 2, Links: 2, Size: 5, UID: 1000, GID: 100}, Data: "hello"},
	{Header: Header{Name: "dev", Mode: TypeDir | 0o755, Inode: 3}},
	{Header: Header{Name: "dev/console", Mode: TypeChar | 0o600, Inode: 4, Links: 1, Rdevmajor: 5, Rdevminor: 1}},
	{Header: Header{Name: "dev/sda", Mode: TypeBlock | 0o660, Inode: 5, Links: 1, Rdevmajor: 8, Rdevminor: 0x12345}},
	{Header: Header{Name: "empty", Mode: TypeReg | 0o644, Inode: 6, Links: 1}},
	{Header: Header{Name: "fifo", Mode: TypeFifo | 0o644, Inode: 7, Links: 1}},
	{Header: Header{Name: "lib", Mode: TypeLink | 0o777, Inode: 8, Links: 1, Size: 7, Linkname: "usr/lib"}},
	{Header: Header{Name: "name with spaces\nand newline, ünïcødé", Mode: TypeReg | 0o600, Inode: 9, Links: 1, Size: 3}, Data: "abc"},
	{Header: Header{Name: "one", Mode: TypeReg | 0o644, Inode: 10, Links: 1, Size: 1}, Data: "1"},
	{Header: Header{Name: "sock", Mode: TypeSock | 0o755, Inode: 11, Links: 1}},
	{Header: Header{Name: "three", Mode: TypeReg | 0o644, Inode: 12, Links: 1, Size: 3, Mtime: 1<<32 - 1}, Data: "333"},
	{Header: Header{Name: "two", Mode: TypeReg | 0o644, Inode: 13, Links: 1, Size: 2}, Data: "22"},
}

func TestRoundTrip(t *testing.T) {
	archive := writeArchive(t, sample)
	got := readArchive(t, archive)
	want := append([]entry(nil), sample...)
	want[3].Links = 2 // Links 0 is written as 2 for a directory
	if len(got) != len(want) {
		t.Fatalf("read %d entries, wrote %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i+1, got[i], want[i])
		}
	}
	if len(archive)%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", len(archive))
	}
	if !bytes.HasSuffix(archive, []byte("TRAILER!!!\x00\x00\x00\x00")) {
		t.Errorf("archive does not end with the padded trailer: %q", archive[len(archive)-16:])
	}
}

// TestCavalierReadsOurArchive reads our output with a second, independent
// newc implementation.
func TestCavalierReadsOurArchive(t *testing.T) {
	r := cpio.NewReader(bytes.NewReader(writeArchive(t, sample)))
	for i, want := range sample {
		h, err := r.Next()
		if err != nil {
			t.Fatalf("entry %d: %v", i+1, err)
		}
		data, _ := io.ReadAll(r)
		if h.Name != want.Name || uint32(h.Mode) != want.Mode || h.Linkname != want.Linkname ||
			string(data) != want.Data || h.Inode != int64(want.Inode) || h.ModTime.Unix() != want.Mtime {
			t.Errorf("entry %d: cavaliergopher read %+v %q, want %+v", i+1, h, data, want)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last entry: %v, want io.EOF", err)
	}
}

// TestReadGNUCpio reads what GNU cpio writes, in both newc flavours and
// gzip-compressed.
func TestReadGNUCpio(t *testing.T) {
	cpioPath, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio not installed (Debian package cpio)")
	}
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "d/e"), 0o750))
	must(t, os.WriteFile(filepath.Join(dir, "d/e/f"), []byte("data of f\n"), 0o640))
	must(t, os.WriteFile(filepath.Join(dir, "g"), bytes.Repeat([]byte("g"), 70001), 0o600))
	must(t, os.Symlink("d/e/f", filepath.Join(dir, "s")))
	must(t, os.Link(filepath.Join(dir, "g"), filepath.Join(dir, "h")))
	names := "d\nd/e\nd/e/f\ng\nh\ns\n"
	for _, format := range []string{"newc", "crc"} {
		cmd := exec.Command(cpioPath, "--quiet", "-o", "-H", format)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(names)
		archive, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -o -H %s: %v", format, err)
		}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(archive)
		zw.Close()
		for _, input := range [][]byte{archive, gz.Bytes()} {
			got := readArchive(t, input)
			if len(got) != 6 {
				t.Fatalf("%s: %d entries, want 6", format, len(got))
			}
			byName := map[string]entry{}
			for _, e := range got {
				byName[e.Name] = e
			}
			if e := byName["d/e/f"]; e.Data != "data of f\n" || e.Mode != TypeReg|0o640 {
				t.Errorf("%s: d/e/f = %+v", format, e)
			}
			if e := byName["d/e"]; e.Mode != TypeDir|0o750 {
				t.Errorf("%s: d/e mode %o", format, e.Mode)
			}
			if e := byName["s"]; e.Linkname != "d/e/f" || e.Mode&ModeType != TypeLink {
				t.Errorf("%s: s = %+v", format, e)
			}
			g, h := byName["g"], byName["h"]
			if g.Inode != h.Inode || g.Links != 2 || len(g.Data)+len(h.Data) != 70001 {
				t.Errorf("%s: hard links g=%+v h=%+v (data %d+%d)", format, g.Header, h.Header, len(g.Data), len(h.Data))
			}
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestTruncated cuts an archive at every length: each prefix gives an
// error, never a panic and never a clean end.
func TestTruncated(t *testing.T) {
	archive := writeArchive(t, sample)
	for n := 0; n < len(archive); n++ {
		if _, err := readAll(bytes.NewReader(archive[:n])); err == nil {
			t.Fatalf("prefix of %d bytes read without error", n)
		}
	}
	// Cut inside the data of entry 3 (bin/b, 5 bytes at offset 124+112+...).
	off := bytes.Index(archive, []byte("hello"))
	_, err := readAll(bytes.NewReader(archive[:off+2]))
	want := "initrd: entry 3 (bin/b): truncated data at offset " + strconv.Itoa(off+2) + " (2 of 5 bytes): unexpected EOF"
	if err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
}

func gzipped(s string) string {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.String()
}

func TestReaderErrors(t *testing.T) {
	good := writeArchive(t, sample[:3])
	corrupt := func(off int, s string) []byte {
		b := append([]byte(nil), good...)
		copy(b[off:], s)
		return b
	}
	crc := writeArchive(t, []entry{{Header: Header{Name: "f", Mode: TypeReg | 0o644, Size: 3}, Data: "abc"}})
	copy(crc, "070702")
	copy(crc[102:], "00000126") // 'a'+'b'+'c' = 0x126
	crcBad := append([]byte(nil), crc...)
	copy(crcBad[102:], "00000127")
	tests := []struct {
		name, input, want string
	}{
		{"empty", "", "initrd: not a newc cpio archive (plain or gzip)"},
		{"json", `{"cmdline": "app"}`, "initrd: not a newc cpio archive (plain or gzip)"},
		{"gzip json", gzipped(`{"cmdline": "app"}`), "initrd: gzip data that is not a newc cpio archive"},
		{"no trailer", string(good[:len(good)-124]), "initrd: archive ends at offset " + strconv.Itoa(len(good)-124) + " without a TRAILER!!! entry"},
		{"bad magic", string(corrupt(0, "070709")), "initrd: not a newc cpio archive (plain or gzip)"},
		{"odc", string(corrupt(0, "070707")), "initrd: entry 1: at offset 0: odc (070707) archive; only newc (070701, 070702) is supported"},
		{"xz", "\xfd7zXZ\x00rest", "initrd: archive is xz-compressed; only gzip is supported"},
		{"bad hex", string(corrupt(6+8*6, "0000000g")), `initrd: entry 1: at offset 0: field c_filesize is not 8 hex digits: "0000000g"`},
		{"huge name", string(corrupt(94, "FFFFFFFF")), "initrd: entry 1: at offset 0: c_namesize 4294967295 exceeds 4096"},
		{"no name", string(corrupt(94, "00000001")), "initrd: entry 1: at offset 0: c_namesize 1 leaves no room for a name"},
		{"unterminated name", string(corrupt(94, "00000003")), "initrd: entry 1: at offset 0: name is not NUL-terminated"},
		{"huge symlink", string(writeArchive(t, sample[8:9])[:54]) + "FFFFFFFF" + string(writeArchive(t, sample[8:9])[62:]),
			"initrd: entry 1 (lib): at offset 0: symbolic link target of 4294967295 bytes (must be 1 to 4095)"},
		{"crc good", string(crc), ""},
		{"crc bad", string(crcBad), "initrd: entry 1 (f): checksum mismatch: header says 00000127, data sums to 00000126"},
		{"bad gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xffgarbage", "initrd: gzip: flate: corrupt input before offset 1"},
		{"gzip cut short", gzipped(string(good))[:60], "initrd: entry 2: truncated header at offset 146: the gzip data is cut short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readAll(strings.NewReader(tt.input))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("error\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestConcatenatedArchives reads archives behind one another as the
// kernels do: zero padding between them, each archive plain or gzip in any
// order, and refuses other data after a trailer.
func TestConcatenatedArchives(t *testing.T) {
	first, second := writeArchive(t, sample[:2]), writeArchive(t, sample[2:4])
	gz := func(b []byte) []byte {
		var zipped bytes.Buffer
		zw := gzip.NewWriter(&zipped)
		zw.Write(b)
		zw.Close()
		return zipped.Bytes()
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	want := append(readArchive(t, first), readArchive(t, second)...)
	for name, archive := range map[string][]byte{
		"plain":            cat(first, second),
		"padded":           cat(first, make([]byte, 1000), second),
		"gzip behind":      cat(first, make([]byte, 3), gz(second)),
		"plain behind":     cat(gz(first), make([]byte, 3), second),
		"two gzip members": cat(gz(first), gz(second)),
		"trailing padding": cat(first, second, make([]byte, 512)),
	} {
		got, err := readAll(bytes.NewReader(archive))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v\n got %+v\nwant %+v", name, err, got, want)
		}
	}
	three := cat(gz(first), second, gz(first))
	if got, err := readAll(bytes.NewReader(three)); err != nil || len(got) != 2*len(readArchive(t, first))+len(readArchive(t, second)) {
		t.Errorf("gzip, plain, gzip: %v, %d entries", err, len(got))
	}
	archive := append(writeArchive(t, sample[:1]), "garbage after the trailer"...)
	r, err := NewReader(bytes.NewReader(archive))
	must(t, err)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	want2 := `initrd: entry 2: at offset 240: data after the trailer is not another newc archive ("garbag")`
	for i := 0; i < 2; i++ {
		if _, err := r.Next(); err == nil || err.Error() != want2 {
			t.Fatalf("Next after trailer: %v, want %s", err, want2)
		}
	}
}

// TestReadFile finds the last regular file of a name across concatenated
// archives, under either of its names.
func TestReadFile(t *testing.T) {
	a := writeArchive(t, []entry{{Header: Header{Name: "json.cfg", Mode: TypeReg | 0o644, Size: 3}, Data: "old"}})
	b := writeArchive(t, []entry{
		{Header: Header{Name: "./json.cfg", Mode: TypeReg | 0o644, Size: 3}, Data: "new"},
		{Header: Header{Name: "etc", Mode: TypeDir | 0o755}},
	})
	data, err := ReadFile(bytes.NewReader(append(a, b...)), "/json.cfg", 10)
	if err != nil || string(data) != "new" {
		t.Errorf("ReadFile = %q, %v; want the last regular json.cfg", data, err)
	}
	if _, err := ReadFile(bytes.NewReader(b), "etc/motd", 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadFile(bytes.NewReader(a), "json.cfg", 2); err == nil || err.Error() != "initrd: json.cfg is 3 bytes, over the limit of 2" {
		t.Errorf("over the limit: %v", err)
	}
}

func TestWriterErrors(t *testing.T) {
	tests := []struct {
		h    Header
		want string
	}{
		{Header{Name: "", Mode: TypeReg}, "initrd: entry 1 (): empty name"},
		{Header{Name: strings.Repeat("x", 4096), Mode: TypeReg}, "initrd: entry 1 (" + strings.Repeat("x", 4096) + "): name of 4096 bytes exceeds 4095"},
		{Header{Name: "a\x00b", Mode: TypeReg}, "initrd: entry 1 (a\x00b): name contains a NUL byte"},
		{Header{Name: "TRAILER!!!", Mode: TypeReg}, "initrd: entry 1 (TRAILER!!!): name is the archive trailer"},
		{Header{Name: "big", Mode: TypeReg, Size: 1 << 32}, "initrd: entry 1 (big): size 4294967296 exceeds newc's limit of 4294967295 bytes (4 GiB - 1)"},
		{Header{Name: "old", Mode: TypeReg, Mtime: -1}, "initrd: entry 1 (old): mtime -1 does not fit newc's unsigned 32 bits"},
		{Header{Name: "late", Mode: TypeReg, Mtime: 1 << 32}, "initrd: entry 1 (late): mtime 4294967296 does not fit newc's unsigned 32 bits"},
		{Header{Name: "u", Mode: TypeReg, UID: -1}, "initrd: entry 1 (u): uid -1 does not fit newc's unsigned 32 bits"},
		{Header{Name: "l", Mode: TypeLink | 0o777}, "initrd: entry 1 (l): symbolic link target of 0 bytes (must be 1 to 4095)"},
		{Header{Name: "l", Mode: TypeLink | 0o777, Linkname: "abc", Size: 2}, "initrd: entry 1 (l): size 2 is not the length 3 of the link target"},
		{Header{Name: "d", Mode: TypeDir | 0o755, Size: 1}, "initrd: entry 1 (d): directory with size 1"},
		{Header{Name: "t", Mode: 0o644}, "initrd: entry 1 (t): mode 644 has no file type"},
		{Header{Name: "t", Mode: 0o200644}, "initrd: entry 1 (t): mode 200644 has bits outside st_mode"},
	}
	for _, tt := range tests {
		w := NewWriter(io.Discard)
		err := w.WriteHeader(&tt.h)
		if err == nil || err.Error() != tt.want {
			t.Errorf("WriteHeader(%+v):\n got %v\nwant %s", tt.h, err, tt.want)
		}
	}

	w := NewWriter(io.Discard)
	must(t, w.WriteHeader(&Header{Name: "f", Mode: TypeReg | 0o644, Size: 3}))
	if n, err := w.Write([]byte("abcd")); n != 3 || !errors.Is(err, ErrWriteTooLong) {
		t.Errorf("Write past Size: %d, %v", n, err)
	}
	w = NewWriter(io.Discard)
	must(t, w.WriteHeader(&Header{Name: "f", Mode: TypeReg | 0o644, Size: 3}))
	w.Write([]byte("ab"))
	if err := w.Close(); err == nil || err.Error() != "initrd: entry 1 (f): 1 bytes of data missing" {
		t.Errorf("Close with data missing: %v", err)
	}
}

func TestWriterReadFromStopsAtSize(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	must(t, w.WriteHeader(&Header{Name: "f", Mode: TypeReg | 0o644, Size: 5}))
	src := strings.NewReader("12345678")
	n, err := w.ReadFrom(src)
	if n != 5 || err != nil || src.Len() != 3 {
		t.Fatalf("ReadFrom: %d, %v, %d left in source", n, err, src.Len())
	}
	must(t, w.Close())
	got := readArchive(t, buf.Bytes())
	if len(got) != 1 || got[0].Data != "12345" {
		t.Errorf("read back %+v", got)
	}
}

func FuzzReader(f *testing.F) {
	f.Add(writeArchive(f, sample))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(writeArchive(f, sample[:4]))
	zw.Close()
	f.Add(gz.Bytes())
	f.Add([]byte("070702"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		buf := make([]byte, 512)
		for i := 0; ; i++ {
			h, err := r.Next()
			if err != nil {
				return
			}
			if len(h.Name) > MaxName || len(h.Linkname) > MaxName {
				t.Fatalf("entry %d: name %d or link %d bytes", i, len(h.Name), len(h.Linkname))
			}
			var total int64
			for {
				n, err := r.Read(buf)
				total += int64(n)
				if err != nil {
					break
				}
			}
			if total > h.Size {
				t.Fatalf("entry %d: read %d bytes of %d", i, total, h.Size)
			}
		}
	})
}

// TestReaderBoundedMemory: a header that claims a 4 GiB file and the
// longest name makes the Reader allocate no more than its fixed buffers.
func TestReaderBoundedMemory(t *testing.T) {
	archive := writeArchive(t, []entry{{Header: Header{Name: strings.Repeat("n", MaxName), Mode: TypeReg | 0o644, Size: 10}, Data: "0123456789"}})
	copy(archive[54:], "FFFFFFFF") // c_filesize
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := readAll(bytes.NewReader(archive))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated data") {
		t.Errorf("error %v, want truncated data", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
		t.Errorf("reading allocated %d bytes", n)
	}
}
