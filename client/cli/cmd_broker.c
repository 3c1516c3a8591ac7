/*  cmd_broker - `zmpool broker`: run a broker in the foreground
*/
#include "cli.h"

#include "zmp_broker.h"
#include "zmp_store.h"
#include "zmp_error.h"

#include <getopt.h>
#include <stdio.h>

static const char *s_usage =
    "Usage: zmpool broker [OPTION]...\n"
    "Run a broker in the foreground until Ctrl-C or SIGTERM.\n"
    "\n"
    "  -b, --bind EP           endpoint to bind (default: $ZMPOOL_BROKER, else\n"
    "                          " ZMP_DEFAULT_ENDPOINT ")\n"
    "      --heartbeat-ms N    heartbeat interval in ms (default 1000)\n"
    "      --liveness N        missed heartbeats before a peer is gone\n"
    "                          (default 5)\n"
    "      --prefetch N        tasks sent to a worker beyond its slots, fixed\n"
    "                          (default: fitted to the workers' task times,\n"
    "                          about 2 ms of work queued per slot)\n"
    "      --retries N         times a task runs again when the worker running\n"
    "                          it is lost, 0 to 100 (default 3)\n"
    "      --crash-retries N   times a task runs again when its own process\n"
    "                          crashes or runs over its time limit, 0 to 100\n"
    "                          (default 1); then that error is its result\n"
    "      --max-queued N      pool tasks one client may have queued; more\n"
    "                          are refused with the error kind full, 0 for\n"
    "                          no limit (default 1000000)\n"
    "      --client-grace-ms N a client silent past its liveness keeps its\n"
    "                          tasks and shared objects N ms more, for it to\n"
    "                          come back (default 10000; 0: none)\n"
    "      --state-dir DIR     keep queues and pipes (their items) in a\n"
    "                          journal in DIR, replayed when a broker starts\n"
    "                          on it again (default: none; they are lost\n"
    "                          with the broker)\n"
    "      --fsync POLICY      with --state-dir: 'always' (default) syncs\n"
    "                          each change to disk before it is answered;\n"
    "                          'never' leaves it to the kernel, and a\n"
    "                          machine crash can lose the last changes\n"
    "      --curve-secret F    the broker's key pair (NAME.key_secret from\n"
    "                          zmpool keygen --role broker): CURVE on,\n"
    "                          every peer authenticated and every message\n"
    "                          encrypted\n"
    "      --curve-keys DIR    the public keys (NAME.key) of the clients and\n"
    "                          workers it lets in, each in its role; files\n"
    "                          added are taken at once\n"
    "      --max-objects-per-client N\n"
    "                          shared objects one client may hold at once\n"
    "                          (default 100000): one client cannot fill the\n"
    "                          broker's store for all\n"
    "      --max-message-mb N  the largest frame taken, in MiB (default 256):\n"
    "                          a task's arguments or result, an object's\n"
    "                          item; clients and workers are told, and fail\n"
    "                          a larger one with the error kind limit\n"
    "      --event-log FILE    append a JSON line to FILE for each change of a\n"
    "                          task's state (submitted, dispatched, started,\n"
    "                          finished, failed, retried, cancelled; fields\n"
    "                          in docs/PROTOCOL.md, section 8.1)\n"
    "      --event-log-mb N    past N MiB the event log is renamed FILE.1\n"
    "                          (replacing the last) and begun again\n"
    "                          (default 100)\n"
    "      --insecure          bind an endpoint other hosts can reach without\n"
    "                          keys (refused otherwise): anyone who reaches\n"
    "                          it can run tasks\n"
    "      --endpoint-file F   write the bound endpoint to F (useful with a\n"
    "                          wildcard port, tcp://127.0.0.1:*)\n"
    "      --ready-fd N        write the bound endpoint to fd N, then close it\n"
    "  -q, --quiet             log warnings and errors only\n"
    "  -v, --verbose           log more (twice: debug)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  zmpool broker --bind tcp://127.0.0.1:5555\n";


