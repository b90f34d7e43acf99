package kside_test

// Real kernels: baked by rump-bake with the real hw toolchain
// (RUMPRUN_TOOLCHAIN), booted in QEMU, read back through testdata/real's
// show program.

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/kernel"
)

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }

// kernels returns show baked by rump-bake as it bakes by default
// (initrd/1), once per test binary.
func kernels(t *testing.T) string {
	t.Helper()
	return realkernel.HW(t).ShowKernel(t)
}

// The bake declares initrd/1, and -n prints a script that makes the same
// file. (--protocol rumprun against rumprun-bake: rump-bake's own tests.)
func TestRealBake(t *testing.T) {
	tc := realkernel.HW(t)
	bake := realkernel.Tool(t, "rump-bake")
	dir := t.TempDir()
	obj := tc.Compile(t, filepath.Join(dir, "show"), "show")
	k := filepath.Join(dir, "show.bin")
	tc.Run(t, bake, "-q", "-o", k, obj)
	info, err := kernel.Open(k)
	if err != nil {
		t.Fatal(err)
	}
	if !info.Supports("initrd/1") || info.Bake == nil || info.Bake.Config != "hw_generic" {
		t.Errorf("%s: protocols %v, bake record %+v", k, info.Protocols, info.Bake)
	}
	legacy := filepath.Join(dir, "legacy.bin")
	tc.Run(t, bake, "-q", "--protocol", "rumprun", "-o", legacy, obj)
	if old, err := kernel.Open(legacy); err != nil || len(old.Protocols) != 0 {
		t.Errorf("--protocol rumprun kernel: %v, protocols %v", err, old.Protocols)
	}

	out := filepath.Join(dir, "script.bin")
	cmd := exec.Command(bake, "-n", "-o", out, obj)
	cmd.Env = tc.Env()
	script, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []string{"--kside-source", "-nostartfiles", "--wrap=rumprun_config", "--weaken-symbol=multiboot", "--protocol initrd/1"} {
		if !bytes.Contains(script, []byte(step)) {
			t.Errorf("-n script lacks %s:\n%s", step, script)
		}
	}
	cmd = exec.Command("sh", "-c", string(script))
	cmd.Env = tc.Env()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("-n script: %v\n%s", err, b)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(k)
	if !bytes.Equal(a, b) {
		t.Error("the -n script bakes other bytes than rump-bake")
	}
}

type hostFile struct {
	size int64
	crc  uint32
	mode fs.FileMode
	link string
}

// tree writes the awkward tree and returns what the guest should see.
func tree(t *testing.T, dir string) map[string]hostFile {
	t.Helper()
	big := make([]byte, 5<<20+3)
	rand.New(rand.NewSource(2)).Read(big)
	files := map[string][]byte{
		"etc/hosts":               []byte("10.9.8.7 initrd-hosts\n"),
		"with space/and more.txt": []byte("spaces\n"),
		"ünïcödé/😀.txt":           []byte("utf-8 names\n"),
		"empty":                   nil,
		"big.bin":                 big,
		"a/b/c/d/e/deep":          []byte("deep\n"),
		"modes/secret":            []byte("0600\n"),
		"modes/script":            []byte("#!/bin/sh\n"),
		"hard/one":                []byte("linked data\n"),
		"quote\"and'back\\slash":  []byte("odd name\n"),
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
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(filepath.Join(dir, "modes/secret"), 0o600))
	must(os.Chmod(filepath.Join(dir, "modes/script"), 0o755))
	must(os.Chmod(filepath.Join(dir, "modes"), 0o711))
	must(os.Link(filepath.Join(dir, "hard/one"), filepath.Join(dir, "hard/two")))
	must(os.Symlink("../ünïcödé/😀.txt", filepath.Join(dir, "a/link")))
	must(os.Symlink("/etc/hosts", filepath.Join(dir, "abs-link")))

	want := map[string]hostFile{}
	must(filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		h := hostFile{mode: fi.Mode()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			h.link, _ = os.Readlink(p)
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			h.size, h.crc = int64(len(data)), crc32.ChecksumIEEE(data)
		}
		want["/"+rel] = h
		return nil
	}))
	return want
}

