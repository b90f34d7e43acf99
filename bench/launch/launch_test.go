// Package launchbench measures what rump-launch-qemu adds to a boot: the
// same kernel (the probe, and a real rumprun kernel) booted by the launcher and by the QEMU command the
// launcher runs (what a user would otherwise type), in alternating pairs so
// that load on the machine hits both alike. The launcher's extra work is
// its own start, reading the kernel, building the config and the command,
// and watching the console. Run with ./run, which prints one run's figures.
package launchbench

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/rumptools/rumptools/internal/probe"
	"github.com/rumptools/rumptools/internal/realkernel"
	"github.com/rumptools/rumptools/pkg/launch"
	"github.com/rumptools/rumptools/pkg/launch/qemu"
)

// buildLauncher builds rump-launch-qemu as the Makefile does (static, no
// cgo, -trimpath): what users run.
func buildLauncher(b *testing.B) string {
	bin := filepath.Join(b.TempDir(), "rump-launch-qemu")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "../../rump-launch-qemu")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func BenchmarkOverhead(b *testing.B) {
	k := probe.Kernel(b, probe.Flavor{Bits: 64})
	disk := filepath.Join(b.TempDir(), "data.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	o := launch.Options{Kernel: k, Interfaces: []string{"vioif0=user"}, Disks: []string{disk + ",/data"},
		Args: []string{"hello", "probe-exit=0"}}
	overhead(b, o, func(r *probe.Result) time.Duration { return r.Duration })
}

// BenchmarkOverheadReal is BenchmarkOverhead on a real rumprun kernel
// (RUMPRUN_TOOLCHAIN), from start to the kernel's "halted": the launcher
// stops QEMU there, the raw command would idle for ever.
func BenchmarkOverheadReal(b *testing.B) {
	k := realkernel.HW(b).ShowKernel(b)
	o := launch.Options{Kernel: k, Interfaces: []string{"vioif0=user"}, Args: []string{"hello"}}
	overhead(b, o, func(r *probe.Result) time.Duration { return r.UntilDone })
}

// overhead boots o by the launcher and by the QEMU command it runs, in
// alternating pairs, and reports the wall time that took measures of
// each boot.
func overhead(b *testing.B, o launch.Options, took func(*probe.Result) time.Duration) {
	bin := buildLauncher(b)
	args := []string{"--accel", "tcg"}
	for _, i := range o.Interfaces {
		args = append(args, "-I", i)
	}
	for _, d := range o.Disks {
		args = append(args, "-b", d)
	}
	args = append(append(args, o.Kernel, "--"), o.Args...)

	// The raw command: exactly what the launcher runs.
	plan, _, err := launch.New(o, qemu.Target)
	if err != nil {
		b.Fatal(err)
	}
	c, err := qemu.Build(plan, qemu.Options{Accel: []string{"tcg"}})
	if err != nil || len(c.Temps) != 0 {
		b.Fatalf("build: %v (temps %d)", err, len(c.Temps))
	}

	// Each boot's wall time, and its CPU time: that of the process and of
	// the children it waited for (QEMU, for the launcher), which load on
	// the machine disturbs much less.
	bootRaw := func() (time.Duration, time.Duration) {
		cmd := exec.Command(c.Path, c.Args...)
		r := probe.RunCmd(b, cmd, 0)
		if r.ExitStatus != 0 || took(r) == 0 {
			b.Fatalf("raw boot: exit %d\n%s", r.ExitStatus, r.Output)
		}
		return took(r), cpu(cmd)
	}
	bootLauncher := func() (time.Duration, time.Duration) {
		cmd := exec.Command(bin, args...)
		r := probe.RunCmd(b, cmd, 0)
		if r.ExitStatus != 0 || r.ProcessExit != 0 || r.Killed || took(r) == 0 {
			b.Fatalf("launcher boot: exit %d/%d, killed %v\n%s", r.ExitStatus, r.ProcessExit, r.Killed, r.Output)
		}
		return took(r), cpu(cmd)
	}
	bootRaw() // warm the page cache for both
	bootLauncher()

	b.ResetTimer()
	var raw, launcher, rawCPU, launcherCPU time.Duration
	var ratios []float64
	for i := 0; i < b.N; i++ {
		var r, l, rc, lc time.Duration
		if i%2 == 0 {
			r, rc = bootRaw()
			l, lc = bootLauncher()
		} else {
			l, lc = bootLauncher()
			r, rc = bootRaw()
		}
		raw, launcher, rawCPU, launcherCPU = raw+r, launcher+l, rawCPU+rc, launcherCPU+lc
		ratios = append(ratios, float64(l)/float64(r))
		if os.Getenv("BENCH_VERBOSE") != "" {
			b.Logf("pair %d: raw %v (cpu %v), launcher %v (cpu %v)", i, r, rc, l, lc)
		}
	}
	b.StopTimer()
	sort.Float64s(ratios)
	n := float64(b.N)
	b.ReportMetric(float64(raw.Milliseconds())/n, "qemu-ms/boot")
	b.ReportMetric(float64(launcher.Milliseconds())/n, "launcher-ms/boot")
	b.ReportMetric(float64(launcher)/float64(raw), "ratio")
	b.ReportMetric(ratios[len(ratios)/2], "median-ratio")
	b.ReportMetric(float64(rawCPU.Milliseconds())/n, "qemu-cpu-ms/boot")
	b.ReportMetric(float64(launcherCPU.Milliseconds())/n, "launcher-cpu-ms/boot")
	b.ReportMetric(float64(launcherCPU)/float64(rawCPU), "cpu-ratio")
}

