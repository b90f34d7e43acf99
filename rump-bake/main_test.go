package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/bake"
	"github.com/rumptools/rumptools/pkg/bake/baketest"
	"github.com/rumptools/rumptools/pkg/kernel"
)

func runIn(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// binary builds rump-bake once for the tests that run it as a program.
func binary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "rump-bake")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestUsage(t *testing.T) {
	code, out, errOut := runIn("-h")
	if code != 0 || !strings.HasPrefix(out, "usage: rump-bake") || errOut != "" {
		t.Fatalf("-h: %d %q %q", code, out, errOut)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "rump-bake: no output file: give -o OUTPUT\n"},
		{[]string{"-o", "x"}, "rump-bake: no input objects\n"},
		{[]string{"-j", "k"}, "rump-bake: -j goes with -i\n"},
		{[]string{"-l"}, "rump-bake: which toolchain? give -T DIR or an input object\n"},
		{[]string{"-l", "-i", "k"}, "rump-bake: -l, -d, -i, --stamp and --kside-source exclude each other\n"}, {[]string{"--protocol", "initrd/1", "-i", "k"}, "rump-bake: --protocol goes with a bake or --stamp\n"},
		{[]string{"-i"}, "rump-bake: -i needs at least one kernel\n"},
		{[]string{"--bogus"}, "rump-bake: flag provided but not defined: -bogus\n"},
		{[]string{"-C", "hw_virtio", "hw_generic", "out", "in.o"}, "rump-bake: a config given twice"},
		{[]string{"--stamp", "{}"}, "rump-bake: --stamp takes the record and one kernel file\n"},
	} {
		code, out, errOut := runIn(c.args...)
		if code != 2 || out != "" || !strings.HasPrefix(errOut, c.want) || !strings.HasSuffix(errOut, "run 'rump-bake -h' for usage\n") {
			t.Errorf("%q: %d %q %q", c.args, code, out, errOut)
		}
	}
}

func TestBakeHintsQuietAndPositional(t *testing.T) {
	tc := baketest.Toolchain(t, "hw")
	dir := t.TempDir()
	a := baketest.ProgramIn(t, dir, tc, "alpha", 0)
	b := baketest.ProgramIn(t, dir, tc, "beta", 0)
	k1 := filepath.Join(dir, "k1.bin")
	code, out, errOut := runIn("-C", "hw_virtio", "-o", k1, a, b)
	if code != 0 || out != "" {
		t.Fatalf("bake: %d %q %q", code, out, errOut)
	}
	wantHints := "rump-bake: baked " + k1 + ": config hw_virtio (hw, x86_64), boot protocol rumprun, programs alpha beta\n" +
		"rump-bake: launch it with:\n" +
		"  rump-launch-qemu " + k1 + "      # QEMU/KVM\n" +
		"  rump-launch-xen " + k1 + "       # Xen HVM\n" +
		"  rump-mkiso -o k1.iso " + k1 + "      # ISO: bare metal, clouds\n"
	if errOut != wantHints {
		t.Errorf("hints:\n%s\nwant:\n%s", errOut, wantHints)
	}
	// rumprun-bake's positional form, quietly (options may follow the
	// operands): the same kernel.
	k2 := filepath.Join(dir, "k2.bin")
	if code, out, errOut := runIn("hw_virtio", k2, a, b, "-q"); code != 0 || out != "" || errOut != "" {
		t.Fatalf("positional: %d %q %q", code, out, errOut)
	}
	b1, _ := os.ReadFile(k1)
	b2, _ := os.ReadFile(k2)
	if !bytes.Equal(b1, b2) {
		t.Error("positional form baked a different kernel")
	}
	// -o - writes the kernel to standard output.
	if code, out, _ := runIn("-q", "-C", "hw_virtio", "-o", "-", a, b); code != 0 || out != string(b1) {
		t.Errorf("-o -: %d, %d bytes", code, len(out))
	}
	// A failing bake: exit 1, no output.
	k3 := filepath.Join(dir, "k3.bin")
	code, _, errOut = runIn("-C", "hw_virtio", "-m", "add -lrumpmissing", "-o", k3, a)
	if code != 1 || !strings.Contains(errOut, "cannot find -lrumpmissing") || !strings.Contains(errOut, "rump-bake: gcc failed") {
		t.Errorf("failing link: %d %q", code, errOut)
	}
	if _, err := os.Stat(k3); err == nil {
		t.Error("failing link left an output")
	}
	code, _, errOut = runIn("-C", "_virtio", "-o", k3, a)
	if code != 1 || !strings.HasPrefix(errOut, "rump-bake: config _virtio is private") {
		t.Errorf("private: %d %q", code, errOut)
	}
}

