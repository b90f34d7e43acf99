/*
 * The canonical json.cfg (json.cfg(5), DESIGN.md 3.1) as the kernel reads
 * it: checked key by key, strings decoded, argv ready to run. Also the
 * kernel command line's own words and the names of default mounts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kside.h"

struct cp {
	const char	*src;
	char		*err;
};

static int
cerr(struct cp *c, const struct kside_json *v, const char *ptr,
    const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->err, KSIDE_ERRLEN, "%s:%u:%u: %s: %s", c->src, v->line,
	    v->col, ptr, msg);
	return -1;
}

static const char *
tname(const struct kside_json *v)
{
	static const char *names[] = { "null", "a boolean", "a number",
	    "a string", "an array", "an object" };

	return names[v->type];
}

static int
want(struct cp *c, const struct kside_json *v, const char *ptr,
    enum kside_jtype t)
{
	static const char *names[] = { "null", "a boolean", "a number",
	    "a string", "an array", "an object" };

	if (v->type != t)
		return cerr(c, v, ptr, "want %s, not %s", names[t], tname(v));
	return 0;
}

/* str checks a non-empty string without NUL bytes. */
static int
str(struct cp *c, const struct kside_json *v, const char *ptr,
    const char **out)
{

	if (want(c, v, ptr, KJ_STRING) != 0)
		return -1;
	if (v->len == 0)
		return cerr(c, v, ptr, "empty string");
	*out = v->str;
	return 0;
}

static int
oneof(struct cp *c, const struct kside_json *v, const char *ptr,
    const char **out, const char *a, const char *b, const char *d)
{

	if (str(c, v, ptr, out) != 0)
		return -1;
	if (strcmp(*out, a) == 0 || strcmp(*out, b) == 0 ||
	    (d != NULL && strcmp(*out, d) == 0))
		return 0;
	if (d != NULL)
		return cerr(c, v, ptr, "\"%.40s\": want %s, %s or %s", *out,
		    a, b, d);
	return cerr(c, v, ptr, "\"%.40s\": want %s or %s", *out, a, b);
}

/*
 * kside_splitargs splits a cmdline string into argv: blanks (space, tab,
 * newline) separate arguments, single and double quotes group (the other
 * quote is literal inside), a backslash takes the next byte literally.
 */
int
kside_splitargs(const char *s, char ***argvp, int *argcp)
{
	char **argv, *buf, *o;
	const char *p;
	int argc, inarg, pass;
	char q;

	argv = NULL;
	buf = NULL;
	for (pass = 0; pass < 2; pass++) {
		argc = 0;
		inarg = 0;
		q = 0;
		o = buf;
		for (p = s; *p != '\0'; p++) {
			if (q == 0 && (*p == ' ' || *p == '\t' || *p == '\n')) {
				if (inarg && o != NULL)
					*o++ = '\0';
				inarg = 0;
				continue;
			}
			if (*p == '\\' && p[1] == '\0')
				break;	/* a lone backslash at the end */
			if (!inarg) {
				if (argv != NULL)
					argv[argc] = o;
				argc++;
				inarg = 1;
			}
			if (*p == '\\') {
				p++;
			} else if (q == 0 && (*p == '\'' || *p == '"')) {
				q = *p;
				continue;
			} else if (q != 0 && *p == q) {
				q = 0;
				continue;
			}
			if (o != NULL)
				*o++ = *p;
		}
		if (inarg && o != NULL)
			*o++ = '\0';
		if (pass == 0) {
			argv = calloc((size_t)argc + 1, sizeof *argv);
			buf = malloc(strlen(s) + 1);
			if (argv == NULL || buf == NULL) {
				free(argv);
				free(buf);
				return -1;
			}
		}
	}
	if (argc == 0)
		free(buf);
	argv[argc] = NULL;
	*argvp = argv;
	*argcp = argc;
	return 0;
}

