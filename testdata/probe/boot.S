/*
 * Multiboot v1 header and entry point of the probe kernel.
 *
 * Built twice: plain (flags 0x3: page-align, mem-info), as in rumprun's
 * i386 kernels, and with -DAOUT_KLUDGE (flags 0x10003 plus the load
 * addresses), which the ELF64 flavours need: QEMU refuses an ELF64
 * multiboot image unless the header carries the addresses itself.
 */
#define MB_MAGIC	0x1BADB002
#ifdef AOUT_KLUDGE
#define MB_FLAGS	0x00010003
#else
#define MB_FLAGS	0x00000003
#endif

	.section .multiboot, "a"
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
#ifdef AOUT_KLUDGE
	.long mb_header		/* header_addr */
	.long _text		/* load_addr: the file is loaded from .text on */
	.long _edata		/* load_end_addr */
	.long _end		/* bss_end_addr */
	.long _start		/* entry_addr */
#endif

	.text
	.code32
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	movl %eax, %esi		/* multiboot magic */
	movl %ebx, %edx		/* multiboot info */
	/* Zero .bss (the stack lives there, so before any push). */
	movl $__bss_start, %edi
	movl $_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	movl $stack_top, %esp
	xorl %ebp, %ebp
	pushl %edx
	pushl %esi
	call platform_start
	/* platform_start does not return; be safe anyway. */
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.bss
	.align 16
	.space 65536
stack_top:

	.section .note.GNU-stack, "", @progbits
