// Package isotest checks ISO 9660 images with readers that share no code
// with the writer: the kdomanski/iso9660 Go reader, xorriso, isoinfo
// (genisoimage) and bsdtar (libarchive). Each must list exactly the
// expected tree (Rock Ridge names, types, permission bits, sizes, symbolic
// link targets) and, where it can extract files, the expected contents.
// It also decodes the path tables, the El Torito catalog, the boot
// information table and the hybrid MBR directly from the bytes.
package isotest

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	kiso "github.com/kdomanski/iso9660"

	"github.com/rumptools/rumptools/pkg/iso9660"
)

// Range is a half-open byte range of a file.
type Range struct{ Off, End int64 }

// Options adjust Check.
type Options struct {
	// Masked lists byte ranges of files that the writer patches (the boot
	// information table): they are zeroed on both sides before contents
	// are compared. CheckBoot checks what they hold.
	Masked map[string][]Range
}

// file is what one reader reports for one path.
type file struct {
	mode   fs.FileMode // type and permission bits, setuid/setgid/sticky when the reader shows them
	size   int64
	link   string
	sum    [32]byte
	hasSum bool
}

// Check verifies that the image at path holds exactly want (as
// iso9660.Image.Entries gives it: every directory listed) with every
// reader. It skips the test when a reader program is not installed.
func Check(t testing.TB, image string, want []iso9660.Entry, opt Options) {
	t.Helper()
	for _, p := range []struct{ prog, pkg string }{{"xorriso", "xorriso"}, {"isoinfo", "genisoimage"}, {"bsdtar", "libarchive-tools"}} {
		if _, err := exec.LookPath(p.prog); err != nil {
			t.Skipf("%s not installed (Debian package %s)", p.prog, p.pkg)
		}
	}
	exp := map[string]file{}
	for _, e := range want {
		name := strings.TrimPrefix(e.Name, "/")
		f := file{mode: e.Mode, link: e.Linkname}
		if e.Mode.Type() == 0 {
			rc, err := e.Open()
			if err != nil {
				t.Fatalf("isotest: opening the source of %s: %v", name, err)
			}
			f.size, f.sum = hash(t, rc, opt.Masked[name])
			rc.Close()
			if f.size != e.Size {
				t.Fatalf("isotest: source of %s has %d bytes, entry says %d", name, f.size, e.Size)
			}
			f.hasSum = true
		}
		exp[name] = f
	}

	got, skipped := readKdomanski(t, image, opt)
	compare(t, "kdomanski/iso9660", without(exp, skipped), got, modeBasic)
	compare(t, "isoinfo -l -R", exp, readIsoinfo(t, image), modeBasic)
	compare(t, "xorriso -lsdl", exp, readXorrisoList(t, image), modeFull)
	compare(t, "xorriso -extract", exp, readXorrisoExtract(t, image, opt), modePerm)
	compare(t, "bsdtar -tv", exp, readBsdtarList(t, image), modeFull)
	compare(t, "bsdtar -x", exp, readBsdtarExtract(t, image, opt), modePerm)
	checkVolume(t, image, exp)
}

// What a reader can tell about modes.
const (
	modeBasic = iota // type and rwx bits
	modePerm         // the same, from an extracted tree
	modeFull         // also setuid, setgid, sticky
)

