package xltest

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Toolstack puts the stand-in xl and xenstore-write of testdata/xl on PATH
// for one test: they record every call and act as the test configures
// them, so that a launcher's command sequence can be checked where no
// hypervisor runs. It uses t.Setenv: tests that use it cannot run in
// parallel.
type Toolstack struct {
	Dir string // where the stand-ins keep their records
	t   testing.TB
}

// NewToolstack installs the stand-ins for t.
func NewToolstack(t testing.TB) *Toolstack {
	t.Helper()
	src, err := source()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, filepath.Join(dir, "calls")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"xl", "xenstore-write"} {
		data, err := os.ReadFile(filepath.Join(filepath.Dir(src), name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("STANDIN_DIR", dir)
	for _, v := range []string{"STANDIN_FAIL", "STANDIN_DOMID", "STANDIN_CONSOLE", "STANDIN_EOF"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	return &Toolstack{Dir: dir, t: t}
}

// Fail makes one step fail: an xl subcommand (create, domid, unpause,
// console, destroy) or "xenstore-write".
func (s *Toolstack) Fail(step string) { s.t.Setenv("STANDIN_FAIL", step) }

// DomID sets what "xl domid" prints.
func (s *Toolstack) DomID(out string) { s.t.Setenv("STANDIN_DOMID", out) }

// Console sets what "xl console" prints once the domain is unpaused. With
// eof it then ends, as it does for a domain that destroys itself; otherwise
// it waits until "xl destroy".
func (s *Toolstack) Console(transcript string, eof bool) {
	f := filepath.Join(s.Dir, "transcript")
	if err := os.WriteFile(f, []byte(transcript), 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Setenv("STANDIN_CONSOLE", f)
	if eof {
		s.t.Setenv("STANDIN_EOF", "1")
	} else {
		s.t.Setenv("STANDIN_EOF", "")
		os.Unsetenv("STANDIN_EOF")
	}
}

// Calls returns the recorded calls in the order they started, each as its
// argv, and forgets them.
func (s *Toolstack) Calls() [][]string {
	dir := filepath.Join(s.Dir, "calls")
	entries, err := os.ReadDir(dir)
	if err != nil {
		s.t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// Names are "NANOSECONDS-PID"; the nanoseconds have the same width.
	sort.Strings(names)
	var calls [][]string
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			s.t.Fatal(err)
		}
		args := strings.Split(string(bytes.TrimSuffix(data, []byte{0})), "\x00")
		calls = append(calls, args)
		os.Remove(filepath.Join(dir, n))
	}
	return calls
}

// Reset forgets the calls and the domain's state (created, unpaused,
// destroyed), for a second run in the same test.
func (s *Toolstack) Reset() {
	s.Calls()
	for _, f := range []string{"unpaused", "destroyed", "created.cfg", "console.stdin"} {
		os.Remove(filepath.Join(s.Dir, f))
	}
}

// Created returns the xl config file "xl create" was given, as it was then
// ("" when xl create did not run).
func (s *Toolstack) Created() string { return s.file("created.cfg") }

// ConsoleStdin returns what "xl console" read from its standard input.
func (s *Toolstack) ConsoleStdin() string { return s.file("console.stdin") }

func (s *Toolstack) file(name string) string {
	data, err := os.ReadFile(filepath.Join(s.Dir, name))
	if err != nil && !os.IsNotExist(err) {
		s.t.Fatal(err)
	}
	return string(data)
}
