/*
 * xlcfg: read an xl domain configuration with Xen's own parser (libxlutil)
 * and print the values it holds, so that tests can compare what xl reads
 * with what a tool meant to write.
 *
 *   xlcfg FILE KEY...
 *
 * For each KEY, in order, prints "key HEXNAME" and then its value:
 *   absent          the file does not set KEY
 *   s HEX           a string (numbers are strings to xl), bytes in hex
 *   l N             a list of N items, each item's value following
 * Exit status: 0, or 1 when libxlutil refuses the file (its message on
 * stderr), 2 on a usage error.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxlutil.h>

static void hex(const char *s)
{
	for (; *s; s++)
		printf("%02x", (unsigned char)*s);
}

static int dumplist(XLU_Config *cfg, XLU_ConfigList *list, int n);

static int dumpvalue(XLU_Config *cfg, XLU_ConfigValue *v)
{
	if (xlu_cfg_value_type(v) == XLU_STRING) {
		char *s;
		if (xlu_cfg_value_get_string(cfg, v, &s, 0))
			return 1;
		printf("s ");
		hex(s);
		printf("\n");
		return 0;
	}
	XLU_ConfigList *list;
	if (xlu_cfg_value_get_list(cfg, v, &list, 0))
		return 1;
	int n = 0;
	while (xlu_cfg_get_listitem2(list, n))
		n++;
	return dumplist(cfg, list, n);
}

static int dumplist(XLU_Config *cfg, XLU_ConfigList *list, int n)
{
	printf("l %d\n", n);
	for (int i = 0; i < n; i++)
		if (dumpvalue(cfg, xlu_cfg_get_listitem2(list, i)))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: xlcfg FILE KEY...\n");
		return 2;
	}
	XLU_Config *cfg = xlu_cfg_init(stderr, argv[1]);
	if (!cfg) {
		perror("xlu_cfg_init");
		return 1;
	}
	int e = xlu_cfg_readfile(cfg, argv[1]);
	if (e) {
		fprintf(stderr, "%s: %s\n", argv[1], strerror(e));
		return 1;
	}
	for (int i = 2; i < argc; i++) {
		const char *s;
		XLU_ConfigList *list;
		int n;
		printf("key ");
		hex(argv[i]);
		printf("\n");
		e = xlu_cfg_get_string(cfg, argv[i], &s, 1);
		if (e == ESRCH) {
			printf("absent\n");
		} else if (e == 0) {
			printf("s ");
			hex(s);
			printf("\n");
		} else if (xlu_cfg_get_list(cfg, argv[i], &list, &n, 1) == 0) {
			if (dumplist(cfg, list, n))
				return 1;
		} else {
			fprintf(stderr, "%s: cannot read %s: %s\n", argv[1], argv[i], strerror(e));
			return 1;
		}
	}
	xlu_cfg_destroy(cfg);
	return fflush(stdout) ? 1 : 0;
}
