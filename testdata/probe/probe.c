/*
 * Program part of the probe kernel: the built-in program "probe". The
 * Makefile renames its main() to rumprun_main1, as rumprun-bake does to
 * the programs it bakes, and the platform calls it after the report.
 *
 * Its exit status is N from the first token probe-exit=N (decimal) in the
 * config texts the kernel received (command line first, then the modules
 * in order), else 0.
 */
#include "probe.h"

int probe_exit_status(void);
int main(int argc, char **argv);

int probe_exit_status(void)
{
	static const char token[] = "probe-exit=";
	const char *t;
	ulong n;
	int i;

	for (i = 0; probe_config(i, &t, &n) == 0; i++) {
		ulong off = 0;
		long at;
		while (off < n && (at = mem_find(t + off, n - off, token)) >= 0) {
			ulong j = off + (ulong)at + sizeof token - 1;
			int v = 0, digits = 0;
			while (j < n && t[j] >= '0' && t[j] <= '9' && digits < 9) {
				v = v * 10 + (t[j] - '0');
				j++;
				digits++;
			}
			if (digits)
				return v;
			off += (ulong)at + 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return probe_exit_status();
}