// esc is show's escaping.
func esc(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f || c == '\\' {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func rcConfig(args []string, extra string) string {
	var q []string
	for _, a := range args {
		q = append(q, jsonString(a))
	}
	return `{"rc": [{"bin": "show", "argv": [` + strings.Join(q, ", ") + `]}]` + extra + "}\n"
}

// checkTree compares show's "file" and "entry" lines with the host tree.
func checkTree(t *testing.T, r *probe.Result, want map[string]hostFile) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range r.Other {
		switch {
		case strings.HasPrefix(l, "file "):
			f := strings.Fields(l)
			path := strings.Join(f[1:len(f)-3], " ")
			seen["file "+path] = true
			for name, h := range want {
				if esc(name) != path {
					continue
				}
				w := fmt.Sprintf("size=%d crc32=%08x mode=%06o", h.size, h.crc, 0o100000|uint32(h.mode.Perm()))
				if got := strings.Join(f[len(f)-3:], " "); got != w {
					t.Errorf("%s: %s, want %s", name, got, w)
				}
			}
		case strings.HasPrefix(l, "entry "):
			for name, h := range want {
				prefix := "entry " + esc(name) + " "
				if !strings.HasPrefix(l, prefix) {
					continue
				}
				seen["entry "+esc(name)] = true
				rest := l[len(prefix):]
				switch {
				case h.link != "":
					if !strings.HasPrefix(rest, "link ") || !strings.HasSuffix(rest, " -> "+esc(h.link)) {
						t.Errorf("%s: %q, want a link to %s", name, rest, h.link)
					}
				case h.mode.IsDir():
					if w := fmt.Sprintf("dir mode=%04o", h.mode.Perm()); !strings.HasPrefix(rest, w) {
						t.Errorf("%s: %q, want %s", name, rest, w)
					}
				default:
					if w := fmt.Sprintf("file mode=%04o size=%d", h.mode.Perm(), h.size); rest != w {
						t.Errorf("%s: %q, want %s", name, rest, w)
					}
				}
			}
		}
	}
	for name, h := range want {
		if !seen["entry "+esc(name)] {
			t.Errorf("%s: not in the guest's listing", name)
		}
		if h.mode.IsRegular() && !seen["file "+esc(name)] {
			t.Errorf("%s: not read in the guest", name)
		}
	}
}

func catArgs(want map[string]hostFile) []string {
	var args []string
	for name, h := range want {
		if h.mode.IsRegular() {
			args = append(args, "cat:"+name)
		}
	}
	sort.Strings(args)
	return append(args, "ls:/")
}

// Every file of an awkward tree arrives byte for byte (size and CRC-32),
// with its mode, links and directories, and overrides the built-in
// /etc/hosts; /json.cfg comes from the initrd; both through the
// launcher (plain archive) and through the QEMU command that -n prints
// (gzip archive).
func TestRealFiles(t *testing.T) {
	k := kernels(t)
	mkrd := realkernel.Tool(t, "rump-initrd")
	launcher := realkernel.Tool(t, "rump-launch-qemu")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	want := tree(t, root)
	cfg := rcConfig(append(catArgs(want), "cat:/json.cfg", "exit:7"), `, "env": {"T_FROM": "initrd"}`)
	if err := os.WriteFile(filepath.Join(root, "json.cfg"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	want["/json.cfg"] = hostFile{size: int64(len(cfg)), crc: crc32.ChecksumIEEE([]byte(cfg)), mode: 0o644}

	plain := filepath.Join(dir, "plain.initrd")
	gz := filepath.Join(dir, "gz.initrd")
	for _, c := range [][]string{{"-o", plain, root}, {"-z", "-o", gz, root}} {
		if out, err := exec.Command(mkrd, c...).CombinedOutput(); err != nil {
			t.Fatalf("rump-initrd %q: %v\n%s", c, err, out)
		}
	}

	r := probe.RunCmd(t, exec.Command(launcher, "-M", "256", k, plain), 5*time.Minute)
	checkTree(t, r, want)
	if r.ExitStatus != 7 || r.ProcessExit != 7 || !contains(r.Other, "env <T_FROM=initrd>") {
		t.Errorf("launcher: exit %d (status %d), env: %v\n%s", r.ProcessExit, r.ExitStatus, r.Other, r.Output)
	}

	script, err := exec.Command(launcher, "-n", "-M", "256", k, gz).Output()
	if err != nil {
		t.Fatal(err)
	}
	r = probe.RunCmd(t, exec.Command("sh", "-c", string(script)), 5*time.Minute)
	checkTree(t, r, want)
	// QEMU itself ends with 2N+1: the kernel wrote 7 to isa-debug-exit.
	if r.ExitStatus != 7 || r.ProcessExit != 15 || r.Killed {
		t.Errorf("-n command: QEMU exit %d (killed %v), status %d\n%s", r.ProcessExit, r.Killed, r.ExitStatus, r.Output)
	}
}

func hasPrefixLine(lines []string, p string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// A config on the command line replaces /json.cfg; strings are decoded,
// so argv and env with quotes, backslashes, tabs, newlines and UTF-8
// reach the program exactly.
func TestRealCommandLineConfig(t *testing.T) {
	k := kernels(t)
	mkrd := realkernel.Tool(t, "rump-initrd")
	launcher := realkernel.Tool(t, "rump-launch-qemu")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "json.cfg"), []byte(rcConfig([]string{"from-initrd", "exit:9"}, "")), 0o644)
	os.WriteFile(filepath.Join(root, "data"), []byte("x"), 0o644)
	rd := filepath.Join(dir, "rd")
	if out, err := exec.Command(mkrd, "-o", rd, root).CombinedOutput(); err != nil {
		t.Fatalf("rump-initrd: %v\n%s", err, out)
	}
	args := []string{`say "hi"`, `back\slash`, "tab\there", "new\nline", "grüß 😀", "it's", "", "cat:/data", "exit:4"}
	cfg := rcConfig(args, `, "hostname": "real-host", "env": {"T_Q": "a \"b\" \\c\td\ne ü"}`)
	cfgFile := filepath.Join(dir, "c.json")
	os.WriteFile(cfgFile, []byte(cfg), 0o644)

	script, err := exec.Command(launcher, "-n", "-c", cfgFile, k, rd).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(script, []byte("rumpboot.exit=0xf4 rumpboot=initrd/1 {")) {
		t.Errorf("-n: no initrd/1 words before the config:\n%s", script)
	}
	r := probe.RunCmd(t, exec.Command("sh", "-c", string(script)), 5*time.Minute)
	wantLines := []string{"argc=" + strconv.Itoa(len(args)+1), "argv[0]=<show>"}
	for i, a := range args {
		wantLines = append(wantLines, fmt.Sprintf("argv[%d]=<%s>", i+1, esc(a)))
	}
	wantLines = append(wantLines, "env <"+esc("T_Q=a \"b\" \\c\td\ne ü")+">", "hostname=<real-host>", "file /data size=1 crc32=8cdc1683 mode=100644")
	got := strings.Join(r.Other, "\n")
	for _, w := range wantLines {
		if !contains(r.Other, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if r.ExitStatus != 4 || r.ProcessExit != 9 {
		t.Errorf("status %d, QEMU exit %d", r.ExitStatus, r.ProcessExit)
	}
}

// Without "net" the kernel runs DHCP on every interface (answered by
// QEMU's user network, reached through hostfwd); without "blk" it mounts
// every disk at /mnt/DEV with its file system found, read-only where the
// device is. Plain QEMU, so that no launcher fills in defaults.
func TestRealDefaults(t *testing.T) {
	k := kernels(t)
	mkrd := realkernel.Tool(t, "rump-initrd")
	for _, tool := range []string{"mke2fs", "xorriso"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s (e2fsprogs, xorriso)", tool)
		}
	}
	dir := t.TempDir()
	content := filepath.Join(dir, "content")
	os.MkdirAll(content, 0o755)
	os.WriteFile(filepath.Join(content, "hello"), []byte("from ext2\n"), 0o644)
	ext2 := filepath.Join(dir, "disk.img")
	if out, err := exec.Command("mke2fs", "-q", "-F", "-t", "ext2", "-b", "1024", "-d", content, ext2, "4096").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, out)
	}
	iso := filepath.Join(dir, "cd.iso")
	os.WriteFile(filepath.Join(content, "hello"), []byte("from cd9660\n"), 0o644)
	if out, err := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-o", iso, content).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}

	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "json.cfg"), []byte(rcConfig([]string{"mounts", "cat:/mnt/ld0a/hello", "cat:/mnt/ld1a/hello", "ifaddrs", "tcp:80"}, "")), 0o644)
	rd := filepath.Join(dir, "rd")
	if out, err := exec.Command(mkrd, "-o", rd, root).CombinedOutput(); err != nil {
		t.Fatalf("rump-initrd: %v\n%s", err, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", k, "-initrd", rd, "-append", "rumpboot.exit=0xf4",
		"-netdev", fmt.Sprintf("user,id=n0,hostfwd=tcp:127.0.0.1:%d-:80", port), "-device", "virtio-net-pci,netdev=n0",
		"-drive", "if=none,id=d0,format=raw,file="+ext2, "-device", "virtio-blk-pci,drive=d0",
		"-drive", "if=none,id=d1,format=raw,readonly=on,file="+iso, "-device", "virtio-blk-pci,drive=d1")

	// The program serves one connection once DHCP has given it an address.
	stop := make(chan struct{})
	served := realkernel.AskTCP(port, stop)
	r := probe.RunCmd(t, cmd, 5*time.Minute)
	close(stop)
	if got := <-served; got != "hello from show\n" {
		t.Errorf("through hostfwd: %q", got)
	}
	for _, w := range []string{
		"mount </mnt/ld0a> from </dev/ld0a> type <ext2fs>",
		"mount </mnt/ld1a> from </dev/ld1a> type <cd9660> ro",
		"file /mnt/ld0a/hello size=10 crc32=" + fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte("from ext2\n"))) + " mode=",
		"file /mnt/ld1a/hello size=12 crc32=" + fmt.Sprintf("%08x", crc32.ChecksumIEEE([]byte("from cd9660\n"))) + " mode=",
		"ifaddr vioif0 10.0.2.15",
		"served",
	} {
		if !hasPrefixLine(r.Other, w) {
			t.Errorf("missing %q in:\n%s", w, r.Output)
		}
	}
	if r.ProcessExit != 1 || r.ExitStatus != 0 {
		t.Errorf("QEMU exit %d, status %d", r.ProcessExit, r.ExitStatus)
	}
}

