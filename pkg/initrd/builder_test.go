package initrd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// treeEntry describes one path of a test tree.
type treeEntry struct {
	path string
	kind byte // 'd' dir, 'f' file, 'l' symlink, 'h' hard link to data
	mode fs.FileMode
	data string // file content, link target or, for 'h', the path linked to
}

func randomData(n int, seed uint64) string {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return string(b)
}

func deepPath(n int) string {
	p := "deep"
	for i := 1; i <= n; i++ {
		p += fmt.Sprintf("/d%d", i)
	}
	return p
}

// testTree covers what the archives must carry: file types, permission
// bits, data sizes around the 4-byte padding, deep trees, odd names, hard
// links (data once) and symlinks.
var testTree = []treeEntry{
	{"bin", 'd', 0o755, ""},
	{"bin/app", 'f', fs.ModeSetuid | 0o755, randomData(100_003, 1)},
	{"bin/app2", 'h', 0, "bin/app"},
	{"sbin", 'd', 0o750, ""},
	{"sbin/app3", 'h', 0, "bin/app"},
	{"bin/passwd-link", 'l', 0, "../etc/passwd"},
	{"etc", 'd', 0o755, ""},
	{"etc/passwd", 'f', 0o644, "root:x:0:0:root:/root:/bin/sh\n"},
	{"etc/big", 'f', 0o600, randomData(1<<20+3, 2)},
	{"etc/one", 'f', 0o644, "1"},
	{"etc/two", 'f', 0o644, "22"},
	{"etc/three", 'f', 0o644, "333"},
	{"etc/four", 'f', 0o644, "4444"},
	{"etc/hl-empty", 'f', 0o640, ""},
	{"hl-empty2", 'h', 0, "etc/hl-empty"},
	{"empty", 'f', 0o644, ""},
	{"empty-dir", 'd', 0o711, ""},
	{"tmp", 'd', fs.ModeSticky | 0o777, ""},
	{"name with spaces.txt", 'f', 0o644, "spaces"},
	{"ünïcødé", 'd', 0o755, ""},
	{"ünïcødé/файл.txt", 'f', 0o644, "utf-8"},
	{"new\nline", 'f', 0o644, "newline in the name"},
	{"tab\tname", 'f', 0o644, "tab"},
	{"a-b", 'f', 0o644, "sorts after a/"},
	{"a", 'd', 0o755, ""},
	{"a/b", 'f', 0o644, "in a"},
	{"lib", 'l', 0, "usr/lib"},
	{"abs", 'l', 0, "/etc/passwd"},
	{deepPath(1), 'd', 0o755, ""},
}

func init() {
	for i := 2; i <= 40; i++ {
		testTree = append(testTree, treeEntry{deepPath(i), 'd', 0o755, ""})
	}
	testTree = append(testTree, treeEntry{deepPath(40) + "/leaf", 'f', 0o644, "deep leaf"})
}

// makeTree creates testTree under dir. reverse creates it in the other
// order (children before parents where possible, and a different name
// first for each hard-link group), so that directory order and inode
// numbers differ.
func makeTree(t testing.TB, dir string, reverse bool) {
	t.Helper()
	entries := slices.Clone(testTree)
	if reverse {
		slices.Reverse(entries)
	}
	made := map[string]bool{}
	var create func(e treeEntry)
	create = func(e treeEntry) {
		if made[e.path] {
			return
		}
		made[e.path] = true
		p := filepath.Join(dir, e.path)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		switch e.kind {
		case 'd':
			must(t, os.MkdirAll(p, 0o755))
		case 'f':
			must(t, os.WriteFile(p, []byte(e.data), 0o644))
		case 'l':
			must(t, os.Symlink(e.data, p))
		case 'h':
			if reverse && !made[e.data] {
				// Make the link first, then the original from it.
				orig := testTreeEntry(e.data)
				must(t, os.WriteFile(p, []byte(orig.data), 0o644))
				must(t, os.Chmod(p, orig.mode))
				made[orig.path] = true
				must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, orig.path)), 0o755))
				must(t, os.Link(p, filepath.Join(dir, orig.path)))
				return
			}
			create(testTreeEntry(e.data))
			must(t, os.Link(filepath.Join(dir, e.data), p))
		}
		if e.kind == 'd' || e.kind == 'f' {
			must(t, os.Chmod(p, e.mode))
		}
	}
	for _, e := range entries {
		create(e)
	}
	// Directory modes again: creating children may have needed them open.
	for _, e := range testTree {
		if e.kind == 'd' {
			must(t, os.Chmod(filepath.Join(dir, e.path), e.mode))
		}
	}
}

