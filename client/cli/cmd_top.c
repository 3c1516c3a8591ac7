/*  cmd_top - `zmpool top`: the cluster, live, in the terminal

    Asks the broker for its status map once an interval and shows it: the
    cluster's totals and throughput over the last minute, one line per
    worker host (slots, tasks done and their rate, failures, heartbeat age,
    the host's CPU and memory from its agent's heartbeats, its tasks' CPU
    and peak memory), one line per client (pools, queued, running, done
    and rate, CPU). Rates are the change between two snapshots.

    On a terminal it is a full-screen ncurses view with keys to sort,
    filter and quit; when stdout is not a terminal (or with --once) it
    takes two snapshots one interval apart and prints one view as text.
    The view is built as lines once, then drawn either way.
*/
#include "cli.h"

#include "zmp_value.h"

#include <czmq.h>
#include <fcntl.h>
#include <getopt.h>
#include <ncurses.h>
#include <term.h>
#include <stdio.h>
#include <unistd.h>

#define TOP_HISTORY    60    //  Throughput samples kept, one an interval
#define TOP_LINE       1024  //  Widest line built
#define TOP_TEXT_WIDTH 132   //  Width of the text view

static const char *s_usage =
    "Usage: zmpool top [OPTION]...\n"
    "Show the cluster live: per worker host its slots, tasks done and their\n"
    "rate, failures, heartbeat age, CPU and memory; per client its pools,\n"
    "queued, running and done tasks and their rate; the cluster's totals and\n"
    "throughput over the last minute.\n"
    "\n"
    "  -c, --connect EP        broker endpoint (default: $ZMPOOL_BROKER, else\n"
    "                          " ZMP_DEFAULT_ENDPOINT ")\n"
    "  -i, --interval S        seconds between refreshes (default 1)\n"
    "  -s, --sort KEY          order of the hosts: host, busy, done, rate,\n"
    "                          failed, cpu or mem (default busy)\n"
    "  -f, --filter TEXT       show only hosts and clients whose host or\n"
    "                          name contains TEXT\n"
    "      --once              print one view as text and exit (also what\n"
    "                          happens when stdout is not a terminal)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Keys: q quit, s next sort order, r reverse it, / filter (Enter to\n"
    "apply, Esc to drop), c clear the filter.\n"
    "\n"
    "Examples:\n"
    "  zmpool top --connect tcp://10.0.0.1:5555\n"
    "  zmpool top --once --sort cpu | head -20\n";

static const char *const s_sort_keys[] = { "host",   "busy", "done", "rate",
                                           "failed", "cpu",  "mem",  NULL };

typedef struct {
    uint64_t id;
    char host[256];
    char name[256];
    int64_t pid;
    uint64_t slots, busy, done, failed;
    double heartbeat_age_s;
    bool has_load;
    double cpu_percent, mem_percent;
    double task_cpu_s;
    double max_rss_mib;
    double rate;  //  Done a second, since the last snapshot
} top_worker_t;

typedef struct {
    uint64_t id;
    char host[256];
    int64_t pid;
    uint64_t pools, queued, running, completed;
    double cpu_s;
    double rate;
} top_client_t;

typedef struct {
    char endpoint[256];
    char host[256];
    int64_t pid;
    double uptime_s;
    uint64_t slots, busy, queued, running;
    uint64_t submitted, completed, failed, retried, lost, rejected;
    top_worker_t *workers;  //  Owned
    size_t worker_count;
    top_client_t *clients;  //  Owned
    size_t client_count;
    int64_t taken_at;  //  zclock_mono () ms
} top_snapshot_t;

typedef struct {
    const char *endpoint;
    zmp_client_t *client;  //  Owned; NULL while the broker is away
    top_snapshot_t now, before;
    bool have_now, have_before;
    double rate;  //  Cluster: completed a second
    double history[TOP_HISTORY];
    size_t history_count;
    int sort;
    bool reverse;
    char filter[64];
    char problem[ZMP_ERROR_MESSAGE_MAX + 64];  //  Why there is no fresh
                                               //  snapshot, or ""
} top_t;

//  --------------------------------------------------------------------------
//  Snapshots

static void
s_snapshot_clear (top_snapshot_t *snapshot)
{
    free (snapshot->workers);
    free (snapshot->clients);
    memset (snapshot, 0, sizeof *snapshot);
}

