/*  cmd_status - `zmpool status`: what the broker knows, as text or JSON
*/
#include "cli.h"

#include "zmp_json.h"
#include "zmp_value.h"

#include <czmq.h>
#include <getopt.h>
#include <stdio.h>

static const char *s_usage =
    "Usage: zmpool status [OPTION]...\n"
    "Show the broker's workers, slots, queue depth and counters.\n"
    "\n"
    "  -c, --connect EP        broker endpoint (default: $ZMPOOL_BROKER, else\n"
    "                          " ZMP_DEFAULT_ENDPOINT ")\n"
    "      --json              print one JSON object (fields in\n"
    "                          docs/PROTOCOL.md) instead of a table\n"
    "      --prometheus        print the counters and gauges in the\n"
    "                          Prometheus text format (for a node\n"
    "                          exporter's textfile collector or a scrape)\n"
    "  -t, --timeout S         seconds to wait for the broker (default 5)\n"
    "  -w, --workers N         wait, up to the timeout, until the broker is up\n"
    "                          and at least N workers have joined it; exit 1\n"
    "                          if they have not (for scripts that start a\n"
    "                          cluster)\n"
    "  -h, --help              show this help\n"
    "\n"
    "Examples:\n"
    "  zmpool status --connect tcp://127.0.0.1:5555 --json\n"
    "  zmpool status --workers 4 --timeout 60\n";

//  The wider of width and text's length, at most 40 columns.
static int
s_max_width (int width, const char *text)
{
    int length = (int) strlen (text);
    if (length > 40)
        length = 40;
    return length > width ? length : width;
}

static void
s_print_table (const msgpack_object *status)
{
    const msgpack_object *broker = zmp_map_get (status, "broker");
    char host[256], endpoint[256], name[256];
    cli_status_str (broker, "endpoint", endpoint, sizeof endpoint);
    cli_status_str (broker, "host", host, sizeof host);
    int64_t uptime_s = cli_status_int (broker, "uptime_ms") / 1000;
    printf ("broker   %s on %s pid %lld, up %lldh%02lldm%02llds\n", endpoint,
            host, (long long) cli_status_int (broker, "pid"),
            (long long) (uptime_s / 3600), (long long) (uptime_s / 60 % 60),
            (long long) (uptime_s % 60));
    const msgpack_object *workers = zmp_map_get (status, "workers");
    uint32_t worker_count = workers && workers->type == MSGPACK_OBJECT_ARRAY
                                ? workers->via.array.size
                                : 0;
    printf ("cluster  %u workers, %llu slots, %llu busy, %llu queued, "
            "%llu running\n",
            worker_count,
            (unsigned long long) cli_status_uint (status, "slots"),
            (unsigned long long) cli_status_uint (status, "busy"),
            (unsigned long long) cli_status_uint (status, "queued"),
            (unsigned long long) cli_status_uint (status, "running"));
    if (worker_count) {
        //  Host and name columns as wide as their longest entry, within
        //  reason: a pod's name is some 30 characters
        int host_width = 12, name_width = 4;
        for (uint32_t index = 0; index < worker_count; index++) {
            const msgpack_object *worker = &workers->via.array.ptr[index];
            cli_status_str (worker, "host", host, sizeof host);
            cli_status_str (worker, "name", name, sizeof name);
            host_width = s_max_width (host_width, host);
            name_width = s_max_width (name_width, name);
        }
        printf ("\n%-*s %8s %-*s %5s %5s %5s %5s %10s %7s %7s %5s %5s %9s\n",
                host_width, "HOST", "PID", name_width, "NAME", "CORES", "SLOTS",
                "BUSY", "PROCS", "DONE", "FAILED", "SEEN", "CPU%", "MEM%",
                "TASK-CPU");
        for (uint32_t index = 0; index < worker_count; index++) {
            const msgpack_object *worker = &workers->via.array.ptr[index];
            cli_status_str (worker, "host", host, sizeof host);
            cli_status_str (worker, "name", name, sizeof name);
            char cpu[16] = "-", memory[16] = "-", task_cpu[16];
            double cpu_percent, mem_percent;
            if (cli_status_load (worker, &cpu_percent, &mem_percent)) {
                snprintf (cpu, sizeof cpu, "%.0f", cpu_percent);
                snprintf (memory, sizeof memory, "%.0f", mem_percent);
            }
            cli_format_seconds (
                (double) (cli_status_uint (worker, "task_user_us")
                          + cli_status_uint (worker, "task_system_us"))
                    / 1e6,
                task_cpu, sizeof task_cpu);
            printf ("%-*.*s %8lld %-*.*s %5llu %5llu %5llu %5llu %10llu "
                    "%7llu %6.1fs %5s %5s %9s\n",
                    host_width, host_width, host,
                    (long long) cli_status_int (worker, "pid"), name_width,
                    name_width, name,
                    (unsigned long long) cli_status_uint (worker, "cores"),
                    (unsigned long long) cli_status_uint (worker, "slots"),
                    (unsigned long long) cli_status_uint (worker, "busy"),
                    (unsigned long long) cli_status_uint (worker, "processes"),
                    (unsigned long long) cli_status_uint (worker, "done"),
                    (unsigned long long) cli_status_uint (worker, "failed"),
                    cli_status_int (worker, "heartbeat_age_ms") / 1000.0, cpu,
                    memory, task_cpu);
        }
    }
    const msgpack_object *counters = zmp_map_get (status, "counters");
    printf ("\ntasks    %llu submitted, %llu completed, %llu failed, "
            "%llu lost\n",
            (unsigned long long) cli_status_uint (counters, "submitted"),
            (unsigned long long) cli_status_uint (counters, "completed"),
            (unsigned long long) cli_status_uint (counters, "failed"),
            (unsigned long long) cli_status_uint (counters, "lost"));
    const msgpack_object *objects = zmp_map_get (status, "objects");
    if (objects)
        printf ("objects  %llu shared objects holding %llu bytes, %llu calls "
                "waiting, %llu processes waiting for a worker\n",
                (unsigned long long) cli_status_uint (objects, "count"),
                (unsigned long long) cli_status_uint (objects, "bytes"),
                (unsigned long long) cli_status_uint (objects, "waiting"),
                (unsigned long long) cli_status_uint (objects,
                                                      "pending_processes"));
}

