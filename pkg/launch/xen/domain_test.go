package xen_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/config"
	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/launch/xen"
	"github.com/rumptools/rumptools/pkg/xl"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// plan builds a launch plan the way the tool does.
func plan(t *testing.T, o launch.Options) *launch.Plan {
	t.Helper()
	p, err := tryPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func tryPlan(o launch.Options) (*launch.Plan, error) {
	k, err := kernel.Open(o.Kernel)
	if err != nil {
		return nil, err
	}
	target, err := xen.TargetFor(k)
	if err != nil {
		return nil, err
	}
	if err := xen.CheckArgs(target, o.Interfaces, o.Disks); err != nil {
		return nil, err
	}
	p, _, err := launch.New(o, target)
	return p, err
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// disk writes a raw disk image (or an ISO 9660 one) of 64 KiB.
func disk(t *testing.T, path string, iso bool) string {
	b := make([]byte, 64<<10)
	if iso {
		copy(b[0x8000:], "\x01CD001")
	}
	return writeFile(t, path, b)
}

func render(t *testing.T, o launch.Options, xo xen.Options) *xen.Domain {
	t.Helper()
	d, _, err := xen.Render(plan(t, o), xo)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func get(t *testing.T, d *xen.Domain, key string) xl.Value {
	t.Helper()
	v, ok := d.Config.Get(key)
	if !ok {
		t.Fatalf("xl config has no %s", key)
	}
	return v
}

// checkXL writes the domain's file and checks that libxlutil reads every
// setting back as meant, and none of absent.
func checkXL(t *testing.T, d *xen.Domain, absent ...string) string {
	t.Helper()
	f := d.File(t.TempDir())
	if err := d.WriteFile(f); err != nil {
		t.Fatal(err)
	}
	xltest.Verify(t, f, d.Config, absent...)
	return f
}

func TestPVDomain(t *testing.T) {
	dir := t.TempDir()
	k := xltest.Kernel{Xen: true, Programs: []string{"httpd"}}.Write(t, dir, "web server.bin")
	img := disk(t, filepath.Join(dir, "data,1.img"), false)
	iso := disk(t, filepath.Join(dir, "it's.iso"), true)
	d := render(t, launch.Options{
		Kernel:     k,
		Hostname:   "web",
		Interfaces: []string{"xenif1=bridge:br1,vifname=web1", "xenif0=bridge=xenbr2,mac=00:16:3e:00:00:01,rate=10Mb/s"},
		Disks:      []string{img + ",/data", iso},
		Env:        []string{"GREETING=it's here"},
		Args:       []string{"-p", "8080", "two words"},
		MemoryMiB:  128,
	}, xen.Options{})

	if d.Name != "web" || d.HVM {
		t.Fatalf("name %q hvm %v", d.Name, d.HVM)
	}
	want := map[string]xl.Value{
		"name":   xl.String("web"),
		"type":   xl.String("pv"),
		"kernel": xl.String(k),
		"memory": xl.Number(128),
		"vif": xl.Strings(
			"bridge=xenbr2,rate=10Mb/s,mac=00:16:3e:00:00:01",
			"bridge=br1,vifname=web1,mac="+launch.MAC("web", "xenif1")),
		"disk": xl.Strings(
			"format=raw,vdev=xvda,access=rw,target="+img,
			"format=raw,vdev=xvdb,access=ro,target="+iso),
		"on_poweroff": xl.String("preserve"),
		"on_crash":    xl.String("preserve"),
	}
	for k, v := range want {
		if got := get(t, d, k); !got.Equal(v) {
			t.Errorf("%s = %s, want %s", k, xltest.Show(got), xltest.Show(v))
		}
	}
	for _, k := range []string{"cmdline", "ramdisk", "extra", "serial", "vga"} {
		if v, ok := d.Config.Get(k); ok {
			t.Errorf("PV domain sets %s = %s", k, xltest.Show(v))
		}
	}

	// The config goes to xenstore, in wire form, with what the options said.
	c, _, err := config.Parse("xenstore", d.Xenstore)
	if err != nil {
		t.Fatalf("xenstore value %s: %v", d.Xenstore, err)
	}
	if c.Hostname != "web" || len(c.RC) != 1 || c.RC[0].Bin != "httpd" || strings.Join(c.RC[0].Argv, "|") != "-p|8080|two words" {
		t.Errorf("config: %+v", c)
	}
	if len(c.Env) != 1 || c.Env[0] != (config.EnvVar{Name: "GREETING", Value: "it's here"}) {
		t.Errorf("env: %+v", c.Env)
	}
	if len(c.Net) != 2 || c.Net[0].If != "xenif0" || !c.Net[0].Cloner || c.Net[1].If != "xenif1" || c.Net[1].Method != "dhcp" {
		t.Errorf("net: %+v", c.Net)
	}
	wantBlk := []config.Blk{
		{Source: "etfs", Path: "xvda", Fstype: "blk", Mountpoint: "/data"},
		{Source: "etfs", Path: "xvdb", Fstype: "blk", Mountpoint: "/mnt/xvdb"},
	}
	if len(c.Blk) != 2 || c.Blk[0] != wantBlk[0] || c.Blk[1] != wantBlk[1] {
		t.Errorf("blk: %+v, want %+v", c.Blk, wantBlk)
	}
	if !strings.Contains(string(d.Xenstore), `"env":"GREETING=it's here"`) {
		t.Errorf("wire form %s", d.Xenstore)
	}
	checkXL(t, d, "cmdline", "ramdisk", "extra")
}

func TestPVMinimal(t *testing.T) {
	dir := t.TempDir()
	d := render(t, launch.Options{Kernel: xltest.Kernel{Xen: true}.Write(t, dir, "hello.bin")}, xen.Options{Destroy: true})
	if d.Name != "hello" {
		t.Errorf("name %q, want the kernel's file name", d.Name)
	}
	for _, k := range []string{"vif", "disk", "cmdline"} {
		if _, ok := d.Config.Get(k); ok {
			t.Errorf("minimal PV domain sets %s", k)
		}
	}
	if v := get(t, d, "on_poweroff"); v.S != "destroy" {
		t.Errorf("-d: on_poweroff %q", v.S)
	}
	if v := get(t, d, "memory"); v.S != "64" {
		t.Errorf("memory %q", v.S)
	}
	if string(d.Xenstore) != `{"rc":[{"bin":"hello.bin","argv":[]}]}` {
		t.Errorf("xenstore value %s", d.Xenstore)
	}
	checkXL(t, d, "vif", "disk")
}

func TestHVMDomain(t *testing.T) {
	dir := t.TempDir()
	k := xltest.Kernel{Programs: []string{"app"}}.Write(t, dir, `odd 'name' "with" \backslash.bin`)
	cfg := writeFile(t, filepath.Join(dir, "app.json"), []byte(`{"net":[{"if":"wm1","type":"inet","method":"static","addr":"10.0.0.2/24","gw":"10.0.0.1"}]}`))
	d := render(t, launch.Options{
		Kernel:     k,
		Name:       "odd",
		ConfigFile: cfg,
		Args:       []string{"it's", "a", `#$&*?`},
	}, xen.Options{})
	if !d.HVM || d.Xenstore != nil {
		t.Fatalf("hvm %v xenstore %q", d.HVM, d.Xenstore)
	}
	for k, v := range map[string]xl.Value{
		"type":   xl.String("hvm"),
		"kernel": xl.String(k),
		"serial": xl.String("pty"),
		"vga":    xl.String("none"),
		"vif": xl.Strings(
			"model=e1000,bridge=xenbr0,mac="+launch.MAC(d.Name, "wm0"),
			"model=e1000,bridge=xenbr0,mac="+launch.MAC(d.Name, "wm1")),
	} {
		if got := get(t, d, k); !got.Equal(v) {
			t.Errorf("%s = %s, want %s", k, xltest.Show(got), xltest.Show(v))
		}
	}
	cmdline := get(t, d, "cmdline").S
	c, _, err := config.Parse("cmdline", []byte(cmdline))
	if err != nil {
		t.Fatalf("cmdline %s: %v", cmdline, err)
	}
	if len(c.Net) != 1 || c.Net[0].If != "wm1" || c.Net[0].Addr != "10.0.0.2/24" || strings.Join(c.RC[0].Argv, "|") != `it's|a|#$&*?` {
		t.Errorf("cmdline config %+v", c)
	}
	f := checkXL(t, d, "ramdisk", "disk")
	text, _ := os.ReadFile(f)
	if !strings.Contains(string(text), `cmdline = '{`) || !strings.Contains(string(text), `"argv":["it\'s","a","#$&*?"]`) {
		t.Errorf("xl file does not quote the config as DESIGN.md section 5 says:\n%s", text)
	}
}

// An initrd/1 kernel gets its initrd as the ramdisk and the replacement
// config in canonical form after the word that says so: a PV kernel
// through xenstore's rumprun/cfg (the key rumprun reads first), an HVM
// one on its command line.
func TestInitrdProtocol(t *testing.T) {
	dir := t.TempDir()
	rd := writeFile(t, filepath.Join(dir, "root,fs.img"), emptyCpio())
	for _, xenPV := range []bool{true, false} {
		k := xltest.Kernel{Xen: xenPV, Initrd: true}.Write(t, dir, "app.bin")
		d := render(t, launch.Options{Kernel: k, Initrd: rd, Args: []string{`say "hi"`, `C:\dir`}}, xen.Options{})
		wantRD := rd
		if !xenPV {
			wantRD = strings.ReplaceAll(rd, ",", ",,") // QEMU's -initrd splits at single commas
		}
		if got := get(t, d, "ramdisk").S; got != wantRD {
			t.Errorf("pv=%v: ramdisk %q, want %q", xenPV, got, wantRD)
		}
		// The word that says the config is canonical, then the config.
		text := string(d.Xenstore)
		if xenPV {
			if _, ok := d.Config.Get("cmdline"); ok {
				t.Errorf("pv: a cmdline as well as the xenstore write")
			}
		} else {
			if d.Xenstore != nil {
				t.Errorf("hvm: initrd/1 kernel gets a xenstore write")
			}
			text = get(t, d, "cmdline").S
		}
		cfg, ok := strings.CutPrefix(text, launch.WordCanonical+" ")
		c, _, err := config.Parse("config", []byte(cfg))
		if !ok || err != nil || len(c.RC) != 1 || strings.Join(c.RC[0].Argv, "|") != `say "hi"|C:\dir` || c.Net != nil {
			t.Errorf("pv=%v: config %s: %+v %v", xenPV, text, c, err)
		}
		checkXL(t, d)
	}
}

// emptyCpio is a newc archive with only its trailer.
func emptyCpio() []byte {
	h := "070701" + strings.Repeat("00000000", 11) + "0000000b" + "00000000" + "TRAILER!!!\x00"
	for len(h)%4 != 0 {
		h += "\x00"
	}
	return []byte(h)
}

func TestExtraLines(t *testing.T) {
	dir := t.TempDir()
	k := xltest.Kernel{Xen: true}.Write(t, dir, "app.bin")
	d, notes, err := xen.Render(plan(t, launch.Options{Kernel: k}), xen.Options{Destroy: true, Extra: []string{
		`memory = 256`,
		`vcpus = 2`,
		`on_crash = 'coredump-destroy'`,
		`cpus = "0-1"  # pinned`,
		`device_model_args = [ "-a", 'b\'c' ]`,
		`vcpus = 3`,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "overrides -d for on_crash") {
		t.Errorf("warnings %q", notes)
	}
	for k, v := range map[string]xl.Value{
		"memory":            xl.Number(256),
		"vcpus":             xl.Number(3),
		"on_crash":          xl.String("coredump-destroy"),
		"on_poweroff":       xl.String("destroy"),
		"cpus":              xl.String("0-1"),
		"device_model_args": xl.Strings("-a", "b'c"),
	} {
		if got := get(t, d, k); !got.Equal(v) {
			t.Errorf("%s = %s, want %s", k, xltest.Show(got), xltest.Show(v))
		}
	}
	// Replaced in place, not repeated.
	text, _ := d.Config.Marshal()
	if strings.Count(string(text), "memory =") != 1 || strings.Count(string(text), "vcpus =") != 1 {
		t.Errorf("xl file repeats keys:\n%s", text)
	}
	checkXL(t, d)

	for line, want := range map[string]string{
		`name = "x"`:            "use --name NAME",
		`kernel = "/boot/k"`:    "KERNEL argument",
		`cmdline = "x"`:         "-c, -e",
		`extra = "x"`:           "-c, -e",
		`vif = []`:              "-I GUESTIF",
		`disk += ["x"]`:         "-b FILE",
		`type = "hvm"`:          "the kernel decides",
		`Memory = 1`:            "expected a key",
		`memory 256`:            "expected = or +=",
		`memory = 1; vcpus = 2`: "found 2",
		`cpus = "0-1`:           "not closed",
		`on_crash += ["x"]`:     "cannot add a list",
	} {
		_, _, err := xen.Render(plan(t, launch.Options{Kernel: k}), xen.Options{Extra: []string{line}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("-x %s: %v, want an error containing %q", line, err, want)
		}
	}
}

func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	pv := xltest.Kernel{Xen: true}.Write(t, dir, "pv.bin")
	hw := xltest.Kernel{}.Write(t, dir, "hw.bin")
	img := disk(t, filepath.Join(dir, "d.img"), false)
	vmdk := writeFile(t, filepath.Join(dir, "d.vmdk"), []byte("KDMV"+strings.Repeat("\x00", 512)))
	notKernel := writeFile(t, filepath.Join(dir, "x.bin"), []byte("not an ELF file"))
	for _, tc := range []struct {
		o    launch.Options
		xo   xen.Options
		want string
	}{
		{launch.Options{Kernel: pv, Interfaces: []string{"vioif0"}}, xen.Options{}, `"vioif0" does not exist on Xen PV: use xenif0`},
		{launch.Options{Kernel: hw, Interfaces: []string{"xenif0"}}, xen.Options{}, `"xenif0" does not exist on Xen HVM: use wm0`},
		{launch.Options{Kernel: hw, Interfaces: []string{"vioif1"}}, xen.Options{}, "use wm1"},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=user"}}, xen.Options{}, "no user-mode networking"},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=tap:tap0"}}, xen.Options{}, "cannot use an existing tap"},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=bridge=br0,model=e1000"}}, xen.Options{}, "sets the vif model"},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=bridge=br0,devid=3"}}, xen.Options{}, "devid="},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=bridge=br0,brige=x"}}, xen.Options{}, `"brige" is not an xl vif option`},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=bridge:br0,vifname=a,,b"}}, xen.Options{}, "holds a comma"},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=bridge=br0,trusted=1"}}, xen.Options{}, "takes no value"},
		{launch.Options{Kernel: pv, Interfaces: []string{"xenif0=bridge=br0,rate"}}, xen.Options{}, "needs a value"},
		{launch.Options{Kernel: hw, Disks: []string{img}}, xen.Options{}, "no driver for any disk Xen HVM emulates"},
		{launch.Options{Kernel: pv, Disks: []string{vmdk}}, xen.Options{}, "cannot attach a vmdk image"},
		{launch.Options{Kernel: pv, Hostname: "12345"}, xen.Options{}, "takes a number for a domain id"},
		{launch.Options{Kernel: pv, Name: "a/b"}, xen.Options{}, `domain name "a/b"`},
		{launch.Options{Kernel: pv, Name: "-x"}, xen.Options{}, `domain name "-x"`},
		{launch.Options{Kernel: pv, Args: []string{strings.Repeat("x", 4100)}}, xen.Options{}, "one xenstore write holds"},
		{launch.Options{Kernel: hw, Args: []string{strings.Repeat("x", 4100)}}, xen.Options{}, "over the 4095-byte limit of rumprun hw kernels"},
		{launch.Options{Kernel: hw, Args: []string{`a\b`}}, xen.Options{}, "not representable in the wire form"},
		{launch.Options{Kernel: pv, Args: []string{`"q"`}}, xen.Options{}, "not representable in the wire form"},
		{launch.Options{Kernel: notKernel}, xen.Options{}, "not an ELF file"},
	} {
		p, err := tryPlan(tc.o)
		if err == nil {
			_, _, err = xen.Render(p, tc.xo)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.o, err, tc.want)
		}
	}
}