//  The array at key of status, or NULL
static const msgpack_object *
s_array (const msgpack_object *status, const char *key)
{
    const msgpack_object *array = zmp_map_get (status, key);
    return array && array->type == MSGPACK_OBJECT_ARRAY ? array : NULL;
}

static void
s_snapshot_read (top_snapshot_t *snapshot, const msgpack_object *status)
{
    const msgpack_object *broker = zmp_map_get (status, "broker");
    cli_status_str (broker, "endpoint", snapshot->endpoint,
                    sizeof snapshot->endpoint);
    cli_status_str (broker, "host", snapshot->host, sizeof snapshot->host);
    snapshot->pid = cli_status_int (broker, "pid");
    snapshot->uptime_s = (double) cli_status_int (broker, "uptime_ms") / 1000;
    snapshot->slots = cli_status_uint (status, "slots");
    snapshot->busy = cli_status_uint (status, "busy");
    snapshot->queued = cli_status_uint (status, "queued");
    snapshot->running = cli_status_uint (status, "running");
    const msgpack_object *counters = zmp_map_get (status, "counters");
    snapshot->submitted = cli_status_uint (counters, "submitted");
    snapshot->completed = cli_status_uint (counters, "completed");
    snapshot->failed = cli_status_uint (counters, "failed");
    snapshot->retried = cli_status_uint (counters, "retried");
    snapshot->lost = cli_status_uint (counters, "lost");
    snapshot->rejected = cli_status_uint (counters, "rejected");

    const msgpack_object *workers = s_array (status, "workers");
    snapshot->worker_count = workers ? workers->via.array.size : 0;
    snapshot->workers = (top_worker_t *) calloc (snapshot->worker_count + 1,
                                                 sizeof (top_worker_t));
    for (size_t index = 0; index < snapshot->worker_count; index++) {
        const msgpack_object *from = &workers->via.array.ptr[index];
        top_worker_t *worker = &snapshot->workers[index];
        worker->id = cli_status_uint (from, "id");
        cli_status_str (from, "host", worker->host, sizeof worker->host);
        cli_status_str (from, "name", worker->name, sizeof worker->name);
        worker->pid = cli_status_int (from, "pid");
        worker->slots = cli_status_uint (from, "slots");
        worker->busy = cli_status_uint (from, "busy");
        worker->done = cli_status_uint (from, "done");
        worker->failed = cli_status_uint (from, "failed");
        worker->heartbeat_age_s =
            (double) cli_status_int (from, "heartbeat_age_ms") / 1000;
        worker->has_load =
            cli_status_load (from, &worker->cpu_percent, &worker->mem_percent);
        worker->task_cpu_s =
            (double) (cli_status_uint (from, "task_user_us")
                      + cli_status_uint (from, "task_system_us"))
            / 1e6;
        worker->max_rss_mib =
            (double) cli_status_uint (from, "task_max_rss_kib") / 1024;
    }
    const msgpack_object *clients = s_array (status, "clients");
    size_t count = clients ? clients->via.array.size : 0;
    snapshot->clients =
        (top_client_t *) calloc (count + 1, sizeof (top_client_t));
    char own_host[256];
    if (gethostname (own_host, sizeof own_host))
        own_host[0] = 0;
    own_host[sizeof own_host - 1] = 0;
    for (size_t index = 0; index < count; index++) {
        const msgpack_object *from = &clients->via.array.ptr[index];
        char host[256];
        cli_status_str (from, "host", host, sizeof host);
        if (cli_status_int (from, "pid") == getpid () && streq (host, own_host))
            continue;  //  This view's own connection
        top_client_t *client = &snapshot->clients[snapshot->client_count++];
        client->id = cli_status_uint (from, "id");
        cli_status_str (from, "host", client->host, sizeof client->host);
        client->pid = cli_status_int (from, "pid");
        client->pools = cli_status_uint (from, "pools");
        client->queued = cli_status_uint (from, "queued");
        client->running = cli_status_uint (from, "running");
        client->completed = cli_status_uint (from, "completed");
        client->cpu_s = (double) cli_status_uint (from, "cpu_us") / 1e6;
    }
}