// cpu returns the user and system time of a finished command and of the
// children it waited for.
func cpu(cmd *exec.Cmd) time.Duration {
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDryRun is the launcher's own cost as a process, without QEMU:
// start-up (Go runtime and package initialisation) plus reading the kernel
// and building the plan and the command, as "rump-launch-qemu -n".
func BenchmarkDryRun(b *testing.B) {
	dryRun(b, probe.Kernel(b, probe.Flavor{Bits: 64}))
}

// BenchmarkDryRunBig is BenchmarkDryRun on an 18 MB kernel (the probe
// padded like a large baked kernel, its toolchain strings near the end): a
// launcher's cost must not grow with the kernel.
func BenchmarkDryRunBig(b *testing.B) {
	dryRun(b, bigKernel(b, probe.Kernel(b, probe.Flavor{Bits: 64}), 18<<20))
}

func dryRun(b *testing.B, k string) {
	bin := buildLauncher(b)
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "-n", "--accel", "tcg", "-I", "vioif0=user", k, "--", "hello")
		if err := cmd.Run(); err != nil {
			b.Fatal(err)
		}
		total += cpu(cmd)
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// bigKernel writes a copy of kernel padded to about size bytes: what
// loaders load is unchanged; behind it come bytes like a large kernel's,
// "rumprun_" symbol names every few kilobytes and the rumprun toolchain
// strings near the end (where a whole-file scan finds them last).
func bigKernel(b *testing.B, kernel string, size int) string {
	data, err := os.ReadFile(kernel)
	if err != nil {
		b.Fatal(err)
	}
	pad := make([]byte, size-len(data))
	r := rand.New(rand.NewSource(1))
	r.Read(pad)
	syms := []string{"rumprun_main1\x00", "rumprun_config\x00", "rumprun_boot\x00"}
	for off, i := 0, 0; off+64 < len(pad); off, i = off+3000+r.Intn(2000), i+1 {
		copy(pad[off:], syms[i%len(syms)])
	}
	copy(pad[len(pad)-64<<10:], "rumprun_tuple: x86_64-rumprun-netbsd\x00rumprun_tooldir: /opt/rr\x00rumprun_backingcc: gcc\x00rumprun_cflags: -O2\x00")
	path := filepath.Join(b.TempDir(), "big.bin")
	if err := os.WriteFile(path, append(data, pad...), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func TestMain(m *testing.M) { os.Exit(realkernel.Main(m)) }
