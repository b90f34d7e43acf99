package main

import (
	"os"
	"path/filepath"
	"testing"

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
