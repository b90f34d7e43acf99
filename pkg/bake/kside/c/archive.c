/*
 * The initrd: newc cpio archives ("070701", also "070702" whose checksum
 * is not checked), plain or gzip, one after another with zero padding
 * between them, walked as one stream so that file data goes straight to
 * the file system, whatever its size.
 *
 * Hard links: newc gives every name of an inode its own entry and the
 * data only to one of them (the last, as cpio and rump-initrd write it).
 * rumpfs has no link(), so every name gets a copy of the data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "kside.h"

#define HDRLEN		110
#define MAXNAME		4096
#define GZBUF		65536

#define S_TYPE		0170000
#define S_DIR		0040000
#define S_REG		0100000
#define S_LNK		0120000

enum state { BETWEEN, HEADER, NAME, NAMEPAD, DATA, DATAPAD };

struct group {
	unsigned long	 maj, min, ino;
	char		*data;		/* the name holding the data */
	char		**wait;		/* names seen before the data */
	int		 nwait;
	struct group	*next;
};

struct symlink {
	char		*name;
	struct symlink	*next;
};

struct walk {
	const struct kside_fsops *ops;
	void		*arg;
	struct kside_stats *st;
	char		*err;

	enum state	 state;
	unsigned char	 hdr[HDRLEN];
	size_t		 got, need;
	char		 name[MAXNAME + 1];
	const char	*rel;
	unsigned long	 mode, nlink, size, maj, min, ino, namesize;
	char		 target[MAXNAME + 1];
	int		 open;		/* a file is being written */
	int		 skip;		/* this entry's data is dropped */
	struct group	*group;		/* hard link group of this entry */
	uint64_t	 off;		/* stream offset of this entry */
	uint64_t	 pos;		/* stream offset */
	unsigned long	 archives;
	unsigned long	 num;		/* entry number, from 1 */
	struct group	*groups;
	struct symlink	*symlinks;	/* the archive's, never followed */
};

static int
fail(struct walk *w, const char *fmt, const char *a, const char *b)
{

	snprintf(w->err, KSIDE_ERRLEN, fmt, a, b);
	return -1;
}

static int
entryfail(struct walk *w, const char *what, int error)
{
	char where[64];

	snprintf(where, sizeof where, "entry %lu at offset %llu",
	    w->num, (unsigned long long)w->off);
	snprintf(w->err, KSIDE_ERRLEN, "%s (%.100s): %s%s%s", where, w->name,
	    what, error ? ": " : "", error ? strerror(error) : "");
	return -1;
}

/*
 * kside_place finds where an initrd of len bytes goes: the highest page
 * below top that keeps clear of the regions given (what the boot loader
 * left there: its information, command line, other modules). It returns
 * 0 when there is no such place.
 */
uint64_t
kside_place(uint64_t top, uint64_t len, const struct kside_region *r, int n)
{
	uint64_t hi = top, lo;
	int i, again;

	do {
		if (hi < len)
			return 0;
		lo = (hi - len) & ~(uint64_t)4095;
		again = 0;
		for (i = 0; i < n; i++) {
			if (r[i].lo < lo + len && r[i].hi > lo) {
				hi = r[i].lo;
				again = 1;
			}
		}
	} while (again);
	return lo;
}

/*
 * kside_name_ok applies the one entry-name rule of initrd/1 (as
 * pkg/initrd.NameRule states it): one leading "./" is removed; what
 * remains is "." (the root) or names separated by "/", none of them
 * empty, "." or "..". *rel is the name to create ("" for the root).
 */
