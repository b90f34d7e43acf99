// Package kernel inspects rumprun kernel images and the objects that are baked
// into them.
//
// Inspect reads an ELF file (32 or 64 bit, either byte order) and reports
// what a build or launch tool needs to know about it:
//
//   - the ELF class, machine, type and entry point;
//   - the Multiboot v1 header, searched for in the first 8192 bytes at 4-byte
//     alignment (magic 0x1BADB002 with a valid checksum), with its file
//     offset, flags and a.out-kludge addresses;
//   - the platform: "hw" when a Multiboot header exists, else "xen" when the
//     image has a __xen_guest section or ELF notes owned by "Xen";
//     the __xen_guest string is parsed into its KEY=VALUE pairs;
//   - the rumprun toolchain strings (rumprun_tuple:, rumprun_tooldir:,
//     rumprun_backingcc:, rumprun_cflags:). Application objects carry them in
//     the note section .note.rumprun.bakerecipe (owner "rumpkernel.org",
//     type 0x101); a baked kernel's linker script folds that note into .text,
//     so for kernels the file bytes are scanned for the strings (one pass,
//     in chunks; Options{NoToolchain: true} skips it, for launchers);
//   - the notes of this project, owner "rumpboot": type 1 names a boot
//     protocol the kernel supports (e.g. "initrd/1"), type 2 is the bake
//     record written by rump-bake. Notes are read from SHT_NOTE sections,
//     from sections whose name starts with ".note" and from PT_NOTE segments,
//     so they are found in unstripped, stripped and section-less images alike;
//   - whether the image is stripped (has no .symtab).
//
// Inspect never panics and never allocates more than a small multiple of what
// the file can hold: every offset and size is checked against the file size
// before it is used, and malformed input yields a *FormatError that says
// what is wrong and where.
//
// AppendNote writes a copy of an ELF file with one more non-allocated SHT_NOTE
// section; rump-bake uses it to stamp kernels with their bake record without
// changing a single byte that a boot loader loads.
package kernel

import (
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// Owners, types and section names of the notes this package knows.
const (
	NoteOwner         = "rumpboot" // owner of this project's notes
	NoteProtocol      = 1          // desc: NUL-terminated boot protocol name
	NoteBakeRecord    = 2          // desc: bake record, JSON
	BakeRecordSection = ".note.rumpboot.bake"

	RecipeOwner   = "rumpkernel.org"           // owner of rumprun's bake recipe note
	RecipeType    = 0x101                      // type of rumprun's bake recipe note
	RecipeSection = ".note.rumprun.bakerecipe" // section rumprun's compiler emits

	XenNoteOwner = "Xen"
)

// Multiboot v1 constants.
const (
	MultibootMagic       = 0x1BADB002
	MultibootSearchLimit = 8192
	MultibootAOutKludge  = 1 << 16 // flags bit 16: the address fields are valid
	MultibootVideoMode   = 1 << 2  // flags bit 2: the video mode fields are valid
)

// Platform is the rumprun platform a kernel was built for.
type Platform string

const (
	PlatformUnknown Platform = ""
	PlatformHW      Platform = "hw"  // Multiboot: QEMU/KVM, Xen HVM, bare metal, ISO
	PlatformXen     Platform = "xen" // Xen PV
)

// MultibootHeader is a Multiboot v1 header as found in the image.
type MultibootHeader struct {
	Offset int64  // file offset of the magic
	Flags  uint32 // the header's flags word

	// Valid when Flags has MultibootAOutKludge.
	HeaderAddr, LoadAddr, LoadEndAddr, BSSEndAddr, EntryAddr uint32

	// Valid when Flags has MultibootVideoMode.
	ModeType, Width, Height, Depth uint32
}

// AOutKludge reports whether the loader is to use the header's addresses
// instead of the ELF program headers (what lets QEMU load ELF64 kernels).
func (h *MultibootHeader) AOutKludge() bool { return h.Flags&MultibootAOutKludge != 0 }

// Toolchain holds the rumprun toolchain strings of an object or kernel.
type Toolchain struct {
	Tuple     string `json:"tuple"`     // rumprun_tuple:, e.g. x86_64-rumprun-netbsd
	ToolDir   string `json:"tooldir"`   // rumprun_tooldir:
	BackingCC string `json:"backingcc"` // rumprun_backingcc:
	CFlags    string `json:"cflags"`    // rumprun_cflags:
}

// IsZero reports whether no toolchain string was found.
func (t Toolchain) IsZero() bool { return t == Toolchain{} }

// BakeRecord is the JSON content of a rumpboot type-2 note.
type BakeRecord struct {
	Config     string   `json:"config"`     // bake config, e.g. hw_generic
	Platform   string   `json:"platform"`   // hw or xen
	Arch       string   `json:"arch"`       // e.g. x86_64
	Programs   []string `json:"programs"`   // program names, in bake (rumprun_mainN) order
	Components []string `json:"components"` // component libraries, in link order
	Tool       string   `json:"tool"`       // the tool and version that baked it
}

// Note is one ELF note.
type Note struct {
	Owner  string
	Type   uint32
	Desc   []byte
	Offset int64 // file offset of the note header
}

// Kernel describes an inspected image.
type Kernel struct {
	Class   elf.Class
	Data    elf.Data
	Type    elf.Type
	Machine elf.Machine
	Entry   uint64
	Bits    int // 32 or 64

	Multiboot *MultibootHeader // nil when the image has none
	Platform  Platform

	XenGuest    map[string]string // the __xen_guest section's KEY=VALUE pairs; nil without one
	XenGuestRaw string            // the __xen_guest string as it is
	XenNotes    []Note            // notes owned by "Xen"

	Toolchain  Toolchain
	RecipeNote bool        // Toolchain came from a bake recipe note (objects), not from strings in the bytes (kernels)
	Protocols  []string    // rumpboot type-1 notes, in file order, without duplicates
	Bake       *BakeRecord // rumpboot type-2 note; nil when not baked by rump-bake

	Stripped bool // no .symtab section
}

// Supports reports whether the kernel declares the boot protocol.
func (k *Kernel) Supports(protocol string) bool {
	for _, p := range k.Protocols {
		if p == protocol {
			return true
		}
	}
	return false
}

// Arch returns the rumprun architecture name of the kernel's machine
// (x86_64, i386, arm, aarch64, ...), or the ELF machine name when it has none.
func (k *Kernel) Arch() string { return ArchName(k.Machine) }

// ArchName maps an ELF machine to rumprun's architecture name.
func ArchName(m elf.Machine) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_386:
		return "i386"
	case elf.EM_ARM:
		return "arm"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_PPC64:
		return "powerpc64"
	case elf.EM_RISCV:
		return "riscv"
	}
	return m.String()
}

