/*  cmd_run - `zmpool run FUNCTION ARG...`: one function in a Process of
    its own, its output shown as it comes

    The ARGs, each JSON, are the function's arguments. What the process
    writes to stdout and stderr comes here as it is written; the exit
    status says how it ended. Ctrl-C (or --timeout) terminates the process
    first.
*/
#include "cli.h"

#include "zmp_error.h"
#include "zmp_json.h"
#include "zmp_value.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>

#define RUN_POLL_MS 200  //  How often the wait looks at Ctrl-C and --timeout

static const char *s_usage =
    "Usage: zmpool run [OPTION]... FUNCTION [ARG]...\n"
    "Run FUNCTION once, in a process of its own on some worker (as Python's\n"
    "multiprocessing.Process), and show what it prints as it prints it.\n"
    "\n"
    "Each ARG is one argument, in JSON: 3, '\"john\"', '[1, 2]', '{\"a\": 1}'.\n"
    "Options come before FUNCTION; everything after it is an ARG.\n"
    "\n"
    "  -c, --connect EP        broker endpoint. Without this option, run uses\n"
    "                          $ZMPOOL_BROKER, else " ZMP_DEFAULT_ENDPOINT ",\n"
    "                          and if no broker is there, a local cluster\n"
    "                          started for this command alone\n"
    "  -m, --module PATH       local cluster only: load task functions from\n"
    "                          PATH (repeatable)\n"
    "  -r, --result            print what FUNCTION returned, as one line of\n"
    "                          JSON, after its output\n"
    "  -t, --timeout S         terminate the process after S seconds\n"
    "  -q, --quiet             no notices on stderr\n"
    "  -v, --verbose           log more\n"
    "  -h, --help              show this help\n"
    "\n"
    "Exit status: 0 the process ended with exitcode 0; 1 it did not (the\n"
    "reason is on stderr), or it could not start; 2 bad usage.\n"
    "\n"
    "Examples:\n"
    "  zmpool run info\n"
    "  zmpool run --module ./libmytasks.so --result mytasks.fit '\"data.csv\"' 3\n";

//  Pack the ARGs as one argument array. Returns 0, or the exit status of
//  a usage error.
static int
s_pack_args (char **texts, int count, msgpack_sbuffer *buffer)
{
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&packer, (size_t) count);
    for (int index = 0; index < count; index++) {
        zmp_error_t error;
        if (zmp_json_parse_pack (texts[index], &packer, &error))
            return cli_usage_error ("run", "ARG %d ('%s'): %s", index + 1,
                                    texts[index], error.message);
    }
    return 0;
}

//  Start the process and wait for its end. Returns the exit status.
static int
s_run (zmp_client_t *client, const char *function, const msgpack_object *args,
       bool print_result, int timeout_ms)
{
    zmp_error_t error;
    zmp_process_t *process = zmp_process_new (client, function, args, &error);
    if (!process)
        return cli_usage_error ("run", "%s", error.message);
    if (zmp_process_start (process, &error)) {
        zmp_process_destroy (&process);
        return cli_fail ("run", "cannot start %s: %s", function, error.message);
    }
    int64_t deadline = timeout_ms > 0 ? zclock_mono () + timeout_ms : 0;
    const char *stopped = NULL;
    while (zmp_process_join (process, RUN_POLL_MS, &error)) {
        if (error.kind != ZMP_ERR_WAIT_TIMEOUT)
            break;
        if (!stopped && zsys_interrupted)
            stopped = "interrupted";
        else if (!stopped && deadline && zclock_mono () >= deadline)
            stopped = "timed out";
        else
            continue;
        //  Terminate, then wait for its end: its last output is still due
        zmp_process_terminate (process, NULL);
        zsys_interrupted = 0;
    }
    fflush (stdout);
    int rc = ZMP_EXIT_OK;
    int exitcode = zmp_process_exitcode (process);
    const zmp_error_t *failure = zmp_process_error (process);
    if (exitcode == ZMP_EXITCODE_NONE)
        rc = cli_fail ("run", "%s (pid %lld): %s", function,
                       (long long) zmp_process_pid (process), error.message);
    else if (exitcode != 0) {
        char text[ZMP_ERROR_MESSAGE_MAX + ZMP_ERROR_HOST_MAX + 128];
        rc = cli_fail ("run", "%s%s%s ended with exitcode %d: %s",
                       stopped ? stopped : "", stopped ? ": " : "", function,
                       exitcode,
                       failure ? zmp_error_format (failure, text, sizeof text)
                               : "no reason given");
    } else if (print_result) {
        char *text = zmp_json_text (zmp_process_result (process));
        puts (text);
        free (text);
    }
    zmp_process_destroy (&process);
    return rc;
}

int
cli_run (int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "module", required_argument, NULL, 'm' },
        { "result", no_argument, NULL, 'r' },
        { "timeout", required_argument, NULL, 't' },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *endpoint = NULL;
    bool print_result = false;
    int timeout_ms = 0;
    int verbosity = 0;
    const char **modules =
        (const char **) calloc ((size_t) argc + 1, sizeof (char *));
    size_t module_count = 0;
    int rc = -1;
    int option;
    opterr = 0;
    //  '+': stop at FUNCTION, so that ARGs like -1 are not options
    while (rc < 0
           && (option = getopt_long (argc, argv, "+:c:m:rt:qvh", options, NULL))
                  != -1) {
        switch (option) {
            case 'c':
                endpoint = optarg;
                break;
            case 'm':
                modules[module_count++] = optarg;
                break;
            case 'r':
                print_result = true;
                break;
            case 't':
                if (!cli_parse_seconds (optarg, 30 * 24 * 3600.0, &timeout_ms))
                    rc = cli_usage_error (
                        "run", "--timeout takes seconds, not '%s'", optarg);
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
                rc = cli_option_error ("run", option, argv);
        }
    }
    if (rc < 0)
        rc = cli_check_function ("run", optind < argc, endpoint, module_count);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    const char *function = rc < 0 ? argv[optind++] : NULL;
    if (rc < 0) {
        int packed = s_pack_args (argv + optind, argc - optind, &buffer);
        if (packed)
            rc = packed;
    }
    zmp_value_t *args =
        rc < 0 ? zmp_value_decode (buffer.data, buffer.size, NULL) : NULL;
    msgpack_sbuffer_destroy (&buffer);
    if (rc >= 0) {
        free (modules);
        return rc;
    }
    local_cluster_t *local = NULL;
    zmp_client_t *client =
        cli_cluster_open ("run", endpoint, 0, modules, verbosity, &local);
    free (modules);
    if (client)
        rc = s_run (client, function, zmp_value_get (args), print_result,
                    timeout_ms);
    else
        rc = ZMP_EXIT_FAILED;
    cli_cluster_close (&client, &local);
    zmp_value_destroy (&args);
    return rc;
}