static int
parse_rc(struct cp *c, struct kside_config *cfg, const struct kside_json *rc)
{
	const struct kside_json *e, *v;
	struct kside_exec *x;
	char ptr[64];
	size_t i, j;
	const char *bin, *mode;
	int hasargv;

	if (want(c, rc, "/rc", KJ_ARRAY) != 0)
		return -1;
	if (rc->len == 0)
		return cerr(c, rc, "/rc", "no entries");
	if (rc->len > 8)
		return cerr(c, rc, "/rc", "%zu entries: a rumprun kernel holds "
		    "at most 8 programs", rc->len);
	if ((cfg->execs = calloc(rc->len, sizeof *cfg->execs)) == NULL)
		return cerr(c, rc, "/rc", "out of memory");
	for (i = 0; i < rc->len; i++) {
		e = rc->items[i];
		x = &cfg->execs[cfg->nexecs++];
		snprintf(ptr, sizeof ptr, "/rc/%zu", i);
		if (want(c, e, ptr, KJ_OBJECT) != 0)
			return -1;
		bin = NULL;
		hasargv = 0;
		for (j = 0; j < e->len; j++) {
			v = e->items[j];
			snprintf(ptr, sizeof ptr, "/rc/%zu/%.20s", i,
			    e->keys[j]);
			if (strcmp(e->keys[j], "bin") == 0) {
				if (str(c, v, ptr, &bin) != 0)
					return -1;
			} else if (strcmp(e->keys[j], "argv") == 0) {
				if (want(c, v, ptr, KJ_ARRAY) != 0)
					return -1;
				hasargv = 1;
			} else if (strcmp(e->keys[j], "runmode") == 0) {
				if (oneof(c, v, ptr, &mode, "&", "|", NULL)
				    != 0)
					return -1;
				x->flags = *mode == '&' ? KSIDE_RUN_BG :
				    KSIDE_RUN_PIPE;
			} else {
				return cerr(c, v, ptr, "unknown key (want "
				    "bin, argv or runmode)");
			}
		}
		snprintf(ptr, sizeof ptr, "/rc/%zu", i);
		if (bin == NULL)
			return cerr(c, e, ptr, "no \"bin\"");
		if (!hasargv)
			return cerr(c, e, ptr, "no \"argv\" (write [] for "
			    "none)");
		for (j = 0; j < e->len; j++)
			if (strcmp(e->keys[j], "argv") == 0)
				v = e->items[j];
		x->argv = calloc(v->len + 2, sizeof *x->argv);
		if (x->argv == NULL)
			return cerr(c, e, ptr, "out of memory");
		x->argv[0] = (char *)(uintptr_t)bin;
		x->argc = 1;
		for (j = 0; j < v->len; j++) {
			snprintf(ptr, sizeof ptr, "/rc/%zu/argv/%zu", i, j);
			if (want(c, v->items[j], ptr, KJ_STRING) != 0)
				return -1;
			x->argv[x->argc++] = v->items[j]->str;
		}
		x->argv[x->argc] = NULL;
	}
	if (cfg->execs[cfg->nexecs - 1].flags & KSIDE_RUN_PIPE)
		return cerr(c, rc, "/rc", "the last program cannot pipe "
		    "(runmode \"|\") to a next one");
	return 0;
}

static int
parse_env(struct cp *c, struct kside_config *cfg, const struct kside_json *v)
{
	char ptr[64];
	size_t i;

	if (want(c, v, "/env", KJ_OBJECT) != 0)
		return -1;
	cfg->envname = calloc(v->len + 1, sizeof *cfg->envname);
	cfg->envvalue = calloc(v->len + 1, sizeof *cfg->envvalue);
	if (cfg->envname == NULL || cfg->envvalue == NULL)
		return cerr(c, v, "/env", "out of memory");
	for (i = 0; i < v->len; i++) {
		snprintf(ptr, sizeof ptr, "/env/%.40s", v->keys[i]);
		if (v->keys[i][0] == '\0' || strchr(v->keys[i], '=') != NULL)
			return cerr(c, v->items[i], ptr, "a variable name "
			    "must be non-empty and without '='");
		if (want(c, v->items[i], ptr, KJ_STRING) != 0)
			return -1;
		if (strlen(v->items[i]->str) != v->items[i]->len)
			return cerr(c, v->items[i], ptr, "NUL in a value");
		cfg->envname[cfg->nenv] = v->keys[i];
		cfg->envvalue[cfg->nenv++] = v->items[i]->str;
	}
	return 0;
}

