package iso9660_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	kiso "github.com/kdomanski/iso9660"

	"github.com/rumptools/rumptools/pkg/iso9660"
	"github.com/rumptools/rumptools/pkg/iso9660/isotest"
)

// makeTree writes a tree that exercises names (case, length, UTF-8,
// 8.3 collisions), types, permission bits, continuation areas and
// directories larger than a sector.
func makeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// The root stays within one sector, so that kdomanski/iso9660 (which
	// garbles larger directories) checks most of the tree; "many" is large.
	files := map[string][]byte{
		"README.txt": []byte("upper\n"),
		"ReadMe.txt": []byte("mixed\n"),
		"readme.TXT": []byte("lower\n"),
		"names/Long Mixed Case Name with spaces.text": []byte("spaces\n"),
		"names/ünïcødé-名前.txt":                        []byte("utf-8\n"),
		"names/it's.txt":                              []byte("quote\n"),
		"names/.hidden":                               []byte("dot\n"),
		"names/" + strings.Repeat("n", 255):           []byte("255-byte name\n"),
		"empty":                                       nil,
		"sector.bin":                                  random(2048),
		"big.bin":                                     random(1<<20 + 1),
		"sub/deeper/blob.bin":                         random(5000),
		"a/b/c/d/e/f/g/h/i/j/k/deep.txt":              []byte("twelve levels\n"),
		"verylongdirectory1/x":                        []byte("1"),
		"verylongdirectory2/x":                        []byte("2"),
	}
	for i := 0; i < 150; i++ {
		files[fmt.Sprintf("many/file-with-a-longer-name-%03d.data", i)] = []byte(fmt.Sprint(i))
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"sub/link":         "../README.txt",
		"sub/abslink":      "/abs/olute/path",
		"sub/dots":         "./x/../y",
		"links/long":       strings.Repeat("x", 300) + "/" + strings.Repeat("y", 40) + "/" + strings.Repeat("z", 250),
		"links/components": strings.Repeat("component/", 102) + "end",
		"links/parents":    strings.Repeat("../", 100) + "x/" + strings.Repeat("../", 120) + "y",
		"links/max":        "/" + strings.Repeat("abcdefg/", 127) + "xyzzyz",
	}
	for name, target := range links {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	modes := map[string]fs.FileMode{
		"sub/deeper/blob.bin": 0o755 | fs.ModeSetuid,
		"sector.bin":          0o600,
		"many":                0o755 | fs.ModeSetgid,
		"sub":                 0o777 | fs.ModeSticky,
	}
	for name, m := range modes {
		if err := os.Chmod(filepath.Join(dir, name), m); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeImage(t *testing.T, im *iso9660.Image, name string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	n, err := im.WriteTo(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	size, err := im.Size()
	if err != nil || size != n {
		t.Fatalf("Size() = %d, %v; WriteTo wrote %d", size, err, n)
	}
	return p
}

func TestReadersSeeTheTree(t *testing.T) {
	dir := makeTree(t)
	im := &iso9660.Image{VolumeID: "DATA"}
	if err := im.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	img := writeImage(t, im, "data.iso")
	isotest.Check(t, img, isotest.Tree(t, dir), isotest.Options{})

	// The base names as a reader without Rock Ridge sees them: level 1,
	// collisions numbered in byte order of the real names.
	out, err := exec("isoinfo", "-l", "-i", img)
	if err != nil {
		t.Skip(err)
	}
	for _, want := range []string{"README.TXT;1", "README1.TXT;1", "README2.TXT;1", "VERYLONG", "VERYLON1", "_HIDDEN.;1", "IT_S.TXT;1", "NNNNNNNN.;1", "LONG_MIX.TEX;1"} {
		if !strings.Contains(out, "  "+want+" ") {
			t.Errorf("isoinfo -l (no Rock Ridge) lacks %s:\n%s", want, out)
		}
	}
	// README.txt < ReadMe.txt < readme.TXT in byte order.
	for _, c := range []struct{ name, content string }{{"README.TXT;1", "upper"}, {"README1.TXT;1", "mixed"}, {"README2.TXT;1", "lower"}} {
		got, err := exec("isoinfo", "-i", img, "-x", "/"+c.name)
		if err != nil || strings.TrimSpace(got) != c.content {
			t.Errorf("isoinfo -x /%s = %q, %v; want %q", c.name, got, err, c.content)
		}
	}
}

func exec(name string, args ...string) (string, error) {
	cmd := osexec.Command(name, args...)
	out, err := cmd.Output()
	return string(out), err
}

func TestReproducible(t *testing.T) {
	dir := makeTree(t)
	build := func(when time.Time) []byte {
		im := &iso9660.Image{VolumeID: "DATA", Time: when}
		if err := im.AddFS(os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := im.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	epoch := time.Unix(1700000000, 0)
	a := build(epoch)
	// New modification and access times on every file and directory.
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		return os.Chtimes(p, time.Unix(12345, 0), time.Unix(99999, 0))
	})
	if err != nil {
		t.Fatal(err)
	}
	b := build(epoch)
	if !bytes.Equal(a, b) {
		t.Fatalf("two builds differ after the files' times changed")
	}
	c := build(epoch.Add(time.Second))
	if bytes.Equal(a, c) {
		t.Fatalf("a different time gives the same image")
	}
	// The one time is in the volume descriptor and the file records.
	pvd := a[16*2048:]
	if got := string(pvd[813:829]); got != "2023111422132000" {
		t.Errorf("creation date %q, want 2023111422132000", got)
	}
	d := iso9660.DefaultTime
	if got := string(build(time.Time{})[16*2048+830 : 16*2048+846]); got != d.Format("20060102150405")+"00" {
		t.Errorf("modification date with zero Time %q, want %s", got, d.Format("20060102150405"))
	}
	img, err := kiso.OpenImage(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := img.RootDir()
	kids, _ := root.GetChildren()
	for _, k := range kids {
		if !k.ModTime().Equal(epoch) {
			t.Errorf("%s: recorded %v, want %v", k.Name(), k.ModTime(), epoch.UTC())
		}
	}
}

// hideReaderFrom keeps a writer's ReadFrom out of sight, so the image
// writer copies through its own buffer.
type hideReaderFrom struct{ io.Writer }

func TestFileAndStreamGiveTheSameBytes(t *testing.T) {
	dir := makeTree(t)
	im := &iso9660.Image{}
	if err := im.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	viaFile, err := os.ReadFile(writeImage(t, im, "f.iso"))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := im.WriteTo(hideReaderFrom{&b}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(viaFile, b.Bytes()) {
		t.Fatalf("image written to a file differs from the streamed one")
	}
}

// genReader yields n deterministic bytes without storing them.
type genReader struct {
	n, off int64
	open   *int
}

func (g *genReader) Read(b []byte) (int, error) {
	if g.off >= g.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), g.n-g.off)]
	for i := range b {
		b[i] = byte((g.off + int64(i)) * 7 >> 3)
	}
	g.off += int64(len(b))
	return len(b), nil
}

func (g *genReader) Close() error { *g.open--; return nil }

func TestStreamsOneFileAtATime(t *testing.T) {
	const files, size = 32, 8 << 20
	im := &iso9660.Image{}
	open, maxOpen := 0, 0
	for i := 0; i < files; i++ {
		err := im.Add(iso9660.Entry{Name: fmt.Sprintf("d%d/f%d", i%4, i), Mode: 0o644, Size: size,
			Open: func() (io.ReadCloser, error) {
				open++
				maxOpen = max(maxOpen, open)
				return &genReader{n: size, open: &open}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n, err := im.WriteTo(&headWriter{})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n < files*size {
		t.Fatalf("wrote %d bytes for %d of data", n, files*size)
	}
	if maxOpen != 1 || open != 0 {
		t.Errorf("%d sources open at once, %d left open", maxOpen, open)
	}
	// 256 MiB of data pass through a fixed buffer: allocations stay far
	// below the data size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("allocated %d bytes while streaming %d", alloc, n)
	}
}

// headWriter keeps the first sectors of an image and counts the rest.
type headWriter struct {
	head []byte
	n    int64
}

func (w *headWriter) Write(b []byte) (int, error) {
	if keep := int64(cap(w.head)) - w.n; keep > 0 {
		w.head = append(w.head, b[:min(keep, int64(len(b)))]...)
	}
	w.n += int64(len(b))
	return len(b), nil
}

// zerosAfter reads the kept head, then zeros.
type zerosAfter struct {
	head []byte
	size int64
}

func (z zerosAfter) ReadAt(b []byte, off int64) (int, error) {
	if off >= z.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(b) && off+int64(n) < z.size {
		if p := off + int64(n); p < int64(len(z.head)) {
			n += copy(b[n:], z.head[p:])
		} else {
			b[n] = 0
			n++
		}
	}
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

type zeros struct{ n int64 }

func (z *zeros) Read(b []byte) (int, error) {
	if z.n == 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), z.n)]
	clear(b)
	z.n -= int64(len(b))
	return len(b), nil
}

func TestLargestFile(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 4 GiB")
	}
	im := &iso9660.Image{}
	err := im.Add(iso9660.Entry{Name: "huge.img", Mode: 0o644, Size: iso9660.MaxFileSize,
		Open: func() (io.ReadCloser, error) { return io.NopCloser(&zeros{iso9660.MaxFileSize}), nil }})
	if err != nil {
		t.Fatal(err)
	}
	w := &headWriter{head: make([]byte, 0, 64*2048)}
	n, err := im.WriteTo(w)
	if err != nil {
		t.Fatal(err)
	}
	img, err := kiso.OpenImage(zerosAfter{w.head, n})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := img.RootDir()
	kids, err := root.GetChildren()
	if err != nil || len(kids) != 1 || kids[0].Name() != "huge.img" || kids[0].Size() != iso9660.MaxFileSize {
		t.Fatalf("read back %v, %v; want huge.img of %d bytes", kids, err, int64(iso9660.MaxFileSize))
	}
}

func TestErrors(t *testing.T) {
	data := func(n int64) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(&zeros{n}), nil }
	}
	file := func(name string) iso9660.Entry {
		return iso9660.Entry{Name: name, Mode: 0o644, Size: 1, Open: data(1)}
	}
	cases := []struct {
		name    string
		entries []iso9660.Entry
		want    error
		msg     string
	}{
		{"duplicate", []iso9660.Entry{file("a/b"), file("a/b")}, iso9660.ErrDuplicate, "iso9660: a/b: already in the image"},
		{"dir twice", []iso9660.Entry{{Name: "d", Mode: fs.ModeDir | 0o755}, {Name: "d", Mode: fs.ModeDir | 0o700}}, iso9660.ErrDuplicate, "d:"},
		{"file and dir", []iso9660.Entry{file("a/b"), {Name: "a/b", Mode: fs.ModeDir | 0o755}}, iso9660.ErrDuplicate, "a/b:"},
		{"under a file", []iso9660.Entry{file("a"), file("a/b")}, iso9660.ErrNotDir, "a/b: a parent is not a directory: a is not a directory"},
		{"empty", []iso9660.Entry{file("")}, iso9660.ErrName, "empty path"},
		{"empty component", []iso9660.Entry{file("a//b")}, iso9660.ErrName, "a//b"},
		{"dot", []iso9660.Entry{file("a/./b")}, iso9660.ErrName, "a/./b"},
		{"dotdot", []iso9660.Entry{file("../b")}, iso9660.ErrName, "../b"},
		{"long name", []iso9660.Entry{file(strings.Repeat("x", 256))}, iso9660.ErrName, "component of 256 bytes (at most 255)"},
		{"NUL", []iso9660.Entry{file("a\x00b")}, iso9660.ErrName, "NUL"},
		{"too large", []iso9660.Entry{{Name: "big", Size: iso9660.MaxFileSize + 1, Open: data(0)}}, iso9660.ErrTooLarge, "big: file too large for ISO 9660: 4294967296 bytes (at most 4294967295, 4 GiB - 1)"},
		{"negative", []iso9660.Entry{{Name: "neg", Size: -1, Open: data(0)}}, iso9660.ErrTooLarge, "negative size"},
		{"no contents", []iso9660.Entry{{Name: "f", Size: 1}}, iso9660.ErrType, "Open is nil"},
		{"device", []iso9660.Entry{{Name: "dev/null", Mode: fs.ModeDevice | fs.ModeCharDevice | 0o666}}, iso9660.ErrType, "dev/null: unsupported file type: character device"},
		{"empty link", []iso9660.Entry{{Name: "l", Mode: fs.ModeSymlink | 0o777}}, iso9660.ErrLink, "empty target"},
		{"long link", []iso9660.Entry{{Name: "l", Mode: fs.ModeSymlink | 0o777, Linkname: strings.Repeat("a", 1024)}}, iso9660.ErrLink, "target of 1024 bytes (at most 1023)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im := &iso9660.Image{}
			var err error
			for _, e := range c.entries {
				if err = im.Add(e); err != nil {
					break
				}
			}
			if !errors.Is(err, c.want) || !strings.Contains(fmt.Sprint(err), c.msg) {
				t.Fatalf("got %v, want %v containing %q", err, c.want, c.msg)
			}
			var e *iso9660.Error
			if !errors.As(err, &e) {
				t.Fatalf("%T is not *iso9660.Error", err)
			}
		})
	}
}

