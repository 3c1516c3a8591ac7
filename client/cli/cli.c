/*  cli - helpers shared by the zmpool subcommands
*/
#include "cli.h"

#include "local_cluster.h"
#include "zmp_cores.h"
#include "zmp_log.h"
#include "zmp_value.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

//  --------------------------------------------------------------------------
//  Report a usage error.

int
cli_usage_error (const char *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "zmpool %s: ", command);
    vfprintf (stderr, format, args);
    fprintf (stderr, "\nTry 'zmpool %s --help'.\n", command);
    va_end (args);
    return ZMP_EXIT_USAGE;
}

//  --------------------------------------------------------------------------
//  Report a failure.

int
cli_fail (const char *command, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "zmpool %s: ", command);
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    return ZMP_EXIT_FAILED;
}

//  --------------------------------------------------------------------------
//  Report an option getopt refused.

int
cli_option_error (const char *command, int option, char **argv)
{
    const char *word = argv[optind - 1];
    if (option == ':')
        return cli_usage_error (command, "option '%s' needs a value", word);
    if (optopt && strncmp (word, "--", 2) != 0)
        return cli_usage_error (command, "unknown option '-%c'", optopt);
    return cli_usage_error (command, "unknown option '%s'", word);
}

//  --------------------------------------------------------------------------
//  Check FUNCTION and --module for map and run.

int
cli_check_function (const char *command, bool function_given,
                    const char *endpoint, size_t module_count)
{
    if (!function_given)
        return cli_usage_error (command, "FUNCTION is missing");
    if (endpoint && module_count)
        return cli_usage_error (command,
                                "--module is for a local cluster; load "
                                "modules on the workers of %s instead",
                                endpoint);
    return -1;
}

//  --------------------------------------------------------------------------
//  Parse a whole number in a range.

bool
cli_parse_long (const char *text, long min, long max, long *value)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    long number = strtol (text, &end, 10);
    if (errno || *end || number < min || number > max)
        return false;
    *value = number;
    return true;
}

//  --------------------------------------------------------------------------
//  Parse seconds into milliseconds.

bool
cli_parse_seconds (const char *text, double max, int *milliseconds)
{
    if (!text || !*text)
        return false;
    char *end;
    errno = 0;
    double seconds = strtod (text, &end);
    if (errno || *end || !isfinite (seconds) || seconds <= 0 || seconds > max)
        return false;
    *milliseconds = (int) ceil (seconds * 1000);
    return true;
}

//  --------------------------------------------------------------------------
//  The endpoint to use when none is given.

const char *
cli_default_endpoint (void)
{
    const char *endpoint = getenv ("ZMPOOL_BROKER");
    return endpoint && *endpoint ? endpoint : ZMP_DEFAULT_ENDPOINT;
}

//  --------------------------------------------------------------------------
//  Set logging up for a command.

void
cli_log_init (const char *ident, int verbosity)
{
    zmp_log_init (ident, true);
    zmp_log_level_t level = ZMP_LOG_NOTICE;
    if (verbosity < -1)
        level = ZMP_LOG_ERROR;
    else if (verbosity < 0)
        level = ZMP_LOG_WARNING;
    else if (verbosity == 1)
        level = ZMP_LOG_INFO;
    else if (verbosity > 1)
        level = ZMP_LOG_DEBUG;
    zmp_log_set_level (level);
}

static bool
s_tcp_listening (const char *address)
{
    //  address is host:port, or [v6]:port
    char host[256];
    const char *colon = strrchr (address, ':');
    if (!colon || colon == address || (size_t) (colon - address) >= sizeof host)
        return true;  //  Let ZeroMQ judge what we cannot parse
    memcpy (host, address, (size_t) (colon - address));
    host[colon - address] = 0;
    char *name = host;
    if (name[0] == '[' && name[strlen (name) - 1] == ']') {
        name[strlen (name) - 1] = 0;
        name++;
    }
    if (streq (name, "*"))
        name = "127.0.0.1";
    struct addrinfo hints, *found = NULL;
    memset (&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo (name, colon + 1, &hints, &found) || !found)
        return false;
    bool listening = false;
    for (struct addrinfo *item = found; item && !listening;
         item = item->ai_next) {
        int fd = socket (item->ai_family, item->ai_socktype | SOCK_CLOEXEC,
                         item->ai_protocol);
        if (fd < 0)
            continue;
        listening = connect (fd, item->ai_addr, item->ai_addrlen) == 0;
        close (fd);
    }
    freeaddrinfo (found);
    return listening;
}

