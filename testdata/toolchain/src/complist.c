/*
 * Platform hook of the miniature hw toolchain: prints the components the
 * kernel was baked with, then runs the probe's platform. build.sh renames
 * the probe's platform_start to probe_platform_start, so that boot.S
 * enters here. Each component archive puts a pointer to its name in the
 * section rump_components; the linker script brackets it with
 * __start_rump_components and __stop_rump_components.
 */
#include "probe.h"

extern const char *const __start_rump_components[];
extern const char *const __stop_rump_components[];

void probe_platform_start(u32 magic, void *mbi);
void platform_start(u32 magic, void *mbi);

void platform_start(u32 magic, void *mbi)
{
	const char *const *p;

	for (p = __start_rump_components; p < __stop_rump_components; p++) {
		cons_puts("rumprun: component ");
		cons_puts(*p);
		cons_puts("\n");
	}
	probe_platform_start(magic, mbi);
}
