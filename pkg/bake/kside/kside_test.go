package kside

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"hash/crc32"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rumptools/rumptools/pkg/initrd"
)

var drivers sync.Map // *testing.T -> driver path

// driver compiles testdata/driver.c with the kernel side's host-portable
// files and the host gcc, once per test.
func driver(t *testing.T) string {
	t.Helper()
	if p, ok := drivers.Load(t); ok {
		return p.(string)
	}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc: the kernel side's host tests need a C compiler (apt-get install gcc)")
	}
	if _, err := os.Stat("/usr/include/zlib.h"); err != nil {
		t.Skip("no zlib.h: the kernel side's host tests need zlib (apt-get install zlib1g-dev)")
	}
	p := filepath.Join(t.TempDir(), "driver")
	cmd := exec.Command("gcc", "-O1", "-Wall", "-Wextra", "-Werror", "-o", p,
		"testdata/driver.c", "c/archive.c", "c/json.c", "c/config.c", "-lz")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	drivers.Store(t, p)
	t.Cleanup(func() { drivers.Delete(t) })
	return p
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(driver(t), args...).Output()
	if err != nil {
		t.Fatalf("driver %q: %v", args, err)
	}
	return string(out)
}

func runFile(t *testing.T, cmd string, data []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return run(t, cmd, f)
}

// esc renders a string as the driver prints it.
func esc(s string) string {
	var b strings.Builder
	b.WriteByte('<')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' {
			fmt.Fprintf(&b, "\\x%02x", c)
		} else {
			b.WriteByte(c)
		}
	}
	b.WriteByte('>')
	return b.String()
}

type entry struct {
	h    initrd.Header
	data []byte
}

