package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
)

// swapOnWrite replaces a directory of the tree with a symbolic link to
// another directory when the image's first bytes reach it: after the tree
// was laid out, before the directory's files are read.
type swapOnWrite struct {
	t         *testing.T
	dir, link string
	done      bool
	buf       bytes.Buffer
}

func (s *swapOnWrite) Write(p []byte) (int, error) {
	if !s.done {
		s.done = true
		if err := os.Rename(s.dir, s.dir+".old"); err != nil {
			s.t.Fatal(err)
		}
		if err := os.Symlink(s.link, s.dir); err != nil {
			s.t.Fatal(err)
		}
	}
	return s.buf.Write(p)
}

// A data image reads DIR's files through the directory itself: a
// directory swapped for a symbolic link while the image is written does
// not lead outside DIR.
func TestDataImageStaysInside(t *testing.T) {
	src := filepath.Join(t.TempDir(), "payload")
	outside := t.TempDir()
	// A large file first: the writer's buffer reaches w before sub/f is read.
	writeFile(t, src, "aa", strings.Repeat("a", 256<<10))
	writeFile(t, src, "sub/f", "inside!!")
	writeFile(t, outside, "f", "SECRET!!")
	w := &swapOnWrite{t: t, dir: filepath.Join(src, "sub"), link: outside}
	err := dataImage(src, "-", "", time.Unix(0, 0), w, io.Discard)
	if strings.Contains(w.buf.String(), "SECRET!!") {
		t.Fatal("the image holds a file from outside the directory")
	}
	if err == nil || !strings.Contains(err.Error(), "sub/f") {
		t.Errorf("error %v, want one naming sub/f", err)
	}
}

// A symbolic link in the tree to a file outside it is stored as a link
// (Rock Ridge SL): the file it points to is not read.
func TestDataImageLinkOutside(t *testing.T) {
	src := filepath.Join(t.TempDir(), "payload")
	outside := t.TempDir()
	writeFile(t, src, "f", "inside!!")
	writeFile(t, outside, "secret", "SECRET!!")
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(src, "link")); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := dataImage(src, "-", "", time.Unix(0, 0), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "SECRET!!") {
		t.Error("the image holds the content of a file outside the directory")
	}
	if !strings.Contains(out.String(), "secret") {
		t.Error("the image lacks the link's target name")
	}
}

// --name makes the default output name NAME.iso in the current directory:
// a name with '/' is refused rather than written elsewhere.
func TestNameCannotLeadElsewhere(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg := writeFile(t, dir, "c.json", "{}")
	code, _, errs := mkiso(t, "", "--name", "../escaped", "-c", cfg, os.Args[0])
	if code != 2 || !strings.Contains(errs, `--name "../escaped": a name with '/' cannot name the output`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escaped.iso")); err == nil {
		t.Error("written outside the current directory")
	}
}

// An INITRD that is not one, or that readers could read two ways, is
// refused, and no image is written.
func TestInitrdRefusals(t *testing.T) {
	k := probe.Kernel(t, probe.Flavor{Bits: 64, Initrd: true})
	dir := t.TempDir()
	hostile := writeFile(t, dir, "hostile.initrd", string(probe.HostileInitrd()))
	jsonFile := writeFile(t, dir, "app.json", `{"cmdline": "app"}`)
	out := filepath.Join(dir, "out.iso")
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{k, hostile}, "rump-mkiso: " + hostile + ": " + probe.HostileError + "\n"},
		{[]string{"-e", "A=b", k, hostile}, "rump-mkiso: " + hostile + ": " + probe.HostileError + "\n"},
		{[]string{k, jsonFile}, "rump-mkiso: " + jsonFile + ": initrd: not a newc cpio archive (plain or gzip)\n"},
		{[]string{"-c", jsonFile, k, jsonFile}, "rump-mkiso: " + jsonFile + ": initrd: not a newc cpio archive (plain or gzip)\n"},
	} {
		code, stdout, stderr := mkiso(t, "", append([]string{"-o", out}, c.args...)...)
		if code != 1 || stdout != "" || stderr != c.msg {
			t.Errorf("%q: exit %d, stdout %q, stderr\n %q\nwant\n %q", c.args, code, stdout, stderr, c.msg)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%q: wrote %s", c.args, out)
		}
	}
	noTemp(t, dir)
}

// A SOURCE_DATE_EPOCH that the generated initrd cannot hold is reported
// as that variable's, not as an option of a library.
func TestSourceDateEpochRange(t *testing.T) {
	k := probe.Kernel(t, probe.Flavor{Bits: 64, Initrd: true})
	dir := t.TempDir()
	cfg := writeFile(t, dir, "app.json", `{"cmdline": "app"}`)
	out := filepath.Join(dir, "out.iso")
	t.Setenv("SOURCE_DATE_EPOCH", "-5")
	code, stdout, stderr := mkiso(t, "", "-o", out, "-c", cfg, k)
	want := "rump-mkiso: SOURCE_DATE_EPOCH=\"-5\" is not a time the generated initrd (newc) can hold (seconds from 0 to 4294967295)\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr\n %q\nwant\n %q", code, stdout, stderr, want)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("wrote the image")
	}
}