//  Rates: the change from before to now, a second
static void
s_rates (top_t *self)
{
    top_snapshot_t *now = &self->now, *before = &self->before;
    double seconds = (double) (now->taken_at - before->taken_at) / 1000;
    if (!self->have_before || seconds <= 0)
        return;
    self->rate = now->completed >= before->completed
                     ? (double) (now->completed - before->completed) / seconds
                     : 0;
    for (size_t index = 0; index < now->worker_count; index++)
        for (size_t old = 0; old < before->worker_count; old++)
            if (before->workers[old].id == now->workers[index].id
                && now->workers[index].done >= before->workers[old].done)
                now->workers[index].rate =
                    (double) (now->workers[index].done
                              - before->workers[old].done)
                    / seconds;
    for (size_t index = 0; index < now->client_count; index++)
        for (size_t old = 0; old < before->client_count; old++)
            if (before->clients[old].id == now->clients[index].id
                && now->clients[index].completed
                       >= before->clients[old].completed)
                now->clients[index].rate =
                    (double) (now->clients[index].completed
                              - before->clients[old].completed)
                    / seconds;
    if (self->history_count == TOP_HISTORY) {
        memmove (self->history, self->history + 1,
                 (TOP_HISTORY - 1) * sizeof (double));
        self->history_count--;
    }
    self->history[self->history_count++] = self->rate;
}

//  Take a snapshot; on failure keep the last one and say why
static void
s_refresh (top_t *self, int timeout_ms)
{
    zmp_error_t error;
    if (!self->client) {
        if (!cli_endpoint_listening (self->endpoint)) {
            snprintf (self->problem, sizeof self->problem,
                      "no broker at %s (nothing accepts connections)",
                      self->endpoint);
            return;
        }
        self->client = zmp_client_connect (self->endpoint, timeout_ms, &error);
        if (!self->client) {
            snprintf (self->problem, sizeof self->problem, "%s", error.message);
            return;
        }
    }
    zmp_value_t *status = zmp_client_status (self->client, timeout_ms, &error);
    if (!status) {
        snprintf (self->problem, sizeof self->problem, "%s", error.message);
        zmp_client_destroy (&self->client);
        return;
    }
    self->problem[0] = 0;
    if (self->have_now) {
        s_snapshot_clear (&self->before);
        self->before = self->now;
        self->have_before = true;
        memset (&self->now, 0, sizeof self->now);
    }
    s_snapshot_read (&self->now, zmp_value_get (status));
    self->now.taken_at = zclock_mono ();
    self->have_now = true;
    zmp_value_destroy (&status);
    s_rates (self);
}

//  --------------------------------------------------------------------------
//  The view, as lines

typedef void (top_emit_fn) (void *arg, const char *line, bool strong);

static bool
s_shown (const top_t *self, const char *host, const char *name)
{
    return !self->filter[0] || strstr (host, self->filter)
           || (name && strstr (name, self->filter));
}

//  Order of two workers by the chosen key (the most first, host by name)
static const top_t *s_sorting;

static int
s_worker_order (const void *left, const void *right)
{
    const top_worker_t *a = (const top_worker_t *) left;
    const top_worker_t *b = (const top_worker_t *) right;
    double x = 0, y = 0;
    switch (s_sorting->sort) {
        case 0:
            return (s_sorting->reverse ? -1 : 1) * strcmp (a->host, b->host);
        case 1:
            x = (double) a->busy, y = (double) b->busy;
            break;
        case 2:
            x = (double) a->done, y = (double) b->done;
            break;
        case 3:
            x = a->rate, y = b->rate;
            break;
        case 4:
            x = (double) a->failed, y = (double) b->failed;
            break;
        case 5:
            x = a->cpu_percent, y = b->cpu_percent;
            break;
        default:
            x = a->mem_percent, y = b->mem_percent;
    }
    int order = x > y ? -1 : x < y ? 1 : strcmp (a->host, b->host);
    return s_sorting->reverse ? -order : order;
}

//  The throughput history as a strip of characters, lowest to highest
static void
s_strip (const top_t *self, char *buffer, size_t size, double *peak)
{
    static const char levels[] = " .:-=+*#%@";
    *peak = 0;
    for (size_t index = 0; index < self->history_count; index++)
        if (self->history[index] > *peak)
            *peak = self->history[index];
    size_t used = 0;
    for (size_t index = 0; index < self->history_count && used + 1 < size;
         index++) {
        int level =
            *peak > 0 ? (int) (self->history[index] / *peak * 9 + 0.5) : 0;
        buffer[used++] = levels[level];
    }
    buffer[used] = 0;
}

