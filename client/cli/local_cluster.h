/*  local_cluster - a private broker and worker agent for one command

    When `zmpool map` or `zmpool bench` finds no broker, it starts its own:
    `zmpool broker` and `zmpool worker` run as child processes of the
    command (fork and exec of this same executable, so no ZeroMQ context
    crosses the fork), on an ipc:// endpoint in a private directory. They
    die with the command (PR_SET_PDEATHSIG) and are stopped and reaped by
    local_cluster_stop.
*/
#ifndef LOCAL_CLUSTER_H_INCLUDED
#define LOCAL_CLUSTER_H_INCLUDED

#include <zmpool.h>

typedef struct local_cluster local_cluster_t;

//  Start a broker and one agent with processes children (0: one per core),
//  loading modules (NULL-terminated list, may be NULL). Returns when the
//  agent is registered, or NULL with the reason after 10 s.
local_cluster_t *local_cluster_start (int processes, const char **modules,
                                      zmp_error_t *error);

//  Stop the agent and the broker, reap them, remove the directory. Does
//  nothing if *self_p is NULL; sets it to NULL.
void local_cluster_stop (local_cluster_t **self_p);

//  The broker's endpoint.
const char *local_cluster_endpoint (const local_cluster_t *self);

//  The agent's task processes.
int local_cluster_processes (const local_cluster_t *self);

//  Start `zmpool ARGS... --ready-fd 3` (argv[0] is "zmpool"), as the local
//  cluster starts its processes, and wait up to timeout_ms for the first
//  line it writes there, copied into line. Returns the pid, or -1 (the
//  process, if any, is stopped).
pid_t local_cluster_spawn (char **argv, char *line, size_t size,
                           int timeout_ms);

//  Stop a process started by local_cluster_spawn: SIGTERM, a bounded
//  wait, SIGKILL; then reap it.
void local_cluster_reap (pid_t pid);

#endif