int
kside_name_ok(const char *name, const char **rel)
{
	const char *p, *c;
	size_t n;

	if (strncmp(name, "./", 2) == 0)
		name += 2;
	if (strcmp(name, ".") == 0) {
		*rel = "";
		return 1;
	}
	if (*name == '\0')
		return 0;
	for (c = name;; c = p + 1) {
		p = strchr(c, '/');
		n = p ? (size_t)(p - c) : strlen(c);
		if (n == 0 || (n == 1 && c[0] == '.') ||
		    (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (p == NULL)
			break;
	}
	*rel = name;
	return 1;
}

/* belowlink reports whether rel lies below a symbolic link of the archive. */
static const char *
belowlink(struct walk *w, const char *rel)
{
	struct symlink *l;
	size_t n;

	for (l = w->symlinks; l != NULL; l = l->next) {
		n = strlen(l->name);
		if (strncmp(rel, l->name, n) == 0 && rel[n] == '/')
			return l->name;
	}
	return NULL;
}

static int
hexfield(const unsigned char *p, unsigned long *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 8; i++) {
		int c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = *v << 4 | (unsigned long)d;
	}
	return 0;
}

static struct group *
findgroup(struct walk *w)
{
	struct group *g;

	for (g = w->groups; g != NULL; g = g->next)
		if (g->maj == w->maj && g->min == w->min && g->ino == w->ino)
			return g;
	if ((g = calloc(1, sizeof *g)) == NULL)
		return NULL;
	g->maj = w->maj;
	g->min = w->min;
	g->ino = w->ino;
	g->next = w->groups;
	w->groups = g;
	return g;
}

static void
freegroups(struct walk *w)
{
	struct group *g, *n;
	struct symlink *l, *ln;
	int i;

	for (l = w->symlinks; l != NULL; l = ln) {
		ln = l->next;
		free(l->name);
		free(l);
	}
	w->symlinks = NULL;
	for (g = w->groups; g != NULL; g = n) {
		n = g->next;
		for (i = 0; i < g->nwait; i++)
			free(g->wait[i]);
		free(g->wait);
		free(g->data);
		free(g);
	}
	w->groups = NULL;
}

static int
magic(const unsigned char *h)
{

	return memcmp(h, "07070", 5) == 0 && (h[5] == '1' || h[5] == '2');
}

/* The header is complete: check it and read its fields. */
static int
header(struct walk *w)
{
	unsigned long f[13];
	int i;

	if (!magic(w->hdr)) {
		char off[32];

		snprintf(off, sizeof off, "%llu", (unsigned long long)w->off);
		return fail(w, "offset %s: bad header magic%s", off,
		    w->archives == 0 && w->off == 0 ?
		    " (not a newc cpio archive)" : "");
	}
	for (i = 0; i < 13; i++) {
		if (hexfield(w->hdr + 6 + 8 * i, &f[i]) != 0) {
			char off[32];

			snprintf(off, sizeof off, "%llu",
			    (unsigned long long)w->off);
			return fail(w, "offset %s: bad header field%s", off,
			    "");
		}
	}
	w->num++;
	w->ino = f[0];
	w->mode = f[1];
	w->nlink = f[4];
	w->size = f[6];
	w->maj = f[7];
	w->min = f[8];
	w->namesize = f[11];
	if (w->namesize < 2 || w->namesize > MAXNAME + 1) {
		char off[32];

		snprintf(off, sizeof off, "%llu", (unsigned long long)w->off);
		return fail(w, "offset %s: bad name size%s", off, "");
	}
	return 0;
}

/* The name is complete: decide what the entry is and start it. */
static int
begin(struct walk *w)
{
	unsigned perm = (unsigned)(w->mode & 07777);
	int error;

	if (w->name[w->namesize - 1] != '\0')
		return entryfail(w, "name not NUL-terminated", 0);
	w->skip = 0;
	w->group = NULL;
	if (strcmp(w->name, "TRAILER!!!") == 0) {
		w->archives++;
		w->skip = 1;
		return 0;
	}
	if (!kside_name_ok(w->name, &w->rel))
		return entryfail(w, "name is not relative after an optional "
		    "leading \"./\", or has an empty, \".\" or \"..\" "
		    "component: the whole initrd is refused", 0);
	if (belowlink(w, w->rel) != NULL)
		return entryfail(w, "lies below a symbolic link of the "
		    "archive, which is never followed: the whole initrd is "
		    "refused", 0);
	w->st->entries++;
	if (strcmp(w->rel, "json.cfg") == 0) {
		w->st->cfgentry = w->num;
		w->st->cfgbad = NULL;
		if ((w->mode & S_TYPE) != S_REG)
			w->st->cfgbad = "not a regular file";
		else if (w->nlink > 1)
			w->st->cfgbad = "a hard link, whose data may be stored "
			    "with another name";
	}
	switch (w->mode & S_TYPE) {
	case S_DIR:
		w->skip = 1;
		w->st->dirs++;
		if (*w->rel == '\0')
			return 0;
		if ((error = w->ops->mkdir(w->arg, w->rel, perm)) != 0)
			return entryfail(w, "mkdir", error);
		return 0;
	case S_LNK:
		if (w->size > MAXNAME)
			return entryfail(w, "symbolic link target too long", 0);
		return 0;
	case S_REG:
		if (*w->rel == '\0')
			return entryfail(w, "the root is not a file", 0);
		if (w->nlink >= 2 && (w->group = findgroup(w)) == NULL)
			return entryfail(w, "out of memory", ENOMEM);
		if ((error = w->ops->create(w->arg, w->rel, perm, w->size)) != 0)
			return entryfail(w, "create", error);
		w->open = 1;
		w->st->files++;
		return 0;
	default:
		/* Devices, FIFOs, sockets: not for a rumprun root. */
		w->skip = 1;
		w->st->skipped++;
		return 0;
	}
}

/* The data is complete (or there was none): finish the entry. */
static int
end(struct walk *w)
{
	unsigned perm = (unsigned)(w->mode & 07777);
	struct group *g = w->group;
	struct symlink *l;
	char **nw;
	int error, i;

	if ((w->mode & S_TYPE) == S_LNK && !w->skip) {
		w->target[w->size] = '\0';
		if ((error = w->ops->symlink(w->arg, w->rel, w->target,
		    perm)) != 0)
			return entryfail(w, "symlink", error);
		if ((l = calloc(1, sizeof *l)) == NULL ||
		    (l->name = strdup(w->rel)) == NULL) {
			free(l);
			return entryfail(w, "out of memory", ENOMEM);
		}
		l->next = w->symlinks;
		w->symlinks = l;
		w->st->links++;
		return 0;
	}
	if (!w->open)
		return 0;
	w->open = 0;
	if ((error = w->ops->close(w->arg)) != 0)
		return entryfail(w, "write", error);
	if (g == NULL)
		return 0;
	if (w->size > 0) {
		free(g->data);
		if ((g->data = strdup(w->rel)) == NULL)
			return entryfail(w, "out of memory", ENOMEM);
		for (i = 0; i < g->nwait; i++) {
			error = w->ops->copy(w->arg, g->data, g->wait[i], perm);
			if (error != 0)
				return entryfail(w, "copying for a hard link",
				    error);
			w->st->hardlinks++;
			free(g->wait[i]);
		}
		g->nwait = 0;
	} else if (g->data != NULL) {
		if ((error = w->ops->copy(w->arg, g->data, w->rel, perm)) != 0)
			return entryfail(w, "copying for a hard link", error);
		w->st->hardlinks++;
	} else {
		nw = realloc(g->wait, (size_t)(g->nwait + 1) * sizeof *nw);
		if (nw == NULL)
			return entryfail(w, "out of memory", ENOMEM);
		g->wait = nw;
		if ((g->wait[g->nwait] = strdup(w->rel)) == NULL)
			return entryfail(w, "out of memory", ENOMEM);
		g->nwait++;
	}
	return 0;
}

static size_t
pad4(unsigned long n)
{

	return (4 - n % 4) % 4;
}

/*
 * feed hands the walker n bytes of the (decompressed) stream. It stops
 * early, with *used < n, after an archive's trailer, so that the caller
 * can look for a gzip member.
 */
static int
feed(struct walk *w, const unsigned char *p, size_t n, size_t *used)
{
	size_t i = 0, k;
	int error;

	/* A padding of 0 bytes still ends its entry, even at the end. */
	while (i < n || ((w->state == NAMEPAD || w->state == DATAPAD) &&
	    w->need == 0)) {
		switch (w->state) {
		case BETWEEN:
			if (p[i] == 0) {
				i++;
				w->pos++;
				continue;
			}
			w->state = HEADER;
			w->got = 0;
			w->off = w->pos;
			break;
		case HEADER:
			k = HDRLEN - w->got;
			if (k > n - i)
				k = n - i;
			memcpy(w->hdr + w->got, p + i, k);
			w->got += k;
			i += k;
			w->pos += k;
			/* Say "not an archive" before waiting for a header. */
			if (w->got >= 6 && w->got < HDRLEN && !magic(w->hdr) &&
			    header(w) != 0)
				goto out;
			if (w->got < HDRLEN)
				break;
			if (header(w) != 0)
				goto out;
			w->state = NAME;
			w->got = 0;
			break;
		case NAME:
			k = w->namesize - w->got;
			if (k > n - i)
				k = n - i;
			memcpy(w->name + w->got, p + i, k);
			w->got += k;
			i += k;
			w->pos += k;
			if (w->got < w->namesize)
				break;
			w->name[w->namesize] = '\0';
			if (begin(w) != 0)
				goto out;
			w->state = NAMEPAD;
			w->need = pad4(HDRLEN + w->namesize);
			w->got = 0;
			break;
		case NAMEPAD:
		case DATAPAD:
			k = w->need;
			if (k > n - i)
				k = n - i;
			i += k;
			w->pos += k;
			w->need -= k;
			if (w->need > 0)
				break;
			if (w->state == NAMEPAD && w->size > 0) {
				w->state = DATA;
				w->need = w->size;
				w->got = 0;
				break;
			}
			if (w->state == NAMEPAD && end(w) != 0)
				goto out;
			w->state = BETWEEN;
			if (strcmp(w->name, "TRAILER!!!") == 0) {
				*used = i;
				return 0;
			}
			break;
		case DATA:
			k = w->need;
			if (k > n - i)
				k = n - i;
			if (w->open) {
				if ((error = w->ops->write(w->arg, p + i, k))
				    != 0) {
					entryfail(w, "write", error);
					goto out;
				}
				w->st->bytes += k;
			} else if ((w->mode & S_TYPE) == S_LNK && !w->skip) {
				memcpy(w->target + w->got, p + i, k);
				w->got += k;
			}
			i += k;
			w->pos += k;
			w->need -= k;
			if (w->need > 0)
				break;
			if (end(w) != 0)
				goto out;
			w->state = DATAPAD;
			w->need = pad4(w->size);
			if (w->need > 0)
				break;
			w->state = BETWEEN;
			if (strcmp(w->name, "TRAILER!!!") == 0) {
				*used = i;
				return 0;
			}
			break;
		}
	}
	*used = i;
	return 0;
out:
	*used = i;
	return -1;
}

static int
feedall(struct walk *w, const unsigned char *p, size_t n)
{
	size_t used;

	while (n > 0) {
		if (feed(w, p, n, &used) != 0)
			return -1;
		p += used;
		n -= used;
	}
	return 0;
}

/* inflate one gzip member from p; *used is its length. */
static int
gunzip(struct walk *w, const unsigned char *p, size_t n, size_t *used,
    unsigned char *buf)
{
	z_stream z;
	int rv;

	memset(&z, 0, sizeof z);
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return fail(w, "gzip: %s%s", "cannot initialise zlib", "");
	z.next_in = (unsigned char *)(uintptr_t)p;
	z.avail_in = (uInt)(n > 0x40000000 ? 0x40000000 : n);
	for (;;) {
		z.next_out = buf;
		z.avail_out = GZBUF;
		rv = inflate(&z, Z_NO_FLUSH);
		if (rv != Z_OK && rv != Z_STREAM_END) {
			inflateEnd(&z);
			if (rv == Z_BUF_ERROR)
				return fail(w, "gzip: %s%s",
				    "truncated compressed data", "");
			return fail(w, "gzip: %s%s", z.msg ? z.msg :
			    "bad compressed data", "");
		}
		w->st->archive += GZBUF - z.avail_out;
		if (feedall(w, buf, GZBUF - z.avail_out) != 0) {
			inflateEnd(&z);
			return -1;
		}
		if (rv == Z_STREAM_END)
			break;
		if (z.avail_in == 0 && (size_t)(z.next_in - p) < n)
			z.avail_in = (uInt)(n - (size_t)(z.next_in - p) >
			    0x40000000 ? 0x40000000 :
			    n - (size_t)(z.next_in - p));
	}
	*used = (size_t)(z.next_in - p);
	inflateEnd(&z);
	return 0;
}

/*
 * kside_unpack walks the initrd at p (n bytes) and creates what it holds
 * through ops. On failure err says what and where; the root may then
 * hold part of the archive (the kernel does not boot on).
 */
int
kside_unpack(const unsigned char *p, size_t n, const struct kside_fsops *ops,
    void *arg, struct kside_stats *st, char *err)
{
	struct walk *w;
	unsigned char *buf = NULL;
	size_t i = 0, used;
	int gz = 0, rv = -1;

	memset(st, 0, sizeof *st);
	if ((w = calloc(1, sizeof *w)) == NULL) {
		snprintf(err, KSIDE_ERRLEN, "out of memory");
		return -1;
	}
	w->ops = ops;
	w->arg = arg;
	w->st = st;
	w->err = err;
	w->state = BETWEEN;
	while (i < n) {
		if (w->state == BETWEEN && p[i] == 0) {
			i++;
			gz = 0;
			continue;
		}
		if ((w->state == BETWEEN || gz) && n - i >= 2 &&
		    p[i] == 0x1f && p[i + 1] == 0x8b) {
			if (buf == NULL && (buf = malloc(GZBUF)) == NULL) {
				fail(w, "out of memory%s%s", "", "");
				goto out;
			}
			if (gunzip(w, p + i, n - i, &used, buf) != 0)
				goto out;
			i += used;
			gz = 1;
			continue;
		}
		gz = 0;
		if (feed(w, p + i, n - i, &used) != 0)
			goto out;
		st->archive += used;
		i += used;
	}
	if (w->state != BETWEEN) {
		if (w->state == HEADER || w->state == NAME)
			fail(w, "truncated archive: the input ends inside "
			    "a header%s%s", "", "");
		else
			entryfail(w, "truncated archive: the input ends "
			    "inside this entry", 0);
		goto out;
	}
	if (w->archives == 0) {
		fail(w, "truncated archive: no TRAILER!!! entry%s%s", "", "");
		goto out;
	}
	rv = 0;
out:
	if (w->open)
		ops->close(arg);
	freegroups(w);
	free(buf);
	free(w);
	return rv;
}
