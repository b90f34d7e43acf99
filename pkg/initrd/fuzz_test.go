package initrd

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
)

// checkArchive checks what WriteArchive promises of any archive it
// writes: every name relative and clean, inside the root, unique; entries
// sorted so that a directory comes before its contents; every parent
// present, and a directory.
func checkArchive(t *testing.T, archive []byte) {
	t.Helper()
	entries, err := readAll(bytes.NewReader(archive))
	if err != nil {
		t.Fatalf("the Builder wrote an archive its Reader refuses: %v", err)
	}
	types := map[string]uint32{}
	for _, e := range entries {
		n := e.Name
		if n == "" || n != path.Clean(n) || path.IsAbs(n) || n == ".." || strings.HasPrefix(n, "../") {
			t.Fatalf("entry name %q is not a clean name inside the root", n)
		}
		if _, dup := types[n]; dup {
			t.Fatalf("entry %q twice", n)
		}
		if dir := path.Dir(n); dir != "." {
			typ, ok := types[dir]
			if !ok {
				t.Fatalf("%q comes before its parent %q, or the parent is missing", n, dir)
			}
			if typ != TypeDir {
				t.Fatalf("%q is below %q, which is not a directory", n, dir)
			}
		}
		types[n] = e.Mode & ModeType
	}
}

// AddSpec on any text: an error that says where, or entries that make a
// sound archive. File lines may name only the test's data file, so that
// the fuzzer reads nothing else on the host.
func FuzzSpec(f *testing.F) {
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "data"), []byte("file data\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Chdir(dir)
	for _, s := range []string{
		"dir /etc 755 0 0\nfile /etc/motd data 644 0 0 /etc/motd.link\nslink /bin /usr/bin 777 0 0\n",
		"nod /dev/console 600 0 0 c 5 1\npipe /run/fifo 644 0 0\nsock /run/sock 755 0 0\n",
		"# comment\n\n  dir /a 7777 4294967295 0\ndir /a/b 0 0 0\n",
		"slink /etc /x 777 0 0\nfile /etc/y data 644 0 0\n",
		"file /../x data 644 0 0\n", "dir / 755 0 0\n", "nod /d 600 0 0 x 1 2\n", "dir /a 8 0 0\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		for _, line := range strings.Split(spec, "\n") {
			if fs := strings.Fields(line); len(fs) > 2 && fs[0] == "file" && fs[2] != "data" {
				return
			}
		}
		b := NewBuilder(Options{})
		if err := b.AddSpec(strings.NewReader(spec), "spec"); err != nil {
			if !strings.HasPrefix(err.Error(), "initrd: spec") {
				t.Fatalf("error %q does not name the spec", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := b.WriteArchive(&buf); err != nil {
			return // an entry below a non-directory: found when writing
		}
		checkArchive(t, buf.Bytes())
	})
}

// AddList on any list, in a directory with files, a subdirectory and a
// symbolic link to it: an error, or a sound archive of names inside the
// directory.
func FuzzList(f *testing.F) {
	dir := f.TempDir()
	for _, p := range []string{"a", "d/b", "d/c"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, p), []byte(p), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	os.Symlink("d", filepath.Join(dir, "l"))
	f.Chdir(dir)
	for _, s := range []string{".\n./a\nd\nd/b\n", "a\x00d/c\x00", "l\nl/b\n", "../x\n", "/etc/passwd\n", "d/../a\n./d/./c\n\n"} {
		f.Add(s, s != "" && strings.Contains(s, "\x00"))
	}
	f.Fuzz(func(t *testing.T, list string, nul bool) {
		sep := byte('\n')
		if nul {
			sep = 0
		}
		b := NewBuilder(Options{})
		if err := b.AddList(strings.NewReader(list), "list", sep); err != nil {
			if !strings.HasPrefix(err.Error(), "initrd: list") {
				t.Fatalf("error %q does not name the list", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := b.WriteArchive(&buf); err != nil {
			return
		}
		checkArchive(t, buf.Bytes())
		entries, _ := readAll(bytes.NewReader(buf.Bytes()))
		for _, e := range entries {
			if _, err := os.Lstat(e.Name); err != nil && e.Mode&ModeType != TypeDir {
				t.Fatalf("entry %q names no file in the listed directory", e.Name)
			}
		}
	})
}
