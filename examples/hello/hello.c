/*
 * hello: the example rumprun program, an ordinary C program. It prints
 * what the kernel handed it (its arguments and environment, from
 * json.cfg) and a file of its root file system (rootfs/etc/motd, which
 * the initrd brings), and exits 0, or 1 when the file cannot be read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

extern char **environ;

int
main(int argc, char *argv[])
{
	const char *motd = "/etc/motd";
	char line[256];
	char **e;
	FILE *f;
	int i;

	printf("hello: hello from a rumprun unikernel\n");
	for (i = 0; i < argc; i++)
		printf("hello: argv[%d] = %s\n", i, argv[i]);
	for (e = environ; *e != NULL; e++)
		printf("hello: env %s\n", *e);

	if ((f = fopen(motd, "r")) == NULL) {
		printf("hello: %s: %s\n", motd, strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof line, f) != NULL)
		printf("hello: %s: %s", motd, line);
	fclose(f);
	return 0;
}
