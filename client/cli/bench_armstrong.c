/*  bench_armstrong - `zmpool bench armstrong`: the seeds' comparison

    The same search, the seed's ranges cut into pieces, in four modes:
    serial (one thread), threads (POSIX threads taking pieces from a shared
    counter: in C there is no GIL), fork (the seed's findByProcess: plain
    fork () and pipes, piece i to process i mod N), and cluster (one task
    per piece through the broker). Every mode must find the same numbers.

    What a second core gives is not constant on a shared or virtual
    machine (its two vCPUs may share a physical core for a while), so modes
    are compared in pairs: each run times serial, then the other modes, at
    once, and a speed-up is the median of those runs' ratios. Runs come in
    two phases: serial, threads and fork first, before this process creates
    any ZeroMQ context (so fork never copies one); then serial, threads and
    cluster. The cluster's time runs from the first submission to the last
    result; connecting, and starting a local cluster, are not in it.
*/
#include "bench.h"

#include "cli.h"
#include "progress.h"
#include "zmp_armstrong.h"
#include "zmp_error.h"
#include "zmp_json.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define ARMSTRONG_MODES 4

typedef enum {
    MODE_SERIAL,
    MODE_THREADS,
    MODE_FORK,
    MODE_CLUSTER
} bench_mode_t;

static const char *s_mode_names[ARMSTRONG_MODES] = { "serial", "threads",
                                                     "fork", "cluster" };

typedef struct {
    uint64_t from;
    uint64_t to;
} span_t;

//  What one run of one mode found, piece by piece
typedef struct {
    uint64_t (*numbers)[ZMP_ARMSTRONG_FOUND_MAX];  //  Owned, per piece
    size_t *counts;                                //  Owned, per piece
} found_t;

typedef struct {
    span_t *ranges;  //  Owned, as given
    size_t range_count;
    span_t *pieces;  //  Owned: the work units
    size_t piece_count;
    int workers;  //  Threads and processes for the local modes
    int runs;
    bool modes[ARMSTRONG_MODES];
    double *seconds[ARMSTRONG_MODES];   //  Owned, each run's time
    double *speedups[ARMSTRONG_MODES];  //  Owned, serial time / time, paired
    size_t samples[ARMSTRONG_MODES];    //  Values in seconds and speedups
    double *versus_threads;             //  Owned: threads time / cluster
    size_t versus_count;                //  time, paired
    int mode_workers[ARMSTRONG_MODES];
    found_t reference;  //  The first mode's findings
    bool have_reference;
    int reference_mode;
    found_t scratch;           //  Each run's findings
    atomic_size_t next_piece;  //  Threads mode: the next piece to take
    zmp_pool_usage_t usage;    //  What the cluster's tasks used
} bench_t;

static const char *s_usage =
    "Usage: zmpool bench armstrong [OPTION]...\n"
    "Find the Armstrong numbers in ranges, serially, with POSIX threads, with\n"
    "fork and pipes, and as tasks on the cluster; compare the times.\n"
    "\n"
    "  -c, --connect EP        broker endpoint (default: $ZMPOOL_BROKER, else\n"
    "                          " ZMP_DEFAULT_ENDPOINT
    ", else a local cluster)\n"
    "  -p, --processes N       local cluster's task processes (default: one\n"
    "                          per core)\n"
    "      --ranges LIST       ranges FROM:TO,... (default: the seed's\n"
    "                          20000000:25000000,25000000:30000000,\n"
    "                          35000000:40000000,45000000:50000000)\n"
    "      --pieces N          pieces the ranges are cut into; one task each\n"
    "                          (default 16)\n"
    "      --workers N         threads and processes of the local modes\n"
    "                          (default: one per core)\n"
    "      --modes LIST        which of threads,fork,cluster to compare with\n"
    "                          serial, which always runs (default: all)\n"
    "  -r, --runs N            runs of each mode; medians are reported\n"
    "                          (default 3)\n"
    "      --json              one JSON object on stdout instead of a table\n"
    "  -q, --quiet             no progress line\n"
    "  -h, --help              show this help\n"
    "\n"
    "Example:\n"
    "  zmpool bench armstrong --runs 5 --json\n";