// FormatError reports malformed input: what is wrong and at which file offset.
type FormatError struct {
	Off int64  // file offset the problem was found at; -1 when none applies
	Msg string // what is wrong
}

func (e *FormatError) Error() string {
	if e.Off < 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s at offset %d", e.Msg, e.Off)
}

// ErrNotELF is returned (wrapped in a *FormatError) for input that is not ELF.
var ErrNotELF = errors.New("not an ELF file")

func (e *FormatError) Unwrap() error {
	if e.Msg == ErrNotELF.Error() {
		return ErrNotELF
	}
	return nil
}

// Options say what Inspect and Open may leave out; the zero Options leave
// out nothing (Inspect and Open are Options{}.Inspect and Options{}.Open).
type Options struct {
	// NoToolchain leaves Kernel.Toolchain empty unless a bake recipe note
	// holds it (objects, some xen kernels). A baked hw kernel carries the
	// toolchain strings loose in its bytes, and finding them reads the
	// whole file: tens of megabytes for a large kernel. Launchers need only
	// the headers, the notes and the bake record.
	NoToolchain bool
}

// Open inspects the file at path. Errors name the path.
func Open(path string) (*Kernel, error) { return Options{}.Open(path) }

// Open inspects the file at path, leaving out what o says. Errors name the
// path.
func (o Options) Open(path string) (*Kernel, error) {
	// Look before opening: opening a FIFO would wait for a writer forever.
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() { // replaced since the look
		return nil, fmt.Errorf("%s: not a regular file", path)
	}
	k, err := o.Inspect(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// kernelJSON is the stable JSON shape of a Kernel.
type kernelJSON struct {
	Class     string            `json:"class"`
	Machine   string            `json:"machine"`
	Arch      string            `json:"arch"`
	Type      string            `json:"type"`
	Entry     string            `json:"entry"`
	Bits      int               `json:"bits"`
	Platform  string            `json:"platform"`
	Multiboot *multibootJSON    `json:"multiboot,omitempty"`
	XenGuest  map[string]string `json:"xen_guest,omitempty"`
	XenNotes  []uint32          `json:"xen_notes,omitempty"`
	Toolchain *Toolchain        `json:"toolchain,omitempty"`
	Protocols []string          `json:"protocols"`
	Bake      *BakeRecord       `json:"bake,omitempty"`
	Stripped  bool              `json:"stripped"`
}

type multibootJSON struct {
	Offset      int64  `json:"offset"`
	Flags       string `json:"flags"`
	AOutKludge  bool   `json:"aout_kludge"`
	HeaderAddr  string `json:"header_addr,omitempty"`
	LoadAddr    string `json:"load_addr,omitempty"`
	LoadEndAddr string `json:"load_end_addr,omitempty"`
	BSSEndAddr  string `json:"bss_end_addr,omitempty"`
	EntryAddr   string `json:"entry_addr,omitempty"`
}

// MarshalJSON gives the kernel a stable, readable JSON form: names for ELF
// constants, hex strings for addresses and flags.
func (k *Kernel) MarshalJSON() ([]byte, error) {
	j := kernelJSON{
		Class:     k.Class.String(),
		Machine:   k.Machine.String(),
		Arch:      k.Arch(),
		Type:      k.Type.String(),
		Entry:     fmt.Sprintf("%#x", k.Entry),
		Bits:      k.Bits,
		Platform:  string(k.Platform),
		XenGuest:  k.XenGuest,
		Protocols: k.Protocols,
		Bake:      k.Bake,
		Stripped:  k.Stripped,
	}
	if j.Protocols == nil {
		j.Protocols = []string{}
	}
	if !k.Toolchain.IsZero() {
		tc := k.Toolchain
		j.Toolchain = &tc
	}
	for _, n := range k.XenNotes {
		j.XenNotes = append(j.XenNotes, n.Type)
	}
	if m := k.Multiboot; m != nil {
		mj := &multibootJSON{Offset: m.Offset, Flags: fmt.Sprintf("%#x", m.Flags), AOutKludge: m.AOutKludge()}
		if m.AOutKludge() {
			mj.HeaderAddr = fmt.Sprintf("%#x", m.HeaderAddr)
			mj.LoadAddr = fmt.Sprintf("%#x", m.LoadAddr)
			mj.LoadEndAddr = fmt.Sprintf("%#x", m.LoadEndAddr)
			mj.BSSEndAddr = fmt.Sprintf("%#x", m.BSSEndAddr)
			mj.EntryAddr = fmt.Sprintf("%#x", m.EntryAddr)
		}
		j.Multiboot = mj
	}
	return json.Marshal(j)
}