func testTreeEntry(p string) treeEntry {
	for _, e := range testTree {
		if e.path == p {
			return e
		}
	}
	panic(p)
}

// fact is what an extracted tree must reproduce of each path.
type fact struct {
	Mode   fs.FileMode
	Data   string // content or link target
	LinkTo string // first path (sorted) sharing the inode, for hard links
}

// snapshot describes the tree under root.
func snapshot(t testing.TB, root string) map[string]fact {
	t.Helper()
	facts := map[string]fact{}
	inodes := map[uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		f := fact{Mode: fi.Mode()}
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f.Data = string(b)
			if st := fi.Sys().(*syscall.Stat_t); st.Nlink > 1 {
				inodes[st.Ino] = append(inodes[st.Ino], rel)
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			f.Data, err = os.Readlink(p)
			if err != nil {
				return err
			}
		}
		facts[rel] = f
		return nil
	})
	must(t, err)
	for _, names := range inodes {
		slices.Sort(names)
		for _, n := range names {
			f := facts[n]
			f.LinkTo = names[0]
			facts[n] = f
		}
	}
	return facts
}

func compareTrees(t testing.TB, what string, want, got map[string]fact) {
	t.Helper()
	for p, w := range want {
		g, ok := got[p]
		if !ok {
			t.Errorf("%s: %q missing", what, p)
			continue
		}
		if g.Mode != w.Mode || g.LinkTo != w.LinkTo || g.Data != w.Data {
			t.Errorf("%s: %q: got mode %v link-group %q data %d bytes; want %v %q %d bytes",
				what, p, g.Mode, g.LinkTo, len(g.Data), w.Mode, w.LinkTo, len(w.Data))
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: unexpected %q", what, p)
		}
	}
}

func build(t testing.TB, opts Options, add func(b *Builder) error) []byte {
	t.Helper()
	b := NewBuilder(opts)
	must(t, add(b))
	var buf bytes.Buffer
	must(t, b.WriteArchive(&buf))
	return buf.Bytes()
}

func buildTree(t testing.TB, dir string, opts Options) []byte {
	return build(t, opts, func(b *Builder) error { return b.AddPath(dir, "") })
}

// TestExtractors extracts a Builder's archive with GNU cpio and bsdtar and
// compares the result with the source tree.
func TestExtractors(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src, false)
	want := snapshot(t, src)
	const mtime = 1234567890
	for _, gz := range []bool{false, true} {
		archive := filepath.Join(t.TempDir(), "initrd")
		must(t, os.WriteFile(archive, buildTree(t, src, Options{Mtime: mtime, Gzip: gz}), 0o644))
		extractors := map[string][]string{
			"cpio":   {"cpio", "-idm", "--quiet"},
			"bsdtar": {"bsdtar", "-xpf", archive},
		}
		for name, argv := range extractors {
			t.Run(fmt.Sprintf("%s/gzip=%v", name, gz), func(t *testing.T) {
				if _, err := exec.LookPath(argv[0]); err != nil {
					t.Skipf("%s not installed (Debian package %s)", argv[0], map[string]string{"cpio": "cpio", "bsdtar": "libarchive-tools"}[name])
				}
				out := t.TempDir()
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Dir = out
				if name == "cpio" {
					f, err := os.Open(archive)
					must(t, err)
					defer f.Close()
					cmd.Stdin = f
					if gz { // GNU cpio reads no gzip: decompress for it
						zr, err := gzip.NewReader(f)
						must(t, err)
						cmd.Stdin = zr
					}
				}
				if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
					t.Fatalf("%v: %v\n%s", argv, err, b)
				}
				compareTrees(t, name, want, snapshot(t, out))
				fi, err := os.Stat(filepath.Join(out, "etc/passwd"))
				must(t, err)
				if fi.ModTime().Unix() != mtime {
					t.Errorf("%s: etc/passwd mtime %v, want %d", name, fi.ModTime(), mtime)
				}
			})
		}
	}
}