// The same kernel boots today's configs as before: wire form on the
// command line, a config module that is not an archive, a config file on
// a disk (_RUMPRUN_ROOTFSCFG=), no config.
func TestRealCompat(t *testing.T) {
	k := kernels(t)
	dir := t.TempDir()
	mod := filepath.Join(dir, "cfg")
	os.WriteFile(mod, []byte(`{"cmdline": "show from-module", "env": "T_M=1", "net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": "24"}}`), 0o644)
	base := []string{"-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", k}
	// A config file on a disk, read through _RUMPRUN_ROOTFSCFG=.
	medium := filepath.Join(dir, "medium")
	os.MkdirAll(medium, 0o755)
	os.WriteFile(filepath.Join(medium, "json.cfg"), []byte(`{"cmdline": "show from-disk"}`), 0o644)
	iso := filepath.Join(dir, "cfg.iso")
	if _, err := exec.LookPath("xorriso"); err != nil {
		t.Skip("no xorriso")
	}
	if out, err := exec.Command("xorriso", "-as", "mkisofs", "-quiet", "-R", "-o", iso, medium).CombinedOutput(); err != nil {
		t.Fatalf("xorriso: %v\n%s", err, out)
	}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"rootfscfg", []string{"-append", "rumpboot.exit=0xf4 _RUMPRUN_ROOTFSCFG=/json.cfg",
			"-drive", "if=none,id=d0,format=raw,readonly=on,file=" + iso, "-device", "virtio-blk-pci,drive=d0"},
			[]string{"argv[1]=<from-disk>"}},
		{"wire", []string{"-append", `rumpboot.exit=0xf4 {"cmdline": "show 'a b' exit:2", "env": "T_W=x", "env": "T_V=y"}`},
			[]string{"argv[1]=<a b>", "env <T_W=x>", "env <T_V=y>"}},
		{"module", []string{"-append", "rumpboot.exit=0xf4", "-initrd", mod, "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"},
			[]string{"argv[1]=<from-module>", "env <T_M=1>"}},
		{"none", []string{"-append", "rumpboot.exit=0xf4"}, []string{"argv[0]=<rumprun>", "argc=1"}},
	} {
		r := probe.RunCmd(t, exec.Command("qemu-system-x86_64", append(base, c.args...)...), 5*time.Minute)
		for _, w := range c.want {
			if !contains(r.Other, w) {
				t.Errorf("%s: missing %q in:\n%s", c.name, w, r.Output)
			}
		}
		if c.name == "wire" && (r.ExitStatus != 2 || r.ProcessExit != 5) {
			t.Errorf("wire: status %d, QEMU exit %d", r.ExitStatus, r.ProcessExit)
		}
	}
}

