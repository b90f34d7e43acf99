package launch

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/initrd"
	"github.com/rumptools/rumptools/pkg/kernel"
)

// testTarget mirrors QEMU's devices without importing the renderer.
var testTarget = &Target{
	Config: config.QEMU,
	NICs: []NICModel{
		{Driver: "vioif", Device: "virtio-net", Max: 8},
		{Driver: "wm", Device: "e1000", Max: 4},
	},
	Disks: DiskModel{Device: "virtio-blk", Max: 8, Blk: func(unit int) config.Blk {
		return config.Blk{Source: "dev", Path: fmt.Sprintf("/dev/ld%da", unit)}
	}},
}

func rumprunKernel(t *testing.T) string { return probe.Kernel(t, probe.Flavor{Bits: 64}) }
func initrdKernel(t *testing.T) string {
	return probe.Kernel(t, probe.Flavor{Bits: 64, Initrd: true})
}

// stamped returns a copy of src carrying a bake record with programs.
func stamped(t *testing.T, src string, programs ...string) string {
	t.Helper()
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	var out bytes.Buffer
	rec := &kernel.BakeRecord{Config: "hw_generic", Platform: "hw", Arch: "x86_64", Programs: programs}
	if err := kernel.Stamp(&out, f, fi.Size(), rec); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "app.bin")
	if err := os.WriteFile(p, out.Bytes(), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// makeInitrd writes a newc initrd holding the given files.
func makeInitrd(t *testing.T, files map[string]string) string {
	t.Helper()
	var b bytes.Buffer
	w := initrd.NewWriter(&b)
	names := []string{}
	for n := range files {
		names = append(names, n)
	}
	for _, n := range names {
		if err := w.WriteHeader(&initrd.Header{Name: n, Mode: initrd.TypeReg | 0o644, Size: int64(len(files[n]))}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "app.initrd")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustNew(t *testing.T, o Options) *Plan {
	t.Helper()
	p, _, err := New(o, testTarget)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func wire(t *testing.T, p *Plan) string {
	t.Helper()
	b, err := p.ConfigText()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestArgv(t *testing.T) {
	k := rumprunKernel(t)
	// No arguments, no config: the kernel's file name runs without arguments.
	p := mustNew(t, Options{Kernel: k})
	if got, want := wire(t, p), `{"rc":[{"bin":"probe64.elf","argv":[]}]}`; got != want {
		t.Errorf("default argv: %s, want %s", got, want)
	}
	// Arguments become rc argv word for word.
	args := []string{"two words", "it's", "grüß", ""}
	p = mustNew(t, Options{Kernel: k, Args: args})
	if !reflect.DeepEqual(p.Config.RC, []config.RC{{Bin: "probe64.elf", Argv: args}}) {
		t.Errorf("rc = %+v", p.Config.RC)
	}
	// They replace a config's cmdline.
	cfg := writeFile(t, "c.json", `{"cmdline": "prog -v"}`)
	p = mustNew(t, Options{Kernel: k, ConfigFile: cfg, Args: []string{"-q"}})
	if p.Config.Cmdline != "" || len(p.Config.RC) != 1 || p.Config.RC[0].Argv[0] != "-q" {
		t.Errorf("args over cmdline: %+v", p.Config)
	}
	// A config with argv keeps it when no arguments are given.
	p = mustNew(t, Options{Kernel: k, ConfigFile: cfg})
	if p.Config.Cmdline != "prog -v" || p.Config.RC != nil {
		t.Errorf("config argv lost: %+v", p.Config)
	}
	// A config's single rc entry keeps its bin.
	cfg = writeFile(t, "rc.json", `{"rc": [{"bin": "httpd", "argv": ["-f"]}]}`)
	p = mustNew(t, Options{Kernel: k, ConfigFile: cfg, Args: []string{"-d"}})
	if !reflect.DeepEqual(p.Config.RC, []config.RC{{Bin: "httpd", Argv: []string{"-d"}}}) {
		t.Errorf("rc = %+v", p.Config.RC)
	}
}

func TestArgvFromBakeRecord(t *testing.T) {
	one := stamped(t, rumprunKernel(t), "hello")
	if got, want := wire(t, mustNew(t, Options{Kernel: one})), `{"rc":[{"bin":"hello","argv":[]}]}`; got != want {
		t.Errorf("one program: %s, want %s", got, want)
	}
	if got, want := wire(t, mustNew(t, Options{Kernel: one, Args: []string{"x"}})), `{"rc":[{"bin":"hello","argv":["x"]}]}`; got != want {
		t.Errorf("one program with args: %s, want %s", got, want)
	}
	two := stamped(t, rumprunKernel(t), "a", "b")
	if got, want := wire(t, mustNew(t, Options{Kernel: two})), `{"rc":[{"bin":"a","argv":[]},{"bin":"b","argv":[]}]}`; got != want {
		t.Errorf("two programs: %s, want %s", got, want)
	}
	_, _, err := New(Options{Kernel: two, Args: []string{"x"}}, testTarget)
	if err == nil || !strings.Contains(err.Error(), `the kernel has 2 programs (a, b)`) {
		t.Errorf("args for two programs: %v", err)
	}
}

func TestPatches(t *testing.T) {
	k := rumprunKernel(t)
	cfg := writeFile(t, "c.json", `{"hostname": "old", "env": {"A": "1", "B": "2"}}`)
	p := mustNew(t, Options{Kernel: k, ConfigFile: cfg, Env: []string{"B=3", "C=x=y"}, Hostname: "web"})
	want := []config.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "3"}, {Name: "C", Value: "x=y"}}
	if !reflect.DeepEqual(p.Config.Env, want) || p.Config.Hostname != "web" {
		t.Errorf("env %+v hostname %q", p.Config.Env, p.Config.Hostname)
	}
	if p.Name != "web" {
		t.Errorf("name %q: want the hostname", p.Name)
	}
	if p := mustNew(t, Options{Kernel: k}); p.Name != "probe64" || p.MemoryMiB != DefaultMemoryMiB {
		t.Errorf("name %q memory %d: want the kernel's file name and the default", p.Name, p.MemoryMiB)
	}
	if p := mustNew(t, Options{Kernel: k, Name: "x", Hostname: "h", MemoryMiB: 256}); p.Name != "x" || p.MemoryMiB != 256 {
		t.Errorf("name %q memory %d", p.Name, p.MemoryMiB)
	}
	for _, e := range []string{"NOVALUE", "=x"} {
		if _, _, err := New(Options{Kernel: k, Env: []string{e}}, testTarget); err == nil || !strings.Contains(err.Error(), "want NAME=VALUE") {
			t.Errorf("-e %s: %v", e, err)
		}
	}
	// An invalid hostname from -N is caught by the config checks.
	if _, _, err := New(Options{Kernel: k, Hostname: "bad_host!"}, testTarget); err == nil {
		t.Error("-N bad_host!: no error")
	}
}

func TestInterfaces(t *testing.T) {
	k := rumprunKernel(t)
	p := mustNew(t, Options{Kernel: k, Interfaces: []string{"wm0=bridge:br0", "vioif1=tap:tap0", "vioif2=user,mac=52:54:00:00:00:02"}})
	type nic struct {
		name, backend string
		implied       bool
	}
	var got []nic
	for _, n := range p.NICs {
		got = append(got, nic{n.Name, n.Backend.String(), n.Implied})
	}
	want := []nic{{"vioif0", "user", true}, {"vioif1", "tap:tap0", false}, {"vioif2", "user,mac=52:54:00:00:00:02", false}, {"wm0", "bridge:br0", false}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NICs\n got %+v\nwant %+v", got, want)
	}
	if p.NICs[0].MAC != MAC("probe64", "vioif0") || p.NICs[2].MAC != "52:54:00:00:00:02" {
		t.Errorf("MACs %s %s", p.NICs[0].MAC, p.NICs[2].MAC)
	}
	// No "net" in the config: DHCP on every attached interface.
	if w, want := wire(t, p), `"net":{"if":"vioif0","type":"inet","method":"dhcp"},"net":{"if":"vioif1","type":"inet","method":"dhcp"},"net":{"if":"vioif2","type":"inet","method":"dhcp"},"net":{"if":"wm0","type":"inet","method":"dhcp"}}`; !strings.HasSuffix(w, want) {
		t.Errorf("wire %s\nwant suffix %s", w, want)
	}

	// A configured interface gets a device without -I; the config's "net"
	// stays as written.
	cfg := writeFile(t, "c.json", `{"net": [{"if": "wm1", "type": "inet", "method": "static", "addr": "10.0.0.2/24"}]}`)
	p = mustNew(t, Options{Kernel: k, ConfigFile: cfg, Interfaces: []string{"vioif0"}})
	var names []string
	for _, n := range p.NICs {
		names = append(names, n.Name)
	}
	if !reflect.DeepEqual(names, []string{"vioif0", "wm0", "wm1"}) {
		t.Errorf("NICs %v", names)
	}
	if len(p.Config.Net) != 1 || p.Config.Net[0].If != "wm1" {
		t.Errorf("net %+v: want the config's own", p.Config.Net)
	}
}

func TestInterfaceRefusals(t *testing.T) {
	k := rumprunKernel(t)
	for _, c := range []struct {
		ifs  []string
		want string
	}{
		{[]string{"xenif0"}, `-I xenif0: interface "xenif0" does not exist on qemu: use vioif0 (virtio-net) or wm0 (e1000)`},
		{[]string{"xenif2=bridge:br0"}, `use vioif2 (virtio-net) or wm2 (e1000)`},
		{[]string{"eth0"}, `use vioif0 (virtio-net) or wm0 (e1000)`},
		{[]string{"vioif8"}, `vioif8: at most 8 virtio-net interfaces (vioif0 to vioif7)`},
		{[]string{"wm7"}, `wm7: at most 4 e1000 interfaces (wm0 to wm3)`},
		{[]string{"vioif0", "vioif0=tap:tap0"}, `-I vioif0=tap:tap0: vioif0 given twice`},
		{[]string{"vioif0=tap:"}, `needs a name`},
		{[]string{"=user"}, `an empty interface name does not exist on qemu`},
	} {
		_, _, err := New(Options{Kernel: k, Interfaces: c.ifs}, testTarget)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-I %v: error %v\nwant %q", c.ifs, err, c.want)
		}
	}
	// A name in the config is reported where it is written.
	cfg := writeFile(t, "c.json", "{\n  \"net\": [{\"if\": \"xenif0\", \"cloner\": true, \"type\": \"inet\", \"method\": \"dhcp\"}]\n}\n")
	_, _, err := New(Options{Kernel: k, ConfigFile: cfg}, testTarget)
	var l config.ErrorList
	if !errors.As(err, &l) || !strings.Contains(err.Error(), cfg+":2:") || !strings.Contains(err.Error(), `"xenif0" does not exist on qemu: use vioif0 (virtio-net) or wm0 (e1000)`) {
		t.Errorf("config xenif0: %v", err)
	}
}

func TestDisks(t *testing.T) {
	k := rumprunKernel(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "data.img")
	iso := filepath.Join(dir, "cd.iso")
	os.WriteFile(img, make([]byte, 4096), 0o644)
	isoData := make([]byte, 0x9000)
	copy(isoData[0x8000:], "\x01CD001")
	os.WriteFile(iso, isoData, 0o644)

	p := mustNew(t, Options{Kernel: k, Disks: []string{img + ",/data", iso}})
	if len(p.Disks) != 2 || p.Disks[0].ReadOnly || !p.Disks[1].ReadOnly || !p.Disks[1].ISO || p.Disks[1].Format != FormatRaw {
		t.Fatalf("disks %+v", p.Disks)
	}
	wantBlk := []config.Blk{
		{Source: "dev", Path: "/dev/ld0a", Fstype: "blk", Mountpoint: "/data"},
		{Source: "dev", Path: "/dev/ld1a", Fstype: "blk", Mountpoint: "/mnt/ld1a"},
	}
	if !reflect.DeepEqual(p.Config.Blk, wantBlk) || p.Disks[0].Guest != wantBlk[0] || p.Disks[1].Guest != wantBlk[1] {
		t.Errorf("blk %+v, disks' guest view %+v %+v", p.Config.Blk, p.Disks[0].Guest, p.Disks[1].Guest)
	}

	// "blk": [] turns the defaults off, but a mountpoint given with -b is an
	// explicit request: it patches the config.
	cfg := writeFile(t, "c.json", `{"blk": []}`)
	p = mustNew(t, Options{Kernel: k, ConfigFile: cfg, Disks: []string{img, iso + ",/cd"}})
	if want := []config.Blk{{Source: "dev", Path: "/dev/ld1a", Fstype: "blk", Mountpoint: "/cd"}}; !reflect.DeepEqual(p.Config.Blk, want) {
		t.Errorf("blk %+v, want %+v", p.Config.Blk, want)
	}
	if p.Disks[0].Guest.Mountpoint != "" {
		t.Errorf("unmounted disk has mountpoint %q", p.Disks[0].Guest.Mountpoint)
	}

	if _, _, err := New(Options{Kernel: k, Disks: []string{filepath.Join(dir, "missing.img")}}, testTarget); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing disk: %v", err)
	}
	many := []string{}
	for i := 0; i < 9; i++ {
		many = append(many, img)
	}
	if _, _, err := New(Options{Kernel: k, Disks: many}, testTarget); err == nil || !strings.Contains(err.Error(), "at most 8 virtio-blk disks") {
		t.Errorf("nine disks: %v", err)
	}
}

func TestProtocols(t *testing.T) {
	old, k := rumprunKernel(t), initrdKernel(t)
	rd := makeInitrd(t, map[string]string{"json.cfg": `{"rc": [{"bin": "probe", "argv": ["a b"]}]}`, "etc/motd": "hi\n"})

	// Today's kernels read no initrd.
	_, _, err := New(Options{Kernel: old, Initrd: rd}, testTarget)
	if err == nil || !strings.Contains(err.Error(), "cannot read an initrd: it does not declare the initrd/1 boot protocol") ||
		!strings.Contains(err.Error(), "-b IMAGE[,MOUNTPOINT]") || !strings.Contains(err.Error(), "bake them into the kernel") {
		t.Errorf("initrd for a rumprun kernel: %v", err)
	}

	// initrd/1: nothing to send when the initrd's config is the effective one.
	p := mustNew(t, Options{Kernel: k, Initrd: rd})
	if p.Protocol != ProtocolInitrd || p.SendConfig {
		t.Errorf("protocol %s, SendConfig %v: want initrd/1 without override", p.Protocol, p.SendConfig)
	}
	if b, err := p.ConfigText(); b != nil || err != nil {
		t.Errorf("ConfigText = %q, %v", b, err)
	}
	// A patch makes an override: canonical JSON on one line, built on the
	// initrd's config.
	p = mustNew(t, Options{Kernel: k, Initrd: rd, Env: []string{"A=1"}})
	if got, want := wire(t, p), `{"rc":[{"bin":"probe","argv":["a b"]}],"env":{"A":"1"}}`; !p.SendConfig || got != want {
		t.Errorf("override %s, want %s", got, want)
	}
	// A device does not: the kernel applies the defaults itself (DHCP on
	// every NIC, every disk at /mnt/DEV).
	disk := filepath.Join(t.TempDir(), "d.img")
	os.WriteFile(disk, make([]byte, 4096), 0o644)
	if p := mustNew(t, Options{Kernel: k, Initrd: rd, Interfaces: []string{"vioif0"}, Disks: []string{disk}}); p.SendConfig ||
		p.Config.Net != nil || p.Config.Blk != nil || p.Disks[0].Guest.Mountpoint != "/mnt/ld0a" {
		t.Errorf("NIC and disk attached: override %v, net %v, blk %v, disk at %q", p.SendConfig, p.Config.Net, p.Config.Blk, p.Disks[0].Guest.Mountpoint)
	}
	// A mountpoint of -b is written, for every disk (present means
	// exactly as written).
	p = mustNew(t, Options{Kernel: k, Initrd: rd, Disks: []string{disk + ",/data", disk}})
	if got := wire(t, p); !p.SendConfig || !strings.Contains(got, `"blk":[{"source":"dev","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"},{"source":"dev","path":"/dev/ld1a","fstype":"blk","mountpoint":"/mnt/ld1a"}]`) {
		t.Errorf("-b with a mountpoint: %s", got)
	}
	// Without an initrd the config always goes.
	if p := mustNew(t, Options{Kernel: k}); !p.SendConfig {
		t.Error("initrd/1 kernel without initrd: no config")
	}
	// --protocol overrides the kernel's notes.
	if p := mustNew(t, Options{Kernel: k, Protocol: ProtocolRumprun}); p.Protocol != ProtocolRumprun {
		t.Errorf("protocol %s", p.Protocol)
	}
	if _, _, err := New(Options{Kernel: k, Protocol: "initrd/2"}, testTarget); err == nil || !strings.Contains(err.Error(), `unknown boot protocol "initrd/2"`) {
		t.Errorf("--protocol initrd/2: %v", err)
	}
	// A damaged initrd config is reported with its place.
	bad := makeInitrd(t, map[string]string{"json.cfg": "{\"hostnme\": \"x\"}"})
	if _, _, err := New(Options{Kernel: k, Initrd: bad}, testTarget); err == nil || !strings.Contains(err.Error(), bad+":/json.cfg:1:") {
		t.Errorf("bad initrd config: %v", err)
	}
}

func TestEscapesPerProtocol(t *testing.T) {
	args := []string{`say "hi"`, `back\slash`}
	// Today's kernels do not decode JSON escapes: refused before launch.
	_, _, err := New(Options{Kernel: rumprunKernel(t), Args: args}, testTarget)
	if err == nil || !strings.Contains(err.Error(), "not representable in the wire form") {
		t.Errorf("quote for a rumprun kernel: %v", err)
	}
	// initrd/1 kernels read real JSON.
	p := mustNew(t, Options{Kernel: initrdKernel(t), Args: args})
	if got, want := wire(t, p), `{"rc":[{"bin":"probe64-initrd.elf","argv":["say \"hi\"","back\\slash"]}]}`; got != want {
		t.Errorf("initrd/1 config %s, want %s", got, want)
	}
}

// $schema is an editor hint: it reaches no kernel, and an initrd config that
// differs from the effective one only by it needs no override.
func TestSchemaNeverSent(t *testing.T) {
	const schema = `"$schema": "json.cfg.schema.json", `
	rd := makeInitrd(t, map[string]string{"json.cfg": `{` + schema + `"rc": [{"bin": "probe", "argv": ["a"]}]}`})
	cfg := writeFile(t, "json.cfg", `{`+schema+`"rc": [{"bin": "probe", "argv": ["a"]}]}`)
	if p := mustNew(t, Options{Kernel: initrdKernel(t), Initrd: rd, ConfigFile: cfg}); p.SendConfig {
		t.Errorf("override sent for a config equal to the initrd's: %s", wire(t, p))
	}
	for _, k := range []string{rumprunKernel(t), initrdKernel(t)} {
		p := mustNew(t, Options{Kernel: k, ConfigFile: cfg})
		if got := wire(t, p); strings.Contains(got, "schema") {
			t.Errorf("%s receives %s", filepath.Base(k), got)
		}
	}
}

// An initrd with an archive appended (as rump-mkiso appends the config)
// has the appended /json.cfg as its config, as the kernel sees it.
func TestConcatenatedInitrdConfig(t *testing.T) {
	base := makeInitrd(t, map[string]string{"json.cfg": `{"hostname": "old"}`, "etc/motd": "hi\n"})
	extra := makeInitrd(t, map[string]string{"json.cfg": `{"hostname": "new"}`})
	var both []byte
	for _, f := range []string{base, extra} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		both = append(both, b...)
	}
	rd := filepath.Join(t.TempDir(), "both.initrd")
	if err := os.WriteFile(rd, both, 0o644); err != nil {
		t.Fatal(err)
	}
	if p := mustNew(t, Options{Kernel: initrdKernel(t), Initrd: rd}); p.Config.Hostname != "new" {
		t.Errorf("hostname %q, want the appended archive's", p.Config.Hostname)
	}
}

func TestConfigFromStdin(t *testing.T) {
	p, _, err := New(Options{Kernel: rumprunKernel(t), ConfigFile: "-", Stdin: strings.NewReader(`{"hostname": "fromstdin"}`)}, testTarget)
	if err != nil || p.Config.Hostname != "fromstdin" {
		t.Fatalf("%v %+v", err, p)
	}
	// Dialect input works and is reported.
	cfg := writeFile(t, "old.json", `{"net": {"if": "vioif0", "type": "inet", "method": "dhcp"},}`)
	p, warnings, err := New(Options{Kernel: rumprunKernel(t), ConfigFile: cfg}, testTarget)
	if err != nil || len(warnings) == 0 || len(p.NICs) != 1 {
		t.Errorf("dialect config: %v, warnings %v, NICs %+v", err, warnings, p)
	}
}