// TestDryRunScript pipes -n output into sh: the same kernel, byte for
// byte, and -n itself writes nothing.
func TestDryRunScript(t *testing.T) {
	tc := baketest.Toolchain(t, "hw")
	bin := binary(t)
	dir := t.TempDir()
	a := baketest.ProgramIn(t, dir, tc, "alpha", 0)
	b := baketest.ProgramIn(t, dir, tc, "beta", 0)
	for _, config := range []string{"hw_generic", "hw_virtio_scsi"} {
		real := filepath.Join(dir, config+".real")
		viaSh := filepath.Join(dir, config+".sh")
		if out, err := exec.Command(bin, "-q", "-C", config, "-o", real, a, b).CombinedOutput(); err != nil {
			t.Fatalf("bake: %v\n%s", err, out)
		}
		script, err := exec.Command(bin, "-n", "-C", config, "-o", viaSh, a, b).Output()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(viaSh); err == nil {
			t.Fatal("-n wrote the output")
		}
		for _, want := range []string{"--redefine-sym main=rumprun_main1 " + a, "main=rumprun_main2 " + b, " -no-pie ",
			"--sysroot=" + tc + "/rumprun-x86_64 ", "-specs=" + tc + "/rumprun-x86_64/lib/rumprun-hw/specs-bake", "-Wl,--whole-archive -lrumpvfs", "-Wl,--no-whole-archive\n",
			bin + " --stamp '{\"config\":\"" + config + "\""} {
			if !strings.Contains(string(script), want) {
				t.Errorf("script lacks %q:\n%s", want, script)
			}
		}
		sh := exec.Command("sh")
		sh.Stdin = bytes.NewReader(script)
		if out, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("sh: %v\n%s\nscript:\n%s", err, out, script)
		}
		r1, _ := os.ReadFile(real)
		r2, _ := os.ReadFile(viaSh)
		if len(r1) == 0 || !bytes.Equal(r1, r2) {
			t.Errorf("%s: -n | sh gave a different kernel (%d vs %d bytes)", config, len(r1), len(r2))
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".rump-bake") {
			t.Errorf("left behind %s", e.Name())
		}
	}

	// An output that starts with "-" is never read as options: in a
	// directory of that name and as a name of its own.
	if err := os.Mkdir(filepath.Join(dir, "-d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{"-d/k.bin", "-k.bin"} {
		script, err := exec.Command(bin, "-n", "-o", out, a).Output()
		if err != nil {
			t.Fatal(err)
		}
		sh := exec.Command("sh")
		sh.Dir = dir
		sh.Stdin = bytes.NewReader(script)
		if b, err := sh.CombinedOutput(); err != nil {
			t.Fatalf("%s: sh: %v\n%s\nscript:\n%s", out, err, b, script)
		}
		if fi, err := os.Stat(filepath.Join(dir, out)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", out, err)
		}
	}
}

