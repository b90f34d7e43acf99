package cli

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY returns both ends of a new pseudo-terminal.
func openPTY(t *testing.T) (controller, terminal *os.File) {
	t.Helper()
	c, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, c.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatalf("unlockpt: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, c.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatalf("ptsname: %v", e)
	}
	p, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return c, p
}

func TestProgress(t *testing.T) {
	// Not a terminal: silent.
	if Progress(&bytes.Buffer{}) != nil {
		t.Error("progress to a buffer")
	}
	f, err := os.Create(t.TempDir() + "/log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if Progress(f) != nil {
		t.Error("progress to a regular file")
	}

	c, term := openPTY(t)
	report := Progress(term)
	if report == nil {
		t.Fatal("no progress on a terminal")
	}
	report(false, "step %d", 1)
	report(false, "step %d", 2) // within 100 ms of the first: left out
	report(true, "done %d", 3)  // the last one always shows
	buf := make([]byte, 256)
	n, err := c.Read(buf)
	got := string(buf[:n])
	for err == nil && !strings.Contains(got, "\n") {
		n, err = c.Read(buf)
		got += string(buf[:n])
	}
	// The terminal turns "\n" into "\r\n".
	if want := "\rstep 1\rdone 3\r\n"; got != want {
		t.Errorf("terminal got %q, want %q", got, want)
	}
}