func TestArchiveLayout(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src, false)
	archive := buildTree(t, src, Options{})
	entries := readArchive(t, archive)
	var names []string
	byName := map[string]entry{}
	for _, e := range entries {
		names = append(names, e.Name)
		byName[e.Name] = e
	}
	// Sorted component by component, so parents come first and "a/b"
	// before "a-b".
	if !slices.IsSortedFunc(names, less) {
		t.Errorf("names not sorted: %q", names)
	}
	if i, j := slices.Index(names, "a/b"), slices.Index(names, "a-b"); i < 0 || j < 0 || i > j {
		t.Errorf("a/b at %d, a-b at %d", i, j)
	}
	for i, n := range names {
		if d := filepath.Dir(n); d != "." && !slices.Contains(names[:i], d) {
			t.Errorf("%q comes before its parent %q", n, d)
		}
	}
	// Hard links: one inode, Links 3, data once, on the last name.
	app, app2, app3 := byName["bin/app"], byName["bin/app2"], byName["sbin/app3"]
	if app.Inode != app2.Inode || app.Inode != app3.Inode || app.Links != 3 || app3.Links != 3 {
		t.Errorf("hard links: %+v %+v %+v", app.Header, app2.Header, app3.Header)
	}
	if app.Size != 0 || app2.Size != 0 || app3.Data != testTreeEntry("bin/app").data {
		t.Errorf("hard link data not once on the last link: sizes %d %d %d", app.Size, app2.Size, app3.Size)
	}
	if n := bytes.Count(archive, []byte(testTreeEntry("bin/app").data[:64])); n != 1 {
		t.Errorf("bin/app's data appears %d times", n)
	}
	// Inodes count up in archive order; everything belongs to root at time 0.
	seen := map[uint32]bool{}
	for i, e := range entries {
		if e.UID != 0 || e.GID != 0 || e.Mtime != 0 {
			t.Errorf("%s: uid %d gid %d mtime %d", e.Name, e.UID, e.GID, e.Mtime)
		}
		if !seen[e.Inode] && e.Inode != uint32(i+1) && e.Links < 2 {
			t.Errorf("%s: inode %d at position %d", e.Name, e.Inode, i+1)
		}
		seen[e.Inode] = true
	}
	if d := byName["deep/d1"]; d.Links != 3 || d.Mode != TypeDir|0o755 {
		t.Errorf("deep/d1: links %d (want 2 + 1 subdirectory), mode %o", d.Links, d.Mode)
	}
	if l := byName["lib"]; l.Linkname != "usr/lib" || l.Mode != TypeLink|0o777 {
		t.Errorf("lib: %+v", l.Header)
	}
	if tmp := byName["tmp"]; tmp.Mode != TypeDir|0o1777 {
		t.Errorf("tmp mode %o", tmp.Mode)
	}
}

