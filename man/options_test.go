package man

// The tests in this file hold every tool to its documentation: the options
// its flag set accepts, the options its -h text documents and the options
// its manual page documents must be the same set, and the tool must follow
// the command-line conventions of DESIGN.md section 7.

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// implicit are the options the flag package accepts without a definition;
// documenting them is optional.
var implicit = map[string]bool{"h": true, "help": true}

// endOfOptions stands for "--" (the program's arguments follow) in the
// documented sets; it is no flag, but the usage and the page must agree on it.
const endOfOptions = "-"

// TestOptionsAgree checks, for every tool, that the flag set its main
// package defines (read from the source, and confirmed against the built
// binary), the options its -h text documents and the options its manual
// page documents are one and the same set, and that the usage line and the
// page's SYNOPSIS name the same options.
func TestOptionsAgree(t *testing.T) {
	bins := buildTools(t)
	for _, tool := range tools(t) {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			bin := filepath.Join(bins, tool)
			defined, err := sourceFlags(filepath.Join(root(t), tool))
			if err != nil {
				t.Fatal(err)
			}
			res := runTool(t, bin, "", "-h")
			if res.code != 0 {
				t.Fatalf("-h: exit %d, stderr %q", res.code, res.stderr)
			}
			useSyn, useList := usageOptions(res.stdout)
			page := readFile(t, tool+".1")
			manSyn, manList, err := pageOptions(page)
			if err != nil {
				t.Fatalf("%s.1: %v", tool, err)
			}
			checkBinaryFlags(t, bin, defined, union(union(useSyn, useList), union(manSyn, manList)))

			flags := keys(defined)
			for where, opts := range map[string][]string{"-h text": union(useSyn, useList), tool + ".1": union(manSyn, manList)} {
				for _, o := range opts {
					if len(o) > 1 && !defined[o] && strings.IndexFunc(o, func(r rune) bool { return !defined[string(r)] }) < 0 {
						t.Errorf("%s groups options as -%s: the flag package takes one option per argument (write them apart)", where, o)
					}
				}
			}
			compare(t, "flag set", flags, "-h text", without(union(useSyn, useList), endOfOptions))
			compare(t, "flag set", flags, tool+".1", without(union(manSyn, manList), endOfOptions))
			compare(t, "-h usage lines", useSyn, tool+".1 SYNOPSIS", manSyn)
			// Every option is explained, not only named in a synopsis.
			compare(t, "flag set", flags, "the option list of -h", without(useList, endOfOptions))
			compare(t, "flag set", flags, "the option list ("+optionListName(page)+") of "+tool+".1", without(manList, endOfOptions))
		})
	}
}

