package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
)

// An INITRD that is not one, or that readers could read two ways, is
// refused before anything runs or is printed; -e (a config on the command
// line built from the initrd's) changes nothing about that.
func TestInitrdRefusals(t *testing.T) {
	k := probe.Kernel(t, initrd64)
	dir := t.TempDir()
	file := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostile := file("hostile.initrd", probe.HostileInitrd())
	jsonFile := file("app.json", []byte(`{"cmdline": "app"}`+"\n"))
	binary := file("app.bin", append([]byte("\x7fELF"), make([]byte, 60)...))
	for _, c := range []struct {
		name string
		args []string
		msg  string
	}{
		{"hostile", []string{k, hostile}, "rump-launch-qemu: " + hostile + ": " + probe.HostileError + "\n"},
		{"hostile with -e", []string{"-e", "A=b", k, hostile}, "rump-launch-qemu: " + hostile + ": " + probe.HostileError + "\n"},
		{"a config as INITRD", []string{k, jsonFile}, "rump-launch-qemu: " + jsonFile + ": initrd: not a newc cpio archive (plain or gzip)\n"},
		{"a binary as INITRD", []string{k, binary}, "rump-launch-qemu: " + binary + ": initrd: not a newc cpio archive (plain or gzip)\n"},
	} {
		for _, dry := range []bool{true, false} {
			args := append([]string{"--accel", "tcg"}, c.args...)
			if dry {
				args = append([]string{"-n"}, args...)
			}
			stdout, stderr, code := runCLI(t, nil, args...)
			if code != 1 || stdout != "" || stderr != c.msg {
				t.Errorf("%s (-n %v): exit %d, stdout %q, stderr\n %q\nwant exit 1, stderr\n %q", c.name, dry, code, stdout, stderr, c.msg)
			}
		}
	}
}

// A bad value given by an option is reported by the option, not at a
// position of the config file that does not hold it.
func TestOptionValueErrors(t *testing.T) {
	k := probe.Kernel(t, old64)
	cfg := filepath.Join(t.TempDir(), "c1.cfg")
	if err := os.WriteFile(cfg, []byte(`{"hostname": "web", "cmdline": "app"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, nil, "-n", "-c", cfg, "-N", "-rf", k)
	want := `rump-launch-qemu: -N: invalid hostname "-rf": labels of letters, digits and '-', not starting or ending with '-', separated by dots` + "\n"
	if code != 1 || stdout != "" || stderr != want {
		t.Errorf("exit %d, stdout %q, stderr\n %q\nwant\n %q", code, stdout, stderr, want)
	}
}

// Two guests cannot share a console log: while one runs (paused here, so
// that it stays), another -d with the same file, under any name and from
// the -n script too, is refused and leaves the log as it was; once the
// first is gone the file is free. --log - is a usage error.
func TestLogHeldByAnotherGuest(t *testing.T) {
	k := probe.Kernel(t, old64)
	dir := t.TempDir()
	log := filepath.Join(dir, "console.log")
	stdout, stderr, code := runCLI(t, nil, "-d", "-p", "--accel", "tcg", "--log", log, k)
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(stdout), "qemu:"))
	if code != 0 || err != nil {
		t.Fatalf("first guest: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}
	stop := func() {
		syscall.Kill(pid, syscall.SIGTERM)
		for syscall.Kill(pid, 0) == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Cleanup(stop)
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("the first guest's console\n")
	f.Close()
	alias := filepath.Join(dir, "alias.log")
	if err := os.Symlink(log, alias); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{log, alias} {
		want := "rump-launch-qemu: " + l + ": the console log of another running guest: give -d another --log FILE, or stop that guest first\n"
		if stdout, stderr, code := runCLI(t, nil, "-d", "--accel", "tcg", "--log", l, k); code != 1 || stdout != "" || stderr != want {
			t.Errorf("second guest on %s: exit %d, stdout %q, stderr\n %q\nwant\n %q", l, code, stdout, stderr, want)
		}
		script, _, _ := runCLI(t, nil, "-n", "-d", "--accel", "tcg", "--log", l, k)
		out, err := exec.Command("sh", "-c", script).CombinedOutput()
		if err == nil || string(out) != want {
			t.Errorf("the -n script on %s: %v, output %q", l, err, out)
		}
	}
	if b, _ := os.ReadFile(log); string(b) != "the first guest's console\n" {
		t.Errorf("the first guest's log now holds %q", b)
	}

	stop()
	stdout, stderr, code = runCLI(t, nil, "-d", "--accel", "tcg", "--log", alias, k, "--", "probe-exit=0")
	if code != 0 || !strings.HasPrefix(stdout, "qemu:") {
		t.Errorf("after the first guest: exit %d, stdout %q, stderr %s", code, stdout, stderr)
	}

	_, stderr, code = runCLI(t, nil, "-d", "--log", "-", k)
	if code != 2 || !strings.HasPrefix(stderr, "rump-launch-qemu: --log -: ") {
		t.Errorf("--log -: exit %d, stderr %q", code, stderr)
	}
}
