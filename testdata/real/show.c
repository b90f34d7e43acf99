/*
 * show: a test program for real rumprun kernels. It prints, one fact per
 * line and every string with non-printable bytes as \xHH, what the kernel
 * handed it, then does what its arguments ask:
 *
 *	argc=N, argv[I]=<...>   always
 *	env <NAME=value>        every environment variable whose name starts
 *	                        with T_
 *	hostname=<...>          always
 *
 *	cat:PATH    file PATH size=N crc32=XXXXXXXX mode=OOOOOO
 *	ls:DIR      one line per entry below DIR, depth first in readdir order:
 *	            entry PATH TYPE mode=OOOO size=N [-> TARGET]
 *	mounts      mount <MNTONNAME> from <MNTFROMNAME> type <FSTYPE> [ro]
 *	ifaddrs     ifaddr <IF> <ADDRESS> for every IPv4 address
 *	tcp:PORT    accept one TCP connection on PORT, write "hello from show"
 *	            and close it
 *	exit:N      exit with status N (the default is 0)
 *
 * Any other argument is only printed.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>

extern char **environ;

static void
putesc(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
}

/*
 * The CRC-32 of zlib and Go's hash/crc32 (IEEE), computed here rather than
 * taken from libz: objects of a rumprun toolchain carry the libraries they
 * link, so two programs with libz could not be baked into one kernel.
 */
static uint32_t
crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
	static uint32_t table[256];
	uint32_t c;
	int i, k;

	if (table[1] == 0) {
		for (i = 0; i < 256; i++) {
			c = (uint32_t)i;
			for (k = 0; k < 8; k++)
				c = (c & 1) ? 0xedb88320U ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	}
	crc = ~crc;
	while (n-- > 0)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
catfile(const char *path)
{
	static unsigned char buf[65536];
	struct stat st;
	uint32_t crc;
	long long size;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1 || fstat(fd, &st) == -1) {
		printf("file ");
		putesc(path);
		printf(" error=%s\n", strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	crc = 0;
	size = 0;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		crc = crc32_update(crc, buf, (size_t)n);
		size += n;
	}
	close(fd);
	printf("file ");
	putesc(path);
	printf(" size=%lld crc32=%08x mode=%06o\n", size, (unsigned)crc,
	    (unsigned)st.st_mode);
}

static void
list(const char *dir)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	struct stat st;
	const char *type;
	ssize_t n;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		printf("entry ");
		putesc(dir);
		printf(" error=%s\n", strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") == 0 ?
		    "" : dir, de->d_name);
		if (lstat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode))
			type = "dir";
		else if (S_ISLNK(st.st_mode))
			type = "link";
		else if (S_ISREG(st.st_mode))
			type = "file";
		else
			type = "other";
		printf("entry ");
		putesc(path);
		printf(" %s mode=%04o size=%lld", type,
		    (unsigned)(st.st_mode & 07777), (long long)st.st_size);
		if (S_ISLNK(st.st_mode) &&
		    (n = readlink(path, target, sizeof target - 1)) >= 0) {
			target[n] = '\0';
			printf(" -> ");
			putesc(target);
		}
		printf("\n");
		if (S_ISDIR(st.st_mode))
			list(path);
	}
	closedir(d);
}

static void
mounts(void)
{
	struct statvfs *m;
	int i, n;

	n = getmntinfo(&m, MNT_NOWAIT);
	for (i = 0; i < n; i++) {
		printf("mount <");
		putesc(m[i].f_mntonname);
		printf("> from <");
		putesc(m[i].f_mntfromname);
		printf("> type <%s>%s\n", m[i].f_fstypename,
		    (m[i].f_flag & ST_RDONLY) ? " ro" : "");
	}
}

static void
ifaddrs(void)
{
	struct ifaddrs *ifa, *i;
	char a[INET_ADDRSTRLEN];

	if (getifaddrs(&ifa) == -1) {
		printf("ifaddr error=%s\n", strerror(errno));
		return;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != AF_INET)
			continue;
		inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
		    a, sizeof a);
		printf("ifaddr %s %s\n", i->ifa_name, a);
	}
	freeifaddrs(ifa);
}

static void
serve(int port)
{
	static const char msg[] = "hello from show\n";
	struct sockaddr_in sin;
	int s, c, one = 1;

	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) == -1)
		err(1, "bind");
	if (listen(s, 1) == -1)
		err(1, "listen");
	printf("listening on %d\n", port);
	fflush(stdout);
	if ((c = accept(s, NULL, NULL)) == -1)
		err(1, "accept");
	write(c, msg, sizeof msg - 1);
	close(c);
	close(s);
	printf("served\n");
}

int
main(int argc, char *argv[])
{
	char host[256];
	char **e;
	int i, status = 0;

	printf("argc=%d\n", argc);
	for (i = 0; i < argc; i++) {
		printf("argv[%d]=<", i);
		putesc(argv[i]);
		printf(">\n");
	}
	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, "T_", 2) == 0) {
			printf("env <");
			putesc(*e);
			printf(">\n");
		}
	}
	if (gethostname(host, sizeof host) == 0) {
		host[sizeof host - 1] = '\0';
		printf("hostname=<");
		putesc(host);
		printf(">\n");
	}
	for (i = 1; i < argc; i++) {
		if (strncmp(argv[i], "cat:", 4) == 0)
			catfile(argv[i] + 4);
		else if (strncmp(argv[i], "ls:", 3) == 0)
			list(argv[i] + 3);
		else if (strcmp(argv[i], "mounts") == 0)
			mounts();
		else if (strcmp(argv[i], "ifaddrs") == 0)
			ifaddrs();
		else if (strncmp(argv[i], "tcp:", 4) == 0)
			serve(atoi(argv[i] + 4));
		else if (strncmp(argv[i], "exit:", 5) == 0)
			status = atoi(argv[i] + 5);
	}
	fflush(stdout);
	return status;
}