//  --------------------------------------------------------------------------
//  The Prometheus text format (version 0.0.4)

//  A metric's HELP and TYPE lines
static void
s_prom_head (const char *name, const char *type, const char *help)
{
    printf ("# HELP zmpool_%s %s\n# TYPE zmpool_%s %s\n", name, help, name,
            type);
}

//  A sample's value: whole numbers whole, others to 9 digits
static void
s_prom_value (double value)
{
    if (value > -9e15 && value < 9e15 && value == (double) (int64_t) value)
        printf (" %lld\n", (long long) value);
    else
        printf (" %.9g\n", value);
}

//  One sample without labels
static void
s_prom (const char *name, const char *type, const char *help, double value)
{
    s_prom_head (name, type, help);
    printf ("zmpool_%s", name);
    s_prom_value (value);
}

//  text as a label value: backslash, double quote and newline escaped
static void
s_prom_label (const char *text)
{
    for (; *text; text++) {
        if (*text == '\\' || *text == '"')
            printf ("\\%c", *text);
        else if (*text == '\n')
            printf ("\\n");
        else
            putchar (*text);
    }
}

//  One sample per peer of peers (workers or clients) that has key, named
//  name, scaled by scale, labelled with the peer's id, host and pid
static void
s_prom_peers (const msgpack_object *peers, const char *prefix, const char *name,
              const char *type, const char *help, const char *key, double scale)
{
    char full[128];
    snprintf (full, sizeof full, "%s_%s", prefix, name);
    s_prom_head (full, type, help);
    for (uint32_t index = 0; peers && index < peers->via.array.size; index++) {
        const msgpack_object *peer = &peers->via.array.ptr[index];
        uint64_t value;
        if (zmp_uint_get (zmp_map_get (peer, key), UINT64_MAX, &value))
            continue;
        char host[256];
        cli_status_str (peer, "host", host, sizeof host);
        printf ("zmpool_%s{id=\"%llu\",host=\"", full,
                (unsigned long long) cli_status_uint (peer, "id"));
        s_prom_label (host);
        printf ("\",pid=\"%lld\"}", (long long) cli_status_int (peer, "pid"));
        s_prom_value ((double) value * scale);
    }
}

