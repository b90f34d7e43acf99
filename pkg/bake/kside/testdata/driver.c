/*
 * driver: runs the kernel side's host-compilable logic (../c/archive.c,
 * json.c, config.c) for the Go tests, one fact per line. Strings are
 * printed between <> with bytes outside 0x20..0x7e (and \) as \xHH.
 *
 *	driver unpack FILE	mkdir|file|symlink|copy lines, then ok or error
 *	driver config FILE	the parsed config, its wire form, or error
 *	driver split STRING	argv
 *	driver words STRING	canonical, exitport, json offset, or error
 *	driver disk NAME	device and mountpoint, or none
 *	driver name NAME	the name to create, or refused
 *	driver place "TOP LEN [LO HI]..."	where the initrd goes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../c/kside.h"

static void
put(const char *s)
{
	const unsigned char *p;

	putchar('<');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('>');
}

struct rec {
	uLong	crc;
	unsigned long long size;
	char	name[4200];
	unsigned mode;
	uint64_t want;	/* the size create announced */
};

static int
r_mkdir(void *a, const char *name, unsigned mode)
{

	(void)a;
	printf("mkdir ");
	put(name);
	printf(" %04o\n", mode);
	return 0;
}

static int
r_create(void *a, const char *name, unsigned mode, uint64_t size)
{
	struct rec *r = a;

	r->want = size;
	snprintf(r->name, sizeof r->name, "%s", name);
	r->mode = mode;
	r->crc = crc32(0L, Z_NULL, 0);
	r->size = 0;
	return 0;
}

static int
r_write(void *a, const void *p, size_t n)
{
	struct rec *r = a;

	r->crc = crc32(r->crc, p, (uInt)n);
	r->size += n;
	return 0;
}

static int
r_close(void *a)
{
	struct rec *r = a;

	printf("file ");
	put(r->name);
	printf(" %04o %llu %08lx\n", r->mode, r->size, r->crc);
	if (r->size != r->want)
		printf("create said %llu bytes\n", (unsigned long long)r->want);
	return 0;
}

static int
r_symlink(void *a, const char *name, const char *target, unsigned mode)
{

	(void)a;
	(void)mode;
	printf("symlink ");
	put(name);
	printf(" ");
	put(target);
	printf("\n");
	return 0;
}

static int
r_copy(void *a, const char *from, const char *to, unsigned mode)
{

	(void)a;
	printf("copy ");
	put(from);
	printf(" ");
	put(to);
	printf(" %04o\n", mode);
	return 0;
}

static const struct kside_fsops ops = {
	r_mkdir, r_create, r_write, r_close, r_symlink, r_copy,
};

static char *
readfile(const char *path, size_t *n)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL) {
		perror(path);
		exit(2);
	}
	*n = 0;
	for (;;) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 65536;
			if ((buf = realloc(buf, cap + 1)) == NULL)
				exit(2);
		}
		got = fread(buf + *n, 1, cap - *n, f);
		if (got == 0)
			break;
		*n += got;
	}
	fclose(f);
	buf[*n] = '\0';
	return buf;
}

static void
config(const char *path)
{
	struct kside_config c;
	char err[KSIDE_ERRLEN], *text, *wire;
	size_t n;
	int i, j;

	text = readfile(path, &n);
	if (kside_config_parse(text, n, "cfg", &c, err) != 0) {
		printf("error %s\n", err);
		return;
	}
	if (c.hostname) {
		printf("hostname ");
		put(c.hostname);
		printf("\n");
	}
	for (i = 0; i < c.nexecs; i++) {
		printf("exec %d flags=%d cmdline=%d argc=%d\n", i,
		    c.execs[i].flags, c.cmdline, c.execs[i].argc);
		for (j = 0; j < c.execs[i].argc; j++) {
			printf("argv ");
			put(c.execs[i].argv[j]);
			printf("\n");
		}
		if (c.execs[i].argv[c.execs[i].argc] != NULL)
			printf("argv not NULL-terminated\n");
	}
	for (i = 0; i < c.nenv; i++) {
		printf("env ");
		put(c.envname[i]);
		printf("=");
		put(c.envvalue[i]);
		printf("\n");
	}
	printf("net %s %d\n", c.hasnet ? "given" : "default", c.nnet);
	printf("blk %s %d\n", c.hasblk ? "given" : "default", c.nblk);
	wire = kside_wire(&c, err);
	if (wire != NULL)
		printf("wire %s\n", wire);
	else if (err[0] != '\0')
		printf("wire-error %s\n", err);
	free(wire);
	kside_config_free(&c);
	free(text);
}