func TestXenstoreValue(t *testing.T) {
	in := []byte(`{"cmdline":"a\b \x41 \\"}`)
	got := xen.XenstoreValue(in)
	if got != `{"cmdline":"a\\b \\x41 \\\\"}` {
		t.Errorf("XenstoreValue = %s", got)
	}
	if unsanitise(got) != string(in) {
		t.Errorf("xenstore-write would store %q, want %q", unsanitise(got), in)
	}
}

// unsanitise decodes a value as xenstore-write does (tools/xenstore,
// unsanitise_value): \t \n \r \\ \xHH \ooo, any other escaped byte as itself.
func unsanitise(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch e := s[i]; {
		case e == 't':
			b.WriteByte('\t')
		case e == 'n':
			b.WriteByte('\n')
		case e == 'r':
			b.WriteByte('\r')
		case e == 'x' && i+2 < len(s):
			var v byte
			for _, h := range s[i+1 : i+3] {
				v = v<<4 | byte(strings.IndexRune("0123456789abcdef", h|0x20))
			}
			b.WriteByte(v)
			i += 2
		case e >= '0' && e <= '7':
			v, n := 0, 0
			for n < 3 && i+n < len(s) && s[i+n] >= '0' && s[i+n] <= '7' {
				v = v*8 + int(s[i+n]-'0')
				n++
			}
			b.WriteByte(byte(v))
			i += n - 1
		default:
			b.WriteByte(e)
		}
	}
	return b.String()
}