static bool
s_ipc_listening (const char *path)
{
    struct sockaddr_un address;
    memset (&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (strlen (path) >= sizeof address.sun_path)
        return true;
    strcpy (address.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return true;
    bool listening =
        connect (fd, (struct sockaddr *) &address, sizeof address) == 0;
    close (fd);
    return listening;
}

//  --------------------------------------------------------------------------
//  True if something listens at endpoint.

bool
cli_endpoint_listening (const char *endpoint)
{
    if (strncmp (endpoint, "tcp://", 6) == 0)
        return s_tcp_listening (endpoint + 6);
    if (strncmp (endpoint, "ipc://", 6) == 0)
        return s_ipc_listening (endpoint + 6);
    return true;
}

//  --------------------------------------------------------------------------
//  Connect to the broker, or to a local cluster started for the command.

zmp_client_t *
cli_cluster_open (const char *command, const char *endpoint, int processes,
                  const char **modules, int verbosity,
                  local_cluster_t **local_p)
{
    *local_p = NULL;
    bool have_modules = modules && modules[0];
    zmp_error_t error;
    if (!endpoint
        && (have_modules
            || !cli_endpoint_listening (cli_default_endpoint ()))) {
        const char *asked = getenv ("ZMPOOL_BROKER");
        if (asked && *asked && !have_modules && verbosity >= 0)
            fprintf (stderr,
                     "zmpool %s: no broker at $ZMPOOL_BROKER (%s); running "
                     "on a local cluster\n",
                     command, asked);
        *local_p = local_cluster_start (processes, modules, &error);
        if (!*local_p) {
            cli_fail (command, "%s", error.message);
            return NULL;
        }
        endpoint = local_cluster_endpoint (*local_p);
    }
    if (!endpoint)
        endpoint = cli_default_endpoint ();
    //  The local cluster (if any) exists: now a ZeroMQ context may
    cli_log_init ("zmpool", verbosity > 0 ? verbosity : -2);
    zmp_client_t *client = zmp_client_connect (endpoint, 5000, &error);
    if (!client) {
        cli_fail (command, "%s", error.message);
        local_cluster_stop (local_p);
    }
    return client;
}

//  --------------------------------------------------------------------------
//  Disconnect from the cluster; stop it if it was local.

void
cli_cluster_close (zmp_client_t **client_p, local_cluster_t **local_p)
{
    zmp_client_destroy (client_p);
    local_cluster_stop (local_p);
}

//  --------------------------------------------------------------------------
//  Number of cores this process may use (its CPU affinity and quota).

int
cli_cores (void)
{
    return zmp_cores_usable ();
}

//  --------------------------------------------------------------------------
//  A duration, short.

const char *
cli_format_seconds (double seconds, char *buffer, size_t size)
{
    if (seconds < 0)
        seconds = 0;
    long long whole = (long long) seconds;
    if (seconds < 10)
        snprintf (buffer, size, "%.2fs", seconds);
    else if (seconds < 60)
        snprintf (buffer, size, "%.1fs", seconds);
    else if (whole < 3600)
        snprintf (buffer, size, "%lldm%02llds", whole / 60, whole % 60);
    else if (whole < 86400)
        snprintf (buffer, size, "%lldh%02lldm", whole / 3600, whole / 60 % 60);
    else
        snprintf (buffer, size, "%lldd%02lldh", whole / 86400,
                  whole / 3600 % 24);
    return buffer;
}

//  --------------------------------------------------------------------------
//  Fields of the status map.

uint64_t
cli_status_uint (const msgpack_object *map, const char *key)
{
    uint64_t value = 0;
    zmp_uint_get (zmp_map_get (map, key), UINT64_MAX, &value);
    return value;
}

int64_t
cli_status_int (const msgpack_object *map, const char *key)
{
    int64_t value = 0;
    zmp_int_get (zmp_map_get (map, key), &value);
    return value;
}

void
cli_status_str (const msgpack_object *map, const char *key, char *buffer,
                size_t size)
{
    if (zmp_str_copy (zmp_map_get (map, key), buffer, size) || !buffer[0])
        snprintf (buffer, size, "-");
}

bool
cli_status_load (const msgpack_object *worker, double *cpu_percent,
                 double *mem_percent)
{
    uint64_t total = cli_status_uint (worker, "mem_total_kib");
    if (!total)
        return false;
    uint64_t available = cli_status_uint (worker, "mem_available_kib");
    if (available > total)
        available = total;
    *cpu_percent = (double) cli_status_uint (worker, "cpu_permille") / 10;
    *mem_percent = 100.0 * (double) (total - available) / (double) total;
    return true;
}
