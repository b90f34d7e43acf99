// Package toolchain holds build-rumprun, the script that builds the rumprun
// toolchains from upstream. CI cannot reach upstream, so these tests check
// what the script decides before it builds anything: its syntax, its usage
// errors, the refusals (white space, foreign directories, sources that are
// not the pinned commits) and the up-front package check.
package toolchain

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const script = "build-rumprun"

// fakeDpkg puts a dpkg-query on PATH that reports every package installed
// except those named in FAKE_DPKG_MISSING, so that the tests do not depend
// on the host's packages.
func fakeDpkg(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	body := `#!/bin/sh
for a; do pkg=$a; done
for m in $FAKE_DPKG_MISSING; do
	[ "$m" = "$pkg" ] && { echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; }
done
echo "install ok installed"
`
	if err := os.WriteFile(filepath.Join(dir, "dpkg-query"), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

type result struct {
	code   int
	stdout string
	stderr string
}

// run runs the script with a private TMPDIR (its default work base) and the
// fake dpkg-query first on PATH.
func run(t *testing.T, env []string, args ...string) (result, string) {
	t.Helper()
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	// Reading the script makes go test's cache depend on it: a cached
	// pass must not outlive an edit of the script it ran.
	if _, err := os.ReadFile(abs); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	cmd := exec.Command(abs, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(),
		"PATH="+fakeDpkg(t)+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TMPDIR="+tmp,
		// Never reach the network: a clone from here fails at once.
		"BUILD_RUMPRUN_UPSTREAM=/nonexistent/upstream",
		"GIT_CONFIG_NOSYSTEM=1",
	)
	cmd.Env = append(cmd.Env, env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}, tmp
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian package %s)", tool, tool)
		}
	}
}

// leftovers lists what the script left in its work base.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, e := range ents {
		n = append(n, e.Name())
	}
	return n
}

func TestSyntax(t *testing.T) {
	for _, sh := range []string{"sh", "dash", "bash"} {
		if _, err := exec.LookPath(sh); err != nil {
			continue
		}
		out, err := exec.Command(sh, "-n", script).CombinedOutput()
		if err != nil {
			t.Errorf("%s -n %s: %v\n%s", sh, script, err, out)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "dest")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no DEST", nil, "usage: build-rumprun"},
		{"two operands", []string{dest, dest}, "usage: build-rumprun"},
		{"unknown option", []string{"-x", dest}, "unknown option -x"},
		{"unknown long option", []string{"--frobnicate", dest}, "unknown option --frobnicate"},
		{"bad platform", []string{"-p", "arm", dest}, `-p: want hw, xen or all, not "arm"`},
		{"bad jobs", []string{"-j", "two", dest}, `-j: want a positive number, not "two"`},
		{"zero jobs", []string{"-j0", dest}, `-j: want a positive number, not "0"`},
		{"missing argument", []string{"--mirror"}, "--mirror needs an argument"},
		{"mirror and src", []string{"--mirror", "/m", "--src-netbsd", "/n", dest}, "--mirror and --src-* exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := run(t, nil, tc.args...)
			if r.code != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "usage: build-rumprun") {
				t.Errorf("stderr lacks %q and the usage:\n%s", tc.want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout not empty: %q", r.stdout)
			}
			if _, err := os.Stat(dest); err == nil {
				t.Errorf("DEST %s was created", dest)
			}
		})
	}
}