// TestReproducible: same tree, same bytes; also after touching every file
// (the mtime comes from Options), and after recreating the tree in
// another order (other inode numbers and directory order).
func TestReproducible(t *testing.T) {
	for _, gz := range []bool{false, true} {
		opts := Options{Mtime: 1700000000, Gzip: gz}
		dir1 := t.TempDir()
		makeTree(t, dir1, false)
		first := buildTree(t, dir1, opts)
		if second := buildTree(t, dir1, opts); !bytes.Equal(first, second) {
			t.Fatalf("gzip=%v: two runs differ", gz)
		}
		now := time.Now().Add(time.Hour)
		filepath.WalkDir(dir1, func(p string, d fs.DirEntry, err error) error {
			if d.Type()&fs.ModeSymlink == 0 {
				os.Chtimes(p, now, now)
			}
			return nil
		})
		if touched := buildTree(t, dir1, opts); !bytes.Equal(first, touched) {
			t.Errorf("gzip=%v: archive changed after touching the files", gz)
		}
		// The number of CPUs (blocks compressed at once) changes nothing.
		procs := runtime.GOMAXPROCS(1)
		oneCPU := buildTree(t, dir1, opts)
		runtime.GOMAXPROCS(procs)
		if !bytes.Equal(first, oneCPU) {
			t.Errorf("gzip=%v: archive differs with GOMAXPROCS=1", gz)
		}
		dir2 := t.TempDir()
		makeTree(t, dir2, true)
		if recreated := buildTree(t, dir2, opts); !bytes.Equal(first, recreated) {
			t.Errorf("gzip=%v: archive of the tree recreated in another order differs", gz)
		}
		if gz {
			zr, err := gzip.NewReader(bytes.NewReader(first))
			must(t, err)
			plain, err := io.ReadAll(zr)
			must(t, err)
			if want := buildTree(t, dir1, Options{Mtime: opts.Mtime}); !bytes.Equal(plain, want) {
				t.Error("gzip output does not decompress to the plain archive")
			}
			if zr.Header.Name != "" || !zr.Header.ModTime.Equal(time.Time{}) && zr.Header.ModTime.Unix() != 0 {
				t.Errorf("gzip header has name %q, mtime %v", zr.Header.Name, zr.Header.ModTime)
			}
		}
	}
}

// TestFileOutput writes through an *os.File (where data may go by
// copy_file_range) and checks it gives the same bytes as a buffer.
func TestFileOutput(t *testing.T) {
	src := t.TempDir()
	makeTree(t, src, false)
	want := buildTree(t, src, Options{})
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	must(t, err)
	defer f.Close()
	b := NewBuilder(Options{})
	must(t, b.AddPath(src, ""))
	must(t, b.WriteArchive(f))
	got, err := os.ReadFile(f.Name())
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("archive written to a file (%d bytes) differs from the one written to a buffer (%d bytes)", len(got), len(want))
	}
}

func TestPreserve(t *testing.T) {
	src := t.TempDir()
	p := filepath.Join(src, "f")
	must(t, os.WriteFile(p, []byte("x"), 0o644))
	mt := time.Unix(1500000000, 0)
	must(t, os.Chtimes(p, mt, mt))
	if err := os.Lchown(p, 1234, 5678); err != nil {
		t.Skipf("cannot chown (not root?): %v", err)
	}
	e := readArchive(t, buildTree(t, src, Options{Preserve: true, Mtime: 99}))
	if e[0].UID != 1234 || e[0].GID != 5678 || e[0].Mtime != 1500000000 {
		t.Errorf("with Preserve: %+v", e[0].Header)
	}
	e = readArchive(t, buildTree(t, src, Options{Mtime: 99}))
	if e[0].UID != 0 || e[0].GID != 0 || e[0].Mtime != 99 {
		t.Errorf("without Preserve: %+v", e[0].Header)
	}
	// A time newc cannot hold is an error when the file is added.
	old := time.Unix(-86400, 0)
	must(t, os.Chtimes(p, old, old))
	err := NewBuilder(Options{Preserve: true}).AddPath(src, "")
	if want := "initrd: " + p + ": modification time -86400 is outside newc's range (0 to 4294967295)"; err == nil || err.Error() != want {
		t.Errorf("mtime before 1970:\n got %v\nwant %s", err, want)
	}
	must(t, NewBuilder(Options{}).AddPath(src, "")) // without Preserve the file's time does not matter
}

func names(entries []entry) []string {
	var n []string
	for _, e := range entries {
		n = append(n, e.Name)
	}
	return n
}