static void
s_render (top_t *self, top_emit_fn *emit, void *arg)
{
    char line[TOP_LINE], when[16], uptime[16];
    time_t now = time (NULL);
    strftime (when, sizeof when, "%H:%M:%S", localtime (&now));
    top_snapshot_t *snapshot = &self->now;
    char problem[sizeof self->problem + 64] = "";
    if (self->problem[0])
        snprintf (problem, sizeof problem, "%s; trying again%s", self->problem,
                  self->have_now ? " (the figures below are the last ones)"
                                 : "");
    if (!self->have_now) {
        snprintf (line, sizeof line, "zmpool top  %s  %s", self->endpoint,
                  when);
        emit (arg, line, true);
        emit (arg, problem[0] ? problem : "waiting for the broker", false);
        return;
    }
    snprintf (
        line, sizeof line, "zmpool top  %s  broker on %s pid %lld, up %s  %s",
        snapshot->endpoint, snapshot->host, (long long) snapshot->pid,
        cli_format_seconds (snapshot->uptime_s, uptime, sizeof uptime), when);
    emit (arg, line, true);
    snprintf (line, sizeof line,
              "cluster  %zu workers  %llu/%llu slots busy  %llu queued  "
              "%llu running  %.0f done/s",
              snapshot->worker_count, (unsigned long long) snapshot->busy,
              (unsigned long long) snapshot->slots,
              (unsigned long long) snapshot->queued,
              (unsigned long long) snapshot->running, self->rate);
    emit (arg, line, false);
    snprintf (line, sizeof line,
              "totals   %llu submitted  %llu completed  %llu failed  "
              "%llu retried  %llu lost  %llu refused",
              (unsigned long long) snapshot->submitted,
              (unsigned long long) snapshot->completed,
              (unsigned long long) snapshot->failed,
              (unsigned long long) snapshot->retried,
              (unsigned long long) snapshot->lost,
              (unsigned long long) snapshot->rejected);
    emit (arg, line, false);
    char strip[TOP_HISTORY + 1];
    double peak;
    s_strip (self, strip, sizeof strip, &peak);
    snprintf (line, sizeof line,
              "rate     [%-*s]  done/s, last %zu samples, "
              "peak %.0f",
              TOP_HISTORY, strip, self->history_count, peak);
    emit (arg, line, false);
    emit (arg, problem, false);

    size_t shown = 0;
    for (size_t index = 0; index < snapshot->worker_count; index++)
        shown += s_shown (self, snapshot->workers[index].host,
                          snapshot->workers[index].name);
    snprintf (line, sizeof line, "HOSTS %zu of %zu, by %s%s%s%s", shown,
              snapshot->worker_count, s_sort_keys[self->sort],
              self->reverse ? " (reversed)" : "",
              self->filter[0] ? ", filter: " : "", self->filter);
    emit (arg, line, false);
    snprintf (line, sizeof line,
              "%-20s %8s %-12s %9s %10s %8s %7s %7s %5s %5s %9s %8s", "HOST",
              "PID", "NAME", "BUSY", "DONE", "DONE/S", "FAILED", "HB-AGE",
              "CPU%", "MEM%", "TASK-CPU", "MAX-RSS");
    emit (arg, line, true);
    s_sorting = self;
    qsort (snapshot->workers, snapshot->worker_count, sizeof (top_worker_t),
           s_worker_order);
    for (size_t index = 0; index < snapshot->worker_count; index++) {
        top_worker_t *worker = &snapshot->workers[index];
        if (!s_shown (self, worker->host, worker->name))
            continue;
        char busy[32], cpu[16] = "-", memory[16] = "-", task_cpu[16], rss[16];
        snprintf (busy, sizeof busy, "%llu/%llu",
                  (unsigned long long) worker->busy,
                  (unsigned long long) worker->slots);
        if (worker->has_load) {
            snprintf (cpu, sizeof cpu, "%.0f", worker->cpu_percent);
            snprintf (memory, sizeof memory, "%.0f", worker->mem_percent);
        }
        snprintf (rss, sizeof rss, "%.1fM", worker->max_rss_mib);
        snprintf (
            line, sizeof line,
            "%-20.20s %8lld %-12.12s %9s %10llu %8.0f %7llu %6.1fs %5s "
            "%5s %9s %8s",
            worker->host, (long long) worker->pid, worker->name, busy,
            (unsigned long long) worker->done, worker->rate,
            (unsigned long long) worker->failed, worker->heartbeat_age_s, cpu,
            memory,
            cli_format_seconds (worker->task_cpu_s, task_cpu, sizeof task_cpu),
            rss);
        emit (arg, line, false);
    }
    emit (arg, "", false);
    snprintf (line, sizeof line, "CLIENTS %zu", snapshot->client_count);
    emit (arg, line, false);
    snprintf (line, sizeof line, "%6s %-20s %8s %5s %9s %9s %10s %8s %9s", "ID",
              "HOST", "PID", "POOLS", "QUEUED", "RUNNING", "DONE", "DONE/S",
              "CPU");
    emit (arg, line, true);
    for (size_t index = 0; index < snapshot->client_count; index++) {
        top_client_t *client = &snapshot->clients[index];
        if (!s_shown (self, client->host, NULL))
            continue;
        char cpu[16];
        snprintf (line, sizeof line,
                  "%6llu %-20.20s %8lld %5llu %9llu %9llu %10llu %8.0f %9s",
                  (unsigned long long) client->id, client->host,
                  (long long) client->pid, (unsigned long long) client->pools,
                  (unsigned long long) client->queued,
                  (unsigned long long) client->running,
                  (unsigned long long) client->completed, client->rate,
                  cli_format_seconds (client->cpu_s, cpu, sizeof cpu));
        emit (arg, line, false);
    }
}

