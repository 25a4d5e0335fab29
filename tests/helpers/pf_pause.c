/*
 * The sandbox's process in the real-container tests: like Kubernetes' pause,
 * it holds the pod's namespaces and sleeps until it is told to stop.
 */
#include <signal.h>
#include <unistd.h>

static void quit(int sig)
{
	(void)sig;
	_exit(0);
}

int main(void)
{
	signal(SIGTERM, quit);
	signal(SIGINT, quit);
	for (;;)
		pause();
}
