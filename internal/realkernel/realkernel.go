// Package realkernel lets tests bake and boot real rumprun kernels: it
// finds the real toolchains that RUMPRUN_TOOLCHAIN (hw) and
// RUMPRUN_XEN_TOOLCHAIN (Xen) name, compiles the project's test programs
// (testdata/real) with them, and builds the rumptools binaries once per
// test binary.
//
//	tc := realkernel.HW(t)                       // skips when RUMPRUN_TOOLCHAIN is unset
//	obj := tc.Compile(t, dir+"/show", "show")    // testdata/real/show.c -> dir/show (a rumprun object)
//	bin := realkernel.Tool(t, "rump-bake")       // path of the built tool
//	tc.UpstreamBake(t, "hw_generic", out, obj)   // the toolchain's own rumprun-bake, to compare with
//
// Booting is the probe harness's (internal/probe: RunCmd, Boot): real
// kernels print the same console markers, which it decodes, and it stops
// QEMU after "halted", which real kernels never leave by themselves.
//
// A variable that is set must name a usable toolchain: a wrong one fails
// the test instead of skipping it, so that CI, which sets both, never
// silently tests less.
package realkernel

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tuple is the tuple of the toolchains the tests use.
const Tuple = "x86_64-rumprun-netbsd"

// Toolchain is an installed real rumprun toolchain.
type Toolchain struct {
	Dir      string // the directory holding bin/TUPLE-gcc
	Platform string // "hw" or "xen"
}

// HW returns the hw toolchain named by RUMPRUN_TOOLCHAIN, or skips the test.
func HW(t testing.TB) *Toolchain {
	t.Helper()
	return fromEnv(t, "RUMPRUN_TOOLCHAIN", "hw")
}

// Xen returns the Xen toolchain named by RUMPRUN_XEN_TOOLCHAIN, or skips
// the test.
func Xen(t testing.TB) *Toolchain {
	t.Helper()
	return fromEnv(t, "RUMPRUN_XEN_TOOLCHAIN", "xen")
}

func fromEnv(t testing.TB, name, platform string) *Toolchain {
	t.Helper()
	dir := os.Getenv(name)
	if dir == "" {
		t.Skipf("%s is not set: no real rumprun %s toolchain to test with (install one with ../shared/rumprun/install, as CI does)", name, platform)
	}
	tc := &Toolchain{Dir: dir, Platform: platform}
	for _, f := range []string{tc.CC(), filepath.Join(dir, "bin", "rumprun-bake"),
		filepath.Join(dir, "rumprun-x86_64", "lib", "rumprun-"+platform, "specs-bake")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("%s=%s is not a rumprun %s toolchain: %v", name, dir, platform, err)
		}
	}
	return tc
}

// CC is the toolchain's application compiler.
func (tc *Toolchain) CC() string { return tc.Bin("gcc") }

// Bin is the toolchain's TUPLE-name program (gcc, strip, objcopy, ...).
func (tc *Toolchain) Bin(name string) string {
	return filepath.Join(tc.Dir, "bin", Tuple+"-"+name)
}

// Env is the environment for the toolchain's programs: its bin first on
// PATH, rumprun-bake's banner off.
func (tc *Toolchain) Env() []string {
	return append(os.Environ(), "PATH="+filepath.Join(tc.Dir, "bin")+":"+os.Getenv("PATH"),
		"RUMPRUN_WARNING_STFU=please")
}

// Compile compiles testdata/real/NAME.c with the toolchain into out, a
// rumprun object ready to bake (its base name is the program's name),
// passing extra arguments to the compiler before the source (-DX=...).
func (tc *Toolchain) Compile(t testing.TB, out, name string, extra ...string) string {
	t.Helper()
	src := filepath.Join(RepoDir(t), "testdata", "real", name+".c")
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-O2", "-Wall", "-o", out}, extra...)
	args = append(args, src)
	tc.Run(t, tc.CC(), args...)
	return out
}

// UpstreamBake bakes with the toolchain's own rumprun-bake.
func (tc *Toolchain) UpstreamBake(t testing.TB, config, out string, objs ...string) {
	t.Helper()
	tc.Run(t, filepath.Join(tc.Dir, "bin", "rumprun-bake"), append([]string{config, out}, objs...)...)
}

// Run runs one of the toolchain's programs (a path, see Bin) in its
// environment and fails the test with its output when it fails.
func (tc *Toolchain) Run(t testing.TB, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = tc.Env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.Bytes())
	}
}

var repo struct {
	once sync.Once
	dir  string
	err  error
}

