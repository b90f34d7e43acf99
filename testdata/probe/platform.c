/*
 * Platform part of the probe kernel: serial console, the report of what
 * the multiboot loader passed, PCI enumeration, the rumprun console
 * markers and the exit through QEMU's isa-debug-exit device.
 */
#include "probe.h"

#define COM1		0x3f8
#define DEBUG_EXIT	0xf4

#define MB_BOOTLOADER_MAGIC	0x2BADB002
#define MBI_MEMORY	(1u << 0)
#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_LOADER	(1u << 9)

struct mbi {
	u32 flags;
	u32 mem_lower, mem_upper;
	u32 boot_device;
	u32 cmdline;
	u32 mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr;
	u32 config_table;
	u32 boot_loader_name;
};

struct mbmod {
	u32 start, end;
	u32 string;
	u32 reserved;
};

extern char _end[];

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

/* ---- freestanding helpers ---- */

void *memcpy(void *dst, const void *src, ulong n)
{
	u8 *d = dst;
	const u8 *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, ulong n)
{
	u8 *d = dst;
	const u8 *s = src;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, ulong n)
{
	u8 *d = dst;
	while (n--)
		*d++ = (u8)c;
	return dst;
}

int memcmp(const void *a, const void *b, ulong n)
{
	const u8 *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

ulong strlen(const char *s)
{
	ulong n = 0;
	while (s[n])
		n++;
	return n;
}

long mem_find(const void *buf, ulong n, const char *needle)
{
	const u8 *p = buf;
	ulong m = strlen(needle), i;
	if (m == 0 || m > n)
		return -1;
	for (i = 0; i + m <= n; i++)
		if (p[i] == (u8)needle[0] && memcmp(p + i, needle, m) == 0)
			return (long)i;
	return -1;
}

/* ---- console ---- */

static void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB on */
	outb(COM1 + 0, 0x01);	/* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1, DLAB off */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);	/* DTR, RTS */
}

static void serial_putc(u8 c)
{
	/* Wait for the transmitter, but never forever. */
	int spin;
	for (spin = 0; spin < 100000; spin++)
		if (inb(COM1 + 5) & 0x20)
			break;
	outb(COM1, c);
}

void cons_write(const void *buf, ulong n)
{
	const u8 *p = buf;
	while (n--)
		serial_putc(*p++);
}

void cons_puts(const char *s)
{
	cons_write(s, strlen(s));
}

/* ---- report output ---- */

void out_str(const char *s)
{
	cons_puts(s);
}

void out_nl(void)
{
	serial_putc('\n');
}

/* Printable ASCII and space as they are; other bytes and '\' as \xHH. */
void out_escaped(const u8 *p, ulong n)
{
	static const char hex[] = "0123456789abcdef";
	ulong i;
	for (i = 0; i < n; i++) {
		u8 c = p[i];
		if ((c >= 0x21 && c <= 0x7e && c != '\\') || c == ' ') {
			serial_putc(c);
		} else {
			serial_putc('\\');
			serial_putc('x');
			serial_putc((u8)hex[c >> 4]);
			serial_putc((u8)hex[c & 15]);
		}
	}
}

