/*  zmp_spawner - forks task processes for the worker agent

    A ZeroMQ context must never cross a fork, yet the agent has to replace
    a crashed child long after it opened its socket to the broker. So before
    the agent creates any context it forks the spawner: a small process
    with no ZeroMQ at all, whose only job is to fork children on request and
    report how they end. Each child gets one end of a fresh socketpair; the
    other end travels back to the agent over the control socket
    (SCM_RIGHTS), so tasks flow agent <-> child directly.

    The spawner runs in its own process group (a Ctrl-C at the terminal
    reaches the agent alone, which shuts down in order) and dies with the
    agent (PR_SET_PDEATHSIG, and end-of-file on the control socket); its
    children die with it. Linux only.

    Used by the agent's thread only.
*/
#ifndef ZMP_SPAWNER_H_INCLUDED
#define ZMP_SPAWNER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <zmpool.h>

typedef struct zmp_spawner zmp_spawner_t;

//  The body of a child: fd is its end of the socket to the agent; process
//  is true for a Process child (one task, then exit). Returns the child's
//  exit code. Runs in the child process, which has no ZeroMQ context (it
//  may make its own).
typedef int (zmp_child_main_fn) (int fd, uint32_t slot, bool process,
                                 void *arg);

typedef enum {
    ZMP_SPAWN_STARTED = 1,  //  A child is running; fd is the agent's end
    ZMP_SPAWN_EXITED = 2,   //  A child ended; status and usage say how
    ZMP_SPAWN_FAILED = 3    //  fork or socketpair failed; status is errno
} zmp_spawn_event_kind_t;

typedef struct {
    zmp_spawn_event_kind_t kind;
    uint32_t slot;        //  As given to zmp_spawner_spawn
    pid_t pid;            //  The child
    int fd;               //  STARTED: owned by the receiver from now on
    int out_fd;           //  STARTED, Process: read end of its stdout, owned
                          //  by the receiver; else -1
    int err_fd;           //  The same for stderr
    int status;           //  EXITED: as waitpid () reports it
    struct rusage usage;  //  EXITED: the child's resource use
} zmp_spawn_event_t;

//  Fork the spawner. Call before this process has any ZeroMQ context.
//  child_main runs in every child with arg (inherited memory). Returns
//  NULL with kind system if fork or socketpair fails.
zmp_spawner_t *zmp_spawner_new (zmp_child_main_fn *child_main, void *arg,
                                zmp_error_t *error);

//  Close the control socket, which makes the spawner kill its children
//  and exit, and reap it (waiting up to a second, then SIGKILL). Does
//  nothing if *self_p is NULL; sets it to NULL.
void zmp_spawner_destroy (zmp_spawner_t **self_p);

//  File descriptor to poll for events (readable when one is waiting).
int zmp_spawner_fd (const zmp_spawner_t *self);

//  Process id of the spawner.
pid_t zmp_spawner_pid (const zmp_spawner_t *self);

//  Ask for a new child for slot. Does not block; a STARTED event follows.
//  Returns 0, or -1 if the spawner is gone.
int zmp_spawner_spawn (zmp_spawner_t *self, uint32_t slot);

//  Ask for a Process child for slot: like zmp_spawner_spawn, but its
//  stdout and stderr are pipes whose read ends come with STARTED, and its
//  stdin is /dev/null.
int zmp_spawner_spawn_process (zmp_spawner_t *self, uint32_t slot);

//  Take the next event, waiting up to timeout_ms (0: do not wait). Returns
//  0 with event filled; -1 with kind wait_timeout if there is none yet; -1
//  with kind system if the spawner is gone.
int zmp_spawner_recv (zmp_spawner_t *self, zmp_spawn_event_t *event,
                      int timeout_ms, zmp_error_t *error);

#endif
