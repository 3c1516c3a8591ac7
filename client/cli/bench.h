/*  bench - what the zmpool benchmarks share

    Every benchmark reports the machine it ran on, the versions of what it
    ran, how many runs it made, and the median of each figure; --json gives
    the same as one object on stdout.
*/
#ifndef BENCH_H_INCLUDED
#define BENCH_H_INCLUDED

#include <jansson.h>
#include <stddef.h>
#include <zmpool.h>

typedef struct {
    char host[256];
    char cpu[128];  //  Model name from /proc/cpuinfo, or "unknown"
    int cores;
    char versions[192];  //  "zmpool 0.1.0, libzmq 4.3.4, ..."
} bench_machine_t;

void bench_machine (bench_machine_t *machine);

//  The machine as a JSON object {"host", "cpu", "cores", "versions"}.
json_t *bench_machine_json (const bench_machine_t *machine);

//  Monotonic seconds.
double bench_now (void);

//  Median of count values (sorts them).
double bench_median (double *values, size_t count);

//  Median of count values, which stay as they are.
double bench_median_of (const double *values, size_t count);

//  Sort count values, smallest first.
void bench_sort (double *values, size_t count);

//  The p-th percentile (0..100) of count sorted values, nearest rank.
double bench_percentile (const double *sorted, size_t count, double p);

//  value rounded to digits decimals, for JSON that reads well.
double bench_round (double value, int digits);

//  What a pool's tasks used, as measured where they ran: a JSON object
//  {"tasks", "wall_us_mean", "cpu_us_mean", "max_rss_kib"}, or a line of
//  the text report
json_t *bench_usage_json (const zmp_pool_usage_t *usage);
void bench_usage_print (const zmp_pool_usage_t *usage);

int cli_bench_armstrong (int argc, char **argv);
int cli_bench_tasks (int argc, char **argv);
int cli_bench_queue (int argc, char **argv);
int cli_bench_echo (int argc, char **argv);

#endif