func TestCalls(t *testing.T) {
	dir := t.TempDir()
	pv := render(t, launch.Options{Kernel: xltest.Kernel{Xen: true}.Write(t, dir, "a.bin")}, xen.Options{})
	hvm := render(t, launch.Options{Kernel: xltest.Kernel{}.Write(t, dir, "b.bin")}, xen.Options{})
	show := func(calls [][]string) string {
		var s []string
		for _, c := range calls {
			s = append(s, strings.Join(c, " "))
		}
		return strings.Join(s, "; ")
	}
	for _, tc := range []struct {
		d           *xen.Domain
		interactive bool
		want        string
	}{
		{pv, false, `xl create -p F; xl domid a; xenstore-write /local/domain/D/rumprun/cfg {"rc":[{"bin":"a.bin","argv":[]}]}; xl unpause a`},
		{pv, true, `xl create -p F; xl domid a; xenstore-write /local/domain/D/rumprun/cfg {"rc":[{"bin":"a.bin","argv":[]}]}; xl console a; xl unpause a; xl destroy a`},
		{hvm, false, `xl create -p F; xl unpause b`},
		{hvm, true, `xl create -p F; xl console b; xl unpause b; xl destroy b`},
	} {
		if got := show(tc.d.Calls("F", "D", tc.interactive)); got != tc.want {
			t.Errorf("Calls(%s, -i=%v) =\n%s\nwant\n%s", tc.d.Name, tc.interactive, got, tc.want)
		}
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	if got := xen.StateDir(""); got != "/run/user/1000/rump-launch-xen" {
		t.Errorf("StateDir = %s", got)
	}
	if got := xen.StateDir("/srv/x"); got != "/srv/x" {
		t.Errorf("StateDir(-s) = %s", got)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if got := xen.StateDir(""); !strings.Contains(got, "rump-launch-xen") {
		t.Errorf("StateDir without XDG_RUNTIME_DIR = %s", got)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "sub")
	d := render(t, launch.Options{Kernel: xltest.Kernel{Xen: true}.Write(t, t.TempDir(), "a.bin")}, xen.Options{})
	f := d.File(dir)
	if err := d.WriteFile(f); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteFile(f); err != nil { // replaces it
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "a.cfg" {
		t.Errorf("state directory holds %v", entries)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory mode %v", fi.Mode())
	}
	// A directory in the way: the write fails and leaves no temporary file.
	bad := filepath.Join(dir, "b.cfg")
	os.Mkdir(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "x"), nil, 0o644)
	if err := d.WriteFile(bad); err == nil {
		t.Error("WriteFile over a non-empty directory succeeded")
	}
	entries, _ = os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("after a failed write the state directory holds %v", entries)
	}
}

// TestCmdlineLimits: an hw kernel's command line, as the device model builds
// it (kernel path, space, config), may be 4095 bytes and no more; a PV
// initrd/1 kernel's config (word and canonical form) goes to xenstore,
// where one write holds 4096 bytes with the key's path.
func TestCmdlineLimits(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		im    xltest.Kernel
		limit func(kernel string) int
	}{
		{xltest.Kernel{}, func(k string) int { return 4095 - len(k) - 1 }},
		{xltest.Kernel{Xen: true, Initrd: true}, func(string) int { return 4096 - len(xen.XenstorePath("32751")) - 1 }},
	} {
		k := tc.im.Write(t, dir, "k.bin")
		text := func(d *xen.Domain) string {
			if tc.im.Xen {
				return string(d.Xenstore)
			}
			return get(t, d, "cmdline").S
		}
		base := len(text(render(t, launch.Options{Kernel: k, Args: []string{""}}, xen.Options{})))
		fit := strings.Repeat("x", tc.limit(k)-base)
		d := render(t, launch.Options{Kernel: k, Args: []string{fit}}, xen.Options{})
		if n := len(text(d)); n != tc.limit(k) {
			t.Fatalf("%+v: cmdline %d bytes, want %d", tc.im, n, tc.limit(k))
		}
		_, _, err := xen.Render(plan(t, launch.Options{Kernel: k, Args: []string{fit + "x"}}), xen.Options{})
		if err == nil || !strings.Contains(err.Error(), "limit") && !strings.Contains(err.Error(), "holds") {
			t.Errorf("%+v: one byte over the limit: %v", tc.im, err)
		}
	}
}
