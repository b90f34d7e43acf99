/*
 * The built-in example program: the smallest rumprun application. With a
 * real rumprun toolchain it is an ordinary C program (use printf there);
 * with the miniature toolchain of the tests it runs on the probe kernel's
 * platform, which prints what the kernel received before calling main, and
 * has only cons_puts for output.
 */
void cons_puts(const char *s);
int main(int argc, char **argv);

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cons_puts("hello: hello from a rumprun unikernel\n");
	return 0;
}
