package config

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// envConfig is a config of n environment variables: an object, or the
// dialect's repeated "env": "NAME=value" strings.
func envConfig(n int, dialect bool) []byte {
	var b strings.Builder
	b.WriteString(`{"cmdline": "app"`)
	if !dialect {
		b.WriteString(`, "env": {`)
	}
	for i := 0; i < n; i++ {
		switch {
		case dialect:
			fmt.Fprintf(&b, `, "env": "VAR%d=value"`, i)
		case i > 0:
			fmt.Fprintf(&b, `, "VAR%d": "value"`, i)
		default:
			fmt.Fprintf(&b, `"VAR%d": "value"`, i)
		}
	}
	if !dialect {
		b.WriteString("}")
	}
	b.WriteString("}\n")
	return []byte(b.String())
}

// work is what reading data costs, in units that do not depend on the
// machine or its load: allocations, bytes allocated, and name lookups.
type work struct{ allocs, bytes, lookups float64 }

func measure(f func()) work {
	var w work
	n := 0
	nameLookups = &n
	defer func() { nameLookups = nil }()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	w.allocs = float64(after.Mallocs - before.Mallocs)
	w.bytes = float64(after.TotalAlloc - before.TotalAlloc)
	w.lookups = float64(n)
	return w
}

// checkLinear fails unless the work for 2n items is at most about twice
// that for n (a quadratic step makes it four times).
func checkLinear(t *testing.T, what string, small, large work) {
	t.Helper()
	for _, m := range []struct {
		name string
		a, b float64
	}{{"allocations", small.allocs, large.allocs}, {"bytes allocated", small.bytes, large.bytes}, {"name lookups", small.lookups, large.lookups}} {
		if m.b > 2.5*m.a+64 {
			t.Errorf("%s: %s grow from %.0f to %.0f when the input doubles", what, m.name, m.a, m.b)
		}
	}
}

// Reading a config costs work in proportion to its size, however many
// variables, keys or errors it holds.
func TestParseLinear(t *testing.T) {
	const n = 20000
	for _, tc := range []struct {
		name string
		gen  func(int) []byte
	}{
		{"env object", func(n int) []byte { return envConfig(n, false) }},
		{"env dialect strings", func(n int) []byte { return envConfig(n, true) }},
		{"repeated variables", func(n int) []byte {
			return []byte(`{"cmdline": "a", "env": {` + strings.TrimSuffix(strings.Repeat(`"X": "1", `, n), ", ") + `}}`)
		}},
		{"unknown keys", func(n int) []byte {
			var b strings.Builder
			b.WriteString(`{"cmdline": "a"`)
			for i := 0; i < n; i++ {
				fmt.Fprintf(&b, `, "key%d": 1`, i)
			}
			return []byte(b.String() + "}")
		}},
	} {
		small, large := tc.gen(n), tc.gen(2*n)
		parse := func(data []byte) func() { return func() { Parse("t.json", data) } }
		checkLinear(t, tc.name, measure(parse(small)), measure(parse(large)))
	}
}
