package config

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/pkg/initrd"
	"github.com/rumptools/rumptools/pkg/kernel"
)

func mustParse(t *testing.T, s string) *Config {
	t.Helper()
	c, _, err := Parse("t.json", []byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

func TestWireRefusesEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"cmdline": "echo \"hi\""}`, `1:13: /cmdline: "cmdline" contains '"'`},
		{`{"cmdline": "a\\b"}`, `1:13: /cmdline: "cmdline" contains '\'`},
		{"{\"cmdline\": \"a\",\n \"env\": {\"X\": \"line1\\nline2\"}}", `2:15: /env/X: "X" contains the control character U+000A`},
		{`{"rc": [{"bin": "a", "argv": ["ok", "tab\there"]}]}`, `1:37: /rc/0/argv/1: "argv" entry 1 contains the control character U+0009`},
		{`{"hostname": "h", "cmdline": "a", "blk": [{"source": "vnd", "path": "/img/\"x\".img"}]}`, `1:69: /blk/0/path: "path" contains '"'`},
	} {
		c := mustParse(t, tc.in)
		_, err := c.Wire()
		var list ErrorList
		if !errors.As(err, &list) {
			t.Errorf("%s: Wire error %v, want an ErrorList", tc.in, err)
			continue
		}
		if got := list[0].String(); !strings.HasPrefix(got, "t.json:"+tc.want) {
			t.Errorf("%s:\n got %s\nwant t.json:%s...", tc.in, got, tc.want)
		}
	}
	// Canonical has no such limit: it escapes.
	c := mustParse(t, `{"cmdline": "echo \"hi\"\tthere"}`)
	b, _ := c.Canonical()
	if !bytes.Contains(b, []byte(`"echo \"hi\"\tthere"`)) {
		t.Errorf("canonical form lost the escapes: %s", b)
	}
}

func TestLimits(t *testing.T) {
	huge := append([]byte(`{"cmdline": "`), bytes.Repeat([]byte("a"), MaxSize)...)
	huge = append(huge, `"}`...)
	_, _, err := Parse("huge.json", huge)
	if err == nil || !strings.Contains(err.Error(), "huge.json:1:1: file too large") {
		t.Errorf("huge input: %v", err)
	}
	// Deep nesting stops at MaxDepth without recursing further.
	deep := strings.Repeat("[", 1<<19)
	_, _, err = Parse("deep.json", []byte(`{"x":`+deep))
	if err == nil || !strings.Contains(err.Error(), "nesting deeper than 32 levels") {
		t.Errorf("deep input: %v", err)
	}
}

func TestSeveralErrorsAllReported(t *testing.T) {
	_, _, err := Parse("m.json", []byte("{\"cmdline\": 1,\n \"hostnme\": \"x\",\n \"net\": {\"if\": \"vioif0\", \"type\": \"inet\", \"method\": \"dhcpp\"}}"))
	want := "m.json:1:13: /cmdline: \"cmdline\" must be a string, not an integer\n" +
		"m.json:2:2: /hostnme: unknown key \"hostnme\" in json.cfg (did you mean \"hostname\"?)\n" +
		"m.json:3:52: /net/0/method: \"method\" must be one of \"dhcp\", \"static\", \"auto\", not \"dhcpp\" (did you mean \"dhcp\"?)"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	var list ErrorList
	if errors.As(err, &list) {
		ptrs := []string{"/cmdline", "/hostnme", "/net/0/method"}
		for i, d := range list {
			if d.Pointer != ptrs[i] {
				t.Errorf("error %d pointer %q, want %q", i, d.Pointer, ptrs[i])
			}
		}
	}
}