/* list returns the entries of a key that takes one object or an array. */
static int
list(struct cp *c, const struct kside_json *v, const char *key,
    const struct kside_json ***items, size_t *n)
{
	static const struct kside_json *one[1];

	if (v->type == KJ_OBJECT) {
		one[0] = v;
		*items = one;
		*n = 1;
		return 0;
	}
	if (v->type != KJ_ARRAY)
		return cerr(c, v, key, "want an array of objects, or one "
		    "object, not %s", tname(v));
	*items = (const struct kside_json **)v->items;
	*n = v->len;
	return 0;
}

static int
parse_net(struct cp *c, struct kside_config *cfg, const struct kside_json *nv)
{
	const struct kside_json **items = NULL, *e, *v;
	struct kside_net *n;
	char ptr[64];
	size_t i, j, cnt = 0;

	if (list(c, nv, "/net", &items, &cnt) != 0)
		return -1;
	cfg->hasnet = 1;
	if ((cfg->net = calloc(cnt + 1, sizeof *cfg->net)) == NULL)
		return cerr(c, nv, "/net", "out of memory");
	for (i = 0; i < cnt; i++) {
		e = items[i];
		n = &cfg->net[cfg->nnet++];
		n->mask = -1;
		snprintf(ptr, sizeof ptr, "/net/%zu", i);
		if (want(c, e, ptr, KJ_OBJECT) != 0)
			return -1;
		for (j = 0; j < e->len; j++) {
			const char *k = e->keys[j];

			v = e->items[j];
			snprintf(ptr, sizeof ptr, "/net/%zu/%.20s", i, k);
			if (strcmp(k, "if") == 0) {
				if (str(c, v, ptr, &n->ifname) != 0)
					return -1;
			} else if (strcmp(k, "cloner") == 0) {
				if (want(c, v, ptr, KJ_BOOL) != 0)
					return -1;
				n->cloner = v->boolean;
			} else if (strcmp(k, "type") == 0) {
				if (oneof(c, v, ptr, &n->type, "inet", "inet6",
				    NULL) != 0)
					return -1;
			} else if (strcmp(k, "method") == 0) {
				if (oneof(c, v, ptr, &n->method, "dhcp",
				    "static", "auto") != 0)
					return -1;
			} else if (strcmp(k, "addr") == 0) {
				if (str(c, v, ptr, &n->addr) != 0)
					return -1;
			} else if (strcmp(k, "mask") == 0) {
				if (v->type != KJ_NUMBER || v->number < 0 ||
				    v->number > 128 ||
				    v->number != (int)v->number)
					return cerr(c, v, ptr, "want a prefix "
					    "length, an integer from 0 to 128");
				n->mask = (int)v->number;
			} else if (strcmp(k, "gw") == 0) {
				if (str(c, v, ptr, &n->gw) != 0)
					return -1;
			} else {
				return cerr(c, v, ptr, "unknown key (want if, "
				    "cloner, type, method, addr, mask or gw)");
			}
		}
		snprintf(ptr, sizeof ptr, "/net/%zu", i);
		if (n->ifname == NULL || n->type == NULL || n->method == NULL)
			return cerr(c, e, ptr, "\"if\", \"type\" and "
			    "\"method\" are required");
		if (strcmp(n->method, "static") == 0 && n->addr == NULL)
			return cerr(c, e, ptr, "method static needs \"addr\"");
		if (strcmp(n->method, "static") != 0 &&
		    (n->addr != NULL || n->gw != NULL || n->mask >= 0))
			return cerr(c, e, ptr, "\"addr\", \"mask\" and \"gw\" "
			    "go with method static only");
		if (strcmp(n->method, "dhcp") == 0 &&
		    strcmp(n->type, "inet") != 0)
			return cerr(c, e, ptr, "method dhcp is for type inet");
		if (strcmp(n->method, "auto") == 0 &&
		    strcmp(n->type, "inet6") != 0)
			return cerr(c, e, ptr, "method auto is for type inet6");
	}
	return 0;
}

