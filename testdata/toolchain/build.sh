#!/bin/sh
# Builds a miniature rumprun toolchain for the tests (DESIGN.md section 8):
#
#   sh build.sh OUTDIR hw|xen [initrd]
#
# OUTDIR/ is laid out like a real rumprun toolchain (rumprun b04d422's
# installation, as in ../shared/rumprun), with absolute paths to itself
# baked in as rumprun's installation does:
#   bin/TUPLE-gcc            compiles C files and partially links them with
#                            the bake recipe note (a rumprun "binary": ET_REL)
#   bin/TUPLE-objcopy        the host objcopy
#   etc/rumprun-bake.conf    the bake configs
#   rumprun-x86_64/          the target tree, the link's --sysroot
#     lib/bakerecipe.o       the .note.rumprun.bakerecipe note
#     lib/PLATFORM.ldscript  the kernel's linker script
#     lib/rumprun-PLATFORM/  rumprun.o (platform object), specs-bake and one
#                            tiny archive per component named in the conf
# The hw platform is the probe kernel (testdata/probe) with a hook that
# prints the baked components; it boots in QEMU. The xen platform only
# links like a Xen PV kernel. With "initrd", the hw platform declares the
# initrd/1 boot protocol (the rumpboot type-1 note), as the kernels of the
# design this project proposes do; without it, it stands for today's.
set -eu

usage='usage: sh build.sh OUTDIR hw|xen [initrd]'
[ $# -eq 2 ] || [ $# -eq 3 ] || { echo "$usage" >&2; exit 2; }
protocol=${3:-}
case $2:$protocol in hw:initrd|*:) ;; *) echo "$usage" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")" && pwd)
probe=$here/../probe
platform=$2
tuple=x86_64-rumprun-netbsd
cc=${CC:-gcc}
case $platform in
hw)	cflags=-m32; asflags=--32; emul=elf_i386; ptr=.long ;;
xen)	cflags=-m64; asflags=--64; emul=elf_x86_64; ptr=.quad ;;
*)	echo "build.sh: platform must be hw or xen" >&2; exit 2 ;;
esac
mkdir -p "$1"
out=$(cd "$1" && pwd)
case $out in *[!A-Za-z0-9_./+-]*)
	echo "build.sh: $out: only [A-Za-z0-9_./+-] in the path, please" >&2; exit 2 ;;
esac
obj=$out/obj
sysroot=$out/rumprun-${tuple%%-*}
pdir=$sysroot/lib/rumprun-$platform
mkdir -p "$out/bin" "$out/etc" "$pdir" "$obj"

ccflags="$cflags -std=c11 -O2 -Wall -Wextra -ffreestanding -fno-builtin -fno-pic
    -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables
    -fno-unwind-tables -mgeneral-regs-only"
[ "$platform" = hw ] && ccflags="$ccflags -march=i686"

cp "$here/rumprun-bake.conf" "$out/etc/rumprun-bake.conf"

# The recipe note that rumprun's compiler leaves in every object.
cat >"$obj/bakerecipe.S" <<EOS
	.section .note.rumprun.bakerecipe, "a", @note
	.balign 4
	.long 2f - 1f
	.long 4f - 3f
	.long 0x101
1:	.asciz "rumpkernel.org"
2:	.balign 4
3:	.asciz "rumprun_tuple: $tuple"
	.asciz "rumprun_tooldir: $out"
	.asciz "rumprun_backingcc: $cc"
	.asciz "rumprun_cflags: $cflags"
4:	.balign 4
	.section .note.GNU-stack, "", @progbits
EOS
$cc $cflags -c -o "$sysroot/lib/bakerecipe.o" "$obj/bakerecipe.S"

# Components: each archive registers its name.
for lib in $(sed -n 's/#.*//; s/[^-]*\(-lrump[A-Za-z0-9_]*\)/\1\n/gp' "$here/rumprun-bake.conf" |
    sed -n 's/^-l\(rump[A-Za-z0-9_]*\).*/\1/p' | sort -u); do
	printf '\t.section rump_components, "aw"\n\t%s 1f\n\t.section .rodata\n1:\t.asciz "%s"\n\t.section .note.GNU-stack, "", @progbits\n' \
	    "$ptr" "$lib" | as $asflags -o "$obj/$lib.o"
	rm -f "$pdir/lib$lib.a"
	ar rcD "$pdir/lib$lib.a" "$obj/$lib.o"
done

# The platform object.
case $platform in
hw)
	$cc -m32 -DAOUT_KLUDGE -c -o "$obj/boot.o" "$probe/boot.S"
	notes=
	if [ "$protocol" = initrd ]; then
		$cc -m32 -c -o "$obj/note.o" "$probe/note.S"
		notes=$obj/note.o
	fi
	for f in platform initrd inflate; do
		$cc $ccflags -I"$probe" -c -o "$obj/$f.o" "$probe/$f.c"
	done
	objcopy --redefine-sym platform_start=probe_platform_start "$obj/platform.o"
	$cc $ccflags -I"$probe" -c -o "$obj/complist.o" "$here/src/complist.c"
	ld -m $emul -r -o "$pdir/rumprun.o" "$obj/boot.o" "$obj/platform.o" \
	    "$obj/initrd.o" "$obj/inflate.o" "$obj/complist.o" $notes
	;;
xen)
	$cc $ccflags -c -o "$pdir/rumprun.o" "$here/src/xenplat.c"
	;;
esac
cp "$here/src/kern-$platform.ldscript" "$sysroot/lib/$platform.ldscript"

# specs-bake: the link of a baked kernel, for the host gcc.
cat >"$pdir/specs-bake" <<EOS
*startfile:
$pdir/rumprun.o

*endfile:


*lib:


*libgcc:


*link:
-m $emul -T $sysroot/lib/$platform.ldscript -nostdlib -static -z max-page-size=0x1000 -z noseparate-code -z noexecstack --build-id=none --no-warn-rwx-segments -L$pdir

EOS

# The compiler and objcopy of the tuple.
cat >"$out/bin/$tuple-gcc" <<EOS
#!/bin/sh
# Miniature rumprun compiler: $tuple-gcc [CFLAGS] -o OUTPUT SOURCE.c
# As the real one does when it links, it writes a relocatable object
# carrying the bake recipe note.
set -e
out=
n=\$#
while [ \$n -gt 0 ]; do
	a=\$1
	shift
	n=\$((n - 1))
	if [ "\$a" = -o ] && [ \$n -gt 0 ]; then
		out=\$1
		shift
		n=\$((n - 1))
		continue
	fi
	set -- "\$@" "\$a"
done
if [ -z "\$out" ] || [ \$# -eq 0 ]; then
	echo "usage: \${0##*/} [CFLAGS] -o OUTPUT SOURCE.c" >&2
	exit 2
fi
tmp=\$(mktemp -d)
trap 'rm -rf "\$tmp"' EXIT
$cc $(echo $ccflags) -c -o "\$tmp/app.o" "\$@"
ld -m $emul -r -o "\$out" "\$tmp/app.o" "$sysroot/lib/bakerecipe.o"
EOS
printf '#!/bin/sh\nexec objcopy "$@"\n' >"$out/bin/$tuple-objcopy"
chmod +x "$out/bin/$tuple-gcc" "$out/bin/$tuple-objcopy"
rm -rf "$obj"
