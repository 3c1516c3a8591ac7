/*  cmd_map - `zmpool map FUNCTION ARG...`: one task per ARG, results in order

    Each ARG is JSON. An array is the task's list of arguments; anything
    else is its one argument. Results print as they come, one JSON value a
    line, in the order of the ARGs. The first task that fails stops the
    map, as an exception stops Python's Pool.map: its error goes to stderr,
    the tasks still queued are cancelled, and the exit status is 1.
*/
#include "cli.h"
#include "progress.h"

#include "zmp_error.h"
#include "zmp_json.h"
#include "zmp_log.h"
#include "zmp_value.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#define MAP_POLL_MS 200  //  How often a wait looks at Ctrl-C and --timeout

static const char *s_usage =
    "Usage: zmpool map [OPTION]... FUNCTION ARG...\n"
    "Run FUNCTION once per ARG on the cluster and print each result as one\n"
    "line of JSON, in the order of the ARGs.\n"
    "\n"
    "Each ARG is JSON: a number (3), a string ('\"x\"'), an object, or an\n"
    "array, which is the task's list of arguments ('[20000000, 25000000]').\n"
    "A single ARG '-' reads ARGs from standard input, one per line.\n"
    "Options come before FUNCTION; everything after it is an ARG.\n"
    "\n"
    "  -c, --connect EP        broker endpoint. Without this option, the map\n"
    "                          uses $ZMPOOL_BROKER, else " ZMP_DEFAULT_ENDPOINT
    ",\n"
    "                          and if no broker is there, a local cluster\n"
    "                          started for this command alone\n"
    "  -p, --processes N       run at most N tasks at once (default: every\n"
    "                          slot); for a local cluster, its processes\n"
    "                          (default: one per core)\n"
    "      --chunksize N       ARGs per task (default: as Python's Pool.map,\n"
    "                          ARGs / (4 x processes), rounded up)\n"
    "  -m, --module PATH       local cluster only: load task functions from\n"
    "                          PATH (repeatable)\n"
    "  -t, --timeout S         give up after S seconds (default: never)\n"
    "      --task-timeout S    stop any task that runs longer than S seconds\n"
    "                          (SIGTERM, then SIGKILL); it fails with kind\n"
    "                          timeout (default: no limit)\n"
    "      --joblog FILE       write a line to FILE for each ARG done: its\n"
    "                          number, host, start, run time, CPU, memory,\n"
    "                          exit value, error and ARG (tab-separated,\n"
    "                          after a header line, as GNU parallel's)\n"
    "      --resume            with --joblog: skip the ARGs FILE says were\n"
    "                          done (exit value 0), run the others, and add\n"
    "                          their lines to FILE; only their results print\n"
    "  -q, --quiet             no notices on stderr\n"
    "  -v, --verbose           log more\n"
    "  -h, --help              show this help\n"
    "\n"
    "With a --chunksize above 1, an ARG's line in the joblog has the figures\n"
    "of its whole chunk.\n"
    "\n"
    "Exit status: 0 all tasks succeeded, 1 a task failed or the broker\n"
    "could not be reached, 2 bad usage.\n"
    "\n"
    "Examples:\n"
    "  zmpool map square 1 2 3\n"
    "  zmpool map --connect tcp://127.0.0.1:5555 armstrong '[20000000, 25000000]'\n"
    "  seq 1000 | zmpool map square -\n"
    "  seq 1000 | zmpool map --joblog squares.log --resume square -\n";

#define JOBLOG_HEADER                                                          \
    "Seq\tHost\tStarttime\tJobRuntime\tUserCPU\tSystemCPU\tMaxRSSKiB\t"        \
    "Exitval\tError\tArg\n"

//  The ARGs, as msgpack argument arrays in one zone
typedef struct {
    msgpack_zone zone;
    msgpack_object *items;  //  Owned: one argument array per ARG
    char **texts;           //  Borrowed or owned (stdin): the ARG texts
    bool owns_texts;
    size_t count;
    size_t limit;
    size_t *numbers;  //  Owned: each item's ARG number, 1 up (after
                      //  --resume left some out), or NULL: index + 1
} map_args_t;

static void
s_args_destroy (map_args_t *args)
{
    msgpack_zone_destroy (&args->zone);
    if (args->owns_texts)
        for (size_t index = 0; index < args->count; index++)
            free (args->texts[index]);
    free (args->texts);
    free (args->items);
    free (args->numbers);
}

