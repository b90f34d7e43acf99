package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/initrd"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// debugfsDump copies a file out of an ext2 image with debugfs.
func debugfsDump(t *testing.T, img, path string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "dump")
	if b, err := exec.Command("debugfs", "-R", "dump "+path+" "+out, img).CombinedOutput(); err != nil {
		t.Fatalf("debugfs dump %s: %v\n%s", path, err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("debugfs dumped no %s: %v", path, err)
	}
	return data
}

// A Xen PV kernel that declares initrd/1 gets its initrd on the PV
// volume, and a menu.lst that has PV-GRUB load it as the ramdisk with an
// empty command line: the initrd as it is when it holds the config, else
// followed by an archive whose json.cfg (read here by GNU cpio) is the
// replacement; no /json.cfg in wire form. The -n plan says so.
//
// A gzip initrd cannot take an appended config on Xen PV (the domain
// builder reads one gzip stream): it is refused, and no image is written.
func TestPVInitrd(t *testing.T) {
	needE2fsprogs(t)
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("cpio not installed (Debian package cpio)")
	}
	dir := t.TempDir()
	k := xltest.Kernel{Xen: true, Initrd: true, Programs: []string{"hello"}}.Write(t, dir, "rd.bin")
	b := initrd.NewBuilder(initrd.Options{})
	if err := b.AddData("srv/data.txt", []byte("some data\n"), 0o644, "test"); err != nil {
		t.Fatal(err)
	}
	if err := b.AddData("json.cfg", []byte(`{"rc": [{"bin": "hello", "argv": ["own"]}]}`), 0o644, "test"); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteArchive(&buf); err != nil {
		t.Fatal(err)
	}
	rd := filepath.Join(dir, "app.initrd")
	if err := os.WriteFile(rd, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	const menu = "root (hd0)\nkernel /boot/kernel\ninitrd /boot/initrd\n"

	t.Run("own", func(t *testing.T) {
		img := filepath.Join(t.TempDir(), "vol.img")
		if r := ec2(t, "", "--region", "eu-west-1", "-o", img, k, rd); r.code != 0 {
			t.Fatalf("-o: exit %d: %s", r.code, r.stderr)
		}
		if got := debugfsCat(t, img, "/boot/grub/menu.lst"); !strings.HasSuffix(got, "title rd\n"+menu) {
			t.Errorf("menu.lst %q", got)
		}
		if got := debugfsDump(t, img, "/boot/initrd"); !bytes.Equal(got, buf.Bytes()) {
			t.Errorf("/boot/initrd is not the initrd (%d bytes, want %d)", len(got), buf.Len())
		}
		if out, _ := exec.Command("debugfs", "-R", "stat /json.cfg", img).CombinedOutput(); !strings.Contains(string(out), "File not found") {
			t.Errorf("a /json.cfg is on the volume:\n%s", out)
		}
	})

	t.Run("gzip", func(t *testing.T) {
		zb := initrd.NewBuilder(initrd.Options{Gzip: true})
		if err := zb.AddData("json.cfg", []byte(`{"rc": [{"bin": "hello", "argv": []}]}`), 0o644, "test"); err != nil {
			t.Fatal(err)
		}
		var z bytes.Buffer
		if err := zb.WriteArchive(&z); err != nil {
			t.Fatal(err)
		}
		zrd := filepath.Join(t.TempDir(), "z.initrd")
		if err := os.WriteFile(zrd, z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		img := filepath.Join(t.TempDir(), "vol.img")
		r := ec2(t, "", "--region", "eu-west-1", "-o", img, k, zrd, "--", "x")
		if r.code != 1 || !strings.Contains(r.stderr, "one gzip stream") {
			t.Errorf("exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(img); !os.IsNotExist(err) {
			t.Errorf("an image was written: %v", err)
		}
		// Unchanged, the gzip initrd goes as it is.
		if r := ec2(t, "", "--region", "eu-west-1", "-o", img, k, zrd); r.code != 0 {
			t.Errorf("unchanged gzip initrd: exit %d: %s", r.code, r.stderr)
		}
	})

	t.Run("replaced", func(t *testing.T) {
		args := []string{"--region", "eu-west-1", "-N", "pv-rd", k, rd, "--", "two words", "it's"}
		plan := ec2(t, "", append([]string{"-n"}, args...)...)
		if plan.code != 0 || !strings.Contains(plan.stdout, "/boot/initrd") ||
			!strings.Contains(plan.stdout, "("+rd+", then the config replacing its /json.cfg)") || strings.Contains(plan.stdout, "/json.cfg  ") {
			t.Errorf("-n: exit %d:\n%s\n%s", plan.code, plan.stdout, plan.stderr)
		}
		img := filepath.Join(t.TempDir(), "vol.img")
		if r := ec2(t, "", append([]string{"-o", img}, args...)...); r.code != 0 {
			t.Fatalf("-o: exit %d: %s", r.code, r.stderr)
		}
		if got := debugfsCat(t, img, "/boot/grub/menu.lst"); !strings.HasSuffix(got, "title pv-rd\n"+menu) {
			t.Errorf("menu.lst %q", got)
		}
		got := debugfsDump(t, img, "/boot/initrd")
		if !bytes.HasPrefix(got, buf.Bytes()) {
			t.Fatalf("/boot/initrd does not start with the initrd")
		}
		appendix := bytes.TrimLeft(got[buf.Len():], "\x00")
		if bytes.HasPrefix(appendix, []byte{0x1f, 0x8b}) {
			t.Errorf("the appended archive is compressed")
		}
		cmd := exec.Command("cpio", "-i", "--quiet", "--to-stdout", "json.cfg")
		cmd.Stdin = bytes.NewReader(appendix)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio: %v", err)
		}
		c, _, err := config.Parse("json.cfg", out)
		if err != nil {
			t.Fatalf("the appended json.cfg: %v\n%s", err, out)
		}
		if c.Hostname != "pv-rd" || len(c.RC) != 1 || strings.Join(c.RC[0].Argv, "|") != "two words|it's" {
			t.Errorf("the appended json.cfg: %s", out)
		}
	})
}
