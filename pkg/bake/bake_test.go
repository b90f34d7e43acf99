package bake

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/pkg/bake/baketest"
	"github.com/rumptools/rumptools/pkg/kernel"
)

func bakeOK(t *testing.T, o Options) (*Plan, string) {
	t.Helper()
	p, err := NewPlan(o)
	if err != nil {
		t.Fatalf("NewPlan: %v", err)
	}
	var log bytes.Buffer
	if err := p.Run(nil, &log); err != nil {
		t.Fatalf("Run: %v\n%s", err, log.String())
	}
	return p, o.Output
}

func components(c []string) []string {
	var out []string
	for _, s := range c {
		out = append(out, strings.TrimPrefix(s, "-l"))
	}
	return out
}

// TestBakeHWBoots bakes one and three programs for every public hw config,
// boots each kernel and checks the components and the program order.
func TestBakeHWBoots(t *testing.T) {
	tc := baketest.Toolchain(t, "hw")
	dir := t.TempDir()
	progs := []string{
		baketest.ProgramIn(t, dir, tc, "hello", 0),
		baketest.ProgramIn(t, dir, tc, "second", 5),
		baketest.ProgramIn(t, dir, tc, "third", 3),
	}
	set, err := (&Toolchain{Dir: tc}).LoadConfigs()
	if err != nil {
		t.Fatal(err)
	}
	for _, config := range []string{"hw_generic", "hw_virtio", "hw_virtio_scsi"} {
		for _, n := range []int{1, 3} {
			out := filepath.Join(dir, config+"-"+string(rune('0'+n))+".bin")
			p, _ := bakeOK(t, Options{Inputs: progs[:n], Output: out, Config: config})
			k, err := kernel.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			want := set.Lookup(config).Components
			names := []string{"hello", "second", "third"}[:n]
			rec := &kernel.BakeRecord{Config: config, Platform: "hw", Arch: "x86_64", Programs: names,
				Components: want, Tool: "rump-bake " + Version}
			if !reflect.DeepEqual(k.Bake, rec) || !reflect.DeepEqual(&p.Record, rec) {
				t.Errorf("%s: record %+v, want %+v", out, k.Bake, rec)
			}
			if k.Bits != 64 || k.Multiboot == nil || k.Multiboot.Offset != 0x1000 || k.Multiboot.Flags != 0x10003 ||
				k.Toolchain.Tuple != baketest.Tuple || k.Toolchain.ToolDir != tc || k.Platform != kernel.PlatformHW {
				t.Errorf("%s: inspected %+v", out, k)
			}
			r := probe.Boot(t, probe.BootOptions{Kernel: out, Append: "{}"})
			var comps, apps []string
			for _, l := range r.Other {
				if c, ok := strings.CutPrefix(l, "rumprun: component "); ok {
					comps = append(comps, c)
				} else if a, ok := strings.CutPrefix(l, "app: "); ok {
					apps = append(apps, a)
				}
			}
			if !reflect.DeepEqual(comps, components(want)) {
				t.Errorf("%s: booted components %q, want %q", out, comps, components(want))
			}
			if !reflect.DeepEqual(apps, names) || len(r.Calls) != n {
				t.Errorf("%s: programs ran %q (%d calls), want %q\n%s", out, apps, len(r.Calls), names, r.Output)
			}
			wantExit := []int{0, 5, 3}[n-1]
			if r.ExitStatus != wantExit || !r.Halted {
				t.Errorf("%s: exit %d halted %v", out, r.ExitStatus, r.Halted)
			}
		}
	}
}

// xenComponents reads the component names a xen kernel registered, in
// link order, from the rump_components pointer table.
func xenComponents(t *testing.T, path string) []string {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	var start, stop uint64
	for _, s := range syms {
		switch s.Name {
		case "__start_rump_components":
			start = s.Value
		case "__stop_rump_components":
			stop = s.Value
		}
	}
	read := func(addr, n uint64) []byte {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+n <= p.Vaddr+p.Filesz {
				b := make([]byte, n)
				p.ReadAt(b, int64(addr-p.Vaddr))
				return b
			}
		}
		t.Fatalf("address %#x not loaded", addr)
		return nil
	}
	var out []string
	for a := start; a < stop; a += 8 {
		ptr := binary.LittleEndian.Uint64(read(a, 8))
		b := read(ptr, 64)
		out = append(out, string(b[:bytes.IndexByte(b, 0)]))
	}
	return out
}

