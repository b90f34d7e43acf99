package probe

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseTranscript(t *testing.T) {
	out := strings.Join([]string{
		"SeaBIOS noise",
		"probe: loader GRUB 2.06",
		`probe: cmdline /boot/kernel {"a":"b\x09c"} \x5c \xc3\xbc`,
		"probe: module 0 size 1024 string /boot/initrd.gz root",
		"probe: module 0 gzip",
		"probe: module 0 cpio 040755 0 etc",
		"probe: module 0 cpio 100644 12 etc/a\\x0ab",
		"probe: module 0 cpio 0100644 3 json.cfg",
		"probe: module 0 cpio-error gzip: CRC-32 mismatch",
		`probe: module 0 jsoncfg {"x":1}\x0a`,
		"probe: module 1 size 7 string ",
		`probe: module 1 json {"y":2}`,
		"probe: module 2 size 0 string",
		"probe: mem lower 639 upper 129920",
		"probe: pci 00:00.0 8086:1237 060000",
		"probe: pci 00:1f.7 1af4:1000 020000\r",
		"probe: end",
		"",
		`=== calling "probe" main() ===`,
		"hello from main",
		`=== main() of "probe" returned 3 ===`,
		"=== ERROR: _exit(3) called ===",
		"halted",
	}, "\n") + "\n"
	r, err := Parse([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	want := &Result{
		Output:     []byte(out),
		Loader:     "GRUB 2.06",
		Cmdline:    "/boot/kernel {\"a\":\"b\tc\"} \\ \u00fc",
		HasCmdline: true,
		Modules: []Module{
			{Size: 1024, String: "/boot/initrd.gz root", Gzip: true,
				Cpio:      []CpioEntry{{0o40755, 0, "etc"}, {0o100644, 12, "etc/a\nb"}, {0o100644, 3, "json.cfg"}},
				CpioError: "gzip: CRC-32 mismatch", JSONCfg: []byte("{\"x\":1}\n"), HasJSONCfg: true},
			{Size: 7, String: "", JSON: []byte(`{"y":2}`)},
			{Size: 0},
		},
		MemLowerKiB: 639, MemUpperKiB: 129920,
		PCI: []PCIFunction{
			{0, 0, 0, 0x8086, 0x1237, 0x060000},
			{0, 0x1f, 7, 0x1af4, 0x1000, 0x020000},
		},
		Ended: true,
		Markers: []string{
			`=== calling "probe" main() ===`, `=== main() of "probe" returned 3 ===`,
			"=== ERROR: _exit(3) called ===", "halted",
		},
		Calls:      []Call{{"probe", 3}},
		ExitStatus: 3,
		Halted:     true,
		Other:      []string{"SeaBIOS noise", "", "hello from main"},
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
	if r.Args() != "{\"a\":\"b\tc\"} \\ \u00fc" {
		t.Errorf("Args() = %q", r.Args())
	}
	if s := r.PCI[1].String(); s != "00:1f.7 1af4:1000 020000" {
		t.Errorf("PCIFunction.String() = %q", s)
	}
}

func TestParseEmptyAndBootstrapFailure(t *testing.T) {
	r, err := Parse(nil)
	if err != nil || r.ExitStatus != -1 || r.MemLowerKiB != -1 || r.HasCmdline || r.Ended {
		t.Errorf("empty output: %+v, %v", r, err)
	}
	r, err = Parse([]byte("probe: loader -\nprobe: end\n=== bootstrap failed\n"))
	if err != nil || r.Loader != "" || !r.BootstrapFailed || r.Halted || r.ExitStatus != -1 ||
		len(r.Calls) != 0 || !reflect.DeepEqual(r.Markers, []string{"=== bootstrap failed"}) {
		t.Errorf("bootstrap failure: %+v, %v", r, err)
	}
	r, err = Parse([]byte("=== calling \"a\" main() ===\n=== calling \"b\" main() ===\n=== main() of \"b\" returned 0 ===\n=== _exit(0) called ==="))
	if err != nil || !reflect.DeepEqual(r.Calls, []Call{{"a", -1}, {"b", 0}}) || r.ExitStatus != 0 {
		t.Errorf("calls: %+v, %v", r.Calls, err)
	}
}

// GRUB leaves a carriage return before the kernel's first line.
func TestParseCarriageReturns(t *testing.T) {
	r, err := Parse([]byte("\rprobe: loader GRUB\r\n\r\rprobe: cmdline a\\x0db\r\n"))
	if err != nil || r.Loader != "GRUB" || r.Cmdline != "a\rb" || len(r.Other) != 0 {
		t.Errorf("got %+v, %v", r, err)
	}
}

func TestParseMalformed(t *testing.T) {
	for _, line := range []string{
		"probe: bogus 1",
		"probe: loader a\\",
		"probe: loader a\\x4",
		"probe: loader a\\x4G",
		"probe: loader a\\X41",
		"probe: loader a\\x4A",
		"probe: cmdline tab\there",
		"probe: cmdline \xc3\xbc",
		"probe: module",
		"probe: module x size 1 string a",
		"probe: module -1 size 1 string a",
		"probe: module 01 size 1 string a",
		"probe: module 1 size 1 string a",
		"probe: module 0 size -1 string a",
		"probe: module 0 size 1k string a",
		"probe: module 0 size 1",
		"probe: module 0 gzip",
		"probe: module 0 cpio 100644 1 a",
		"probe: mem lower 1",
		"probe: mem lower x upper 2",
		"probe: mem lower 1 upper 2 more",
		"probe: pci 00:00.0 8086:1237",
		"probe: pci 0:0.0 8086:1237 060000",
		"probe: pci 00:00.0 8086:1237 06000",
		"probe: pci 00:00.0 8086:1237 0600000",
		"probe: pci 00:00.0 8086-1237 060000",
		"probe: end now",
		`=== main() of "probe" returned 1 ===`,
		`=== main() of "probe" returned x ===`,
		"=== _exit(x) called ===",
	} {
		_, err := Parse([]byte(line + "\n"))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 1 || pe.Text != line {
			t.Errorf("%q: error %v, want a ParseError for line 1", line, err)
		}
	}
	// Module lines need their module, in order.
	for _, out := range []string{
		"probe: module 0 size 1 string a\nprobe: module 1 gzip\n",
		"probe: module 0 size 1 string a\nprobe: module 0 cpio 644 1 a\n",
		"probe: module 0 size 1 string a\nprobe: module 0 cpio 000644 x a\n",
		"probe: module 0 size 1 string a\nprobe: module 0 cpio 000644 1\n",
		"probe: module 0 size 1 string a\nprobe: module 0 cpio 000648 1 a\n",
		"probe: module 0 size 1 string a\nprobe: module 0 gzip now\n",
		"probe: module 0 size 1 string a\nprobe: module 0 cpio-error\n",
		"probe: module 0 size 1 string a\nprobe: module 0 jsoncfg \\\n",
		"probe: module 0 size 1 string a\nprobe: module 0 zip\n",
		"probe: module 0 size 1 string a\nprobe: module 0 size 1 string a\n",
	} {
		r, err := Parse([]byte(out))
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line != 2 || r == nil || len(r.Modules) != 1 {
			t.Errorf("%q: error %v, want a ParseError for line 2 after one module", out, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("probe: module 0 size 1 string a\nprobe: module 0 cpio 100644 1 \\x41\n"))
	f.Add([]byte("probe: pci 00:00.0 8086:1237 060000\n=== _exit(1) called ===\nhalted\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		// Never a panic; always the part decoded so far.
		r, err := Parse(b)
		if r == nil {
			t.Fatalf("nil result (err %v)", err)
		}
	})
}

func TestQEMUArgs(t *testing.T) {
	args, err := QEMUArgs(BootOptions{
		Kernel:  "/k,x",
		Append:  "a, b",
		Modules: []BootModule{{"/m,1", "s,t u"}, {"/m2", ""}},
		Memory:  64, ExtraArgs: []string{"-device", "e1000"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-accel", "tcg", "-m", "64", "-nodefaults", "-vga", "none", "-display", "none",
		"-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
		"-kernel", "/k,x", "-append", "a, b", "-initrd", "/m,,1 s,,t u,/m2", "-device", "e1000"}
	if !reflect.DeepEqual(args, want) {
		t.Errorf("got  %q\nwant %q", args, want)
	}
	args, err = QEMUArgs(BootOptions{Kernel: "/k", NoAppend: true})
	if err != nil || strings.Contains(strings.Join(args, " "), "-append") || args[3] != "128" {
		t.Errorf("NoAppend: %q, %v", args, err)
	}
	if _, err := QEMUArgs(BootOptions{Kernel: "/k", Modules: []BootModule{{"/a b", ""}}}); err == nil {
		t.Error("module path with a space accepted")
	}
	if _, err := QEMUArgs(BootOptions{}); err == nil {
		t.Error("no kernel accepted")
	}
}