// TestConventions checks DESIGN.md section 7 on the built tools: -h prints
// the usage on standard output and exits 0; a usage mistake (an unknown
// option, a missing operand) exits 2 with "rump-TOOL: message" and the
// line "run 'rump-TOOL -h' for usage" on standard error, the same shape in
// every tool; a file that cannot be read exits 1 with a "rump-TOOL: "
// message naming it, and leaves no output behind.
func TestConventions(t *testing.T) {
	bins := buildTools(t)
	missing := "/nonexistent/rumptools-test-input"
	// A run that names a file that does not exist, per tool: invalid input.
	badInput := map[string][]string{
		"rump-bake":        {"-i", missing},
		"rump-cfgcheck":    {missing},
		"rump-initrd":      {"-o", "out.cpio", missing},
		"rump-mkiso":       {"-o", "out.iso", missing},
		"rump-launch-qemu": {"-n", missing},
		"rump-launch-xen":  {"-n", missing},
		"rump-launch-ec2":  {"-n", missing},
		"rump-launch-gce":  {"-n", "--project", "my-project", "--zone", "us-central1-a", "--bucket", "my-bucket", missing},
	}
	// Tools that read standard input when given no operand.
	readsStdin := map[string]bool{"rump-cfgcheck": true}
	for _, tool := range tools(t) {
		t.Run(tool, func(t *testing.T) {
			t.Parallel()
			bin := filepath.Join(bins, tool)
			prefix := tool + ": "

			for _, h := range []string{"-h", "--help"} {
				r := runTool(t, bin, "", h)
				if r.code != 0 || !strings.HasPrefix(r.stdout, "usage: "+tool+" ") || r.stderr != "" {
					t.Errorf("%s %s: exit %d, stdout %.60q, stderr %q; want 0, the usage on stdout, nothing on stderr", tool, h, r.code, r.stdout, r.stderr)
				}
			}

			// Every usage error is one line saying what is wrong, and one
			// saying where the usage is.
			hint := "\nrun '" + tool + " -h' for usage\n"
			r := runTool(t, bin, "", "--no-such-option")
			if want := prefix + "flag provided but not defined: -no-such-option" + hint; r.code != 2 || r.stderr != want || r.stdout != "" {
				t.Errorf("%s --no-such-option: exit %d, stdout %q, stderr %q; want 2 and %q", tool, r.code, r.stdout, r.stderr, want)
			}

			if readsStdin[tool] {
				r = runTool(t, bin, `{"cmdline": "app"}`)
				if r.code != 0 || r.stdout != "" || r.stderr != "" {
					t.Errorf("%s with a valid config on stdin and no operand: exit %d, stdout %q, stderr %q; want 0 and silence", tool, r.code, r.stdout, r.stderr)
				}
			} else {
				r = runTool(t, bin, "")
				if r.code != 2 || !strings.HasPrefix(r.stderr, prefix) || !strings.HasSuffix(r.stderr, hint) || strings.Count(r.stderr, "\n") != 2 || r.stdout != "" {
					t.Errorf("%s without operands: exit %d, stdout %q, stderr %q; want 2 and %q...%q", tool, r.code, r.stdout, r.stderr, prefix, hint)
				}
			}

			args, ok := badInput[tool]
			if !ok {
				t.Fatalf("no bad-input case for %s: add one to badInput", tool)
			}
			dir := t.TempDir()
			r = runToolIn(t, dir, bin, "", args...)
			if r.code != 1 || !strings.HasPrefix(r.stderr, prefix) || !strings.Contains(r.stderr, missing) {
				t.Errorf("%s %q: exit %d, stderr %q; want 1 and %q... naming the file", tool, args, r.code, r.stderr, prefix)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("%s %q left %v in the current directory", tool, args, left)
			}
		})
	}
}

// TestPagesMapOldOptions checks that every tool has a page, and that the
// page has a section mapping the options of the old rumprun and
// rumprun-bake to the new ones (DESIGN.md section 7; lint_test.go checks
// the other sections).
func TestPagesMapOldOptions(t *testing.T) {
	for _, tool := range tools(t) {
		page := readFile(t, tool+".1")
		old := regexp.MustCompile(`\n\.Sh (OLD RUMPRUN[A-Z -]* OPTIONS)\n`).FindStringSubmatch(page)
		if old == nil {
			t.Errorf("%s.1: no OLD RUMPRUN OPTIONS (or OLD RUMPRUN-BAKE OPTIONS) section", tool)
			continue
		}
		body := section(page, old[1])
		if !strings.Contains(body, "\n.It ") {
			t.Errorf("%s.1: section %s maps no option", tool, old[1])
		}
	}
}