func TestBakeXen(t *testing.T) {
	tc := baketest.Toolchain(t, "xen")
	dir := t.TempDir()
	progs := []string{baketest.ProgramIn(t, dir, tc, "one", 0), baketest.ProgramIn(t, dir, tc, "two", 0)}
	set, err := (&Toolchain{Dir: tc}).LoadConfigs()
	if err != nil {
		t.Fatal(err)
	}
	for _, config := range []string{"", "xen_pv", "xen_pci"} {
		out := filepath.Join(dir, "x"+config+".bin")
		bakeOK(t, Options{Inputs: progs, Output: out, Config: config})
		k, err := kernel.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		name := config
		if name == "" {
			name = "xen_pv" // the default on a xen toolchain
		}
		want := set.Lookup(name).Components
		if k.Platform != kernel.PlatformXen || k.Entry != 0 || k.Bits != 64 || k.XenGuest["GUEST_OS"] != "rumprun" ||
			k.Bake == nil || k.Bake.Config != name || k.Bake.Platform != "xen" || !reflect.DeepEqual(k.Bake.Programs, []string{"one", "two"}) ||
			!reflect.DeepEqual(k.Bake.Components, want) || k.Toolchain.ToolDir != tc {
			t.Errorf("%s: %+v %+v", out, k, k.Bake)
		}
		if got := xenComponents(t, out); !reflect.DeepEqual(got, components(want)) {
			t.Errorf("%s: linked components %q, want %q", out, got, components(want))
		}
		ef, _ := elf.Open(out)
		syms, _ := ef.Symbols()
		ef.Close()
		mains := map[string]bool{}
		for _, s := range syms {
			if strings.HasPrefix(s.Name, "rumprun_main") {
				mains[s.Name] = true
			}
		}
		if !mains["rumprun_main1"] || !mains["rumprun_main2"] || len(mains) != 2 {
			t.Errorf("%s: mains %v", out, mains)
		}
	}
}

// TestStampKeepsLoadedBytes runs the plan's commands by hand and compares
// the unstamped link with what Run wrote.
func TestStampKeepsLoadedBytes(t *testing.T) {
	tc := baketest.Toolchain(t, "hw")
	dir := t.TempDir()
	out := filepath.Join(dir, "k.bin")
	p, _ := bakeOK(t, Options{Inputs: []string{baketest.ProgramIn(t, dir, tc, "a", 0)}, Output: out, Config: "hw_virtio"})
	tmp := t.TempDir()
	for _, c := range p.Commands {
		argv := c.Argv(tmp)
		if b, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, b)
		}
	}
	plain, _ := os.ReadFile(filepath.Join(tmp, "kernel"))
	stamped, _ := os.ReadFile(out)
	ka, _ := kernel.Inspect(bytes.NewReader(plain), int64(len(plain)))
	if ka.Bake != nil {
		t.Fatal("the link itself stamped")
	}
	mb := ka.Multiboot
	start := mb.Offset - int64(mb.HeaderAddr-mb.LoadAddr)
	end := start + int64(mb.LoadEndAddr-mb.LoadAddr)
	if !bytes.Equal(plain[start:end], stamped[start:end]) {
		t.Error("the a.out-kludge range changed")
	}
	pf, _ := elf.NewFile(bytes.NewReader(plain))
	sf, _ := elf.NewFile(bytes.NewReader(stamped))
	if len(pf.Progs) != len(sf.Progs) {
		t.Fatal("program headers changed")
	}
	for i, p := range pf.Progs {
		if p.ProgHeader != sf.Progs[i].ProgHeader || !bytes.Equal(plain[p.Off:p.Off+p.Filesz], stamped[p.Off:p.Off+p.Filesz]) {
			t.Errorf("segment %d changed", i)
		}
	}
	// Everything from the program headers to the end of the old content is
	// the same: only the ELF header's section fields and appended bytes differ.
	ehsize := 64
	if !bytes.Equal(plain[ehsize:start], stamped[ehsize:start]) {
		t.Error("bytes between the ELF header and the kernel changed")
	}
}

func TestDefaultConfigHW(t *testing.T) {
	tc := baketest.Toolchain(t, "hw")
	dir := t.TempDir()
	p, err := NewPlan(Options{Inputs: []string{baketest.ProgramIn(t, dir, tc, "a", 0)}, Output: filepath.Join(dir, "k")})
	if err != nil {
		t.Fatal(err)
	}
	if p.Record.Config != "hw_generic" || p.Config.Name != "hw_generic" {
		t.Fatalf("default config %s", p.Record.Config)
	}
}

