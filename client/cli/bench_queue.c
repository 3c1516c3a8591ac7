/*  bench_queue - `zmpool bench queue`: what the state directory costs

    A Queue's items through a broker of the bench's own (in this process,
    on loopback TCP) in three configurations: in memory, with a state
    directory under --fsync never, and under --fsync always. Per run: the
    rate of pipelined puts on an unbounded queue (ended by a qsize, which
    is answered after all of them), then gets one at a time, each a round
    trip, with their rate and latency. The journals go in a fresh
    directory under --dir, removed after.
*/
#include "bench.h"

#include "cli.h"
#include "progress.h"
#include "zmp_broker.h"
#include "zmp_error.h"
#include "zmp_json.h"
#include "zmp_store.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#define QUEUE_CONFIGS 3

typedef struct {
    const char *name;  //  As the report says it
    bool journal;      //  With a state directory
    bool fsync_never;
    //  Per run
    double *puts;  //  items/s
    double *gets;  //  items/s
    double *p50;   //  us, a get's round trip
    double *p99;
} queue_config_t;

static const char *s_usage =
    "Usage: zmpool bench queue [OPTION]...\n"
    "Measure what keeping queues in a state directory costs: the rate of\n"
    "puts and of gets, one at a time, through a broker of the bench's own\n"
    "in memory, with --state-dir and --fsync never, and with --fsync always.\n"
    "\n"
    "  -n, --items N           items per run and configuration (default\n"
    "                          20000)\n"
    "      --size B            each item a string of B bytes, 1 to 1048576\n"
    "                          (default 64)\n"
    "      --dir DIR           where the journals go (default: $TMPDIR, else\n"
    "                          /var/tmp); its file system is what is measured\n"
    "  -r, --runs N            runs; medians are reported (default 3)\n"
    "      --json              one JSON object on stdout instead of a table\n"
    "  -q, --quiet             no progress line\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  zmpool bench queue --dir /srv/zmpool --runs 5\n";

//  One run on a client: puts, then gets. Returns 0, or -1 with error.
static int
s_run (zmp_client_t *client, long items, const msgpack_object *item,
       queue_config_t *config, int run, double *times, progress_t *progress,
       uint64_t *done, zmp_error_t *error)
{
    zmp_queue_t *queue = zmp_queue_new (client, 0, error);
    if (!queue)
        return -1;
    int rc = 0;
    double started = bench_now ();
    for (long index = 0; rc == 0 && index < items; index++)
        rc = zmp_queue_put (queue, item, -1, error);
    if (rc == 0 && zmp_queue_qsize (queue, error) != items)
        rc = -1;
    config->puts[run] = (double) items / (bench_now () - started);
    *done += (uint64_t) items;
    progress_update (progress, *done);
    started = bench_now ();
    for (long index = 0; rc == 0 && index < items; index++) {
        double asked = bench_now ();
        zmp_value_t *value = zmp_queue_get (queue, 5000, error);
        times[index] = (bench_now () - asked) * 1e6;
        rc = value ? 0 : -1;
        zmp_value_destroy (&value);
    }
    config->gets[run] = (double) items / (bench_now () - started);
    *done += (uint64_t) items;
    progress_update (progress, *done);
    if (rc == 0) {
        bench_sort (times, (size_t) items);
        config->p50[run] = bench_percentile (times, (size_t) items, 50);
        config->p99[run] = bench_percentile (times, (size_t) items, 99);
    }
    zmp_queue_destroy (&queue);
    return rc;
}


//  All runs of one configuration, on a broker of its own
static int
s_config (queue_config_t *config, const char *base, long items,
          const msgpack_object *item, int runs, progress_t *progress,
          uint64_t *done, zmp_error_t *error)
{
    char dir[PATH_MAX];
    snprintf (dir, sizeof dir, "%s/zmpool-bench-XXXXXX", base);
    if (config->journal && !mkdtemp (dir)) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "cannot make a directory in %s: %s", base,
                       strerror (errno));
        return -1;
    }
    zmp_broker_config_t broker_config = {
        .endpoint = "tcp://127.0.0.1:*",
        .prefetch = ZMP_BROKER_ADAPTIVE,
        .ready_fd = -1,
        .state_dir = config->journal ? dir : NULL,
        .fsync_never = config->fsync_never,
    };
    zmp_broker_t *broker = zmp_broker_new (&broker_config, error);
    if (!broker) {
        if (config->journal)
            zmp_store_state_dir_remove (dir);
        return -1;
    }
    char endpoint[256];
    snprintf (endpoint, sizeof endpoint, "%s", zmp_broker_endpoint (broker));
    zactor_t *actor = zactor_new (zmp_broker_actor, broker);
    zmp_client_t *client = zmp_client_connect (endpoint, 5000, error);
    int rc = client ? 0 : -1;
    double *times = (double *) calloc ((size_t) items, sizeof (double));
    for (int run = 0; rc == 0 && run < runs; run++)
        rc = s_run (client, items, item, config, run, times, progress, done,
                    error);
    free (times);
    zmp_client_destroy (&client);
    zactor_destroy (&actor);
    if (config->journal)
        zmp_store_state_dir_remove (dir);
    return rc;
}