// TestExtractors checks the parsers this file relies on, so that a change
// in them cannot make the tests above vacuous.
func TestExtractors(t *testing.T) {
	syn, list := usageOptions(`usage: rump-x [-n] [-c CFG] [--name NAME] [-o FILE|-] KERNEL [-- ARGS...]
       rump-x -t file (rumprun-x's form)

Does x; see -q in prose.

  -n          print
  -c CFG      config ("-": stdin)
  --name N    name
  -           a list on stdin
  -h          help
`)
	if want := []string{"-", "c", "n", "name", "o", "t"}; !slices.Equal(syn, want) {
		t.Errorf("usage synopsis: %q, want %q", syn, want)
	}
	if want := []string{"c", "h", "n", "name"}; !slices.Equal(list, want) {
		t.Errorf("usage list: %q, want %q", list, want)
	}
	syn, list, err := pageOptions(`.Sh SYNOPSIS
.Nm
.Op Fl np
.Op Fl c Ar cfg
.Op Fl o Ar file | Fl
.Op Fl -name Ar name
.Ar kernel
.Op Fl - Ar args ...
.Sh DESCRIPTION
Text with
.Fl q
in it.
.Bl -tag -width Ds
.It Fl c Ar cfg
.It Fl -name Ar name
.Bl -tag -width Ds
.It Fl z
nested
.El
.El
.Sh OLD RUMPRUN OPTIONS
.Bl -tag -width Ds
.It Fl W Ar old
.El
`)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"-", "c", "name", "np", "o"}; !slices.Equal(syn, want) {
		t.Errorf("page synopsis: %q, want %q", syn, want)
	}
	if want := []string{"c", "name"}; !slices.Equal(list, want) {
		t.Errorf("page list: %q, want %q", list, want)
	}
	if _, _, err := pageOptions(".Sh SYNOPSIS\n.Nm\n.Sh DESCRIPTION\nno list\n"); err == nil {
		t.Error("a page without an option list was accepted")
	}

	dir := t.TempDir()
	src := `package main
import "flag"
func main() {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	var s string
	fs.StringVar(&s, "c", "", "")
	fs.Bool("n", false, "")
	fs.Func("name", "", func(string) error { return nil })
	flag.Int("M", 0, "")
	var b strings.Builder
	b.String()
	common(fs)
}

func common(set *flag.FlagSet) { set.Bool("v", false, "") }
`
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := sourceFlags(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"M", "c", "n", "name", "v"}; !slices.Equal(keys(got), want) {
		t.Errorf("source flags: %q, want %q", keys(got), want)
	}
	for _, c := range []struct{ old, new, what string }{
		{`"c", "", ""`, `name, "", ""`, "a flag whose name is not a literal"},
		{`common(fs)`, `other.Register(fs)`, "a flag set handed to another package"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(strings.Replace(src, c.old, c.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := sourceFlags(dir); err == nil {
			t.Errorf("%s was accepted", c.what)
		}
	}
}

// root is the module's directory.
func root(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// tools lists the tools: every rump-*/main.go of the module.
func tools(t *testing.T) []string {
	t.Helper()
	mains, err := filepath.Glob(filepath.Join(root(t), "rump-*", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if len(mains) == 0 {
		t.Fatal("no tools found")
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	return names
}

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// TestMain removes the tools built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildTools builds every tool into one temporary directory, once.
func buildTools(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		names := tools(t)
		if buildDir, buildErr = os.MkdirTemp("", "rumptools-man-"); buildErr != nil {
			return
		}
		args := []string{"build", "-o", buildDir + string(filepath.Separator)}
		for _, n := range names {
			args = append(args, "./"+n)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

type result struct {
	code           int
	stdout, stderr string
}

// runTool runs a built tool in an empty directory with stdin as its input.
func runTool(t *testing.T, bin, stdin string, args ...string) result {
	t.Helper()
	return runToolIn(t, t.TempDir(), bin, stdin, args...)
}

func runToolIn(t *testing.T, dir, bin, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	// Nothing a tool finds on the host can change what these tests see:
	// no hypervisor tools, no AWS configuration, no state directory.
	cmd.Env = []string{"PATH=" + filepath.Join(dir, "no-bin"), "HOME=" + dir, "XDG_RUNTIME_DIR=" + dir,
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws"),
		"AWS_EC2_METADATA_DISABLED=true", "TMPDIR=" + os.TempDir()}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("%s %q: %v (%v)", bin, args, err, ctx.Err())
		}
		code = ee.ExitCode()
	}
	return result{code, out.String(), errb.String()}
}

// definers are the flag.FlagSet (and package flag) methods that define a
// flag, with the index of the argument that names it.
var definers = map[string]int{
	"Bool": 0, "Int": 0, "Int64": 0, "Uint": 0, "Uint64": 0, "String": 0, "Float64": 0, "Duration": 0,
	"Func": 0, "BoolFunc": 0,
	"BoolVar": 1, "IntVar": 1, "Int64Var": 1, "UintVar": 1, "Uint64Var": 1, "StringVar": 1,
	"Float64Var": 1, "DurationVar": 1, "Var": 1, "TextVar": 1,
}

// sourceFlags reads the flags that the main package in dir defines: the
// definer calls on package flag and on every variable or parameter that
// holds a *flag.FlagSet. A flag whose name is not a string literal, or a
// flag set handed to another package (which could define flags this test
// cannot see), is an error.
func sourceFlags(dir string) (map[string]bool, error) {
	fset := token.NewFileSet()
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	// Identifiers that hold a flag set: assigned from flag.NewFlagSet, or
	// declared as *flag.FlagSet (a helper's parameter).
	sets := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for i, rhs := range n.Rhs {
					if id, ok := n.Lhs[min(i, len(n.Lhs)-1)].(*ast.Ident); ok && isCall(rhs, "flag", "NewFlagSet") {
						sets[id.Name] = true
					}
				}
			case *ast.ValueSpec:
				for i, v := range n.Values {
					if isCall(v, "flag", "NewFlagSet") && i < len(n.Names) {
						sets[n.Names[i].Name] = true
					}
				}
				if isFlagSetType(n.Type) {
					for _, id := range n.Names {
						sets[id.Name] = true
					}
				}
			case *ast.Field:
				if isFlagSetType(n.Type) {
					for _, id := range n.Names {
						sets[id.Name] = true
					}
				}
			}
			return true
		})
	}
	flags := map[string]bool{}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || err != nil {
				return err == nil
			}
			pos := fset.Position(call.Pos())
			// A flag set handed to another package could gain flags there;
			// cli.Parse only parses (internal/cli defines no flags).
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && !sets[pkg.Name] && !(pkg.Name == "cli" && sel.Sel.Name == "Parse") {
					for _, a := range call.Args {
						if id, ok := a.(*ast.Ident); ok && sets[id.Name] {
							err = fmt.Errorf("%s: flag set %s handed to %s.%s: this test cannot see the flags it defines", pos, id.Name, pkg.Name, sel.Sel.Name)
							return false
						}
					}
				}
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			recv, ok := sel.X.(*ast.Ident)
			if !ok || !(sets[recv.Name] || recv.Name == "flag") {
				return true
			}
			i, ok := definers[sel.Sel.Name]
			if !ok {
				return true
			}
			if len(call.Args) <= i {
				err = fmt.Errorf("%s: %s.%s with too few arguments", pos, recv.Name, sel.Sel.Name)
				return false
			}
			lit, ok := call.Args[i].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				err = fmt.Errorf("%s: flag name of %s.%s is not a string literal", pos, recv.Name, sel.Sel.Name)
				return false
			}
			s, uerr := strconv.Unquote(lit.Value)
			if uerr != nil {
				err = fmt.Errorf("%s: %v", pos, uerr)
				return false
			}
			flags[s] = true
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	if len(flags) == 0 {
		return nil, fmt.Errorf("%s: no flags defined", dir)
	}
	return flags, nil
}

// isFlagSetType reports whether e is *flag.FlagSet.
func isFlagSetType(e ast.Expr) bool {
	star, ok := e.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := star.X.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "flag" && sel.Sel.Name == "FlagSet"
}

func isCall(e ast.Expr, pkg, fn string) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == fn
}

