package gceimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// layout is a source's contents: n bytes, zeros but for the pieces
// (sorted, apart), so that large disks need no memory.
type layout struct {
	n      int64
	pieces []piece
}

type piece struct {
	off  int64
	data []byte
}

// at fills b with the bytes at off, zeros past the end.
func (l layout) at(off int64, b []byte) {
	clear(b)
	for _, p := range l.pieces {
		lo, hi := max(p.off, off), min(p.off+int64(len(p.data)), off+int64(len(b)))
		if lo < hi {
			copy(b[lo-off:hi-off], p.data[lo-p.off:hi-p.off])
		}
	}
}

func (l layout) bytes() []byte {
	b := make([]byte, l.n)
	l.at(0, b)
	return b
}

// memSource is a source of a layout; reads counts the WriteTo calls and
// change, when set, alters the bytes from the second reading on.
type memSource struct {
	l      layout
	reads  int
	change func([]byte) []byte
}

func (m *memSource) Size() (int64, error) { return m.l.n, nil }

func (m *memSource) WriteTo(w io.Writer) (int64, error) {
	m.reads++
	if m.reads > 1 && m.change != nil {
		n, err := w.Write(m.change(m.l.bytes()))
		return int64(n), err
	}
	// Odd pieces, so that block boundaries fall inside writes.
	buf := make([]byte, 3001)
	var n int64
	for n < m.l.n {
		b := buf[:min(int64(len(buf)), m.l.n-n)]
		m.l.at(n, b)
		k, err := w.Write(b)
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// contents returns n bytes with data at the given stretches (offset,
// length in bytes) and zeros elsewhere; the data never holds a zero byte.
func contents(n int64, stretches ...[2]int64) layout {
	r := rand.New(rand.NewPCG(7, 9))
	l := layout{n: n}
	for _, s := range stretches {
		b := make([]byte, s[1])
		for i := range b {
			b[i] = byte(r.Uint32()) | 1
		}
		l.pieces = append(l.pieces, piece{s[0], b})
	}
	return l
}

var epoch = time.Unix(1700000000, 0)

func archive(t *testing.T, d *Disk) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := d.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(b.Len()) {
		t.Fatalf("WriteTo says %d bytes, wrote %d", n, b.Len())
	}
	return b.Bytes()
}

// checkDisk compares r, read to its end, with the source's bytes followed
// by zeros up to size.
func checkDisk(t *testing.T, what string, r io.Reader, src layout, size int64) {
	t.Helper()
	buf := make([]byte, 1<<20)
	want := make([]byte, len(buf))
	var off int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			src.at(off, want[:n])
			if !bytes.Equal(buf[:n], want[:n]) {
				t.Fatalf("%s: bytes at %d..%d differ from the disk", what, off, off+int64(n))
			}
			off += int64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	if off != size {
		t.Fatalf("%s: %d bytes, want %d", what, off, size)
	}
}

func TestMap(t *testing.T) {
	for _, c := range []struct {
		name string
		src  layout
		want []Region
	}{
		{"all zeros", contents(64 << 10), []Region{}},
		{"one byte", contents(64<<10, [2]int64{5000, 1}), []Region{{4096, 4096}}},
		{"merged", contents(64<<10, [2]int64{4096, 100}, [2]int64{8192, 4096}), []Region{{4096, 8192}}},
		{"apart", contents(64<<10, [2]int64{0, 10}, [2]int64{16384, 4096}), []Region{{0, 4096}, {16384, 4096}}},
		{"partial last block", contents(10000, [2]int64{9000, 1000}), []Region{{8192, 1808}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &Disk{Source: &memSource{l: c.src}, Size: GiB}
			got, err := d.Map()
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("map %v, want %v", got, c.want)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		size int64
		src  int
		want string
	}{
		{0, 1, "whole number of GiB"},
		{GiB + 512, 1, "whole number of GiB"},
		{GiB, GiB + 1, "do not fit"},
	} {
		d := &Disk{Source: &lazySource{n: int64(c.src)}, Size: c.size}
		if _, err := d.Map(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("size %d, source %d: %v, want %q", c.size, c.src, err, c.want)
		}
	}
	if SizeFor(1) != GiB || SizeFor(GiB) != GiB || SizeFor(GiB+1) != 2*GiB || SizeFor(0) != GiB {
		t.Error("SizeFor")
	}
}

// lazySource announces n bytes and writes nothing.
type lazySource struct{ n int64 }

func (l *lazySource) Size() (int64, error)             { return l.n, nil }
func (l *lazySource) WriteTo(io.Writer) (int64, error) { return 0, nil }

// TestGoReader reads the archive with archive/tar, an independent reader
// of GNU sparse files.
func TestGoReader(t *testing.T) {
	src := scattered()
	d := &Disk{Source: &memSource{l: src}, Size: GiB, Time: epoch}
	rs, err := d.Map()
	if err != nil || len(rs) != 60 {
		t.Fatalf("%d regions, %v", len(rs), err)
	}
	a := archive(t, d)
	zr, err := gzip.NewReader(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header: name %q, time %v", zr.Name, zr.ModTime)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw)%recordSize != 0 {
		t.Errorf("archive of %d bytes, not whole records", len(raw))
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != Name || h.Size != GiB || h.Mode != Mode || h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" ||
		!h.ModTime.Equal(epoch) || h.Format != tar.FormatGNU || h.Typeflag != tar.TypeGNUSparse {
		t.Errorf("header %+v", h)
	}
	checkDisk(t, "archive/tar", tr, src, GiB)
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("a second entry: %v", err)
	}
	stored, _ := d.DataSize()
	if want := int64(4 * blockSize); int64(len(raw)) > pad(stored, blockSize)+want+recordSize {
		t.Errorf("archive holds %d bytes for %d of data", len(raw), stored)
	}
}

// scattered has 60 data regions, which take the header's 4 map entries
// and three extension blocks.
func scattered() layout {
	var stretches [][2]int64
	for i := int64(0); i < 60; i++ {
		stretches = append(stretches, [2]int64{i * 3 * BlockSize, 1 + i*37})
	}
	return contents(200*BlockSize+1234, stretches...)
}

func gnuTar(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("tar")
	if err == nil {
		out, _ := exec.Command(p, "--version").Output()
		if bytes.Contains(out, []byte("GNU tar")) {
			return p
		}
	}
	t.Skip("GNU tar not installed (Debian package tar)")
	return ""
}

// TestGNUTar extracts the archive with GNU tar -S and lists it with -tv.
func TestGNUTar(t *testing.T) {
	tarProg := gnuTar(t)
	for _, c := range []struct {
		name string
		size int64
		src  layout
	}{
		{"1 GiB, extension blocks", GiB, scattered()},
		// Over 8 GiB, the real size needs GNU's base-256 numbers.
		{"9 GiB", 9 * GiB, contents(3*BlockSize+100, [2]int64{BlockSize, 2*BlockSize + 100})},
		// The last block of the disk holds data: no empty final entry.
		{"data at the end", GiB, contents(GiB, [2]int64{GiB - 100, 100})},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			d := &Disk{Source: &memSource{l: c.src}, Size: c.size, Time: epoch}
			p := filepath.Join(dir, "img.tar.gz")
			if err := os.WriteFile(p, archive(t, d), 0o644); err != nil {
				t.Fatal(err)
			}
			list := exec.Command(tarProg, "-tvzf", p)
			list.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
			out, err := list.CombinedOutput()
			if err != nil {
				t.Fatalf("tar -tvzf: %v\n%s", err, out)
			}
			line := regexp.MustCompile(`^-rw-r--r-- root/root +` + fmt.Sprint(c.size) + ` 2023-11-14 22:13 disk\.raw\n$`)
			if !line.Match(out) {
				t.Errorf("tar -tvzf lists %q", out)
			}
			x := exec.Command(tarProg, "-xSzf", p)
			x.Dir = dir
			if out, err := x.CombinedOutput(); err != nil || len(out) > 0 {
				t.Fatalf("tar -xSzf: %v\n%s", err, out)
			}
			f, err := os.Open(filepath.Join(dir, Name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if c.size <= GiB {
				checkDisk(t, "GNU tar's disk.raw", f, c.src, c.size)
				return
			}
			// Reading 9 GiB takes long: the size, the source and
			// stretches around 4 GiB, 8 GiB and the end.
			if st, err := f.Stat(); err != nil || st.Size() != c.size {
				t.Fatalf("GNU tar's disk.raw: %v, %v bytes, want %d", err, st.Size(), c.size)
			}
			for _, off := range []int64{0, 4*GiB - 1<<20, 8*GiB - 1<<20, c.size - 1<<20} {
				n := max(1<<20*2, c.src.n)
				got, want := make([]byte, min(n, c.size-off)), make([]byte, min(n, c.size-off))
				if _, err := f.ReadAt(got, off); err != nil {
					t.Fatal(err)
				}
				c.src.at(off, want)
				if !bytes.Equal(got, want) {
					t.Errorf("GNU tar's disk.raw differs from the disk at %d..%d", off, off+int64(len(got)))
				}
			}
		})
	}
}

func TestReproducible(t *testing.T) {
	src := contents(50*BlockSize, [2]int64{BlockSize, 7 * BlockSize})
	a := archive(t, &Disk{Source: &memSource{l: src}, Size: GiB, Time: epoch})
	b := archive(t, &Disk{Source: &memSource{l: src}, Size: GiB, Time: epoch})
	if !bytes.Equal(a, b) {
		t.Error("two archives of the same disk differ")
	}
	d := &Disk{Source: &memSource{l: src}, Size: GiB, Time: epoch}
	if c := archive(t, d); !bytes.Equal(a, c) || !bytes.Equal(a, archive(t, d)) {
		t.Error("writing the same Disk twice gave different bytes")
	}
	if c := archive(t, &Disk{Source: &memSource{l: src}, Size: GiB, Time: epoch.Add(time.Second)}); bytes.Equal(a, c) {
		t.Error("the time stamp is not in the archive")
	}
}

func TestChangedSource(t *testing.T) {
	src := contents(20*BlockSize, [2]int64{BlockSize, BlockSize})
	for name, change := range map[string]func([]byte) []byte{
		"data in a hole": func(b []byte) []byte { b[10*BlockSize] = 1; return b },
		"shorter":        func(b []byte) []byte { return b[:len(b)-BlockSize] },
		"longer":         func(b []byte) []byte { return append(b, 0) },
	} {
		d := &Disk{Source: &memSource{l: src, change: change}, Size: GiB}
		if _, err := d.Map(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.WriteTo(io.Discard); !errors.Is(err, ErrChanged) {
			t.Errorf("%s: %v, want ErrChanged", name, err)
		}
	}
}

// TestDiskSizeCostsNothing checks that a 10 GiB disk costs what a 1 GiB
// disk with the same contents costs: the holes are not written, not
// compressed and not held in memory.
func TestDiskSizeCostsNothing(t *testing.T) {
	src := contents(8<<20, [2]int64{0, 1 << 20}, [2]int64{4 << 20, 2 << 20})
	measure := func(size int64) (int, uint64) {
		d := &Disk{Source: &memSource{l: src}, Size: size, Time: epoch}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		var b bytes.Buffer
		b.Grow(4 << 20)
		if _, err := d.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return b.Len(), after.TotalAlloc - before.TotalAlloc
	}
	n1, m1 := measure(GiB)
	n10, m10 := measure(10 * GiB)
	if n10 > n1+blockSize {
		t.Errorf("archive of a 10 GiB disk: %d bytes; of a 1 GiB disk with the same contents: %d", n10, n1)
	}
	if m10 > m1+(1<<20) {
		t.Errorf("writing a 10 GiB disk allocated %d bytes, a 1 GiB disk %d", m10, m1)
	}
	t.Logf("archive %d bytes for 3 MiB of data; %d bytes allocated (1 GiB), %d (10 GiB)", n10, m1, m10)
}

func TestPutNumber(t *testing.T) {
	for _, c := range []struct {
		n    int
		v    int64
		want string
	}{
		{8, 0o644, "0000644\x00"},
		{12, 1 << 30, "10000000000\x00"},
		{12, 8<<30 - 1, "77777777777\x00"},
		{12, 8 << 30, "\x80\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00"},
	} {
		b := make([]byte, c.n)
		if err := putNumber(b, c.v); err != nil || string(b) != c.want {
			t.Errorf("%d: %q %v, want %q", c.v, b, err, c.want)
		}
	}
	if err := putNumber(make([]byte, 8), 1<<56); err == nil {
		t.Error("a number too large for its field was accepted")
	}
}