static void
s_found_init (found_t *found, size_t pieces)
{
    found->numbers = calloc (pieces, sizeof *found->numbers);
    found->counts = (size_t *) calloc (pieces, sizeof (size_t));
    assert (found->numbers && found->counts);
}

static void
s_found_destroy (found_t *found)
{
    free (found->numbers);
    free (found->counts);
}

static void
s_search (bench_t *self, size_t piece)
{
    self->scratch.counts[piece] =
        zmp_armstrong_find (self->pieces[piece].from, self->pieces[piece].to,
                            self->scratch.numbers[piece]);
}

static void *
s_thread (void *arg)
{
    bench_t *self = (bench_t *) arg;
    while (true) {
        size_t piece = atomic_fetch_add (&self->next_piece, 1);
        if (piece >= self->piece_count)
            return NULL;
        s_search (self, piece);
    }
}

static int
s_run_threads (bench_t *self)
{
    atomic_store (&self->next_piece, 0);
    pthread_t *threads =
        (pthread_t *) calloc ((size_t) self->workers, sizeof (pthread_t));
    int started = 0;
    for (; started < self->workers; started++)
        if (pthread_create (&threads[started], NULL, s_thread, self))
            break;
    for (int index = 0; index < started; index++)
        pthread_join (threads[index], NULL);
    free (threads);
    return started == self->workers ? 0 : -1;
}

//  One process per worker, pieces dealt round robin; each writes records
//  [piece, count, numbers...] to its pipe and exits.
static int
s_run_fork (bench_t *self)
{
    int workers = self->workers;
    int *reads = (int *) calloc ((size_t) workers, sizeof (int));
    pid_t *pids = (pid_t *) calloc ((size_t) workers, sizeof (pid_t));
    int rc = 0;
    fflush (NULL);  //  Nothing buffered is written twice
    for (int worker = 0; worker < workers; worker++) {
        int ends[2];
        if (pipe (ends)) {
            rc = -1;
            reads[worker] = -1;
            continue;
        }
        pid_t pid = fork ();
        if (pid == 0) {
            close (ends[0]);
            for (size_t piece = (size_t) worker; piece < self->piece_count;
                 piece += (size_t) workers) {
                uint64_t record[2 + ZMP_ARMSTRONG_FOUND_MAX];
                record[0] = piece;
                record[1] =
                    zmp_armstrong_find (self->pieces[piece].from,
                                        self->pieces[piece].to, record + 2);
                size_t size = (2 + record[1]) * sizeof (uint64_t);
                if (write (ends[1], record, size) != (ssize_t) size)
                    _exit (1);
            }
            _exit (0);
        }
        close (ends[1]);
        pids[worker] = pid;
        reads[worker] = ends[0];
        if (pid < 0) {
            rc = -1;
            close (ends[0]);
            reads[worker] = -1;
        }
    }
    //  Read every pipe to its end; records may come in any order
    for (int worker = 0; worker < workers; worker++) {
        FILE *stream = reads[worker] >= 0 ? fdopen (reads[worker], "r") : NULL;
        uint64_t head[2];
        while (stream && fread (head, sizeof head, 1, stream) == 1) {
            if (head[0] >= self->piece_count
                || head[1] > ZMP_ARMSTRONG_FOUND_MAX
                || fread (self->scratch.numbers[head[0]], sizeof (uint64_t),
                          head[1], stream)
                       != head[1]) {
                rc = -1;
                break;
            }
            self->scratch.counts[head[0]] = head[1];
        }
        if (stream)
            fclose (stream);
        int status;
        if (pids[worker] > 0
            && (waitpid (pids[worker], &status, 0) < 0 || !WIFEXITED (status)
                || WEXITSTATUS (status) != 0))
            rc = -1;
    }
    free (reads);
    free (pids);
    return rc;
}