static int
parse_blk(struct cp *c, struct kside_config *cfg, const struct kside_json *bv)
{
	const struct kside_json **items = NULL, *e, *v;
	struct kside_blk *b;
	char ptr[64];
	size_t i, j, cnt = 0;

	if (list(c, bv, "/blk", &items, &cnt) != 0)
		return -1;
	cfg->hasblk = 1;
	if ((cfg->blk = calloc(cnt + 1, sizeof *cfg->blk)) == NULL)
		return cerr(c, bv, "/blk", "out of memory");
	for (i = 0; i < cnt; i++) {
		e = items[i];
		b = &cfg->blk[cfg->nblk++];
		snprintf(ptr, sizeof ptr, "/blk/%zu", i);
		if (want(c, e, ptr, KJ_OBJECT) != 0)
			return -1;
		for (j = 0; j < e->len; j++) {
			const char *k = e->keys[j];

			v = e->items[j];
			snprintf(ptr, sizeof ptr, "/blk/%zu/%.20s", i, k);
			if (strcmp(k, "source") == 0) {
				if (oneof(c, v, ptr, &b->source, "dev", "vnd",
				    "etfs") != 0)
					return -1;
			} else if (strcmp(k, "path") == 0) {
				if (str(c, v, ptr, &b->path) != 0)
					return -1;
			} else if (strcmp(k, "fstype") == 0) {
				if (oneof(c, v, ptr, &b->fstype, "blk",
				    "kernfs", NULL) != 0)
					return -1;
			} else if (strcmp(k, "mountpoint") == 0) {
				if (str(c, v, ptr, &b->mountpoint) != 0)
					return -1;
				if (b->mountpoint[0] != '/')
					return cerr(c, v, ptr, "not an absolute "
					    "path");
			} else {
				return cerr(c, v, ptr, "unknown key (want "
				    "source, path, fstype or mountpoint)");
			}
		}
		snprintf(ptr, sizeof ptr, "/blk/%zu", i);
		if (b->source == NULL || b->path == NULL)
			return cerr(c, e, ptr, "\"source\" and \"path\" are "
			    "required");
		if (b->mountpoint != NULL && b->fstype == NULL)
			return cerr(c, e, ptr, "a mountpoint needs \"fstype\"");
	}
	return 0;
}

/*
 * kside_config_parse reads a canonical config from s (n bytes); src names
 * it in errors, which come as "SRC:LINE:COL: POINTER: what".
 */
int
kside_config_parse(const char *s, size_t n, const char *src,
    struct kside_config *cfg, char *err)
{
	struct cp c = { src, err };
	const struct kside_json *root, *v;
	char jerr[KSIDE_ERRLEN], ptr[64];
	struct kside_exec *x;
	size_t i;

	memset(cfg, 0, sizeof *cfg);
	if ((cfg->root = kside_json_parse(s, n, jerr)) == NULL) {
		snprintf(err, KSIDE_ERRLEN, "%s: %.200s", src, jerr);
		return -1;
	}
	root = cfg->root;
	if (want(&c, root, "/", KJ_OBJECT) != 0)
		return -1;
	for (i = 0; i < root->len; i++) {
		const char *k = root->keys[i];

		v = root->items[i];
		snprintf(ptr, sizeof ptr, "/%.40s", k);
		if (strcmp(k, "$schema") == 0) {
			if (want(&c, v, ptr, KJ_STRING) != 0)
				return -1;
		} else if (strcmp(k, "hostname") == 0) {
			if (str(&c, v, ptr, &cfg->hostname) != 0)
				return -1;
			if (v->len > 255 || strlen(v->str) != v->len)
				return cerr(&c, v, ptr, "not a host name");
		} else if (strcmp(k, "cmdline") == 0) {
			const char *cl;

			if (str(&c, v, ptr, &cl) != 0)
				return -1;
		} else if (strcmp(k, "rc") == 0) {
			if (parse_rc(&c, cfg, v) != 0)
				return -1;
		} else if (strcmp(k, "env") == 0) {
			if (parse_env(&c, cfg, v) != 0)
				return -1;
		} else if (strcmp(k, "net") == 0) {
			if (parse_net(&c, cfg, v) != 0)
				return -1;
		} else if (strcmp(k, "blk") == 0) {
			if (parse_blk(&c, cfg, v) != 0)
				return -1;
		} else {
			return cerr(&c, v, ptr, "unknown key (want hostname, "
			    "cmdline, rc, env, net or blk)");
		}
	}
	for (i = 0; i < root->len; i++) {
		if (strcmp(root->keys[i], "cmdline") != 0)
			continue;
		v = root->items[i];
		if (cfg->nexecs > 0)
			return cerr(&c, v, "/cmdline", "not together with "
			    "\"rc\"");
		if ((cfg->execs = calloc(1, sizeof *cfg->execs)) == NULL)
			return cerr(&c, v, "/cmdline", "out of memory");
		x = &cfg->execs[0];
		cfg->nexecs = 1;
		cfg->cmdline = 1;
		if (kside_splitargs(v->str, &x->argv, &x->argc) != 0)
			return cerr(&c, v, "/cmdline", "out of memory");
		if (x->argc == 0)
			return cerr(&c, v, "/cmdline", "no words");
	}
	return 0;
}

