/*  worker_internal - the agent's records of tasks and task processes, for
    worker/ only

    agent_task   one dispatched task, from DISPATCH until its DONE is queued
    agent_child  the agent's side of one task process: the tasks sent to it
                 (oldest first: the first is the one running), and the bytes
                 in flight each way on its socket

    A child may hold several tasks when they are tiny (the agent decides how
    many); it runs them one at a time, in order, and writes each result as
    soon as it is done. So the first task without a result is always the
    one running, and the ones behind it have not started.

    Used by the agent's thread only.
*/
#ifndef WORKER_INTERNAL_H_INCLUDED
#define WORKER_INTERNAL_H_INCLUDED

#include "zmp_child.h"
#include "zmp_proto.h"

#include <czmq.h>
#include <sys/types.h>

typedef struct {
    zmp_proto_dispatch_t header;  //  As the broker sent it
    zframe_t *args;               //  Owned: the argument frame
    zmp_error_kind_t abort_kind;  //  Why it must not report its result
                                  //  (cancelled), or ZMP_ERR_NONE
} agent_task_t;

void agent_task_destroy (agent_task_t **task_p);

//  zlistx destructor adapter
void agent_task_free (void **item_p);

typedef enum {
    CHILD_STARTING,  //  Asked the spawner; no process yet
    CHILD_READY,     //  Running; may hold tasks
    CHILD_GONE       //  Socket closed; waiting for the spawner's report
} agent_child_state_t;

typedef struct {
    agent_child_state_t state;
    pid_t pid;                 //  0 while starting
    int fd;                    //  Our end of its socket, -1 when closed
    zlistx_t *tasks;           //  Owned agent_task_t *, sent, oldest first
    int64_t running_since_us;  //  zclock_usecs () the first task began
    char *output;              //  Owned: request bytes not yet written
    size_t output_size;        //  Bytes in output
    size_t output_sent;        //  Of those, bytes already written
    size_t output_limit;       //  Allocated bytes of output
    char *input;               //  Owned: response bytes read so far
    size_t input_size;         //  Bytes in input
    size_t input_limit;        //  Allocated bytes of input
    uint64_t tasks_done;       //  Tasks this process has finished
    int64_t respawn_at;        //  zclock_mono () ms; 0 unless a fork failed
} agent_child_t;

//  A result the child sent for task (taken from the child: the callee owns
//  it), with the time it ran in us.
typedef void (agent_result_fn) (void *arg, agent_child_t *child,
                                agent_task_t *task, uint32_t status,
                                const char *payload, size_t size,
                                int64_t run_us);

void agent_child_init (agent_child_t *child);

//  Free buffers and tasks.
void agent_child_destroy (agent_child_t *child);

//  Take a fresh process: its pid and our end of its socket (made
//  non-blocking here).
void agent_child_start (agent_child_t *child, pid_t pid, int fd);

//  Close the socket and forget bytes in flight; the tasks stay.
void agent_child_close (agent_child_t *child);

//  Tasks sent and not answered.
size_t agent_child_load (const agent_child_t *child);

//  True while request bytes wait to be written.
bool agent_child_writing (const agent_child_t *child);

//  Send task to the child (takes it): its request joins the output, written
//  as far as the socket takes it now. Returns 0, or -1 if the task is too
//  large for the child's framing (the task is given back in *task_p).
int agent_child_send (agent_child_t *child, agent_task_t **task_p);

//  Write what the socket takes. Returns 0, or -1 if the socket failed.
int agent_child_write (agent_child_t *child);

//  Read what the child wrote and hand each complete result to on_result.
//  Returns 0, or -1 if the socket closed or the child sent something that
//  is no answer to its oldest task (the child must then be replaced).
int agent_child_read (agent_child_t *child, agent_result_fn *on_result,
                      void *arg);

#endif