static int
s_run_cluster (bench_t *self, zmp_pool_t *pool, zmp_error_t *error)
{
    msgpack_object *bounds = (msgpack_object *) calloc (
        self->piece_count * 2, sizeof (msgpack_object));
    msgpack_object *items =
        (msgpack_object *) calloc (self->piece_count, sizeof (msgpack_object));
    for (size_t piece = 0; piece < self->piece_count; piece++) {
        bounds[2 * piece] = zmp_uint (self->pieces[piece].from);
        bounds[2 * piece + 1] = zmp_uint (self->pieces[piece].to);
        items[piece] = zmp_array (&bounds[2 * piece], 2);
    }
    zmp_results_t *results = zmp_pool_starmap (pool, "armstrong", items,
                                               self->piece_count, 1, error);
    int rc = results ? 0 : -1;
    for (size_t piece = 0; results && piece < self->piece_count; piece++) {
        const msgpack_object *numbers = zmp_results_get (results, piece);
        if (numbers->type != MSGPACK_OBJECT_ARRAY
            || numbers->via.array.size > ZMP_ARMSTRONG_FOUND_MAX) {
            zmp_error_set (error, ZMP_ERR_PROTOCOL,
                           "piece %zu came back as something else", piece);
            rc = -1;
            break;
        }
        self->scratch.counts[piece] = numbers->via.array.size;
        for (uint32_t index = 0; index < numbers->via.array.size; index++)
            self->scratch.numbers[piece][index] =
                numbers->via.array.ptr[index].via.u64;
    }
    zmp_results_destroy (&results);
    free (items);
    free (bounds);
    return rc;
}

//  Compare this run's findings with the reference; keep the first.
static int
s_check_found (bench_t *self, int mode)
{
    if (!self->have_reference) {
        for (size_t piece = 0; piece < self->piece_count; piece++) {
            self->reference.counts[piece] = self->scratch.counts[piece];
            memcpy (self->reference.numbers[piece],
                    self->scratch.numbers[piece],
                    sizeof self->reference.numbers[piece]);
        }
        self->have_reference = true;
        self->reference_mode = mode;
        return 0;
    }
    for (size_t piece = 0; piece < self->piece_count; piece++)
        if (self->scratch.counts[piece] != self->reference.counts[piece]
            || memcmp (self->scratch.numbers[piece],
                       self->reference.numbers[piece],
                       self->scratch.counts[piece] * sizeof (uint64_t))) {
            cli_fail ("bench armstrong",
                      "%s and %s disagree on [%llu, %llu): %zu numbers "
                      "against %zu",
                      s_mode_names[mode], s_mode_names[self->reference_mode],
                      (unsigned long long) self->pieces[piece].from,
                      (unsigned long long) self->pieces[piece].to,
                      self->scratch.counts[piece],
                      self->reference.counts[piece]);
            return -1;
        }
    return 0;
}

//  Run mode once; record its time, and its ratio to serial_seconds (if
//  given). Returns the time, or -1 (reported).
static double
s_run_mode (bench_t *self, int mode, zmp_pool_t *pool, double serial_seconds)
{
    memset (self->scratch.counts, 0, self->piece_count * sizeof (size_t));
    zmp_error_t error;
    double started = bench_now ();
    int rc = 0;
    if (mode == MODE_SERIAL)
        for (size_t piece = 0; piece < self->piece_count; piece++)
            s_search (self, piece);
    else if (mode == MODE_THREADS)
        rc = s_run_threads (self);
    else if (mode == MODE_FORK)
        rc = s_run_fork (self);
    else if (s_run_cluster (self, pool, &error)) {
        cli_fail ("bench armstrong", "cluster: %s", error.message);
        return -1;
    }
    double seconds = bench_now () - started;
    if (rc) {
        cli_fail ("bench armstrong", "the %s mode failed", s_mode_names[mode]);
        return -1;
    }
    if (s_check_found (self, mode))
        return -1;
    size_t sample = self->samples[mode]++;
    self->seconds[mode][sample] = seconds;
    self->speedups[mode][sample] =
        serial_seconds > 0 ? serial_seconds / seconds : 1;
    return seconds;
}

static int
s_parse_ranges (bench_t *self, const char *text)
{
    char *copy = strdup (text);
    char *cursor = copy, *saved = NULL;
    int rc = 0;
    free (self->ranges);
    self->ranges = NULL;
    self->range_count = 0;
    for (char *item = strtok_r (cursor, ",", &saved); item && rc == 0;
         item = strtok_r (NULL, ",", &saved)) {
        unsigned long long from, to;
        char tail;
        if (sscanf (item, "%llu:%llu%c", &from, &to, &tail) != 2 || from > to
            || to > ZMP_ARMSTRONG_LIMIT) {
            rc = -1;
            break;
        }
        self->ranges = (span_t *) realloc (self->ranges, (self->range_count + 1)
                                                             * sizeof (span_t));
        self->ranges[self->range_count++] = (span_t){ from, to };
    }
    free (copy);
    return rc == 0 && self->range_count > 0 ? 0 : -1;
}