void
kside_config_free(struct kside_config *cfg)
{
	int i;

	for (i = 0; i < cfg->nexecs; i++) {
		if (cfg->cmdline && cfg->execs[i].argc > 0)
			free(cfg->execs[i].argv[0]);
		free(cfg->execs[i].argv);
	}
	free(cfg->execs);
	free(cfg->envname);
	free(cfg->envvalue);
	free(cfg->net);
	free(cfg->blk);
	kside_json_free(cfg->root);
	memset(cfg, 0, sizeof *cfg);
}

/* wirestr appends "key":"value" for rumprun's own parser. */
static int
wirestr(char **o, char *end, const char *key, const char *val, char *err)
{
	const unsigned char *p;
	int n;

	for (p = (const unsigned char *)val; *p != '\0'; p++) {
		if (*p < 0x20 || *p == '"' || *p == '\\') {
			snprintf(err, KSIDE_ERRLEN, "%s \"%.60s\": rumprun's "
			    "net and blk configuration cannot take a quote, a "
			    "backslash or a control character", key, val);
			return -1;
		}
	}
	n = snprintf(*o, (size_t)(end - *o), "%s\"%s\":\"%s\"",
	    (*o)[-1] == '{' ? "" : ",", key, val);
	if (n < 0 || n >= end - *o) {
		snprintf(err, KSIDE_ERRLEN, "net and blk configuration too "
		    "long");
		return -1;
	}
	*o += n;
	return 0;
}

/*
 * kside_wire writes the config's net and blk entries in the wire form of
 * rumprun's own config parser (every value a string, keys repeated),
 * which then configures them exactly as for today's configs. It returns
 * NULL with err[0] == '\0' when there are none.
 */
char *
kside_wire(const struct kside_config *cfg, char *err)
{
	char *buf, *o, *end, *slash, addr[64], mask[16];
	const struct kside_net *n;
	const struct kside_blk *b;
	size_t size;
	int i;

	err[0] = '\0';
	if (cfg->nnet == 0 && cfg->nblk == 0)
		return NULL;
	size = 64 + (size_t)(cfg->nnet + cfg->nblk) * 1200;
	if ((buf = malloc(size)) == NULL) {
		snprintf(err, KSIDE_ERRLEN, "out of memory");
		return NULL;
	}
	o = buf;
	end = buf + size - 2;
	*o++ = '{';
	for (i = 0; i < cfg->nnet; i++) {
		n = &cfg->net[i];
		o += snprintf(o, (size_t)(end - o), "%s\"net\":{", i ? "," : "");
		if (wirestr(&o, end, "if", n->ifname, err) != 0)
			goto bad;
		if (n->cloner && wirestr(&o, end, "cloner", "true", err) != 0)
			goto bad;
		if (wirestr(&o, end, "type", n->type, err) != 0 ||
		    wirestr(&o, end, "method", n->method, err) != 0)
			goto bad;
		if (n->addr != NULL) {
			snprintf(addr, sizeof addr, "%s", n->addr);
			mask[0] = '\0';
			if ((slash = strchr(addr, '/')) != NULL) {
				*slash = '\0';
				snprintf(mask, sizeof mask, "%.3s", slash + 1);
			}
			if (n->mask >= 0)
				snprintf(mask, sizeof mask, "%d", n->mask);
			if (mask[0] == '\0') {
				snprintf(err, KSIDE_ERRLEN, "net %s: address "
				    "\"%.60s\" has no prefix length (write "
				    "a.b.c.d/len or give \"mask\")", n->ifname,
				    n->addr);
				goto bad;
			}
			if (wirestr(&o, end, "addr", addr, err) != 0 ||
			    wirestr(&o, end, "mask", mask, err) != 0)
				goto bad;
		}
		if (n->gw != NULL && wirestr(&o, end, "gw", n->gw, err) != 0)
			goto bad;
		*o++ = '}';
	}
	for (i = 0; i < cfg->nblk; i++) {
		b = &cfg->blk[i];
		o += snprintf(o, (size_t)(end - o), "%s\"blk\":{",
		    i || cfg->nnet ? "," : "");
		if (wirestr(&o, end, "source", b->source, err) != 0 ||
		    wirestr(&o, end, "path", b->path, err) != 0)
			goto bad;
		if (b->fstype != NULL &&
		    wirestr(&o, end, "fstype", b->fstype, err) != 0)
			goto bad;
		if (b->mountpoint != NULL &&
		    wirestr(&o, end, "mountpoint", b->mountpoint, err) != 0)
			goto bad;
		*o++ = '}';
	}
	*o++ = '}';
	*o = '\0';
	return buf;
bad:
	free(buf);
	return NULL;
}