// A damaged initrd or a bad config stops the boot with what and where on
// the console, "=== bootstrap failed", and (told the port) QEMU's exit.
func TestRealRefusals(t *testing.T) {
	k := kernels(t)
	mkrd := realkernel.Tool(t, "rump-initrd")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "json.cfg"), []byte(`{"cmdline": "show", "nett": []}`+"\n"), 0o644)
	big := make([]byte, 300<<10)
	rand.New(rand.NewSource(3)).Read(big)
	os.WriteFile(filepath.Join(root, "big"), big, 0o644)
	rd := filepath.Join(dir, "rd")
	if out, err := exec.Command(mkrd, "-o", rd, root).CombinedOutput(); err != nil {
		t.Fatalf("rump-initrd: %v\n%s", err, out)
	}
	whole, _ := os.ReadFile(rd)
	trunc := filepath.Join(dir, "trunc")
	os.WriteFile(trunc, whole[:200<<10], 0o644)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(whole)
	zw.Close()
	bad := z.Bytes()
	bad[len(bad)/2] ^= 0x55
	corrupt := filepath.Join(dir, "corrupt")
	os.WriteFile(corrupt, bad, 0o644)

	for _, c := range []struct{ name, initrd, want string }{
		{"truncated", trunc, "(big): truncated archive: the input ends inside this entry"},
		{"corrupt", corrupt, "initrd: gzip: "},
		{"config", rd, "/json.cfg:1:29: /nett: unknown key (want hostname, cmdline, rc, env, net or blk)"},
	} {
		r := probe.RunCmd(t, exec.Command("qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none",
			"-display", "none", "-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
			"-kernel", k, "-initrd", c.initrd, "-append", "rumpboot.exit=0xf4"), 5*time.Minute)
		found := false
		for _, l := range r.Other {
			found = found || strings.Contains(l, c.want)
		}
		if !found || !r.BootstrapFailed || !r.Halted || r.ProcessExit != 3 || len(r.Calls) != 0 {
			t.Errorf("%s: want %q, bootstrap failed, QEMU exit 3; got failed %v halted %v exit %d\n%s",
				c.name, c.want, r.BootstrapFailed, r.Halted, r.ProcessExit, r.Output)
		}
	}
}