//  Cut the ranges into about pieces pieces, as evenly as they allow.
static void
s_cut_pieces (bench_t *self, size_t pieces)
{
    uint64_t total = 0;
    for (size_t index = 0; index < self->range_count; index++)
        total += self->ranges[index].to - self->ranges[index].from;
    uint64_t size = total / pieces + (total % pieces ? 1 : 0);
    if (size == 0)
        size = 1;
    self->piece_count = 0;
    size_t limit = pieces + self->range_count;
    self->pieces = (span_t *) calloc (limit, sizeof (span_t));
    for (size_t index = 0; index < self->range_count; index++) {
        span_t range = self->ranges[index];
        uint64_t length = range.to - range.from;
        uint64_t parts = (length + size - 1) / size;
        if (parts == 0)
            parts = 1;
        for (uint64_t part = 0; part < parts; part++) {
            if (self->piece_count == limit) {
                limit *= 2;
                self->pieces =
                    (span_t *) realloc (self->pieces, limit * sizeof (span_t));
            }
            uint64_t from = range.from + length * part / parts;
            uint64_t to = range.from + length * (part + 1) / parts;
            self->pieces[self->piece_count++] = (span_t){ from, to };
        }
    }
}

static int
s_parse_modes (bench_t *self, const char *text)
{
    memset (self->modes, 0, sizeof self->modes);
    char *copy = strdup (text);
    char *saved = NULL;
    int rc = 0;
    for (char *item = strtok_r (copy, ",", &saved); item;
         item = strtok_r (NULL, ",", &saved)) {
        int mode = 0;
        while (mode < ARMSTRONG_MODES && !streq (item, s_mode_names[mode]))
            mode++;
        if (mode == ARMSTRONG_MODES)
            rc = -1;
        else
            self->modes[mode] = true;
    }
    free (copy);
    return rc;
}


static void
s_report (bench_t *self, const bench_machine_t *machine, bool json,
          const char *cluster)
{
    double seconds[ARMSTRONG_MODES] = { 0 };
    double speedup[ARMSTRONG_MODES] = { 0 };
    for (int mode = 0; mode < ARMSTRONG_MODES; mode++)
        if (self->samples[mode]) {
            seconds[mode] =
                bench_median_of (self->seconds[mode], self->samples[mode]);
            speedup[mode] =
                bench_median_of (self->speedups[mode], self->samples[mode]);
        }
    double versus = bench_median_of (self->versus_threads, self->versus_count);

    json_t *found = json_array ();
    for (size_t piece = 0; piece < self->piece_count; piece++)
        for (size_t index = 0; index < self->reference.counts[piece]; index++)
            json_array_append_new (
                found, json_integer (
                           (json_int_t) self->reference.numbers[piece][index]));
    if (json) {
        json_t *ranges = json_array ();
        for (size_t index = 0; index < self->range_count; index++)
            json_array_append_new (
                ranges,
                json_pack ("[I, I]", (json_int_t) self->ranges[index].from,
                           (json_int_t) self->ranges[index].to));
        json_t *runs = json_array ();
        for (int mode = 0; mode < ARMSTRONG_MODES; mode++) {
            if (!self->samples[mode])
                continue;
            json_t *all = json_array ();
            for (size_t run = 0; run < self->samples[mode]; run++)
                json_array_append_new (
                    all, json_real (bench_round (self->seconds[mode][run], 6)));
            json_array_append_new (
                runs,
                json_pack ("{s:s, s:i, s:f, s:f, s:o}", "mode",
                           s_mode_names[mode], "workers",
                           self->mode_workers[mode], "seconds",
                           bench_round (seconds[mode], 6), "speedup",
                           bench_round (speedup[mode], 3), "all_seconds", all));
        }
        json_t *object =
            json_pack ("{s:o, s:o, s:I, s:o, s:o, s:i, s:s}", "ranges", ranges,
                       "found", found, "pieces", (json_int_t) self->piece_count,
                       "runs", runs, "machine", bench_machine_json (machine),
                       "runs_per_mode", self->runs, "cluster", cluster);
        if (self->versus_count)
            json_object_set_new (object, "cluster_vs_threads",
                                 json_real (bench_round (versus, 3)));
        if (self->usage.tasks)
            json_object_set_new (object, "task_usage",
                                 bench_usage_json (&self->usage));
        char *text = zmp_json_dump (object);
        printf ("%s\n", text);
        free (text);
        json_decref (object);
        return;
    }
    printf ("zmpool bench armstrong\n");
    printf ("machine   %s: %d cores, %s\n", machine->host, machine->cores,
            machine->cpu);
    printf ("versions  %s\n", machine->versions);
    printf ("work      %zu ranges in %zu pieces; %d runs, medians; each "
            "speed-up is over serial timed in the same run\n",
            self->range_count, self->piece_count, self->runs);
    if (self->modes[MODE_CLUSTER])
        printf ("cluster   %s\n", cluster);
    if (self->usage.tasks)
        bench_usage_print (&self->usage);
    printf ("found    ");
    size_t index;
    json_t *number;
    json_array_foreach (found, index, number)
        printf (" %lld", (long long) json_integer_value (number));
    printf ("%s\n\n", json_array_size (found) ? "" : " (none)");
    json_decref (found);
    printf ("%-8s %8s %10s %9s\n", "mode", "workers", "seconds", "speed-up");
    for (int mode = 0; mode < ARMSTRONG_MODES; mode++)
        if (self->samples[mode])
            printf ("%-8s %8d %10.3f %9.2f\n", s_mode_names[mode],
                    self->mode_workers[mode], seconds[mode], speedup[mode]);
    if (self->versus_count)
        printf ("\ncluster against threads in the same runs: %.2f (1.00: "
                "as fast)\n",
                versus);
}

