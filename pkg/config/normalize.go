package config

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// normalize rewrites the rumprun dialect into the canonical shape, in place:
// repeated "net"/"blk" objects become one array, "env": "NAME=value" strings
// become one object, "cloner": "true" a boolean and "mask": "24" a number.
// Each rewrite is reported as a warning at the position of what it changed.
// Duplicate keys that are not dialect repetitions are errors.
func normalize(root *node) []diag {
	var ds []diag
	warn := func(p pos, ptr, format string, args ...any) {
		ds = append(ds, diag{pos: p, ptr: ptr, msg: fmt.Sprintf(format, args...), warning: true})
	}
	fail := func(p pos, ptr, format string, args ...any) {
		ds = append(ds, diag{pos: p, ptr: ptr, msg: fmt.Sprintf(format, args...)})
	}

	var out []member
	first := map[string]int{}    // key -> index in out
	merged := map[string]bool{}  // "net"/"blk" built from dialect objects
	envNames := map[string]pos{} // names in the env object, for addEnv
	dup := func(m member, ptr string, i int) {
		fail(m.keyPos, ptr, "duplicate key %q (first at %d:%d)", m.key, out[i].keyPos.line, out[i].keyPos.col)
	}
	for _, m := range root.mem {
		ptr := "/" + pointerEscape(m.key)
		i, seen := first[m.key]
		switch {
		case m.key == "env" && (m.val.kind == kString || m.val.kind == kObject):
			if !seen {
				first[m.key] = len(out)
				i = len(out)
				out = append(out, member{m.key, m.keyPos, &node{kind: kObject, pos: m.val.pos}})
			} else if out[i].val.kind != kObject {
				dup(m, ptr, i)
				continue
			} else if m.val.kind == kObject {
				warn(m.keyPos, ptr, "repeated key %q is rumprun dialect; merged into one object", m.key)
			}
			if m.val.kind == kObject {
				for _, e := range m.val.mem {
					addEnv(out[i].val, envNames, e, fail)
				}
				continue
			}
			name, value, ok := strings.Cut(m.val.str, "=")
			if !ok || name == "" {
				fail(m.val.pos, ptr, "env string %q is not NAME=value", m.val.str)
				continue
			}
			warn(m.val.pos, ptr, "\"env\": %q is rumprun dialect; taken as {%q: %q}", m.val.str, name, value)
			addEnv(out[i].val, envNames, member{name, m.val.pos, &node{kind: kString, pos: m.val.pos, str: value}}, fail)
		case (m.key == "net" || m.key == "blk") && m.val.kind == kObject:
			if !seen {
				first[m.key] = len(out)
				merged[m.key] = true
				out = append(out, member{m.key, m.keyPos, &node{kind: kArray, pos: m.val.pos, elems: []*node{m.val}}})
				continue
			}
			if !merged[m.key] {
				dup(m, ptr, i)
				continue
			}
			warn(m.keyPos, ptr, "repeated key %q is rumprun dialect; entries merged into one array", m.key)
			out[i].val.elems = append(out[i].val.elems, m.val)
		case seen:
			dup(m, ptr, i)
		default:
			first[m.key] = len(out)
			out = append(out, m)
		}
	}
	root.mem = out

	for _, m := range root.mem {
		ptr := "/" + pointerEscape(m.key)
		switch m.key {
		case "net", "blk", "rc":
			if m.val.kind != kArray {
				continue
			}
			for i, e := range m.val.elems {
				if e.kind != kObject {
					continue
				}
				eptr := ptr + "/" + strconv.Itoa(i)
				ds = append(ds, noDuplicates(e, eptr)...)
				if m.key == "net" {
					ds = append(ds, normalizeNet(e, eptr)...)
				}
			}
		}
	}
	return ds
}

// addEnv adds m to the env object obj unless its name is in seen (the
// names obj holds): a map, not a scan of obj, so that a config of many
// variables is read in linear time.
func addEnv(obj *node, seen map[string]pos, m member, fail func(pos, string, string, ...any)) {
	if nameLookups != nil {
		*nameLookups++
	}
	if p, ok := seen[m.key]; ok {
		fail(m.keyPos, "/env/"+pointerEscape(m.key), "environment variable %q set twice (first at %d:%d)", m.key, p.line, p.col)
		return
	}
	seen[m.key] = m.keyPos
	obj.mem = append(obj.mem, m)
}

