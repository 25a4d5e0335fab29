/*
 * pf_exec_how HOW PATH: execs PATH the way HOW says, from inside a
 * container (the real-container tier's bypass attempts):
 *   path      execve(PATH)
 *   relative  chdir(dirname PATH), execve("./name")
 *   fexecve   open(PATH), fexecve(fd)
 *   memfd     PATH copied into a memfd, fexecve(memfd)
 * Exit status: PATH's; 126 when the exec failed with EPERM (podfence on LSM
 * backends); 127 when it failed otherwise; 125 on usage errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>

extern char **environ;

int main(int argc, char **argv)
{
	char dir[4096], base[4096], rel[4200];
	char *args[2] = {argv[2], NULL};
	struct stat st;
	int fd, src;

	if (argc != 3)
		return 125;
	if (strcmp(argv[1], "path") == 0) {
		execve(argv[2], args, environ);
	} else if (strcmp(argv[1], "relative") == 0) {
		snprintf(dir, sizeof(dir), "%s", argv[2]);
		snprintf(base, sizeof(base), "%s", argv[2]);
		snprintf(rel, sizeof(rel), "./%s", basename(base));
		if (chdir(dirname(dir)) == 0)
			execve(rel, args, environ);
	} else if (strcmp(argv[1], "fexecve") == 0) {
		fd = open(argv[2], O_RDONLY);
		if (fd >= 0)
			fexecve(fd, args, environ);
	} else if (strcmp(argv[1], "memfd") == 0) {
		src = open(argv[2], O_RDONLY);
		fd = memfd_create("payload", 0);
		if (src >= 0 && fd >= 0 && fstat(src, &st) == 0 &&
		    sendfile(fd, src, NULL, st.st_size) == st.st_size)
			fexecve(fd, args, environ);
	} else {
		return 125;
	}
	return errno == EPERM ? 126 : 127;
}