/*
 * kside_words reads the kernel command line up to the config's '{':
 * blank-separated words, of which two are the kernel side's own:
 *
 *	rumpboot=initrd/1	the config that follows is canonical
 *	rumpboot.exit=PORT	at halt, write the exit status to I/O port
 *				PORT (QEMU's isa-debug-exit), e.g. 0xf4
 *
 * Other words (the loader's kernel path) are ignored, as are rumpboot
 * words this version does not know. A malformed PORT is an error.
 */
int
kside_words(const char *cmdline, struct kside_words *w, char *err)
{
	const char *p = cmdline, *e;
	unsigned long port;
	char word[64], *end;
	size_t n;

	memset(w, 0, sizeof *w);
	w->json = strchr(cmdline, '{');
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0' || *p == '{')
			break;
		for (e = p; *e != '\0' && *e != ' ' && *e != '\t' &&
		    *e != '\n' && *e != '{'; e++)
			;
		n = (size_t)(e - p);
		if (n < sizeof word) {
			memcpy(word, p, n);
			word[n] = '\0';
			if (strcmp(word, "rumpboot=initrd/1") == 0) {
				w->canonical = 1;
			} else if (strncmp(word, "rumpboot.exit=", 14) == 0) {
				port = strtoul(word + 14, &end, 0);
				if (word[14] == '\0' || *end != '\0' ||
				    port == 0 || port > 0xffff) {
					snprintf(err, KSIDE_ERRLEN, "command "
					    "line: %s: want an I/O port such "
					    "as rumpboot.exit=0xf4", word);
					return -1;
				}
				w->exitport = (unsigned)port;
			}
		}
		p = e;
	}
	return 0;
}

/*
 * kside_disk_device decides whether a disk the kernel attached (a name
 * of hw.disknames) is mounted by default, and where: partition a of ld,
 * sd, wd and xbd disks (/dev/ld0a at /mnt/ld0a), the whole cd (cd0a).
 * Other disks (vnd, md, cgd, raid, dk wedges) are configured devices,
 * not attached hardware. Returns 1 and fills dev and mnt, or 0.
 */
int
kside_disk_device(const char *name, char *dev, size_t devlen, char *mnt,
    size_t mntlen)
{
	static const char *drivers[] = { "ld", "sd", "wd", "xbd", "cd" };
	size_t i, n;
	const char *u;

	for (i = 0; i < sizeof drivers / sizeof drivers[0]; i++) {
		n = strlen(drivers[i]);
		if (strncmp(name, drivers[i], n) != 0)
			continue;
		u = name + n;
		if (*u < '0' || *u > '9')
			continue;
		while (*u >= '0' && *u <= '9')
			u++;
		if (*u != '\0' || strlen(name) > 16)
			return 0;
		snprintf(dev, devlen, "/dev/%sa", name);
		snprintf(mnt, mntlen, "/mnt/%sa", name);
		return 1;
	}
	return 0;
}