// checkBinaryFlags confirms what the source says against the binary: it
// must accept every flag the source defines and refuse every other option
// that the documentation names (`tool -X -h`: the flag package reports an
// undefined flag before it sees -h).
func checkBinaryFlags(t *testing.T, bin string, defined map[string]bool, documented []string) {
	t.Helper()
	probe := append(keys(defined), documented...)
	slices.Sort(probe)
	for _, name := range slices.Compact(probe) {
		if implicit[name] || name == endOfOptions {
			continue
		}
		dash := "-"
		if len(name) > 1 {
			dash = "--"
		}
		r := runTool(t, bin, "", dash+name, "-h")
		// The flag package names any undefined option with one dash.
		accepted := !strings.Contains(r.stderr, "flag provided but not defined: -"+name+"\n")
		switch {
		case accepted && !defined[name]:
			t.Errorf("the binary accepts %s%s, which the source does not define as a literal flag", dash, name)
		case !accepted && defined[name]:
			t.Errorf("the binary refuses %s%s, which the source defines", dash, name)
		}
	}
}

// optionRE matches an option where documentation names one: at the start
// of a word, after a space, '[', '|' or '('. "--" alone is the end of the
// options.
var optionRE = regexp.MustCompile(`(?:^|[\s\[|(])(--?[A-Za-z0-9][A-Za-z0-9-]*|--)(?:$|[\s\]|=,)])`)

// usageOptions returns the options that a -h text names in its usage lines
// (from "usage:" to the first blank line) and the ones its option list
// describes (indented lines that start with an option).
func usageOptions(text string) (synopsis, list []string) {
	syn, lst := map[string]bool{}, map[string]bool{}
	lines := strings.Split(text, "\n")
	i := 0
	for ; i < len(lines) && strings.TrimSpace(lines[i]) != ""; i++ {
		for _, m := range optionRE.FindAllStringSubmatch(lines[i], -1) {
			syn[strings.TrimPrefix(strings.TrimPrefix(m[1], "-"), "-")+dashdash(m[1])] = true
		}
	}
	head := regexp.MustCompile(`^\s+(--?[A-Za-z0-9][A-Za-z0-9-]*|--)(?:\s|$)`)
	for ; i < len(lines); i++ {
		if m := head.FindStringSubmatch(lines[i]); m != nil {
			lst[strings.TrimPrefix(strings.TrimPrefix(m[1], "-"), "-")+dashdash(m[1])] = true
		}
	}
	return keys(syn), keys(lst)
}

