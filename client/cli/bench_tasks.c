/*  bench_tasks - `zmpool bench tasks`: what each task costs

    Three figures through the real path (client, broker, agent, task
    process and back) with no-op tasks: throughput at chunksize 1 with many
    tasks in flight, throughput at a large chunksize, and the round trip of
    one task at a time. Beside them, in the same run, the transport floor:
    a plain DEALER talking to a ROUTER that echoes (`zmpool bench echo`, a
    process of its own) over the same kind of endpoint, one hop. The ratios
    show what zmpool adds on this machine.
*/
#include "bench.h"

#include "cli.h"
#include "local_cluster.h"
#include "progress.h"
#include "zmp_error.h"
#include "zmp_json.h"
#include "zmp_log.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#define FLOOR_WINDOW 1000  //  Echo messages in flight, pipelined

typedef struct {
    long tasks;          //  Tasks at chunksize 1
    long chunked_tasks;  //  Tasks at the large chunksize
    long chunksize;      //  The large chunksize
    long samples;        //  One-task round trips
    int runs;
    bool quiet;
    //  Per run
    double *chunk1;           //  tasks/s
    double *chunked;          //  tasks/s
    double *p50, *p99, *max;  //  microseconds
    double *broker_rtt;       //  microseconds, p50: a status request
    double *floor_rtt;        //  microseconds, p50
    double *floor_rate;       //  messages/s
    zmp_pool_usage_t usage;   //  What the tasks used, as measured
} tasks_bench_t;

static const char *s_usage =
    "Usage: zmpool bench tasks [OPTION]...\n"
    "Measure what a task costs: throughput of no-op tasks at chunksize 1 and\n"
    "at a large chunksize, and the round trip of one task at a time, beside\n"
    "a plain ZeroMQ echo over the same kind of endpoint (the floor).\n"
    "\n"
    "  -c, --connect EP        broker endpoint (default: $ZMPOOL_BROKER, else\n"
    "                          " ZMP_DEFAULT_ENDPOINT
    ", else a local cluster)\n"
    "  -p, --processes N       local cluster's task processes (default: one\n"
    "                          per core)\n"
    "  -n, --tasks N           tasks at chunksize 1 (default 200000)\n"
    "      --chunked-tasks N   tasks at the large chunksize (default 2000000)\n"
    "      --chunksize N       the large chunksize (default 100)\n"
    "      --samples N         one-task round trips (default 5000)\n"
    "  -r, --runs N            runs; medians are reported (default 3)\n"
    "      --json              one JSON object on stdout instead of a table\n"
    "  -q, --quiet             no progress line\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  zmpool bench tasks --connect tcp://127.0.0.1:5555 --json\n";

static const msgpack_object *
s_noop_source (void *state)
{
    //  Every item is nil: noop takes any one argument
    static const msgpack_object nil = { MSGPACK_OBJECT_NIL, { 0 } };
    long *left = (long *) state;
    if (*left <= 0)
        return NULL;
    (*left)--;
    return &nil;
}

//  Tasks per second of count no-op tasks at chunksize, in order.
static double
s_throughput (zmp_pool_t *pool, long count, long chunksize,
              progress_t *progress, uint64_t *done, zmp_error_t *error)
{
    long left = count;
    zmp_iter_t *iter = zmp_pool_imap (pool, "noop", s_noop_source, &left,
                                      (size_t) chunksize, error);
    if (!iter)
        return -1;
    double started = bench_now ();
    long taken = 0;
    while (!zmp_iter_done (iter)) {
        if (!zmp_iter_next (iter, ZMP_FOREVER, error)) {
            zmp_iter_destroy (&iter);
            return -1;
        }
        if (++taken % 4096 == 0)
            progress_update (progress, *done + (uint64_t) taken);
    }
    double seconds = bench_now () - started;
    *done += (uint64_t) taken;
    zmp_iter_destroy (&iter);
    return (double) count / seconds;
}