//  --------------------------------------------------------------------------
//  Text: one view on stdout

static void
s_emit_text (void *arg, const char *line, bool strong)
{
    (void) arg;
    (void) strong;
    printf ("%.*s\n", TOP_TEXT_WIDTH, line);
}

static int
s_run_once (top_t *self, int interval_ms)
{
    s_refresh (self, 5000);
    if (!self->have_now)
        return cli_fail ("top", "%s", self->problem);
    //  A second snapshot for the rates
    zclock_sleep (interval_ms);
    if (!zsys_interrupted)
        s_refresh (self, 5000);
    s_render (self, s_emit_text, NULL);
    return ZMP_EXIT_OK;
}

//  --------------------------------------------------------------------------
//  The full screen

typedef struct {
    int row;
    int height;  //  Not rows and columns: term.h has macros of those names
    int width;
} screen_t;

static void
s_emit_screen (void *arg, const char *line, bool strong)
{
    screen_t *screen = (screen_t *) arg;
    if (screen->row >= screen->height - 1)
        return;  //  The last row is the keys'
    if (strong)
        attron (A_REVERSE);
    mvaddnstr (screen->row, 0, line, screen->width);
    if (strong) {
        //  The whole row, as a bar
        for (int at = (int) strlen (line); at < screen->width; at++)
            mvaddch (screen->row, at, ' ');
        attroff (A_REVERSE);
    }
    screen->row++;
}

static void
s_draw (top_t *self, const char *prompt)
{
    screen_t screen = { 0, LINES, COLS };
    erase ();
    s_render (self, s_emit_screen, &screen);
    char keys[160];
    if (prompt)
        snprintf (keys, sizeof keys, "filter: %s_  (Enter apply, Esc drop)",
                  prompt);
    else
        snprintf (keys, sizeof keys,
                  "q quit  s sort (%s)  r reverse  / filter  c clear filter",
                  s_sort_keys[self->sort]);
    attron (A_BOLD);
    mvaddnstr (LINES - 1, 0, keys, COLS);
    attroff (A_BOLD);
    refresh ();
}

