/*  zmp_agent - the worker agent: one per host, between the broker and the
    task processes

    The agent registers with the broker (HELLO with its slots), takes the
    tasks the broker dispatches, hands each to an idle child process, and
    sends results back (DONE), several per message when they come together.
    A child that dies fails only the task it was running, with an error
    that names the signal, and is replaced at once. Heartbeats come from the
    agent's own loop, never from a child running user code.

    Lifecycle: zmp_agent_new () forks the spawner and the children, before
    the process has any ZeroMQ context; zmp_agent_run () then opens the
    socket and serves until SIGINT/SIGTERM (zsys_interrupted).
*/
#ifndef ZMP_AGENT_H_INCLUDED
#define ZMP_AGENT_H_INCLUDED

#include <zmpool.h>

typedef struct zmp_agent zmp_agent_t;

typedef struct {
    const char *endpoint;      //  Broker to connect to
    int processes;             //  Task processes (slots), 1..4096
    int heartbeat_ms;          //  Until the broker's WELCOME says otherwise
    int liveness;              //  Missed heartbeats before the broker is lost
    const char *name;          //  Label shown by `zmpool status`, may be NULL
    int ready_fd;              //  -1, or written "ready\n" and closed once the
                               //  broker first welcomes this agent
    int give_up_ms;            //  Exit after this long without a broker
                               //  (from start, or from losing it); 0: never
    const char *health_file;   //  NULL, or rewritten at every tick of the
                               //  loop, for a liveness probe
    int grace_ms;              //  A task over its run-time limit gets
                               //  SIGTERM, and SIGKILL this much later
                               //  (0: both at once)
    int max_tasks_per_child;   //  Replace a task process after this many
                               //  tasks; 0: never
    long max_child_growth_kb;  //  Replace a task process whose resident
                               //  memory grew by more than this since it
                               //  started (checked after each task); 0: never
    long max_child_memory_kb;  //  Kill a task process whose resident memory
                               //  is over this while it runs a task (read
                               //  every AGENT_MEMORY_CHECK_MS); 0: never
    const char *curve_secret;  //  NULL, or this agent's key pair (CURVE);
                               //  its task processes use it too
    const char *curve_server;  //  With it: the broker's public key file
} zmp_agent_config_t;

//  While it has no broker the agent says HELLO after 1 s, then after
//  twice as long each time, up to 32 s; ZeroMQ's reconnects back off the
//  same way, and a connection attempt left unanswered for 3 s is dropped
//  and made again.
#define ZMP_AGENT_HELLO_FIRST_MS     1000
#define ZMP_AGENT_HELLO_MAX_MS       32000
#define ZMP_AGENT_CONNECT_TIMEOUT_MS 3000

//  Default grace between SIGTERM and SIGKILL for a task over its limit
#define ZMP_AGENT_GRACE_MS 2000

//  Fork the spawner and config->processes children, waiting up to 10 s for
//  them to start. Must run before this process has a ZeroMQ context (do not
//  call zsys_* first). registry is borrowed and must outlive the agent.
//  Returns NULL with kind system if the processes cannot be started.
zmp_agent_t *zmp_agent_new (const zmp_agent_config_t *config,
                            zmp_registry_t *registry, zmp_error_t *error);

//  Stop the children and the spawner and free the agent. Does nothing if
//  *self_p is NULL; sets it to NULL.
void zmp_agent_destroy (zmp_agent_t **self_p);

//  Connect to the broker and serve until interrupted. Returns 0 after a
//  clean stop (BYE sent), -1 with the reason logged if the agent cannot go
//  on (its spawner died, or it gave up waiting for a broker).
int zmp_agent_run (zmp_agent_t *self);

#endif
