/*
 * The Xen PV half of the kernel side (kernel.c is the shared half).
 *
 * The initrd is the PV ramdisk (xl's ramdisk=, PV-GRUB's initrd): Xen's
 * domain builder maps it after the kernel image and before the page
 * tables, and Mini-OS gives its page allocator only what follows the
 * page tables (arch_init_mm), so the ramdisk stays where it is, untouched.
 * Mini-OS's copy of start_info (_minios_start_info_union, a common
 * symbol) says where: mod_start, mod_len.
 *
 * The default disks are the vbds listed in xenstore (device/vbd), named
 * and attached as rumprun attaches a blk entry with "source": "etfs";
 * the default interfaces are created as rumprun creates a net entry with
 * "cloner": its N-th xenif binds device/vif/N.
 * There is no exit port under PV: every exit powers the domain off.
 */
#include <rump/rump.h>

typedef unsigned long xenbus_transaction_t;
char	*xenbus_ls(xenbus_transaction_t, const char *, char ***);

extern unsigned char _minios_start_info_union[];
extern char _text[];

/* plat_words finds the initrd: rumprun_config runs once, before unpack. */
static void
plat_words(const char *cmdline, const struct kside_words *w)
{
	char err[KSIDE_ERRLEN];
	uintptr_t at;
	size_t len;
	int r;

	(void)w;
	cfgarg = cmdline == (const char *)_minios_start_info_union +
	    KSIDE_SI_CMDLINE ? "the PV command line" : "xenstore rumprun/cfg";
	r = kside_xen_module(_minios_start_info_union, (uintptr_t)_text, &at,
	    &len, err);
	if (r < 0)
		errx(1, "initrd/1: %s", err);
	if (r == 0)
		return;
	initrd = (const unsigned char *)at;
	initrdlen = len;
	initrdwhere = "where the domain builder put it";
}

static void
plat_ifcreate(void)
{
	char **vifs, ifname[16];
	int i, n, error;

	if (xenbus_ls(0, "device/vif", &vifs) != NULL || vifs == NULL)
		return;
	for (n = 0; vifs[n] != NULL; n++)
		continue;
	n = kside_xen_vifs((const char **)vifs, n);
	for (i = 0; i < n; i++) {
		snprintf(ifname, sizeof ifname, "xenif%d", i);
		if ((error = rump_pub_netconfig_ifcreate(ifname)) != 0)
			warnx("initrd/1: creating %s: %s", ifname,
			    strerror(error));
	}
}

static void
plat_mountall(void)
{
	char **vbds, *e, name[16], dev[32], epath[32], mnt[32];
	unsigned long vbd;
	int i, error;

	/* Mini-OS's allocator owns the list: it stays. */
	if (xenbus_ls(0, "device/vbd", &vbds) != NULL || vbds == NULL)
		return;
	for (i = 0; vbds[i] != NULL; i++) {
		vbd = strtoul(vbds[i], &e, 10);
		if (*e != '\0' || !kside_xen_vbd_name(vbd, name, sizeof name)) {
			fprintf(stderr, "initrd/1: vbd %s: no name rumprun "
			    "knows, not mounted\n", vbds[i]);
			continue;
		}
		snprintf(dev, sizeof dev, "/dev/%s", name);
		snprintf(epath, sizeof epath, "XENBLK_%s", name);
		snprintf(mnt, sizeof mnt, "/mnt/%s", name);
		if ((error = rump_pub_etfs_register(dev, epath,
		    RUMP_ETFS_BLK)) != 0) {
			fprintf(stderr, "initrd/1: %s: %s, not mounted\n", dev,
			    strerror(error));
			continue;
		}
		mountdisk(dev, mnt);
	}
}