// writeRecipeObject assembles an object with main and a recipe naming cc.
func writeRecipeObject(t *testing.T, dir, tooldir, cc string) string {
	src := filepath.Join(dir, "obj.s")
	os.WriteFile(src, []byte(`
	.text
	.globl main
main:	ret
	.section .note.rumprun.bakerecipe, "a", @note
	.balign 4
	.long 2f - 1f, 4f - 3f, 0x101
1:	.asciz "rumpkernel.org"
2:	.balign 4
3:	.asciz "rumprun_tuple: `+baketest.Tuple+`"
	.asciz "rumprun_tooldir: `+tooldir+`"
	.asciz "rumprun_backingcc: `+cc+`"
	.asciz "rumprun_cflags: -m32"
4:	.balign 4
`), 0o644)
	obj := filepath.Join(dir, "custom.o")
	if b, err := exec.Command("as", "--32", "-o", obj, src).CombinedOutput(); err != nil {
		t.Fatalf("as: %v\n%s", err, b)
	}
	return obj
}

func TestBakeErrors(t *testing.T) {
	hw := baketest.Toolchain(t, "hw")
	xen := baketest.Toolchain(t, "xen")
	dir := t.TempDir()
	app := baketest.ProgramIn(t, dir, hw, "app", 0)
	xapp := baketest.ProgramIn(t, dir, xen, "xapp", 0)
	notELF := filepath.Join(dir, "notelf.o")
	os.WriteFile(notELF, []byte("just text\n"), 0o644)
	plainObj := filepath.Join(dir, "plain.o")
	os.WriteFile(filepath.Join(dir, "plain.c"), []byte("int main(void){return 0;}\n"), 0o644)
	if b, err := exec.Command("gcc", "-c", "-o", plainObj, filepath.Join(dir, "plain.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	nocc := writeRecipeObject(t, t.TempDir(), hw, "no-such-backing-cc")
	badConf := filepath.Join(dir, "bad.conf")
	os.WriteFile(badConf, []byte("version 20160209\nconf hw_mine\n\tcreate \"mine\"\n\tadd -lrumpvfs\n\tfrob\nfnoc\n"), 0o644)
	goodConf := filepath.Join(dir, "good.conf")
	os.WriteFile(goodConf, []byte("version 20160209\nconf hw_mine\n\tcreate \"mine\"\n\tadd -lrumpvfs -lrumpdev\nfnoc\n"), 0o644)
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = app
	}
	out := filepath.Join(dir, "out.bin")
	cases := []struct {
		name string
		o    Options
		want string
	}{
		{"no inputs", Options{}, "no input objects"},
		{"not ELF", Options{Inputs: []string{notELF}}, notELF + ": not an ELF file"},
		{"no recipe", Options{Inputs: []string{plainObj}}, plainObj + ": not a rumprun object (no .note.rumprun.bakerecipe note): compile it with TUPLE-gcc"},
		{"two toolchains", Options{Inputs: []string{app, xapp}}, "inputs from two toolchains: " + app + " (x86_64-rumprun-netbsd in " + hw},
		{"nine programs", Options{Inputs: nine}, "9 programs: a rumprun kernel holds at most 8"},
		{"unknown config", Options{Inputs: []string{app}, Config: "hw_nope"}, `unknown config "hw_nope" (public configs: hw_generic, hw_virtio, hw_virtio_scsi, xen_pv, xen_pci)`},
		{"private config", Options{Inputs: []string{app}, Config: "_virtio"}, "config _virtio is private"},
		{"other platform", Options{Inputs: []string{app}, Config: "xen_pv"}, "config xen_pv is for platform xen, but toolchain " + hw + " has no rumprun-x86_64/lib/rumprun-xen/specs-bake (it bakes for: hw)"},
		{"conf syntax", Options{Inputs: []string{app}, ConfFiles: []string{badConf}}, badConf + `:5:2: unknown directive "frob"`},
		{"bad -m", Options{Inputs: []string{app}, Mods: []string{"add -lx", "remove -lnothere"}}, "-m #2:1:8: remove: -lnothere is not in config hw_generic"},
		{"missing cc", Options{Inputs: []string{nocc}}, `backing compiler "no-such-backing-cc" (rumprun_backingcc of the inputs) not found`},
		{"bad tooldir", Options{Inputs: []string{app}, ToolDir: filepath.Join(dir, "nowhere")}, filepath.Join(dir, "nowhere", "etc", "rumprun-bake.conf")},
		{"kernel as input", Options{Inputs: []string{probe.Kernel(t, probe.Flavor{Bits: 32})}}, "not a relocatable object but ET_EXEC"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.o.Output == "" {
				c.o.Output = out
			}
			_, err := NewPlan(c.o)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant %q", err, c.want)
			}
		})
	}
	// A -c file that adds a config: it bakes.
	if p, err := NewPlan(Options{Inputs: []string{app}, Output: out, ConfFiles: []string{goodConf}, Config: "hw_mine"}); err != nil ||
		!reflect.DeepEqual(p.Record.Components, []string{"-lrumpvfs", "-lrumpdev"}) {
		t.Errorf("-c good.conf: %v", err)
	}

	// A failing link: its output is in the error, nothing is left behind.
	p, err := NewPlan(Options{Inputs: []string{app}, Output: out, Config: "hw_virtio", Mods: []string{"add -lrumpdoesnotexist"}})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	work := t.TempDir() // the linker's directory goes to TMPDIR
	t.Setenv("TMPDIR", work)
	err = p.Run(nil, &log)
	if err == nil || !strings.Contains(err.Error(), "gcc failed") || !strings.Contains(err.Error(), "cannot find -lrumpdoesnotexist") {
		t.Fatalf("failing link: %v\n%s", err, log.String())
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() == "out.bin" || strings.HasPrefix(e.Name(), ".out.bin") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if ents, _ := os.ReadDir(work); len(ents) != 0 {
		t.Errorf("left behind in TMPDIR: %s", ents[0].Name())
	}
}