//  The ARG number of item index
static size_t
s_args_number (const map_args_t *args, size_t index)
{
    return args->numbers ? args->numbers[index] : index + 1;
}

//  Add one ARG. Returns 0, or -1 with the reason.
static int
s_args_add (map_args_t *args, char *text, zmp_error_t *error)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    if (zmp_json_parse_pack (text, &packer, error)) {
        msgpack_sbuffer_destroy (&buffer);
        return -1;
    }
    //  Decode into the zone, from a copy kept there (strings point into it)
    char *bytes = (char *) msgpack_zone_malloc (&args->zone, buffer.size);
    memcpy (bytes, buffer.data, buffer.size);
    size_t offset = 0;
    msgpack_object value;
    msgpack_unpack (bytes, buffer.size, &offset, &args->zone, &value);
    msgpack_sbuffer_destroy (&buffer);
    if (args->count == args->limit) {
        args->limit = args->limit ? args->limit * 2 : 64;
        args->items = (msgpack_object *) realloc (
            args->items, args->limit * sizeof (msgpack_object));
        args->texts =
            (char **) realloc (args->texts, args->limit * sizeof (char *));
        assert (args->items && args->texts);
    }
    if (value.type == MSGPACK_OBJECT_ARRAY)
        args->items[args->count] = value;
    else {
        msgpack_object *one = (msgpack_object *) msgpack_zone_malloc (
            &args->zone, sizeof (msgpack_object));
        *one = value;
        args->items[args->count] = zmp_array (one, 1);
    }
    args->texts[args->count++] = text;
    return 0;
}

//  Read ARGs from stdin, one per line (blank lines skipped).
static int
s_args_read_stdin (map_args_t *args, zmp_error_t *error)
{
    args->owns_texts = true;
    char *line = NULL;
    size_t size = 0;
    ssize_t length;
    size_t number = 0;
    int rc = 0;
    while (rc == 0 && (length = getline (&line, &size, stdin)) != -1) {
        number++;
        while (length > 0
               && (line[length - 1] == '\n' || line[length - 1] == '\r'))
            line[--length] = 0;
        if (length == 0)
            continue;
        char *text = strdup (line);
        if (s_args_add (args, text, error)) {
            char reason[ZMP_ERROR_MESSAGE_MAX];
            snprintf (reason, sizeof reason, "%s", error->message);
            zmp_error_set (error, ZMP_ERR_USAGE, "line %zu: %s", number,
                           reason);
            free (text);
            rc = -1;
        }
    }
    free (line);
    return rc;
}

static void
s_print_error (const map_args_t *args, size_t index, const zmp_error_t *error)
{
    char text[ZMP_ERROR_MESSAGE_MAX + ZMP_ERROR_HOST_MAX + 128];
    zmp_error_t shown = *error;
    shown.index = -1;  //  The line names the task already
    zmp_error_format (&shown, text, sizeof text);
    char arg[64];
    zmp_log_clean (args->texts[index], strlen (args->texts[index]), arg,
                   sizeof arg);
    fprintf (stderr, "zmpool map: task %zu (ARG %s): %s\n",
             s_args_number (args, index), arg, text);
}

//  --------------------------------------------------------------------------
//  The joblog

//  text with backslash, tab, newline and carriage return escaped (\\, \t,
//  \n, \r): one field of one line whatever it holds. The caller frees it.
static char *
s_joblog_escape (const char *text)
{
    char *escaped = (char *) malloc (2 * strlen (text) + 1);
    char *out = escaped;
    for (; *text; text++) {
        const char *pair = *text == '\\'   ? "\\\\"
                           : *text == '\t' ? "\\t"
                           : *text == '\n' ? "\\n"
                           : *text == '\r' ? "\\r"
                                           : NULL;
        if (pair) {
            *out++ = pair[0];
            *out++ = pair[1];
        } else
            *out++ = *text;
    }
    *out = 0;
    return escaped;
}