int
main(int argc, char *argv[])
{
	char err[KSIDE_ERRLEN], dev[64], mnt[64];
	struct kside_stats st;
	struct kside_words w;
	struct rec r;
	const char *rel;
	char **av, *data;
	size_t n;
	int ac, i;

	if (argc != 3 && !(argc == 7 && strcmp(argv[1], "xenmod") == 0))
		return 2;
	if (strcmp(argv[1], "unpack") == 0) {
		data = readfile(argv[2], &n);
		memset(&r, 0, sizeof r);
		if (kside_unpack((unsigned char *)data, n, &ops, &r, &st,
		    err) != 0)
			printf("error %s\n", err);
		else
			printf("ok entries=%lu dirs=%lu files=%lu links=%lu "
			    "hardlinks=%lu skipped=%lu bytes=%llu cfg=%lu%s%s\n",
			    st.entries, st.dirs, st.files, st.links,
			    st.hardlinks, st.skipped,
			    (unsigned long long)st.bytes, st.cfgentry,
			    st.cfgbad ? " cfgbad=" : "",
			    st.cfgbad ? st.cfgbad : "");
		free(data);
	} else if (strcmp(argv[1], "config") == 0) {
		config(argv[2]);
	} else if (strcmp(argv[1], "split") == 0) {
		if (kside_splitargs(argv[2], &av, &ac) != 0)
			return 2;
		printf("argc %d\n", ac);
		for (i = 0; i < ac; i++) {
			put(av[i]);
			printf("\n");
		}
	} else if (strcmp(argv[1], "words") == 0) {
		if (kside_words(argv[2], &w, err) != 0)
			printf("error %s\n", err);
		else
			printf("canonical=%d exitport=%#x json=%ld\n",
			    w.canonical, w.exitport,
			    w.json ? (long)(w.json - argv[2]) : -1L);
	} else if (strcmp(argv[1], "disk") == 0) {
		if (kside_disk_device(argv[2], dev, sizeof dev, mnt,
		    sizeof mnt))
			printf("%s %s\n", dev, mnt);
		else
			printf("none\n");
	} else if (strcmp(argv[1], "place") == 0) {
		struct kside_region rg[16];
		unsigned long long top, len, lo, hi;
		int off = 0, k, nr = 0;

		if (sscanf(argv[2], "%llx %llx%n", &top, &len, &off) != 2)
			return 2;
		while (nr < 16 && sscanf(argv[2] + off, " %llx %llx%n", &lo,
		    &hi, &k) == 2) {
			rg[nr].lo = lo;
			rg[nr++].hi = hi;
			off += k;
		}
		printf("%#llx\n", (unsigned long long)kside_place(top, len, rg,
		    nr));
	} else if (strcmp(argv[1], "xenmod") == 0) {
		/* MAGIC FLAGS MODSTART MODLEN VIRTBASE, numbers in hex */
		static unsigned char si[KSIDE_SI_SIZE];
		unsigned long long start, n, base;
		unsigned flags;
		uintptr_t at;
		size_t len;
		int r;

		if (argc != 7 || sscanf(argv[3], "%x", &flags) != 1 ||
		    sscanf(argv[4], "%llx", &start) != 1 ||
		    sscanf(argv[5], "%llx", &n) != 1 ||
		    sscanf(argv[6], "%llx", &base) != 1)
			return 2;
		memset(si, 0xa5, sizeof si);
		memcpy(si, argv[2], strlen(argv[2]) + 1);
		memcpy(si + KSIDE_SI_FLAGS, &flags, sizeof flags);
		memcpy(si + KSIDE_SI_MODSTART, &start, sizeof start);
		memcpy(si + KSIDE_SI_MODLEN, &n, sizeof n);
		r = kside_xen_module(si, (uintptr_t)base, &at, &len, err);
		if (r < 0)
			printf("error %s\n", err);
		else if (r == 0)
			printf("none\n");
		else
			printf("%#llx %llu\n", (unsigned long long)at,
			    (unsigned long long)len);
	} else if (strcmp(argv[1], "vbd") == 0) {
		char name[16];

		if (kside_xen_vbd_name(strtoul(argv[2], NULL, 0), name,
		    sizeof name))
			printf("%s\n", name);
		else
			printf("none\n");
	} else if (strcmp(argv[1], "vifs") == 0) {
		const char *ids[16];
		char *s = argv[2], *id;
		int n = 0;

		while (n < 16 && (id = strsep(&s, " ")) != NULL)
			if (*id != '\0')
				ids[n++] = id;
		printf("%d\n", kside_xen_vifs(ids, n));
	} else if (strcmp(argv[1], "name") == 0) {
		if (kside_name_ok(argv[2], &rel)) {
			put(rel);
			printf("\n");
		} else
			printf("refused\n");
	} else
		return 2;
	return 0;
}
