/*
 * The initrd/1 boot protocol inside a rumprun kernel (DESIGN.md 5): the
 * half shared by hw and Xen. The platform's half (hw.c, xen.c) finds the
 * initrd before the kernel takes the memory, and says which disks there
 * are.
 *
 * rump-bake links it with --wrap=rumprun_config: rumprun_config() runs
 * after rump_init(), with libc working, on the config rumprun found (hw:
 * the command line or a config module; Xen: the xenstore key rumprun/cfg,
 * else the PV command line). It unpacks the initrd into the root file
 * system, then reads the canonical config (that argument, else
 * /json.cfg), applies it and the defaults. Everything else goes to
 * rumprun's rumprun_config() unchanged: today's configs boot as before.
 */
#include <sys/types.h>
#include <sys/param.h>
#include <sys/mount.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/sysctl.h>

#include <ufs/ufs/ufsmount.h>
#include <isofs/cd9660/cd9660_mount.h>

#include <net/if.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rump/netconfig.h>

#include "kside.h"

/* rumprun's own declarations; their headers are not installed. */
int	bmk_printf(const char *, ...);
void	__real_rumprun_config(char *);

struct rumprun_exec {
	int	rre_flags;
	TAILQ_ENTRY(rumprun_exec) rre_entries;
	int	rre_argc;
	char	*rre_argv[];
};
TAILQ_HEAD(rumprun_execs, rumprun_exec);
extern struct rumprun_execs rumprun_execs;
#define RUMPRUN_EXEC_BACKGROUND	0x01
#define RUMPRUN_EXEC_PIPE	0x02
#define RUMPRUN_EXEC_CMDLINE	0x04

extern unsigned long bmk_memsize;

#define DHCPWAIT	10		/* seconds before programs start */
#define CFGMAX		(1 << 20)	/* as json.cfg(5) */
#define WCHUNK		(1 << 20)	/* bytes per write(2) */
#define PAGE		4096UL

static const unsigned char *initrd;
static size_t	initrdlen;
static const char *initrdwhere;	/* for the log */
static const char *cfgarg = "the command line"; /* rumprun_config's */

/* The platform's half (hw.c, xen.c). */
static void	plat_words(const char *, const struct kside_words *);
static void	plat_mountall(void);
static void	plat_ifcreate(void);

/* ---- the root file system ---- */

struct fs {
	char	path[MAXPATHLEN];
	int	fd;
};

static int
fspath(struct fs *f, const char *name)
{

	if (snprintf(f->path, sizeof f->path, "/%s", name) >=
	    (int)sizeof f->path)
		return ENAMETOOLONG;
	return 0;
}

/* parents creates the directories above f->path. */
static int
parents(struct fs *f)
{
	char *p;

	for (p = f->path + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		if (mkdir(f->path, 0755) == -1 && errno != EEXIST) {
			*p = '/';
			return errno;
		}
		*p = '/';
	}
	return 0;
}

/* clear removes what is at f->path unless it is a directory. */
static void
clear(struct fs *f)
{
	struct stat st;

	if (lstat(f->path, &st) == 0 && !S_ISDIR(st.st_mode))
		unlink(f->path);
}

static int
fs_mkdir(void *arg, const char *name, unsigned mode)
{
	struct fs *f = arg;
	int error;

	if ((error = fspath(f, name)) != 0 || (error = parents(f)) != 0)
		return error;
	clear(f);
	if (mkdir(f->path, mode) == -1 && errno != EEXIST)
		return errno;
	if (chmod(f->path, mode) == -1)
		return errno;
	return 0;
}

