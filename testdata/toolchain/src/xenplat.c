/*
 * Platform of the miniature xen toolchain. It links like rumprun's Xen PV
 * platform (ELF64 at address 0, entry 0, a __xen_guest section, the bake
 * recipe in its own note segment) but is not a working Xen guest: the
 * tests inspect xen kernels, they cannot boot them here.
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

extern const char *const __start_rump_components[];
extern const char *const __stop_rump_components[];

void cons_puts(const char *s);
void _start(void);

static volatile const char *last;

void cons_puts(const char *s)
{
	last = s;	/* no console: remember the text so the call is not empty */
}

__attribute__((section(".text.start"))) void _start(void)
{
	mainfn *mains[] = {
		rumprun_main1, rumprun_main2, rumprun_main3, rumprun_main4,
		rumprun_main5, rumprun_main6, rumprun_main7, rumprun_main8,
	};
	const char *const *p;
	int i;

	for (p = __start_rump_components; p < __stop_rump_components; p++)
		cons_puts(*p);
	for (i = 0; i < 8; i++)
		if (mains[i])
			mains[i](0, 0);
	for (;;)
		;
}

__asm__(".section __xen_guest, \"\"\n"
    "\t.ascii \"GUEST_OS=rumprun,XEN_VER=xen-3.0,VIRT_BASE=0x0,"
    "ELF_PADDR_OFFSET=0x0,HYPERCALL_PAGE=0x2,LOADER=generic\"\n"
    "\t.byte 0\n"
    "\t.previous\n");
