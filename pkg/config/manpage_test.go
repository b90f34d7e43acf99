package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestManPageExamples extracts every JSON example (a literal display whose
// text starts with '{') from man/json.cfg.5 and checks that it is valid.
// An example in the rumprun dialect must be followed by its wire form.
func TestManPageExamples(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("..", "..", "man", "json.cfg.5"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, ".Bd -literal"):
			in, cur = true, nil
		case in && line == ".Ed":
			in = false
			text := strings.Join(cur, "\n") + "\n"
			if strings.HasPrefix(strings.TrimSpace(text), "{") {
				blocks = append(blocks, text)
			}
		case in:
			line = strings.NewReplacer(`\e`, `\`, `\&`, "", `\(dq`, `"`).Replace(line)
			cur = append(cur, line)
		}
	}
	if len(blocks) < 6 {
		t.Fatalf("found %d JSON examples in json.cfg.5, want at least 6", len(blocks))
	}
	for i := 0; i < len(blocks); i++ {
		c, warns, err := Parse("json.cfg.5 example", []byte(blocks[i]))
		if err != nil {
			t.Errorf("example %d does not validate:\n%s%v", i+1, blocks[i], err)
			continue
		}
		if len(warns) == 0 {
			continue
		}
		// A dialect example: the next example is its wire form.
		w, err := c.Wire()
		if err != nil {
			t.Fatalf("example %d has no wire form: %v", i+1, err)
		}
		if i+1 >= len(blocks) || strings.TrimSpace(blocks[i+1]) != string(w) {
			t.Errorf("dialect example %d is not followed by its wire form %s", i+1, w)
		}
		i++ // the wire form is dialect too; it was just checked
	}
}
