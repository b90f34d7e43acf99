package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/initrd"
)

// The end-to-end tests run the launcher binary, built once, against the
// probe kernels; QEMU runs under TCG (--accel tcg).

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rump-launch-qemu-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "rump-launch-qemu")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := realkernel.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	old64    = probe.Flavor{Bits: 64}
	old32    = probe.Flavor{Bits: 32}
	initrd64 = probe.Flavor{Bits: 64, Initrd: true}
	initrd32 = probe.Flavor{Bits: 32, Initrd: true}
)

// boot runs the launcher under TCG and returns what the probe received.
func boot(t *testing.T, args ...string) *probe.Result {
	t.Helper()
	return probe.Run(t, bin, append([]string{"--accel", "tcg"}, args...)...)
}

// runCLI runs the launcher without expecting a boot.
func runCLI(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code = 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return o.String(), e.String(), code
}

func base(path string) string { return filepath.Base(path) }

// writeInitrd writes a newc initrd (gzip-compressed when gz) holding
// json.cfg and etc/motd, in that order.
func writeInitrd(t *testing.T, cfg string, gz bool) string {
	t.Helper()
	var b bytes.Buffer
	w := initrd.NewWriter(&b)
	for _, f := range []struct{ name, data string }{{"json.cfg", cfg}, {"etc/motd", "hi\n"}} {
		if err := w.WriteHeader(&initrd.Header{Name: f.name, Mode: initrd.TypeReg | 0o644, Size: int64(len(f.data))}); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.data))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	name := "app.initrd"
	if gz {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(data)
		zw.Close()
		data, name = z.Bytes(), "app.initrd.gz"
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkExit(t *testing.T, r *probe.Result, want int) {
	t.Helper()
	if r.ExitStatus != want || r.ProcessExit != want || !r.Halted {
		t.Errorf("guest exit %d, launcher exit %d, halted %v: want %d (stderr %s)", r.ExitStatus, r.ProcessExit, r.Halted, want, r.Stderr)
	}
}

// Today's kernels: the wire form on the command line (QEMU puts the
// kernel's path and a space first), or as the first module.
func TestDeliveryRumprun(t *testing.T) {
	for _, f := range []probe.Flavor{old32, old64} {
		k := probe.Kernel(t, f)
		wire := `{"rc":[{"bin":"` + base(k) + `","argv":["probe-exit=3","two words"]}]}`

		r := boot(t, k, "--", "probe-exit=3", "two words")
		if r.Cmdline != k+" "+wire || len(r.Modules) != 0 {
			t.Errorf("%v cmdline: got %q, %d modules\nwant %q", f, r.Cmdline, len(r.Modules), k+" "+wire)
		}
		checkExit(t, r, 3)

		r = boot(t, "--config-via", "module", k, "--", "probe-exit=3", "two words")
		if len(r.Modules) != 1 || string(r.Modules[0].JSON) != wire || r.Modules[0].Size != len(wire) || r.Args() != "" {
			t.Errorf("%v module: modules %+v, args %q; want one holding %s", f, r.Modules, r.Args(), wire)
		}
		checkExit(t, r, 3)
	}
}

// A config that fits the limit but not with the kernel path in front goes
// as a module by itself.
func TestDeliveryModuleWhenCommandLineTooLong(t *testing.T) {
	k := probe.Kernel(t, old64)
	pad := strings.Repeat("x", 4095-len(`{"rc":[{"bin":"probe64.elf","argv":["probe-exit=6",""]}]}`))
	r := boot(t, k, "--", "probe-exit=6", pad)
	if len(r.Modules) != 1 || len(r.Modules[0].JSON) != 4095 || r.Args() != "" {
		t.Errorf("modules %d, args %d bytes: want the 4095-byte config as a module", len(r.Modules), len(r.Args()))
	}
	checkExit(t, r, 6)
}

// initrd/1 kernels: the initrd is the first module; the config goes on the
// command line (canonical, one line) only when it differs from /json.cfg.
func TestDeliveryInitrd(t *testing.T) {
	cfg := `{"rc": [{"bin": "probe", "argv": ["probe-exit=4"]}]}` + "\n"
	for _, f := range []probe.Flavor{initrd32, initrd64} {
		k := probe.Kernel(t, f)
		rd := writeInitrd(t, cfg, false)
		r := boot(t, k, rd)
		want := []probe.CpioEntry{{Mode: 0o100644, Size: int64(len(cfg)), Name: "json.cfg"}, {Mode: 0o100644, Size: 3, Name: "etc/motd"}}
		if len(r.Modules) != 1 || r.Modules[0].String != rd || !reflect.DeepEqual(r.Modules[0].Cpio, want) || string(r.Modules[0].JSONCfg) != cfg {
			t.Errorf("%v: modules %+v\nwant the initrd with %+v", f, r.Modules, want)
		}
		if r.Args() != "rumpboot.exit=0xf4" {
			t.Errorf("%v: command line %q, want only the exit word (the initrd's config applies)", f, r.Args())
		}
		checkExit(t, r, 4)

		// A patch sends the whole effective config, built on the initrd's.
		gz := writeInitrd(t, cfg, true)
		r = boot(t, "-e", "GREETING=a b,c", "-N", "web", k, gz)
		over := `rumpboot.exit=0xf4 rumpboot=initrd/1 {"hostname":"web","rc":[{"bin":"probe","argv":["probe-exit=4"]}],"env":{"GREETING":"a b,c"}}`
		if r.Args() != over || len(r.Modules) != 1 || !r.Modules[0].Gzip || len(r.Modules[0].Cpio) != 2 {
			t.Errorf("%v override: command line %q\nwant %q; modules %+v", f, r.Args(), over, r.Modules)
		}
		checkExit(t, r, 4)
	}
	// Without an initrd the config goes on the command line.
	k := probe.Kernel(t, initrd64)
	r := boot(t, k, "--", "probe-exit=8")
	if want := `rumpboot.exit=0xf4 rumpboot=initrd/1 {"rc":[{"bin":"probe64-initrd.elf","argv":["probe-exit=8"]}]}`; r.Args() != want || len(r.Modules) != 0 {
		t.Errorf("no initrd: command line %q, want %q", r.Args(), want)
	}
	checkExit(t, r, 8)
}

// Devices: two vioif and one wm NIC, two disks, options in no particular
// order; the PCI slots and the config's defaults do not depend on it.
func TestDevices(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "data.img")
	iso := filepath.Join(dir, "cd.iso")
	os.WriteFile(img, make([]byte, 1<<20), 0o644)
	isoData := make([]byte, 0x9000)
	copy(isoData[0x8000:], "\x01CD001")
	os.WriteFile(iso, isoData, 0o644)

	for _, f := range []probe.Flavor{old64, initrd32} {
		k := probe.Kernel(t, f)
		r := boot(t, "-I", "wm0", "-b", img+",/data", "-I", "vioif1=user,hostfwd=tcp::0-:80", "-b", iso, "-I", "vioif0=user", k)
		var got []string
		for _, p := range r.PCI {
			if p.Slot >= 4 {
				got = append(got, fmt.Sprintf("%02x:%02x.%d %04x:%04x", p.Bus, p.Slot, p.Func, p.Vendor, p.Device))
			}
		}
		want := []string{
			"00:04.0 1af4:1000", // vioif0 virtio-net
			"00:05.0 1af4:1000", // vioif1
			"00:0c.0 8086:100e", // wm0 e1000
			"00:10.0 1af4:1001", // ld0 virtio-blk: data.img
			"00:11.0 1af4:1001", // ld1: cd.iso
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: PCI %q\nwant %q", f, got, want)
		}
		var c struct {
			Net []struct{ If, Method string }
			Blk []struct{ Path, Mountpoint string }
		}
		text := r.Args()
		if !f.Initrd {
			// The wire form repeats keys: read it as a stream of values.
			text = wireAsCanonical(t, text)
		} else {
			text = fromBrace(t, text)
		}
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			t.Fatalf("%v: config %q: %v", f, r.Args(), err)
		}
		// An initrd/1 kernel runs DHCP on every NIC itself: no net.
		wantNet := "[{vioif0 dhcp} {vioif1 dhcp} {wm0 dhcp}]"
		if f.Initrd {
			wantNet = "[]"
		}
		if fmt.Sprint(c.Net) != wantNet || fmt.Sprint(c.Blk) != "[{/dev/ld0a /data} {/dev/ld1a /mnt/ld1a}]" {
			t.Errorf("%v: net %v blk %v", f, c.Net, c.Blk)
		}
		checkExit(t, r, 0)
	}
}