void out_dec(u32 v)
{
	char buf[12];
	int i = sizeof buf;
	buf[--i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	cons_puts(buf + i);
}

void out_hex(u32 v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	while (digits-- > 0)
		serial_putc((u8)hex[(v >> (4 * digits)) & 15]);
}

void out_oct(u32 v, int mindigits)
{
	char buf[12];
	int i = sizeof buf;
	buf[--i] = 0;
	do {
		buf[--i] = (char)('0' + (v & 7));
		v >>= 3;
		mindigits--;
	} while (v || mindigits > 0);
	cons_puts(buf + i);
}

void out_module_prefix(int i)
{
	out_str("probe: module ");
	out_dec((u32)i);
	out_str(" ");
}

/* ---- config texts ---- */

#define MAXCONFIG 64
static struct {
	const char *text;
	ulong len;
} configs[MAXCONFIG];
static int nconfigs;

void config_add(const char *text, ulong len)
{
	if (nconfigs < MAXCONFIG) {
		configs[nconfigs].text = text;
		configs[nconfigs].len = len;
		nconfigs++;
	}
}

int probe_config(int i, const char **text, ulong *len)
{
	if (i < 0 || i >= nconfigs)
		return -1;
	*text = configs[i].text;
	*len = configs[i].len;
	return 0;
}

static int config_has(const char *token)
{
	int i;
	for (i = 0; i < nconfigs; i++)
		if (mem_find(configs[i].text, configs[i].len, token) >= 0)
			return 1;
	return 0;
}

/* ---- memory bounds ---- */

static u32 memtop;	/* end of usable memory above 1 MiB */
static u32 freemem;	/* first free byte above the kernel, the info and the modules */

static void note_used(u32 start, u32 len)
{
	u32 end = start + len;
	if (end < start)
		end = 0xffffffffu;
	if (end > freemem)
		freemem = end;
}

/* Length of the NUL-terminated string at addr, never reading past memtop. */
static ulong bounded_strlen(u32 addr)
{
	const char *s = (const char *)addr;
	ulong n = 0;
	while (addr + n < memtop && s[n])
		n++;
	return n;
}

/* ---- PCI (configuration mechanism #1, bus 0) ---- */

static u32 pci_read(int bus, int slot, int fn, int reg)
{
	outl(0xcf8, 0x80000000u | (u32)bus << 16 | (u32)slot << 11 |
	    (u32)fn << 8 | (u32)(reg & 0xfc));
	return inl(0xcfc);
}

static void report_pci(void)
{
	int slot, fn, nfn;
	for (slot = 0; slot < 32; slot++) {
		nfn = 1;
		for (fn = 0; fn < nfn; fn++) {
			u32 id = pci_read(0, slot, fn, 0);
			if ((id & 0xffff) == 0xffff)
				continue;
			if (fn == 0 && (pci_read(0, slot, 0, 0x0c) >> 16) & 0x80)
				nfn = 8;
			out_str("probe: pci 00:");
			out_hex((u32)slot, 2);
			out_str(".");
			out_hex((u32)fn, 1);
			out_str(" ");
			out_hex(id & 0xffff, 4);
			out_str(":");
			out_hex(id >> 16, 4);
			out_str(" ");
			out_hex(pci_read(0, slot, fn, 0x08) >> 8, 6);
			out_nl();
		}
	}
}

/* ---- programs and exit ---- */

/*
 * Programs: main() renamed rumprun_mainN, as rumprun-bake does. Absent
 * ones stay null. rumprun_prognames (optional, null-terminated) names
 * them for the console markers; without it they are called "probe".
 */
typedef int mainfn(int, char **);
extern mainfn rumprun_main1 __attribute__((weak));
extern mainfn rumprun_main2 __attribute__((weak));
extern mainfn rumprun_main3 __attribute__((weak));
extern mainfn rumprun_main4 __attribute__((weak));
extern mainfn rumprun_main5 __attribute__((weak));
extern mainfn rumprun_main6 __attribute__((weak));
extern mainfn rumprun_main7 __attribute__((weak));
extern mainfn rumprun_main8 __attribute__((weak));
extern const char *const rumprun_prognames[] __attribute__((weak));

static void __attribute__((noreturn)) halt(u32 status)
{
	/* With isa-debug-exit, QEMU exits with status 2*status+1. */
	outl(DEBUG_EXIT, status);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static int run_programs(void)
{
	mainfn *mains[] = {
		rumprun_main1, rumprun_main2, rumprun_main3, rumprun_main4,
		rumprun_main5, rumprun_main6, rumprun_main7, rumprun_main8,
	};
	int i, named = rumprun_prognames != 0, rv = 0;
	for (i = 0; i < 8; i++) {
		char *argv[2];
		const char *name = "probe";
		if (!mains[i])
			continue;
		if (named && rumprun_prognames[i])
			name = rumprun_prognames[i];
		else
			named = 0;
		argv[0] = (char *)name;
		argv[1] = 0;
		out_str("=== calling \"");
		out_str(name);
		out_str("\" main() ===\n");
		rv = mains[i](1, argv);
		out_str("=== main() of \"");
		out_str(name);
		out_str("\" returned ");
		out_dec((u32)rv);
		out_str(" ===\n");
	}
	return rv;
}

/*
 * The program part's exit-status rule, used for the isa-debug-exit code
 * when the bootstrap fails before any main() runs. Weak: a kernel baked
 * from other programs has none, and then leaves with status 1.
 */
extern int probe_exit_status(void) __attribute__((weak));

/* ---- the report ---- */

void platform_start(u32 magic, struct mbi *mbi);

void platform_start(u32 magic, struct mbi *mbi)
{
	u32 flags = 0, i, nmods = 0;
	struct mbmod *mods = 0;
	int status;

	serial_init();
	memtop = 0x100000u + 640u * 1024;	/* until the loader says more */
	if (magic == MB_BOOTLOADER_MAGIC) {
		flags = mbi->flags;
		note_used((u32)mbi, sizeof *mbi);
	}
	note_used(0x100000u, (u32)_end - 0x100000u);
	if (flags & MBI_MEMORY) {
		u32 upper = mbi->mem_upper;
		if (upper > (0xffffffffu - 0x100000u) / 1024)
			upper = (0xffffffffu - 0x100000u) / 1024;
		memtop = 0x100000u + upper * 1024;
	}

	out_str("probe: loader ");
	if (flags & MBI_LOADER) {
		ulong n = bounded_strlen(mbi->boot_loader_name);
		out_escaped((const u8 *)mbi->boot_loader_name, n);
		note_used(mbi->boot_loader_name, n + 1);
	} else {
		out_str("-");
	}
	out_nl();

	if (flags & MBI_CMDLINE) {
		ulong n = bounded_strlen(mbi->cmdline);
		out_str("probe: cmdline ");
		out_escaped((const u8 *)mbi->cmdline, n);
		out_nl();
		note_used(mbi->cmdline, n + 1);
		config_add((const char *)mbi->cmdline, n);
	}

	if (flags & MBI_MODS) {
		nmods = mbi->mods_count;
		mods = (struct mbmod *)mbi->mods_addr;
		if (nmods > 1024)
			nmods = 1024;
		note_used(mbi->mods_addr, nmods * sizeof *mods);
		for (i = 0; i < nmods; i++) {
			if (mods[i].end > mods[i].start)
				note_used(mods[i].start, mods[i].end - mods[i].start);
			note_used(mods[i].string, bounded_strlen(mods[i].string) + 1);
		}
	}

	{
		/* Decompressed initrds go above everything the loader placed. */
		u32 scratch = (freemem + 4095) & ~4095u;
		ulong used = 0;
		for (i = 0; i < nmods; i++) {
			u32 size = mods[i].end - mods[i].start;
			ulong cap = 0;
			out_module_prefix((int)i);
			out_str("size ");
			out_dec(mods[i].end >= mods[i].start ? size : 0);
			out_str(" string ");
			out_escaped((const u8 *)mods[i].string,
			    bounded_strlen(mods[i].string));
			out_nl();
			if (mods[i].end < mods[i].start || mods[i].end > memtop)
				continue;
			scratch = (u32)((scratch + used + 4095) & ~4095u);
			if (scratch < memtop)
				cap = memtop - scratch;
			used = 0;
			report_module_content((int)i, (const u8 *)mods[i].start,
			    size, (u8 *)scratch, cap, &used);
		}
	}

	if (flags & MBI_MEMORY) {
		out_str("probe: mem lower ");
		out_dec(mbi->mem_lower);
		out_str(" upper ");
		out_dec(mbi->mem_upper);
		out_nl();
	}

	report_pci();
	out_str("probe: end\n");

	if (config_has("probe-bootstrap-fail")) {
		out_str("=== bootstrap failed\n");
		halt(probe_exit_status ? (u32)probe_exit_status() : 1);
	}
	status = run_programs();
	if (status == 0) {
		out_str("=== _exit(0) called ===\n");
	} else {
		out_str("=== ERROR: _exit(");
		out_dec((u32)status);
		out_str(") called ===\n");
	}
	out_str("halted\n");
	halt((u32)status);
}
