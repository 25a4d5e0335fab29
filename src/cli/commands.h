/* SPDX-License-Identifier: Apache-2.0 */
/* Subcommands of the podfence executable (bpftool style: one file per command). */
#ifndef PODFENCE_CLI_COMMANDS_H
#define PODFENCE_CLI_COMMANDS_H

int cmd_agent(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_learn(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_unpin(int argc, char **argv);

#endif /* PODFENCE_CLI_COMMANDS_H */
