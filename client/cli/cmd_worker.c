/*  cmd_worker - `zmpool worker`: run a worker agent in the foreground

    Order matters here: modules load and the task processes fork before
    anything creates a ZeroMQ context, and czmq's logging setup creates
    one, so errors up to that point go straight to stderr.
*/
#include "cli.h"

#include "zmp_agent.h"
#include "zmp_builtins.h"
#include "zmp_error.h"
#include "zmp_registry.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>

static const char *s_usage =
    "Usage: zmpool worker [OPTION]...\n"
    "Run a worker agent in the foreground until Ctrl-C or SIGTERM: it forks\n"
    "task processes and runs the tasks a broker sends it.\n"
    "\n"
    "  -c, --connect EP        broker endpoint (default: $ZMPOOL_BROKER, else\n"
    "                          " ZMP_DEFAULT_ENDPOINT ")\n"
    "  -p, --processes N       task processes (default: one per usable\n"
    "                          core: CPU affinity and quota)\n"
    "  -m, --module PATH       load task functions from a shared library\n"
    "                          (repeatable)\n"
    "  -n, --name NAME         label shown by `zmpool status`\n"
    "      --heartbeat-ms N    heartbeat interval until the broker sets it\n"
    "                          (default 1000)\n"
    "      --ready-fd N        write \"ready\" to fd N once registered, then\n"
    "                          close it\n"
    "      --give-up-after S   exit (status 1) after S seconds without a\n"
    "                          broker, from start or from losing it (default:\n"
    "                          never); for batch jobs that must not outlive\n"
    "                          their broker\n"
    "      --health-file PATH  rewrite PATH every second while the agent runs:\n"
    "                          \"registered\" or \"waiting\", and the time; for\n"
    "                          a liveness probe\n"
    "      --grace-ms N        a task over its run-time limit gets SIGTERM,\n"
    "                          and SIGKILL N ms later (default 2000)\n"
    "      --max-tasks-per-child N\n"
    "                          replace a task process after N tasks (as\n"
    "                          Python's maxtasksperchild; default: never)\n"
    "      --max-child-growth MB\n"
    "                          replace a task process whose resident memory\n"
    "                          grew by more than MB MiB since it started,\n"
    "                          checked after each task (default: never)\n"
    "      --max-child-memory MB\n"
    "                          kill a task process whose resident memory is\n"
    "                          over MB MiB while it runs a task (read every\n"
    "                          100 ms); the task fails as crashed, after the\n"
    "                          broker's crash retries (default: never)\n"
    "      --curve-secret F    this worker's key pair (NAME.key_secret from\n"
    "                          zmpool keygen --role worker; default\n"
    "                          $ZMPOOL_CURVE_SECRET); with --curve-server,\n"
    "                          connect with CURVE: authenticated, encrypted\n"
    "      --curve-server F    the broker's public key file (default\n"
    "                          $ZMPOOL_CURVE_SERVER)\n"
    "  -l, --list-functions    print the task functions and exit\n"
    "  -q, --quiet             log warnings and errors only\n"
    "  -v, --verbose           log more (twice: debug)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  zmpool worker --connect tcp://10.0.0.1:5555 --processes 8 \\\n"
    "                --module ./libmytasks.so\n";

static int
s_list_functions (zmp_registry_t *registry)
{
    zlistx_t *names = zmp_registry_names (registry);
    for (const char *name = (const char *) zlistx_first (names); name;
         name = (const char *) zlistx_next (names))
        printf ("%-16s %s\n", name, zmp_registry_summary (registry, name));
    zlistx_destroy (&names);
    return ZMP_EXIT_OK;
}

