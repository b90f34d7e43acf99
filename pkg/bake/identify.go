package bake

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rumptools/rumptools/pkg/kernel"
	"github.com/rumptools/rumptools/pkg/shellquote"
)

func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Describe writes, in words, what the kernel at name is: format, platform,
// how it was baked and where it runs.
func Describe(w io.Writer, name string, k *kernel.Kernel) error {
	var b strings.Builder
	kind := "not a bootable rumprun kernel (no multiboot header, no Xen markers)"
	switch k.Platform {
	case kernel.PlatformHW:
		kind = "hw kernel (multiboot)"
	case kernel.PlatformXen:
		kind = "Xen PV kernel"
	}
	fmt.Fprintf(&b, "%s: %s, ELF%d %s, entry %#x\n", name, kind, k.Bits, k.Arch(), k.Entry)
	if mb := k.Multiboot; mb != nil {
		fmt.Fprintf(&b, "  multiboot: header at offset %#x, flags %#x", mb.Offset, mb.Flags)
		if mb.AOutKludge() {
			fmt.Fprintf(&b, " (a.out kludge: load %#x-%#x, bss end %#x, entry %#x)", mb.LoadAddr, mb.LoadEndAddr, mb.BSSEndAddr, mb.EntryAddr)
		}
		b.WriteString("\n")
	}
	if k.XenGuest != nil {
		fmt.Fprintf(&b, "  __xen_guest: %s\n", k.XenGuestRaw)
	}
	if len(k.XenNotes) > 0 {
		types := make([]string, len(k.XenNotes))
		for i, n := range k.XenNotes {
			types[i] = fmt.Sprint(n.Type)
		}
		fmt.Fprintf(&b, "  Xen ELF notes: types %s\n", strings.Join(types, ", "))
	}
	switch {
	case k.Bake != nil:
		r := k.Bake
		fmt.Fprintf(&b, "  baked by %s: config %s (platform %s, arch %s)\n", orUnknown(r.Tool), orUnknown(r.Config), orUnknown(r.Platform), orUnknown(r.Arch))
		fmt.Fprintf(&b, "  programs: %s\n", orNone(r.Programs))
		fmt.Fprintf(&b, "  components (%d): %s\n", len(r.Components), orNone(r.Components))
	case !k.Toolchain.IsZero():
		b.WriteString("  baked by rumprun-bake or another tool without a bake record: config and programs unknown\n")
	default:
		b.WriteString("  no bake record and no rumprun toolchain strings: not baked by a rumprun toolchain\n")
	}
	if t := k.Toolchain; !t.IsZero() {
		fmt.Fprintf(&b, "  toolchain: %s, tooldir %s, backing cc %s, cflags %q\n", orUnknown(t.Tuple), orUnknown(t.ToolDir), orUnknown(t.BackingCC), t.CFlags)
	}
	if len(k.Protocols) > 0 {
		fmt.Fprintf(&b, "  boot protocols: %s\n", strings.Join(k.Protocols, ", "))
	} else if k.Platform != "" {
		b.WriteString("  boot protocols: none declared (rumprun: config on the command line or as the first module)\n")
	}
	if k.Stripped {
		b.WriteString("  stripped: yes\n")
	} else {
		b.WriteString("  stripped: no\n")
	}
	switch k.Platform {
	case kernel.PlatformHW:
		b.WriteString("  runs on: QEMU/KVM, Xen HVM, bare metal and boot media (ISO)\n")
	case kernel.PlatformXen:
		b.WriteString("  runs on: Xen PV (xl, EC2 PV)\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

// DescribeJSON writes the kernel as one JSON object with its file name.
func DescribeJSON(w io.Writer, name string, k *kernel.Kernel) error {
	b, err := json.Marshal(k)
	if err != nil {
		return err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	m["file"], _ = json.Marshal(name)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return writeJSON(w, orderedJSON{keys, m})
}

// orderedJSON marshals a map with "file" first and the rest sorted.
type orderedJSON struct {
	keys []string
	m    map[string]json.RawMessage
}

func (o orderedJSON) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteString(`{"file":`)
	b.Write(o.m["file"])
	for _, k := range o.keys {
		if k == "file" {
			continue
		}
		kb, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(kb)
		b.WriteByte(':')
		b.Write(o.m[k])
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// LaunchHints returns shell commands that launch the kernel at path on the
// targets its platform runs on.
func LaunchHints(path string, platform string) []string {
	q := shellquote.Quote(path)
	switch platform {
	case "hw":
		iso := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)) + ".iso"
		return []string{
			"rump-launch-qemu " + q + "      # QEMU/KVM",
			"rump-launch-xen " + q + "       # Xen HVM",
			"rump-mkiso -o " + shellquote.Quote(iso) + " " + q + "      # ISO: bare metal, clouds",
		}
	case "xen":
		return []string{"rump-launch-xen " + q + "      # Xen PV"}
	}
	return nil
}
