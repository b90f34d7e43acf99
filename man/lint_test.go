// Package man holds the project's manual pages; its tests keep them clean.
package man

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMandocLint fails on any warning mandoc has about any page, so that a
// page that renders badly never lands.
func TestMandocLint(t *testing.T) {
	mandoc, err := exec.LookPath("mandoc")
	if err != nil {
		t.Skip("mandoc not installed (Debian package mandoc)")
	}
	pages, err := filepath.Glob("*.[1-9]")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no manual pages found")
	}
	for _, page := range pages {
		out, err := exec.Command(mandoc, "-Tlint", "-W", "warning", page).CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("mandoc -Tlint %s: %v\n%s", page, err, out)
		}
	}
}

// TestPagesHaveRequiredSections checks the sections every page promises its
// reader.
func TestPagesHaveRequiredSections(t *testing.T) {
	pages, err := filepath.Glob("*.[1-9]")
	if err != nil {
		t.Fatal(err)
	}
	for _, page := range pages {
		text := readFile(t, page)
		required := []string{"NAME", "DESCRIPTION", "SEE ALSO"}
		if strings.HasSuffix(page, ".1") {
			required = append(required, "SYNOPSIS", "EXIT STATUS", "EXAMPLES")
		}
		for _, sec := range required {
			if !strings.Contains(text, "\n.Sh "+sec+"\n") {
				t.Errorf("%s: no %q section", page, sec)
			}
		}
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
