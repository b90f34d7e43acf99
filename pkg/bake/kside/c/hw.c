/*
 * The hw half of the kernel side (kernel.c is the shared half): the
 * initrd comes as the first multiboot module, the exit status leaves
 * through an I/O port.
 *
 * rump-bake links it with a copy of rumprun.o in which multiboot() is
 * global and weak, with the alias kside_upstream_multiboot at its
 * address, and in which bmk_platform_halt() is weak: the strong ones
 * below replace them; and with --wrap=_exit, to know the exit status at
 * halt.
 *
 * multiboot() moves an initrd (first module, newc or gzip) to the top of
 * the memory chunk at 1 MiB, out of the page allocator's way, and hides
 * it from rumprun's own multiboot(), which would take it for a config.
 */

void	bmk_platform_halt(const char *) __attribute__((noreturn));
void	kside_upstream_multiboot(void *);
void	__real__exit(int) __attribute__((noreturn));

extern char _end[];

/* Multiboot v1, as much as is used here. */
struct mb_info {
	uint32_t	flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t	mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
};
struct mb_mod {
	uint32_t	start, end, string, reserved;
};
struct mb_mmap {
	uint32_t	size;
	uint64_t	addr, len;
	uint32_t	type;
} __attribute__((packed));
#define MB_CMDLINE	0x04
#define MB_MODS		0x08
#define MEMSTART	0x100000
#define MINMEM		(8UL << 20)	/* left to the kernel, at least */
#define MAXKEEP		64		/* loader regions kept clear */
#define KEEP(a, n)	do {						\
	keep[nkeep].lo = (a);						\
	keep[nkeep].hi = (uint64_t)(a) + (n);				\
	nkeep++;							\
} while (/*CONSTCOND*/0)

static unsigned	exitport;
static volatile int exitstatus = 1;

static void
halt(const char *msg)
{

	bmk_printf("initrd/1: %s\n", msg);
	bmk_platform_halt(NULL);
}

/*
 * multiboot replaces rumprun's: it runs first, on the loader's
 * information, before the page allocator takes the memory.
 */
void
multiboot(struct mb_info *mbi)
{
	struct kside_words w;
	struct mb_mod *mod;
	struct mb_mmap *mm, *chunk = NULL;
	unsigned char *src, *dst;
	unsigned long top, osend;
	struct kside_region keep[MAXKEEP];
	char err[KSIDE_ERRLEN];
	uint64_t at;
	uint32_t off, i;
	size_t len;
	int nkeep;

	if ((mbi->flags & MB_CMDLINE) &&
	    kside_words((const char *)(uintptr_t)mbi->cmdline, &w, err) == 0)
		exitport = w.exitport;
	if (!(mbi->flags & MB_MODS) || mbi->mods_count < 1 ||
	    mbi->mods_addr == 0)
		goto upstream;
	mod = (struct mb_mod *)(uintptr_t)mbi->mods_addr;
	src = (unsigned char *)(uintptr_t)mod[0].start;
	len = mod[0].end - mod[0].start;
	if (len < 6 || !(memcmp(src, "07070", 5) == 0 ||
	    (src[0] == 0x1f && src[1] == 0x8b)))
		goto upstream;	/* a config module, as today */

	for (off = 0; off < mbi->mmap_length; off += mm->size + 4) {
		mm = (struct mb_mmap *)(uintptr_t)(mbi->mmap_addr + off);
		if (mm->addr == MEMSTART && mm->type == 1)
			chunk = mm;
	}
	if (chunk == NULL)
		halt("no memory chunk at 1 MiB for the initrd");

	/* What the loader left in memory stays where it is. */
	nkeep = 0;
	KEEP((uintptr_t)mbi, sizeof *mbi);
	KEEP(mbi->mmap_addr, mbi->mmap_length);
	KEEP(mbi->mods_addr, mbi->mods_count * sizeof *mod);
	if (mbi->flags & MB_CMDLINE)
		KEEP(mbi->cmdline, strlen((char *)(uintptr_t)mbi->cmdline) + 1);
	for (i = 0; i < mbi->mods_count && nkeep < MAXKEEP - 2; i++) {
		if (i > 0)
			KEEP(mod[i].start, mod[i].end - mod[i].start);
		if (mod[i].string != 0)
			KEEP(mod[i].string,
			    strlen((char *)(uintptr_t)mod[i].string) + 1);
	}
	top = chunk->addr + chunk->len;
	osend = ((unsigned long)_end + PAGE - 1) & ~(PAGE - 1);
	at = kside_place(top, len, keep, nkeep);
	if (at < osend + MINMEM) {
		bmk_printf("initrd/1: the initrd (%lu bytes) does not fit in "
		    "%lu KiB of memory: give the machine more\n",
		    (unsigned long)len, (unsigned long)(top >> 10));
		bmk_platform_halt(NULL);
	}
	dst = (unsigned char *)(uintptr_t)at;
	memmove(dst, src, len);
	chunk->len = (uint64_t)(uintptr_t)dst - chunk->addr;
	mbi->flags &= ~MB_MODS;
	initrd = dst;
	initrdlen = len;
	initrdwhere = "at the top of memory";
upstream:
	kside_upstream_multiboot(mbi);
}

/*
 * bmk_platform_halt replaces rumprun's (same messages), and then hands
 * the exit status to the host when the command line said how.
 */
void
bmk_platform_halt(const char *panicstring)
{

	if (panicstring)
		bmk_printf("PANIC: %s\n", panicstring);
	bmk_printf("halted\n");
	if (exitport != 0) {
		uint32_t v = panicstring ? 1 : (uint32_t)exitstatus;

		__asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(exitport));
	}
	for (;;)
		__asm__ volatile("hlt");
}

void
__wrap__exit(int status)
{

	exitstatus = status;
	__real__exit(status);
}

/*
 * plat_mountall mounts every disk of hw.disknames that kside_disk_device
 * picks.
 */
static void
plat_mountall(void)
{
	char names[1024], dev[64], mnt[64], *p, *name;
	size_t len = sizeof names - 1;

	if (sysctlbyname("hw.disknames", names, &len, NULL, 0) == -1)
		return;
	names[len] = '\0';
	for (p = names; (name = strsep(&p, " ")) != NULL;)
		if (kside_disk_device(name, dev, sizeof dev, mnt, sizeof mnt))
			mountdisk(dev, mnt);
}

/* plat_words takes the exit port from rumprun's config argument too. */
static void
plat_words(const char *cmdline, const struct kside_words *w)
{

	(void)cmdline;
	if (w->exitport != 0)
		exitport = w->exitport;
}

/* hw interfaces attach by themselves. */
static void
plat_ifcreate(void)
{
}
