/*  zmpool - the command line: broker, worker, status, top, map, run,
    bench, keygen

    main () finds the command and hands it the rest of argv; each command
    parses its own options, calls the libraries and maps the outcome to an
    exit status (cli.h).
*/
#include "cli.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run) (int argc, char **argv);
    const char *summary;
} command_t;

static const command_t s_commands[] = {
    { "broker", cli_broker, "run a broker in the foreground" },
    { "worker", cli_worker,
      "run a worker agent (task processes) in the foreground" },
    { "status", cli_status, "show workers, slots, queue depth, counters" },
    { "top", cli_top, "watch the cluster live: hosts, clients, throughput" },
    { "map", cli_map, "run a function over JSON arguments, print results" },
    { "run", cli_run, "run a function in a process of its own, show output" },
    { "bench", cli_bench, "measure: the Armstrong search, what a task costs" },
    { "keygen", cli_keygen,
      "write a CURVE key pair for a broker, worker or "
      "client" },
    { NULL, NULL, NULL }
};

static void
s_usage (FILE *stream)
{
    fprintf (stream, "Usage: zmpool COMMAND [OPTION]... [ARG]...\n"
                     "A multi-host process pool: a broker spreads tasks over "
                     "worker processes.\n\nCommands:\n");
    for (const command_t *command = s_commands; command->name; command++)
        fprintf (stream, "  %-8s %s\n", command->name, command->summary);
    fprintf (stream, "\n'zmpool COMMAND --help' describes each command.\n"
                     "Options:\n"
                     "  -h, --help     show this help\n"
                     "      --version  print the version\n"
                     "\nExample:\n"
                     "  zmpool map square 1 2 3\n");
}

int
main (int argc, char **argv)
{
    if (argc < 2) {
        s_usage (stderr);
        return ZMP_EXIT_USAGE;
    }
    if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        s_usage (stdout);
        return ZMP_EXIT_OK;
    }
    if (strcmp (argv[1], "--version") == 0) {
        printf ("zmpool %s\n", ZMPOOL_VERSION);
        return ZMP_EXIT_OK;
    }
    for (const command_t *command = s_commands; command->name; command++)
        if (strcmp (argv[1], command->name) == 0)
            return command->run (argc - 1, argv + 1);
    fprintf (stderr, "zmpool: '%s' is not a command\nTry 'zmpool --help'.\n",
             argv[1]);
    return ZMP_EXIT_USAGE;
}