int
cli_worker (int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "processes", required_argument, NULL, 'p' },
        { "module", required_argument, NULL, 'm' },
        { "name", required_argument, NULL, 'n' },
        { "heartbeat-ms", required_argument, NULL, 'H' },
        { "ready-fd", required_argument, NULL, 'R' },
        { "give-up-after", required_argument, NULL, 'G' },
        { "health-file", required_argument, NULL, 'F' },
        { "grace-ms", required_argument, NULL, 'K' },
        { "max-tasks-per-child", required_argument, NULL, 'X' },
        { "max-child-growth", required_argument, NULL, 'M' },
        { "max-child-memory", required_argument, NULL, 'Y' },
        { "curve-secret", required_argument, NULL, 'S' },
        { "curve-server", required_argument, NULL, 'B' },
        { "list-functions", no_argument, NULL, 'l' },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    zmp_agent_config_t config = { cli_default_endpoint (),
                                  cli_cores (),
                                  1000,
                                  5,
                                  NULL,
                                  -1,
                                  0,
                                  NULL,
                                  ZMP_AGENT_GRACE_MS,
                                  0,
                                  0,
                                  0,
                                  NULL,
                                  NULL };
    const char **modules =
        (const char **) calloc ((size_t) argc + 1, sizeof (char *));
    size_t module_count = 0;
    bool list = false;
    int verbosity = 0;
    long number;
    int option;
    opterr = 0;
    int rc = -1;
    while (
        rc < 0
        && (option = getopt_long (argc, argv, ":c:p:m:n:lqvh", options, NULL))
               != -1) {
        switch (option) {
            case 'c':
                config.endpoint = optarg;
                break;
            case 'p':
                if (!cli_parse_long (optarg, 1, 4096, &number))
                    rc = cli_usage_error (
                        "worker", "--processes takes 1 to 4096, not '%s'",
                        optarg);
                config.processes = (int) number;
                break;
            case 'm':
                modules[module_count++] = optarg;
                break;
            case 'n':
                config.name = optarg;
                break;
            case 'H':
                if (!cli_parse_long (optarg, 10, 3600000, &number))
                    rc = cli_usage_error (
                        "worker",
                        "--heartbeat-ms takes 10 to 3600000, not '%s'", optarg);
                config.heartbeat_ms = (int) number;
                break;
            case 'R':
                if (!cli_parse_long (optarg, 0, 65535, &number))
                    rc = cli_usage_error (
                        "worker", "--ready-fd takes an fd, not '%s'", optarg);
                config.ready_fd = (int) number;
                break;
            case 'G':
                if (!cli_parse_seconds (optarg, 365 * 24 * 3600.0,
                                        &config.give_up_ms))
                    rc = cli_usage_error (
                        "worker", "--give-up-after takes seconds, not '%s'",
                        optarg);
                break;
            case 'F':
                config.health_file = optarg;
                break;
            case 'S':
                config.curve_secret = optarg;
                break;
            case 'B':
                config.curve_server = optarg;
                break;
            case 'K':
                if (!cli_parse_long (optarg, 0, 600000, &number))
                    rc = cli_usage_error (
                        "worker", "--grace-ms takes 0 to 600000, not '%s'",
                        optarg);
                config.grace_ms = (int) number;
                break;
            case 'X':
                if (!cli_parse_long (optarg, 1, 1000000000, &number))
                    rc = cli_usage_error ("worker",
                                          "--max-tasks-per-child takes 1 or "
                                          "more, not '%s'",
                                          optarg);
                config.max_tasks_per_child = (int) number;
                break;
            case 'M':
            case 'Y':
                //  MiB, kept in KiB
                if (!cli_parse_long (optarg, 1, 16 * 1024 * 1024, &number))
                    rc = cli_usage_error (
                        "worker",
                        "--max-child-%s takes MiB, 1 or more, not '%s'",
                        option == 'M' ? "growth" : "memory", optarg);
                else
                    *(option == 'M' ? &config.max_child_growth_kb
                                    : &config.max_child_memory_kb) =
                        number * 1024;
                break;
            case 'l':
                list = true;
                break;
            case 'q':
                verbosity = -1;
                break;
            case 'v':
                verbosity++;
                break;
            case 'h':
                fputs (s_usage, stdout);
                rc = ZMP_EXIT_OK;
                break;
            default:
                rc = cli_option_error ("worker", option, argv);
        }
    }
    if (rc < 0 && optind < argc)
        rc = cli_usage_error ("worker", "unexpected argument '%s'",
                              argv[optind]);
    if (rc >= 0) {
        free (modules);
        return rc;
    }

    zmp_registry_t *registry = zmp_registry_new ();
    zmp_builtins_register (registry);
    zmp_error_t error;
    for (size_t index = 0; index < module_count && rc < 0; index++)
        if (zmp_registry_load (registry, modules[index], &error))
            rc = cli_fail ("worker", "%s", error.message);
    free (modules);
    if (rc < 0 && list)
        rc = s_list_functions (registry);
    if (rc >= 0) {
        zmp_registry_destroy (&registry);
        return rc;
    }
    //  Fork the task processes first: no ZeroMQ context exists yet
    zmp_agent_t *agent = zmp_agent_new (&config, registry, &error);
    if (!agent) {
        zmp_registry_destroy (&registry);
        return cli_fail ("worker", "%s", error.message);
    }
    cli_log_init ("zmpool-worker", verbosity);
    rc = zmp_agent_run (agent) == 0 ? ZMP_EXIT_OK : ZMP_EXIT_FAILED;
    zmp_agent_destroy (&agent);
    zmp_registry_destroy (&registry);
    return rc;
}
