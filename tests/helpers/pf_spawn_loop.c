/*
 * Execs binaries many times, one after the other: pf_spawn_loop SPEC
 *
 * SPEC is "N:PATH" (PATH N times: a fork storm of one binary) or "@FILE"
 * (every path listed in FILE, one per line, once each). Each child is
 * spawned with posix_spawn and waited for; learning tests and the benchmark
 * run it inside a learning workload's cgroup.
 *
 * Exit status: 0 when every child exited 0, 1 otherwise, 2 on usage errors.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

extern char **environ;

static int run(const char *path)
{
	char *argv[] = {(char *)path, NULL};
	pid_t pid;
	int st;

	if (posix_spawn(&pid, path, NULL, NULL, argv, environ))
		return 1;
	if (waitpid(pid, &st, 0) != pid)
		return 1;
	return !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(int argc, char **argv)
{
	char line[4096];
	int failed = 0;

	if (argc != 2)
		return 2;
	if (argv[1][0] == '@') {
		FILE *f = fopen(argv[1] + 1, "r");

		if (!f)
			return 2;
		while (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (line[0])
				failed |= run(line);
		}
		fclose(f);
		return failed;
	}
	char *colon = strchr(argv[1], ':');
	long n = colon ? strtol(argv[1], NULL, 10) : 0;

	if (!colon || n <= 0)
		return 2;
	for (long i = 0; i < n; i++)
		failed |= run(colon + 1);
	return failed;
}
