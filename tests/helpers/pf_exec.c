/*
 * The calling binary of the differential test: pf_exec CGROUP_PROCS_FILE TARGET
 *
 * Joins a cgroup, then execs TARGET. Copies of it at chosen paths play the
 * binary that matchBinaries selects on: the test runs a copy from its own
 * (unbound) cgroup, so this exec is never subject to policy, and only the
 * exec of TARGET, made from inside the pod's cgroup, is.
 *
 * Exit status: TARGET's; 126 when its exec failed with EPERM (podfence on
 * LSM backends); 127 when it failed otherwise; 125 on usage or cgroup errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char pid[24];
	int fd, n;

	if (argc != 3)
		return 125;
	fd = open(argv[1], O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return 125;
	n = snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write(fd, pid, n) != n) {
		close(fd);
		return 125;
	}
	close(fd);
	execv(argv[2], (char *[]){argv[2], NULL});
	return errno == EPERM ? 126 : 127;
}
