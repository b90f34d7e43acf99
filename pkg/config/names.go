package config

import "strings"

// Matchers for guest device names and host names. They are written out
// rather than compiled from regular expressions at start-up: every
// launcher links this package, and compiling a handful of expressions is a
// visible part of a launcher's start (names_test.go checks each against the
// expression it stands for).

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// splitUnit splits a name such as "vioif12" into its letters and its
// unit number, as ^([a-z]+?)([0-9]+)$ does: {s, letters, digits}, or nil.
func splitUnit(s string) []string {
	i := 0
	for i < len(s) && isLower(s[i]) {
		i++
	}
	j := i
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if i == 0 || j == i || j != len(s) {
		return nil
	}
	return []string{s, s[:i], s[i:]}
}

// ifDrivers are the interface drivers some rumprun target has (DESIGN.md
// section 6), plus the rump kernel's own virtual interfaces.
var ifDrivers = []string{"vioif", "wm", "re", "pcn", "xenif", "shmif", "virt", "tap"}

// isIfName reports whether s names an interface of some target, as
// ^(vioif|wm|re|pcn|xenif|shmif|virt|tap)(0|[1-9][0-9]{0,2})$ does.
func isIfName(s string) bool {
	m := splitUnit(s)
	if m == nil || !contains(ifDrivers, m[1]) {
		return false
	}
	unit := m[2]
	return len(unit) <= 3 && (unit == "0" || unit[0] != '0')
}

// splitDevPath splits a device path such as "/dev/ld0a" into driver, unit
// and partition, as ^/dev/r?([a-z]+)([0-9]+)([a-p])$ does: {s, driver,
// unit, partition}, or nil. Like the expression, it takes a leading 'r'
// as the raw-device prefix when what follows is still a device name.
func splitDevPath(s string) []string {
	rest, ok := strings.CutPrefix(s, "/dev/")
	if !ok || len(rest) < 3 {
		return nil
	}
	part := rest[len(rest)-1]
	if part < 'a' || part > 'p' {
		return nil
	}
	name := rest[:len(rest)-1]
	if strings.HasPrefix(name, "r") {
		if m := splitUnit(name[1:]); m != nil {
			return []string{s, m[1], m[2], rest[len(rest)-1:]}
		}
	}
	if m := splitUnit(name); m != nil {
		return []string{s, m[1], m[2], rest[len(rest)-1:]}
	}
	return nil
}

// isXenDisk reports whether s is a Xen PV disk name, as ^xvd[a-z][a-z]?$.
func isXenDisk(s string) bool {
	rest, ok := strings.CutPrefix(s, "xvd")
	return ok && (len(rest) == 1 || len(rest) == 2) && isLower(rest[0]) && isLower(rest[len(rest)-1])
}

// isEC2Disk reports whether s is an EC2 disk name, as ^sd[a-z][0-9]*$.
func isEC2Disk(s string) bool {
	rest, ok := strings.CutPrefix(s, "sd")
	if !ok || len(rest) == 0 || !isLower(rest[0]) {
		return false
	}
	for i := 1; i < len(rest); i++ {
		if !isDigit(rest[i]) {
			return false
		}
	}
	return true
}

// isHostLabel reports whether s is one label of a host name, as
// ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ does.
func isHostLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	alnum := func(c byte) bool { return isLower(c|0x20) || isDigit(c) }
	for i := 0; i < len(s); i++ {
		if !alnum(s[i]) && (s[i] != '-' || i == 0 || i == len(s)-1) {
			return false
		}
	}
	return true
}