static void
s_print_prometheus (const msgpack_object *status)
{
    const msgpack_object *broker = zmp_map_get (status, "broker");
    s_prom ("up", "gauge", "1: the broker answered", 1);
    s_prom ("broker_uptime_seconds", "gauge",
            "Seconds since the broker started",
            (double) cli_status_int (broker, "uptime_ms") / 1000);
    const msgpack_object *workers = zmp_map_get (status, "workers");
    const msgpack_object *clients = zmp_map_get (status, "clients");
    if (workers && workers->type != MSGPACK_OBJECT_ARRAY)
        workers = NULL;
    if (clients && clients->type != MSGPACK_OBJECT_ARRAY)
        clients = NULL;
    s_prom ("workers", "gauge", "Workers registered",
            workers ? workers->via.array.size : 0);
    s_prom ("clients", "gauge", "Clients registered",
            clients ? clients->via.array.size : 0);
    s_prom ("slots", "gauge", "Task slots of all workers",
            (double) cli_status_uint (status, "slots"));
    s_prom ("busy_slots", "gauge", "Slots running a task",
            (double) cli_status_uint (status, "busy"));
    s_prom ("queued_tasks", "gauge", "Tasks waiting in pool queues",
            (double) cli_status_uint (status, "queued"));
    s_prom ("running_tasks", "gauge", "Tasks dispatched and not yet done",
            (double) cli_status_uint (status, "running"));
    const msgpack_object *counters = zmp_map_get (status, "counters");
    static const char *const counter_help[][2] = {
        { "submitted", "Tasks accepted into a queue" },
        { "dispatched", "Tasks sent to a worker (retries again)" },
        { "completed", "Tasks that ended, successes and failures" },
        { "failed", "Tasks that ended with an error" },
        { "stale", "Results that matched no task" },
        { "rejected", "Messages and tasks refused" },
        { "lost", "Tasks failed because their worker was lost" },
        { "retried", "Tasks queued again after a lost worker or a crash" },
    };
    for (size_t index = 0; index < sizeof counter_help / sizeof counter_help[0];
         index++) {
        char name[64];
        snprintf (name, sizeof name, "tasks_%s_total", counter_help[index][0]);
        s_prom (name, "counter", counter_help[index][1],
                (double) cli_status_uint (counters, counter_help[index][0]));
    }
    const msgpack_object *objects = zmp_map_get (status, "objects");
    s_prom ("objects", "gauge", "Shared objects alive",
            (double) cli_status_uint (objects, "count"));
    s_prom ("object_bytes", "gauge", "Bytes the shared objects hold",
            (double) cli_status_uint (objects, "bytes"));
    s_prom ("waiting_calls", "gauge", "Object calls blocked, waiting",
            (double) cli_status_uint (objects, "waiting"));

    s_prom_peers (workers, "worker", "slots", "gauge", "Its task slots",
                  "slots", 1);
    s_prom_peers (workers, "worker", "busy_slots", "gauge",
                  "Its slots running a task", "busy", 1);
    s_prom_peers (workers, "worker", "tasks_done_total", "counter",
                  "Results it returned", "done", 1);
    s_prom_peers (workers, "worker", "tasks_failed_total", "counter",
                  "Of those, failures", "failed", 1);
    s_prom_peers (workers, "worker", "heartbeat_age_seconds", "gauge",
                  "Since its last message", "heartbeat_age_ms", 1e-3);
    s_prom_peers (workers, "worker", "task_user_seconds_total", "counter",
                  "CPU its tasks used in user mode", "task_user_us", 1e-6);
    s_prom_peers (workers, "worker", "task_system_seconds_total", "counter",
                  "CPU its tasks used in the kernel", "task_system_us", 1e-6);
    s_prom_peers (workers, "worker", "task_max_rss_bytes", "gauge",
                  "The largest peak memory of its task processes",
                  "task_max_rss_kib", 1024);
    s_prom_peers (workers, "worker", "host_cpu_busy_ratio", "gauge",
                  "Share of its host's cores busy", "cpu_permille", 1e-3);
    s_prom_peers (workers, "worker", "host_memory_bytes", "gauge",
                  "Its host's memory", "mem_total_kib", 1024);
    s_prom_peers (workers, "worker", "host_memory_available_bytes", "gauge",
                  "Of that, available", "mem_available_kib", 1024);
    s_prom_peers (clients, "client", "queued_tasks", "gauge",
                  "Its tasks waiting", "queued", 1);
    s_prom_peers (clients, "client", "running_tasks", "gauge",
                  "Its tasks dispatched", "running", 1);
    s_prom_peers (clients, "client", "tasks_submitted_total", "counter",
                  "Its tasks accepted", "submitted", 1);
    s_prom_peers (clients, "client", "tasks_completed_total", "counter",
                  "Its tasks that ended", "completed", 1);
    s_prom_peers (clients, "client", "task_cpu_seconds_total", "counter",
                  "CPU its tasks used", "cpu_us", 1e-6);
}