// DHCP without a server (a NIC on an empty QEMU hub) does not stall the
// boot: the program starts after the bounded wait while DHCP goes on.
func TestRealDHCPNoServer(t *testing.T) {
	k := kernels(t)
	mkrd := realkernel.Tool(t, "rump-initrd")
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "json.cfg"), []byte(rcConfig([]string{"ifaddrs", "exit:6"}, "")), 0o644)
	rd := filepath.Join(dir, "rd")
	if out, err := exec.Command(mkrd, "-o", rd, root).CombinedOutput(); err != nil {
		t.Fatalf("rump-initrd: %v\n%s", err, out)
	}
	r := probe.RunCmd(t, exec.Command("qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none",
		"-display", "none", "-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", k, "-initrd", rd, "-append", "rumpboot.exit=0xf4",
		"-netdev", "hubport,id=n0,hubid=0", "-device", "virtio-net-pci,netdev=n0"), 5*time.Minute)
	if !contains(r.Other, "initrd/1: dhcp on vioif0: no lease after 10 s, programs start while it goes on") ||
		len(r.Calls) != 1 || r.ExitStatus != 6 || r.ProcessExit != 13 || hasPrefixLine(r.Other, "ifaddr vioif0") {
		t.Errorf("calls %+v, status %d, QEMU exit %d\n%s", r.Calls, r.ExitStatus, r.ProcessExit, r.Output)
	}
}

