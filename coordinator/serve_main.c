/* serve_main.c: vantage-serve, the coordinator daemon's program (serve.c).
 * Operators start it as `vantage serve` (main.c execs it), or systemd does
 * through vantage.service; it takes the same argv, argv[0] aside. */
#include "commands.h"

int main(int argc, char **argv)
{
    return vt_cmd_serve(argc, argv);
}