//  The status, or NULL after saying why
static zmp_value_t *
s_status_once (const char *endpoint, int timeout_ms)
{
    if (!cli_endpoint_listening (endpoint)) {
        cli_fail ("status", "no broker at %s (nothing accepts connections)",
                  endpoint);
        return NULL;
    }
    zmp_error_t error;
    zmp_client_t *client = zmp_client_connect (endpoint, timeout_ms, &error);
    zmp_value_t *status =
        client ? zmp_client_status (client, timeout_ms, &error) : NULL;
    zmp_client_destroy (&client);
    if (!status)
        cli_fail ("status", "%s", error.message);
    return status;
}

static size_t
s_workers (const zmp_value_t *status)
{
    const msgpack_object *workers =
        zmp_map_get (zmp_value_get (status), "workers");
    return workers && workers->type == MSGPACK_OBJECT_ARRAY
               ? workers->via.array.size
               : 0;
}

//  The status once count workers are there, waiting up to timeout_ms for
//  the broker and for them; or NULL after saying why
static zmp_value_t *
s_wait_for_workers (const char *endpoint, size_t count, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zmp_client_t *client = NULL;
    zmp_value_t *status = NULL;
    size_t seen = 0;
    while (!zsys_interrupted) {
        int64_t left = deadline - zclock_mono ();
        if (!client && cli_endpoint_listening (endpoint))
            client = zmp_client_connect (
                endpoint, left > 1000 ? 1000 : (int) (left > 0 ? left : 1),
                NULL);
        if (client) {
            zmp_value_destroy (&status);
            status = zmp_client_status (client, 1000, NULL);
            seen = status ? s_workers (status) : seen;
            if (seen >= count)
                break;
        }
        if (zclock_mono () >= deadline)
            break;
        zclock_sleep (200);
    }
    zmp_client_destroy (&client);
    if (status && seen >= count)
        return status;
    zmp_value_destroy (&status);
    cli_fail ("status", "%zu of %zu workers at %s after %d ms", seen, count,
              endpoint, timeout_ms);
    return NULL;
}

int
cli_status (int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "json", no_argument, NULL, 'J' },
        { "prometheus", no_argument, NULL, 'P' },
        { "timeout", required_argument, NULL, 't' },
        { "workers", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *endpoint = cli_default_endpoint ();
    bool json = false, prometheus = false;
    int timeout_ms = 5000;
    long workers = 0;
    int option;
    opterr = 0;
    while ((option = getopt_long (argc, argv, ":c:t:w:h", options, NULL))
           != -1) {
        switch (option) {
            case 'c':
                endpoint = optarg;
                break;
            case 'J':
                json = true;
                break;
            case 'P':
                prometheus = true;
                break;
            case 't':
                if (!cli_parse_seconds (optarg, 3600, &timeout_ms))
                    return cli_usage_error (
                        "status", "--timeout takes seconds, not '%s'", optarg);
                break;
            case 'w':
                if (!cli_parse_long (optarg, 1, 100000, &workers))
                    return cli_usage_error (
                        "status", "--workers takes 1 or more, not '%s'",
                        optarg);
                break;
            case 'h':
                fputs (s_usage, stdout);
                return ZMP_EXIT_OK;
            default:
                return cli_option_error ("status", option, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error ("status", "unexpected argument '%s'",
                                argv[optind]);
    if (json && prometheus)
        return cli_usage_error ("status",
                                "--json and --prometheus: one format only");
    cli_log_init ("zmpool", -2);
    zmp_value_t *status =
        workers ? s_wait_for_workers (endpoint, (size_t) workers, timeout_ms)
                : s_status_once (endpoint, timeout_ms);
    if (!status) {
        if (prometheus)  //  A scrape sees the broker down, not nothing
            s_prom ("up", "gauge", "1: the broker answered", 0);
        return ZMP_EXIT_FAILED;
    }
    if (json) {
        char *text = zmp_json_text (zmp_value_get (status));
        printf ("%s\n", text);
        free (text);
    } else if (prometheus)
        s_print_prometheus (zmp_value_get (status));
    else
        s_print_table (zmp_value_get (status));
    zmp_value_destroy (&status);
    return ZMP_EXIT_OK;
}
