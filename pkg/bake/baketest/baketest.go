// Package baketest builds the miniature rumprun toolchain of
// testdata/toolchain for tests, and compiles test programs with it.
//
//	dir := baketest.Toolchain(t, "hw")       // or "xen"; built once per machine and source version
//	obj := baketest.Program(t, dir, "hello", 0) // an application object printing "app: hello", exiting 0
//
// Toolchains are built with testdata/toolchain/build.sh into
// os.TempDir()/rumptools-toolchain-HASH/PLATFORM (HASH of the toolchain
// and probe sources), under a lock so that parallel test binaries share
// one build. Tests skip when gcc -m32, ld, as, ar or objcopy are missing.
package baketest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// Tuple is the tuple of the miniature toolchains.
const Tuple = "x86_64-rumprun-netbsd"

var built sync.Map // platform -> *result

type result struct {
	once sync.Once
	dir  string
	skip string
	err  error
}

// SourceDir returns the repository's testdata directory.
func SourceDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata")
		if _, err := os.Stat(filepath.Join(dir, "toolchain", "build.sh")); err == nil {
			return filepath.Clean(dir), nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "testdata", "toolchain", "build.sh")); err == nil {
			return filepath.Join(dir, "testdata"), nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("cannot find testdata/toolchain above " + wd)
		}
	}
}

// Toolchain returns the directory of the miniature toolchain for platform
// ("hw" or "xen", or "hw-initrd" for an hw platform whose kernels declare
// the initrd/1 boot protocol), building it if needed.
func Toolchain(t testing.TB, platform string) string {
	t.Helper()
	v, _ := built.LoadOrStore(platform, &result{})
	r := v.(*result)
	r.once.Do(func() { r.dir, r.skip, r.err = build(platform) })
	if r.skip != "" {
		t.Skip(r.skip)
	}
	if r.err != nil {
		t.Fatalf("baketest: building the %s toolchain: %v", platform, r.err)
	}
	return r.dir
}

func build(platform string) (dir, skip string, err error) {
	for _, p := range []struct{ name, pkg string }{
		{"gcc", "gcc-multilib"}, {"ld", "binutils"}, {"as", "binutils"}, {"ar", "binutils"}, {"objcopy", "binutils"},
	} {
		if _, err := exec.LookPath(p.name); err != nil {
			return "", fmt.Sprintf("%s not installed (Debian package %s)", p.name, p.pkg), nil
		}
	}
	src, err := SourceDir()
	if err != nil {
		return "", "", err
	}
	h, err := hashTree(filepath.Join(src, "toolchain"), filepath.Join(src, "probe"))
	if err != nil {
		return "", "", err
	}
	root := filepath.Join(os.TempDir(), "rumptools-toolchain-"+h)
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", "", err
	}
	lock, err := os.OpenFile(filepath.Join(root, platform+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", "", err
	}
	dir = filepath.Join(root, platform)
	done := filepath.Join(root, platform+".done")
	if _, err := os.Stat(done); err == nil {
		return dir, "", nil
	}
	os.RemoveAll(dir)
	args := append([]string{filepath.Join(src, "toolchain", "build.sh"), dir}, strings.Split(platform, "-")...)
	cmd := exec.Command("sh", args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%v\n%s", err, out)
	}
	if err := os.WriteFile(done, nil, 0o644); err != nil {
		return "", "", err
	}
	return dir, "", nil
}

func hashTree(dirs ...string) (string, error) {
	h := sha256.New()
	for _, d := range dirs {
		var files []string
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() && e.Name() == "out" {
				return filepath.SkipDir
			}
			if e.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// Program compiles testdata/toolchain/src/app.c with the toolchain's
// TUPLE-gcc into DIR/NAME.o in a fresh temporary directory: a program
// that prints "app: NAME" and returns exit.
func Program(t testing.TB, toolDir, name string, exit int) string {
	t.Helper()
	return ProgramIn(t, t.TempDir(), toolDir, name, exit)
}

// ProgramIn is Program writing into dir.
func ProgramIn(t testing.TB, dir, toolDir, name string, exit int) string {
	t.Helper()
	src, err := SourceDir()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name+".o")
	cmd := exec.Command(filepath.Join(toolDir, "bin", Tuple+"-gcc"), "-o", out,
		fmt.Sprintf("-DNAME=\"%s\"", name), fmt.Sprintf("-DEXIT=%d", exit),
		filepath.Join(src, "toolchain", "src", "app.c"))
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("compiling %s: %v\n%s", name, err, b)
	}
	return out
}
