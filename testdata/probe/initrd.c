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

static int is_jsoncfg(const u8 *name, ulong n)
{
	return (n == 8 && memcmp(name, "json.cfg", 8) == 0) ||
	    (n == 10 && memcmp(name, "./json.cfg", 10) == 0) ||
	    (n == 9 && memcmp(name, "/json.cfg", 9) == 0);
}

/*
 * Lists the entries of the newc archives in p[0:n]. After a TRAILER!!!,
 * zero padding is skipped and a further archive may follow at a 4-byte
 * boundary, as Linux reads concatenated initramfs archives.
 */
static void report_cpio(int i, const u8 *p, ulong n)
{
	const u8 *cfg = 0;
	ulong cfglen = 0, pos = 0, entries = 0;
	int in_archive = 0;

	while (pos < n) {
		u32 mode, filesize, namesize, fields[13];
		ulong namepos, datapos, end;
		int k;

		if (!in_archive) {
			/* Between archives: zero padding, then a header at a 4-byte boundary. */
			if (p[pos] == 0) {
				pos++;
				continue;
			}
			if ((pos & 3) || !is_newc(p + pos, n - pos)) {
				cpio_error(i, "data after trailer", pos);
				break;
			}
		}
		if (n - pos < NEWC_HDR) {
			cpio_error(i, "truncated header", pos);
			break;
		}
		if (!is_newc(p + pos, n - pos)) {
			cpio_error(i, "bad header magic", pos);
			break;
		}
		for (k = 0; k < 13; k++)
			if (hex8(p + pos + 6 + 8 * k, &fields[k]) < 0)
				break;
		if (k < 13) {
			cpio_error(i, "bad header field", pos);
			break;
		}
		in_archive = 1;
		mode = fields[1];
		filesize = fields[6];
		namesize = fields[11];
		namepos = pos + NEWC_HDR;
		if (namesize == 0 || namesize > n - namepos) {
			cpio_error(i, "bad name size", pos);
			break;
		}
		if (p[namepos + namesize - 1] != 0) {
			cpio_error(i, "name not NUL-terminated", pos);
			break;
		}
		datapos = (namepos + namesize + 3) & ~3ul;
		if (datapos > n || filesize > n - datapos) {
			cpio_error(i, "truncated entry", pos);
			break;
		}
		end = (datapos + filesize + 3) & ~3ul;
		if (namesize == 11 && memcmp(p + namepos, "TRAILER!!!", 11) == 0) {
			in_archive = 0;
			pos = end < n ? end : n;
			continue;
		}
		out_module_prefix(i);
		out_str("cpio ");
		out_oct(mode, 6);
		out_str(" ");
		out_dec(filesize);
		out_str(" ");
		out_escaped(p + namepos, namesize - 1);
		out_nl();
		entries++;
		if ((mode & 0170000) == 0100000 && is_jsoncfg(p + namepos, namesize - 1)) {
			cfg = p + datapos;	/* a later one replaces it */
			cfglen = filesize;
		}
		pos = end < n ? end : n;
	}
	if (pos >= n && in_archive)
		cpio_error(i, "missing TRAILER!!!", (ulong)-1);
	if (cfg) {
		out_module_prefix(i);
		out_str("jsoncfg ");
		out_escaped(cfg, cfglen);
		out_nl();
		config_add((const char *)cfg, cfglen);
	}
	(void)entries;
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
