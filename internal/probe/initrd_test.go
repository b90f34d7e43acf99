package probe

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/rumptools/rumptools/pkg/initrd"
)

// newc writes one entry by hand (magic 070701 or 070702), for archives
// the cpio package does not write: the crc format and damaged ones.
func newc(magic, name string, mode uint32, body string) []byte {
	sum := uint32(0)
	if magic == "070702" {
		for _, c := range []byte(body) {
			sum += uint32(c)
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		magic, 1, mode, 0, 0, 1, 0, len(body), 0, 0, 0, 0, len(name)+1, sum)
	b.WriteString(name + "\x00")
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	b.WriteString(body)
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
	return b.Bytes()
}

func trailer(magic string) []byte { return newc(magic, "TRAILER!!!", 0, "") }

// btype is the type of the first deflate block of a gzip stream without
// optional header fields: 0 stored, 1 fixed, 2 dynamic Huffman.
func btype(gz []byte) int { return int(gz[10]>>1) & 3 }

// A gzip initrd reports the same entries as the plain archive, whatever
// kind of deflate blocks it holds, over several members and with every
// optional header field.
func TestGzipInitrd(t *testing.T) {
	cfg := `{"rc": [{"bin": "probe", "argv": ["a"]}]}`
	entries := []entry{
		{"bin", cpio.TypeDir | 0o755, ""},
		{"bin/tool", cpio.TypeReg | 0o755, "#!/bin/sh\necho tool\n"},
		{"bin/alias", cpio.TypeSymlink | 0o777, "tool"},
		{"json.cfg", cpio.TypeReg | 0o644, cfg},
	}
	plain := newcArchive(t, entries)
	// A larger archive: several deflate blocks, long matches, >64 KiB stored blocks.
	var big strings.Builder
	for i := 0; big.Len() < 300<<10; i++ {
		fmt.Fprintf(&big, "line %d %x %s\n", i, i*i*2654435761, strings.Repeat("ab", i%37))
	}
	bigEntries := append(slices.Clone(entries), entry{"data/big.txt", cpio.TypeReg | 0o644, big.String()})
	bigPlain := newcArchive(t, bigEntries)

	stored := gz(t, gzip.NoCompression, plain)
	fixed := gz(t, gzip.BestCompression, plain)
	dynamic := gz(t, gzip.BestSpeed, plain)
	for name, c := range map[string]struct {
		b    []byte
		want int
	}{"stored": {stored, 0}, "fixed": {fixed, 1}, "dynamic": {dynamic, 2}} {
		if got := btype(c.b); got != c.want {
			t.Fatalf("%s gzip starts with block type %d, want %d: the test no longer covers it", name, got, c.want)
		}
	}
	// Two members: the archive split in the middle of an entry.
	members := append(gz(t, gzip.BestSpeed, plain[:200]), gz(t, gzip.BestCompression, plain[200:])...)
	// Every optional header field: FEXTRA, FNAME, FCOMMENT, then FHCRC by hand.
	var hb bytes.Buffer
	zw := gzip.NewWriter(&hb)
	zw.Name, zw.Comment, zw.Extra = "initrd.cpio", "a comment", []byte("XY\x02\x00hi")
	zw.Write(plain)
	zw.Close()
	fields := hb.Bytes()
	hlen := 10 + 2 + len(zw.Extra) + len(zw.Name) + 1 + len(zw.Comment) + 1
	hdr := slices.Clone(fields[:hlen])
	hdr[3] |= 2
	hdr = binary.LittleEndian.AppendUint16(hdr, uint16(crc32.ChecksumIEEE(hdr)))
	withFields := append(hdr, fields[hlen:]...)

	dir := t.TempDir()
	modules := [][]byte{plain, stored, fixed, dynamic, members, withFields,
		gz(t, gzip.NoCompression, bigPlain), gz(t, gzip.BestCompression, bigPlain), bigPlain}
	var opts []BootModule
	for i, m := range modules {
		opts = append(opts, BootModule{Path: writeFile(t, filepath.Join(dir, fmt.Sprintf("m%d", i)), m)})
	}
	r := Boot(t, BootOptions{Kernel: Kernel(t, Flavor{64, true}), NoAppend: true, Modules: opts})
	t.Logf("boot took %v", r.Duration)
	if len(r.Modules) != len(modules) || r.ExitStatus != 0 || r.ProcessExit != 1 {
		t.Fatalf("modules %d, exit %d, QEMU exit %d:\n%s", len(r.Modules), r.ExitStatus, r.ProcessExit, r.Output)
	}
	var want []CpioEntry
	for _, e := range entries {
		want = append(want, CpioEntry{uint32(e.mode), int64(len(e.body)), e.name})
	}
	for i, m := range r.Modules {
		w := want
		if i >= 6 {
			w = append(slices.Clone(want), CpioEntry{cpio.TypeReg | 0o644, int64(big.Len()), "data/big.txt"})
		}
		if m.Size != len(modules[i]) || m.Gzip != (i != 0 && i != 8) || m.CpioError != "" ||
			!slices.Equal(m.Cpio, w) || string(m.JSONCfg) != cfg {
			t.Errorf("module %d: %+v\nwant entries %+v", i, m, w)
		}
	}
}

// Concatenated archives are read on like Linux does; the last regular
// json.cfg, under either of its names, wins.
func TestConcatenatedArchives(t *testing.T) {
	a := newcArchive(t, []entry{
		{"a", cpio.TypeDir | 0o755, ""},
		{"./json.cfg", cpio.TypeReg | 0o644, `{"hostname": "first"}`},
	})
	for len(a)%512 != 0 { // GNU cpio pads archives to 512 bytes
		a = append(a, 0)
	}
	var b []byte
	b = append(b, newc("070702", "b/file", 0o100600, "payload\x00\xff")...)
	b = append(b, newc("070702", "json.cfg", 0o100644, `{"hostname": "second"}`)...)
	b = append(b, trailer("070702")...)
	c := append(newc("070701", "lib", 0o120777, "usr/lib"), trailer("070701")...)
	c = append(c, make([]byte, 64)...)
	archive := slices.Concat(a, b, c)

	dir := t.TempDir()
	r := Boot(t, BootOptions{
		Kernel: Kernel(t, Flavor{32, true}),
		Modules: []BootModule{
			{Path: writeFile(t, filepath.Join(dir, "plain"), archive)},
			{Path: writeFile(t, filepath.Join(dir, "gz"), gz(t, gzip.BestCompression, archive))},
		},
	})
	want := []CpioEntry{
		{0o40755, 0, "a"}, {0o100644, 21, "./json.cfg"},
		{0o100600, 9, "b/file"}, {0o100644, 22, "json.cfg"},
		{0o120777, 7, "lib"},
	}
	for i, m := range r.Modules {
		if !slices.Equal(m.Cpio, want) || m.CpioError != "" || string(m.JSONCfg) != `{"hostname": "second"}` {
			t.Errorf("module %d: %+v\n%s", i, m, r.Output)
		}
	}
	if len(r.Modules) != 2 || !r.Halted {
		t.Errorf("%s", r.Output)
	}
}

// The probe reads /json.cfg by the rule every reader shares
// (initrd.NameRule), so it takes the same one as pkg/initrd or, like it,
// none: a name outside the rule refuses the archive, and so does a
// json.cfg that is not a regular file of its own or an entry placed
// through a symbolic link of the archive.
func TestNameRule(t *testing.T) {
	harmless := newc("070701", "json.cfg", 0o100644, `{"hostname": "harmless"}`)
	evil := `{"hostname": "evil"}`
	hardLink := func(name, body string) []byte {
		b := newc("070701", name, 0o100644, body)
		copy(b[6+8*4:], "00000002") // c_nlink
		return b
	}
	cases := []struct {
		name    string
		archive []byte
		err     string // the probe's cpio-error; "" when it takes a json.cfg
		cfg     string
	}{
		{"dot-slash", slices.Concat(harmless, newc("070701", "./json.cfg", 0o100644, evil)), "", evil},
		{"dotdot", slices.Concat(harmless, newc("070701", "x/../json.cfg", 0o100644, evil)), `entry 2 x/../json.cfg: ".." path component`, ""},
		{"escape", slices.Concat(harmless, newc("070701", "../../json.cfg", 0o100644, evil)), `entry 2 ../../json.cfg: ".." path component`, ""},
		{"absolute", slices.Concat(harmless, newc("070701", "/json.cfg", 0o100644, evil)), "entry 2 /json.cfg: absolute name", ""},
		{"dot", slices.Concat(harmless, newc("070701", "././json.cfg", 0o100644, evil)), `entry 2 ././json.cfg: "." path component`, ""},
		{"empty component", slices.Concat(harmless, newc("070701", "x//json.cfg", 0o100644, evil)), "entry 2 x//json.cfg: empty path component", ""},
		{"root entry", slices.Concat(newc("070701", ".", 0o40755, ""), harmless), "", `{"hostname": "harmless"}`},
		{"symlink last", slices.Concat(harmless, newc("070701", "json.cfg", 0o120777, "evil.cfg")), "entry 2 json.cfg: json.cfg is not a regular file", ""},
		{"hard link", slices.Concat(hardLink("json.cfg", ""), hardLink("other", evil)), "entry 1 json.cfg: json.cfg is a hard link", ""},
		{"through a link", slices.Concat(harmless, newc("070701", "x", 0o120777, "."), newc("070701", "x/json.cfg", 0o100644, evil)),
			"entry 3 x/json.cfg: below a symbolic link of the archive", ""},
	}
	dir := t.TempDir()
	var mods []BootModule
	for i, c := range cases {
		c.archive = append(c.archive, trailer("070701")...)
		cases[i] = c
		mods = append(mods, BootModule{Path: writeFile(t, filepath.Join(dir, fmt.Sprint(i)), c.archive)})
	}
	r := Boot(t, BootOptions{Kernel: Kernel(t, Flavor{64, true}), Modules: mods})
	if len(r.Modules) != len(cases) {
		t.Fatalf("%d modules reported:\n%s", len(r.Modules), r.Output)
	}
	for i, c := range cases {
		m := r.Modules[i]
		if m.CpioError != c.err || m.HasJSONCfg != (c.cfg != "") || string(m.JSONCfg) != c.cfg {
			t.Errorf("%s: probe error %q, json.cfg %q (%v); want %q, %q", c.name, m.CpioError, m.JSONCfg, m.HasJSONCfg, c.err, c.cfg)
		}
		// The tools' reader agrees.
		data, err := initrd.ReadFile(bytes.NewReader(c.archive), "json.cfg", 1<<10)
		if (err == nil) != (c.cfg != "") || string(data) != c.cfg {
			t.Errorf("%s: initrd.ReadFile = %q, %v; the probe took %q", c.name, data, err, m.JSONCfg)
		}
	}
}

// Damaged modules give one error line each and never stop the probe.
func TestDamagedModules(t *testing.T) {
	good := newcArchive(t, []entry{
		{"d", cpio.TypeDir | 0o755, ""},
		{"d/f", cpio.TypeReg | 0o644, strings.Repeat("x", 100)},
		{"json.cfg", cpio.TypeReg | 0o644, `{"hostname": "h"}`},
	})
	hdrLen := len(newc("070701", "d", 0o40755, "")) // offset of d/f
	zipped := gz(t, gzip.BestCompression, good)
	flip := func(b []byte, i int) []byte { b = slices.Clone(b); b[i] ^= 0xff; return b }
	// Headers claiming sizes near 4 GiB.
	sized := func(filesize, namesize uint32) []byte {
		return fmt.Appendf(nil, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08xf\x00xxxx",
			1, 0o100644, 0, 0, 1, 0, filesize, 0, 0, 0, 0, namesize, 0)
	}
	gzHeader := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}
	storedBad := append(slices.Clone(gzHeader), 1, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o', 0, 0, 0, 0, 5, 0, 0, 0)
	cases := []struct {
		data    []byte
		err     string
		entries int
	}{
		{good[:hdrLen+120], fmt.Sprintf("truncated entry at offset %d", hdrLen), 1},
		{good[:hdrLen+50], fmt.Sprintf("truncated header at offset %d", hdrLen), 1},
		{good[:len(good)-len(trailer("070701"))], "missing TRAILER!!!", 3},
		{append(slices.Clone(good), "junk"...), fmt.Sprintf("data after trailer at offset %d", len(good)), 3},
		{flip(good, hdrLen+8), fmt.Sprintf("bad header field at offset %d", hdrLen), 1},
		{flip(good, hdrLen+5), fmt.Sprintf("bad header magic at offset %d", hdrLen), 1},
		{sized(1, 0xffffffff), "bad name size at offset 0", 0},
		{sized(1, 0), "bad name size at offset 0", 0},
		{sized(0xffffffff, 2), "truncated entry at offset 0", 0},
		{sized(1, 1), "name not NUL-terminated at offset 0", 0},
		{zipped[:len(zipped)/2], "gzip: truncated deflate data", 0},
		{zipped[:len(zipped)-3], "gzip: truncated gzip trailer", 0},
		{flip(zipped, len(zipped)-6), "gzip: CRC-32 mismatch", 0},
		{flip(zipped, len(zipped)-2), "gzip: ISIZE mismatch", 0},
		{flip(zipped, 2), "gzip: unknown compression method", 0},
		{append(slices.Clone(zipped), 0x1f), "gzip: bad gzip header", 0},
		{append(slices.Clone(gzHeader), 7, 0, 0, 0, 0, 0, 0, 0, 0, 0), "gzip: invalid block type", 0},
		{storedBad, "gzip: stored block length check failed", 0},
	}
	dir := t.TempDir()
	var mods []BootModule
	for i, c := range cases {
		mods = append(mods, BootModule{Path: writeFile(t, filepath.Join(dir, fmt.Sprint(i)), c.data)})
	}
	corrupt := flip(zipped, len(zipped)/2) // somewhere in the deflate data: some gzip error
	mods = append(mods, BootModule{Path: writeFile(t, filepath.Join(dir, "corrupt"), corrupt)})
	r := Boot(t, BootOptions{Kernel: Kernel(t, Flavor{64, false}), Modules: mods})
	if len(r.Modules) != len(cases)+1 {
		t.Fatalf("%d modules reported:\n%s", len(r.Modules), r.Output)
	}
	for i, c := range cases {
		m := r.Modules[i]
		if m.CpioError != c.err || len(m.Cpio) != c.entries {
			t.Errorf("module %d: error %q with %d entries, want %q with %d", i, m.CpioError, len(m.Cpio), c.err, c.entries)
		}
	}
	if m := r.Modules[len(cases)]; !m.Gzip || !strings.HasPrefix(m.CpioError, "gzip: ") {
		t.Errorf("corrupted gzip: %+v", m)
	}
	if !r.Ended || !slices.Equal(r.Markers, markers(0)) || r.ProcessExit != 1 {
		t.Errorf("did not reach the markers:\n%s", r.Output)
	}
}

// Decompression stops at the top of memory and says so.
func TestGzipTooLarge(t *testing.T) {
	zeros := gz(t, gzip.BestCompression, make([]byte, 48<<20))
	dir := t.TempDir()
	small := gz(t, gzip.BestCompression, newcArchive(t, []entry{{"f", cpio.TypeReg | 0o644, "x"}}))
	r := Boot(t, BootOptions{
		Kernel: Kernel(t, Flavor{32, false}),
		Memory: 32,
		Modules: []BootModule{
			{Path: writeFile(t, filepath.Join(dir, "small"), small)},
			{Path: writeFile(t, filepath.Join(dir, "zeros"), zeros)},
		},
	})
	checkMem(t, r, 32)
	if len(r.Modules) != 2 || len(r.Modules[0].Cpio) != 1 {
		t.Fatalf("%s", r.Output)
	}
	e := r.Modules[1].CpioError
	var kib int
	if n, _ := fmt.Sscanf(e, "gzip: output does not fit in memory (%d KiB free above the modules)", &kib); n != 1 ||
		kib < 20<<10 || kib > 31<<10 {
		t.Errorf("module 1 error %q, want no room with 20..31 MiB free", e)
	}
	if !r.Halted {
		t.Errorf("did not halt:\n%s", r.Output)
	}
}