func TestListAndDescribe(t *testing.T) {
	tc := baketest.Toolchain(t, "hw")
	want := `hw_generic      generic targets, includes (almost) all drivers (default)
hw_virtio       virtio targets (e.g. QEMU/KVM)
hw_virtio_scsi  virtio targets with SCSI (e.g. Google Compute Engine)
xen_pv          Xen with paravirtualized I/O drivers (no xen platform in this toolchain)
xen_pci         Xen with paravirtualized and PCI I/O drivers (no xen platform in this toolchain)
`
	for _, args := range [][]string{{"-T", tc, "-l"}, {"-T", tc, "list"}, {"-l", baketest.Program(t, tc, "x", 0)}} {
		if code, out, errOut := runIn(args...); code != 0 || out != want {
			t.Errorf("%q: %d %q\n%s", args, code, errOut, out)
		}
	}
	xen := baketest.Toolchain(t, "xen")
	if _, out, _ := runIn("-T", xen, "-l"); !strings.Contains(out, "xen_pv          Xen with paravirtualized I/O drivers (default)\n") ||
		!strings.Contains(out, "hw_virtio       virtio targets (e.g. QEMU/KVM) (no hw platform in this toolchain)\n") {
		t.Errorf("xen -l:\n%s", out)
	}
	code, out, _ := runIn("-T", tc, "-d", "hw_virtio_scsi", "-m", "remove -lrumpdev_scsipi")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || lines[0] != "hw_virtio_scsi: virtio targets with SCSI (e.g. Google Compute Engine)" ||
		lines[1] != "-lrumpvfs" || lines[len(lines)-1] != "-lrumpdev_virtio_vioscsi" {
		t.Errorf("-d: %d\n%s", code, out)
	}
	if _, out2, _ := runIn("-T", tc, "describe", "hw_virtio_scsi"); !strings.HasSuffix(out2, "-lrumpdev_virtio_vioscsi\n-lrumpdev_scsipi\n") {
		t.Errorf("describe:\n%s", out2)
	}
	if code, _, errOut := runIn("-T", tc, "-d", "nope"); code != 1 || !strings.Contains(errOut, `unknown config "nope"`) {
		t.Errorf("-d nope: %d %q", code, errOut)
	}
	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("version 20160209\nconf\n"), 0o644)
	if code, _, errOut := runIn("-T", tc, "-c", bad, "-l"); code != 1 || errOut != "rump-bake: "+bad+":2:1: conf takes one config name\n" {
		t.Errorf("-c bad: %d %q", code, errOut)
	}
}

// xenImage links a hand-made Xen PV image with as and ld.
func xenImage(t *testing.T, dir string) string {
	src := filepath.Join(dir, "xen.s")
	os.WriteFile(src, []byte(`
	.text
	.globl _start
_start:	hlt
	.section __xen_guest
	.asciz "GUEST_OS=rumprun,XEN_VER=xen-3.0,VIRT_BASE=0x0,ELF_PADDR_OFFSET=0x0,HYPERCALL_PAGE=0x2,LOADER=generic"
`), 0o644)
	obj, img := filepath.Join(dir, "xen.o"), filepath.Join(dir, "xen.img")
	for _, c := range [][]string{{"as", "--64", "-o", obj, src}, {"ld", "-m", "elf_x86_64", "-Ttext=0", "-e", "0", "-o", img, obj}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", c, err, out)
		}
	}
	return img
}