func TestProgramName(t *testing.T) {
	for in, want := range map[string]string{"a/b/hello.o": "hello", "hello": "hello", "x.o.o": "x.o", "/p/app.bin": "app.bin"} {
		if got := ProgramName(in); got != want {
			t.Errorf("%s: %s", in, got)
		}
	}
}

func TestWithoutLinkerNoise(t *testing.T) {
	in := "/usr/bin/ld: warning: /t/x.o: missing .note.GNU-stack section implies executable stack\n" +
		"/usr/bin/ld: NOTE: This behaviour is deprecated and will be removed in a future version of the linker\n" +
		"/usr/bin/ld: warning: x.o: requires executable stack (because the .note.GNU-stack section is executable)\n" +
		"/usr/bin/ld: warning: k has a LOAD segment with RWX permissions\n" +
		"/usr/bin/ld: warning: something else\n" +
		"last line without newline"
	want := "/usr/bin/ld: warning: something else\nlast line without newline\n"
	if got := string(withoutLinkerNoise([]byte(in))); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := withoutLinkerNoise(nil); len(got) != 0 {
		t.Errorf("nil: got %q", got)
	}
}

// The miniature toolchain's hw platform object is the probe, not
// rumprun's: by default it bakes today's kernel, and asking for initrd/1
// says why not; so is its Xen one (which has no Mini-OS start_info).
func TestProtocolChoice(t *testing.T) {
	hw := baketest.Toolchain(t, "hw")
	xen := baketest.Toolchain(t, "xen")
	dir := t.TempDir()
	app := baketest.ProgramIn(t, dir, hw, "app", 0)
	xapp := baketest.ProgramIn(t, dir, xen, "xapp", 0)
	out := filepath.Join(dir, "k")
	p, err := NewPlan(Options{Inputs: []string{app}, Output: out})
	if err != nil || p.Protocol != ProtocolRumprun || p.Sources != "" {
		t.Errorf("default: %v, protocol %q, sources %q", err, p.Protocol, p.Sources)
	}
	var script strings.Builder
	if err := p.Script(&script); err != nil || strings.Contains(script.String(), "--protocol") || strings.Contains(script.String(), "kside") {
		t.Errorf("rumprun script: %v\n%s", err, script.String())
	}
	for _, c := range []struct {
		o    Options
		want string
	}{
		{Options{Inputs: []string{app}, Output: out, Protocol: ProtocolInitrd}, "cannot link initrd/1 support: " + filepath.Join(hw, "rumprun-x86_64/lib/rumprun-hw/rumprun.o") + " is not rumprun's hw platform object"},
		{Options{Inputs: []string{xapp}, Output: out, Protocol: ProtocolInitrd}, "cannot link initrd/1 support: " + filepath.Join(xen, "rumprun-x86_64/lib/rumprun-xen/rumprun.o") + " is not rumprun's Xen platform object"},
		{Options{Inputs: []string{app}, Output: out, Protocol: "initrd/2"}, `unknown boot protocol "initrd/2" (want rumprun or initrd/1)`},
	} {
		if _, err := NewPlan(c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
	if p, err := NewPlan(Options{Inputs: []string{xapp}, Output: out}); err != nil || p.Protocol != ProtocolRumprun {
		t.Errorf("xen default: %v", err)
	}
}
