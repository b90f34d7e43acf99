package bake

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rumptools/rumptools/pkg/kernel"
)

// MaxPrograms is how many programs a rumprun kernel can hold
// (rumprun_main1 .. rumprun_main8).
const MaxPrograms = 8

// Toolchain is the rumprun toolchain a bake uses.
type Toolchain struct {
	kernel.Toolchain        // the recipe strings of the inputs
	Dir              string // tool directory: rumprun_tooldir, or the -T override
}

// Input is one application object to bake.
type Input struct {
	Path string
	Name string // program name: base name without a trailing ".o"
	Arch string // ELF machine of the object, rumprun's name
}

// ProgramName returns the program name bake records for an input path.
func ProgramName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".o")
}

// Discover reads the bake recipe note of every input and returns the
// toolchain they were compiled with. All inputs must carry the note and
// agree on it. toolDir, when not empty, replaces rumprun_tooldir.
func Discover(paths []string, toolDir string) (*Toolchain, []Input, error) {
	if len(paths) == 0 {
		return nil, nil, errors.New("no input objects")
	}
	if len(paths) > MaxPrograms {
		return nil, nil, fmt.Errorf("%d programs: a rumprun kernel holds at most %d", len(paths), MaxPrograms)
	}
	var tc *Toolchain
	var first string
	var inputs []Input
	for _, p := range paths {
		k, err := kernel.Open(p)
		if err != nil {
			return nil, nil, err
		}
		if k.Type != elf.ET_REL {
			return nil, nil, fmt.Errorf("%s: not a relocatable object but %v (bake the objects a rumprun compiler wrote, not a linked program or kernel)", p, k.Type)
		}
		if !k.RecipeNote || k.Toolchain.Tuple == "" {
			return nil, nil, fmt.Errorf("%s: not a rumprun object (no %s note): compile it with TUPLE-gcc of a rumprun toolchain", p, kernel.RecipeSection)
		}
		if tc == nil {
			tc = &Toolchain{Toolchain: k.Toolchain, Dir: k.Toolchain.ToolDir}
			first = p
		} else if k.Toolchain != tc.Toolchain {
			return nil, nil, fmt.Errorf("inputs from two toolchains: %s (%s) and %s (%s)", first, describeTC(tc.Toolchain), p, describeTC(k.Toolchain))
		}
		inputs = append(inputs, Input{Path: p, Name: ProgramName(p), Arch: k.Arch()})
	}
	if toolDir != "" {
		tc.Dir = toolDir
	}
	if tc.Dir == "" {
		return nil, nil, fmt.Errorf("%s: the recipe names no tool directory: give one with -T", first)
	}
	return tc, inputs, nil
}

func describeTC(t kernel.Toolchain) string {
	return fmt.Sprintf("%s in %s, cc %q, cflags %q", t.Tuple, t.ToolDir, t.BackingCC, t.CFlags)
}

// Arch returns the architecture of the toolchain: the first field of its
// tuple, with i?86 as i386.
func (t *Toolchain) Arch() string {
	a, _, _ := strings.Cut(t.Tuple, "-")
	if len(a) == 4 && a[0] == 'i' && strings.HasSuffix(a, "86") {
		return "i386"
	}
	return a
}

// ConfFile is the toolchain's rumprun-bake.conf.
func (t *Toolchain) ConfFile() string { return filepath.Join(t.Dir, "etc", "rumprun-bake.conf") }

// GNUArch is the first field of the tuple as the toolchain's directories
// spell it (rumprun-bake's MACHINE_GNU_ARCH): x86_64, i486, aarch64.
func (t *Toolchain) GNUArch() string {
	a, _, _ := strings.Cut(t.Tuple, "-")
	return a
}

// Sysroot is the toolchain's target tree, TOOLDIR/rumprun-GNUARCH: the
// headers and libc the link uses (--sysroot) and the platforms' files.
func (t *Toolchain) Sysroot() string {
	return filepath.Join(t.Dir, "rumprun-"+t.GNUArch())
}

// PlatformDir is the directory of a platform's bake files:
// SYSROOT/lib/rumprun-PLATFORM, holding specs-bake, rumprun.o and the
// component archives.
func (t *Toolchain) PlatformDir(platform string) string {
	return filepath.Join(t.Sysroot(), "lib", "rumprun-"+platform)
}

// SpecsFile is a platform's specs-bake.
func (t *Toolchain) SpecsFile(platform string) string {
	return filepath.Join(t.PlatformDir(platform), "specs-bake")
}

// Platforms lists the platforms the toolchain can bake for: those with a
// SYSROOT/lib/rumprun-PLATFORM/specs-bake. Without a tuple (a toolchain
// named by -T alone) every rumprun-ARCH tree counts.
func (t *Toolchain) Platforms() []string {
	sysroot := globQuote(t.Sysroot())
	if t.Tuple == "" {
		sysroot = filepath.Join(globQuote(t.Dir), "rumprun-*")
	}
	m, _ := filepath.Glob(filepath.Join(sysroot, "lib", "rumprun-*", "specs-bake"))
	var out []string
	for _, p := range m {
		out = append(out, strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "rumprun-"))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// DefaultConfigs maps a platform to the config baked when none is named:
// the broadest public config of that platform.
var DefaultConfigs = map[string]string{"hw": "hw_generic", "xen": "xen_pv"}

// DefaultConfig returns the config to bake when none is named: hw_generic
// when the toolchain has the hw platform, else xen_pv for xen.
func (t *Toolchain) DefaultConfig() (string, error) {
	ps := t.Platforms()
	for _, p := range []string{"hw", "xen"} {
		if slices.Contains(ps, p) {
			return DefaultConfigs[p], nil
		}
	}
	if len(ps) == 0 {
		return "", fmt.Errorf("%s: no rumprun-ARCH/lib/rumprun-PLATFORM/specs-bake: not a rumprun toolchain directory", t.Dir)
	}
	return "", fmt.Errorf("%s: no default config for platform %s: name one with -C", t.Dir, strings.Join(ps, ", "))
}

// Objcopy returns the toolchain's objcopy: DIR/bin/TUPLE-objcopy, else
// TUPLE-objcopy on PATH.
func (t *Toolchain) Objcopy() (string, error) { return t.tool("objcopy") }

// tool returns the toolchain's TUPLE-NAME: in DIR/bin, else on PATH.
func (t *Toolchain) tool(tool string) (string, error) {
	name := t.Tuple + "-" + tool
	p := filepath.Join(t.Dir, "bin", name)
	if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
		return p, nil
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no %s in %s or on PATH", name, filepath.Join(t.Dir, "bin"))
}

// LoadConfigs reads the toolchain's rumprun-bake.conf, then each extra file.
func (t *Toolchain) LoadConfigs(extra ...string) (*Set, error) {
	s := NewSet()
	for _, p := range append([]string{t.ConfFile()}, extra...) {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = s.Parse(p, f)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// globQuote escapes the pattern characters of a literal path for
// filepath.Glob.
func globQuote(p string) string {
	var b strings.Builder
	for _, r := range p {
		if strings.ContainsRune(`*?[\\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