// wireAsCanonical rewrites the repeated "net"/"blk" keys of a wire form
// into arrays, enough for TestDevices to read it.
func wireAsCanonical(t *testing.T, w string) string {
	dec := json.NewDecoder(strings.NewReader(w))
	out := map[string][]json.RawMessage{}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("wire form %q", w)
	}
	for dec.More() {
		key, _ := dec.Token()
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("wire form %q: %v", w, err)
		}
		out[key.(string)] = append(out[key.(string)], v)
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// The words after -- reach the program exactly.
func TestArgvIntact(t *testing.T) {
	words := []string{"two words", "it's", "grüß 😀", "a,b", "{x}", "", "probe-exit=5"}
	for _, f := range []probe.Flavor{old64, initrd64} {
		args := append([]string{}, words...)
		if f.Initrd {
			// Real JSON: quotes, backslashes and tabs too.
			args = append(args, `say "hi"`, `back\slash`, "tab\there")
		}
		k := probe.Kernel(t, f)
		r := boot(t, append([]string{k, "--"}, args...)...)
		var c struct {
			RC []struct {
				Bin  string
				Argv []string
			}
		}
		text := r.Args()
		if f.Initrd {
			text = fromBrace(t, text)
		}
		if err := json.Unmarshal([]byte(text), &c); err != nil {
			t.Fatalf("%v: config %q: %v", f, r.Args(), err)
		}
		if len(c.RC) != 1 || c.RC[0].Bin != base(k) || !reflect.DeepEqual(c.RC[0].Argv, args) {
			t.Errorf("%v: rc %+v\nwant argv %q", f, c.RC, args)
		}
		checkExit(t, r, 5)
	}
}

