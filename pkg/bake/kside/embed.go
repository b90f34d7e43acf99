// Package kside holds the kernel side of the initrd/1 boot protocol for
// rumprun hw kernels: C sources (in c/) that rump-bake compiles with the
// toolchain's own compiler at bake time and links into every hw kernel
// it bakes (kernel.c says how they reach into the kernel).
//
// archive.c, json.c and config.c are the logic (the newc walk, gzip, the
// entry-name rule, strict JSON with decoded strings, the canonical
// json.cfg, argv splitting, the command line's own words, which disks are
// mounted by default); they compile on the host too, where this
// package's tests drive them (testdata/driver.c). kernel.c only makes
// sense inside a kernel. A bake compiles Source, all of them in one.
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

// Exports are the symbols of the compiled support that the kernel links
// against; a bake makes every other symbol of it local (zlib's too, so
// that a program with its own copy of zlib still links).
var Exports = []string{"multiboot", "bmk_platform_halt", "__wrap_rumprun_config", "__wrap__exit"}

// Wraps are the functions a bake links with -Wl,--wrap=NAME.
var Wraps = []string{"rumprun_config", "_exit"}

// order is the order of the files in Source: the header, the logic, then
// the kernel's part.
var order = []string{"kside.h", "archive.c", "json.c", "config.c", "kernel.c"}

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
func Source() []byte {
	var b bytes.Buffer
	b.WriteString("/* The kernel side of initrd/1, written by rump-bake --kside-source. */\n")
	for _, n := range order {
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
func WriteFile(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(Source()); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