/*
 * kside_xen_module reads where a PV kernel's ramdisk is from start_info
 * (si, KSIDE_SI_SIZE bytes): mod_start is its virtual address, or with
 * SIF_MOD_START_PFN its first page frame, virtual at virtbase plus the
 * frame's address (Mini-OS's to_virt). Returns 1 and fills addr and len,
 * 0 for no ramdisk, -1 with err.
 */
int
kside_xen_module(const void *si, uintptr_t virtbase, uintptr_t *addr,
    size_t *len, char *err)
{
	const unsigned char *p = si;
	uint64_t start, n;
	uint32_t flags;

	if (memcmp(p, "xen-", 4) != 0) {
		snprintf(err, KSIDE_ERRLEN, "start_info: no \"xen-\" magic");
		return -1;
	}
	memcpy(&flags, p + KSIDE_SI_FLAGS, sizeof flags);
	memcpy(&start, p + KSIDE_SI_MODSTART, sizeof start);
	memcpy(&n, p + KSIDE_SI_MODLEN, sizeof n);
	if (start == 0 || n == 0)
		return 0;
	if (flags & KSIDE_SIF_MOD_START_PFN) {
		if (start > (UINT64_MAX - virtbase) >> 12) {
			snprintf(err, KSIDE_ERRLEN, "start_info: ramdisk page "
			    "frame %#llx out of range", (unsigned long long)start);
			return -1;
		}
		start = (start << 12) + virtbase;
	}
	if (start + n < start || n > SIZE_MAX) {
		snprintf(err, KSIDE_ERRLEN, "start_info: ramdisk at %#llx, "
		    "%llu bytes: out of range", (unsigned long long)start,
		    (unsigned long long)n);
		return -1;
	}
	*addr = (uintptr_t)start;
	*len = (size_t)n;
	return 1;
}

/*
 * kside_xen_vbd_name names a Xen vbd (a key of xenstore device/vbd) the
 * way rumprun's block driver names it back (devname2vbd: hd, sd and xvd,
 * disk a-z, partition 0-9, 0 being the whole disk). Returns 1 and fills
 * name, or 0 for a vbd rumprun cannot reach.
 */
int
kside_xen_vbd_name(unsigned long vbd, char *name, size_t namelen)
{
	const char *kind;
	unsigned long disk, part;

	if (vbd & (1UL << 28)) {
		kind = "xvd";
		disk = (vbd >> 8) & 0xfffff;
		part = vbd & 0xff;
		if (disk < 16 || vbd >> 29 != 0)
			return 0;	/* rumprun maps xvda-p to major 202 */
	} else {
		switch (vbd >> 8) {
		case 202:
			kind = "xvd";
			disk = (vbd >> 4) & 15;
			part = vbd & 15;
			break;
		case 8:
			kind = "sd";
			disk = (vbd >> 4) & 15;
			part = vbd & 15;
			break;
		case 3:
		case 22:
			kind = "hd";
			if (((vbd >> 6) & 3) > 1)
				return 0;
			disk = ((vbd >> 6) & 3) + ((vbd >> 8) == 22 ? 2 : 0);
			part = vbd & 63;
			break;
		default:
			return 0;
		}
	}
	if (disk > 25 || part > 9)
		return 0;
	if (part == 0)
		snprintf(name, namelen, "%s%c", kind, (int)('a' + disk));
	else
		snprintf(name, namelen, "%s%c%lu", kind, (int)('a' + disk), part);
	return 1;
}

/*
 * kside_xen_vifs returns how many interfaces rumprun's Xen network driver
 * can reach among the n vifs of xenstore device/vif (their ids, as
 * decimal strings, in any order): its N-th interface binds vif N, so
 * vifs 0 to k-1, up to the first id missing.
 */
int
kside_xen_vifs(const char **ids, int n)
{
	char want[16];
	int k, i;

	for (k = 0; k < n; k++) {
		snprintf(want, sizeof want, "%d", k);
		for (i = 0; i < n; i++)
			if (strcmp(ids[i], want) == 0)
				break;
		if (i == n)
			break;
	}
	return k;
}