func TestCanonicalForm(t *testing.T) {
	c := mustParse(t, `{"blk": {"source": "dev", "path": "/dev/ld0a", "mountpoint": "/d", "fstype": "blk"},
		"env": {"B": "2", "A": "1"}, "rc": [{"runmode": "&", "argv": ["-x", "y z"], "bin": "a"}, {"bin": "b", "argv": []}],
		"net": {"method": "static", "addr": "10.0.0.2", "mask": 8, "type": "inet", "if": "xenif0", "cloner": true},
		"hostname": "h", "$schema": "s"}`)
	got, err := c.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "$schema": "s",
  "hostname": "h",
  "rc": [
    {
      "bin": "a",
      "argv": ["-x", "y z"],
      "runmode": "&"
    },
    {
      "bin": "b",
      "argv": []
    }
  ],
  "env": {
    "B": "2",
    "A": "1"
  },
  "net": [
    {
      "if": "xenif0",
      "cloner": true,
      "type": "inet",
      "method": "static",
      "addr": "10.0.0.2/8"
    }
  ],
  "blk": [
    {
      "source": "dev",
      "path": "/dev/ld0a",
      "fstype": "blk",
      "mountpoint": "/d"
    }
  ]
}
`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	empty, _ := (&Config{}).Canonical()
	if string(empty) != "{}\n" {
		t.Errorf("empty config: %q", empty)
	}
	off, _ := (&Config{Cmdline: "a", Net: []Net{}, Blk: []Blk{}}).Canonical()
	if string(off) != "{\n  \"cmdline\": \"a\",\n  \"net\": [],\n  \"blk\": []\n}\n" {
		t.Errorf("explicitly off: %q", off)
	}
}

func TestWithDefaults(t *testing.T) {
	c := mustParse(t, `{"cmdline": "a"}`)
	e := c.WithDefaults([]string{"vioif0", "xenif1"}, []Blk{{Source: "dev", Path: "/dev/ld0a"}, {Source: "etfs", Path: "xvdb", Mountpoint: "/srv"}})
	w, err := e.Wire()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"cmdline":"a","net":{"if":"vioif0","type":"inet","method":"dhcp"},"net":{"if":"xenif1","cloner":"true","type":"inet","method":"dhcp"},` +
		`"blk":{"source":"dev","path":"/dev/ld0a","fstype":"blk","mountpoint":"/mnt/ld0a"},"blk":{"source":"etfs","path":"xvdb","fstype":"blk","mountpoint":"/srv"}}`
	if string(w) != want {
		t.Errorf("got  %s\nwant %s", w, want)
	}
	if c.Net != nil || c.Blk != nil {
		t.Error("WithDefaults modified its receiver")
	}
	// Present, even empty, means exactly as written.
	off := mustParse(t, `{"cmdline": "a", "net": [], "blk": []}`).WithDefaults([]string{"vioif0"}, []Blk{{Source: "dev", Path: "/dev/ld0a"}})
	if off.Net == nil || len(off.Net) != 0 || off.Blk == nil || len(off.Blk) != 0 {
		t.Errorf("explicit [] overridden: %+v", off)
	}
	own := mustParse(t, `{"cmdline": "a", "net": {"if": "vioif1", "type": "inet6", "method": "auto"}}`).WithDefaults([]string{"vioif0"}, nil)
	if len(own.Net) != 1 || own.Net[0].If != "vioif1" {
		t.Errorf("present net overridden: %+v", own.Net)
	}
	// Every Xen interface gets "cloner", given or not (false is the same
	// as absent, as in the canonical form); no other interface does.
	given := mustParse(t, `{"cmdline": "a", "net": [{"if": "xenif0", "type": "inet", "method": "dhcp"}, {"if": "xenif1", "cloner": false, "type": "inet", "method": "dhcp"}, {"if": "vioif0", "type": "inet", "method": "dhcp"}]}`)
	if w, _ := given.WithDefaults(nil, nil).Wire(); string(w) != `{"cmdline":"a","net":{"if":"xenif0","cloner":"true","type":"inet","method":"dhcp"},"net":{"if":"xenif1","cloner":"true","type":"inet","method":"dhcp"},"net":{"if":"vioif0","type":"inet","method":"dhcp"}}` {
		t.Errorf("xenif without cloner: %s", w)
	}
	if given.Net[0].Cloner {
		t.Error("WithDefaults modified its receiver's net")
	}
	if none := c.WithDefaults(nil, nil); none.Net != nil || none.Blk != nil {
		t.Errorf("no devices: %+v", none)
	}
}

