// Package bootbench measures what the initrd/1 support costs a real
// rumprun kernel (RUMPRUN_TOOLCHAIN): the time from QEMU's start to the
// program's main() with its config on the command line and with it in a
// 1 MiB and a 64 MiB initrd, the kernel's unpack throughput, and the
// memory the initrd keeps. Run with ./run, which prints one run's figures.
package bootbench

import (
	"bufio"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/realkernel"
)

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }

const (
	memMiB = 256 // the same for every boot; a 64 MiB initrd fits from about 208
	config = `{"rc": [{"bin": "show", "argv": []}], "net": [], "blk": []}`
)

var (
	unpackedRE = regexp.MustCompile(`^initrd/1: unpacked .*, (\d+) bytes of (\d+) in ([0-9.]+) s`)
	holdsRE    = regexp.MustCompile(`^initrd/1: the initrd holds (\d+) KiB`)
)

type boot struct {
	toMain  time.Duration
	unpack  float64 // seconds, from the kernel
	bytes   int64   // file bytes unpacked
	heldKiB int64
}

// run boots once and returns when QEMU has left (isa-debug-exit).
func run(b *testing.B, args []string) boot {
	cmd := exec.Command("qemu-system-x86_64", args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var r boot
	sc := bufio.NewScanner(out)
	var text strings.Builder
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		text.WriteString(l + "\n")
		if r.toMain == 0 && l == `=== calling "show" main() ===` {
			r.toMain = time.Since(start)
		}
		if m := unpackedRE.FindStringSubmatch(l); m != nil {
			r.bytes, _ = strconv.ParseInt(m[1], 10, 64)
			r.unpack, _ = strconv.ParseFloat(m[3], 64)
		}
		if m := holdsRE.FindStringSubmatch(l); m != nil {
			r.heldKiB, _ = strconv.ParseInt(m[1], 10, 64)
		}
	}
	io.Copy(io.Discard, out)
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 1 || r.toMain == 0 {
		b.Fatalf("qemu: %v (exit %d), main() at %v\n%s", err, cmd.ProcessState.ExitCode(), r.toMain, text.String())
	}
	return r
}

func initrd(b *testing.B, dir, name string, size int64) string {
	root := filepath.Join(dir, name)
	if err := os.MkdirAll(root, 0o755); err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	rand.Read(data)
	if err := os.WriteFile(filepath.Join(root, "data"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "json.cfg"), []byte(config), 0o644); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, name+".initrd")
	if o, err := exec.Command(realkernel.Tool(b, "rump-initrd"), "-o", out, root).CombinedOutput(); err != nil {
		b.Fatalf("rump-initrd: %v\n%s", err, o)
	}
	return out
}

func mean(ds []time.Duration) float64 {
	var s float64
	for _, d := range ds {
		s += float64(d) / 1e6
	}
	return s / float64(len(ds))
}

func median(ds []time.Duration) float64 {
	s := append([]time.Duration{}, ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return float64(s[len(s)/2]) / 1e6
}

// BenchmarkBootToMain boots, b.N times each and in turn, the kernel with
// its config on the command line, with a 1 MiB initrd and with a 64 MiB
// one.
func BenchmarkBootToMain(b *testing.B) {
	k := realkernel.HW(b).ShowKernel(b)
	dir := b.TempDir()
	base := []string{"-accel", "tcg", "-m", strconv.Itoa(memMiB), "-nodefaults", "-no-user-config", "-vga", "none",
		"-display", "none", "-serial", "stdio", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-kernel", k}
	setups := []struct {
		name string
		args []string
	}{
		{"cmdline", append(append([]string{}, base...), "-append", "rumpboot.exit=0xf4 rumpboot=initrd/1 "+config)},
		{"initrd-1MiB", append(append([]string{}, base...), "-initrd", initrd(b, dir, "one", 1<<20), "-append", "rumpboot.exit=0xf4")},
		{"initrd-64MiB", append(append([]string{}, base...), "-initrd", initrd(b, dir, "big", 64<<20), "-append", "rumpboot.exit=0xf4")},
	}
	times := make([][]time.Duration, len(setups))
	last := make([]boot, len(setups))
	var unpack64, bytes64 float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for j, s := range setups {
			r := run(b, s.args)
			times[j] = append(times[j], r.toMain)
			last[j] = r
			if j == 2 {
				unpack64 += r.unpack
				bytes64 += float64(r.bytes)
			}
		}
	}
	b.StopTimer()
	for j, s := range setups {
		b.ReportMetric(mean(times[j]), s.name+"-ms")
		b.ReportMetric(median(times[j]), s.name+"-median-ms")
	}
	b.ReportMetric(100*(mean(times[1])/mean(times[0])-1), "cost-1MiB-%")
	b.ReportMetric(100*(mean(times[2])/mean(times[0])-1), "cost-64MiB-%")
	if unpack64 > 0 {
		b.ReportMetric(bytes64/unpack64/(1<<20), "unpack-MiB/s")
	}
	b.ReportMetric(float64(last[2].heldKiB)/1024, "held-64MiB-MiB")
	b.ReportMetric(float64(last[1].heldKiB)/1024, "held-1MiB-MiB")
}
