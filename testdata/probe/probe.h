/*
 * Interfaces between the parts of the probe kernel.
 *
 * Platform part (boot.S, platform.c, initrd.c, inflate.c): multiboot
 * entry, serial console, the report of what the loader passed, the
 * rumprun console markers and the exit through isa-debug-exit.
 * Program part (probe.c): the built-in program "probe", whose main() the
 * Makefile renames to rumprun_main1 as rumprun-bake does to baked programs.
 */
#ifndef PROBE_H
#define PROBE_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef unsigned long ulong;

/* Console (COM1). */
void cons_write(const void *buf, ulong n);
void cons_puts(const char *s);

/*
 * The config texts the kernel received, in this order: the command line,
 * then per module its JSON text or the /json.cfg of its initrd.
 * probe_config returns 0 and sets *text and *len for piece i, or returns
 * -1 when there is no piece i.
 */
int probe_config(int i, const char **text, ulong *len);

/* Freestanding helpers (gcc may also emit calls to the mem* ones). */
void *memcpy(void *dst, const void *src, ulong n);
void *memmove(void *dst, const void *src, ulong n);
void *memset(void *dst, int c, ulong n);
int memcmp(const void *a, const void *b, ulong n);
ulong strlen(const char *s);

/* Position of needle in buf[0:n], or -1. */
long mem_find(const void *buf, ulong n, const char *needle);

/* gzip (inflate.c). */
u32 crc32_update(u32 crc, const u8 *p, ulong n);
/*
 * gunzip decompresses the gzip members in in[0:inlen] into out[0:cap]. It
 * returns 0 and sets *outlen, or returns -1 and sets *err to a message.
 */
/* The error gunzip reports when out is too small. */
extern const char inflate_nospace[];
int gunzip(const u8 *in, ulong inlen, u8 *out, ulong cap, ulong *outlen,
    const char **err);

/* initrd.c: reports the content of module i at p[0:n]. */
void report_module_content(int i, const u8 *p, ulong n, u8 *scratch,
    ulong scratchcap, ulong *scratchused);

/* Output helpers for the report (platform.c). */
void out_str(const char *s);
void out_escaped(const u8 *p, ulong n);
void out_dec(u32 v);
void out_hex(u32 v, int digits);
void out_oct(u32 v, int mindigits);
void out_nl(void);
void out_module_prefix(int i);

/* Records a config text (see probe_config); keeps the pointer. */
void config_add(const char *text, ulong len);

#endif
