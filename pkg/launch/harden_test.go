package launch

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/config"
)

// zeros is an endless input.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// An endless -c input (a device, a pipe that never ends) is refused once
// it exceeds what a config may hold, instead of filling memory.
func TestEndlessConfigRefused(t *testing.T) {
	for _, o := range []Options{
		{ConfigFile: "/dev/zero"},
		{ConfigFile: "-", Stdin: zeros{}},
	} {
		o.Kernel = rumprunKernel(t)
		_, _, err := New(o, testTarget)
		if err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("-c %s: %v, want a config too large", o.ConfigFile, err)
		}
	}
}

// An initrd that is a FIFO or a device is refused, without waiting for a
// writer that never comes.
func TestInitrdNotRegular(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip(err)
	}
	for _, rd := range []string{fifo, "/dev/zero"} {
		done := make(chan error, 1)
		go func() {
			_, _, err := New(Options{Kernel: initrdKernel(t), Initrd: rd}, testTarget)
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || err.Error() != rd+": not a regular file" {
				t.Errorf("initrd %s: %v", rd, err)
			}
		case <-time.After(30 * time.Second): // a guard, not a measurement
			t.Fatalf("initrd %s: still waiting to open it", rd)
		}
	}
}

// A value that an option put into the config is reported by that option,
// not at a position of the config file, which does not hold it.
func TestErrorsNameTheOption(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "c1.cfg")
	if err := os.WriteFile(cfg, []byte(`{"hostname": "web", "cmdline": "app", "env": {"A": "b"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{Hostname: "-rf"}, `-N: invalid hostname "-rf": labels of letters, digits and '-', not starting or ending with '-', separated by dots`},
		{Options{Env: []string{`A=say "hi"`}}, `-e A: "A" contains '"', which rumprun kernels would receive as a JSON escape, not the character: not representable in the wire form`},
		{Options{Env: []string{"NEW=a\\b"}}, `-e NEW: "NEW" contains '\', which rumprun kernels would receive as a JSON escape, not the character: not representable in the wire form`},
		{Options{Args: []string{"ok", "tab\there"}}, `the arguments after --: "argv" entry 1 contains the control character U+0009, which rumprun kernels would receive as a JSON escape, not the character: not representable in the wire form`},
	} {
		tc.o.Kernel, tc.o.ConfigFile = rumprunKernel(t), cfg
		_, _, err := New(tc.o, testTarget)
		var l config.ErrorList
		if !errors.As(err, &l) || len(l) != 1 || l[0].String() != tc.want || l[0].File != "" || l[0].Line != 0 {
			t.Errorf("%+v: %v\nwant %s", tc.o, err, tc.want)
		}
	}
	// A value from the file keeps its position and pointer.
	cfg2 := filepath.Join(t.TempDir(), "c2.cfg")
	if err := os.WriteFile(cfg2, []byte(`{"hostname": "-bad", "cmdline": "app"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := New(Options{Kernel: rumprunKernel(t), ConfigFile: cfg2, Env: []string{"B=c"}}, testTarget)
	if want := cfg2 + `:1:14: /hostname: invalid hostname "-bad"`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("%v\nwant %s...", err, want)
	}
}