static void
s_bench_destroy (bench_t *self)
{
    for (int mode = 0; mode < ARMSTRONG_MODES; mode++) {
        free (self->seconds[mode]);
        free (self->speedups[mode]);
    }
    free (self->versus_threads);
    s_found_destroy (&self->reference);
    s_found_destroy (&self->scratch);
    free (self->ranges);
    free (self->pieces);
}

int
cli_bench_armstrong (int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "processes", required_argument, NULL, 'p' },
        { "ranges", required_argument, NULL, 'R' },
        { "pieces", required_argument, NULL, 'P' },
        { "workers", required_argument, NULL, 'W' },
        { "modes", required_argument, NULL, 'M' },
        { "runs", required_argument, NULL, 'r' },
        { "json", no_argument, NULL, 'J' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    bench_t self;
    memset (&self, 0, sizeof self);
    const char *command = "bench armstrong";
    s_parse_ranges (&self, "20000000:25000000,25000000:30000000,"
                           "35000000:40000000,45000000:50000000");
    for (int mode = 0; mode < ARMSTRONG_MODES; mode++)
        self.modes[mode] = true;
    self.workers = cli_cores ();
    self.runs = 3;
    long pieces = 16, number = 0, processes = 0;
    const char *endpoint = NULL;
    bool json = false, quiet = false;
    int rc = -1, option;
    opterr = 0;
    while (rc < 0
           && (option = getopt_long (argc, argv, ":c:p:r:qh", options, NULL))
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
            case 'R':
                if (s_parse_ranges (&self, optarg))
                    rc = cli_usage_error (
                        command,
                        "--ranges takes FROM:TO,... with FROM <= TO <= 10^18, "
                        "not '%s'",
                        optarg);
                break;
            case 'P':
                if (!cli_parse_long (optarg, 1, 100000, &pieces))
                    rc =
                        cli_usage_error (command, "--pieces takes 1 to 100000");
                break;
            case 'W':
                if (!cli_parse_long (optarg, 1, 1024, &number))
                    rc = cli_usage_error (command, "--workers takes 1 to 1024");
                self.workers = (int) number;
                break;
            case 'M':
                if (s_parse_modes (&self, optarg))
                    rc = cli_usage_error (
                        command,
                        "--modes takes serial, threads, fork, cluster, not "
                        "'%s'",
                        optarg);
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
    if (rc >= 0) {
        free (self.ranges);
        return rc;
    }
    s_cut_pieces (&self, (size_t) pieces);
    s_found_init (&self.reference, self.piece_count);
    s_found_init (&self.scratch, self.piece_count);
    //  Serial runs in both phases and threads in both when selected: room
    //  for two samples per run
    for (int mode = 0; mode < ARMSTRONG_MODES; mode++) {
        self.seconds[mode] =
            (double *) calloc (2 * (size_t) self.runs, sizeof (double));
        self.speedups[mode] =
            (double *) calloc (2 * (size_t) self.runs, sizeof (double));
        self.mode_workers[mode] = mode == MODE_SERIAL ? 1 : self.workers;
    }
    self.versus_threads =
        (double *) calloc ((size_t) self.runs, sizeof (double));
    self.modes[MODE_SERIAL] = true;  //  Always: the reference
    bench_machine_t machine;
    bench_machine (&machine);
    bool local_phase = self.modes[MODE_FORK] || !self.modes[MODE_CLUSTER];
    bool cluster_phase = self.modes[MODE_CLUSTER];
    uint64_t units = 0;
    if (local_phase)
        units += (uint64_t) self.runs
                 * (1 + self.modes[MODE_THREADS] + self.modes[MODE_FORK]);
    if (cluster_phase)
        units += (uint64_t) self.runs * (2 + self.modes[MODE_THREADS]);
    progress_t *progress = progress_new ("armstrong", units, quiet || json);
    uint64_t done = 0;
    //  Phase 1, local modes: no ZeroMQ context exists yet for fork to copy
    rc = 0;
    for (int run = 0; local_phase && rc == 0 && run < self.runs; run++) {
        double serial = s_run_mode (&self, MODE_SERIAL, NULL, 0);
        rc = serial < 0 ? -1 : 0;
        progress_update (progress, ++done);
        for (int mode = MODE_THREADS; rc == 0 && mode <= MODE_FORK; mode++)
            if (self.modes[mode]) {
                rc = s_run_mode (&self, mode, NULL, serial) < 0 ? -1 : 0;
                progress_update (progress, ++done);
            }
    }
    //  Phase 2, the cluster beside serial and threads in the same runs
    char cluster[300] = "";
    if (rc == 0 && cluster_phase) {
        local_cluster_t *local = NULL;
        zmp_client_t *client = cli_cluster_open (
            command, endpoint, (int) processes, NULL, quiet ? -1 : 0, &local);
        zmp_error_t error;
        zmp_pool_t *pool = client ? zmp_pool_new (client, 0, &error) : NULL;
        if (client && !pool)
            cli_fail (command, "%s", error.message);
        if (pool) {
            self.mode_workers[MODE_CLUSTER] = zmp_pool_processes (pool);
            snprintf (cluster, sizeof cluster, "%s %s, %d task processes",
                      local ? "local" : "broker", zmp_client_endpoint (client),
                      zmp_pool_processes (pool));
        }
        rc = pool ? 0 : -1;
        for (int run = 0; rc == 0 && run < self.runs; run++) {
            double serial = s_run_mode (&self, MODE_SERIAL, NULL, 0);
            double threads = 0;
            rc = serial < 0 ? -1 : 0;
            progress_update (progress, ++done);
            if (rc == 0 && self.modes[MODE_THREADS]) {
                threads = s_run_mode (&self, MODE_THREADS, NULL, serial);
                rc = threads < 0 ? -1 : 0;
                progress_update (progress, ++done);
            }
            double tasks =
                rc ? -1 : s_run_mode (&self, MODE_CLUSTER, pool, serial);
            rc = tasks < 0 ? -1 : 0;
            progress_update (progress, ++done);
            if (rc == 0 && threads > 0)
                self.versus_threads[self.versus_count++] = threads / tasks;
        }
        if (pool)
            zmp_pool_usage (pool, &self.usage);
        zmp_pool_destroy (&pool);
        cli_cluster_close (&client, &local);
    }
    progress_destroy (&progress);
    if (rc == 0)
        s_report (&self, &machine, json, cluster);
    s_bench_destroy (&self);
    return rc == 0 ? ZMP_EXIT_OK : ZMP_EXIT_FAILED;
}
