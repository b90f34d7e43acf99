package config

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

// SchemaJSON is the JSON Schema (draft-07) of the canonical json.cfg, the
// same bytes as pkg/config/json.cfg.schema.json that editors can use. Parse
// checks its rules (shape.go); package config/schema validates with it.
//
//go:embed json.cfg.schema.json
var SchemaJSON []byte

// Valid keys of each object kind, for suggestions and prefix detection.
var (
	topKeys = []string{"$schema", "hostname", "cmdline", "rc", "env", "net", "blk"}
	rcKeys  = []string{"bin", "argv", "runmode"}
	netKeys = []string{"if", "cloner", "type", "method", "addr", "mask", "gw"}
	blkKeys = []string{"source", "path", "fstype", "mountpoint"}
)

// keysAt returns the valid keys of the object at ptr and what to call it.
func keysAt(ptr string) ([]string, string) {
	seg := strings.Split(ptr, "/")
	switch {
	case ptr == "":
		return topKeys, "json.cfg"
	case len(seg) == 3 && seg[1] == "rc":
		return rcKeys, "an rc entry"
	case len(seg) == 3 && seg[1] == "net":
		return netKeys, "a net entry"
	case len(seg) == 3 && seg[1] == "blk":
		return blkKeys, "a blk entry"
	}
	return nil, "here"
}

func lastSegment(ptr string) string {
	s := ptr[strings.LastIndexByte(ptr, '/')+1:]
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}

// describeAt names the value at ptr for a message: "net[0].method" style
// is what users scan for, but the pointer is exact; use the key name.
func describeAt(ptr string) string {
	if ptr == "" {
		return "json.cfg"
	}
	seg := lastSegment(ptr)
	if seg != "" && seg[0] >= '0' && seg[0] <= '9' {
		parent := lastSegment(parentPointer(ptr))
		return fmt.Sprintf("%q entry %s", parent, seg)
	}
	return fmt.Sprintf("%q", seg)
}

// unknownKey explains a key that is not valid in the object at ptr.
func unknownKey(key, ptr string) string {
	valid, what := keysAt(ptr)
	for _, k := range valid {
		if key != "" && strings.HasPrefix(k, key) {
			return fmt.Sprintf("unknown key %q in %s: rumprun kernels would silently read it as %q; write %q", key, what, k, k)
		}
	}
	if key == "" && ptr == "" {
		return fmt.Sprintf("empty key in %s: rumprun kernels would silently read it as %q", what, "cmdline")
	}
	msg := fmt.Sprintf("unknown key %q in %s", key, what)
	if s := suggest(key, valid); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	} else if len(valid) > 0 {
		msg += fmt.Sprintf(" (valid keys: %s)", strings.Join(valid, ", "))
	}
	return msg
}

func lookup(m map[string]pos, ptr string) pos {
	for q := ptr; ; q = parentPointer(q) {
		if p, ok := m[q]; ok || q == "" {
			return p
		}
	}
}

// dedupe removes repeated messages and sorts by position.
func dedupe(ds []diag) []diag {
	seen := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		k := fmt.Sprint(d.pos, d.msg)
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	sortDiags(out)
	return out
}

func sortDiags(ds []diag) {
	sort.SliceStable(ds, func(i, j int) bool {
		if ds[i].pos.line != ds[j].pos.line {
			return ds[i].pos.line < ds[j].pos.line
		}
		return ds[i].pos.col < ds[j].pos.col
	})
}

// suggest returns the candidate nearest to s by edit distance, if near enough.
func suggest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(strings.ToLower(s), c); d < bestD {
			best, bestD = c, d
		}
	}
	limit := 2
	if len(s) <= 3 {
		limit = 1
	}
	if bestD <= limit || (bestD <= 3 && len(s) >= 8) {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
