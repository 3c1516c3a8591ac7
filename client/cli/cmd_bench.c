/*  cmd_bench - `zmpool bench armstrong|tasks|queue|echo`, and what they
    share
*/
#include "bench.h"

#include "cli.h"

#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

static const char *s_usage =
    "Usage: zmpool bench BENCHMARK [OPTION]...\n"
    "Measure zmpool on this machine; results on stdout (--json for scripts).\n"
    "\n"
    "  armstrong   the seeds' Armstrong-number search: serial, POSIX threads,\n"
    "              fork and pipes, and tasks through the cluster\n"
    "  tasks       per-task cost: throughput at chunksize 1 and chunked, and\n"
    "              one-task round trips, beside the transport floor\n"
    "  queue       queue puts and gets in memory and with a state\n"
    "              directory (--fsync never, always): the journal's cost\n"
    "  echo        a plain ROUTER that echoes what it gets: the floor that\n"
    "              `bench tasks` measures itself against\n"
    "\n"
    "'zmpool bench BENCHMARK --help' describes each one.\n"
    "\n"
    "Example:\n"
    "  zmpool bench armstrong --runs 5\n";

//  --------------------------------------------------------------------------
//  Run a benchmark.

int
cli_bench (int argc, char **argv)
{
    if (argc < 2) {
        fputs (s_usage, stderr);
        return ZMP_EXIT_USAGE;
    }
    if (streq (argv[1], "--help") || streq (argv[1], "-h")) {
        fputs (s_usage, stdout);
        return ZMP_EXIT_OK;
    }
    if (streq (argv[1], "armstrong"))
        return cli_bench_armstrong (argc - 1, argv + 1);
    if (streq (argv[1], "tasks"))
        return cli_bench_tasks (argc - 1, argv + 1);
    if (streq (argv[1], "queue"))
        return cli_bench_queue (argc - 1, argv + 1);
    if (streq (argv[1], "echo"))
        return cli_bench_echo (argc - 1, argv + 1);
    return cli_usage_error ("bench", "'%s' is not a benchmark", argv[1]);
}

//  --------------------------------------------------------------------------
//  Describe the machine and the versions.

void
bench_machine (bench_machine_t *machine)
{
    memset (machine, 0, sizeof *machine);
    if (gethostname (machine->host, sizeof machine->host))
        snprintf (machine->host, sizeof machine->host, "unknown");
    machine->host[sizeof machine->host - 1] = 0;
    machine->cores = cli_cores ();
    snprintf (machine->cpu, sizeof machine->cpu, "unknown");
    FILE *cpuinfo = fopen ("/proc/cpuinfo", "r");
    char line[256];
    while (cpuinfo && fgets (line, sizeof line, cpuinfo))
        if (strncmp (line, "model name", 10) == 0) {
            const char *colon = strchr (line, ':');
            if (colon) {
                snprintf (machine->cpu, sizeof machine->cpu, "%s", colon + 2);
                machine->cpu[strcspn (machine->cpu, "\n")] = 0;
            }
            break;
        }
    if (cpuinfo)
        fclose (cpuinfo);
    int zmq_major, zmq_minor, zmq_patch;
    zmq_version (&zmq_major, &zmq_minor, &zmq_patch);
    struct utsname system;
    uname (&system);
    snprintf (machine->versions, sizeof machine->versions,
              "zmpool %s, libzmq %d.%d.%d, czmq %d.%d.%d, msgpack-c %s, "
              "Linux %.32s",
              ZMPOOL_VERSION, zmq_major, zmq_minor, zmq_patch,
              CZMQ_VERSION_MAJOR, CZMQ_VERSION_MINOR, CZMQ_VERSION_PATCH,
              msgpack_version (), system.release);
}

//  --------------------------------------------------------------------------
//  The machine as JSON.

json_t *
bench_machine_json (const bench_machine_t *machine)
{
    return json_pack ("{s:s, s:s, s:i, s:s}", "host", machine->host, "cpu",
                      machine->cpu, "cores", machine->cores, "versions",
                      machine->versions);
}

//  --------------------------------------------------------------------------
//  Monotonic seconds.

double
bench_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

static int
s_compare_doubles (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

//  --------------------------------------------------------------------------
//  Median of values.

double
bench_median (double *values, size_t count)
{
    if (count == 0)
        return 0;
    qsort (values, count, sizeof (double), s_compare_doubles);
    return count % 2 ? values[count / 2]
                     : (values[count / 2 - 1] + values[count / 2]) / 2;
}

double
bench_median_of (const double *values, size_t count)
{
    double *copy = (double *) calloc (count ? count : 1, sizeof (double));
    memcpy (copy, values, count * sizeof (double));
    double median = bench_median (copy, count);
    free (copy);
    return median;
}

void
bench_sort (double *values, size_t count)
{
    qsort (values, count, sizeof (double), s_compare_doubles);
}

//  --------------------------------------------------------------------------
//  Percentile of sorted values, nearest rank.

double
bench_percentile (const double *sorted, size_t count, double p)
{
    if (count == 0)
        return 0;
    size_t rank = (size_t) ceil (p / 100.0 * (double) count);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return sorted[rank - 1];
}

//  --------------------------------------------------------------------------
//  Round for display.

double
bench_round (double value, int digits)
{
    double scale = pow (10, digits);
    return round (value * scale) / scale;
}

//  --------------------------------------------------------------------------
//  What a pool's tasks used.

static double
s_mean (int64_t sum, uint64_t count)
{
    return count ? (double) sum / (double) count : 0;
}

json_t *
bench_usage_json (const zmp_pool_usage_t *usage)
{
    return json_pack (
        "{s:I, s:f, s:f, s:I}", "tasks", (json_int_t) usage->tasks,
        "wall_us_mean", bench_round (s_mean (usage->wall_us, usage->tasks), 1),
        "cpu_us_mean",
        bench_round (s_mean (usage->user_us + usage->system_us, usage->tasks),
                     1),
        "max_rss_kib", (json_int_t) usage->max_rss_kib);
}

void
bench_usage_print (const zmp_pool_usage_t *usage)
{
    printf ("task use  %llu tasks measured where they ran: %.1f us wall and "
            "%.1f us CPU each on average, peak RSS %.1f MiB\n",
            (unsigned long long) usage->tasks,
            s_mean (usage->wall_us, usage->tasks),
            s_mean (usage->user_us + usage->system_us, usage->tasks),
            (double) usage->max_rss_kib / 1024);
}