// Archives one after another, plain and gzip with zero padding between:
// all are unpacked, and the last /json.cfg is the config.
func TestRealConcatenated(t *testing.T) {
	k := kernels(t)
	mkrd := realkernel.Tool(t, "rump-initrd")
	dir := t.TempDir()
	var cat []byte
	for i, gz := range []bool{false, true} {
		root := filepath.Join(dir, fmt.Sprint("root", i))
		os.MkdirAll(root, 0o755)
		os.WriteFile(filepath.Join(root, fmt.Sprint("file", i)), []byte(fmt.Sprintln("archive", i)), 0o644)
		os.WriteFile(filepath.Join(root, "json.cfg"), []byte(rcConfig([]string{fmt.Sprint("config", i), "cat:/file0", "cat:/file1"}, "")), 0o644)
		out := filepath.Join(dir, fmt.Sprint("rd", i))
		args := []string{"-o", out, root}
		if gz {
			args = append([]string{"-z"}, args...)
		}
		if b, err := exec.Command(mkrd, args...).CombinedOutput(); err != nil {
			t.Fatalf("rump-initrd: %v\n%s", err, b)
		}
		b, _ := os.ReadFile(out)
		cat = append(append(cat, b...), make([]byte, 512)...)
	}
	rd := filepath.Join(dir, "both")
	os.WriteFile(rd, cat, 0o644)
	// Plain QEMU: pkg/initrd (the launcher's reader) refuses a gzip member
	// after a plain archive.
	r := probe.RunCmd(t, exec.Command("qemu-system-x86_64", "-accel", "tcg", "-m", "128", "-nodefaults", "-vga", "none",
		"-display", "none", "-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", k, "-initrd", rd, "-append", "rumpboot.exit=0xf4"), 5*time.Minute)
	for _, w := range []string{"argv[1]=<config1>",
		fmt.Sprintf("file /file0 size=10 crc32=%08x mode=100644", crc32.ChecksumIEEE([]byte("archive 0\n"))),
		fmt.Sprintf("file /file1 size=10 crc32=%08x mode=100644", crc32.ChecksumIEEE([]byte("archive 1\n")))} {
		if !contains(r.Other, w) {
			t.Errorf("missing %q in:\n%s", w, r.Output)
		}
	}
}