func TestCheckTarget(t *testing.T) {
	hw := &kernel.Kernel{Platform: kernel.PlatformHW, Bake: &kernel.BakeRecord{Config: "hw_virtio", Programs: []string{"app"}}}
	hwComp := &kernel.Kernel{Platform: kernel.PlatformHW, Bake: &kernel.BakeRecord{Config: "custom", Programs: []string{"a", "b"},
		Components: []string{"rumpdev_pci_if_wm", "rumpnet_netinet"}}}
	pv := &kernel.Kernel{Platform: kernel.PlatformXen, Bake: &kernel.BakeRecord{Config: "xen_pv", Programs: []string{"app"}}}
	qemuNet := `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "dhcp"}, "blk": {"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "/d"}}`
	xenNet := `{"cmdline": "a", "net": {"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}, "blk": {"source": "etfs", "path": "xvda", "fstype": "blk", "mountpoint": "/d"}}`
	for _, tc := range []struct {
		name   string
		in     string
		target Target
		k      *kernel.Kernel
		want   []string // "line:col: text" (warnings as "W line:col: text"); nil: clean
	}{
		{"qemu-ok", qemuNet, QEMU, nil, nil},
		{"qemu-with-kernel", qemuNet, QEMU, hw, nil},
		{"iso-ok", qemuNet, ISO, nil, nil},
		{"xen-ok", xenNet, Xen, nil, nil},
		{"xen-pv-kernel", xenNet, Xen, pv, nil},
		{"xen-names-on-qemu", xenNet, QEMU, nil, []string{
			`1:32: /net/0/if: interface "xenif0" does not exist on QEMU: use vioifN`,
			`1:111: /blk/0/source: etfs exists only on Xen`}},
		{"qemu-names-on-xen", qemuNet, Xen, nil, []string{
			`1:32: /net/0/if: interface "vioif0" does not exist on Xen PV: use xenifN`,
			`1:110: /blk/0/path: device "/dev/ld0a" does not exist on Xen PV: Xen PV disks are etfs devices`}},
		{"xenif-without-cloner", `{"cmdline": "a", "net": {"if": "xenif0", "type": "inet", "method": "dhcp"}}`, Xen, nil, nil},
		{"xenif-without-cloner-ec2", `{"cmdline": "a", "net": {"if": "xenif0", "type": "inet", "method": "dhcp"}}`, EC2, nil, nil},
		{"cloner-on-vioif", `{"cmdline": "a", "net": {"if": "vioif0", "cloner": true, "type": "inet", "method": "dhcp"}}`, QEMU, nil, []string{
			`1:42: /net/0/cloner: vioif0 is not a cloning interface`}},
		{"ec2-only-xenif0", `{"cmdline": "a", "net": [{"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}, {"if": "xenif1", "cloner": true, "type": "inet", "method": "dhcp"}]}`, EC2, nil, []string{
			`1:101: /net/1/if: interface "xenif1" does not exist on EC2: use xenif0`}},
		{"ec2-etfs-sda1", `{"cmdline": "a", "blk": {"source": "etfs", "path": "sda1", "fstype": "blk", "mountpoint": "/data"}}`, EC2, nil, nil},
		{"ec2-xvda", `{"cmdline": "a", "blk": {"source": "etfs", "path": "xvda"}}`, EC2, nil, []string{
			`1:52: /blk/0/path: etfs device "xvda" does not exist on EC2: use sdXN`}},
		{"hvm-wm", `{"cmdline": "a", "net": {"if": "wm0", "type": "inet", "method": "dhcp"}}`, Xen, &kernel.Kernel{Platform: kernel.PlatformHW}, nil},
		{"hvm-no-disk", `{"cmdline": "a", "blk": {"source": "dev", "path": "/dev/ld0a"}}`, Xen, &kernel.Kernel{Platform: kernel.PlatformHW}, []string{
			`1:51: /blk/0/path: device "/dev/ld0a" does not exist on Xen HVM: an hw kernel on Xen HVM has no usable block driver`}},
		{"no-wm-driver-in-hw_virtio", `{"cmdline": "a", "net": {"if": "wm0", "type": "inet", "method": "dhcp"}}`, QEMU, hw, []string{
			`1:32: /net/0/if: the kernel has no driver for wm0: bake config hw_virtio lacks it (use hw_generic)`}},
		{"driver-from-components", `{"rc": [{"bin": "a", "argv": []}, {"bin": "b", "argv": []}], "net": [{"if": "wm0", "type": "inet", "method": "dhcp"}, {"if": "vioif0", "type": "inet", "method": "dhcp"}]}`, QEMU, hwComp, []string{
			`1:126: /net/1/if: the kernel has no driver for vioif0: no component "if_vioif" among the 2 baked (config custom)`}},
		{"too-many-rc", `{"rc": [{"bin": "a", "argv": []}, {"bin": "b", "argv": []}]}`, QEMU, hw, []string{
			`1:2: /rc: "rc" has 2 entries but the kernel has 1 baked program(s) (app)`}},
		{"pv-kernel-on-qemu", `{"cmdline": "a"}`, QEMU, pv, []string{
			`1:1: the kernel is a Xen PV kernel; it cannot run on QEMU`}},
		{"hw-kernel-on-ec2-hvm", `{"cmdline": "a"}`, EC2, hw, nil},
		{"ec2-hvm-no-devices", `{"cmdline": "a", "net": {"if": "wm0", "type": "inet", "method": "dhcp"}, "blk": {"source": "dev", "path": "/dev/ld0a"}}`, EC2, hw, []string{
			`1:32: /net/0/if: interface "wm0" does not exist on EC2 HVM: use no interface`,
			`1:107: /blk/0/path: device "/dev/ld0a" does not exist on EC2 HVM: hw kernels have no driver`}},
		{"gce-vioif0", `{"cmdline": "a", "net": {"if": "vioif0", "type": "inet", "method": "dhcp"}}`, GCE, hw, nil},
		{"gce-names", `{"cmdline": "a", "net": [{"if": "xenif0", "cloner": true, "type": "inet", "method": "dhcp"}, {"if": "wm0", "type": "inet", "method": "dhcp"}, {"if": "vioif1", "type": "inet", "method": "dhcp"}]}`, GCE, nil, []string{
			`1:33: /net/0/if: interface "xenif0" does not exist on GCE: use vioif0 (the instance's virtio-net NIC)`,
			`1:101: /net/1/if: interface "wm0" does not exist on GCE: use vioif0`,
			`1:150: /net/2/if: interface "vioif1" does not exist on GCE: use vioif0`}},
		{"gce-no-disks", `{"cmdline": "a", "blk": [{"source": "dev", "path": "/dev/ld0a"}, {"source": "etfs", "path": "sda1"}, {"source": "dev", "path": "virtual", "fstype": "kernfs", "mountpoint": "/kern"}]}`, GCE, hw, []string{
			`1:52: /blk/0/path: device "/dev/ld0a" does not exist on GCE: no disk is attached on GCE`,
			`1:77: /blk/1/source: etfs exists only on Xen; GCE attaches no disk`}},
		{"pv-kernel-on-gce", `{"cmdline": "a"}`, GCE, pv, []string{
			`1:1: the kernel is a Xen PV kernel; it cannot run on GCE`}},
		{"gce-wire-limit", `{"cmdline": "` + strings.Repeat("x", 4082) + `"}`, GCE, hw, []string{
			`1:1: wire form is 4096 bytes, over the 4095-byte limit of the config module of the boot image`}},
		{"hw-wire-limit", `{"cmdline": "` + strings.Repeat("x", 4082) + `"}`, QEMU, nil, []string{
			`1:1: wire form is 4096 bytes, over the 4095-byte limit`}},
		{"hw-wire-at-limit", `{"cmdline": "` + strings.Repeat("x", 4081) + `"}`, ISO, nil, nil},
		{"xen-pv-cmdline-limit", `{"cmdline": "` + strings.Repeat("x", 1100) + `"}`, Xen, nil, []string{
			`W 1:1: wire form is 1114 bytes, over the 1024-byte limit of the Xen PV command line`}},
		{"wire-escape", `{"cmdline": "say \"hi\""}`, QEMU, nil, []string{
			`1:13: /cmdline: "cmdline" contains '"'`}},
		{"initrd-kernel-reads-canonical", `{"cmdline": "say \"hi\" ` + strings.Repeat("x", 5000) + `"}`, QEMU,
			&kernel.Kernel{Platform: kernel.PlatformHW, Protocols: []string{"initrd/1"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.in)
			ds := c.CheckTarget(tc.target, tc.k)
			var got []string
			for _, d := range ds {
				s := strings.TrimPrefix(d.String(), "t.json:")
				if d.Warning {
					s = "W " + strings.Replace(s, "warning: ", "", 1)
				}
				got = append(got, s)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d diagnostics, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("got  %s\nwant %s...", got[i], tc.want[i])
				}
			}
		})
	}
}

