package qemu

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
)

func nic(name string, model launch.NICModel, unit int, b launch.Backend) launch.NIC {
	return launch.NIC{Name: name, Model: model, Unit: unit, Backend: b, MAC: launch.MAC("web", name)}
}

func testPlan() *launch.Plan {
	vioif, wm := Target.NICs[0], Target.NICs[1]
	return &launch.Plan{
		Name:       "web",
		Kernel:     "/k/app.bin",
		Info:       &kernel.Kernel{Bits: 64},
		Protocol:   launch.ProtocolRumprun,
		Config:     &config.Config{RC: []config.RC{{Bin: "app", Argv: []string{"a,b", "it's"}}}},
		SendConfig: true,
		NICs: []launch.NIC{
			nic("vioif0", vioif, 0, launch.Backend{Kind: launch.BackendUser, Options: []string{"hostfwd=tcp::8080-:80"}}),
			nic("vioif1", vioif, 1, launch.Backend{Kind: launch.BackendTap, Name: "tap0"}),
			nic("vioif2", vioif, 2, launch.Backend{Kind: launch.BackendRaw, Options: []string{"socket", "listen=:1234"}}),
			nic("wm0", wm, 0, launch.Backend{Kind: launch.BackendBridge, Name: "br0"}),
			nic("wm1", wm, 1, launch.Backend{Kind: launch.BackendTap, Name: "tap1", Options: []string{"script=/etc/up"}}),
		},
		Disks: []launch.Disk{
			{Unit: 0, Path: "d,1.img", Image: launch.Image{Format: "raw"}},
			{Unit: 1, Path: "nbd:x.qcow2", Image: launch.Image{Format: "qcow2"}},
			{Unit: 2, Path: "/srv/cd.iso", Image: launch.Image{Format: "raw", ISO: true}, ReadOnly: true},
		},
		MemoryMiB: 128,
	}
}

func TestBuild(t *testing.T) {
	c, err := Build(testPlan(), Options{Accel: []string{"kvm", "tcg"}, GDBPort: 1234, Paused: true, Extra: []string{"-smp", "2"}})
	if err != nil {
		t.Fatal(err)
	}
	mac := func(n string) string { return launch.MAC("web", n) }
	want := []string{
		"-name", "web", "-m", "128", "-accel", "kvm", "-accel", "tcg",
		"-nodefaults", "-no-user-config", "-vga", "none", "-display", "none", "-serial", "stdio",
		"-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", "/k/app.bin",
		"-append", `{"rc":[{"bin":"app","argv":["a,b","it's"]}]}`,
		"-netdev", "user,id=vioif0,hostfwd=tcp::8080-:80", "-device", "virtio-net-pci,netdev=vioif0,mac=" + mac("vioif0") + ",addr=0x4",
		"-netdev", "tap,id=vioif1,ifname=tap0,script=no,downscript=no", "-device", "virtio-net-pci,netdev=vioif1,mac=" + mac("vioif1") + ",addr=0x5",
		"-netdev", "socket,id=vioif2,listen=:1234", "-device", "virtio-net-pci,netdev=vioif2,mac=" + mac("vioif2") + ",addr=0x6",
		"-netdev", "bridge,id=wm0,br=br0", "-device", "e1000,netdev=wm0,mac=" + mac("wm0") + ",addr=0xc",
		"-netdev", "tap,id=wm1,ifname=tap1,downscript=no,script=/etc/up", "-device", "e1000,netdev=wm1,mac=" + mac("wm1") + ",addr=0xd",
		"-drive", "if=none,id=ld0,file=d,,1.img,format=raw", "-device", "virtio-blk-pci,drive=ld0,addr=0x10",
		"-drive", "if=none,id=ld1,file=./nbd:x.qcow2,format=qcow2", "-device", "virtio-blk-pci,drive=ld1,addr=0x11",
		"-drive", "if=none,id=ld2,file=/srv/cd.iso,format=raw,readonly=on", "-device", "virtio-blk-pci,drive=ld2,addr=0x12",
		"-gdb", "tcp::1234", "-S", "-smp", "2",
	}
	if c.Path != "qemu-system-x86_64" || !reflect.DeepEqual(c.Args, want) || len(c.Temps) != 0 {
		t.Errorf("Build:\n got %s %q\nwant qemu-system-x86_64 %q", c.Path, c.Args, want)
	}
}