// Xen PV kernels (xen_pv, xen_pci) get the kernel side too, built from
// xen.c with the Xen toolchain: the bake declares initrd/1, links the
// support (its symbols before strip, rumprun's call of rumprun_config
// going to the wrapper) and leaves rumprun.o as installed; -n prints a
// script that makes the same file. No Xen here: nothing boots.
func TestRealXenBake(t *testing.T) {
	tc := realkernel.Xen(t)
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Skip("no objdump: the Xen bake test reads the kernel's calls with it (apt-get install binutils)")
	}
	bake := realkernel.Tool(t, "rump-bake")
	dir := t.TempDir()
	obj := tc.Compile(t, filepath.Join(dir, "show"), "show")
	for _, config := range []string{"xen_pv", "xen_pci"} {
		t.Run(config, func(t *testing.T) {
			k := filepath.Join(dir, config+".bin")
			tc.Run(t, bake, "-q", "-C", config, "-o", k, obj)
			info, err := kernel.Open(k)
			if err != nil {
				t.Fatal(err)
			}
			if !info.Supports("initrd/1") || info.Bake == nil || info.Bake.Config != config || info.Platform != "xen" {
				t.Errorf("%s: platform %q, protocols %v, bake record %+v", k, info.Platform, info.Protocols, info.Bake)
			}
			ef, err := elf.Open(k)
			if err != nil {
				t.Fatal(err)
			}
			syms, err := ef.Symbols()
			ef.Close()
			if err != nil {
				t.Fatal(err)
			}
			bind := map[string]elf.SymBind{}
			for _, s := range syms {
				if s.Section != elf.SHN_UNDEF {
					bind[s.Name] = elf.ST_BIND(s.Info)
				}
			}
			for name, want := range map[string]elf.SymBind{
				"__wrap_rumprun_config": elf.STB_GLOBAL, "kside_xen_module": elf.STB_LOCAL,
				"kside_xen_vbd_name": elf.STB_LOCAL, "kside_unpack": elf.STB_LOCAL, "inflate": elf.STB_LOCAL,
				"_minios_start_info_union": elf.STB_GLOBAL,
			} {
				if b, ok := bind[name]; !ok || b != want {
					t.Errorf("%s: symbol %s: bound %v (present %v), want %v", config, name, b, ok, want)
				}
			}
			for _, hwOnly := range []string{"kside_upstream_multiboot", "__wrap__exit"} {
				if _, ok := bind[hwOnly]; ok {
					t.Errorf("%s: has hw's %s", config, hwOnly)
				}
			}
			dis, err := exec.Command("objdump", "-d", k).Output()
			if err != nil {
				t.Fatal(err)
			}
			calls := func(target string) int { return bytes.Count(dis, []byte("<"+target+">\n")) }
			// rumprun's boot calls the wrapper; the wrapper's config
			// hands today's configs to rumprun's own rumprun_config.
			if calls("__wrap_rumprun_config") != 1 || calls("rumprun_config") < 1 || calls("xenbus_ls") < 3 {
				t.Errorf("%s: calls: __wrap_rumprun_config %d, rumprun_config %d, xenbus_ls %d", config,
					calls("__wrap_rumprun_config"), calls("rumprun_config"), calls("xenbus_ls"))
			}
			for _, s := range []string{"initrd/1: config from %s", "where the domain builder put it", "xenstore rumprun/cfg", "XENBLK_%s", "device/vif", "xenif%d"} {
				if !bytes.Contains(readAll(t, k), []byte(s)) {
					t.Errorf("%s: no string %q", config, s)
				}
			}

			out := filepath.Join(dir, config+"-script.bin")
			cmd := exec.Command(bake, "-n", "-C", config, "-o", out, obj)
			cmd.Env = tc.Env()
			script, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(script, []byte("/kside.c xen\n")) || !bytes.Contains(script, []byte("--wrap=rumprun_config")) ||
				bytes.Contains(script, []byte("-nostartfiles")) || bytes.Contains(script, []byte("--weaken-symbol")) {
				t.Errorf("-n script for %s:\n%s", config, script)
			}
			cmd = exec.Command("sh", "-c", string(script))
			cmd.Env = tc.Env()
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("-n script: %v\n%s", err, b)
			}
			if !bytes.Equal(readAll(t, out), readAll(t, k)) {
				t.Error("the -n script bakes other bytes than rump-bake")
			}
		})
	}
}

func readAll(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