func TestOverridesAndDestinations(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	makeTree(t, root, false)
	extra := filepath.Join(dir, "extra")
	must(t, os.MkdirAll(filepath.Join(extra, "etc"), 0o700))
	must(t, os.WriteFile(filepath.Join(extra, "etc/passwd"), []byte("override\n"), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "motd"), []byte("motd\n"), 0o640))
	must(t, os.WriteFile(filepath.Join(dir, "app"), []byte("new app"), 0o755))

	var notes []string
	opts := Options{Verbose: func(s string) { notes = append(notes, s) }}
	archive := build(t, opts, func(b *Builder) error {
		return errors.Join(
			b.AddPath(root, ""),
			b.AddPath(extra, "/"),
			b.AddPath(filepath.Join(dir, "motd"), "srv/www/motd"), // parents made up
			b.AddPath(filepath.Join(dir, "motd"), ""),             // base name at the root
			b.AddPath(filepath.Join(dir, "app"), "bin/app2"),      // breaks up a hard-link group
			b.AddPath(extra, "opt/extra"),
		)
	})
	byName := map[string]entry{}
	for _, e := range readArchive(t, archive) {
		byName[e.Name] = e
	}
	if e := byName["etc/passwd"]; e.Data != "override\n" || e.Mode != TypeReg|0o600 {
		t.Errorf("etc/passwd not overridden: %+v", e)
	}
	if e := byName["etc"]; e.Mode != TypeDir|0o700 {
		t.Errorf("etc: mode %o, want the later source's 0700", e.Mode)
	}
	if _, ok := byName["etc/big"]; !ok {
		t.Error("etc/big lost: directory contents must merge")
	}
	for _, d := range []string{"srv", "srv/www"} {
		if e := byName[d]; e.Mode != TypeDir|0o755 {
			t.Errorf("made-up parent %s: %+v", d, e.Header)
		}
	}
	if e := byName["srv/www/motd"]; e.Data != "motd\n" || e.Mode != TypeReg|0o640 {
		t.Errorf("srv/www/motd: %+v", e)
	}
	if e := byName["motd"]; e.Data != "motd\n" {
		t.Errorf("motd: %+v", e)
	}
	if e := byName["opt/extra"]; e.Mode != TypeDir|0o700 {
		t.Errorf("opt/extra takes its source's mode: %+v", e.Header)
	}
	if e := byName["opt/extra/etc/passwd"]; e.Data != "override\n" {
		t.Errorf("opt/extra/etc/passwd: %+v", e)
	}
	// bin/app2 is now its own file; bin/app and sbin/app3 remain linked.
	app, app2, app3 := byName["bin/app"], byName["bin/app2"], byName["sbin/app3"]
	if app2.Data != "new app" || app2.Links != 1 || app2.Inode == app.Inode {
		t.Errorf("bin/app2: %+v", app2.Header)
	}
	if app.Links != 2 || app3.Links != 2 || app.Inode != app3.Inode || app.Size != 0 || len(app3.Data) != 100_003 {
		t.Errorf("remaining hard links: %+v / %+v", app.Header, app3.Header)
	}
	wantNotes := []string{
		"etc: " + filepath.Join(extra, "etc") + " overrides " + filepath.Join(root, "etc"),
		"etc/passwd: " + filepath.Join(extra, "etc/passwd") + " overrides " + filepath.Join(root, "etc/passwd"),
		"bin/app2: " + filepath.Join(dir, "app") + " overrides " + filepath.Join(root, "bin/app2"),
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("Verbose notes:\n got %q\nwant %q", notes, wantNotes)
	}
}

