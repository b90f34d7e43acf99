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
// sense inside a kernel; kside.c includes all four, so that a bake
// compiles one file.
package kside

import (
	"embed"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// The sources are in c/: Go refuses C files in a package that is not
// built with cgo.
//
//go:embed c/*.c c/*.h
var files embed.FS

// Main is the file a bake compiles.
const Main = "kside.c"

// Exports are the symbols of the compiled support that the kernel links
// against; a bake makes every other symbol of it local (zlib's too, so
// that a program with its own copy of zlib still links).
var Exports = []string{"multiboot", "bmk_platform_halt", "__wrap_rumprun_config", "__wrap__exit"}

// Wraps are the functions a bake links with -Wl,--wrap=NAME.
var Wraps = []string{"rumprun_config", "_exit"}

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

// Source returns one source file.
func Source(name string) ([]byte, error) { return files.ReadFile("c/" + name) }

// Write writes the sources into dir, which it creates.
func Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range Names() {
		b, err := Source(n)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