func TestHasDriver(t *testing.T) {
	for _, c := range []struct {
		k    *kernel.Kernel
		want bool
	}{
		{nil, true},
		{&kernel.Kernel{}, true},
		{&kernel.Kernel{Bake: &kernel.BakeRecord{Config: "hw_generic"}}, true},
		{&kernel.Kernel{Bake: &kernel.BakeRecord{Config: "hw_virtio"}}, true},
		{&kernel.Kernel{Bake: &kernel.BakeRecord{Config: "xen_pv"}}, false},
		{&kernel.Kernel{Bake: &kernel.BakeRecord{Config: "custom", Components: []string{"rumpdev_pci_if_wm"}}}, false},
		{&kernel.Kernel{Bake: &kernel.BakeRecord{Config: "custom", Components: []string{"rumpdev_pci_virtio_if_vioif"}}}, true},
	} {
		if got := HasDriver(c.k, "vioif"); got != c.want {
			t.Errorf("%+v: HasDriver vioif = %v", c.k, got)
		}
	}
}

func TestHostMap(t *testing.T) {
	c := mustParse(t, `{"cmdline": "a", "net": [{"if": "vioif0", "type": "inet", "method": "dhcp"}, {"if": "wm1", "type": "inet", "method": "dhcp"}],
		"blk": [{"source": "dev", "path": "/dev/ld1a", "fstype": "blk", "mountpoint": "/d"}, {"source": "dev", "path": "virtual", "fstype": "kernfs", "mountpoint": "/kern"}]}`)
	got := c.HostMap(QEMU, nil)
	want := []Mapping{
		{"/net/0", "vioif0", "virtio-net PCI device number 0 (-device virtio-net-pci, in slot order)"},
		{"/net/1", "wm1", "e1000 PCI device number 1 (-device e1000, in slot order)"},
		{"/blk/0", "/dev/ld1a", "virtio-blk disk number 1 (-drive if=virtio), partition a, mounted at /d"},
		{"/blk/1", "kernfs", "none: the kernel's own file system, mounted at /kern"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got  %+v\nwant %+v", got[i], want[i])
		}
	}
	x := c.HostMap(Xen, nil)
	if !strings.HasPrefix(x[0].Host, "none: Xen PV names interfaces xenifN") {
		t.Errorf("vioif0 on Xen: %+v", x[0])
	}
	g := c.HostMap(GCE, nil)
	if g[0].Host != "the instance's network interface (nicType VIRTIO_NET, default network)" ||
		!strings.HasPrefix(g[1].Host, "none: GCE names interfaces vioif0") || !strings.HasPrefix(g[2].Host, "none: no disk is attached on GCE") {
		t.Errorf("GCE: %+v", g)
	}
}

