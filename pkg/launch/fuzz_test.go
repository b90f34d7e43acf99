package launch

import (
	"bytes"
	"reflect"
	"testing"
)

// A backend spec that parses is printed by String in a form that parses
// back to the same backend.
func FuzzParseBackend(f *testing.F) {
	for _, s := range []string{"", "user", "user,hostfwd=tcp::8080-:80", "tap:tap0,vhost=on", "bridge:br0,mac=52:54:00:12:34:56",
		"socket,listen=:1234", "tap:", "user,,", "a,,b,c", "mac=52:54:00:AB:cd:EF", "user,id=x", "bridge:b r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		b, err := ParseBackend(spec)
		if err != nil {
			return
		}
		again, err := ParseBackend(b.String())
		if err != nil {
			t.Fatalf("ParseBackend(%q) = %+v, whose String %q does not parse: %v", spec, b, b.String(), err)
		}
		if !reflect.DeepEqual(b, again) {
			t.Fatalf("ParseBackend(%q) = %+v; its String %q parses as %+v", spec, b, b.String(), again)
		}
	})
}

// However the console's bytes are split into writes, the Watcher passes
// them through unchanged and sees the same outcome.
func FuzzWatcher(f *testing.F) {
	f.Add([]byte(transcript), uint8(1))
	f.Add([]byte("=== _exit(7) called ===\nhalted\n"), uint8(3))
	f.Add([]byte("=== bootstrap failed\r\n=== ERROR: _exit(-1) called ===\n"), uint8(5))
	f.Add(append(bytes.Repeat([]byte("x"), 600), "\n=== _exit(2) called ===\n"...), uint8(200))
	f.Fuzz(func(t *testing.T, data []byte, step uint8) {
		var whole, split bytes.Buffer
		w1 := NewWatcher(&whole, nil)
		w1.Write(data)
		fired := 0
		w2 := NewWatcher(&split, func(Outcome) { fired++ })
		n := int(step)%64 + 1
		for rest := data; len(rest) > 0; {
			k := min(n, len(rest))
			w2.Write(rest[:k])
			rest = rest[k:]
			n = n*7%61 + 1 // uneven pieces
		}
		if !bytes.Equal(whole.Bytes(), data) || !bytes.Equal(split.Bytes(), data) {
			t.Fatal("output differs from the console's bytes")
		}
		o1, o2 := w1.Outcome(), w2.Outcome()
		if o1 != o2 {
			t.Fatalf("one write: %+v; split writes: %+v", o1, o2)
		}
		if want := map[bool]int{true: 1}[o2.Done()]; fired != want {
			t.Fatalf("onDone called %d times for outcome %+v", fired, o2)
		}
		if len(w2.line) > maxLine {
			t.Fatalf("line buffer holds %d bytes, over %d", len(w2.line), maxLine)
		}
	})
}