func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	must(t, syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	must(t, err)
	defer l.Close()
	must(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
	var warnings []string
	opts := Options{Warn: func(s string) { warnings = append(warnings, s) }}
	got := names(readArchive(t, build(t, opts, func(b *Builder) error { return b.AddPath(dir, "") })))
	if !slices.Equal(got, []string{"file"}) {
		t.Errorf("entries %q, want only file", got)
	}
	want := []string{
		"skipping " + filepath.Join(dir, "fifo") + ": named pipe (describe it with a nod, pipe or sock line in a spec file)",
		"skipping " + filepath.Join(dir, "sock") + ": socket (describe it with a nod, pipe or sock line in a spec file)",
	}
	if !slices.Equal(warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", warnings, want)
	}
	// /dev/null given by name is an error: it was asked for.
	warnings = nil
	err = NewBuilder(opts).AddPath("/dev/null", "")
	if want := "initrd: /dev/null: a character device cannot be archived as a file (describe it with a nod, pipe or sock line in a spec file)"; err == nil || err.Error() != want || len(warnings) != 0 {
		t.Errorf("AddPath(/dev/null): %v, warnings %q", err, warnings)
	}
}

func TestSpec(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "init"), []byte("#!/bin/sh\n"), 0o600))
	t.Setenv("SPECDIR", dir)
	spec := `# a gen_init_cpio spec
dir /dev 755 0 0
nod /dev/console 600 0 0 c 5 1
nod /dev/sda 660 0 6 b 8 0
   # indented comment

dir /root 0700 0 0
file /init ${SPECDIR}/init 0755 0 0
file /bin/busybox ${SPECDIR}/init 4755 10 20 /bin/sh /sbin/init
slink /bin/ls busybox 777 0 0
pipe /run/fifo 644 1 1
sock /run/sock 755 0 0
`
	archive := build(t, Options{Mtime: 42}, func(b *Builder) error { return b.AddSpec(strings.NewReader(spec), "initrd.spec") })
	var lines []string
	for _, e := range readArchive(t, archive) {
		lines = append(lines, fmt.Sprintf("%s %o %d:%d %d,%d size %d links %d %q %q mtime %d",
			e.Name, e.Mode, e.UID, e.GID, e.Rdevmajor, e.Rdevminor, e.Size, e.Links, e.Data, e.Linkname, e.Mtime))
	}
	want := []string{
		`bin 40755 0:0 0,0 size 0 links 2 "" "" mtime 42`,
		`bin/busybox 104755 10:20 0,0 size 0 links 3 "" "" mtime 42`,
		`bin/ls 120777 0:0 0,0 size 7 links 1 "" "busybox" mtime 42`,
		`bin/sh 104755 10:20 0,0 size 0 links 3 "" "" mtime 42`,
		`dev 40755 0:0 0,0 size 0 links 2 "" "" mtime 42`,
		`dev/console 20600 0:0 5,1 size 0 links 1 "" "" mtime 42`,
		`dev/sda 60660 0:6 8,0 size 0 links 1 "" "" mtime 42`,
		`init 100755 0:0 0,0 size 10 links 1 "#!/bin/sh\n" "" mtime 42`,
		`root 40700 0:0 0,0 size 0 links 2 "" "" mtime 42`,
		`run 40755 0:0 0,0 size 0 links 2 "" "" mtime 42`,
		`run/fifo 10644 1:1 0,0 size 0 links 1 "" "" mtime 42`,
		`run/sock 140755 0:0 0,0 size 0 links 1 "" "" mtime 42`,
		`sbin 40755 0:0 0,0 size 0 links 2 "" "" mtime 42`,
		`sbin/init 104755 10:20 0,0 size 10 links 3 "#!/bin/sh\n" "" mtime 42`,
	}
	if !slices.Equal(lines, want) {
		t.Errorf("entries:\n got %s\nwant %s", strings.Join(lines, "\n     "), strings.Join(want, "\n     "))
	}
}