func TestExitStatus(t *testing.T) {
	k := probe.Kernel(t, old32)
	for _, n := range []int{0, 1, 77, 255} {
		r := boot(t, k, "--", fmt.Sprintf("probe-exit=%d", n))
		checkExit(t, r, n)
	}
	// Like real rumprun kernels, a guest that idles after "halted" (the
	// probe finds no isa-debug-exit at port 0xf4): the launcher stops QEMU
	// and still reports the status.
	r := boot(t, "-g", "-global isa-debug-exit.iobase=0x501", k, "--", "probe-exit=42")
	checkExit(t, r, 42)
	if r.Killed {
		t.Error("the launcher did not stop QEMU after halted")
	}
}

func TestBootstrapFailure(t *testing.T) {
	for _, f := range []probe.Flavor{old64, initrd32} {
		r := boot(t, probe.Kernel(t, f), "--", "probe-bootstrap-fail")
		if !r.BootstrapFailed || r.ProcessExit != 1 || string(r.Stderr) != "rump-launch-qemu: === bootstrap failed\n" || r.Killed {
			t.Errorf("%v: bootstrap failed %v, exit %d, stderr %q, killed %v", f, r.BootstrapFailed, r.ProcessExit, r.Stderr, r.Killed)
		}
	}
}

// -n prints one command; sh runs it and the same guest boots, with a
// TMPDIR that QEMU's -initrd could not take as a path (a comma, a space).
func TestDryRunThroughSh(t *testing.T) {
	tmp := filepath.Join(t.TempDir(), "t,1 2")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "d,1.img")
	os.WriteFile(img, make([]byte, 1<<20), 0o644)
	rd := writeInitrd(t, `{"rc": [{"bin": "probe", "argv": []}]}`, false)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"cmdline", []string{"-I", "wm0", "-I", "vioif0=user,hostfwd=tcp::0-:22", "-b", img + ",/data", "-e", "A=$HOME `x`", probe.Kernel(t, old64), "--", "it's", "a b", "ü", "probe-exit=2"}},
		{"module", []string{"-i", "--config-via", "module", "-N", "web", probe.Kernel(t, old32), "--", "x;y", "probe-exit=3"}},
		{"initrd", []string{"-e", "Q='\"'", probe.Kernel(t, initrd64), rd, "--", `"q"`, "probe-exit=4"}},
	} {
		stdout, stderr, code := runCLI(t, nil, append([]string{"-n", "--accel", "tcg"}, c.args...)...)
		if code != 0 || stderr != "" || strings.Count(stdout, "\n") != 1 || !strings.HasSuffix(stdout, "\n") {
			t.Fatalf("%s: -n gave exit %d, stderr %q, stdout %q: want one line", c.name, code, stderr, stdout)
		}
		viaSh := probe.Run(t, "sh", "-c", "TMPDIR='"+tmp+"'; export TMPDIR; "+stdout)
		direct := boot(t, c.args...)
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("%s: the printed command left %s in TMPDIR", c.name, left[0].Name())
		}
		if msg := sameGuest(direct, viaSh); msg != "" {
			t.Errorf("%s: %s\n-n: %s", c.name, msg, stdout)
		}
		if !viaSh.Halted || viaSh.ExitStatus != direct.ExitStatus || direct.ProcessExit != direct.ExitStatus {
			t.Errorf("%s: exit %d via sh, %d direct (launcher %d)", c.name, viaSh.ExitStatus, direct.ExitStatus, direct.ProcessExit)
		}
	}
}