func TestWhiteSpaceRefused(t *testing.T) {
	base := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{filepath.Join(base, "my tools")}, "DEST must not contain white space"},
		{[]string{filepath.Join(base, "tab\there")}, "DEST must not contain white space"},
		{[]string{"-w", filepath.Join(base, "work dir"), filepath.Join(base, "dest")}, "WORKDIR must not contain white space"},
	} {
		r, _ := run(t, nil, tc.args...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit 1 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if got := leftovers(t, base); len(got) != 0 {
		t.Errorf("refused runs created %q", got)
	}
}

func TestPackageCheck(t *testing.T) {
	dest := filepath.Join(t.TempDir(), "dest")
	nosrc := []string{"--src-rumprun", "/nonexistent/rumprun", "--src-buildrump", "/nonexistent/b", "--src-netbsd", "/nonexistent/n"}

	// Every missing package is named, in one apt-get line.
	r, _ := run(t, []string{"FAKE_DPKG_MISSING=zlib1g-dev libxen-dev"}, append(nosrc, dest)...)
	if r.code != 1 || !strings.Contains(r.stderr, "apt-get install zlib1g-dev libxen-dev") {
		t.Errorf("exit %d, stderr:\n%s\nwant both packages in one apt-get install line", r.code, r.stderr)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Errorf("DEST created although packages are missing")
	}

	// libxen-dev is needed only for Xen: the hw build gets past the
	// check and stops at the sources.
	r, tmp := run(t, []string{"FAKE_DPKG_MISSING=libxen-dev"}, append([]string{"-p", "hw"}, append(nosrc, dest)...)...)
	if r.code != 1 || strings.Contains(r.stderr, "apt-get") ||
		!strings.Contains(r.stderr, "rumprun: /nonexistent/rumprun: no such directory") {
		t.Errorf("-p hw without libxen-dev: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if got := leftovers(t, tmp); len(got) != 0 {
		t.Errorf("failed run left %q in TMPDIR", got)
	}
	r, _ = run(t, []string{"FAKE_DPKG_MISSING=libxen-dev"}, append([]string{"-p", "xen"}, append(nosrc, dest)...)...)
	if r.code != 1 || !strings.Contains(r.stderr, "apt-get install libxen-dev") {
		t.Errorf("-p xen without libxen-dev: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

func TestForeignDestRefused(t *testing.T) {
	dest := t.TempDir()
	mine := filepath.Join(dest, "hw", "precious")
	if err := os.MkdirAll(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	r, tmp := run(t, nil, "-p", "hw", dest)
	if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(dest, "hw")+" exists and is not a rumprun toolchain install") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("the existing directory was touched: %v", err)
	}
	if got := leftovers(t, tmp); len(got) != 0 {
		t.Errorf("refused run left %q in TMPDIR", got)
	}
}

// gitRepo makes a repository with one commit that is not any pinned one.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", dir},
		{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "--allow-empty", "-m", "not rumprun"},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
	}
	return dir
}

func TestSourcesNotAtPin(t *testing.T) {
	needTools(t, "git")
	dest := filepath.Join(t.TempDir(), "dest")

	// A git repository without the pinned commit, as a work tree and bare.
	repo := gitRepo(t)
	for _, src := range []string{repo, filepath.Join(repo, ".git")} {
		r, tmp := run(t, nil, "-p", "hw", "--src-rumprun", src, dest)
		if r.code != 1 || !strings.Contains(r.stderr,
			"rumprun: "+src+" does not contain the pinned commit b04d42225a12a6fae57a78a9c1cf23642e46cd00") {
			t.Errorf("%s: exit %d, stderr:\n%s", src, r.code, r.stderr)
		}
		if got := leftovers(t, tmp); len(got) != 0 {
			t.Errorf("failed run left %q in TMPDIR", got)
		}
		if _, err := os.Stat(dest); err == nil {
			t.Errorf("failed run left DEST %s, which it created", dest)
		}
	}

	// A plain directory is hashed as git would: a single changed file
	// gives another tree, and the build is refused.
	plain := t.TempDir()
	if err := os.WriteFile(filepath.Join(plain, "build-rr.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, _ := run(t, nil, "-p", "hw", "--src-rumprun", plain, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "rumprun: "+plain+" is not the source of the pinned commit") ||
		!strings.Contains(r.stderr, "not f61c51fad72002f80e0c6a7d175a57bf1957e1ea") {
		t.Errorf("plain directory: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	// -k keeps the work directory of a failed run, and says where.
	r, tmp := run(t, nil, "-k", "-p", "hw", "--src-rumprun", repo, dest)
	kept := leftovers(t, tmp)
	if r.code != 1 || len(kept) != 1 || !strings.HasPrefix(kept[0], "build-rumprun.") ||
		!strings.Contains(r.stderr, "work directory kept: "+filepath.Join(tmp, kept[0])) {
		t.Errorf("-k: exit %d, left %q, stderr:\n%s", r.code, kept, r.stderr)
	}

	// The mirror layout is looked up by name; a missing repository is named.
	mirror := t.TempDir()
	r, _ = run(t, nil, "--mirror", mirror, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "--mirror: no git repository for rumprun in "+mirror) {
		t.Errorf("empty mirror: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if err := os.Rename(repo, filepath.Join(mirror, "rumprun")); err != nil {
		t.Fatal(err)
	}
	r, _ = run(t, nil, "--mirror", mirror, dest)
	if r.code != 1 || !strings.Contains(r.stderr, "--mirror: no git repository for buildrump.sh in "+mirror) {
		t.Errorf("mirror with rumprun only: exit %d, stderr:\n%s", r.code, r.stderr)
	}

	// Without local sources the script clones upstream, and says what
	// to do when it cannot.
	r, _ = run(t, nil, "-p", "hw", dest)
	if r.code != 1 || !strings.Contains(r.stderr, "rumprun: cannot clone /nonexistent/upstream/rumprun") {
		t.Errorf("no upstream: exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