//  --resume: leave out the ARGs joblog says were done; each must be the
//  same ARG at the same number as then (a failed one runs again, and may
//  have changed). Returns 0, or -1 with the reason.
static int
s_joblog_resume (const char *path, map_args_t *args, size_t *skipped,
                 zmp_error_t *error)
{
    *skipped = 0;
    FILE *file = fopen (path, "r");
    if (!file && errno == ENOENT)
        return 0;  //  Nothing done yet
    if (!file) {
        zmp_error_set (error, ZMP_ERR_USAGE, "cannot read %s: %s", path,
                       strerror (errno));
        return -1;
    }
    bool *done = (bool *) calloc (args->count + 1, sizeof (bool));
    char *line = NULL;
    size_t size = 0, number = 0;
    ssize_t length;
    int rc = 0;
    while (rc == 0 && (length = getline (&line, &size, file)) > 0) {
        number++;
        if (line[length - 1] != '\n')
            break;  //  The last line, cut short by a map killed writing it
        line[--length] = 0;
        if (number == 1 && strncmp (line, "Seq\t", 4) == 0)
            continue;  //  The header
        //  Seq, then 6 figures, Exitval, Error, Arg
        char *fields[10];
        char *cursor = line;
        int count = 0;
        for (; count < 10 && cursor; count++) {
            fields[count] = cursor;
            cursor = count < 9 ? strchr (cursor, '\t') : NULL;
            if (cursor)
                *cursor++ = 0;
        }
        long seq;
        if (count < 10 || !cli_parse_long (fields[0], 1, LONG_MAX, &seq)) {
            zmp_error_set (error, ZMP_ERR_USAGE,
                           "%s, line %zu: not a joblog line", path, number);
            rc = -1;
        } else if (!streq (fields[7], "0"))
            ;  //  Failed: it runs again, perhaps with its ARG mended
        else {
            char *now = (size_t) seq <= args->count
                            ? s_joblog_escape (args->texts[seq - 1])
                            : NULL;
            if (!now || strcmp (fields[9], now)) {
                zmp_error_set (error, ZMP_ERR_USAGE,
                               "%s, line %zu: ARG %ld was '%.40s', not what it "
                               "is now: a joblog resumes the same ARGs only",
                               path, number, seq, fields[9]);
                rc = -1;
            } else
                done[seq] = true;
            free (now);
        }
    }
    free (line);
    fclose (file);
    if (rc == 0) {
        //  Keep the others, in order, with their numbers
        args->numbers = (size_t *) malloc ((args->count + 1) * sizeof (size_t));
        size_t kept = 0;
        for (size_t index = 0; index < args->count; index++) {
            if (done[index + 1]) {
                if (args->owns_texts)
                    free (args->texts[index]);
                (*skipped)++;
                continue;
            }
            args->items[kept] = args->items[index];
            args->texts[kept] = args->texts[index];
            args->numbers[kept++] = index + 1;
        }
        args->count = kept;
    }
    free (done);
    return rc;
}

//  A joblog line for ARG index, computed by the task usage says (NULL:
//  not known); error NULL when it succeeded
static void
s_joblog_write (FILE *joblog, const map_args_t *args, size_t index,
                const zmp_usage_t *usage, const zmp_error_t *error)
{
    if (!joblog)
        return;
    char *host = s_joblog_escape (usage ? usage->host : "-");
    fprintf (joblog, "%zu\t%s\t", s_args_number (args, index), host);
    free (host);
    if (usage)
        fprintf (joblog, "%.3f\t%.3f\t%.3f\t%.3f\t%lld\t",
                 (double) usage->start_us / 1e6, (double) usage->wall_us / 1e6,
                 (double) usage->user_us / 1e6, (double) usage->system_us / 1e6,
                 (long long) usage->max_rss_kib);
    else
        fputs ("-\t-\t-\t-\t-\t", joblog);
    char *arg = s_joblog_escape (args->texts[index]);
    fprintf (joblog, "%d\t%s\t%s\n", error ? 1 : 0,
             error ? zmp_error_kind_name (error->kind) : "-", arg);
    free (arg);
    fflush (joblog);  //  A map killed later leaves a true record
}

