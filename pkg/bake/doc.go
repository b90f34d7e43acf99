// Package bake links rumprun application objects into a kernel the way
// rumprun-bake does, and stamps the result with a bake record.
//
// # Toolchain
//
// rumprun's compiler (TUPLE-gcc) leaves a note in every object it writes:
// section .note.rumprun.bakerecipe, owner "rumpkernel.org", type 0x101,
// holding the strings "rumprun_tuple: ...", "rumprun_tooldir: ...",
// "rumprun_backingcc: ..." and "rumprun_cflags: ...". Discover reads it
// from every input; all inputs must agree. The tool directory holds
// etc/rumprun-bake.conf, bin/TUPLE-objcopy and the target tree
// rumprun-ARCH (ARCH the tuple's first field, e.g. rumprun-x86_64), the
// sysroot of the link; each platform keeps its specs-bake, rumprun.o and
// component archives in rumprun-ARCH/lib/rumprun-PLATFORM.
//
// # Config language (rumprun-bake.conf, version 20160209)
//
// A file is a sequence of directives, one per line. '#' at the start of a
// word starts a comment that runs to the end of the line; a backslash at
// the very end of a line joins the next line to it; words are separated
// by blanks and may be quoted with "..." (where \" and \\ escape) or
// '...'. A backslash elsewhere outside quotes takes the next character
// literally.
//
//	version 20160209    first directive of every file; no other version is read
//	conf NAME           opens the block of config NAME ([A-Za-z0-9_]+)
//	  create "DESC"     creates NAME with a description; an error if it exists
//	  add COMP...       appends components (linker arguments such as
//	                    -lrumpvfs) not yet in the config, in order
//	  remove COMP...    removes components; an error for one not in the config
//	  assimilate CONF...  appends the components of other configs (as add)
//	  nuke              empties the config's component list (the config and
//	                    its description stay, so add can rebuild it)
//	fnoc                closes the block
//
// add, remove, assimilate and nuke need the config to exist. A name that
// starts with '_' is private: a building block for assimilate that cannot
// be baked and is not listed. The part of a public name before its first
// '_' is the platform (hw_generic: hw, xen_pv: xen); it selects
// rumprun-ARCH/lib/rumprun-PLATFORM. Files are read in order (the toolchain's, then
// each -c file) into one Set, so a later file can add configs or change
// existing ones; -m commands (Set.Modify) then apply create, add, remove,
// assimilate or nuke to the chosen config alone. Errors are SyntaxErrors
// that name the file, line and column.
//
// # The bake
//
// For the inputs in order, N = 1..8:
//
//	TUPLE-objcopy --redefine-sym main=rumprun_mainN INPUT TMP/N.o
//
// then one link with the backing compiler:
//
//	CC CFLAGS [-no-pie] --sysroot=TOOLDIR/rumprun-ARCH \
//	    -specs=TOOLDIR/rumprun-ARCH/lib/rumprun-PLATFORM/specs-bake \
//	    -o TMP/kernel TMP/1.o ... -Wl,--whole-archive COMPONENTS... -Wl,--no-whole-archive
//
// (-no-pie when the compiler accepts it), then the bake record is appended
// as a non-allocated SHT_NOTE section (kernel.Stamp), and the kernel is
// renamed onto the output. Plan.Script prints the same steps as shell.
//
// # The initrd/1 support
//
// For hw and Xen configs (Options.Protocol "" or ProtocolInitrd) the
// kernel side of the initrd/1 boot protocol (package kside: kside.HW or
// kside.Xen) goes into the kernel, with the installed toolchain
// unchanged: its source (Side.Source) is written to TMP/kside.c (Script:
// rump-bake --kside-source, with "xen" after the file for Xen), compiled
// with TUPLE-gcc through -include (the main input is /dev/null, so that
// the object's file symbol does not depend on the work file's name),
// partially linked with the toolchain's libz.a and all but Side.Exports
// made local. On hw a copy of the platform's rumprun.o gets multiboot
// global with the alias kside_upstream_multiboot at its .text offset,
// then multiboot and bmk_platform_halt weak (two objcopy passes: in one,
// multiboot stays global), and the link takes -nostartfiles TMP/rumprun.o
// first, in place of specs-bake's *startfile; on Xen rumprun.o stays as
// installed (Mini-OS's start_info is global). The link takes kside.o
// after the inputs and -Wl,--wrap= for Side.Wraps; the stamp adds the
// rumpboot type-1 note "initrd/1" beside the bake record. Without
// Options.Protocol, a platform object that is not rumprun's (hw: no
// multiboot or global bmk_platform_halt; Xen: no global
// _minios_start_info_union) gets today's kernel.
package bake