//  Round trips of one no-op task at a time: p50, p99 and max, in us.
static int
s_latency (zmp_pool_t *pool, long samples, double *p50, double *p99,
           double *max, zmp_error_t *error)
{
    double *times = (double *) calloc ((size_t) samples, sizeof (double));
    msgpack_object nil = zmp_nil ();
    msgpack_object args = zmp_array (&nil, 1);
    int rc = 0;
    for (long index = 0; rc == 0 && index < samples; index++) {
        double started = bench_now ();
        zmp_value_t *value = zmp_pool_apply (pool, "noop", &args, error);
        times[index] = (bench_now () - started) * 1e6;
        rc = value ? 0 : -1;
        zmp_value_destroy (&value);
    }
    if (rc == 0) {
        bench_sort (times, (size_t) samples);
        *p50 = bench_percentile (times, (size_t) samples, 50);
        *p99 = bench_percentile (times, (size_t) samples, 99);
        *max = times[samples - 1];
    }
    free (times);
    return rc;
}

//  p50 of round trips to the broker alone (status requests), in us: the
//  client's and the broker's part of a task's round trip.
static int
s_broker_latency (zmp_client_t *client, long samples, double *p50,
                  zmp_error_t *error)
{
    double *times = (double *) calloc ((size_t) samples, sizeof (double));
    int rc = 0;
    for (long index = 0; rc == 0 && index < samples; index++) {
        double started = bench_now ();
        zmp_value_t *status = zmp_client_status (client, 5000, error);
        times[index] = (bench_now () - started) * 1e6;
        rc = status ? 0 : -1;
        zmp_value_destroy (&status);
    }
    if (rc == 0) {
        bench_sort (times, (size_t) samples);
        *p50 = bench_percentile (times, (size_t) samples, 50);
    }
    free (times);
    return rc;
}

//  The floor: round trips and pipelined messages to a plain echo.
static int
s_floor (const char *endpoint, long samples, long messages, double *rtt_p50,
         double *rate)
{
    zsock_t *socket = zsock_new_dealer (endpoint);
    if (!socket)
        return -1;
    zsock_set_rcvtimeo (socket, 5000);
    byte payload[24] = { 0 };  //  About a no-op task's two frames
    double *times = (double *) calloc ((size_t) samples, sizeof (double));
    int rc = 0;
    for (long index = 0; rc == 0 && index < samples; index++) {
        double started = bench_now ();
        zframe_t *frame = zframe_new (payload, sizeof payload);
        zframe_send (&frame, socket, 0);
        frame = zframe_recv (socket);
        times[index] = (bench_now () - started) * 1e6;
        rc = frame ? 0 : -1;
        zframe_destroy (&frame);
    }
    if (rc == 0) {
        bench_sort (times, (size_t) samples);
        *rtt_p50 = bench_percentile (times, (size_t) samples, 50);
    }
    free (times);
    double started = bench_now ();
    long sent = 0, received = 0;
    while (rc == 0 && received < messages) {
        while (sent < messages && sent - received < FLOOR_WINDOW) {
            zframe_t *frame = zframe_new (payload, sizeof payload);
            zframe_send (&frame, socket, 0);
            sent++;
        }
        zframe_t *frame = zframe_recv (socket);
        rc = frame ? 0 : -1;
        received++;
        zframe_destroy (&frame);
    }
    *rate = (double) messages / (bench_now () - started);
    zsock_destroy (&socket);
    return rc;
}

//  An echo endpoint of the same kind as the cluster's.
static void
s_echo_endpoint (const char *cluster, char *endpoint, size_t size,
                 char *directory, size_t directory_size)
{
    directory[0] = 0;
    if (strncmp (cluster, "ipc://", 6) == 0) {
        snprintf (directory, directory_size, "/tmp/zmpool-echo-XXXXXX");
        if (mkdtemp (directory)) {
            snprintf (endpoint, size, "ipc://%s/echo", directory);
            return;
        }
        directory[0] = 0;
    }
    snprintf (endpoint, size, "tcp://127.0.0.1:*");
}

