/*
 * A static program that proves it ran: creates the file named by argv[1].
 * Tests use it as the "forbidden" binary: the file must never appear.
 */
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1) {
		int fd = open(argv[1], O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

		if (fd < 0)
			return 2;
		close(fd);
	}
	return 0;
}