// dashdash keeps "--" visible after its dashes are cut: it becomes "-".
func dashdash(opt string) string {
	if opt == "--" {
		return "-"
	}
	return ""
}

// pageOptions returns the options an mdoc page names with Fl in its
// SYNOPSIS, and those its option lists describe: .It Fl items of the
// outermost tag lists outside SYNOPSIS and outside the sections that map
// old rumprun options. ".Fl -" is the end of the options ("-"); a lone Fl
// (a file operand "-") is skipped.
func pageOptions(page string) (synopsis, list []string, err error) {
	syn, lst := map[string]bool{}, map[string]bool{}
	sec, depth, lists := "", 0, 0
	for _, line := range strings.Split(page, "\n") {
		if !strings.HasPrefix(line, ".") {
			continue
		}
		words := strings.Fields(line[1:])
		if len(words) == 0 {
			continue
		}
		switch words[0] {
		case "Sh":
			sec, depth = strings.Join(words[1:], " "), 0
			continue
		case "Bl":
			depth++
			if depth == 1 && slices.Contains(words, "-tag") && sec != "SYNOPSIS" && !oldSection(sec) {
				lists++
			}
			continue
		case "El":
			depth--
			continue
		}
		switch {
		case sec == "SYNOPSIS":
			addFl(syn, words)
		case words[0] == "It" && depth == 1 && !oldSection(sec):
			addFl(lst, words)
		}
	}
	if lists == 0 {
		return nil, nil, fmt.Errorf("no option list (.Bl -tag with .It Fl items)")
	}
	return keys(syn), keys(lst), nil
}

func addFl(set map[string]bool, words []string) {
	for i, w := range words {
		if w != "Fl" {
			continue
		}
		if i+1 == len(words) || isMacro(words[i+1]) {
			continue // "-" alone: an operand
		}
		name := words[i+1] // ".Fl c" is -c, ".Fl -name" is --name, ".Fl -" is --
		if name != "-" {
			name = strings.TrimPrefix(name, "-")
		}
		set[name] = true
	}
}

// isMacro reports whether w is an mdoc macro or delimiter that can follow
// Fl on a line, rather than an option name.
func isMacro(w string) bool {
	if len(w) == 1 && strings.ContainsAny(w, "|,.;:()[]") {
		return true
	}
	return len(w) == 2 && w[0] >= 'A' && w[0] <= 'Z' && w[1] >= 'a' && w[1] <= 'z'
}

// oldSection reports whether a section maps old rumprun options: the
// options it names are not this tool's.
func oldSection(sec string) bool {
	return strings.HasPrefix(sec, "OLD RUMPRUN") || strings.HasPrefix(sec, "MIGRATION")
}

// optionListName names where a page's option list is, for messages.
func optionListName(page string) string {
	if strings.Contains(page, "\n.Sh OPTIONS\n") {
		return "OPTIONS"
	}
	return ".It Fl items"
}

// section returns the body of section name of an mdoc page.
func section(page, name string) string {
	_, body, ok := strings.Cut(page, "\n.Sh "+name+"\n")
	if !ok {
		return ""
	}
	if i := strings.Index(body, "\n.Sh "); i >= 0 {
		body = body[:i]
	}
	return body
}

func compare(t *testing.T, aName string, a []string, bName string, b []string) {
	t.Helper()
	onlyA, onlyB := minus(a, b), minus(b, a)
	if len(onlyA) > 0 {
		t.Errorf("in the %s but not in %s: %s", aName, bName, show(onlyA))
	}
	if len(onlyB) > 0 {
		t.Errorf("in %s but not in the %s: %s", bName, aName, show(onlyB))
	}
}

// minus is a without b, leaving out the flag package's implicit options.
func minus(a, b []string) []string {
	var d []string
	for _, x := range a {
		if !slices.Contains(b, x) && !implicit[x] {
			d = append(d, x)
		}
	}
	return d
}

func without(a []string, x string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(s string) bool { return s == x })
}

func union(a, b []string) []string {
	set := map[string]bool{}
	for _, x := range append(slices.Clone(a), b...) {
		set[x] = true
	}
	return keys(set)
}

func show(opts []string) string {
	var s []string
	for _, o := range opts {
		switch {
		case o == endOfOptions:
			s = append(s, "--")
		case len(o) == 1:
			s = append(s, "-"+o)
		default:
			s = append(s, "--"+o)
		}
	}
	return strings.Join(s, ", ")
}

func keys(m map[string]bool) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}
