/*
 * Module content for the probe report: a newc cpio archive (plain or
 * gzip), or JSON text. Every length read from the archive is checked
 * against the end of the module before it is used.
 */
#include "probe.h"

#define NEWC_HDR 110

static int is_blank(u8 c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_newc(const u8 *p, ulong n)
{
	return n >= 6 && (memcmp(p, "070701", 6) == 0 || memcmp(p, "070702", 6) == 0);
}

/* Parses 8 hex digits; -1 if one is not a hex digit. */
static int hex8(const u8 *p, u32 *v)
{
	int i;
	*v = 0;
	for (i = 0; i < 8; i++) {
		u8 c = p[i];
		u32 d;
		if (c >= '0' && c <= '9')
			d = (u32)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (u32)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (u32)(c - 'A' + 10);
		else
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

static void cpio_error(int i, const char *msg, ulong off)
{
	out_module_prefix(i);
	out_str("cpio-error ");
	out_str(msg);
	if (off != (ulong)-1) {
		out_str(" at offset ");
		out_dec((u32)off);
	}
	out_nl();
}

/*
 * One entry of a newc archive, as the iterator below finds it. The names
 * point into the module.
 */
struct entry {
	u32 mode, filesize, nlink;
	const u8 *name;		/* without its NUL */
	ulong namelen;
	const u8 *data;
};

struct cpio_iter {
	const u8 *p;
	ulong n, pos;
	int in_archive;
	int number;		/* entries returned, from 1, across archives */
	const char *err;	/* set when it stops on damage */
	ulong errpos;
};

/*
 * Advances to the next entry: 1 with *e set, 0 at the end (it->err set
 * when damage ended it). After a TRAILER!!!, zero padding is skipped and
 * a further archive may follow at a 4-byte boundary, as Linux reads
 * concatenated initramfs archives. Every length is checked against the
 * end of the module before it is used.
 */
static int cpio_next(struct cpio_iter *it, struct entry *e)
{
	const u8 *p = it->p;
	ulong n = it->n;

	while (it->pos < n) {
		ulong pos = it->pos, namepos, datapos, end;
		u32 fields[13];
		int k;

		if (!it->in_archive) {
			/* Between archives: zero padding, then a header at a 4-byte boundary. */
			if (p[pos] == 0) {
				it->pos++;
				continue;
			}
			if ((pos & 3) || !is_newc(p + pos, n - pos)) {
				it->err = "data after trailer";
				it->errpos = pos;
				return 0;
			}
		}
		it->err = 0;
		it->errpos = pos;
		if (n - pos < NEWC_HDR)
			it->err = "truncated header";
		else if (!is_newc(p + pos, n - pos))
			it->err = "bad header magic";
		if (it->err)
			return 0;
		for (k = 0; k < 13; k++)
			if (hex8(p + pos + 6 + 8 * k, &fields[k]) < 0)
				break;
		if (k < 13) {
			it->err = "bad header field";
			return 0;
		}
		it->in_archive = 1;
		namepos = pos + NEWC_HDR;
		if (fields[11] == 0 || fields[11] > n - namepos)
			it->err = "bad name size";
		else if (p[namepos + fields[11] - 1] != 0)
			it->err = "name not NUL-terminated";
		if (it->err)
			return 0;
		datapos = (namepos + fields[11] + 3) & ~3ul;
		if (datapos > n || fields[6] > n - datapos) {
			it->err = "truncated entry";
			return 0;
		}
		end = (datapos + fields[6] + 3) & ~3ul;
		it->pos = end < n ? end : n;
		if (fields[11] == 11 && memcmp(p + namepos, "TRAILER!!!", 11) == 0) {
			it->in_archive = 0;
			continue;
		}
		e->mode = fields[1];
		e->nlink = fields[4];
		e->filesize = fields[6];
		e->name = p + namepos;
		e->namelen = fields[11] - 1;
		e->data = p + datapos;
		it->number++;
		return 1;
	}
	if (it->in_archive) {
		it->err = "missing TRAILER!!!";
		it->errpos = (ulong)-1;
	}
	return 0;
}

/*
 * The name rule every reader of an initrd shares (pkg/initrd's NameRule):
 * one leading "./" is dropped; what remains is "." (the root itself), or
 * components separated by "/" none of which is empty, "." or "..". Sets
 * *rest, *restlen to the path below the root and returns 0, or returns
 * the reason the name is refused.
 */
static const char *entry_path(const u8 *name, ulong n, const u8 **rest,
    ulong *restlen)
{
	ulong i, start;

	if (n >= 2 && name[0] == '.' && name[1] == '/') {
		name += 2;
		n -= 2;
	}
	*rest = name;
	*restlen = n;
	if (n == 1 && name[0] == '.')
		return 0;
	if (n == 0)
		return "empty name";
	if (name[0] == '/')
		return "absolute name";
	for (start = 0, i = 0; i <= n; i++) {
		ulong len;
		if (i < n && name[i] != '/')
			continue;
		len = i - start;
		if (len == 0)
			return "empty path component";
		if (len == 1 && name[start] == '.')
			return "\".\" path component";
		if (len == 2 && name[start] == '.' && name[start + 1] == '.')
			return "\"..\" path component";
		start = i + 1;
	}
	return 0;
}

static int is_jsoncfg(const u8 *rest, ulong n)
{
	return n == 8 && memcmp(rest, "json.cfg", 8) == 0;
}

/*
 * Returns the number of an entry before entry number upto whose path is
 * a directory above rest (a symbolic link the entry would be placed
 * through), or 0. It reads the archive again from the start: the probe
 * keeps no table, whatever the archive holds.
 */
static int below_link(const u8 *p, ulong n, int upto, const u8 *rest,
    ulong restlen)
{
	struct cpio_iter it = { p, n, 0, 0, 0, 0, 0 };
	struct entry e;

	while (cpio_next(&it, &e) && it.number < upto) {
		const u8 *lrest;
		ulong llen;
		if ((e.mode & 0170000) != 0120000 ||
		    entry_path(e.name, e.namelen, &lrest, &llen))
			continue;
		if (llen < restlen && rest[llen] == '/' &&
		    memcmp(lrest, rest, llen) == 0)
			return it.number;
	}
	return 0;
}

static void entry_error(int i, int number, const struct entry *e,
    const char *msg)
{
	out_module_prefix(i);
	out_str("cpio-error entry ");
	out_dec((u32)number);
	out_str(" ");
	out_escaped(e->name, e->namelen);
	out_str(": ");
	out_str(msg);
	out_nl();
}

/*
 * Lists the entries of the newc archives in p[0:n] and takes /json.cfg
 * as every reader does (pkg/initrd's NameRule): the last entry at that
 * path, which must be a regular file with one link. An archive with a
 * name outside the rule, or an entry placed below one of its symbolic
 * links, is refused: no json.cfg from it.
 */
static void report_cpio(int i, const u8 *p, ulong n)
{
	struct cpio_iter it = { p, n, 0, 0, 0, 0, 0 };
	struct entry e, cfg = { 0, 0, 0, 0, 0, 0 };
	int have_cfg = 0, refused = 0, links = 0;

	while (cpio_next(&it, &e)) {
		const u8 *rest;
		ulong restlen;
		const char *bad;
		int link;

		out_module_prefix(i);
		out_str("cpio ");
		out_oct(e.mode, 6);
		out_str(" ");
		out_dec(e.filesize);
		out_str(" ");
		out_escaped(e.name, e.namelen);
		out_nl();
		bad = entry_path(e.name, e.namelen, &rest, &restlen);
		if (bad) {
			entry_error(i, it.number, &e, bad);
			refused = 1;
			break;
		}
		if (links && (link = below_link(p, n, it.number, rest, restlen))) {
			entry_error(i, it.number, &e, "below a symbolic link of the archive");
			refused = 1;
			break;
		}
		if ((e.mode & 0170000) == 0120000)
			links = 1;
		if (is_jsoncfg(rest, restlen)) {
			cfg = e;	/* a later one replaces it */
			have_cfg = it.number;
		}
	}
	if (it.err)
		cpio_error(i, it.err, it.errpos);
	if (refused || !have_cfg)
		return;
	if ((cfg.mode & 0170000) != 0100000) {
		entry_error(i, have_cfg, &cfg, "json.cfg is not a regular file");
		return;
	}
	if (cfg.nlink > 1) {
		entry_error(i, have_cfg, &cfg, "json.cfg is a hard link");
		return;
	}
	out_module_prefix(i);
	out_str("jsoncfg ");
	out_escaped(cfg.data, cfg.filesize);
	out_nl();
	config_add((const char *)cfg.data, cfg.filesize);
}

static void report_plain(int i, const u8 *p, ulong n)
{
	ulong k;
	if (is_newc(p, n)) {
		report_cpio(i, p, n);
		return;
	}
	for (k = 0; k < n && is_blank(p[k]); k++)
		;
	if (k < n && p[k] == '{') {
		out_module_prefix(i);
		out_str("json ");
		out_escaped(p, n);
		out_nl();
		config_add((const char *)p, n);
	}
}

void report_module_content(int i, const u8 *p, ulong n, u8 *scratch,
    ulong scratchcap, ulong *scratchused)
{
	*scratchused = 0;
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
		const char *err;
		ulong len;
		out_module_prefix(i);
		out_str("gzip\n");
		if (gunzip(p, n, scratch, scratchcap, &len, &err) < 0) {
			out_module_prefix(i);
			out_str("cpio-error gzip: ");
			out_str(err);
			if (err == inflate_nospace) {
				out_str(" (");
				out_dec((u32)(scratchcap >> 10));
				out_str(" KiB free above the modules)");
			}
			out_nl();
			return;
		}
		*scratchused = len;
		report_plain(i, scratch, len);
		return;
	}
	report_plain(i, p, n);
}