func TestIdentify(t *testing.T) {
	tc := baketest.Toolchain(t, "hw")
	dir := t.TempDir()
	a := baketest.ProgramIn(t, dir, tc, "alpha", 0)
	baked := filepath.Join(dir, "baked.bin")
	if code, _, errOut := runIn("-q", "-o", baked, a); code != 0 {
		t.Fatal(errOut)
	}
	// A kernel as the old rumprun-bake makes it: the same link, no stamp.
	plan, err := bake.NewPlan(bake.Options{Inputs: []string{a}, Output: filepath.Join(dir, "unused")})
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	for _, c := range plan.Commands {
		argv := c.Argv(tmp)
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	old := filepath.Join(tmp, "kernel")
	stripped := filepath.Join(dir, "stripped.bin")
	if out, err := exec.Command("strip", "-o", stripped, baked).CombinedOutput(); err != nil {
		t.Fatalf("strip: %v\n%s", err, out)
	}
	xen := xenImage(t, dir)
	p64 := probe.Kernel(t, probe.Flavor{Bits: 64, Initrd: true})
	p32 := probe.Kernel(t, probe.Flavor{Bits: 32})

	code, out, errOut := runIn("-i", baked, old, stripped, xen, p64, p32)
	if code != 0 || errOut != "" {
		t.Fatalf("-i: %d %q", code, errOut)
	}
	for _, want := range []string{
		baked + ": hw kernel (multiboot), ELF64 x86_64, entry 0x",
		"  multiboot: header at offset 0x1000, flags 0x10003 (a.out kludge: load 0x100000-",
		"  baked by rump-bake " + bake.Version + ": config hw_generic (platform hw, arch x86_64)\n  programs: alpha\n  components (",
		"  toolchain: x86_64-rumprun-netbsd, tooldir " + tc + ", backing cc gcc, cflags \"-m32\"\n",
		"  boot protocols: none declared (rumprun: config on the command line or as the first module)\n  stripped: no\n  runs on: QEMU/KVM, Xen HVM, bare metal and boot media (ISO)\n",
		old + ": hw kernel (multiboot), ELF64 x86_64",
		"  baked by rumprun-bake or another tool without a bake record: config and programs unknown\n",
		stripped + ": hw kernel (multiboot)",
		"  stripped: yes\n",
		xen + ": Xen PV kernel, ELF64 x86_64, entry 0x0\n  __xen_guest: GUEST_OS=rumprun,XEN_VER=xen-3.0,",
		"  no bake record and no rumprun toolchain strings: not baked by a rumprun toolchain\n",
		"  runs on: Xen PV (xl, EC2 PV)\n",
		p64 + ": hw kernel (multiboot), ELF64 x86_64",
		"  boot protocols: initrd/1\n",
		p32 + ": hw kernel (multiboot), ELF32 i386, entry 0x",
		"  multiboot: header at offset 0x1000, flags 0x3\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-i output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
	// The stripped kernel keeps its record.
	if !strings.Contains(out[strings.Index(out, stripped+":"):], "baked by rump-bake") {
		t.Error("stripped kernel lost its bake record")
	}

	code, out, _ = runIn("-i", "-j", baked, xen)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 2 {
		t.Fatalf("-i -j: %d\n%s", code, out)
	}
	var m struct {
		File     string             `json:"file"`
		Platform string             `json:"platform"`
		Bake     *kernel.BakeRecord `json:"bake"`
		XenGuest map[string]string  `json:"xen_guest"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil || m.File != baked || m.Platform != "hw" || m.Bake == nil || m.Bake.Programs[0] != "alpha" {
		t.Errorf("-j baked: %v %s", err, lines[0])
	}
	if !strings.HasPrefix(lines[0], `{"file":`) {
		t.Errorf("-j: file is not first: %s", lines[0])
	}
	m.Bake = nil
	if err := json.Unmarshal([]byte(lines[1]), &m); err != nil || m.Platform != "xen" || m.Bake != nil || m.XenGuest["LOADER"] != "generic" {
		t.Errorf("-j xen: %v %s", err, lines[1])
	}

	notKernel := filepath.Join(dir, "text")
	os.WriteFile(notKernel, []byte("hello"), 0o644)
	code, out, errOut = runIn("-i", notKernel, xen)
	if code != 1 || !strings.Contains(out, xen+": Xen PV kernel") ||
		errOut != "rump-bake: "+notKernel+": not an ELF file\nrump-bake: 1 of 2 files could not be identified\n" {
		t.Errorf("-i junk: %d %q", code, errOut)
	}
}

func TestStampMode(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "k")
	orig, _ := os.ReadFile(probe.Kernel(t, probe.Flavor{Bits: 64}))
	os.WriteFile(k, orig, 0o755)
	if code, _, errOut := runIn("--stamp", `{"config":"hw_x","programs":["p"]}`, k); code != 0 {
		t.Fatal(errOut)
	}
	kk, err := kernel.Open(k)
	if err != nil || kk.Bake == nil || kk.Bake.Config != "hw_x" {
		t.Fatalf("%v %+v", err, kk)
	}
	if fi, _ := os.Stat(k); fi.Mode().Perm() != 0o755 {
		t.Errorf("mode %v", fi.Mode())
	}
	for rec, want := range map[string]string{
		`{"config":"a","colour":1}`: `--stamp: bad bake record: json: unknown field "colour"`,
		`{} {}`:                     "--stamp: bad bake record: text after the JSON object",
		`{"config":"b"}`:            "kernel already carries a bake record",
	} {
		if code, _, errOut := runIn("--stamp", rec, k); code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("%s: %d %q", rec, code, errOut)
		}
	}
}