func compare(t testing.TB, reader string, exp, got map[string]file, modes int) {
	t.Helper()
	var missing, extra []string
	for name := range exp {
		if _, ok := got[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name := range got {
		if _, ok := exp[name]; !ok {
			extra = append(extra, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: file list differs:\n  missing %q\n  extra   %q", reader, missing, extra)
	}
	mask := fs.ModeType | fs.ModePerm
	if modes == modeFull {
		mask |= fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky
	}
	for name, e := range exp {
		g, ok := got[name]
		if !ok {
			continue
		}
		if e.mode&mask != g.mode&mask {
			t.Errorf("%s: %s: mode %v, want %v", reader, name, g.mode&mask, e.mode&mask)
		}
		switch e.mode.Type() {
		case 0:
			if g.size != e.size {
				t.Errorf("%s: %s: size %d, want %d", reader, name, g.size, e.size)
			}
			if g.hasSum && g.sum != e.sum {
				t.Errorf("%s: %s: contents differ from the source", reader, name)
			}
		case fs.ModeSymlink:
			if g.link != "\x00unknown" && g.link != e.link {
				t.Errorf("%s: %s: link target %q, want %q", reader, name, g.link, e.link)
			}
		}
	}
}

func hash(t testing.TB, r io.Reader, masked []Range) (int64, [32]byte) {
	t.Helper()
	h := sha256.New()
	var off int64
	buf := make([]byte, 1<<16)
	for {
		n, err := r.Read(buf)
		b := buf[:n]
		for _, m := range masked {
			lo, hi := max(m.Off, off), min(m.End, off+int64(n))
			if lo < hi {
				clear(b[lo-off : hi-off])
			}
		}
		h.Write(b)
		off += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("isotest: reading: %v", err)
		}
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return off, s
}

// without returns exp less the contents of the directories in dirs.
func without(exp map[string]file, dirs []string) map[string]file {
	out := map[string]file{}
	for name, f := range exp {
		skip := false
		for _, d := range dirs {
			if d == "" || strings.HasPrefix(name, d+"/") {
				skip = true
			}
		}
		if !skip {
			out[name] = f
		}
	}
	return out
}

// readKdomanski lists the image with kdomanski/iso9660. Its v0.4.0 reads
// every sector of a directory into one buffer and keeps the system use
// entries as slices of it, so the Rock Ridge data of all but the last
// sector's records is overwritten: directories larger than one sector are
// not descended into, and their paths are returned as skipped.
func readKdomanski(t testing.TB, image string, opt Options) (map[string]file, []string) {
	t.Helper()
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := kiso.OpenImage(f)
	if err != nil {
		t.Fatalf("kdomanski/iso9660: %v", err)
	}
	root, err := img.RootDir()
	if err != nil {
		t.Fatalf("kdomanski/iso9660: %v", err)
	}
	got := map[string]file{}
	var skipped []string
	var walk func(d *kiso.File, prefix string)
	walk = func(d *kiso.File, prefix string) {
		if d.Size() > 2048 {
			t.Logf("kdomanski/iso9660: not reading %q, a directory of %d sectors (its Rock Ridge data would be garbled)", "/"+prefix, d.Size()/2048)
			skipped = append(skipped, strings.TrimSuffix(prefix, "/"))
			return
		}
		children, err := d.GetChildren()
		if err != nil {
			t.Fatalf("kdomanski/iso9660: %s: %v", prefix, err)
		}
		for _, c := range children {
			name := prefix + c.Name()
			g := file{mode: c.Mode(), link: "\x00unknown"} // it does not read SL
			if c.IsDir() {
				walk(c, name+"/")
			} else if c.Mode()&fs.ModeSymlink == 0 {
				g.size, g.sum = hash(t, c.Reader(), opt.Masked[name])
				g.hasSum = true
			}
			if _, dup := got[name]; dup {
				t.Errorf("kdomanski/iso9660: %s listed twice", name)
			}
			got[name] = g
		}
	}
	walk(root, "")
	return got, skipped
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	// xorriso reports damage it works around as WARNING, SORRY or FAILURE.
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "WARNING") || strings.Contains(line, "SORRY") || strings.Contains(line, "FAILURE") || strings.Contains(line, "MISHAP") {
			t.Errorf("%s: %s", name, line)
		}
	}
	return out
}

// parseMode reads an ls-style mode string such as "-rwsr-xr-x".
func parseMode(s string) (fs.FileMode, error) {
	if len(s) != 10 {
		return 0, fmt.Errorf("mode %q", s)
	}
	var m fs.FileMode
	switch s[0] {
	case '-':
	case 'd':
		m |= fs.ModeDir
	case 'l':
		m |= fs.ModeSymlink
	default:
		return 0, fmt.Errorf("mode %q: type %c", s, s[0])
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		c := s[1+i]
		switch {
		case c == rwx[i]:
			m |= 1 << (8 - i)
		case c == 's' && (i == 2 || i == 5), c == 't' && i == 8:
			m |= 1 << (8 - i)
			fallthrough
		case c == 'S' && (i == 2 || i == 5), c == 'T' && i == 8:
			m |= map[int]fs.FileMode{2: fs.ModeSetuid, 5: fs.ModeSetgid, 8: fs.ModeSticky}[i]
		case c == '-':
		default:
			return 0, fmt.Errorf("mode %q: %c at %d", s, c, i+1)
		}
	}
	return m, nil
}

var isoinfoLine = regexp.MustCompile(`^([-dl][-rwxsStT]{9})\s+\d+\s+\d+\s+\d+\s+(\d+)\s+\w{3}\s+\d+\s+\d+\s+\[\s*\d+\s+[0-9a-f]+\]\s\s(.*)$`)

func readIsoinfo(t testing.TB, image string) map[string]file {
	t.Helper()
	out := run(t, "isoinfo", "-l", "-R", "-i", image)
	got := map[string]file{}
	dir := ""
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "Directory listing of /"); ok {
			dir = rest
			continue
		}
		if line == "" {
			continue
		}
		m := isoinfoLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("isoinfo: cannot parse %q", line)
		}
		mode, err := parseMode(m[1])
		if err != nil {
			t.Fatalf("isoinfo: %v", err)
		}
		size, _ := strconv.ParseInt(m[2], 10, 64)
		name, link := m[3], ""
		if mode&fs.ModeSymlink != 0 {
			name, link, _ = strings.Cut(name, " -> ")
		} else {
			name = strings.TrimSuffix(name, " ")
		}
		if name == "." || name == ".." {
			continue
		}
		got[dir+name] = file{mode: mode, size: size, link: link}
	}
	return got
}

