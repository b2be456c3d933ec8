/* commands.h: the subcommands of `vantage-worker`, one cmd_*.c file each.
 * Each takes argv with argv[0] = the subcommand's name and returns the exit
 * status (0 ok, 1 failure, 2 bad usage). */
#ifndef VANTAGE_WORKER_COMMANDS_H
#define VANTAGE_WORKER_COMMANDS_H

int vt_cmd_scan(int argc, char **argv);
int vt_cmd_run(int argc, char **argv);

#endif