func archive(t *testing.T, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := initrd.NewWriter(&buf)
	for _, e := range es {
		h := e.h
		if h.Mode&initrd.ModeType == initrd.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := w.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	z := gzip.NewWriter(&out)
	z.Write(b)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// rawEntry is one newc entry written by hand, for names and fields the
// project's writer would refuse.
func rawEntry(name string, mode, ino, nlink uint32, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
	b.WriteString(name)
	b.WriteByte(0)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.Write(data)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func trailer() []byte { return rawEntry("TRAILER!!!", 0, 0, 1, nil) }

func fileLine(name string, mode uint32, data []byte) string {
	return fmt.Sprintf("file %s %04o %d %08x", esc(name), mode&0o7777, len(data), crc32.ChecksumIEEE(data))
}

// The awkward tree: every kind of entry the kernel creates, names with
// spaces and UTF-8, modes, an empty and a multi-MiB file, a hard link
// pair (data on the last name, as cpio writes it) and a device node.
func awkward() ([]entry, []string) {
	big := make([]byte, 3<<20+5)
	rand.New(rand.NewSource(1)).Read(big)
	hello := []byte("hello\n")
	pair := []byte("shared data\n")
	es := []entry{
		{h: initrd.Header{Name: ".", Mode: initrd.TypeDir | 0o755}},
		{h: initrd.Header{Name: "./etc", Mode: initrd.TypeDir | 0o755}},
		{h: initrd.Header{Name: "./etc/hosts", Mode: initrd.TypeReg | 0o644}, data: []byte("10.0.0.1 here\n")},
		{h: initrd.Header{Name: "a dir/sub/ü ñ", Mode: initrd.TypeReg | 0o600}, data: hello},
		{h: initrd.Header{Name: "empty", Mode: initrd.TypeReg | 0o444}},
		{h: initrd.Header{Name: "big", Mode: initrd.TypeReg | 0o4755}, data: big},
		{h: initrd.Header{Name: "private", Mode: initrd.TypeDir | 0o700}},
		{h: initrd.Header{Name: "link", Mode: initrd.TypeLink | 0o777, Linkname: "a dir/sub/ü ñ"}},
		{h: initrd.Header{Name: "h1", Mode: initrd.TypeReg | 0o640, Inode: 9, Links: 2}},
		{h: initrd.Header{Name: "h2", Mode: initrd.TypeReg | 0o640, Inode: 9, Links: 2}, data: pair},
		{h: initrd.Header{Name: "dev/null", Mode: initrd.TypeChar | 0o666, Rdevmajor: 1, Rdevminor: 3}},
	}
	want := []string{
		"mkdir <etc> 0755",
		fileLine("etc/hosts", 0o644, es[2].data),
		fileLine("a dir/sub/ü ñ", 0o600, hello),
		fileLine("empty", 0o444, nil),
		fileLine("big", 0o4755, big),
		"mkdir <private> 0700",
		"symlink <link> " + esc("a dir/sub/ü ñ"),
		fileLine("h1", 0o640, nil),
		fileLine("h2", 0o640, pair),
		"copy <h2> <h1> 0640",
	}
	return es, want
}

func TestUnpack(t *testing.T) {
	es, want := awkward()
	a := archive(t, es)
	ok := fmt.Sprintf("ok entries=11 dirs=3 files=6 links=1 hardlinks=1 skipped=1 bytes=%d cfg=0", 14+6+(3<<20+5)+12)
	one := strings.Join(want, "\n") + "\n" + ok + "\n"
	if got := runFile(t, "unpack", a); got != one {
		t.Errorf("plain:\n%s\nwant:\n%s", got, one)
	}
	if got := runFile(t, "unpack", gz(t, a)); got != one {
		t.Errorf("gzip:\n%s\nwant:\n%s", got, one)
	}

	// Several archives: plain, zero padding, two gzip members, then plain
	// again at an odd offset.
	second := archive(t, []entry{{h: initrd.Header{Name: "etc/hosts", Mode: initrd.TypeReg | 0o600}, data: []byte("override\n")}})
	third := archive(t, []entry{{h: initrd.Header{Name: "json.cfg", Mode: initrd.TypeReg | 0o644}, data: []byte("{}")}})
	var cat []byte
	cat = append(cat, a...)
	cat = append(cat, make([]byte, 512)...)
	cat = append(cat, gz(t, second)...)
	cat = append(cat, gz(t, third)...)
	cat = append(cat, 0, 0, 0)
	cat = append(cat, second...)
	got := runFile(t, "unpack", cat)
	wantCat := strings.Join(want, "\n") + "\n" +
		fileLine("etc/hosts", 0o600, []byte("override\n")) + "\n" +
		fileLine("json.cfg", 0o644, []byte("{}")) + "\n" +
		fileLine("etc/hosts", 0o600, []byte("override\n")) + "\n"
	if !strings.HasPrefix(got, wantCat) || !strings.Contains(got, "ok entries=14 ") {
		t.Errorf("concatenated:\n%s\nwant:\n%s", got, wantCat)
	}

	// Hard links whose data comes first: later names get copies.
	hl := append(rawEntry("d1", initrd.TypeReg|0o644, 5, 3, []byte("x")), rawEntry("d2", initrd.TypeReg|0o644, 5, 3, nil)...)
	hl = append(hl, rawEntry("d3", initrd.TypeReg|0o644, 5, 3, nil)...)
	hl = append(hl, trailer()...)
	got = runFile(t, "unpack", hl)
	if !strings.Contains(got, "copy <d1> <d2> 0644\n") || !strings.Contains(got, "copy <d1> <d3> 0644\n") || !strings.Contains(got, "hardlinks=2") {
		t.Errorf("hard links, data first:\n%s", got)
	}
}

func TestUnpackRefuses(t *testing.T) {
	good, _ := awkward()
	a := archive(t, good[:5])
	gza := gz(t, a)
	badCRC := append([]byte{}, gza...)
	badCRC[len(badCRC)-6] ^= 0xff // in the CRC-32 of the trailer
	for _, c := range []struct {
		name string
		in   []byte
		want string
	}{
		{"truncated header", a[:60], "error truncated archive: the input ends inside a header"},
		{"truncated data", a[:360], "error entry 3 at offset 228 (./etc/hosts): truncated archive: the input ends inside this entry"},
		{"no trailer", rawEntry("x", initrd.TypeReg|0o644, 1, 1, nil), "error truncated archive: no TRAILER!!! entry"},
		{"bad magic", append([]byte("070703"), a[6:]...), "error offset 0: bad header magic (not a newc cpio archive)"},
		{"not an archive", []byte(`{"cmdline": "x"}`), "error offset 0: bad header magic (not a newc cpio archive)"},
		{"truncated gzip", gza[:len(gza)/2], "error gzip: truncated compressed data"},
		{"gzip crc", badCRC, "error gzip: incorrect data check"},
		{"bad field", append(append([]byte{}, a[:20]...), append([]byte("zz"), a[22:]...)...), "error offset 0: bad header field"},
		{"dotdot", append(rawEntry("x/../json.cfg", initrd.TypeReg|0o644, 1, 1, []byte("{}")), trailer()...), "error entry 1 at offset 0 (x/../json.cfg): name is not relative"},
		{"absolute", append(rawEntry("/json.cfg", initrd.TypeReg|0o644, 1, 1, []byte("{}")), trailer()...), "(/json.cfg): name is not relative"},
		{"empty component", append(rawEntry("a//b", initrd.TypeReg|0o644, 1, 1, nil), trailer()...), "(a//b): name is not relative"},
		{"trailing slash", append(rawEntry("dir/", initrd.TypeDir|0o755, 1, 1, nil), trailer()...), "(dir/): name is not relative"},
		{"later entry", append(append(rawEntry("ok", initrd.TypeReg|0o644, 1, 1, nil), rawEntry("..", initrd.TypeDir|0o755, 2, 1, nil)...), trailer()...), "error entry 2 at offset 116 (..): name is not relative"},
		{"dot component", append(rawEntry("a/./json.cfg", initrd.TypeReg|0o644, 1, 1, nil), trailer()...), "(a/./json.cfg): name is not relative"},
		{"below a link", append(append(rawEntry("x", initrd.TypeLink|0o777, 1, 1, []byte("/")), rawEntry("x/json.cfg", initrd.TypeReg|0o644, 2, 1, []byte("{}"))...), trailer()...),
			"(x/json.cfg): lies below a symbolic link of the archive"},
	} {
		got := runFile(t, "unpack", c.in)
		last := got[strings.LastIndex(strings.TrimSuffix(got, "\n"), "\n")+1:]
		if !strings.HasPrefix(last, "error ") || !strings.Contains(last, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// The last json.cfg entry decides whether /json.cfg can be the config: a
// regular file that is not a hard link.
func TestJSONCfgEntry(t *testing.T) {
	cfg := []byte("{}")
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{append(rawEntry("json.cfg", initrd.TypeReg|0o644, 1, 1, cfg), trailer()...), " cfg=1\n"},
		{append(rawEntry("./json.cfg", initrd.TypeReg|0o644, 1, 2, cfg), trailer()...), " cfg=1 cfgbad=a hard link"},
		{append(rawEntry("json.cfg", initrd.TypeLink|0o777, 1, 1, []byte("etc/x")), trailer()...), " cfg=1 cfgbad=not a regular file"},
		{append(append(rawEntry("json.cfg", initrd.TypeLink|0o777, 1, 1, []byte("x")), rawEntry("json.cfg", initrd.TypeReg|0o644, 2, 1, cfg)...), trailer()...), " cfg=2\n"},
	} {
		if got := runFile(t, "unpack", c.in); !strings.Contains(got, c.want) {
			t.Errorf("%q: want %q", got, c.want)
		}
	}
}

func TestNameRule(t *testing.T) {
	for name, want := range map[string]string{
		".": "<>", "./a": "<a>", "a/b c": "<a/b c>", "./.": "<>", "a/./b": "refused", "...": "<...>", "./.a": "<.a>",
		"": "refused", "./": "refused", "/a": "refused", "../a": "refused", "a/..": "refused",
		"a//b": "refused", "a/": "refused", ".//a": "refused", "././../a": "refused", "././a": "refused", "a/.": "refused",
	} {
		if got := strings.TrimSpace(run(t, "name", name)); got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
		}
	}
}

// The initrd goes as high as it can below the top of memory, clear of
// what the boot loader left there.
func TestPlace(t *testing.T) {
	for in, want := range map[string]string{
		"8000000 100000":                                 "0x7f00000",
		"8000000 100001":                                 "0x7eff000",
		"8000000 100000 7f80000 7f80100":                 "0x7e80000", // the loader's information
		"8000000 100000 7e90000 7e91000 7f80000 7f80100": "0x7d90000", // one place after another
		"8000000 100000 7000000 7f00000":                 "0x7f00000", // just below: no overlap
		"8000000 9000000":                                "0",
		"8000000 100000 0 8000000":                       "0",
	} {
		if got := strings.TrimSpace(run(t, "place", in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestSplit(t *testing.T) {
	for in, want := range map[string][]string{
		"prog a b":                {"prog", "a", "b"},
		" \tprog\n a  ":           {"prog", "a"},
		`a "b c" 'd e'`:           {"a", "b c", "d e"},
		`"it's" 'say "hi"'`:       {"it's", `say "hi"`},
		`a\ b c\\d \"e`:           {"a b", `c\d`, `"e`},
		`x"y z"w`:                 {"xy zw"},
		`"" ''`:                   {"", ""},
		"ü \u00e9\t😀":             {"ü", "é", "😀"},
		`"a\"b" 'c\'d'`:           {`a"b`, `c'd`},
		`end\`:                    {"end"},
		`\`:                       {},
		"":                        {},
		`"unterminated quote a b`: {"unterminated quote a b"},
	} {
		out := run(t, "split", in)
		var got []string
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		for _, l := range lines[1:] {
			got = append(got, l)
		}
		var w []string
		for _, s := range want {
			w = append(w, esc(s))
		}
		if lines[0] != fmt.Sprintf("argc %d", len(want)) || strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("%q: %q, want %q", in, out, w)
		}
	}
}

func TestWords(t *testing.T) {
	for in, want := range map[string]string{
		`/boot/kernel {"cmdline":"x"}`:                               "canonical=0 exitport=0 json=13",
		`k rumpboot=initrd/1 {"a":"{"}`:                              "canonical=1 exitport=0 json=20",
		`rumpboot.exit=0xf4 rumpboot=initrd/1`:                       "canonical=1 exitport=0xf4 json=-1",
		`rumpboot.exit=244{}`:                                        "canonical=0 exitport=0xf4 json=17",
		`k rumpboot=initrd/2 rumpboot.other=x _RUMPRUN_ROOTFSCFG=/x`: "canonical=0 exitport=0 json=-1",
		`{"cmdline":"rumpboot=initrd/1"}`:                            "canonical=0 exitport=0 json=0",
		`k rumpboot.exit=0x10000 {}`:                                 "error command line: rumpboot.exit=0x10000: want an I/O port",
		`k rumpboot.exit= {}`:                                        "error command line: rumpboot.exit=: want an I/O port",
		`k rumpboot.exit=f4 {}`:                                      "error command line: rumpboot.exit=f4: want an I/O port",
	} {
		if got := run(t, "words", in); !strings.HasPrefix(got, want) {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

func TestDisk(t *testing.T) {
	for in, want := range map[string]string{
		"ld0": "/dev/ld0a /mnt/ld0a", "sd12": "/dev/sd12a /mnt/sd12a", "wd1": "/dev/wd1a /mnt/wd1a",
		"xbd0": "/dev/xbd0a /mnt/xbd0a", "cd0": "/dev/cd0a /mnt/cd0a",
		"vnd0": "none", "md0": "none", "ld": "none", "ld0x": "none", "raid0": "none", "dk0": "none", "": "none",
	} {
		if got := strings.TrimSpace(run(t, "disk", in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// A Xen PV kernel's ramdisk, as start_info says (x86_64 offsets of Xen's
// public start_info_t): a virtual address, or a page frame under
// SIF_MOD_START_PFN (8).
func TestXenModule(t *testing.T) {
	for _, c := range []struct{ args, want string }{
		{"xen-3.0-x86_64 0 2c3000 5000 0", "0x2c3000 20480"},
		{"xen-3.0-x86_64 0 0 0 0", "none"},
		{"xen-3.0-x86_64 0 2c3000 0 0", "none"},
		{"xen-3.0-x86_64 8 2c3 1000 0", "0x2c3000 4096"},
		{"xen-3.0-x86_64 8 2c3 1000 ffff800000000000", "0xffff8000002c3000 4096"},
		{"xen-3.0-x86_64 0 fffffffffffff000 2000 0", "error start_info: ramdisk at 0xfffffffffffff000, 8192 bytes: out of range"},
		{"xen-3.0-x86_64 8 10000000000000 1000 0", "error start_info: ramdisk page frame 0x10000000000000 out of range"},
		{"xen-3.0-x86_64 8 fffffffffffff 1000 0", "error start_info: ramdisk at 0xfffffffffffff000, 4096 bytes: out of range"},
		{"nonsense 0 2c3000 5000 0", `error start_info: no "xen-" magic`},
	} {
		if got := strings.TrimSpace(run(t, append([]string{"xenmod"}, strings.Fields(c.args)...)...)); got != c.want {
			t.Errorf("%s: %q, want %q", c.args, got, c.want)
		}
	}
}

// vbds are named as rumprun's Xen block driver names them back
// (devname2vbd in platform/xen/rumphyper_bio.c), or not at all.
func TestXenVbdName(t *testing.T) {
	for vbd, want := range map[int]string{
		202<<8 | 0<<4:      "xvda", // 51712, xl's xvda
		202<<8 | 1<<4:      "xvdb",
		202<<8 | 15<<4 | 3: "xvdp3",
		1<<28 | 16<<8:      "xvdq",
		1<<28 | 25<<8 | 9:  "xvdz9",
		1<<28 | 26<<8:      "none",
		1<<28 | 3<<8:       "none", // rumprun maps xvdd to major 202
		8<<8 | 1<<4 | 1:    "sdb1", // EC2's sda1 style
		3<<8 | 1<<6:        "hdb",
		22<<8 | 1<<6 | 2:   "hdd2",
		3<<8 | 2<<6:        "none",
		202<<8 | 10:        "none", // partition 10: rumprun takes one digit
		7 << 8:             "none",
	} {
		if got := strings.TrimSpace(run(t, "vbd", fmt.Sprint(vbd))); got != want {
			t.Errorf("vbd %d: %q, want %q", vbd, got, want)
		}
	}
}

// Of the vifs in xenstore, rumprun's N-th xenif binds vif N: the default
// creates xenif0 up to the first gap.
func TestXenVifs(t *testing.T) {
	for in, want := range map[string]string{
		"": "0", "0": "1", "1 0": "2", "0 1 2": "3", "0 2": "1", "1": "0", "00": "0", "0 0": "1",
	} {
		if got := strings.TrimSpace(run(t, "vifs", in)); got != want {
			t.Errorf("%q: %s, want %s", in, got, want)
		}
	}
}

func TestConfig(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string // lines the output contains, in order
	}{
		{`{"cmdline": "show \"a b\"\t'c d' \\\\x \u00fc\ud83d\ude00 \u0026"}`, []string{
			"exec 0 flags=0 cmdline=1 argc=6", "argv <show>", "argv <a b>", "argv <c d>", `argv <\x5cx>`,
			"argv <\\xc3\\xbc\\xf0\\x9f\\x98\\x80>", "argv <&>", "net default 0", "blk default 0"}},
		{`{"rc": [{"bin": "a", "argv": ["x\ny", "\"q\"", ""], "runmode": "|"}, {"bin": "b", "argv": [], "runmode": "&"}, {"bin": "c", "argv": []}],
		   "env": {"T_A": "1\t2", "T_B": "\\", "T_C": ""}, "hostname": "h1", "$schema": "x"}`, []string{
			"hostname <h1>", "exec 0 flags=2 cmdline=0 argc=4", "argv <a>", `argv <x\x0ay>`, `argv <"q">`, "argv <>",
			"exec 1 flags=1 cmdline=0 argc=1", "argv <b>", "exec 2 flags=0 cmdline=0 argc=1",
			`env <T_A>=<1\x092>`, `env <T_B>=<\x5c>`, "env <T_C>=<>"}},
		{`{"net": [], "blk": []}`, []string{"net given 0", "blk given 0"}},
		{`{"net": {"if": "vioif0", "type": "inet", "method": "dhcp"},
		   "blk": [{"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "/data"}, {"source": "etfs", "path": "xvda"}]}`, []string{
			"net given 1", "blk given 2",
			`wire {"net":{"if":"vioif0","type":"inet","method":"dhcp"},"blk":{"source":"dev","path":"/dev/ld0a","fstype":"blk","mountpoint":"/data"},"blk":{"source":"etfs","path":"xvda"}}`}},
		{`{"net": [{"if": "xenif0", "cloner": true, "type": "inet", "method": "static", "addr": "10.0.0.2", "mask": 24}, {"if": "vioif1", "type": "inet6", "method": "auto"}]}`, []string{
			`wire {"net":{"if":"xenif0","cloner":"true","type":"inet","method":"static","addr":"10.0.0.2","mask":"24"},"net":{"if":"vioif1","type":"inet6","method":"auto"}}`}},
		{`{"blk": {"source": "dev", "path": "/dev/\"x", "fstype": "blk", "mountpoint": "/m"}}`, []string{`wire-error path "/dev/"x": rumprun's net and blk configuration cannot take a quote`}},
		{`{"net": {"if": "vioif0", "type": "inet", "method": "static", "addr": "10.0.0.2"}}`, []string{"wire-error net vioif0: address \"10.0.0.2\" has no prefix length"}},
		{`{}`, []string{"net default 0", "blk default 0"}},

		// Errors: where, the key and the reason.
		{`{"cmdline": "a", "rc": [{"bin": "a", "argv": []}]}`, []string{`error cfg:1:13: /cmdline: not together with "rc"`}},
		{`{"cmdline": "a", "cmdline": "b"}`, []string{`error cfg: line 1 column 18: key "cmdline" given twice`}},
		{`{"host": "x"}`, []string{"error cfg:1:10: /host: unknown key (want hostname, cmdline, rc, env, net or blk)"}},
		{"{\n  \"env\": {\"A\": 1}}", []string{"error cfg:2:16: /env/A: want a string, not a number"}},
		{`{"env": {"A=B": "x"}}`, []string{"error cfg:1:17: /env/A=B: a variable name must be non-empty and without '='"}},
		{`{"env": "A=B"}`, []string{"error cfg:1:9: /env: want an object, not a string"}},
		{`{"rc": [{"bin": "a", "argv": [], "runmode": "|"}]}`, []string{`error cfg:1:8: /rc: the last program cannot pipe`}},
		{`{"rc": [{"bin": "a"}]}`, []string{`error cfg:1:9: /rc/0: no "argv"`}},
		{`{"rc": [{"bin": "a", "argv": [1]}]}`, []string{`error cfg:1:31: /rc/0/argv/0: want a string, not a number`}},
		{`{"rc": [{"bin": "a", "argv": [], "runmode": "x"}]}`, []string{`error cfg:1:45: /rc/0/runmode: "x": want & or |`}},
		{`{"net": [{"if": "vioif0", "type": "inet", "method": "auto"}]}`, []string{"error cfg:1:10: /net/0: method auto is for type inet6"}},
		{`{"net": [{"if": "vioif0", "type": "inet", "method": "static", "addr": "1.2.3.4/8", "mask": 1.5}]}`, []string{"error cfg:1:92: /net/0/mask: want a prefix length"}},
		{`{"net": [{"if": "vioif0", "type": "inet"}]}`, []string{`error cfg:1:10: /net/0: "if", "type" and "method" are required`}},
		{`{"net": "vioif0"}`, []string{"error cfg:1:9: /net: want an array of objects, or one object, not a string"}},
		{`{"blk": [{"source": "dev", "path": "/dev/ld0a", "mountpoint": "/m"}]}`, []string{`error cfg:1:10: /blk/0: a mountpoint needs "fstype"`}},
		{`{"blk": [{"source": "dev", "path": "/dev/ld0a", "fstype": "blk", "mountpoint": "m"}]}`, []string{`error cfg:1:80: /blk/0/mountpoint: not an absolute path`}},
		{`{"cmdline": ""}`, []string{"error cfg:1:13: /cmdline: empty string"}},
		{`{"cmdline": " "}`, []string{"error cfg:1:13: /cmdline: no words"}},
		{`[]`, []string{"error cfg:1:1: /: want an object, not an array"}},
		{`{"cmdline": "a"} x`, []string{"error cfg: line 1 column 18: text after the JSON value"}},
		{`{"cmdline": "a",}`, []string{"error cfg: line 1 column 17: expected a string key"}},
		{`{"cmdline": "a\u0000"}`, []string{`error cfg: line 1 column 15: \u0000: a NUL cannot reach a program`}},
		{`{"cmdline": "\ud800"}`, []string{"error cfg: line 1 column 14: high surrogate without a low one"}},
		{`{"cmdline": "\udc00"}`, []string{"error cfg: line 1 column 14: lone low surrogate"}},
		{"{\"cmdline\": \"a\xff\"}", []string{"error cfg: line 1 column 15: invalid UTF-8"}},
		{"{\"cmdline\": \"a\tb\"}", []string{"error cfg: line 1 column 15: control character in a string"}},
		{`{"cmdline": "a\x"}`, []string{"error cfg: line 1 column 15: bad escape"}},
		{`{"hostname": "h", "net": [], "blk": [], "env": {}, "cmdline": tru}`, []string{"error cfg: line 1 column 63: unknown word"}},
		{`{"cmdline": 01}`, []string{"error cfg: line 1 column 14: expected ',' or '}'"}},
		{`{"cmdline": "a"`, []string{"error cfg: line 1 column 16: expected ',' or '}'"}},
		{strings.Repeat("[", 40), []string{"error cfg: line 1 column 33: nested too deeply"}},
	} {
		out := runFile(t, "config", []byte(c.in))
		rest := out
		for _, w := range c.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("%s:\n%s\nwant, in order:\n%s", c.in, out, strings.Join(c.want, "\n"))
				break
			}
			rest = rest[i+len(w):]
		}
	}
}

// What a bake compiles holds every file once, without the includes of
// the header (the real tests compile it with a rumprun toolchain).
func TestSourceEmbedded(t *testing.T) {
	for _, s := range []Side{HW, Xen} {
		testSource(t, s)
	}
}

func testSource(t *testing.T, s Side) {
	src := s.Source()
	other := map[string]string{"hw.c": "xen.c", "xen.c": "hw.c"}[s.file]
	if bytes.Contains(src, []byte("/* ---- "+other+" ---- */")) {
		t.Errorf("%s: Source holds %s", s.Platform, other)
	}
	for _, n := range Names() {
		if n == other {
			continue
		}
		want, _ := os.ReadFile(filepath.Join("c", n))
		got, err := File(n)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: embedded copy differs (%v)", n, err)
		}
		if !bytes.Contains(src, []byte("/* ---- "+n+" ---- */")) {
			t.Errorf("Source lacks %s", n)
		}
	}
	if got := strings.Join(Names(), " "); got != "archive.c config.c hw.c json.c kernel.c kside.h xen.c" {
		t.Errorf("embedded: %s", got)
	}
	if bytes.Contains(src, []byte(`#include "kside.h"`)) {
		t.Error(`Source still includes "kside.h"`)
	}
	f := filepath.Join(t.TempDir(), "k")
	if err := s.WriteFile(f); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); !bytes.Equal(b, src) {
		t.Error("WriteFile wrote other bytes than Source")
	}
}
