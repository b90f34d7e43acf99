/*
 * kside: the kernel side of the initrd/1 boot protocol for rumprun hw
 * kernels, linked in by rump-bake (see kernel.c for how).
 *
 * archive.c, json.c and config.c hold the logic and compile on the host
 * too (pkg/bake/kside tests); kernel.c is the part that only makes sense
 * inside a rumprun kernel.
 */
#ifndef KSIDE_H
#define KSIDE_H

#include <stddef.h>
#include <stdint.h>

#define KSIDE_ERRLEN	256

/* ---- archive.c: newc cpio archives, plain or gzip, concatenated ---- */

/* What the walker asks of the file system; each returns 0 or an errno. */
struct kside_fsops {
	int	(*mkdir)(void *, const char *, unsigned);
	int	(*create)(void *, const char *, unsigned, uint64_t); /* write* */
	int	(*write)(void *, const void *, size_t);
	int	(*close)(void *);
	int	(*symlink)(void *, const char *, const char *, unsigned);
	int	(*copy)(void *, const char *, const char *, unsigned);
};

struct kside_stats {
	unsigned long	entries, dirs, files, links, hardlinks, skipped;
	uint64_t	bytes;		/* file data written */
	uint64_t	archive;	/* archive bytes after gzip */
	unsigned long	cfgentry;	/* the last json.cfg entry, 0: none */
	const char	*cfgbad;	/* why it cannot be the config, or NULL */
};

struct kside_region {
	uint64_t	lo, hi;		/* [lo, hi) */
};

uint64_t kside_place(uint64_t, uint64_t, const struct kside_region *, int);
int	kside_name_ok(const char *, const char **);
int	kside_unpack(const unsigned char *, size_t, const struct kside_fsops *,
	    void *, struct kside_stats *, char *);

/* ---- json.c: a strict JSON reader with decoded strings ---- */

enum kside_jtype { KJ_NULL, KJ_BOOL, KJ_NUMBER, KJ_STRING, KJ_ARRAY,
	KJ_OBJECT };

struct kside_json {
	enum kside_jtype	type;
	char		*str;	/* KJ_STRING: decoded, NUL-terminated */
	size_t		len;	/* KJ_STRING: bytes; KJ_ARRAY/OBJECT: items */
	int		boolean;
	double		number;
	int		integral;	/* KJ_NUMBER without fraction/exponent */
	char		**keys;		/* KJ_OBJECT: decoded keys */
	struct kside_json **items;	/* KJ_ARRAY/OBJECT: values */
	unsigned	line, col;	/* where the value starts */
};

struct kside_json *kside_json_parse(const char *, size_t, char *);
void	kside_json_free(struct kside_json *);

/* ---- config.c: the canonical json.cfg ---- */

#define KSIDE_RUN_BG	1	/* runmode "&" */
#define KSIDE_RUN_PIPE	2	/* runmode "|" */

struct kside_exec {
	int	flags;
	int	argc;
	char	**argv;		/* argc+1 entries, NULL-terminated */
};

struct kside_net {
	const char *ifname, *type, *method, *addr, *gw;
	int	cloner;
	int	mask;		/* -1: none */
};

struct kside_blk {
	const char *source, *path, *fstype, *mountpoint;
};

struct kside_config {
	struct kside_json *root;
	const char	*hostname;
	int		cmdline;	/* execs come from "cmdline" */
	struct kside_exec *execs;
	int		nexecs;
	const char	**envname, **envvalue;
	int		nenv;
	int		hasnet, hasblk;
	struct kside_net *net;
	int		nnet;
	struct kside_blk *blk;
	int		nblk;
};

int	kside_config_parse(const char *, size_t, const char *,
	    struct kside_config *, char *);
void	kside_config_free(struct kside_config *);
int	kside_splitargs(const char *, char ***, int *);
char	*kside_wire(const struct kside_config *, char *);

/* The words before the config on the kernel command line. */
struct kside_words {
	int		canonical;	/* rumpboot=initrd/1 */
	unsigned	exitport;	/* rumpboot.exit=PORT, 0: none */
	const char	*json;		/* the first '{', NULL: none */
};

int	kside_words(const char *, struct kside_words *, char *);
int	kside_disk_device(const char *, char *, size_t, char *, size_t);

/* Xen PV: start_info_t (xen/include/public/xen.h), x86_64 offsets. */
#define KSIDE_SI_SIZE		1168
#define KSIDE_SI_FLAGS		48	/* uint32_t */
#define KSIDE_SI_MODSTART	112	/* unsigned long */
#define KSIDE_SI_MODLEN		120	/* unsigned long */
#define KSIDE_SI_CMDLINE	128	/* char[1024] */
#define KSIDE_SIF_MOD_START_PFN	(1 << 3)

int	kside_xen_module(const void *, uintptr_t, uintptr_t *, size_t *,
	    char *);
int	kside_xen_vbd_name(unsigned long, char *, size_t);
int	kside_xen_vifs(const char **, int);

#endif /* KSIDE_H */
