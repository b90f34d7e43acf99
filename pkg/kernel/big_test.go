package kernel

import (
	"bytes"
	"debug/elf"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// bigKernel writes an hw kernel of about size bytes, laid out like a baked
// rumprun kernel of that size: the multiboot header in front, megabytes of
// code and data in between, symbol-like "rumprun_" strings every few
// kilobytes (rumprun_main1, rumprun_config, ...) and the toolchain strings
// of the folded recipe note near the end, where finding them means reading
// the whole file.
func bigKernel(t testing.TB, size int) string {
	filler := make([]byte, size)
	r := rand.New(rand.NewSource(1))
	r.Read(filler)
	syms := []string{"rumprun_main1\x00", "rumprun_config\x00", "rumprun_boot\x00", "rumprun_platform_rumpuser_init\x00"}
	for off, i := 0, 0; off+64 < len(filler); off, i = off+3000+r.Intn(2000), i+1 {
		copy(filler[off:], syms[i%len(syms)])
	}
	copy(filler[len(filler)-64<<10:], recipeDesc("x86_64-rumprun-netbsd", "/opt/rr", "x86_64-linux-gnu-gcc", "-O2 -g"))
	text := make([]byte, 0x2000)
	copy(text, multibootHeader(0x10003, 0x100000, 0x100000, 0x102000, 0x108000, 0x100020))
	b := telf{
		class: elf.ELFCLASS64, machine: elf.EM_X86_64, entry: 0x100020,
		secs: []tsec{
			{name: ".text", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, addr: 0x100000, align: 0x1000, off: 0x1000, data: text},
			{name: ".rodata", typ: elf.SHT_PROGBITS, flags: elf.SHF_ALLOC, addr: 0x200000, align: 0x1000, data: filler},
		},
		segs: []tseg{{typ: elf.PT_LOAD, sections: []string{".text"}}},
	}.bytes()
	path := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBigKernel(t *testing.T) {
	path := bigKernel(t, 18<<20)
	want := Toolchain{"x86_64-rumprun-netbsd", "/opt/rr", "x86_64-linux-gnu-gcc", "-O2 -g"}
	k, err := Open(path)
	if err != nil || k.Toolchain != want || k.Multiboot == nil || k.Platform != PlatformHW {
		t.Fatalf("Open: %+v %v", k, err)
	}
	// A launcher's view: everything but the toolchain strings.
	l, err := Options{NoToolchain: true}.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Toolchain.IsZero() {
		t.Errorf("NoToolchain read the toolchain: %+v", l.Toolchain)
	}
	l.Toolchain = k.Toolchain
	if !reflect.DeepEqual(k, l) {
		t.Errorf("NoToolchain changed more than the toolchain:\n%+v\n%+v", k, l)
	}
}

// TestNoToolchainKeepsRecipeNote: a recipe note costs nothing to read, so
// NoToolchain still reports it.
func TestNoToolchainKeepsRecipeNote(t *testing.T) {
	b := xenPV(true)
	k, err := Options{NoToolchain: true}.Inspect(bytes.NewReader(b), int64(len(b)))
	if err != nil || !k.RecipeNote || k.Toolchain.Tuple != "x86_64-rumprun-netbsd" || k.Platform != PlatformXen {
		t.Fatalf("%+v %v", k, err)
	}
}

// scanReference is what scanToolchain must find: for each key, its first
// occurrence in the file with a value, read from the whole file at once.
func scanReference(data []byte) Toolchain {
	var t Toolchain
	for _, key := range toolchainKeys {
		for i := 0; ; {
			j := bytes.Index(data[i:], []byte(key))
			if j < 0 {
				break
			}
			i += j + len(key)
			if v := toolValue(data[i:min(len(data), i+maxString)]); v != "" {
				*t.field(key) = v
				break
			}
		}
	}
	return t
}

// TestScanToolchainChunks puts the strings across chunk boundaries, in the
// overlap, at the end of the file, with empty values first and repeated,
// and compares the chunked scan with the reference.
func TestScanToolchainChunks(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	keys := append(append([]string{}, toolchainKeys...), "rumprun_", "rumprun_tuple")
	for n := 0; n < 300; n++ {
		data := make([]byte, scanChunk*(1+r.Intn(4))+r.Intn(100))
		for i := range data {
			data[i] = "ab\x00\n rumprun_:"[r.Intn(14)]
		}
		for k := 0; k < 1+r.Intn(12); k++ {
			s := keys[r.Intn(len(keys))]
			switch r.Intn(3) {
			case 0:
				s += " value" + string(rune('0'+r.Intn(10))) + "\x00"
			case 1:
				s += "\x00" // empty value
			}
			var at int
			switch r.Intn(4) {
			case 0: // straddling or just before a chunk boundary
				at = scanChunk*(1+r.Intn(len(data)/scanChunk)) - r.Intn(40)
			case 1: // at the end of the file
				at = len(data) - len(s) + r.Intn(len(s))
			default:
				at = r.Intn(len(data))
			}
			if at >= 0 && at < len(data) {
				copy(data[at:], s)
			}
		}
		f := &elfFile{r: bytes.NewReader(data), size: int64(len(data))}
		got, err := f.scanToolchain()
		if want := scanReference(data); err != nil || got != want {
			t.Fatalf("file of %d bytes: got %+v (%v), want %+v", len(data), got, err, want)
		}
	}
}

// BenchmarkOpen18MB: what rump-bake -i pays (the toolchain strings, found by
// reading the whole file) against what a launcher pays (Options{NoToolchain}),
// on an 18 MB kernel in the page cache.
func BenchmarkOpen18MB(b *testing.B) {
	path := bigKernel(b, 18<<20)
	Open(path) // into the page cache
	for _, bc := range []struct {
		name string
		o    Options
	}{{"full", Options{}}, {"no-toolchain", Options{NoToolchain: true}}} {
		b.Run(bc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := bc.o.Open(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