var xorrisoLine = regexp.MustCompile(`^([-dl][-rwxsStT]{9})\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\w{3}\s+\d+\s+\d+\s+'(.*)'$`)

// unquote undoes xorriso's shell quoting of ' inside '...'.
func unquote(s string) string { return strings.ReplaceAll(s, `'"'"'`, `'`) }

func readXorrisoList(t testing.TB, image string) map[string]file {
	t.Helper()
	out := run(t, "xorriso", "-abort_on", "FAILURE", "-return_with", "WARNING", "32", "-indev", image, "-find", "/", "-exec", "lsdl", "--")
	got := map[string]file{}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		m := xorrisoLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("xorriso: cannot parse %q", line)
		}
		mode, err := parseMode(m[1])
		if err != nil {
			t.Fatalf("xorriso: %v", err)
		}
		size, _ := strconv.ParseInt(m[2], 10, 64)
		name, link := m[3], ""
		if mode&fs.ModeSymlink != 0 {
			var ok bool
			if name, link, ok = strings.Cut(name, "' -> '"); !ok {
				t.Fatalf("xorriso: link without target: %q", line)
			}
		}
		name = strings.TrimPrefix(unquote(name), "/")
		if name == "" {
			continue
		}
		if mode.IsDir() {
			size = 0
		}
		got[name] = file{mode: mode, size: size, link: unquote(link)}
	}
	return got
}

var bsdtarLine = regexp.MustCompile(`^([-dl][-rwxsStT]{9})\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\w{3}\s+\d+\s+[\d:]+\s(.*)$`)

func readBsdtarList(t testing.TB, image string) map[string]file {
	t.Helper()
	out := run(t, "bsdtar", "-tvf", image)
	got := map[string]file{}
	for _, line := range strings.Split(string(out), "\n") {
		if line == "" {
			continue
		}
		m := bsdtarLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("bsdtar: cannot parse %q", line)
		}
		mode, err := parseMode(m[1])
		if err != nil {
			t.Fatalf("bsdtar: %v", err)
		}
		size, _ := strconv.ParseInt(m[2], 10, 64)
		name, link := m[3], ""
		if mode&fs.ModeSymlink != 0 {
			name, link, _ = strings.Cut(name, " -> ")
		}
		if name == "." {
			continue
		}
		if mode.IsDir() {
			size = 0
		}
		got[name] = file{mode: mode, size: size, link: link}
	}
	return got
}

func readXorrisoExtract(t testing.TB, image string, opt Options) map[string]file {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "x")
	run(t, "xorriso", "-abort_on", "FAILURE", "-return_with", "WARNING", "32", "-osirrox", "on", "-indev", image, "-extract", "/", dir)
	return readTree(t, dir, opt)
}

