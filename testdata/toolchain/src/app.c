/*
 * A test program for the miniature toolchain: prints its name (NAME, a
 * string macro) and returns EXIT. Compile it with the toolchain's
 * TUPLE-gcc -o OUT -DNAME='"hello"' app.c.
 */
#ifndef NAME
#define NAME "app"
#endif
#ifndef EXIT
#define EXIT 0
#endif

void cons_puts(const char *s);
int main(int argc, char **argv);

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cons_puts("app: " NAME "\n");
	return EXIT;
}
