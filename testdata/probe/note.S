/*
 * The rumpboot note: owner "rumpboot", type 1, the boot protocol this
 * kernel supports ("initrd/1", NUL-terminated). Linked only into the
 * -initrd flavours; the others stand for today's rumprun kernels.
 */
	.section .note.rumpboot, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long 1			/* type */
1:	.asciz "rumpboot"
2:	.balign 4
3:	.asciz "initrd/1"
4:	.balign 4

	.section .note.GNU-stack, "", @progbits