static int
fs_create(void *arg, const char *name, unsigned mode, uint64_t size)
{
	struct fs *f = arg;
	int error;

	if ((error = fspath(f, name)) != 0 || (error = parents(f)) != 0)
		return error;
	clear(f);
	if ((f->fd = open(f->path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return errno;
	/*
	 * The whole size first: rumpfs then holds the data in one buffer,
	 * where growing it write by write copies it each time.
	 */
	if (fchmod(f->fd, mode) == -1 ||
	    (size > 0 && ftruncate(f->fd, (off_t)size) == -1)) {
		error = errno;
		close(f->fd);
		return error;
	}
	return 0;
}

static int
fs_write(void *arg, const void *p, size_t n)
{
	struct fs *f = arg;
	ssize_t w;

	while (n > 0) {
		if ((w = write(f->fd, p, n > WCHUNK ? WCHUNK : n)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

static int
fs_close(void *arg)
{
	struct fs *f = arg;

	if (close(f->fd) == -1)
		return errno;
	return 0;
}

static int
fs_symlink(void *arg, const char *name, const char *target, unsigned mode)
{
	struct fs *f = arg;
	int error;

	(void)mode;
	if ((error = fspath(f, name)) != 0 || (error = parents(f)) != 0)
		return error;
	clear(f);
	if (symlink(target, f->path) == -1)
		return errno;
	return 0;
}

static int
fs_copy(void *arg, const char *from, const char *to, unsigned mode)
{
	static char buf[65536];
	struct fs *f = arg;
	struct stat st;
	ssize_t n;
	int in, error;

	if ((error = fspath(f, from)) != 0)
		return error;
	if ((in = open(f->path, O_RDONLY)) == -1)
		return errno;
	if (fstat(in, &st) == -1)
		st.st_size = 0;
	if ((error = fs_create(f, to, mode, (uint64_t)st.st_size)) != 0) {
		close(in);
		return error;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if ((error = fs_write(f, buf, (size_t)n)) != 0)
			break;
	if (n == -1 && error == 0)
		error = errno;
	close(in);
	if (fs_close(f) != 0 && error == 0)
		error = errno;
	return error;
}

static const struct kside_fsops fsops = {
	fs_mkdir, fs_create, fs_write, fs_close, fs_symlink, fs_copy,
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct kside_stats unpacked;

static void
unpack(void)
{
	struct kside_stats st;
	char err[KSIDE_ERRLEN];
	struct fs f;
	double t0, t;

	t0 = now();
	if (kside_unpack(initrd, initrdlen, &fsops, &f, &st, err) != 0)
		errx(1, "initrd: %s", err);
	unpacked = st;
	t = now() - t0;
	fprintf(stderr, "initrd/1: the initrd holds %lu KiB %s, the kernel "
	    "has %lu KiB\n",
	    (unsigned long)((initrdlen + PAGE - 1) / PAGE * (PAGE / 1024)),
	    initrdwhere, bmk_memsize / 1024);
	fprintf(stderr, "initrd/1: unpacked %lu entries (%lu files, %lu "
	    "directories, %lu symbolic links, %lu hard link copies), %llu "
	    "bytes of %llu in %.3f s\n", st.entries, st.files, st.dirs,
	    st.links, st.hardlinks, (unsigned long long)st.bytes,
	    (unsigned long long)st.archive, t);
}

/* ---- defaults ---- */

struct dhcp {
	char		ifname[IFNAMSIZ];
	int		done, error;
};
static pthread_mutex_t dhcpmtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t dhcpcv = PTHREAD_COND_INITIALIZER;

static void *
dhcpthread(void *arg)
{
	struct dhcp *d = arg;
	int error;

	error = rump_pub_netconfig_dhcp_ipv4_oneshot(d->ifname);
	pthread_mutex_lock(&dhcpmtx);
	d->done = 1;
	d->error = error;
	pthread_cond_broadcast(&dhcpcv);
	pthread_mutex_unlock(&dhcpmtx);
	if (error != 0)
		warnx("initrd/1: dhcp on %s failed: %s", d->ifname,
		    strerror(error));
	return NULL;
}

/*
 * dhcpall runs DHCP on every network interface but loopback, all at
 * once. Programs start when all have answered or after DHCPWAIT
 * seconds; an interface without a lease by then goes on trying in the
 * background (rumprun's DHCP gives up after about 50 s).
 */
static void
dhcpall(void)
{
	struct if_nameindex *ifs, *i;
	struct dhcp *d;
	struct timespec ts;
	pthread_t pt;
	int n, k, left;

	if ((ifs = if_nameindex()) == NULL)
		return;
	for (n = 0, i = ifs; i->if_name != NULL; i++)
		n++;
	if ((d = calloc((size_t)n + 1, sizeof *d)) == NULL)
		err(1, "initrd/1: dhcp");
	for (k = 0, i = ifs; i->if_name != NULL; i++) {
		if (strncmp(i->if_name, "lo", 2) == 0)
			continue;
		strlcpy(d[k].ifname, i->if_name, sizeof d[k].ifname);
		fprintf(stderr, "initrd/1: dhcp on %s (no \"net\" in the "
		    "config)\n", d[k].ifname);
		if (pthread_create(&pt, NULL, dhcpthread, &d[k]) != 0)
			err(1, "initrd/1: dhcp thread");
		pthread_detach(pt);
		k++;
	}
	if_freenameindex(ifs);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += DHCPWAIT;
	pthread_mutex_lock(&dhcpmtx);
	for (;;) {
		for (left = 0, n = 0; n < k; n++)
			left += !d[n].done;
		if (left == 0 ||
		    pthread_cond_timedwait(&dhcpcv, &dhcpmtx, &ts) == ETIMEDOUT)
			break;
	}
	for (n = 0; n < k; n++)
		if (!d[n].done)
			fprintf(stderr, "initrd/1: dhcp on %s: no lease after "
			    "%d s, programs start while it goes on\n",
			    d[n].ifname, DHCPWAIT);
	pthread_mutex_unlock(&dhcpmtx);
	/* d stays: threads still running use it */
}

static int
trymount(const char *type, const char *dev, const char *mnt, int ro)
{
	struct ufs_args ufs;
	struct iso_args iso;
	void *args;
	size_t len;
	int flags = ro ? MNT_RDONLY : 0;

	memset(&ufs, 0, sizeof ufs);
	memset(&iso, 0, sizeof iso);
	ufs.fspec = (char *)(uintptr_t)dev;
	iso.fspec = dev;
	args = &ufs;
	len = sizeof ufs;
	if (strcmp(type, MOUNT_CD9660) == 0) {
		args = &iso;
		len = sizeof iso;
		flags = MNT_RDONLY;
	}
	if (mount(type, mnt, flags, args, len) == 0)
		return 0;
	if (errno == EROFS && !ro)
		return trymount(type, dev, mnt, 1);
	return errno;
}


/*
 * mountdisk mounts a disk at mnt with the first file system type that
 * takes it; a disk none takes stays unmounted.
 */
static void
mountdisk(const char *dev, const char *mnt)
{
	static const char *types[] = { MOUNT_FFS, MOUNT_EXT2FS, MOUNT_CD9660 };
	struct statvfs sv;
	unsigned i;

	mkdir("/mnt", 0755);
	if (mkdir(mnt, 0755) == -1 && errno != EEXIST)
		err(1, "initrd/1: mkdir %s", mnt);
	for (i = 0; i < sizeof types / sizeof types[0]; i++)
		if (trymount(types[i], dev, mnt, 0) == 0)
			break;
	if (i == sizeof types / sizeof types[0]) {
		fprintf(stderr, "initrd/1: %s: no file system this kernel "
		    "knows, not mounted\n", dev);
		rmdir(mnt);
		return;
	}
	fprintf(stderr, "initrd/1: mounted %s (%s%s) at %s (no \"blk\" in the "
	    "config)\n", dev, types[i], statvfs(mnt, &sv) == 0 &&
	    (sv.f_flag & ST_RDONLY) ? ", read-only" : "", mnt);
}

/* ---- the config ---- */

static void
addexec(const struct kside_exec *x, int cmdline)
{
	struct rumprun_exec *rre;
	int i;

	rre = malloc(sizeof *rre + (size_t)(x->argc + 1) * sizeof(char *));
	if (rre == NULL)
		err(1, "initrd/1");
	rre->rre_flags = cmdline ? RUMPRUN_EXEC_CMDLINE : 0;
	if (x->flags & KSIDE_RUN_BG)
		rre->rre_flags |= RUMPRUN_EXEC_BACKGROUND;
	if (x->flags & KSIDE_RUN_PIPE)
		rre->rre_flags |= RUMPRUN_EXEC_PIPE;
	rre->rre_argc = x->argc;
	for (i = 0; i <= x->argc; i++)
		rre->rre_argv[i] = x->argv[i];
	TAILQ_INSERT_TAIL(&rumprun_execs, rre, rre_entries);
}

static void
configure(const char *text, size_t len, const char *src)
{
	static struct kside_config cfg;	/* argv and env live on */
	static char *noargs[] = { "rumprun", NULL };
	struct kside_exec none = { 0, 1, noargs };
	char msg[KSIDE_ERRLEN], *wire;
	int i;

	if (kside_config_parse(text, len, src, &cfg, msg) != 0)
		errx(1, "%s", msg);
	fprintf(stderr, "initrd/1: config from %s\n", src);
	for (i = 0; i < cfg.nenv; i++)
		if (setenv(cfg.envname[i], cfg.envvalue[i], 1) == -1)
			err(1, "%s: /env/%s", src, cfg.envname[i]);
	if (cfg.hostname != NULL &&
	    sethostname(cfg.hostname, strlen(cfg.hostname)) == -1)
		err(1, "%s: /hostname", src);
	for (i = 0; i < cfg.nexecs; i++)
		addexec(&cfg.execs[i], cfg.cmdline);
	if (cfg.nexecs == 0)
		addexec(&none, 1);
	if ((wire = kside_wire(&cfg, msg)) == NULL && msg[0] != '\0')
		errx(1, "%s: %s", src, msg);
	if (wire != NULL)
		__real_rumprun_config(wire);
	if (!cfg.hasblk)
		plat_mountall();
	if (!cfg.hasnet) {
		plat_ifcreate();
		dhcpall();
	}
}

static void
rootconfig(void)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	if (unpacked.cfgbad != NULL)
		errx(1, "initrd: entry %lu: /json.cfg is %s: store it as a file "
		    "of its own", unpacked.cfgentry, unpacked.cfgbad);
	if ((fd = open("/json.cfg", O_RDONLY)) == -1) {
		if (errno != ENOENT)
			err(1, "/json.cfg");
		configure("{}", 2, "the initrd (no /json.cfg)");
		return;
	}
	if (fstat(fd, &st) == -1)
		err(1, "/json.cfg");
	if (st.st_size > CFGMAX)
		errx(1, "/json.cfg: %lld bytes, over the %d-byte limit",
		    (long long)st.st_size, CFGMAX);
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		err(1, "/json.cfg");
	if ((n = read(fd, buf, (size_t)st.st_size)) != st.st_size)
		err(1, "/json.cfg: read");
	close(fd);
	configure(buf, (size_t)n, "/json.cfg");
}

/*
 * __wrap_rumprun_config runs where rumprun reads its config. The
 * canonical form applies when the kernel has an initrd or the command
 * line says rumpboot=initrd/1; everything else is rumprun's.
 */
void
__wrap_rumprun_config(char *cmdline)
{
	struct kside_words w;
	char err[KSIDE_ERRLEN];

	/* A config module is no command line: multiboot() read that. */
	if (kside_words(cmdline, &w, err) != 0)
		errx(1, "%s", err);
	plat_words(cmdline, &w);
	if (initrd != NULL)
		unpack();
	if (w.json != NULL && (w.canonical || initrd != NULL)) {
		configure(w.json, strlen(w.json), cfgarg);
		return;
	}
	if (w.json == NULL && initrd != NULL &&
	    strstr(cmdline, "_RUMPRUN_ROOTFSCFG=") == NULL) {
		rootconfig();
		return;
	}
	__real_rumprun_config(cmdline);
}