func readBsdtarExtract(t testing.TB, image string, opt Options) map[string]file {
	t.Helper()
	dir := t.TempDir()
	run(t, "bsdtar", "-x", "-p", "-f", image, "-C", dir)
	return readTree(t, dir, opt)
}

// readTree reports an extracted tree; extraction cannot be trusted with
// setuid bits, so only rwx bits are kept.
func readTree(t testing.TB, dir string, opt Options) map[string]file {
	t.Helper()
	got := map[string]file{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		g := file{mode: info.Mode() & (fs.ModeType | fs.ModePerm)}
		switch info.Mode().Type() {
		case fs.ModeSymlink:
			if g.link, err = os.Readlink(p); err != nil {
				return err
			}
		case 0:
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			g.size, g.sum = hash(t, f, opt.Masked[rel])
			g.hasSum = true
			f.Close()
		}
		got[rel] = g
		return nil
	})
	if err != nil {
		t.Fatalf("isotest: reading %s: %v", dir, err)
	}
	return got
}

// checkVolume decodes the primary volume descriptor and both path tables
// and checks them against the image size, each other, the directories'
// own "." records and isoinfo -p.
func checkVolume(t testing.TB, image string, exp map[string]file) {
	t.Helper()
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pvd := sector(t, f, 16)
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		t.Fatalf("no primary volume descriptor at sector 16")
	}
	if n := binary.LittleEndian.Uint32(pvd[80:]); int64(n)*2048 != fi.Size() || binary.BigEndian.Uint32(pvd[84:]) != n {
		t.Errorf("volume space size %d sectors, image has %d bytes", n, fi.Size())
	}
	if fi.Size()/2048 < 16+iso9660.PadSectors {
		t.Errorf("image of %d bytes is too small to have %d sectors of padding", fi.Size(), iso9660.PadSectors)
	}
	size := binary.LittleEndian.Uint32(pvd[132:])
	if binary.BigEndian.Uint32(pvd[136:]) != size {
		t.Errorf("path table size differs between byte orders")
	}
	l := pathTable(t, f, binary.LittleEndian.Uint32(pvd[140:]), size, binary.LittleEndian)
	m := pathTable(t, f, binary.BigEndian.Uint32(pvd[148:]), size, binary.BigEndian)
	if !slices.Equal(l, m) {
		t.Errorf("L and M path tables differ:\n%v\n%v", l, m)
	}
	dirs := 1
	for _, e := range exp {
		if e.mode.IsDir() {
			dirs++
		}
	}
	if len(l) != dirs {
		t.Errorf("path table has %d directories, the tree %d", len(l), dirs)
	}
	level := map[int]int{1: 1}
	for i, r := range l {
		num := i + 1
		if num == 1 {
			if r.parent != 1 || r.id != "\x00" {
				t.Errorf("path table record 1 is not the root: %+v", r)
			}
		} else {
			if r.parent < 1 || r.parent >= num {
				t.Errorf("path table record %d: parent %d", num, r.parent)
				continue
			}
			level[num] = level[r.parent] + 1
			p := l[i-1]
			key := func(n int, r ptRecord) string { return fmt.Sprintf("%05d %05d %s", level[n], r.parent, r.id) }
			if key(num-1, p) >= key(num, r) {
				t.Errorf("path table records %d and %d are out of order: %+v, %+v", num-1, num, p, r)
			}
		}
		// The directory's first record is "." and points at itself.
		d := sector(t, f, int64(r.lba))
		if d[32] != 1 || d[33] != 0 || binary.LittleEndian.Uint32(d[2:]) != r.lba {
			t.Errorf("path table record %d (%q) points at sector %d, which does not start with its \".\" record", num, r.id, r.lba)
		}
	}
	// isoinfo -p prints the L table: "   2:    1 15 A".
	out := run(t, "isoinfo", "-p", "-i", image)
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, ":") && !strings.HasPrefix(line, "Path table") {
			lines = append(lines, strings.Join(strings.Fields(line), " "))
		}
	}
	var mine []string
	for i, r := range l {
		id := r.id
		if id == "\x00" {
			id = ""
		}
		mine = append(mine, strings.TrimSpace(fmt.Sprintf("%d: %d %x %s", i+1, r.parent, r.lba, id)))
	}
	if !slices.Equal(lines, mine) {
		t.Errorf("isoinfo -p:\n%s\ndecoded:\n%s", strings.Join(lines, "\n"), strings.Join(mine, "\n"))
	}
}