func TestSpecErrors(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f"), nil, 0o644))
	f := filepath.Join(dir, "f")
	tests := []struct{ line, want string }{
		{"fil /x 644 0 0", `s:1: unknown entry type "fil" (want file, dir, nod, slink, pipe or sock)`},
		{"dir /x 755 0", "s:1: dir takes <name> <mode> <uid> <gid>; found 3 fields"},
		{"dir /x 755 0 0 extra", "s:1: dir takes <name> <mode> <uid> <gid>; found 5 fields"},
		{"file /x " + f + " 644 0", "s:1: file takes <name> <location> <mode> <uid> <gid> [<hard links>...]; found 4 fields"},
		{"dir /x 789 0 0", `s:1: mode "789" is not octal permission bits (0 to 7777)`},
		{"dir /x 17777 0 0", `s:1: mode "17777" is not octal permission bits (0 to 7777)`},
		{"dir /x 755 root 0", `s:1: uid "root" is not a number from 0 to 4294967295`},
		{"dir /x 755 0 -1", `s:1: gid "-1" is not a number from 0 to 4294967295`},
		{"nod /x 600 0 0 x 1 2", `s:1: device type "x" is neither b nor c`},
		{"nod /x 600 0 0 c 1 y", "s:1: device number 1 y is not two numbers from 0 to 4294967295"},
		{"dir /../x 755 0 0", `s:1: "/../x" escapes the archive root`},
		{"dir / 755 0 0", `s:1: "/" is the archive root`},
		{"file /x " + dir + " 644 0 0", "s:1: " + dir + " is a directory, not a regular file"},
		{"file /x " + dir + "/missing 644 0 0", "s:1: stat " + dir + "/missing: no such file or directory"},
		{"file /x " + f + " 644 0 0 ../y", `s:1: hard link "../y" escapes the archive root`},
	}
	for _, tt := range tests {
		err := NewBuilder(Options{}).AddSpec(strings.NewReader("\n"[:0]+tt.line), "s")
		if err == nil || err.Error() != "initrd: "+tt.want {
			t.Errorf("%q:\n got %v\nwant initrd: %s", tt.line, err, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	makeTree(t, dir, false)
	t.Chdir(dir)
	for _, sep := range []byte{'\n', 0} {
		list := ".\n./etc\n./etc/passwd\nbin/\nbin/app\n./bin/app2\nlib\n\n"
		if sep == 0 {
			list = ".\x00etc\x00etc/passwd\x00new\nline" // no final separator
		}
		got := readArchive(t, build(t, Options{}, func(b *Builder) error {
			return b.AddList(strings.NewReader(list), "list", sep)
		}))
		var want []string
		if sep == '\n' {
			want = []string{"bin", "bin/app", "bin/app2", "etc", "etc/passwd", "lib"}
		} else {
			want = []string{"etc", "etc/passwd", "new\nline"}
		}
		if !slices.Equal(names(got), want) {
			t.Errorf("sep %q: entries %q, want %q (directories not descended into)", sep, names(got), want)
		}
		if sep == '\n' && (got[1].Links != 2 || got[1].Inode != got[2].Inode) {
			t.Errorf("listed hard links: %+v %+v", got[1].Header, got[2].Header)
		}
	}
	for list, want := range map[string]string{
		"etc\n/etc/passwd\n": `initrd: list:2: "/etc/passwd" is an absolute path; list paths relative to the directory to archive (cd there and run find .)`,
		"../x\n":             `initrd: list:1: "../x" escapes the archive root`,
		"missing\n":          "initrd: list:1: lstat missing: no such file or directory",
	} {
		if err := NewBuilder(Options{}).AddList(strings.NewReader(list), "list", '\n'); err == nil || err.Error() != want {
			t.Errorf("list %q:\n got %v\nwant %s", list, err, want)
		}
	}
}

// TestErrorsBeforeWriting: everything that makes a bad archive is found
// before the first byte goes out.
func TestErrorsBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	must(t, err)
	must(t, f.Truncate(MaxSize+1)) // sparse
	f.Close()
	err = NewBuilder(Options{}).AddPath(dir, "")
	if want := "initrd: " + big + ": size 4294967296 exceeds newc's limit of 4294967295 bytes (4 GiB - 1)"; err == nil || err.Error() != want {
		t.Errorf("file over 4 GiB - 1:\n got %v\nwant %s", err, want)
	}
	must(t, os.Truncate(big, MaxSize)) // the largest allowed: added fine
	must(t, NewBuilder(Options{}).AddPath(big, ""))

	err = NewBuilder(Options{}).AddPath(big, "a/../../b")
	if want := `initrd: ` + big + `: destination "a/../../b" escapes the archive root`; err == nil || err.Error() != want {
		t.Errorf("escaping destination:\n got %v\nwant %s", err, want)
	}
	err = NewBuilder(Options{}).AddPath(big, strings.Repeat("x/", 2049))
	if err == nil || !strings.Contains(err.Error(), "exceeds newc's limit of 4095") {
		t.Errorf("long destination: %v", err)
	}

	// A file below a symlink: found by WriteArchive before writing.
	must(t, os.WriteFile(filepath.Join(dir, "small"), []byte("x"), 0o644))
	b := NewBuilder(Options{})
	must(t, b.AddSpec(strings.NewReader("slink /lib usr/lib 777 0 0\n"), "spec"))
	must(t, b.AddPath(filepath.Join(dir, "small"), "lib/x"))
	var out bytes.Buffer
	err = b.WriteArchive(&out)
	if want := "initrd: lib/x (from " + filepath.Join(dir, "small") + "): parent lib is a symbolic link (from spec:1), not a directory"; err == nil || err.Error() != want {
		t.Errorf("entry below a symlink:\n got %v\nwant %s", err, want)
	}
	if out.Len() != 0 {
		t.Errorf("%d bytes written before the error", out.Len())
	}
	if err := NewBuilder(Options{}).AddData("../cfg", nil, 0o644, "cfg"); err == nil || err.Error() != `initrd: cfg: "../cfg" escapes the archive root` {
		t.Errorf("AddData escaping: %v", err)
	}
}

func TestFileChangedWhileWriting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	must(t, os.WriteFile(p, []byte("12345"), 0o644))
	for _, data := range []string{"123", "1234567"} {
		b := NewBuilder(Options{})
		must(t, b.AddPath(dir, ""))
		must(t, os.WriteFile(p, []byte(data), 0o644))
		err := b.WriteArchive(io.Discard)
		want := fmt.Sprintf("initrd: %s: file changed size while the archive was written (5 bytes when added, now %d)", p, len(data))
		if err == nil || err.Error() != want {
			t.Errorf("file now %d bytes:\n got %v\nwant %s", len(data), err, want)
		}
		must(t, os.WriteFile(p, []byte("12345"), 0o644))
	}
}

func TestAddData(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "json.cfg"), []byte("old"), 0o600))
	got := readArchive(t, build(t, Options{Mtime: 7}, func(b *Builder) error {
		return errors.Join(b.AddPath(dir, ""), b.AddData("/json.cfg", []byte("{}\n"), 0o644, "cfg"))
	}))
	if len(got) != 1 || got[0].Name != "json.cfg" || got[0].Data != "{}\n" || got[0].Mode != TypeReg|0o644 || got[0].Mtime != 7 {
		t.Errorf("entries %+v", got)
	}
}

// TestSymlinkedSource: a SRC that is a symbolic link to a directory is
// followed; links inside the tree stay links.
func TestSymlinkedSource(t *testing.T) {
	dir := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(dir, "real/sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "real/sub/f"), []byte("f"), 0o644))
	must(t, os.Symlink("sub", filepath.Join(dir, "real/link")))
	must(t, os.Symlink("real", filepath.Join(dir, "alias")))
	for dst, want := range map[string][]string{
		"":    {"link", "sub", "sub/f"},
		"opt": {"opt", "opt/link", "opt/sub", "opt/sub/f"},
	} {
		got := readArchive(t, build(t, Options{}, func(b *Builder) error { return b.AddPath(filepath.Join(dir, "alias"), dst) }))
		if !slices.Equal(names(got), want) {
			t.Errorf("dst %q: entries %q, want %q", dst, names(got), want)
		}
		if got[len(got)-3].Linkname != "sub" {
			t.Errorf("dst %q: link inside the tree: %+v", dst, got[len(got)-3].Header)
		}
	}
}
