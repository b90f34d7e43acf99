package ec2image_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/ec2image"
)

func needE2fsprogs(t *testing.T) {
	t.Helper()
	for _, p := range []string{"mke2fs", "debugfs", "dumpe2fs"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed (Debian package e2fsprogs)", p)
		}
	}
}

// debugfs runs one read-only debugfs request against img.
func debugfs(t *testing.T, img, request string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", request, img).Output()
	if err != nil {
		t.Fatalf("debugfs -R %q: %v", request, err)
	}
	return string(out)
}

func fakeKernel(t *testing.T, dir string, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(uint64(size), 9))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(dir, "app.bin")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p, data
}

const wire = `{"cmdline":"app.bin -v","hostname":"probe","net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},}`

func TestPVVolumeReadBack(t *testing.T) {
	needE2fsprogs(t)
	dir := t.TempDir()
	kpath, kdata := fakeKernel(t, dir, 1<<20+12345)
	v := &ec2image.PV{Kernel: kpath, Config: []byte(wire), Title: "probe  one", Size: 64 << 20, Time: time.Unix(1700000000, 0)}
	img := filepath.Join(dir, "vol.img")
	if err := v.WriteFile(img); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(img)
	if err != nil || st.Size() != 64<<20 {
		t.Fatalf("image: %v, size %d", err, st.Size())
	}

	ls := debugfs(t, img, "ls -l /")
	lsBoot := debugfs(t, img, "ls -l /boot")
	lsGrub := debugfs(t, img, "ls -l /boot/grub")
	// ls -l: inode, mode, (links), uid, gid, size, date, name.
	for _, c := range []struct{ listing, mode, size, name string }{
		{ls, "40755", "", "boot"},
		{ls, "100644", strconv.Itoa(len(wire)), "json.cfg"},
		{lsBoot, "40755", "", "grub"},
		{lsBoot, "100644", strconv.Itoa(len(kdata)), "kernel"},
		{lsGrub, "100644", "", "menu.lst"},
	} {
		re := regexp.MustCompile(`(?m)^\s*\d+\s+` + c.mode + `\s+\(\d+\)\s+0\s+0\s+` + sizeRE(c.size) + `\s+14-Nov-2023 22:13\s+` + regexp.QuoteMeta(c.name) + `\s*$`)
		if !re.MatchString(c.listing) {
			t.Errorf("no %s with mode %s, owner 0:0, size %s and the fixed time in:\n%s", c.name, c.mode, c.size, c.listing)
		}
	}
	if got := debugfs(t, img, "cat /json.cfg"); got != wire {
		t.Errorf("/json.cfg = %q, want %q", got, wire)
	}
	wantMenu := "default 0\ntimeout 0\nhiddenmenu\n\ntitle probe one\nroot (hd0)\nkernel /boot/kernel _RUMPRUN_ROOTFSCFG=/json.cfg\n"
	if got := debugfs(t, img, "cat /boot/grub/menu.lst"); got != wantMenu {
		t.Errorf("menu.lst = %q, want %q", got, wantMenu)
	}
	out := filepath.Join(dir, "kernel.out")
	debugfs(t, img, "dump /boot/kernel "+out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, kdata) {
		t.Errorf("/boot/kernel differs from the kernel (%d bytes, want %d)", len(got), len(kdata))
	}

	// What PV-GRUB and NetBSD's ext2fs need: 128-byte inodes, no features
	// beyond filetype and sparse_super.
	hdr, err := exec.Command("dumpe2fs", "-h", img).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`Filesystem features:\s+filetype sparse_super\n`, `Inode size:\s+128\n`, `Block size:\s+4096\n`, `Filesystem volume name:\s+rumprun\n`} {
		if !regexp.MustCompile(want).Match(hdr) {
			t.Errorf("dumpe2fs -h lacks %q:\n%s", want, hdr)
		}
	}
}

func TestPVVolumeReproducible(t *testing.T) {
	needE2fsprogs(t)
	dir := t.TempDir()
	kpath, _ := fakeKernel(t, dir, 300000)
	v := &ec2image.PV{Kernel: kpath, Config: []byte(wire), Title: "r", Size: 16 << 20, Time: time.Unix(1600000000, 0)}
	a, b := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	if err := v.WriteFile(a); err != nil {
		t.Fatal(err)
	}
	// Another mtime on the kernel and a later clock must not matter.
	if err := os.Chtimes(kpath, time.Now(), time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := v.WriteFile(b); err != nil {
		t.Fatal(err)
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Error("two builds of the same volume differ")
	}
	v.Config = []byte(`{"cmdline":"other"}`)
	if err := v.WriteFile(b); err != nil {
		t.Fatal(err)
	}
	db, _ = os.ReadFile(b)
	if bytes.Equal(da, db) {
		t.Error("a different config gave the same image")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

func TestPVVolumeTooSmall(t *testing.T) {
	needE2fsprogs(t)
	dir := t.TempDir()
	kpath, _ := fakeKernel(t, dir, 5<<20)
	v := &ec2image.PV{Kernel: kpath, Config: []byte(wire), Size: 8 << 20, Time: time.Unix(0, 0)}
	dest := filepath.Join(dir, "vol.img")
	err := v.WriteFile(dest)
	if err == nil || !strings.Contains(err.Error(), "bigger volume") {
		t.Fatalf("error %v, want one asking for a bigger volume", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Error("an image was left after a failure")
	}
}

func TestPVFiles(t *testing.T) {
	dir := t.TempDir()
	kpath, _ := fakeKernel(t, dir, 4096)
	v := &ec2image.PV{Kernel: kpath, Config: []byte("{}"), Title: "x"}
	files, err := v.Files()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Path)
	}
	if strings.Join(got, " ") != "/boot/grub/menu.lst /boot/kernel /json.cfg" || files[1].Size != 4096 || files[1].Source != kpath || files[2].Size != 2 {
		t.Errorf("files %+v", files)
	}
	if _, err := (&ec2image.PV{Kernel: dir}).Files(); err == nil {
		t.Error("a directory accepted as kernel")
	}
	args := strings.Join(v.MkfsArgs("I"), " ")
	if !strings.Contains(args, "-t ext2") || !strings.HasSuffix(args, " I 1048576k") || strings.Contains(args, " -d ") {
		t.Errorf("mke2fs arguments %q", args)
	}
}

// sizeRE matches the given size, or any size when it is "".
func sizeRE(size string) string {
	if size == "" {
		return `\d+`
	}
	return size
}
