// Package xltest helps test Xen launchers where no hypervisor runs:
//
//   - Read, Check and Verify read xl configuration files with Xen's own
//     parser, through the small C program testdata/xl/xlcfg.c built against
//     libxlutil (Debian package libxen-dev);
//   - Toolstack puts stand-in xl and xenstore-write programs
//     (testdata/xl/xl, testdata/xl/xenstore-write) on PATH that record
//     their calls;
//   - Kernel writes hand-made ELF images that pkg/kernel takes for a Xen PV
//     or an hw (multiboot) rumprun kernel.
package xltest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/rumptools/rumptools/pkg/xl"
)

var (
	buildOnce sync.Once
	built     string
	skipMsg   string
	buildErr  error
)

// Parser returns the path of the xlcfg helper, building it on first use
// (into the user's cache directory, keyed by the source's hash, so test
// binaries share it). It skips the test when gcc or libxen-dev is missing.
func Parser(t testing.TB) string {
	t.Helper()
	buildOnce.Do(build)
	if skipMsg != "" {
		t.Skip(skipMsg)
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

func build() {
	if _, err := exec.LookPath("gcc"); err != nil {
		skipMsg = "gcc not installed (Debian package gcc): cannot build the libxlutil helper"
		return
	}
	src, err := source()
	if err != nil {
		buildErr = err
		return
	}
	code, err := os.ReadFile(src)
	if err != nil {
		buildErr = err
		return
	}
	sum := sha256.Sum256(code)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "rumptools")
	out := filepath.Join(dir, "xlcfg-"+hex.EncodeToString(sum[:8]))
	if _, err := os.Stat(out); err == nil {
		built = out
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		buildErr = err
		return
	}
	tmp, err := os.CreateTemp(dir, "xlcfg-*.tmp")
	if err != nil {
		buildErr = err
		return
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.Command("gcc", "-std=c99", "-O1", "-Wall", "-Werror", "-o", tmp.Name(), src, "-lxlutil", "-lxenlight")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		if _, herr := os.Stat("/usr/include/libxlutil.h"); herr != nil {
			skipMsg = "libxen-dev not installed (Debian package libxen-dev): cannot check xl files with libxlutil"
			return
		}
		buildErr = fmt.Errorf("building %s: %v\n%s", src, err, msg)
		return
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		buildErr = err
		return
	}
	built = out
}

// source finds testdata/xl/xlcfg.c at the root of the module.
func source() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "xl", "xlcfg.c"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("xltest: no go.mod above the working directory")
		}
		dir = parent
	}
}

// RejectError is returned by Check when libxlutil refuses a file (or
// crashes on it).
type RejectError struct{ Msg string }

func (e *RejectError) Error() string { return "libxlutil refused the file: " + e.Msg }

// Check reads file with libxlutil and returns the value of each key; a key
// the file does not set is missing from the map. Numbers come back as
// strings, as xl sees them.
func Check(t testing.TB, file string, keys ...string) (map[string]xl.Value, error) {
	t.Helper()
	bin := Parser(t)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, append([]string{file}, keys...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// libxlutil asserts on some bad input (a NUL byte in a string):
		// a crash refuses the file as surely as an error message does.
		if ee, ok := err.(*exec.ExitError); ok && (ee.ExitCode() == 1 || !ee.Exited()) {
			return nil, &RejectError{Msg: strings.TrimSpace(stderr.String())}
		}
		return nil, fmt.Errorf("xlcfg: %v: %s", err, stderr.Bytes())
	}
	return decode(&stdout)
}

// Read is Check for a file that must parse: it fails the test otherwise.
func Read(t testing.TB, file string, keys ...string) map[string]xl.Value {
	t.Helper()
	m, err := Check(t, file, keys...)
	if err != nil {
		data, _ := os.ReadFile(file)
		t.Fatalf("%v\nfile %s:\n%s", err, file, data)
	}
	return m
}

// ReadData writes data to a temporary file and reads it with Read.
func ReadData(t testing.TB, data []byte, keys ...string) map[string]xl.Value {
	t.Helper()
	f := filepath.Join(t.TempDir(), "domain.cfg")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return Read(t, f, keys...)
}

func decode(out *bytes.Buffer) (map[string]xl.Value, error) {
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	i := 0
	var value func() (xl.Value, error)
	value = func() (xl.Value, error) {
		if i >= len(lines) {
			return xl.Value{}, errors.New("xlcfg: output ends early")
		}
		tag, arg, _ := strings.Cut(lines[i], " ")
		i++
		switch tag {
		case "s":
			b, err := hex.DecodeString(arg)
			return xl.String(string(b)), err
		case "l":
			n, err := strconv.Atoi(arg)
			if err != nil {
				return xl.Value{}, err
			}
			v := xl.List()
			for range n {
				item, err := value()
				if err != nil {
					return v, err
				}
				v.List = append(v.List, item)
			}
			return v, nil
		}
		return xl.Value{}, fmt.Errorf("xlcfg: unexpected output %q", lines[i-1])
	}
	m := map[string]xl.Value{}
	for i < len(lines) && lines[i] != "" {
		tag, arg, _ := strings.Cut(lines[i], " ")
		if tag != "key" {
			return nil, fmt.Errorf("xlcfg: unexpected output %q", lines[i])
		}
		k, err := hex.DecodeString(arg)
		if err != nil {
			return nil, err
		}
		i++
		if i < len(lines) && lines[i] == "absent" {
			i++
			continue
		}
		v, err := value()
		if err != nil {
			return nil, err
		}
		m[string(k)] = v
	}
	return m, nil
}

// Want returns the values libxlutil should read from c's text: each key's
// effective value (see xl.Config.Get), with numbers as strings.
func Want(c *xl.Config) map[string]xl.Value {
	m := map[string]xl.Value{}
	for _, k := range c.Keys() {
		v, _ := c.Get(k)
		m[k] = asRead(v)
	}
	return m
}

func asRead(v xl.Value) xl.Value {
	switch v.Kind {
	case xl.KindNumber:
		return xl.String(v.S)
	case xl.KindList:
		w := xl.List()
		for _, item := range v.List {
			w.List = append(w.List, asRead(item))
		}
		return w
	}
	return v
}

// Verify checks that libxlutil reads from file exactly the settings of c
// (and, for each name in absent, nothing).
func Verify(t testing.TB, file string, c *xl.Config, absent ...string) {
	t.Helper()
	want := Want(c)
	got := Read(t, file, append(c.Keys(), absent...)...)
	for _, k := range c.Keys() {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: libxlutil does not see %s", file, k)
			continue
		}
		if !g.Equal(want[k]) {
			t.Errorf("%s: libxlutil reads %s as %s, want %s", file, k, Show(g), Show(want[k]))
		}
	}
	for _, k := range absent {
		if g, ok := got[k]; ok {
			t.Errorf("%s: libxlutil sees %s = %s, want it unset", file, k, Show(g))
		}
	}
}

// Show formats a value for a test message, strings Go-quoted.
func Show(v xl.Value) string {
	if v.Kind != xl.KindList {
		return strconv.Quote(v.S)
	}
	parts := make([]string, len(v.List))
	for i, item := range v.List {
		parts[i] = Show(item)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
