package bake

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/rumptools/rumptools/pkg/bake/kside"
)

// Boot protocols a bake can give a kernel (DESIGN.md 5).
const (
	ProtocolRumprun = "rumprun"  // today's kernel, as rumprun-bake links it
	ProtocolInitrd  = "initrd/1" // with the kernel side of initrd/1 linked in
)

// The kernel side's files in the bake's temporary directory.
const (
	ksideSrc    = "kside.c"     // the source (kside.Source)
	ksideCObj   = "kside-c.o"   // compiled
	ksideZObj   = "kside-z.o"   // with zlib's inflate linked in
	ksideObj    = "kside.o"     // all but kside.Exports made local
	platformG   = "rumprun-g.o" // rumprun.o with multiboot global and its alias
	platformObj = "rumprun.o"   // ... and multiboot, bmk_platform_halt weak
	upstreamMB  = "kside_upstream_multiboot"
)

// platformFit checks that a platform object is rumprun's hw rumprun.o as
// the kernel side expects it: a function multiboot in .text (local, as
// rumprun's build leaves it) and a global bmk_platform_halt. It returns
// multiboot's offset in .text.
func platformFit(path string) (uint64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return 0, fmt.Errorf("%s: %v", path, err)
	}
	var off uint64
	found, halt := false, false
	for _, s := range syms {
		if s.Section == elf.SHN_UNDEF || s.Section >= elf.SHN_LORESERVE || int(s.Section) >= len(f.Sections) {
			continue
		}
		switch {
		case s.Name == "multiboot" && elf.ST_TYPE(s.Info) == elf.STT_FUNC && f.Sections[s.Section].Name == ".text":
			off, found = s.Value, true
		case s.Name == "bmk_platform_halt" && elf.ST_BIND(s.Info) == elf.STB_GLOBAL:
			halt = true
		}
	}
	if !found || !halt {
		return 0, fmt.Errorf("%s is not rumprun's hw platform object (no function multiboot in .text and global bmk_platform_halt)", path)
	}
	return off, nil
}

// xenFit checks that a platform object is rumprun's Xen rumprun.o as the
// kernel side expects it: Mini-OS's start_info (the common symbol
// _minios_start_info_union, of start_info_t's size) and a global
// function rumprun_config's caller, bmk_mainthread, left to link.
func xenFit(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	for _, s := range syms {
		if s.Name == "_minios_start_info_union" && elf.ST_BIND(s.Info) == elf.STB_GLOBAL &&
			s.Section != elf.SHN_UNDEF && s.Size >= 1168 {
			return nil
		}
	}
	return fmt.Errorf("%s is not rumprun's Xen platform object (no global _minios_start_info_union of start_info_t's 1168 bytes)", path)
}

// chooseProtocol settles the bake's boot protocol: want ("" for the
// default: initrd/1 where the platform object can take the kernel side,
// else rumprun).
func chooseProtocol(want, platform string, tc *Toolchain) (string, uint64, error) {
	switch want {
	case "", ProtocolRumprun, ProtocolInitrd:
	default:
		return "", 0, fmt.Errorf("unknown boot protocol %q (want %s or %s)", want, ProtocolRumprun, ProtocolInitrd)
	}
	if want == ProtocolRumprun {
		return want, 0, nil
	}
	if platform == "xen" {
		if err := xenFit(filepath.Join(tc.PlatformDir(platform), platformObj)); err != nil {
			if want == ProtocolInitrd {
				return "", 0, fmt.Errorf("cannot link %s support: %v", ProtocolInitrd, err)
			}
			return ProtocolRumprun, 0, nil
		}
		return ProtocolInitrd, 0, nil
	}
	if platform != "hw" {
		if want == ProtocolInitrd {
			return "", 0, fmt.Errorf("rump-bake links %s support into hw and xen kernels only; this bake is for %s", ProtocolInitrd, platform)
		}
		return ProtocolRumprun, 0, nil
	}
	off, err := platformFit(filepath.Join(tc.PlatformDir(platform), platformObj))
	if err != nil {
		if want == ProtocolInitrd {
			return "", 0, fmt.Errorf("cannot link %s support: %v", ProtocolInitrd, err)
		}
		return ProtocolRumprun, 0, nil
	}
	return ProtocolInitrd, off, nil
}

// kernelSide returns the commands that compile the kernel side and, on
// hw, prepare the platform object, and the link's extra arguments:
// before the inputs, and after them.
func kernelSide(tc *Toolchain, platform string, mbOff uint64, objcopy string) (cmds []Command, first, after []Arg, err error) {
	gcc, err := tc.tool("gcc")
	if err != nil {
		return nil, nil, nil, err
	}
	ld, err := tc.tool("ld")
	if err != nil {
		return nil, nil, nil, err
	}
	libz := filepath.Join(tc.Sysroot(), "lib", "libz.a")
	if _, err := os.Stat(libz); err != nil {
		return nil, nil, nil, fmt.Errorf("the %s support needs the toolchain's zlib: %v", ProtocolInitrd, err)
	}
	side, ok := kside.ForPlatform(platform)
	if !ok || len(side.Source()) == 0 {
		return nil, nil, nil, errors.New("no kernel-side sources embedded for " + platform)
	}
	local := Command{{S: objcopy}}
	for _, s := range side.Exports {
		local = append(local, Arg{S: "-G"}, Arg{S: s})
	}
	local = append(local, Arg{S: ksideZObj, Tmp: true}, Arg{S: ksideObj, Tmp: true})
	cmds = []Command{
		// The source comes in through -include: the compiler names the
		// object's file symbol after its main input, which must be the
		// same in Run (where the source is a work file, named by a
		// descriptor) and in Script.
		{{S: gcc}, {S: "-c"}, {S: "-O2"}, {S: "-x"}, {S: "c"}, {S: "-include"}, {S: ksideSrc, Tmp: true},
			{S: "-o"}, {S: ksideCObj, Tmp: true}, {S: os.DevNull}},
		{{S: ld}, {S: "-r"}, {S: "-o"}, {S: ksideZObj, Tmp: true}, {S: ksideCObj, Tmp: true}, {S: libz}},
		local,
	}
	after = []Arg{{S: ksideObj, Tmp: true}}
	for _, w := range side.Wraps {
		after = append(after, Arg{S: "-Wl,--wrap=" + w})
	}
	if platform == "xen" {
		// Mini-OS's start_info is global already: rumprun.o stays.
		return cmds, nil, after, nil
	}
	cmds = append(cmds, []Command{
		{{S: objcopy}, {S: "--globalize-symbol=multiboot"},
			{S: "--add-symbol"}, {S: upstreamMB + "=.text:0x" + strconv.FormatUint(mbOff, 16) + ",global,function"},
			{S: filepath.Join(tc.PlatformDir(platform), platformObj)}, {S: platformG, Tmp: true}},
		// A second pass: in one, objcopy leaves multiboot global.
		{{S: objcopy}, {S: "--weaken-symbol=multiboot"}, {S: "--weaken-symbol=bmk_platform_halt"},
			{S: platformG, Tmp: true}, {S: platformObj, Tmp: true}},
	}...)
	// The copy of rumprun.o takes the place specs-bake's *startfile gives
	// the installed one: first in the link.
	first = []Arg{{S: "-nostartfiles"}, {S: platformObj, Tmp: true}}
	return cmds, first, after, nil
}