//  Run the map on client; prints results. Returns the exit status.
static int
s_run (zmp_client_t *client, const char *function, map_args_t *args,
       int processes, size_t chunksize, int timeout_ms, int task_timeout_ms,
       FILE *joblog, bool quiet)
{
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, processes, &error);
    if (!pool)
        return cli_fail ("map", "%s", error.message);
    if (zmp_pool_set_task_timeout (pool, task_timeout_ms, &error)) {
        zmp_pool_destroy (&pool);
        return cli_fail ("map", "%s", error.message);
    }
    if (zmp_client_slots (client) == 0 && !quiet)
        fprintf (stderr,
                 "zmpool map: the broker at %s has no workers yet; the tasks "
                 "wait for one (Ctrl-C to stop)\n",
                 zmp_client_endpoint (client));
    if (chunksize == 0 && args->count > 0) {
        size_t divisor =
            (size_t) (zmp_pool_processes (pool) > 0 ? zmp_pool_processes (pool)
                                                    : 1)
            * 4;
        chunksize = (args->count + divisor - 1) / divisor;
    }
    zmp_array_source_t source = { args->items, args->count, 0 };
    zmp_iter_t *iter = zmp_pool_istarmap (pool, function, zmp_array_source,
                                          &source, chunksize, &error);
    if (!iter) {
        zmp_pool_destroy (&pool);
        return cli_fail ("map", "%s", error.message);
    }
    int64_t deadline = timeout_ms > 0 ? zclock_mono () + timeout_ms : 0;
    int rc = ZMP_EXIT_OK;
    //  A progress line only when the results go elsewhere: on the same
    //  terminal, the results scrolling by are the progress
    progress_t *progress =
        progress_new ("map", args->count, quiet || isatty (STDOUT_FILENO));
    uint64_t done = 0;
    while (rc == ZMP_EXIT_OK && !zmp_iter_done (iter)) {
        const msgpack_object *value = zmp_iter_next (iter, MAP_POLL_MS, &error);
        zmp_usage_t usage;
        if (value) {
            char *text = zmp_json_text (value);
            puts (text);
            free (text);
            progress_update (progress, ++done);
            s_joblog_write (joblog, args, zmp_iter_index (iter),
                            zmp_iter_usage (iter, &usage) ? &usage : NULL,
                            NULL);
        } else if (error.kind != ZMP_ERR_WAIT_TIMEOUT) {
            progress_destroy (&progress);  //  The error line replaces it
            //  An item's own error names it (in a chunk, not the first)
            bool own = error.index >= 0 && (size_t) error.index < args->count;
            size_t failed = own ? (size_t) error.index : zmp_iter_index (iter);
            if (own)
                s_joblog_write (joblog, args, failed,
                                zmp_iter_usage (iter, &usage) ? &usage : NULL,
                                &error);
            if (error.kind == ZMP_ERR_UNREACHABLE
                || error.kind == ZMP_ERR_USAGE)
                rc = cli_fail ("map", "%s", error.message);
            else {
                s_print_error (args, failed, &error);
                rc = ZMP_EXIT_FAILED;
            }
        } else if (zsys_interrupted) {
            progress_destroy (&progress);
            rc = cli_fail ("map", "interrupted; cancelled the tasks left");
        } else if (deadline && zclock_mono () >= deadline) {
            progress_destroy (&progress);
            rc = cli_fail ("map",
                           "timed out after %d ms; cancelled the tasks left",
                           timeout_ms);
        }
    }
    progress_destroy (&progress);
    fflush (stdout);
    zmp_iter_destroy (&iter);
    zmp_pool_destroy (&pool);  //  Cancels whatever is left
    return rc;
}