func TestLoad(t *testing.T) {
	cfg := []byte(`{"cmdline": "from-initrd"}`)
	archive := func(gz bool, name string) []byte {
		var b bytes.Buffer
		w := initrd.NewWriter(&b)
		for _, e := range []struct {
			name string
			mode uint32
			data []byte
		}{{"bin", initrd.TypeDir | 0o755, nil}, {"bin/app", initrd.TypeReg | 0o755, []byte("ELF")}, {name, initrd.TypeReg | 0o644, cfg}} {
			if err := w.WriteHeader(&initrd.Header{Name: e.name, Mode: e.mode, Size: int64(len(e.data)), Links: 1}); err != nil {
				t.Fatal(err)
			}
			w.Write(e.data)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if !gz {
			return b.Bytes()
		}
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(b.Bytes())
		zw.Close()
		return z.Bytes()
	}
	for _, tc := range []struct {
		name  string
		in    []byte
		label string
		err   string
	}{
		{"plain", archive(false, "json.cfg"), "app.initrd:/json.cfg", ""},
		{"gzip", archive(true, "json.cfg"), "app.initrd:/json.cfg", ""},
		{"dot-slash", archive(false, "./json.cfg"), "app.initrd:/json.cfg", ""},
		{"none", archive(false, "etc/json.cfg"), "", "app.initrd: initrd has no /json.cfg"},
		{"truncated", archive(false, "json.cfg")[:200], "", "app.initrd: initrd:"},
		{"xz", []byte{0xfd, '7', 'z', 'X', 'Z', 0, 1, 2}, "", "only gzip is supported"},
		{"text", cfg, "app.initrd", ""},
	} {
		data, label, err := Load("app.initrd", bytes.NewReader(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || label != tc.label || !bytes.Equal(data, cfg) {
			t.Errorf("%s: got %q %q %v", tc.name, data, label, err)
		}
	}
	// Text input is read only up to MaxSize+1 bytes.
	data, _, _ := Load("big", bytes.NewReader(make([]byte, 3*MaxSize)))
	if len(data) != MaxSize+1 {
		t.Errorf("Load read %d bytes of a huge input", len(data))
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"hostnme", "hostname"}, {"HOSTNAME", "hostname"}, {"comdline", "cmdline"}, {"nett", "net"}, {"blks", "blk"},
		{"zzzz", ""}, {"x", ""}, {"environment", ""},
	} {
		if got := suggest(tc.in, topKeys); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// "mask": 24.0 is the integer 24 to JSON Schema, so it is taken as one,
// however it is written.
func TestMaskWrittenAsNumber(t *testing.T) {
	for _, m := range []string{"24", "24.0", "2.4e1", "240e-1"} {
		c := mustParse(t, `{"cmdline": "a", "net": [{"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": `+m+`}]}`)
		if c.Net[0].Addr != "10.0.0.2/24" {
			t.Errorf("mask %s: addr %q", m, c.Net[0].Addr)
		}
	}
	_, _, err := Parse("t.json", []byte(`{"cmdline": "a", "net": [{"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": 24.5}]}`))
	if err == nil || !strings.Contains(err.Error(), `/net/0/mask: "mask" must be an integer, not a number`) {
		t.Errorf("mask 24.5: %v", err)
	}
}