func sameGuest(a, b *probe.Result) string {
	if a.Cmdline != b.Cmdline {
		return fmt.Sprintf("command line %q vs %q", a.Cmdline, b.Cmdline)
	}
	if len(a.Modules) != len(b.Modules) {
		return fmt.Sprintf("%d modules vs %d", len(a.Modules), len(b.Modules))
	}
	for i := range a.Modules {
		ma, mb := a.Modules[i], b.Modules[i]
		if !reflect.DeepEqual(ma, mb) {
			return fmt.Sprintf("module %d: %+v vs %+v", i, ma, mb)
		}
	}
	if !reflect.DeepEqual(a.PCI, b.PCI) {
		return fmt.Sprintf("PCI %v vs %v", a.PCI, b.PCI)
	}
	if !reflect.DeepEqual(a.Markers, b.Markers) {
		return fmt.Sprintf("markers %q vs %q", a.Markers, b.Markers)
	}
	return ""
}

func TestBackground(t *testing.T) {
	k := probe.Kernel(t, old64)
	dir := t.TempDir()
	log := filepath.Join(dir, "console.log")
	script := `out=$("$BIN" -d --accel tcg --log "$LOG" "$K" -- probe-exit=2) || exit 1
echo "$out" >&2
pid=${out#qemu:}
while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
cat "$LOG"`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "BIN="+bin, "LOG="+log, "K="+k)
	cmd.Dir = dir
	r := probe.RunCmd(t, cmd, 0)
	if !strings.HasPrefix(string(r.Stderr), "qemu:") || strings.Count(string(r.Stderr), "\n") != 1 {
		t.Errorf("stdout of -d: %q, want qemu:PID", r.Stderr)
	}
	if r.ExitStatus != 2 || !r.Halted || r.Args() != `{"rc":[{"bin":"probe64.elf","argv":["probe-exit=2"]}]}` {
		t.Errorf("console log: exit %d, halted %v, config %q", r.ExitStatus, r.Halted, r.Args())
	}
	// The default log is NAME.log in the current directory.
	stdout, _, _ := runCLI(t, nil, "-n", "-d", "--accel", "tcg", "-N", "web", k)
	if !strings.Contains(stdout, "exec 3>>web.log && ") || !strings.Contains(stdout, " -add-fd fd=3,set=3 -chardev file,id=console0,path=/dev/fdset/3 ") {
		t.Errorf("-n -d: %s", stdout)
	}
}