// nameLookups, when not nil, counts the times addEnv looks a name up among
// those already read: the tests prove with it, and with the allocations,
// that n names cost n lookups (a scan of the names read so far made a
// config of 90,000 variables take half a minute).
var nameLookups *int

// noDuplicates reports repeated keys inside an object, keeping the first.
func noDuplicates(n *node, ptr string) []diag {
	var ds []diag
	seen := map[string]pos{}
	out := n.mem[:0]
	for _, m := range n.mem {
		if p, ok := seen[m.key]; ok {
			ds = append(ds, diag{pos: m.keyPos, ptr: ptr + "/" + pointerEscape(m.key), msg: fmt.Sprintf("duplicate key %q (first at %d:%d)", m.key, p.line, p.col)})
			continue
		}
		seen[m.key] = m.keyPos
		out = append(out, m)
	}
	n.mem = out
	return ds
}

// normalizeNet turns the dialect's string-typed "cloner" and "mask" into
// the canonical boolean and number.
func normalizeNet(n *node, ptr string) []diag {
	var ds []diag
	for i := range n.mem {
		m := &n.mem[i]
		v := m.val
		if v.kind != kString {
			continue
		}
		mptr := ptr + "/" + m.key
		switch m.key {
		case "cloner":
			switch strings.ToLower(v.str) {
			case "true":
				ds = append(ds, diag{pos: v.pos, ptr: mptr, warning: true, msg: fmt.Sprintf("\"cloner\": %q is rumprun dialect; taken as true", v.str)})
				*v = node{kind: kBool, pos: v.pos, b: true}
			case "false":
				ds = append(ds, diag{pos: v.pos, ptr: mptr, warning: true, msg: fmt.Sprintf("\"cloner\": %q is rumprun dialect; taken as false (rumprun kernels read any cloner string as true)", v.str)})
				*v = node{kind: kBool, pos: v.pos}
			}
		case "mask":
			if _, err := strconv.ParseUint(v.str, 10, 8); err == nil && (len(v.str) == 1 || v.str[0] != '0') {
				ds = append(ds, diag{pos: v.pos, ptr: mptr, warning: true, msg: fmt.Sprintf("\"mask\": %q is rumprun dialect; taken as the number %s", v.str, v.str)})
				*v = node{kind: kNumber, pos: v.pos, str: v.str}
			} else if a, err := netip.ParseAddr(v.str); err == nil && a.Is4() {
				bits, ok := maskBits(a)
				if !ok {
					ds = append(ds, diag{pos: v.pos, ptr: mptr, msg: fmt.Sprintf("netmask %s is not contiguous", v.str)})
					continue
				}
				ds = append(ds, diag{pos: v.pos, ptr: mptr, warning: true, msg: fmt.Sprintf("\"mask\": %q taken as the prefix length %d (rumprun kernels read only a prefix length)", v.str, bits)})
				*v = node{kind: kNumber, pos: v.pos, str: strconv.Itoa(bits)}
			}
		}
	}
	return ds
}

// maskBits converts a dotted IPv4 netmask to a prefix length.
func maskBits(a netip.Addr) (int, bool) {
	b := a.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for v&0x80000000 != 0 {
		n++
		v <<= 1
	}
	return n, v == 0
}

// positions records the position of every value and key of a tree by JSON
// pointer.
func positions(n *node, ptr string, vpos, kpos map[string]pos) {
	vpos[ptr] = n.pos
	for _, e := range n.mem {
		p := ptr + "/" + pointerEscape(e.key)
		kpos[p] = e.keyPos
		positions(e.val, p, vpos, kpos)
	}
	for i, e := range n.elems {
		positions(e, ptr+"/"+strconv.Itoa(i), vpos, kpos)
	}
}

// value converts a tree into the values encoding/json decodes into with
// UseNumber: map[string]any, []any, string, json.Number, bool and nil.
func value(n *node) any {
	switch n.kind {
	case kObject:
		m := make(map[string]any, len(n.mem))
		for _, e := range n.mem {
			m[e.key] = value(e.val)
		}
		return m
	case kArray:
		a := make([]any, len(n.elems))
		for i, e := range n.elems {
			a[i] = value(e)
		}
		return a
	case kString:
		return n.str
	case kNumber:
		return json.Number(n.str)
	case kBool:
		return n.b
	}
	return nil
}