int
cli_broker (int argc, char **argv)
{
    static const struct option options[] = {
        { "bind", required_argument, NULL, 'b' },
        { "heartbeat-ms", required_argument, NULL, 'H' },
        { "liveness", required_argument, NULL, 'L' },
        { "prefetch", required_argument, NULL, 'P' },
        { "retries", required_argument, NULL, 'T' },
        { "crash-retries", required_argument, NULL, 'C' },
        { "max-queued", required_argument, NULL, 'Q' },
        { "client-grace-ms", required_argument, NULL, 'G' },
        { "state-dir", required_argument, NULL, 'S' },
        { "fsync", required_argument, NULL, 'F' },
        { "curve-secret", required_argument, NULL, 'K' },
        { "curve-keys", required_argument, NULL, 'A' },
        { "insecure", no_argument, NULL, 'I' },
        { "max-message-mb", required_argument, NULL, 'M' },
        { "max-objects-per-client", required_argument, NULL, 'O' },
        { "event-log", required_argument, NULL, 'V' },
        { "event-log-mb", required_argument, NULL, 'W' },
        { "endpoint-file", required_argument, NULL, 'E' },
        { "ready-fd", required_argument, NULL, 'R' },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    zmp_broker_config_t config = { cli_default_endpoint (),
                                   ZMP_BROKER_HEARTBEAT_MS,
                                   ZMP_BROKER_LIVENESS,
                                   ZMP_BROKER_ADAPTIVE,
                                   NULL,
                                   -1,
                                   ZMP_BROKER_RETRIES,
                                   ZMP_BROKER_CRASH_RETRIES,
                                   ZMP_BROKER_MAX_QUEUED,
                                   ZMP_BROKER_CLIENT_GRACE_MS,
                                   NULL,
                                   false,
                                   NULL,
                                   NULL,
                                   false,
                                   ZMP_STORE_PEER_OBJECTS_MAX,
                                   ZMP_BROKER_MAX_MESSAGE_MB,
                                   NULL,
                                   ZMP_BROKER_EVENT_LOG_MB };

    int verbosity = 0;
    long number;
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, ":b:qvh", options, NULL)) != -1) {
        switch (option) {
            case 'b':
                config.endpoint = optarg;
                break;
            case 'H':
                if (!cli_parse_long (optarg, 10, 3600000, &number))
                    return cli_usage_error (
                        "broker",
                        "--heartbeat-ms takes 10 to 3600000, not '%s'", optarg);
                config.heartbeat_ms = (int) number;
                break;
            case 'L':
                if (!cli_parse_long (optarg, 2, 1000, &number))
                    return cli_usage_error (
                        "broker", "--liveness takes 2 to 1000, not '%s'",
                        optarg);
                config.liveness = (int) number;
                break;
            case 'T':
                if (!cli_parse_long (optarg, 0, 100, &number))
                    return cli_usage_error (
                        "broker", "--retries takes 0 to 100, not '%s'", optarg);
                config.retries =
                    number == 0 ? ZMP_BROKER_NO_RETRIES : (int) number;
                break;
            case 'C':
                if (!cli_parse_long (optarg, 0, 100, &number))
                    return cli_usage_error (
                        "broker", "--crash-retries takes 0 to 100, not '%s'",
                        optarg);
                config.crash_retries =
                    number == 0 ? ZMP_BROKER_NO_RETRIES : (int) number;
                break;
            case 'Q':
                if (!cli_parse_long (optarg, 0, 1000000000, &number))
                    return cli_usage_error (
                        "broker", "--max-queued takes 0 or more, not '%s'",
                        optarg);
                config.max_queued = number == 0 ? -1 : number;
                break;
            case 'G':
                if (!cli_parse_long (optarg, 0, 24 * 3600 * 1000, &number))
                    return cli_usage_error ("broker",
                                            "--client-grace-ms takes 0 to "
                                            "86400000, not '%s'",
                                            optarg);
                config.client_grace_ms = number == 0 ? -1 : number;
                break;
            case 'P':
                if (!cli_parse_long (optarg, 0, 1024, &number))
                    return cli_usage_error (
                        "broker", "--prefetch takes 0 to 1024, not '%s'",
                        optarg);
                config.prefetch = (int) number;
                break;
            case 'S':
                if (!*optarg)
                    return cli_usage_error ("broker",
                                            "--state-dir takes a directory");
                config.state_dir = optarg;
                break;
            case 'F':
                if (streq (optarg, "always") || streq (optarg, "never"))
                    config.fsync_never = streq (optarg, "never");
                else
                    return cli_usage_error (
                        "broker", "--fsync takes always or never, not '%s'",
                        optarg);
                break;
            case 'K':
                config.curve_secret = optarg;
                break;
            case 'A':
                config.curve_keys = optarg;
                break;
            case 'I':
                config.insecure = true;
                break;
            case 'O':
                if (!cli_parse_long (optarg, 1, 1000000, &number))
                    return cli_usage_error (
                        "broker",
                        "--max-objects-per-client takes 1 to 1000000, not '%s'",
                        optarg);
                config.max_objects_per_client = number;
                break;
            case 'M':
                if (!cli_parse_long (optarg, 1, 2047, &number))
                    return cli_usage_error (
                        "broker", "--max-message-mb takes 1 to 2047, not '%s'",
                        optarg);
                config.max_message_mb = number;
                break;
            case 'V':
                if (!*optarg)
                    return cli_usage_error ("broker",
                                            "--event-log takes a file");
                config.event_log = optarg;
                break;
            case 'W':
                if (!cli_parse_long (optarg, 1, 1000000, &number))
                    return cli_usage_error (
                        "broker", "--event-log-mb takes 1 to 1000000, not '%s'",
                        optarg);
                config.event_log_mb = number;
                break;
            case 'E':
                config.endpoint_file = optarg;
                break;
            case 'R':
                if (!cli_parse_long (optarg, 0, 65535, &number))
                    return cli_usage_error (
                        "broker", "--ready-fd takes an fd, not '%s'", optarg);
                config.ready_fd = (int) number;
                break;
            case 'q':
                verbosity = -1;
                break;
            case 'v':
                verbosity++;
                break;
            case 'h':
                fputs (s_usage, stdout);
                return ZMP_EXIT_OK;
            default:
                return cli_option_error ("broker", option, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error ("broker", "unexpected argument '%s'",
                                argv[optind]);
    cli_log_init ("zmpool-broker", verbosity);
    zmp_error_t error;
    zmp_broker_t *broker = zmp_broker_new (&config, &error);
    if (!broker)
        return cli_fail ("broker", "%s", error.message);
    int rc = zmp_broker_run (broker, NULL);
    zmp_broker_destroy (&broker);
    return rc == 0 ? ZMP_EXIT_OK : ZMP_EXIT_FAILED;
}