func TestLayoutErrors(t *testing.T) {
	small := iso9660.Entry{Name: "boot.img", Mode: 0o644, Size: 10, Open: func() (io.ReadCloser, error) { return io.NopCloser(&zeros{10}), nil }}
	cases := []struct {
		name string
		im   *iso9660.Image
		want error
		msg  string
	}{
		{"volume id", &iso9660.Image{VolumeID: "lower"}, iso9660.ErrVolumeID, `"lower": 'l' at 0 is not one of A-Z, 0-9, _`},
		{"volume id length", &iso9660.Image{VolumeID: strings.Repeat("A", 33)}, iso9660.ErrVolumeID, "33 characters (at most 32)"},
		{"application", &iso9660.Image{Application: "a\tb"}, iso9660.ErrVolumeID, "application identifier"},
		{"year", &iso9660.Image{Time: time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)}, iso9660.ErrLimit, "outside the years 1900 to 2155"},
		{"no boot image", &iso9660.Image{Boot: &iso9660.Boot{Image: "/boot/missing.img"}}, iso9660.ErrBoot, "/boot/missing.img: invalid boot setup: boot image is not in the image"},
		{"boot image is a directory", &iso9660.Image{Boot: &iso9660.Boot{Image: "boot.img"}}, iso9660.ErrBoot, "not a regular file"},
		{"boot image too small", &iso9660.Image{Boot: &iso9660.Boot{Image: "boot.img", InfoTable: true}}, iso9660.ErrBoot, "no room for a boot information table"},
		{"no MBR code", &iso9660.Image{Boot: &iso9660.Boot{Image: "boot.img", Hybrid: iso9660.HybridISOLINUX}}, iso9660.ErrBoot, "hybrid MBR boot code of 0 bytes"},
		{"GRUB image too small", &iso9660.Image{Boot: &iso9660.Boot{Image: "boot.img", MBR: []byte{1}, Hybrid: iso9660.HybridGRUB2}}, iso9660.ErrBoot, "too small for GRUB"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := small
			if c.name == "boot image is a directory" {
				e = iso9660.Entry{Name: "boot.img", Mode: fs.ModeDir | 0o755}
			}
			if err := c.im.Add(e); err != nil {
				t.Fatal(err)
			}
			_, err := c.im.Size()
			if !errors.Is(err, c.want) || !strings.Contains(fmt.Sprint(err), c.msg) {
				t.Fatalf("Size: got %v, want %v containing %q", err, c.want, c.msg)
			}
			var b bytes.Buffer
			if _, err := c.im.WriteTo(&b); !errors.Is(err, c.want) || b.Len() != 0 {
				t.Fatalf("WriteTo: %v after %d bytes; want %v before any byte", err, b.Len(), c.want)
			}
		})
	}
}