func TestBuildVariants(t *testing.T) {
	p := testPlan()
	p.Info.Bits = 32
	p.Name = "a=b,c"
	p.NICs, p.Disks = nil, nil
	c, err := Build(p, Options{Background: true, LogFile: "con,sole.log"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != "qemu-system-i386" || c.Args[1] != "guest=a=b,,c" {
		t.Errorf("binary %s, name %q", c.Path, c.Args[1])
	}
	s := strings.Join(c.Args, " ")
	if !strings.Contains(s, "-add-fd fd=3,set=3 -chardev file,id=console0,path=/dev/fdset/3 -serial chardev:console0") || c.Log != "con,sole.log" || strings.Contains(s, "stdio") ||
		!strings.HasSuffix(s, "-daemonize -pidfile ") {
		t.Errorf("background args %q", c.Args)
	}
	if len(c.Temps) != 1 || c.Temps[0].Name != "pid" || c.Temps[0].Arg != len(c.Args)-1 || !c.Background {
		t.Errorf("temps %+v", c.Temps)
	}
	if _, err := Build(p, Options{Background: true}); err == nil {
		t.Error("background without log file: no error")
	}
	if _, err := Build(p, Options{GDBPort: 70000}); err == nil {
		t.Error("gdb port 70000: no error")
	}

	// initrd/1: the initrd is the first module, the override on -append.
	p = testPlan()
	p.Protocol, p.Initrd, p.SendConfig = launch.ProtocolInitrd, "/i/app,1.initrd", false
	c, _ = Build(p, Options{})
	s = strings.Join(c.Args, " ")
	// The kernel side's words: the exit status through isa-debug-exit,
	// and, before a config, that it is canonical.
	if i := index(c.Args, "-append"); !strings.Contains(s, "-initrd /i/app,,1.initrd") || i < 0 || c.Args[i+1] != "rumpboot.exit=0xf4" {
		t.Errorf("initrd/1 without override: %q", c.Args)
	}
	p.SendConfig = true
	c, _ = Build(p, Options{})
	if i := index(c.Args, "-append"); i < 0 || c.Args[i+1] != `rumpboot.exit=0xf4 rumpboot=initrd/1 {"rc":[{"bin":"app","argv":["a,b","it's"]}]}` {
		t.Errorf("initrd/1 override: %q", c.Args)
	}
	p.Initrd = "/i/my app.initrd"
	if _, err := Build(p, Options{}); err == nil || !strings.Contains(err.Error(), "cannot carry a path with a space") {
		t.Errorf("initrd with a space: %v", err)
	}
	p.Initrd = ""
	if _, err := Build(p, Options{ConfigVia: ViaModule}); err == nil || !strings.Contains(err.Error(), "first module as the initrd") {
		t.Errorf("module delivery to initrd/1: %v", err)
	}

	// Raw backend without a type.
	p = testPlan()
	p.NICs[2].Backend.Options = []string{"listen=:1234"}
	if _, err := Build(p, Options{}); err == nil || !strings.Contains(err.Error(), "starts with a QEMU -netdev type") {
		t.Errorf("raw backend without type: %v", err)
	}
}

func index(s []string, x string) int {
	for i, v := range s {
		if v == x {
			return i
		}
	}
	return -1
}

// planOfSize returns a plan whose wire form is n bytes.
func planOfSize(t *testing.T, kernel string, n int) *launch.Plan {
	p := testPlan()
	p.Kernel, p.NICs, p.Disks = kernel, nil, nil
	p.Config = &config.Config{RC: []config.RC{{Bin: "app", Argv: []string{""}}}}
	w, _ := p.Config.Wire()
	p.Config.RC[0].Argv[0] = strings.Repeat("x", n-len(w))
	if w, _ := p.Config.Wire(); len(w) != n {
		t.Fatalf("wire form %d bytes, want %d", len(w), n)
	}
	return p
}

func TestConfigDelivery(t *testing.T) {
	const k = "/k/app.bin" // QEMU passes "/k/app.bin " before the text: 11 bytes
	for _, c := range []struct {
		size int
		via  string
		want string // "cmdline", "module" or an error
	}{
		{4084, "", ViaCmdline},
		{4085, "", ViaModule},
		{4095, "", ViaModule},
		{4096, "", "the config is 4096 bytes in wire form, over the 4095-byte limit"},
		{4084, ViaCmdline, ViaCmdline},
		{4085, ViaCmdline, "multiboot command line would be 4096 bytes, over the 4095-byte limit of rumprun hw kernels: deliver it as a module instead"},
		{100, ViaModule, ViaModule},
		{4096, ViaModule, "4096 bytes in wire form, over the 4095-byte limit"},
		{100, "floppy", `unknown config delivery "floppy"`},
	} {
		p := planOfSize(t, k, c.size)
		cmd, err := Build(p, Options{ConfigVia: c.via})
		got := ""
		switch {
		case err != nil:
			got = err.Error()
		case index(cmd.Args, "-append") >= 0 && len(cmd.Args[index(cmd.Args, "-append")+1]) == c.size:
			got = ViaCmdline
		case len(cmd.Temps) == 1 && len(cmd.Temps[0].Data) == c.size && cmd.Args[cmd.Temps[0].Arg-1] == "-initrd" && cmd.Temps[0].Module:
			got = ViaModule
		}
		if !strings.Contains(got, c.want) {
			t.Errorf("%d bytes via %q: got %q, want %q", c.size, c.via, got, c.want)
		}
	}
	// initrd/1: only the command line, with the same limit.
	p := planOfSize(t, k, 4085)
	p.Protocol = launch.ProtocolInitrd
	p.Config = &config.Config{Hostname: strings.Repeat("a", 63)}
	if _, err := Build(p, Options{}); err != nil {
		t.Errorf("short initrd/1 override: %v", err)
	}
	p.Config = &config.Config{Env: []config.EnvVar{{Name: "A", Value: strings.Repeat("x", 4080)}}}
	if _, err := Build(p, Options{}); err == nil || !strings.Contains(err.Error(), "in canonical form; with the kernel path") {
		t.Errorf("long initrd/1 override: %v", err)
	}
}

// fakeQEMU installs a stand-in QEMU on PATH that records its arguments
// (NUL-terminated) and the content of the -initrd file, and writes 4242 to
// a -pidfile.
func fakeQEMU(t *testing.T) (record string) {
	dir := t.TempDir()
	record = filepath.Join(dir, "record")
	script := `#!/bin/sh
prev=
for a in "$@"; do
	printf '%s\0' "$a" >>"` + record + `"
	case $prev in
	-initrd) printf 'initrd-path:%s\0initrd-content:%s\0' "$a" "$(cat "$a")" >>"` + record + `";;
	-pidfile) echo 4242 >"$a";;
	esac
	prev=$a
done
`
	for _, name := range []string{"qemu-system-x86_64", "qemu-system-i386"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return record
}

func readRecord(t *testing.T, record string) []string {
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Split(string(b), "\x00")
	return s[:len(s)-1]
}

func TestShell(t *testing.T) {
	record := fakeQEMU(t)
	// A TMPDIR that QEMU's -initrd would split (a comma) or cut (a space).
	tmp := filepath.Join(t.TempDir(), "a,b c")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	logDir := t.TempDir()
	for _, c := range []struct {
		name string
		plan func() *launch.Plan
		o    Options
	}{
		{"cmdline", testPlan, Options{Extra: []string{"-device", "x,y=$HOME `id`", "~", "'"}}},
		{"module", testPlan, Options{ConfigVia: ViaModule}},
		{"background", testPlan, Options{ConfigVia: ViaModule, Background: true, LogFile: filepath.Join(logDir, "a b.log")}},
	} {
		os.Remove(record)
		cmd, err := Build(c.plan(), c.o)
		if err != nil {
			t.Fatal(err)
		}
		line := cmd.Shell()
		if strings.Contains(line, "\n") {
			t.Errorf("%s: shell command has a newline: %s", c.name, line)
		}
		out, err := exec.Command("sh", "-c", line).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: sh -c %s: %v\n%s", c.name, line, err, out)
		}
		got := readRecord(t, record)
		want := append([]string{}, cmd.Args...)
		for _, tmpf := range cmd.Temps {
			if tmpf.Name == "cfg" {
				// The record has the path, then initrd-path and initrd-content.
				path := got[tmpf.Arg]
				// QEMU splits -initrd at single commas and ends a path at
				// a space: the path must survive that.
				if p := strings.ReplaceAll(path, ",,", ""); strings.ContainsAny(p, ", ") {
					t.Errorf("%s: -initrd %q: QEMU would not read it as one file", c.name, path)
				}
				want[tmpf.Arg] = path
				want = append(want[:tmpf.Arg+1], append([]string{"initrd-path:" + path, "initrd-content:" + string(tmpf.Data)}, want[tmpf.Arg+1:]...)...)
			}
		}
		if cmd.Background {
			want[len(want)-1] = got[len(got)-1] // the pid file's name
			if string(out) != "qemu:4242\n" {
				t.Errorf("%s: output %q, want qemu:4242", c.name, out)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: QEMU received\n %q\nwant\n %q\nfrom %s", c.name, got, want, line)
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
			t.Errorf("%s: temporary files left: %v", c.name, left)
		}
	}
}

func TestShellLeavesUserFilesAlone(t *testing.T) {
	// A failing mktemp must not make the cleanup remove files that the
	// user's shell variables of the same names point to.
	dir := t.TempDir()
	victim := filepath.Join(dir, "keep")
	os.WriteFile(victim, nil, 0o644)
	bin := filepath.Join(dir, "bin")
	os.Mkdir(bin, 0o755)
	os.WriteFile(filepath.Join(bin, "mktemp"), []byte("#!/bin/sh\nexit 1\n"), 0o755)
	cmd, _ := Build(testPlan(), Options{ConfigVia: ViaModule, Background: true, LogFile: filepath.Join(dir, "x.log")})
	script := "cfg=" + victim + "; pid=" + victim + "; PATH=" + bin + ":$PATH; " + cmd.Shell()
	exec.Command("sh", "-c", script).Run()
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("user's file removed: %v", err)
	}
}

func TestCheckKernel(t *testing.T) {
	for _, c := range []struct {
		k    kernel.Kernel
		want string
	}{
		{kernel.Kernel{Platform: kernel.PlatformXen, Machine: 62, Bits: 64}, "this is a Xen PV kernel: use rump-launch-xen"},
		{kernel.Kernel{Platform: kernel.PlatformHW, Machine: 183, Bits: 64, Multiboot: &kernel.MultibootHeader{}}, "the kernel is for aarch64"},
		{kernel.Kernel{Machine: 3, Bits: 32}, "not a multiboot kernel"},
		{kernel.Kernel{Platform: kernel.PlatformHW, Machine: 62, Bits: 64, Multiboot: &kernel.MultibootHeader{Flags: 3}}, "lacks the a.out kludge"},
		{kernel.Kernel{Platform: kernel.PlatformHW, Machine: 62, Bits: 64, Multiboot: &kernel.MultibootHeader{Flags: 0x10003}}, ""},
		{kernel.Kernel{Platform: kernel.PlatformHW, Machine: 3, Bits: 32, Multiboot: &kernel.MultibootHeader{Flags: 3}}, ""},
	} {
		err := CheckKernel(&c.k)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%+v: %v, want %q", c.k, err, c.want)
		}
	}
}

func TestRunNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Run(&Command{Path: "qemu-system-x86_64"}, nil, nil)
	if !errors.Is(err, ErrNotFound) || err.Error() != "qemu-system-x86_64 not found: install qemu-system-x86" {
		t.Errorf("err %v", err)
	}
}