static void
s_report (tasks_bench_t *self, const bench_machine_t *machine, bool json,
          const char *cluster, const char *floor_endpoint)
{
    double chunk1 = bench_median_of (self->chunk1, (size_t) self->runs);
    double chunked = bench_median_of (self->chunked, (size_t) self->runs);
    double p50 = bench_median_of (self->p50, (size_t) self->runs);
    double p99 = bench_median_of (self->p99, (size_t) self->runs);
    double max = bench_median_of (self->max, (size_t) self->runs);
    double floor_rtt = bench_median_of (self->floor_rtt, (size_t) self->runs);
    double broker_rtt = bench_median_of (self->broker_rtt, (size_t) self->runs);
    double floor_rate = bench_median_of (self->floor_rate, (size_t) self->runs);
    if (json) {
        json_t *object = json_pack (
            "{s:I, s:I, s:I, s:f, s:f, s:{s:f, s:f, s:f}, s:{s:f, s:f}, "
            "s:{s:f, s:f}, s:i, s:I, s:o, s:s, s:s, s:f}",
            "tasks", (json_int_t) self->tasks, "chunked_tasks",
            (json_int_t) self->chunked_tasks, "chunksize",
            (json_int_t) self->chunksize, "chunksize1_tasks_per_second",
            bench_round (chunk1, 0), "chunked_tasks_per_second",
            bench_round (chunked, 0), "latency_us", "p50", bench_round (p50, 1),
            "p99", bench_round (p99, 1), "max", bench_round (max, 1), "floor",
            "round_trip_us", bench_round (floor_rtt, 1), "messages_per_second",
            bench_round (floor_rate, 0), "ratios", "round_trip",
            bench_round (p50 / floor_rtt, 2), "throughput",
            bench_round (chunk1 / floor_rate, 3), "runs", self->runs, "samples",
            (json_int_t) self->samples, "machine", bench_machine_json (machine),
            "cluster", cluster, "floor_endpoint", floor_endpoint,
            "broker_round_trip_us", bench_round (broker_rtt, 1));
        json_object_set_new (object, "task_usage",
                             bench_usage_json (&self->usage));
        char *text = zmp_json_dump (object);
        printf ("%s\n", text);
        free (text);
        json_decref (object);
        return;
    }
    printf ("zmpool bench tasks\n");
    printf ("machine   %s: %d cores, %s\n", machine->host, machine->cores,
            machine->cpu);
    printf ("versions  %s\n", machine->versions);
    printf ("cluster   %s\n", cluster);
    printf ("floor     ROUTER echo at %s, one hop\n", floor_endpoint);
    printf ("runs      %d, medians; %ld + %ld tasks, %ld round trips each\n",
            self->runs, self->tasks, self->chunked_tasks, self->samples);
    bench_usage_print (&self->usage);
    printf ("\n");
    printf ("%-34s %12s %12s %8s\n", "", "zmpool", "floor", "ratio");
    printf ("%-34s %12.0f %12.0f %8.3f\n", "throughput, chunksize 1 (tasks/s)",
            chunk1, floor_rate, chunk1 / floor_rate);
    char label[64];
    snprintf (label, sizeof label, "throughput, chunksize %ld (tasks/s)",
              self->chunksize);
    printf ("%-34s %12.0f\n", label, chunked);
    printf ("%-34s %12.1f %12.1f %8.2f\n", "round trip p50 (us)", p50,
            floor_rtt, p50 / floor_rtt);
    printf ("%-34s %12.1f\n", "round trip p99 (us)", p99);
    printf ("%-34s %12.1f\n", "round trip max (us)", max);
    printf ("%-34s %12.1f %12.1f %8.2f\n", "broker alone, p50 (us)", broker_rtt,
            floor_rtt, broker_rtt / floor_rtt);
}

static void
s_bench_free (tasks_bench_t *self)
{
    free (self->chunk1);
    free (self->chunked);
    free (self->p50);
    free (self->p99);
    free (self->max);
    free (self->broker_rtt);
    free (self->floor_rtt);
    free (self->floor_rate);
}