func TestTooManyDirectories(t *testing.T) {
	im := &iso9660.Image{}
	for i := 0; i < 0xFFFF; i++ {
		if err := im.Add(iso9660.Entry{Name: fmt.Sprintf("%d/%d", i/256, i), Mode: fs.ModeDir | 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	// 65535 + 256 parents + the root.
	_, err := im.Size()
	if !errors.Is(err, iso9660.ErrLimit) || !strings.Contains(err.Error(), "65792 directories (a path table holds at most 65535)") {
		t.Fatalf("got %v", err)
	}
}

// sourceOf returns an Open that yields data, then more bytes if extra.
func sourceOf(data []byte, extra int) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(data), bytes.NewReader(make([]byte, extra)))), nil
	}
}

func TestSourceChanges(t *testing.T) {
	cases := []struct {
		name string
		e    iso9660.Entry
		msg  string
	}{
		{"shrank", iso9660.Entry{Name: "d/f", Size: 100, Open: sourceOf(make([]byte, 60), 0)}, "d/f: file changed size while the image was written: 60 bytes read, 100 expected"},
		{"grew", iso9660.Entry{Name: "d/f", Size: 100, Open: sourceOf(make([]byte, 100), 1)}, "d/f: file changed size while the image was written: more than the 100 bytes expected"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			im := &iso9660.Image{}
			if err := im.Add(c.e); err != nil {
				t.Fatal(err)
			}
			_, err := im.WriteTo(io.Discard)
			if !errors.Is(err, iso9660.ErrSizeChange) || err.Error() != "iso9660: "+c.msg {
				t.Fatalf("got %v, want %q", err, c.msg)
			}
		})
	}
	t.Run("open fails", func(t *testing.T) {
		im := &iso9660.Image{}
		boom := errors.New("boom")
		im.Add(iso9660.Entry{Name: "f", Size: 1, Open: func() (io.ReadCloser, error) { return nil, boom }})
		if _, err := im.WriteTo(io.Discard); !errors.Is(err, boom) || err.Error() != "iso9660: f: boom" {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("special file", func(t *testing.T) {
		dir := t.TempDir()
		if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
			t.Skip(err)
		}
		err := (&iso9660.Image{}).AddFS(os.DirFS(dir))
		if !errors.Is(err, iso9660.ErrType) || !strings.Contains(err.Error(), "fifo: unsupported file type: named pipe") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestBootImage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	boot := make([]byte, 30000)
	for i := range boot {
		boot[i] = byte(rng.Uint32())
	}
	mbr := bytes.Repeat([]byte{0xAB}, 432)
	for _, h := range []iso9660.Hybrid{iso9660.NoHybrid, iso9660.HybridISOLINUX, iso9660.HybridGRUB2} {
		t.Run(fmt.Sprint(h), func(t *testing.T) {
			im := &iso9660.Image{VolumeID: "BOOT", Boot: &iso9660.Boot{Image: "/boot/loader.img", InfoTable: true, Hybrid: h}}
			if h != iso9660.NoHybrid {
				im.Boot.MBR = mbr
			}
			for _, e := range []iso9660.Entry{
				{Name: "/boot/loader.img", Mode: 0o644, Size: int64(len(boot)), Open: sourceOf(boot, 0)},
				{Name: "/boot/kernel", Mode: 0o644, Size: 3, Open: sourceOf([]byte("abc"), 0)},
			} {
				if err := im.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			img := writeImage(t, im, "boot.iso")
			isotest.Check(t, img, im.Entries(), isotest.Options{Masked: isotest.Masks("/boot/loader.img", h)})
			b := isotest.CheckBoot(t, img, "/boot/loader.img", h)
			if b.Load != 4 || b.Size != uint32(len(boot)) {
				t.Errorf("boot entry %+v", b)
			}
			raw, _ := os.ReadFile(img)
			if h != iso9660.NoHybrid && !bytes.Equal(raw[:432], mbr) {
				t.Errorf("MBR boot code not in place")
			}
		})
	}
}

func TestEntries(t *testing.T) {
	im := &iso9660.Image{}
	for _, e := range []iso9660.Entry{
		{Name: "b/z", Size: 1, Open: sourceOf([]byte("z"), 0)},
		{Name: "a", Mode: fs.ModeSymlink | 0o777, Linkname: "b/z"},
		{Name: "b", Mode: fs.ModeDir | 0o700},
	} {
		if err := im.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, e := range im.Entries() {
		got = append(got, fmt.Sprintf("%s %v %d %s", e.Name, e.Mode, e.Size, e.Linkname))
	}
	want := []string{"a Lrwxrwxrwx 0 b/z", "b drwx------ 0 ", "b/z ---------- 1 "}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
