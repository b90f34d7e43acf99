package initrd

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
)

func TestEntryPath(t *testing.T) {
	for _, tc := range []struct{ name, want, err string }{
		{"json.cfg", "/json.cfg", ""},
		{"./json.cfg", "/json.cfg", ""},
		{"etc/motd", "/etc/motd", ""},
		{"./etc/motd", "/etc/motd", ""},
		{".", "/", ""},
		{"./.", "/", ""},
		{".hidden/..x/...", "/.hidden/..x/...", ""},
		{"a b/c\td", "/a b/c\td", ""},
		{"/json.cfg", "", "absolute name"},
		{"//json.cfg", "", "absolute name"},
		{".//json.cfg", "", "absolute name"},
		{"../json.cfg", "", `".." path component`},
		{"x/../json.cfg", "", `".." path component`},
		{"..", "", `".." path component`},
		{"./../json.cfg", "", `".." path component`},
		{"././json.cfg", "", `"." path component`},
		{"x/./json.cfg", "", `"." path component`},
		{"x/.", "", `"." path component`},
		{"x//json.cfg", "", "empty path component"},
		{"etc/", "", "empty path component"},
		{"./", "", "empty name"},
	} {
		got, err := EntryPath(tc.name)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("EntryPath(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
			t.Errorf("EntryPath(%q) = %q, %v; want error %q", tc.name, got, err, tc.err)
		}
	}
}

func rawArchive(entries ...[]byte) []byte {
	return append(bytes.Join(entries, nil), probe.NewcEntry(trailer, 0, "", 1)...)
}

// An archive with a name that readers could place differently is refused
// by every reader, with the entry's number and name: the hostile archive
// of the review held a harmless json.cfg and then "x/../json.cfg".
func TestHostileNamesRefused(t *testing.T) {
	harmless := probe.NewcEntry("json.cfg", TypeReg|0o644, `{"cmdline": "harmless"}`, 1)
	for _, name := range []string{"x/../json.cfg", "../../json.cfg", "/json.cfg", "././json.cfg", "x//json.cfg", "etc/"} {
		a := rawArchive(probe.NewcEntry("x", TypeDir|0o755, "", 2), harmless, probe.NewcEntry(name, TypeReg|0o644, `{"cmdline": "evil"}`, 1))
		want := fmt.Sprintf("initrd: entry 3 %q: ", name)
		var ne *NameError
		if _, err := readAll(bytes.NewReader(a)); err == nil || !strings.HasPrefix(err.Error(), want) || !errors.As(err, &ne) || ne.Entry != 3 {
			t.Errorf("%q: Reader: %v, want %s...", name, err, want)
		}
		if data, err := ReadFile(bytes.NewReader(a), "json.cfg", 1<<10); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: ReadFile = %q, %v; want %s...", name, data, err, want)
		}
		var out bytes.Buffer
		if err := List(&out, bytes.NewReader(a)); err == nil || !strings.HasPrefix(err.Error(), want) || strings.Count(out.String(), "\n") != 2 {
			t.Errorf("%q: List: %v\n%s", name, err, out.String())
		}
	}
	// The Writer makes no such archive.
	err := NewWriter(&bytes.Buffer{}).WriteHeader(&Header{Name: "x/../json.cfg", Mode: TypeReg | 0o644})
	if err == nil || !strings.HasPrefix(err.Error(), `initrd: entry 1 "x/../json.cfg": ".." path component`) {
		t.Errorf("Writer: %v", err)
	}
}

// ReadFile takes what a kernel unpacking the archive would leave at the
// path, or refuses the archive where that depends on how links are read.
func TestReadFileLastEntryDecides(t *testing.T) {
	cfg := func(s string) []byte { return probe.NewcEntry("json.cfg", TypeReg|0o644, s, 1) }
	for _, tc := range []struct {
		name    string
		archive []byte
		want    string // content, or the error's text
	}{
		{"regular", rawArchive(cfg("a"), probe.NewcEntry("./json.cfg", TypeReg|0o644, "b", 1)), "b"},
		{"symlink last", rawArchive(cfg("a"), probe.NewcEntry("json.cfg", TypeLink|0o777, "etc", 1)),
			`initrd: entry 2 "json.cfg": /json.cfg is a symbolic link, not a regular file`},
		{"directory last", rawArchive(cfg("a"), probe.NewcEntry("json.cfg", TypeDir|0o755, "", 2)),
			`initrd: entry 2 "json.cfg": /json.cfg is a directory, not a regular file`},
		{"replaced again", rawArchive(probe.NewcEntry("json.cfg", TypeLink|0o777, "etc", 1), cfg("c")), "c"},
		{"hard link", rawArchive(probe.NewcEntry("json.cfg", TypeReg|0o644, "", 2), probe.NewcEntry("other", TypeReg|0o644, "evil", 2)),
			`initrd: entry 1 "json.cfg": /json.cfg is a hard link (2 links), whose data may be stored with another name: store it as a file of its own`},
		{"hard link replaced", rawArchive(probe.NewcEntry("json.cfg", TypeReg|0o644, "", 2), probe.NewcEntry("other", TypeReg|0o644, "x", 2), cfg("c")), "c"},
		{"below a link", rawArchive(cfg("a"), probe.NewcEntry("x", TypeLink|0o777, ".", 1), probe.NewcEntry("x/json.cfg", TypeReg|0o644, "evil", 1)),
			`initrd: entry 3 "x/json.cfg" lies below /x, a symbolic link (entry 2): readers never follow links of the archive`},
	} {
		data, err := ReadFile(bytes.NewReader(tc.archive), "/json.cfg", 100)
		got := string(data)
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("%s: got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	if _, err := ReadFile(bytes.NewReader(rawArchive(cfg("a"))), "etc/motd", 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