static void
s_report (queue_config_t *configs, int runs, long items, long size,
          const char *base, const bench_machine_t *machine, bool json)
{
    if (json) {
        json_t *list = json_array ();
        for (int index = 0; index < QUEUE_CONFIGS; index++) {
            queue_config_t *config = &configs[index];
            json_array_append_new (
                list,
                json_pack (
                    "{s:s, s:f, s:f, s:f, s:f}", "name", config->name,
                    "puts_per_second",
                    bench_round (bench_median_of (config->puts, (size_t) runs),
                                 0),
                    "gets_per_second",
                    bench_round (bench_median_of (config->gets, (size_t) runs),
                                 0),
                    "get_p50_us",
                    bench_round (bench_median_of (config->p50, (size_t) runs),
                                 1),
                    "get_p99_us",
                    bench_round (bench_median_of (config->p99, (size_t) runs),
                                 1)));
        }
        json_t *object = json_pack (
            "{s:I, s:I, s:i, s:s, s:o, s:o}", "items", (json_int_t) items,
            "item_bytes", (json_int_t) size, "runs", runs, "dir", base,
            "configurations", list, "machine", bench_machine_json (machine));
        char *text = zmp_json_dump (object);
        printf ("%s\n", text);
        free (text);
        json_decref (object);
        return;
    }
    printf ("zmpool bench queue\n");
    printf ("machine   %s: %d cores, %s\n", machine->host, machine->cores,
            machine->cpu);
    printf ("versions  %s\n", machine->versions);
    printf ("journals  under %s\n", base);
    printf ("runs      %d, medians; %ld items (strings of %ld bytes) in and "
            "out\n\n",
            runs, items, size);
    printf ("%-26s %12s %12s %14s %14s\n", "", "puts/s", "gets/s",
            "get p50 (us)", "get p99 (us)");
    for (int index = 0; index < QUEUE_CONFIGS; index++) {
        queue_config_t *config = &configs[index];
        printf ("%-26s %12.0f %12.0f %14.1f %14.1f\n", config->name,
                bench_median_of (config->puts, (size_t) runs),
                bench_median_of (config->gets, (size_t) runs),
                bench_median_of (config->p50, (size_t) runs),
                bench_median_of (config->p99, (size_t) runs));
    }
}

int
cli_bench_queue (int argc, char **argv)
{
    static const struct option options[] = {
        { "items", required_argument, NULL, 'n' },
        { "size", required_argument, NULL, 'S' },
        { "dir", required_argument, NULL, 'D' },
        { "runs", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'J' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *command = "bench queue";
    long items = 20000, size = 64, runs = 3;
    const char *base = getenv ("TMPDIR");
    if (!base || !*base)
        base = "/var/tmp";
    bool json = false, quiet = false;
    int rc = -1, option;
    opterr = 0;
    while (rc < 0
           && (option = getopt_long (argc, argv, ":n:r:qh", options, NULL))
                  != -1) {
        switch (option) {
            case 'n':
                if (!cli_parse_long (optarg, 1, 100000000, &items))
                    rc = cli_usage_error (command,
                                          "--items takes 1 to 100000000");
                break;
            case 'S':
                if (!cli_parse_long (optarg, 1, 1 << 20, &size))
                    rc = cli_usage_error (command, "--size takes 1 to 1048576");
                break;
            case 'D':
                base = optarg;
                break;
            case 'r':
                if (!cli_parse_long (optarg, 1, 1000, &runs))
                    rc = cli_usage_error (command, "--runs takes 1 to 1000");
                break;
            case 'J':
                json = true;
                break;
            case 'q':
                quiet = true;
                break;
            case 'h':
                fputs (s_usage, stdout);
                rc = ZMP_EXIT_OK;
                break;
            default:
                rc = cli_option_error (command, option, argv);
        }
    }
    if (rc < 0 && optind < argc)
        rc =
            cli_usage_error (command, "unexpected argument '%s'", argv[optind]);
    if (rc >= 0)
        return rc;

    cli_log_init ("zmpool", -1);
    bench_machine_t machine;
    bench_machine (&machine);
    char *text = (char *) malloc ((size_t) size + 1);
    memset (text, 'q', (size_t) size);
    text[size] = 0;
    msgpack_object item = zmp_str (text);
    queue_config_t configs[QUEUE_CONFIGS] = {
        { "in memory", false, false, NULL, NULL, NULL, NULL },
        { "--state-dir, --fsync never", true, true, NULL, NULL, NULL, NULL },
        { "--state-dir, --fsync always", true, false, NULL, NULL, NULL, NULL },
    };
    progress_t *progress = progress_new (
        "items", (uint64_t) (QUEUE_CONFIGS * runs * 2 * items), quiet || json);
    uint64_t done = 0;
    zmp_error_t error;
    rc = 0;
    for (int index = 0; index < QUEUE_CONFIGS; index++) {
        queue_config_t *config = &configs[index];
        config->puts = (double *) calloc ((size_t) runs, sizeof (double));
        config->gets = (double *) calloc ((size_t) runs, sizeof (double));
        config->p50 = (double *) calloc ((size_t) runs, sizeof (double));
        config->p99 = (double *) calloc ((size_t) runs, sizeof (double));
        if (rc == 0)
            rc = s_config (config, base, items, &item, (int) runs, progress,
                           &done, &error);
    }
    progress_destroy (&progress);
    if (rc == 0)
        s_report (configs, (int) runs, items, size, base, &machine, json);
    else
        cli_fail (command, "%s", error.message);
    for (int index = 0; index < QUEUE_CONFIGS; index++) {
        free (configs[index].puts);
        free (configs[index].gets);
        free (configs[index].p50);
        free (configs[index].p99);
    }
    free (text);
    return rc == 0 ? ZMP_EXIT_OK : ZMP_EXIT_FAILED;
}
