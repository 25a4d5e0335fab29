// SPDX-License-Identifier: Apache-2.0
#include <stdio.h>
#include <string.h>
#include "commands.h"

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
    {"agent", cmd_agent, "enforce policies on the pods of this node"},
    {"check", cmd_check, "validate and compile policy files"},
    {"learn", cmd_learn, "learn what workloads execute; proposals to bindings"},
    {"status", cmd_status, "ask a running agent what it enforces"},
    {"unpin", cmd_unpin, "detach and remove pinned programs and maps (stops enforcing)"},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: podfence COMMAND [OPTIONS]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n`podfence COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "Error: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 1;
}