static int
s_run_screen (top_t *self, int interval_ms)
{
    //  Log lines would tear the screen; the view says what goes wrong
    //  Ask terminfo first: initscr exits on a terminal it does not know,
    //  and newterm then leaks what it had begun
    int known = 0;
    SCREEN *terminal = NULL;
    if (setupterm (NULL, STDOUT_FILENO, &known) == OK) {
        del_curterm (cur_term);
        terminal = newterm (NULL, stdout, stdin);
    }
    if (!terminal)
        return cli_fail ("top",
                         "cannot drive this terminal (TERM=%s); try --once",
                         getenv ("TERM") ? getenv ("TERM") : "");
    fflush (stderr);
    int saved_stderr = dup (STDERR_FILENO);
    int null = open ("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2 (null, STDERR_FILENO);
        close (null);
    }
    cbreak ();
    noecho ();
    keypad (stdscr, TRUE);
    curs_set (0);
    timeout (100);
    char editing[64];
    bool filtering = false;
    int64_t next_at = 0;
    bool quit = false;
    while (!quit && !zsys_interrupted) {
        if (zclock_mono () >= next_at) {
            s_refresh (self, interval_ms > 2000 ? interval_ms : 2000);
            next_at = zclock_mono () + interval_ms;
            s_draw (self, filtering ? editing : NULL);
        }
        int key = getch ();
        if (key == ERR)
            continue;
        if (filtering) {
            size_t length = strlen (editing);
            if (key == '\n' || key == KEY_ENTER) {
                snprintf (self->filter, sizeof self->filter, "%s", editing);
                filtering = false;
            } else if (key == 27)  //  Esc
                filtering = false;
            else if ((key == KEY_BACKSPACE || key == 127 || key == 8)
                     && length > 0)
                editing[length - 1] = 0;
            else if (key >= 32 && key < 127 && length + 1 < sizeof editing) {
                editing[length] = (char) key;
                editing[length + 1] = 0;
            }
        } else if (key == 'q' || key == 'Q')
            quit = true;
        else if (key == 's')
            self->sort = s_sort_keys[self->sort + 1] ? self->sort + 1 : 0;
        else if (key == 'r')
            self->reverse = !self->reverse;
        else if (key == 'c')
            self->filter[0] = 0;
        else if (key == '/') {
            filtering = true;
            editing[0] = 0;
        }
        s_draw (self, filtering ? editing : NULL);
    }
    endwin ();
    delscreen (terminal);
    if (saved_stderr >= 0) {
        dup2 (saved_stderr, STDERR_FILENO);
        close (saved_stderr);
    }
    return ZMP_EXIT_OK;
}

//  --------------------------------------------------------------------------

int
cli_top (int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "interval", required_argument, NULL, 'i' },
        { "sort", required_argument, NULL, 's' },
        { "filter", required_argument, NULL, 'f' },
        { "once", no_argument, NULL, 'O' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    top_t self;
    memset (&self, 0, sizeof self);
    self.endpoint = cli_default_endpoint ();
    self.sort = 1;  //  busy
    int interval_ms = 1000;
    bool once = false;
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, ":c:i:s:f:h", options, NULL))
           != -1) {
        switch (option) {
            case 'c':
                self.endpoint = optarg;
                break;
            case 'i':
                if (!cli_parse_seconds (optarg, 3600, &interval_ms)
                    || interval_ms < 100)
                    return cli_usage_error (
                        "top", "--interval takes 0.1 to 3600 seconds, not '%s'",
                        optarg);
                break;
            case 's': {
                int found = -1;
                for (int index = 0; s_sort_keys[index]; index++)
                    if (streq (optarg, s_sort_keys[index]))
                        found = index;
                if (found < 0)
                    return cli_usage_error (
                        "top",
                        "--sort takes host, busy, done, "
                        "rate, failed, cpu or mem, not '%s'",
                        optarg);
                self.sort = found;
                break;
            }
            case 'f':
                snprintf (self.filter, sizeof self.filter, "%s", optarg);
                break;
            case 'O':
                once = true;
                break;
            case 'h':
                fputs (s_usage, stdout);
                return ZMP_EXIT_OK;
            default:
                return cli_option_error ("top", option, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error ("top", "unexpected argument '%s'",
                                argv[optind]);
    cli_log_init ("zmpool", -2);
    int rc = once || !isatty (STDOUT_FILENO) || !isatty (STDIN_FILENO)
                 ? s_run_once (&self, interval_ms)
                 : s_run_screen (&self, interval_ms);
    zmp_client_destroy (&self.client);
    s_snapshot_clear (&self.now);
    s_snapshot_clear (&self.before);
    return rc;
}
