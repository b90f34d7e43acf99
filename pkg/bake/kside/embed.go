// Package kside holds the kernel side of the initrd/1 boot protocol for
// rumprun kernels, hw and Xen PV: C sources (in c/) that rump-bake
// compiles with the toolchain's own compiler at bake time and links into
// every kernel it bakes (kernel.c, hw.c and xen.c say how they reach into
// the kernel).
//
// archive.c, json.c and config.c are the logic (the newc walk, gzip, the
// entry-name rule, strict JSON with decoded strings, the canonical
// json.cfg, argv splitting, the command line's own words, which disks are
// mounted by default, Xen's start_info and vbd names); they compile on
// the host too, where this package's tests drive them
// (testdata/driver.c). kernel.c (shared) and hw.c or xen.c (the
// platform's half) only make sense inside a kernel. A bake compiles
// Source, all of them in one.
package kside

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"slices"
)

// The sources are in c/: Go refuses C files in a package that is not
// built with cgo.
//
//go:embed c/*.c c/*.h
var files embed.FS

// A Side is the kernel side for one rumprun platform.
type Side struct {
	Platform string // "hw" or "xen", as rumprun names its platforms
	file     string // the platform's half

	// Exports are the symbols of the compiled support that the kernel
	// links against; a bake makes every other symbol of it local (zlib's
	// too, so that a program with its own copy of zlib still links).
	Exports []string
	// Wraps are the functions a bake links with -Wl,--wrap=NAME.
	Wraps []string
}

// HW goes into hw kernels: it replaces multiboot() and
// bmk_platform_halt() in an adjusted copy of rumprun.o (hw.c).
var HW = Side{Platform: "hw", file: "hw.c",
	Exports: []string{"multiboot", "bmk_platform_halt", "__wrap_rumprun_config", "__wrap__exit"},
	Wraps:   []string{"rumprun_config", "_exit"}}

// Xen goes into Xen PV kernels: rumprun.o stays as installed (xen.c).
var Xen = Side{Platform: "xen", file: "xen.c",
	Exports: []string{"__wrap_rumprun_config"},
	Wraps:   []string{"rumprun_config"}}

// ForPlatform returns the side for a platform name, or false.
func ForPlatform(name string) (Side, bool) {
	switch name {
	case HW.Platform:
		return HW, true
	case Xen.Platform:
		return Xen, true
	}
	return Side{}, false
}

// order is the order of the files in Source: the header, the logic, the
// shared kernel part, then the platform's.
func (s Side) order() []string {
	return []string{"kside.h", "archive.c", "json.c", "config.c", "kernel.c", s.file}
}

// Names lists the source files, sorted.
func Names() []string {
	ents, _ := fs.ReadDir(files, "c")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// File returns one source file.
func File(name string) ([]byte, error) { return files.ReadFile("c/" + name) }

// Source returns what a bake compiles: every file in one translation unit
// (the header once, the files' own includes of it left out), so that one
// file, which may have no name of its own, is all the compiler reads.
func (s Side) Source() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "/* The kernel side of initrd/1 for %s, written by rump-bake --kside-source. */\n", s.Platform)
	for _, n := range s.order() {
		data, err := File(n)
		if err != nil {
			panic("kside: " + err.Error()) // embedded: cannot fail
		}
		fmt.Fprintf(&b, "\n/* ---- %s ---- */\n", n)
		for _, line := range bytes.SplitAfter(data, []byte("\n")) {
			if string(bytes.TrimSpace(line)) == `#include "kside.h"` {
				continue
			}
			b.Write(line)
		}
	}
	return b.Bytes()
}

// WriteFile writes Source to path (a bake's work file), as it is.
func (s Side) WriteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(s.Source()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
