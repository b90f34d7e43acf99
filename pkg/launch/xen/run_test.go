package xen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/launch/xen"
	"github.com/rumptools/rumptools/pkg/xl/xltest"
)

// TestStopSignal: a signal during an interactive launch destroys the domain
// and ends the launch with 128+N, as a shell reports a killed program.
func TestStopSignal(t *testing.T) {
	ts := xltest.NewToolstack(t)
	ts.Console("booting\nserving forever\n", false)
	d := render(t, launch.Options{Kernel: xltest.Kernel{Xen: true}.Write(t, t.TempDir(), "srv.bin")}, xen.Options{})
	file := d.File(t.TempDir())
	if err := d.WriteFile(file); err != nil {
		t.Fatal(err)
	}
	stop := make(chan os.Signal, 1)
	var out bytes.Buffer
	go func() {
		// Once the guest runs, as an operator's Ctrl-C or kill would.
		for i := 0; i < 1000; i++ {
			if _, err := os.Stat(filepath.Join(ts.Dir, "unpaused")); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop <- syscall.SIGTERM
	}()
	res, err := d.Run(&xen.Runner{Stdout: &out, Stderr: &bytes.Buffer{}, Stop: stop}, file, true)
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := res.Exit(); code != 128+15 || msg != "" {
		t.Errorf("Exit() = %d, %q", code, msg)
	}
	calls := ts.Calls()
	if last := strings.Join(calls[len(calls)-1], " "); last != "xl destroy srv" {
		t.Errorf("last call %q", last)
	}
	if res.DomID != "7" {
		t.Errorf("DomID %q", res.DomID)
	}
}

func TestExit(t *testing.T) {
	for _, tc := range []struct {
		r    xen.Result
		code int
		msg  string
	}{
		{xen.Result{}, 0, ""},
		{xen.Result{Interactive: true, Outcome: launch.Outcome{Exited: true, Status: 7}}, 7, ""},
		{xen.Result{Interactive: true, Outcome: launch.Outcome{Exited: true, Status: -1}}, 255, ""},
		{xen.Result{Interactive: true, Outcome: launch.Outcome{BootstrapFailed: "=== bootstrap failed"}}, 1, "=== bootstrap failed"},
		{xen.Result{Interactive: true, Outcome: launch.Outcome{Halted: true}}, 1, "halted without calling _exit"},
		{xen.Result{Interactive: true, ConsoleClosed: true}, 1, "console closed"},
		{xen.Result{Interactive: true, Signal: syscall.SIGINT}, 130, ""},
		{xen.Result{Interactive: true, Signal: syscall.SIGINT, Outcome: launch.Outcome{Exited: true, Status: 2}}, 2, ""},
	} {
		code, msg := tc.r.Exit()
		if code != tc.code || !strings.Contains(msg, tc.msg) || (tc.msg == "" && msg != "") {
			t.Errorf("%+v: Exit() = %d, %q; want %d, %q", tc.r, code, msg, tc.code, tc.msg)
		}
	}
}