// RepoDir returns the repository's top directory (where go.mod is).
func RepoDir(t testing.TB) string {
	t.Helper()
	repo.once.Do(func() {
		dir, err := os.Getwd()
		for err == nil {
			if _, serr := os.Stat(filepath.Join(dir, "go.mod")); serr == nil {
				repo.dir = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				err = fmt.Errorf("no go.mod above the working directory")
			}
			dir = parent
		}
		repo.err = err
	})
	if repo.err != nil {
		t.Fatal(repo.err)
	}
	return repo.dir
}

var tools struct {
	once sync.Once
	dir  string
	err  error
}

// Tool returns the path of the rumptools binary name (rump-bake,
// rump-launch-qemu, ...). The first call builds every tool into a
// temporary directory that lives as long as the test binary; later calls
// reuse it. A package that calls Tool removes them with Main.
func Tool(t testing.TB, name string) string {
	t.Helper()
	top := RepoDir(t)
	tools.once.Do(func() {
		dir, err := os.MkdirTemp("", "rumptools-bin-")
		if err != nil {
			tools.err = err
			return
		}
		mains, _ := filepath.Glob(filepath.Join(top, "rump-*", "main.go"))
		args := []string{"build", "-trimpath", "-o", dir + string(filepath.Separator)}
		for _, m := range mains {
			args = append(args, "./"+filepath.Base(filepath.Dir(m)))
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = top
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			tools.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		tools.dir = dir
	})
	if tools.err != nil {
		t.Fatal(tools.err)
	}
	p := filepath.Join(tools.dir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("no tool %s: %v", name, err)
	}
	return p
}

// Main runs the tests of a package that uses Tool or ShowKernel and
// removes what they built afterwards: call it from TestMain as
// os.Exit(realkernel.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	for _, d := range []string{tools.dir, kernels.dir} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	return code
}

var kernels struct {
	mu    sync.Mutex
	dir   string
	built map[string]string
}

// ShowKernel returns a kernel that rump-bake baked from testdata/real/show.c
// with the toolchain, giving rump-bake bakeArgs (e.g. "-C", "hw_virtio")
// before the object. Each distinct bake is made once per test binary.
func (tc *Toolchain) ShowKernel(t testing.TB, bakeArgs ...string) string {
	t.Helper()
	bake := Tool(t, "rump-bake")
	kernels.mu.Lock()
	defer kernels.mu.Unlock()
	key := tc.Dir + "\x00" + strings.Join(bakeArgs, "\x00")
	if k, ok := kernels.built[key]; ok {
		return k
	}
	if kernels.dir == "" {
		dir, err := os.MkdirTemp("", "rumptools-kernels-")
		if err != nil {
			t.Fatal(err)
		}
		kernels.dir, kernels.built = dir, map[string]string{}
	}
	n := len(kernels.built)
	obj := tc.Compile(t, filepath.Join(kernels.dir, fmt.Sprintf("%d", n), "show"), "show")
	k := filepath.Join(kernels.dir, fmt.Sprintf("show-%d.bin", n))
	args := append(append([]string{"-q", "-o", k}, bakeArgs...), obj)
	tc.Run(t, bake, args...)
	kernels.built[key] = k
	return k
}

// LoadedImage returns what a loader puts in memory from the ELF file at
// path: the entry point and every PT_LOAD header with its file bytes, so
// that two kernels compare equal when they boot the same whatever their
// sections, symbols and notes.
func LoadedImage(t testing.TB, path string) []byte {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b bytes.Buffer
	fmt.Fprintf(&b, "entry %#x\n", f.Entry)
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD {
			continue
		}
		fmt.Fprintf(&b, "load vaddr %#x paddr %#x filesz %#x memsz %#x flags %v align %#x\n",
			p.Vaddr, p.Paddr, p.Filesz, p.Memsz, p.Flags, p.Align)
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b.Write(data)
	}
	return b.Bytes()
}

// AskTCP connects to 127.0.0.1:port again and again until a connection
// brings data, and sends that data on the returned channel; closing stop
// ends the attempts and sends "". QEMU's user network accepts on the host
// side at once and drops the connection while nothing listens in the
// guest, hence the retries.
func AskTCP(port int, stop <-chan struct{}) <-chan string {
	answer := make(chan string, 1)
	go func() {
		for {
			select {
			case <-stop:
				answer <- ""
				return
			default:
			}
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
				c.SetDeadline(time.Now().Add(10 * time.Second))
				b, _ := io.ReadAll(c)
				c.Close()
				if len(b) > 0 {
					answer <- string(b)
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	return answer
}