int
cli_bench_tasks (int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "processes", required_argument, NULL, 'p' },
        { "tasks", required_argument, NULL, 'n' },
        { "chunked-tasks", required_argument, NULL, 'N' },
        { "chunksize", required_argument, NULL, 'C' },
        { "samples", required_argument, NULL, 'S' },
        { "runs", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'J' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *command = "bench tasks";
    tasks_bench_t self;
    memset (&self, 0, sizeof self);
    self.tasks = 200000;
    self.chunked_tasks = 2000000;
    self.chunksize = 100;
    self.samples = 5000;
    self.runs = 3;
    const char *endpoint = NULL;
    long processes = 0, number;
    bool json = false;
    int rc = -1, option;
    opterr = 0;
    while (rc < 0
           && (option = getopt_long (argc, argv, ":c:p:n:r:qh", options, NULL))
                  != -1) {
        switch (option) {
            case 'c':
                endpoint = optarg;
                break;
            case 'p':
                if (!cli_parse_long (optarg, 1, 4096, &processes))
                    rc = cli_usage_error (command,
                                          "--processes takes 1 to 4096");
                break;
            case 'n':
                if (!cli_parse_long (optarg, 1, 1000000000, &self.tasks))
                    rc = cli_usage_error (command, "--tasks takes 1 or more");
                break;
            case 'N':
                if (!cli_parse_long (optarg, 1, 1000000000,
                                     &self.chunked_tasks))
                    rc = cli_usage_error (command,
                                          "--chunked-tasks takes 1 or more");
                break;
            case 'C':
                if (!cli_parse_long (optarg, 1, 8192, &self.chunksize))
                    rc = cli_usage_error (command,
                                          "--chunksize takes 1 to 8192");
                break;
            case 'S':
                if (!cli_parse_long (optarg, 1, 10000000, &self.samples))
                    rc = cli_usage_error (command, "--samples takes 1 or more");
                break;
            case 'r':
                if (!cli_parse_long (optarg, 1, 1000, &number))
                    rc = cli_usage_error (command, "--runs takes 1 to 1000");
                self.runs = (int) number;
                break;
            case 'J':
                json = true;
                break;
            case 'q':
                self.quiet = true;
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

    bench_machine_t machine;
    bench_machine (&machine);
    local_cluster_t *local = NULL;
    zmp_client_t *client = cli_cluster_open (command, endpoint, (int) processes,
                                             NULL, self.quiet ? -1 : 0, &local);
    if (!client)
        return ZMP_EXIT_FAILED;
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    if (!pool) {
        cli_cluster_close (&client, &local);
        return cli_fail (command, "%s", error.message);
    }
    char cluster[300];
    snprintf (cluster, sizeof cluster, "%s %s, %d task processes",
              local ? "local" : "broker", zmp_client_endpoint (client),
              zmp_pool_processes (pool));

    //  The floor's echo, a process of its own like the broker
    char echo_endpoint[256], directory[64], line[256];
    s_echo_endpoint (zmp_client_endpoint (client), echo_endpoint,
                     sizeof echo_endpoint, directory, sizeof directory);
    char *echo_argv[] = { "zmpool",      "bench",      "echo", "--bind",
                          echo_endpoint, "--ready-fd", "3",    NULL };
    pid_t echo = local_cluster_spawn (echo_argv, line, sizeof line, 10000);
    if (echo < 0) {
        zmp_pool_destroy (&pool);
        cli_cluster_close (&client, &local);
        return cli_fail (command, "the echo server did not start");
    }

    self.chunk1 = (double *) calloc ((size_t) self.runs, sizeof (double));
    self.chunked = (double *) calloc ((size_t) self.runs, sizeof (double));
    self.p50 = (double *) calloc ((size_t) self.runs, sizeof (double));
    self.p99 = (double *) calloc ((size_t) self.runs, sizeof (double));
    self.max = (double *) calloc ((size_t) self.runs, sizeof (double));
    self.broker_rtt = (double *) calloc ((size_t) self.runs, sizeof (double));
    self.floor_rtt = (double *) calloc ((size_t) self.runs, sizeof (double));
    self.floor_rate = (double *) calloc ((size_t) self.runs, sizeof (double));
    uint64_t units =
        (uint64_t) self.runs * (uint64_t) (self.tasks + self.chunked_tasks);
    progress_t *progress = progress_new ("tasks", units, self.quiet || json);
    uint64_t done = 0;
    //  Warm up: connections, caches, the broker's view of task times
    uint64_t warm = 0;
    rc = s_throughput (pool, 20000, 1, NULL, &warm, &error) > 0 ? 0 : -1;
    for (int run = 0; rc == 0 && run < self.runs; run++) {
        self.chunk1[run] =
            s_throughput (pool, self.tasks, 1, progress, &done, &error);
        self.chunked[run] =
            self.chunk1[run] < 0
                ? -1
                : s_throughput (pool, self.chunked_tasks, self.chunksize,
                                progress, &done, &error);
        rc = self.chunked[run] < 0
                 ? -1
                 : s_latency (pool, self.samples, &self.p50[run],
                              &self.p99[run], &self.max[run], &error);
        if (rc == 0)
            rc = s_broker_latency (client, self.samples, &self.broker_rtt[run],
                                   &error);
        if (rc == 0
            && s_floor (line, self.samples, self.tasks, &self.floor_rtt[run],
                        &self.floor_rate[run])) {
            zmp_error_set (&error, ZMP_ERR_SYSTEM, "the echo server failed");
            rc = -1;
        }
    }
    progress_destroy (&progress);
    if (rc == 0)
        zmp_pool_usage (pool, &self.usage);
    if (rc == 0)
        s_report (&self, &machine, json, cluster, line);
    else
        cli_fail (command, "%s", error.message);
    local_cluster_reap (echo);
    if (directory[0]) {
        char path[128];
        snprintf (path, sizeof path, "%s/echo", directory);
        unlink (path);
        rmdir (directory);
    }
    zmp_pool_destroy (&pool);
    cli_cluster_close (&client, &local);
    s_bench_free (&self);
    return rc == 0 ? ZMP_EXIT_OK : ZMP_EXIT_FAILED;
}

static const char *s_echo_usage =
    "Usage: zmpool bench echo [OPTION]...\n"
    "A plain ROUTER that sends every message back as it came: the transport\n"
    "floor `zmpool bench tasks` compares zmpool with. Runs until Ctrl-C or\n"
    "SIGTERM.\n"
    "\n"
    "  -b, --bind EP           endpoint to bind (default tcp://127.0.0.1:*)\n"
    "      --ready-fd N        write the bound endpoint to fd N, then close it\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  zmpool bench echo --bind tcp://127.0.0.1:5599\n";

int
cli_bench_echo (int argc, char **argv)
{
    static const struct option options[] = {
        { "bind", required_argument, NULL, 'b' },
        { "ready-fd", required_argument, NULL, 'R' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *endpoint = "tcp://127.0.0.1:*";
    long ready_fd = -1;
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, ":b:h", options, NULL)) != -1) {
        switch (option) {
            case 'b':
                endpoint = optarg;
                break;
            case 'R':
                if (!cli_parse_long (optarg, 0, 65535, &ready_fd))
                    return cli_usage_error ("bench echo",
                                            "--ready-fd takes an fd");
                break;
            case 'h':
                fputs (s_echo_usage, stdout);
                return ZMP_EXIT_OK;
            default:
                return cli_option_error ("bench echo", option, argv);
        }
    }
    cli_log_init ("zmpool-echo", -1);
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_sndhwm (router, 0);
    zsock_set_rcvhwm (router, 0);
    if (zsock_bind (router, "%s", endpoint) == -1) {
        zsock_destroy (&router);
        return cli_fail ("bench echo", "cannot bind %s", endpoint);
    }
    char *bound = zsock_last_endpoint (router);
    if (ready_fd >= 0) {
        dprintf ((int) ready_fd, "%s\n", bound);
        close ((int) ready_fd);
    }
    zstr_free (&bound);
    while (!zsys_interrupted) {
        zmsg_t *msg = zmsg_recv (router);
        if (!msg)
            break;
        zmsg_send (&msg, router);
    }
    zsock_destroy (&router);
    return ZMP_EXIT_OK;
}
