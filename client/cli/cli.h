/*  cli - what the zmpool subcommands share

    Exit codes are the contract scripts rely on: 0 success, 1 a task failed
    or the command could not do its work, 2 bad usage. Errors are one line
    on stderr, "zmpool COMMAND: what went wrong", and a usage error adds
    "Try 'zmpool COMMAND --help'.".
*/
#ifndef CLI_H_INCLUDED
#define CLI_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <zmpool.h>

#define ZMP_EXIT_OK     0
#define ZMP_EXIT_FAILED 1
#define ZMP_EXIT_USAGE  2

int cli_broker (int argc, char **argv);
int cli_worker (int argc, char **argv);
int cli_status (int argc, char **argv);
int cli_map (int argc, char **argv);
int cli_run (int argc, char **argv);
int cli_bench (int argc, char **argv);
int cli_keygen (int argc, char **argv);
int cli_top (int argc, char **argv);

//  Print "zmpool COMMAND: message" and the --help hint; returns 2.
int cli_usage_error (const char *command, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Print "zmpool COMMAND: message"; returns 1.
int cli_fail (const char *command, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Report what getopt_long () refused (it returned option, '?' or ':';
//  call with opterr = 0 and an optstring that starts with ':'); returns 2.
int cli_option_error (const char *command, int option, char **argv);

//  The checks of commands that run FUNCTION (map, run): it must be there,
//  and --module makes no sense with --connect. Returns -1 if all is well,
//  else the usage error's exit status (said on stderr).
int cli_check_function (const char *command, bool function_given,
                        const char *endpoint, size_t module_count);

//  Parse text as a whole number in [min, max]. Returns false if it is not.
bool cli_parse_long (const char *text, long min, long max, long *value);

//  Parse text as seconds (e.g. "2.5") in (0, max] into milliseconds.
bool cli_parse_seconds (const char *text, double max, int *milliseconds);

//  The broker endpoint: $ZMPOOL_BROKER, else the default.
const char *cli_default_endpoint (void);

//  Set logging up for a command; verbosity 0 is notices, -1 warnings
//  only, -2 errors only, 1 info, 2 debug. Commands that print their own
//  one-line errors (map, status) use -2, so that the library's warnings
//  do not say the same thing twice.
void cli_log_init (const char *ident, int verbosity);

//  True if something accepts connections at endpoint (tcp:// or ipc://),
//  found with a plain socket: no ZeroMQ, no waiting. Other transports are
//  assumed to be there.
bool cli_endpoint_listening (const char *endpoint);

//  Number of cores this process may use (at least 1): its CPU affinity set,
//  capped by its cgroup CPU quota.
int cli_cores (void);

//  Reading the broker's status map (docs/PROTOCOL.md section 8): key of
//  map as a number, 0 if it is absent or not one; as text, "-" if absent
//  or empty
uint64_t cli_status_uint (const msgpack_object *map, const char *key);
int64_t cli_status_int (const msgpack_object *map, const char *key);
void cli_status_str (const msgpack_object *map, const char *key, char *buffer,
                     size_t size);

//  A worker's host load from its status entry, as percentages of its
//  cores busy and of its memory in use; false if its agent has not
//  reported one
bool cli_status_load (const msgpack_object *worker, double *cpu_percent,
                      double *mem_percent);

//  seconds, short, into buffer: "0.42s", "12.3s", "4m05s", "3h12m", "9d04h".
//  Returns buffer.
const char *cli_format_seconds (double seconds, char *buffer, size_t size);

typedef struct local_cluster local_cluster_t;

//  Connect a command to its cluster, as the design card fixes it: to
//  endpoint when given (--connect); else to $ZMPOOL_BROKER or the default
//  if something listens there; else to a local cluster started here with
//  processes task processes (0: one per core) and modules (NULL-terminated,
//  may be NULL; modules always mean a local cluster). Sets logging up
//  (verbosity as for cli_log_init; -2 unless the user asked for more).
//  Returns the client with *local_p set (NULL when no local cluster was
//  needed), or NULL after printing the error, with *local_p NULL.
zmp_client_t *cli_cluster_open (const char *command, const char *endpoint,
                                int processes, const char **modules,
                                int verbosity, local_cluster_t **local_p);

//  Disconnect and stop the local cluster, if any.
void cli_cluster_close (zmp_client_t **client_p, local_cluster_t **local_p);

#endif