type ptRecord struct {
	lba    uint32
	parent int
	id     string
}

func pathTable(t testing.TB, f *os.File, lba, size uint32, order binary.ByteOrder) []ptRecord {
	t.Helper()
	b := make([]byte, size)
	if _, err := f.ReadAt(b, int64(lba)*2048); err != nil {
		t.Fatalf("reading path table at sector %d: %v", lba, err)
	}
	var recs []ptRecord
	for len(b) > 0 {
		n := int(b[0])
		if n == 0 || 8+n > len(b) {
			t.Fatalf("path table record with identifier length %d and %d bytes left", n, len(b))
		}
		recs = append(recs, ptRecord{lba: order.Uint32(b[2:]), parent: int(order.Uint16(b[6:])), id: string(b[8 : 8+n])})
		b = b[8+n+n%2:]
	}
	return recs
}

func sector(t testing.TB, f *os.File, n int64) []byte {
	t.Helper()
	b := make([]byte, 2048)
	if _, err := f.ReadAt(b, n*2048); err != nil {
		t.Fatalf("reading sector %d: %v", n, err)
	}
	return b
}

// Boot is what CheckBoot found.
type Boot struct {
	Catalog  uint32 // sector of the boot catalog
	ImageLBA uint32 // sector of the boot image
	Load     uint16 // 512-byte sectors the BIOS loads
	Size     uint32 // the boot image's length from the information table
}

// CheckBoot decodes the El Torito boot record and catalog, checks the boot
// information table in the boot image at bootPath (its location, length
// and checksum), the hybrid MBR for the given convention, and that xorriso
// recognises the same.
func CheckBoot(t testing.TB, image, bootPath string, hybrid iso9660.Hybrid) Boot {
	t.Helper()
	f, err := os.Open(image)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := sector(t, f, 17)
	if br[0] != 0 || string(br[1:6]) != "CD001" || !bytes.HasPrefix(br[7:39], []byte("EL TORITO SPECIFICATION\x00")) {
		t.Fatalf("sector 17 is not an El Torito boot record")
	}
	var b Boot
	b.Catalog = binary.LittleEndian.Uint32(br[71:])
	cat := sector(t, f, int64(b.Catalog))
	var sum uint16
	for i := 0; i < 32; i += 2 {
		sum += binary.LittleEndian.Uint16(cat[i:])
	}
	if cat[0] != 1 || cat[1] != 0 || cat[30] != 0x55 || cat[31] != 0xAA || sum != 0 {
		t.Errorf("bad validation entry: % x (sum %#x)", cat[:32], sum)
	}
	e := cat[32:64]
	if e[0] != 0x88 || e[1] != 0 {
		t.Errorf("initial entry is not bootable no-emulation: % x", e)
	}
	b.Load = binary.LittleEndian.Uint16(e[6:])
	b.ImageLBA = binary.LittleEndian.Uint32(e[8:])

	head := make([]byte, 64)
	if _, err := f.ReadAt(head, int64(b.ImageLBA)*2048); err != nil {
		t.Fatal(err)
	}
	if pvd := binary.LittleEndian.Uint32(head[8:]); pvd != 16 {
		t.Errorf("boot information table: primary volume descriptor at %d, want 16", pvd)
	}
	if lba := binary.LittleEndian.Uint32(head[12:]); lba != b.ImageLBA {
		t.Errorf("boot information table: boot file at %d, catalog says %d", lba, b.ImageLBA)
	}
	b.Size = binary.LittleEndian.Uint32(head[16:])
	data := make([]byte, b.Size)
	if _, err := f.ReadAt(data, int64(b.ImageLBA)*2048); err != nil {
		t.Fatal(err)
	}
	var csum uint32
	for i := 64; i < len(data); i += 4 {
		var w [4]byte
		copy(w[:], data[i:])
		csum += binary.LittleEndian.Uint32(w[:])
	}
	if got := binary.LittleEndian.Uint32(head[20:]); got != csum {
		t.Errorf("boot information table: checksum %#x, computed %#x", got, csum)
	}

	mbr := sector(t, f, 0)[:512]
	fi, _ := f.Stat()
	sectors512 := uint32(fi.Size() / 512)
	var want uint64
	var start uint32
	var typ byte
	switch hybrid {
	case iso9660.NoHybrid:
		if !bytes.Equal(mbr, make([]byte, 512)) {
			t.Errorf("system area is not empty")
		}
	case iso9660.HybridISOLINUX:
		want, start, typ = uint64(b.ImageLBA)*4, 0, 0x17
	case iso9660.HybridGRUB2:
		want, start, typ = uint64(b.ImageLBA)*4+4, 1, 0xCD
		if got := binary.LittleEndian.Uint64(data[2548:]); got != uint64(b.ImageLBA)*4+5 {
			t.Errorf("GRUB core block list at 2548: %d, want %d", got, uint64(b.ImageLBA)*4+5)
		}
	}
	if hybrid != iso9660.NoHybrid {
		if got := binary.LittleEndian.Uint64(mbr[0x1B0:]); got != want {
			t.Errorf("MBR boot image address %d, want %d", got, want)
		}
		p := mbr[0x1BE:0x1CE]
		if p[0] != 0x80 || p[4] != typ || binary.LittleEndian.Uint32(p[8:]) != start || binary.LittleEndian.Uint32(p[12:]) != sectors512-start {
			t.Errorf("MBR partition 1: % x (want active, type %#x, from %d, %d sectors)", p, typ, start, sectors512-start)
		}
		if !bytes.Equal(mbr[0x1CE:0x1FE], make([]byte, 48)) || mbr[510] != 0x55 || mbr[511] != 0xAA {
			t.Errorf("MBR: other partitions or signature wrong")
		}
		if fi.Size()%(1<<20) != 0 {
			t.Errorf("hybrid image of %d bytes is not whole cylinders of 1 MiB", fi.Size())
		}
	}

	// xorriso's view of the same.
	wantLines := []string{
		fmt.Sprintf(`El Torito boot img :   1  BIOS  y   none  0x0000  0x00  %5d  %10d`, b.Load, b.ImageLBA),
		"El Torito img path :   1  /" + strings.TrimPrefix(bootPath, "/"),
		"boot-info-table",
	}
	if hybrid != iso9660.NoHybrid {
		wantLines = append(wantLines, fmt.Sprintf("MBR partition      :   1   0x80  %#x  %11d  %11d", typ, start, sectors512-start))
	}
	xorrisoReport(t, image, wantLines)
	return b
}