int
cli_map (int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "processes", required_argument, NULL, 'p' },
        { "chunksize", required_argument, NULL, 'C' },
        { "module", required_argument, NULL, 'm' },
        { "timeout", required_argument, NULL, 't' },
        { "task-timeout", required_argument, NULL, 'T' },
        { "joblog", required_argument, NULL, 'J' },
        { "resume", no_argument, NULL, 'R' },
        { "quiet", no_argument, NULL, 'q' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *endpoint = NULL;
    long processes = 0, chunksize = 0;
    int timeout_ms = 0, task_timeout_ms = 0;
    const char *joblog_path = NULL;
    bool resume = false;
    int verbosity = 0;
    const char **modules =
        (const char **) calloc ((size_t) argc + 1, sizeof (char *));
    size_t module_count = 0;
    int rc = -1;
    int option;
    opterr = 0;
    //  '+': stop at FUNCTION, so that ARGs like -1 are not options
    while (
        rc < 0
        && (option = getopt_long (argc, argv, "+:c:p:m:t:qvh", options, NULL))
               != -1) {
        switch (option) {
            case 'c':
                endpoint = optarg;
                break;
            case 'p':
                if (!cli_parse_long (optarg, 1, 1000000, &processes))
                    rc = cli_usage_error (
                        "map", "--processes takes 1 or more, not '%s'", optarg);
                break;
            case 'C':
                if (!cli_parse_long (optarg, 1, 8192, &chunksize))
                    rc = cli_usage_error (
                        "map", "--chunksize takes 1 to 8192, not '%s'", optarg);
                break;
            case 'm':
                modules[module_count++] = optarg;
                break;
            case 't':
                if (!cli_parse_seconds (optarg, 30 * 24 * 3600.0, &timeout_ms))
                    rc = cli_usage_error (
                        "map", "--timeout takes seconds, not '%s'", optarg);
                break;
            case 'T':
                if (!cli_parse_seconds (optarg, 7 * 24 * 3600.0,
                                        &task_timeout_ms)
                    || task_timeout_ms == 0)
                    rc = cli_usage_error (
                        "map",
                        "--task-timeout takes seconds (a week at most), "
                        "not '%s'",
                        optarg);
                break;
            case 'J':
                if (!*optarg)
                    rc = cli_usage_error ("map", "--joblog takes a file");
                joblog_path = optarg;
                break;
            case 'R':
                resume = true;
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
                rc = cli_option_error ("map", option, argv);
        }
    }
    if (rc < 0 && resume && !joblog_path)
        rc = cli_usage_error ("map", "--resume needs --joblog FILE");
    if (rc < 0)
        rc = cli_check_function ("map", optind < argc, endpoint, module_count);
    if (rc >= 0) {
        free (modules);
        return rc;
    }
    const char *function = argv[optind++];
    map_args_t args;
    memset (&args, 0, sizeof args);
    msgpack_zone_init (&args.zone, 64 * 1024);
    zmp_error_t error;
    if (optind == argc - 1 && streq (argv[optind], "-")) {
        if (s_args_read_stdin (&args, &error))
            rc = cli_usage_error ("map", "%s", error.message);
    } else
        for (int index = optind; index < argc && rc < 0; index++)
            if (s_args_add (&args, argv[index], &error))
                rc = cli_usage_error ("map", "ARG %d ('%s'): %s",
                                      index - optind + 1, argv[index],
                                      error.message);
    if (rc < 0 && args.count == 0)
        rc = cli_usage_error ("map", "no ARG given");
    size_t skipped = 0;
    if (rc < 0 && resume
        && s_joblog_resume (joblog_path, &args, &skipped, &error))
        rc = cli_usage_error ("map", "%s", error.message);
    FILE *joblog = NULL;
    if (rc < 0 && joblog_path) {
        joblog = fopen (joblog_path, resume ? "a" : "w");
        if (!joblog)
            rc = cli_usage_error ("map", "cannot write --joblog %s: %s",
                                  joblog_path, strerror (errno));
        else if (ftell (joblog) == 0)
            fputs (JOBLOG_HEADER, joblog);
    }
    if (rc < 0 && resume && verbosity >= 0)
        fprintf (stderr, "zmpool map: %zu ARGs done already (%s); %zu to run\n",
                 skipped, joblog_path, args.count);
    if (rc < 0 && args.count == 0) {
        rc = ZMP_EXIT_OK;  //  All done before
        fclose (joblog);
        joblog = NULL;
    }
    if (rc >= 0) {
        if (joblog)
            fclose (joblog);
        s_args_destroy (&args);
        free (modules);
        return rc;
    }

    local_cluster_t *local = NULL;
    zmp_client_t *client = cli_cluster_open ("map", endpoint, (int) processes,
                                             modules, verbosity, &local);
    free (modules);
    if (client)
        rc = s_run (client, function, &args, local ? 0 : (int) processes,
                    (size_t) chunksize, timeout_ms, task_timeout_ms, joblog,
                    verbosity < 0);
    else
        rc = ZMP_EXIT_FAILED;
    cli_cluster_close (&client, &local);
    if (joblog && fclose (joblog) && rc == ZMP_EXIT_OK)
        rc = cli_fail ("map", "cannot write --joblog %s: %s", joblog_path,
                       strerror (errno));
    s_args_destroy (&args);
    return rc;
}
