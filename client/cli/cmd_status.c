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

static uint64_t
s_uint (const msgpack_object *map, const char *key)
{
    uint64_t value = 0;
    zmp_uint_get (zmp_map_get (map, key), UINT64_MAX, &value);
    return value;
}

static int64_t
s_int (const msgpack_object *map, const char *key)
{
    int64_t value = 0;
    zmp_int_get (zmp_map_get (map, key), &value);
    return value;
}

static void
s_str (const msgpack_object *map, const char *key, char *buffer, size_t size)
{
    if (zmp_str_copy (zmp_map_get (map, key), buffer, size))
        snprintf (buffer, size, "-");
    if (!buffer[0])
        snprintf (buffer, size, "-");
}

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
    s_str (broker, "endpoint", endpoint, sizeof endpoint);
    s_str (broker, "host", host, sizeof host);
    int64_t uptime_s = s_int (broker, "uptime_ms") / 1000;
    printf ("broker   %s on %s pid %lld, up %lldh%02lldm%02llds\n", endpoint,
            host, (long long) s_int (broker, "pid"),
            (long long) (uptime_s / 3600), (long long) (uptime_s / 60 % 60),
            (long long) (uptime_s % 60));
    const msgpack_object *workers = zmp_map_get (status, "workers");
    uint32_t worker_count = workers && workers->type == MSGPACK_OBJECT_ARRAY
                                ? workers->via.array.size
                                : 0;
    printf ("cluster  %u workers, %llu slots, %llu busy, %llu queued, "
            "%llu running\n",
            worker_count, (unsigned long long) s_uint (status, "slots"),
            (unsigned long long) s_uint (status, "busy"),
            (unsigned long long) s_uint (status, "queued"),
            (unsigned long long) s_uint (status, "running"));
    if (worker_count) {
        //  Host and name columns as wide as their longest entry, within
        //  reason: a pod's name is some 30 characters
        int host_width = 12, name_width = 4;
        for (uint32_t index = 0; index < worker_count; index++) {
            const msgpack_object *worker = &workers->via.array.ptr[index];
            s_str (worker, "host", host, sizeof host);
            s_str (worker, "name", name, sizeof name);
            host_width = s_max_width (host_width, host);
            name_width = s_max_width (name_width, name);
        }
        printf ("\n%-*s %8s %-*s %5s %5s %5s %5s %10s %7s %7s\n", host_width,
                "HOST", "PID", name_width, "NAME", "CORES", "SLOTS", "BUSY",
                "PROCS", "DONE", "FAILED", "SEEN");
        for (uint32_t index = 0; index < worker_count; index++) {
            const msgpack_object *worker = &workers->via.array.ptr[index];
            s_str (worker, "host", host, sizeof host);
            s_str (worker, "name", name, sizeof name);
            printf ("%-*.*s %8lld %-*.*s %5llu %5llu %5llu %5llu %10llu "
                    "%7llu %6.1fs\n",
                    host_width, host_width, host,
                    (long long) s_int (worker, "pid"), name_width, name_width,
                    name, (unsigned long long) s_uint (worker, "cores"),
                    (unsigned long long) s_uint (worker, "slots"),
                    (unsigned long long) s_uint (worker, "busy"),
                    (unsigned long long) s_uint (worker, "processes"),
                    (unsigned long long) s_uint (worker, "done"),
                    (unsigned long long) s_uint (worker, "failed"),
                    s_int (worker, "heartbeat_age_ms") / 1000.0);
        }
    }
    const msgpack_object *counters = zmp_map_get (status, "counters");
    printf ("\ntasks    %llu submitted, %llu completed, %llu failed, "
            "%llu lost\n",
            (unsigned long long) s_uint (counters, "submitted"),
            (unsigned long long) s_uint (counters, "completed"),
            (unsigned long long) s_uint (counters, "failed"),
            (unsigned long long) s_uint (counters, "lost"));
    const msgpack_object *objects = zmp_map_get (status, "objects");
    if (objects)
        printf ("objects  %llu shared objects holding %llu bytes, %llu calls "
                "waiting, %llu processes waiting for a worker\n",
                (unsigned long long) s_uint (objects, "count"),
                (unsigned long long) s_uint (objects, "bytes"),
                (unsigned long long) s_uint (objects, "waiting"),
                (unsigned long long) s_uint (objects, "pending_processes"));
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
        { "timeout", required_argument, NULL, 't' },
        { "workers", required_argument, NULL, 'w' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *endpoint = cli_default_endpoint ();
    bool json = false;
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
    cli_log_init ("zmpool", -2);
    zmp_value_t *status =
        workers ? s_wait_for_workers (endpoint, (size_t) workers, timeout_ms)
                : s_status_once (endpoint, timeout_ms);
    if (!status)
        return ZMP_EXIT_FAILED;
    if (json) {
        char *text = zmp_json_text (zmp_value_get (status));
        printf ("%s\n", text);
        free (text);
    } else
        s_print_table (zmp_value_get (status));
    zmp_value_destroy (&status);
    return ZMP_EXIT_OK;
}