func xorrisoReport(t testing.TB, image string, want []string) {
	t.Helper()
	report := string(run(t, "xorriso", "-indev", image, "-report_el_torito", "plain", "-report_system_area", "plain"))
	for _, w := range want {
		if !strings.Contains(report, w) {
			t.Errorf("xorriso report lacks %q:\n%s", w, report)
		}
	}
}

// CheckLoaderMBR checks that xorriso recognises the hybrid MBR as the boot
// loader's own: isohdpfx.bin with an isolinux.bin suited to it, or GRUB's
// boot_hybrid.img with the GRUB core's block list filled in.
func CheckLoaderMBR(t testing.TB, image string, hybrid iso9660.Hybrid) {
	t.Helper()
	switch hybrid {
	case iso9660.HybridISOLINUX:
		xorrisoReport(t, image, []string{"System area summary: MBR isohybrid", "isohybrid-suitable"})
	case iso9660.HybridGRUB2:
		xorrisoReport(t, image, []string{"System area summary: MBR protective-msdos-label grub2-mbr", "grub2-boot-info"})
	}
}

// Masks returns the Options.Masked ranges of a boot image patched for the
// given hybrid convention.
func Masks(bootPath string, hybrid iso9660.Hybrid) map[string][]Range {
	r := []Range{{8, 64}}
	if hybrid == iso9660.HybridGRUB2 {
		r = append(r, Range{2548, 2556})
	}
	return map[string][]Range{strings.TrimPrefix(bootPath, "/"): r}
}

// Tree returns the entries of a directory tree on disk, as
// iso9660.Image.AddFS would add them, for Check.
func Tree(t testing.TB, dir string) []iso9660.Entry {
	t.Helper()
	var im iso9660.Image
	if err := im.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	return im.Entries()
}