// A signal stops the guest: QEMU ends, the launcher exits 128+N.
func TestSignalStopsGuest(t *testing.T) {
	if _, err := exec.LookPath("pgrep"); err != nil {
		t.Skip("pgrep not installed (Debian package procps)")
	}
	k := probe.Kernel(t, old64)
	name := fmt.Sprintf("sigtest%d", os.Getpid())
	// -p: the guest never runs, so only the signal can end it. The config
	// goes in a temporary file, which must be gone afterwards.
	tmp := t.TempDir()
	script := `"$BIN" --accel tcg -p --config-via module --name "$NAME" "$K" & pid=$!
until pgrep -f "^qemu-system.* -name $NAME " >/dev/null; do sleep 0.1; done
kill -TERM $pid
wait $pid
echo "exit=$?" >&2
pgrep -f "^qemu-system.* -name $NAME " >&2 && echo "QEMU left running" >&2
true`
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), "BIN="+bin, "NAME="+name, "K="+k, "TMPDIR="+tmp)
	r := probe.RunCmd(t, cmd, 0)
	if string(r.Stderr) != "exit=143\n" {
		t.Errorf("stderr %q, want exit=143 and no QEMU left", r.Stderr)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func xenKernel(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed (Debian package gcc)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "xen.c")
	os.WriteFile(src, []byte(`__attribute__((section("__xen_guest"))) const char xen_guest[] =
	"GUEST_OS=rumprun,XEN_VER=xen-3.0,VIRT_BASE=0x0,ELF_PADDR_OFFSET=0x0,HYPERCALL_PAGE=0x2,LOADER=generic";
void _start(void) {}
`), 0o644)
	out := filepath.Join(dir, "app-xen.bin")
	if b, err := exec.Command("gcc", "-ffreestanding", "-nostdlib", "-static", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func TestRefusals(t *testing.T) {
	old, k32, withInitrd := probe.Kernel(t, old64), probe.Kernel(t, old32), probe.Kernel(t, initrd64)
	rd := writeInitrd(t, "{}", false)
	dir := t.TempDir()
	xenCfg := filepath.Join(dir, "xen.json")
	os.WriteFile(xenCfg, []byte("{\n  \"net\": [{\"if\": \"xenif0\", \"cloner\": true, \"type\": \"inet\", \"method\": \"dhcp\"}]\n}\n"), 0o644)
	noQEMU := []string{"PATH=" + dir}
	big := "BIG=" + strings.Repeat("x", 5000)
	for _, c := range []struct {
		name string
		env  []string
		args []string
		code int
		msg  string // the whole of stderr; "..." stands for any text
	}{
		{"initrd for an old kernel", nil, []string{old, rd}, 1,
			"rump-launch-qemu: " + old + " cannot read an initrd: it does not declare the initrd/1 boot protocol (rump-bake's kernels do, unless baked with --protocol rumprun). Put the files on a disk image and attach it with -b IMAGE[,MOUNTPOINT] (the config mounts it), or bake them into the kernel\n"},
		{"xenif0 with -I", nil, []string{"-I", "xenif0=bridge:br0", old}, 1,
			"rump-launch-qemu: -I xenif0=bridge:br0: interface \"xenif0\" does not exist on QEMU: use vioif0 (virtio-net) or wm0 (e1000)\n"},
		{"xenif0 in the config", nil, []string{"-c", xenCfg, old}, 1,
			xenCfg + ":2:18: /net/0/if: interface \"xenif0\" does not exist on QEMU: use vioif0 (virtio-net) or wm0 (e1000)\n"},
		{"config over 4095 bytes", nil, []string{"-e", big, old}, 1,
			"rump-launch-qemu: the config is 5053 bytes in wire form, over the 4095-byte limit of rumprun hw kernels (command line or first module): shorten it, or put files on a disk image (-b)\n"},
		{"override over 4095 bytes", nil, []string{"-e", big, withInitrd, rd}, 1,
			"rump-launch-qemu: the config is 5064 bytes in canonical form; with the kernel path and a space that QEMU puts in front, the multiboot command line would be ... bytes, over the 4095-byte limit of rumprun hw kernels: move what you can into the initrd's /json.cfg\n"},
		{"qemu missing", noQEMU, []string{old}, 1, "rump-launch-qemu: qemu-system-x86_64 not found: install qemu-system-x86\n"},
		{"qemu-system-i386 missing", noQEMU, []string{k32}, 1, "rump-launch-qemu: qemu-system-i386 not found: install qemu-system-x86\n"},
		{"shell operator in -g", nil, []string{"-g", "-smp 2; reboot", old}, 1,
			"rump-launch-qemu: -g \"-smp 2; reboot\": shell operator \";\" at character 7: QEMU arguments are not run by a shell (quote it if QEMU should see it)\n"},
		{"xen kernel", nil, []string{xenKernel(t)}, 1, "rump-launch-qemu: this is a Xen PV kernel: use rump-launch-xen\n"},
		{"quote for an old kernel", nil, []string{old, "--", `say "hi"`}, 1,
			"rump-launch-qemu: the arguments after --: \"argv\" entry 0 contains '\"', which rumprun kernels would receive as a JSON escape, not the character: not representable in the wire form\n"},
		{"kernel missing", nil, []string{filepath.Join(dir, "nope.bin")}, 1, "rump-launch-qemu: stat " + filepath.Join(dir, "nope.bin") + ": no such file or directory\n"},
		{"no kernel", nil, []string{"-n"}, 2, "rump-launch-qemu: no kernel given\nrun 'rump-launch-qemu -h' for usage\n"},
		{"unknown option", nil, []string{"-x", old}, 2, "rump-launch-qemu: flag provided but not defined: -x\nrun 'rump-launch-qemu -h' for usage\n"},
		{"too many arguments", nil, []string{old, rd, "extra"}, 2, "rump-launch-qemu: unexpected argument \"extra\": program arguments go after --\n..."},
		{"bad -M", nil, []string{"-M", "lots", old}, 2, "rump-launch-qemu: invalid value \"lots\" for flag -M: parse error\n..."},
		{"-i with -d", nil, []string{"-i", "-d", old}, 2, "rump-launch-qemu: -i and -d exclude each other: ...\nrun 'rump-launch-qemu -h' for usage\n"},
		{"--log without -d", nil, []string{"--log", "x", old}, 2, "rump-launch-qemu: --log is for -d ..."},
		{"kvm only without kvm", nil, []string{"--accel", "kvm", old}, 1, "rump-launch-qemu: --accel kvm: KVM is not usable here (open /dev/kvm: ..."},
	} {
		if c.name == "kvm only without kvm" {
			if _, err := os.Stat("/dev/kvm"); err == nil {
				continue
			}
		}
		args := c.args
		if c.code != 2 && !strings.Contains(c.name, "kvm") {
			args = append([]string{"--accel", "tcg"}, args...)
		}
		stdout, stderr, code := runCLI(t, c.env, args...)
		ok := matchPattern(stderr, c.msg)
		if code != c.code || stdout != "" || !ok {
			t.Errorf("%s: exit %d, stdout %q, stderr\n %q\nwant exit %d, stderr\n %q", c.name, code, stdout, stderr, c.code, c.msg)
		}
	}
}

// matchPattern reports whether s is pattern, where "..." stands for any text.
func matchPattern(s, pattern string) bool {
	parts := strings.Split(pattern, "...")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("(?s)^" + strings.Join(parts, ".*") + "$").MatchString(s)
}

func TestHelp(t *testing.T) {
	stdout, stderr, code := runCLI(t, nil, "-h")
	if code != 0 || stderr != "" || !strings.HasPrefix(stdout, "usage: rump-launch-qemu ") {
		t.Errorf("-h: exit %d, stderr %q, stdout %q", code, stderr, stdout)
	}
}

// fromBrace returns an initrd/1 command line from the config's first '{',
// after checking the kernel side's words before it.
func fromBrace(t *testing.T, cmdline string) string {
	t.Helper()
	words, cfg, ok := strings.Cut(cmdline, "{")
	if !ok || words != "rumpboot.exit=0xf4 rumpboot=initrd/1 " {
		t.Fatalf("command line %q: want the words rumpboot.exit=0xf4 rumpboot=initrd/1 before the config", cmdline)
	}
	return "{" + cfg
}
