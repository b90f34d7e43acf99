package iso9660

import (
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"
)

func isoNames(t *testing.T, names []string, dirs map[string]bool) map[string]string {
	t.Helper()
	im := &Image{}
	for _, n := range names {
		e := Entry{Name: n, Size: 0, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("")), nil }}
		if dirs[n] {
			e = Entry{Name: n, Mode: fs.ModeDir | 0o755}
		}
		if err := im.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := im.layout(); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range im.root.children {
		got[c.name] = c.iso.identifier()
	}
	return got
}

func TestISONames(t *testing.T) {
	names := []string{"readme.TXT", "README.txt", "ReadMe.txt", "ab.txt", "AB.txt", "ab1.txt",
		"abcdefghij.txt", "abcdefghik.txt", "verylongdir1", "verylongdir2", ".profile", "x.tar.gz",
		"ünï.txt", "no_ext", "trailing.", "UPPER.JPEG", "same", "same."}
	dirs := map[string]bool{"verylongdir1": true, "verylongdir2": true, "same": true}
	want := map[string]string{
		"README.txt": "README.TXT;1", "ReadMe.txt": "README1.TXT;1", "readme.TXT": "README2.TXT;1",
		// ab1.txt keeps its own name, so the second AB.TXT skips it.
		"AB.txt": "AB.TXT;1", "ab.txt": "AB2.TXT;1", "ab1.txt": "AB1.TXT;1",
		"abcdefghij.txt": "ABCDEFGH.TXT;1", "abcdefghik.txt": "ABCDEFG1.TXT;1",
		"verylongdir1": "VERYLONG", "verylongdir2": "VERYLON1",
		".profile": "_PROFILE.;1", "x.tar.gz": "X_TAR.GZ;1", "ünï.txt": "_N_.TXT;1",
		"no_ext": "NO_EXT.;1", "trailing.": "TRAILING.;1", "UPPER.JPEG": "UPPER.JPE;1",
		"same": "SAME", "same.": "SAME.;1",
	}
	got := isoNames(t, names, dirs)
	for n, w := range want {
		if got[n] != w {
			t.Errorf("%q: ISO name %q, want %q", n, got[n], w)
		}
	}
	// The same set added in another order gives the same names.
	rev := slices.Clone(names)
	slices.Reverse(rev)
	again := isoNames(t, rev, dirs)
	for n := range want {
		if again[n] != got[n] {
			t.Errorf("%q: %q in reverse order, %q in order", n, again[n], got[n])
		}
	}
}

func TestManyCollisions(t *testing.T) {
	var names []string
	for i := 0; i < 2000; i++ {
		names = append(names, fmt.Sprintf("collision-%04d.log", i))
	}
	got := isoNames(t, names, nil)
	seen := map[string]string{}
	for n, id := range got {
		if len(strings.Split(strings.TrimSuffix(id, ";1"), ".")[0]) > 8 {
			t.Errorf("%s: %s is longer than 8.3", n, id)
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%s and %s both got %s", n, other, id)
		}
		seen[id] = n
	}
	if got["collision-0000.log"] != "COLLISIO.LOG;1" || got["collision-0001.log"] != "COLLISI1.LOG;1" || got["collision-1999.log"] != "COLL1999.LOG;1" {
		t.Errorf("unexpected names: %s %s %s", got["collision-0000.log"], got["collision-0001.log"], got["collision-1999.log"])
	}
}

// Continuation areas are packed into shared sectors but never cross one.
func TestContinuationAreas(t *testing.T) {
	im := &Image{}
	for i := 0; i < 60; i++ {
		target := strings.Repeat(fmt.Sprintf("%03d/", i), 100+i*3)
		if err := im.Add(Entry{Name: fmt.Sprintf("%03d-%s", i, strings.Repeat("n", 240)), Mode: fs.ModeSymlink | 0o777, Linkname: target[:min(len(target), MaxLinkname)]}); err != nil {
			t.Fatal(err)
		}
	}
	l, err := im.layout()
	if err != nil {
		t.Fatal(err)
	}
	if l.ceBlock < 10 {
		t.Fatalf("only %d continuation sectors for 60 long links", l.ceBlock+1)
	}
	for _, a := range l.ceAreas {
		if a.off+a.length > SectorSize {
			t.Errorf("area at %d+%d crosses its sector", a.off, a.length)
		}
		var n uint32
		for _, s := range a.sues {
			n += uint32(len(s))
		}
		if a.next != nil {
			n += ceLen
		}
		if n != a.length {
			t.Errorf("area length %d, entries %d", a.length, n)
		}
	}
}

// slDecode joins SL entries as Linux and NetBSD do: a slash between
// components unless one is marked CONTINUE, across entries too.
func slDecode(t *testing.T, sues [][]byte) (string, bool) {
	t.Helper()
	var b strings.Builder
	cont, boundaryOK := true, true
	for i, s := range sues {
		if string(s[:2]) != "SL" || int(s[2]) != len(s) || len(s) > 255 {
			t.Fatalf("entry %d: bad header % x", i, s[:4])
		}
		if more := s[4] == 1; more != (i < len(sues)-1) {
			t.Fatalf("entry %d: CONTINUE flag %d", i, s[4])
		}
		d := s[5:]
		var last byte
		for len(d) > 0 {
			flags, n := d[0], int(d[1])
			text := string(d[2 : 2+n])
			if !cont && flags&0x08 == 0 {
				b.WriteByte('/')
			}
			switch flags &^ 0x01 {
			case 0x02:
				b.WriteString(".")
			case 0x04:
				b.WriteString("..")
			case 0x08:
				b.WriteString("/")
			default:
				b.WriteString(text)
			}
			cont = flags&0x01 != 0 || flags&0x08 != 0
			last = flags
			d = d[2+n:]
		}
		// libarchive joins across entries without a slash: right only
		// when the entry ends in a continued name.
		if i < len(sues)-1 && last&0x01 == 0 {
			boundaryOK = false
		}
	}
	return b.String(), boundaryOK
}

func TestSymlinkEncoding(t *testing.T) {
	cases := []struct {
		target, want string
		boundaryOK   bool
	}{
		{"../README.txt", "../README.txt", true},
		{"/abs/olute/path", "/abs/olute/path", true},
		{"./x/../y", "./x/../y", true},
		{"a//b/", "a/b", true},
		{"/", "/", true},
		{"//", "/", true},
		{strings.Repeat("x", 255) + "/" + strings.Repeat("y", 255), strings.Repeat("x", 255) + "/" + strings.Repeat("y", 255), true},
		{strings.Repeat("component/", 102) + "end", strings.Repeat("component/", 102) + "end", true},
		{strings.Repeat("../", 100) + "x/" + strings.Repeat("../", 120) + "y", strings.Repeat("../", 100) + "x/" + strings.Repeat("../", 120) + "y", true},
		{strings.Repeat("a/", 300) + "b", strings.Repeat("a/", 300) + "b", true},
		// Only parent components: entries end in an empty continued piece.
		{strings.Repeat("../", 200) + "..", strings.Repeat("../", 200) + "..", true},
		{"/" + strings.Repeat("abcdefg/", 127) + "xyzzyz", "/" + strings.Repeat("abcdefg/", 127) + "xyzzyz", true},
	}
	for _, c := range cases {
		got, ok := slDecode(t, sueSL(c.target))
		if got != c.want || ok != c.boundaryOK {
			t.Errorf("%.40q...: decoded %.40q... (boundaries in names: %v), want %.40q... (%v)", c.target, got, ok, c.want, c.boundaryOK)
		}
	}
}
