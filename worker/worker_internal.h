/*  worker_internal - the agent's records of tasks and task processes, for
    worker/ only

    agent        the agent itself (zmp_agent.c, agent_process.c)
    agent_task   one dispatched task, from DISPATCH until its DONE is queued
    agent_child  the agent's side of one task process: the tasks sent to it
                 (oldest first: the first is the one running), and the bytes
                 in flight each way on its socket
    agent_process  one Process: a child forked for one task, with its
                 output pipes

    A child may hold several tasks when they are tiny (the agent decides how
    many); it runs them one at a time, in order, and writes each result as
    soon as it is done. So the first task without a result is always the
    one running, and the ones behind it have not started.

    Used by the agent's thread only.
*/
#ifndef WORKER_INTERNAL_H_INCLUDED
#define WORKER_INTERNAL_H_INCLUDED

#include "zmp_agent.h"
#include "zmp_child.h"
#include "zmp_proto.h"
#include "zmp_spawner.h"

#include <czmq.h>
#include <sys/types.h>

typedef struct {
    zmp_proto_dispatch_t header;  //  As the broker sent it
    zframe_t *args;               //  Owned: the argument frame
    zmp_error_kind_t abort_kind;  //  Why it must not report its result
                                  //  (cancelled, timeout), or ZMP_ERR_NONE
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
    int64_t kill_at_us;        //  zclock_usecs () to SIGKILL a task over its
                               //  limit that SIGTERM did not end; 0: none
    bool retiring;             //  To be replaced once its tasks are done
    bool cancel_killed;        //  Killed for its cancelled running task
    long start_rss_kb;         //  Its resident memory when it started
} agent_child_t;

//  A result the child sent for task (taken from the child: the callee owns
//  it), with the time it ran in us as the agent saw it, and what the child
//  measured of it.
typedef void (agent_result_fn) (void *arg, agent_child_t *child,
                                agent_task_t *task, uint32_t status,
                                const char *payload, size_t size,
                                int64_t run_us, const zmp_proto_usage_t *usage);

void agent_child_init (agent_child_t *child);

//  Free buffers and tasks.
void agent_child_destroy (agent_child_t *child);

//  Take a fresh process: its pid and our end of its socket (made
//  non-blocking here).
void agent_child_start (agent_child_t *child, pid_t pid, int fd);

//  Resident memory of process pid in KiB (0 if unknown).
long agent_child_rss_kb (pid_t pid);

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

//  --------------------------------------------------------------------------
//  The agent

//  agent_load.c: the last reading of the host's load, for the next one's
//  CPU share; zero it first
typedef struct {
    uint64_t busy;  //  Jiffies
    uint64_t total;
} agent_load_t;

struct zmp_agent {
    zmp_agent_config_t config;          //  Strings borrowed from the caller
    zmp_registry_t *registry;           //  Borrowed
    zmp_spawner_t *spawner;             //  Owned
    zmp_child_context_t child_context;  //  Inherited by every child
    agent_child_t *children;            //  Owned, config.processes of them
    size_t slots;                       //  Number of children
    zlistx_t *queue;        //  Owned agent_task_t *, waiting for a child
    zlistx_t *processes;    //  Owned agent_process_t *, Processes
    uint32_t next_process;  //  Numbers the spawner's Process slots
    zsock_t *socket;        //  Owned DEALER to the broker
    zsock_t *monitor;       //  Owned: its handshake failures
    zcert_t *curve_cert;    //  Owned: our key pair, or NULL (no CURVE)
    char curve_server[48];  //  The broker's public key (Z85), with it
    char refused[ZMP_ERROR_MESSAGE_MAX];  //  The last refusal logged
    zmsg_t *done;                         //  Owned DONE message being gathered
    zmsg_t *events;  //  Owned PROCESS message being gathered; sent
                     //  before done, so output precedes the end
    double run_us;   //  Recent task run time, averaged; 0: none yet
    char host[ZMP_PROTO_HOST_MAX + 1];
    bool registered;  //  Welcomed by the broker, not lost since
    bool ever_registered;
    int64_t lost_since;  //  zclock_mono () ms since when it has no broker
    int64_t hello_at;    //  zclock_mono () ms of its next HELLO, while it
                         //  has no broker
    uint32_t hello_interval_ms;  //  After the next HELLO, the wait until
                                 //  another
    uint32_t hello_attempt;      //  HELLOs sent; only the WELCOME to the
                                 //  last one counts
    int64_t hello_sent_at;       //  zclock_mono () ms of the last HELLO
    uint32_t heartbeat_ms;       //  Current interval (the broker's)
    uint32_t liveness;           //  Current liveness (the broker's)
    uint64_t max_message;        //  The broker's largest frame, 0: unknown
    int64_t broker_seen_at;      //  zclock_mono () ms of its last message
    int64_t next_tick_at;        //  zclock_mono () ms of the next tick
    int64_t sent_at;             //  zclock_mono () ms of our last send
    int64_t load_sent_at;        //  ...of our last load report
    agent_load_t load;           //  The host's load, as last read
    int64_t health_at;           //  zclock_mono () ms of the last health write
    bool health_failed;          //  Said so once
    uint64_t tasks_done;         //  All children, since start
    int64_t memory_check_us;     //  zclock_usecs () of the next look at the
                                 //  memory of the running tasks' processes
    bool fatal;                  //  Cannot go on (spawner gone)
};

//  How often the agent reads the memory of processes running a task, when
//  it has a ceiling (zmpool worker --max-child-memory)
#define AGENT_MEMORY_CHECK_MS 100

//  zmp_agent.c: queue a DONE item (takes value); usage may be NULL (not
//  measured)
void agent_done (zmp_agent_t *self, uint32_t slot, uint64_t seq,
                 uint32_t status, pid_t pid, int64_t run_us,
                 const zmp_proto_usage_t *usage, zframe_t **value_p);

//  Queue a DONE item carrying an error made here, on this host
void agent_done_error (zmp_agent_t *self, uint32_t slot, uint64_t seq,
                       pid_t pid, zmp_error_kind_t kind, int signal, int code,
                       const char *format, ...)
    __attribute__ ((format (printf, 8, 9)));

//  --------------------------------------------------------------------------
//  Processes (agent_process.c)

//  Spawner slots of Processes have this bit; pool children's do not
#define AGENT_PROCESS_BIT 0x80000000u

typedef struct {
    agent_child_t child;  //  Its socket, and its task once sent
    agent_task_t *task;   //  Owned until the process runs and takes it
    uint32_t spawn_slot;  //  AGENT_PROCESS_BIT | its number
    uint64_t seq;         //  The broker's dispatch number
    char function[ZMP_FUNCTION_NAME_MAX + 1];  //  What it runs
    int out_fd;               //  Read end of its stdout, -1 once closed
    int err_fd;               //  Read end of its stderr, -1 once closed
    int kill_signal;          //  To send as soon as it runs; 0: none
    bool aborted;             //  Its client is gone: report it cancelled
    bool reported;            //  Its DONE went already (it could not start)
    bool answered;            //  It wrote its result
    uint32_t status;          //  The result's status
    zframe_t *result;         //  Owned: the result's value
    int64_t run_us;           //  How long its task ran
    zmp_proto_usage_t usage;  //  What its task used
} agent_process_t;

//  Start a Process for task (a DISPATCH with ZMP_PROTO_PROCESS_SLOT); takes
//  the task.
void agent_process_start (zmp_agent_t *self, agent_task_t **task_p);

//  Apply a spawner event if it concerns a Process (returns true), else
//  return false.
bool agent_process_spawned (zmp_agent_t *self, zmp_spawn_event_t *event);

//  Send signal to the Process with seq (once it runs, if it does not yet).
//  abort: its client is gone; it ends as cancelled.
void agent_process_signal (zmp_agent_t *self, uint64_t seq, int signal,
                           bool abort);

//  Its output pipe or socket is ready: stream 0 (socket), 1 or 2
void agent_process_ready (zmp_agent_t *self, agent_process_t *process,
                          int stream, short revents);

//  Send the PROCESS events gathered this turn (before any DONE)
void agent_process_flush (zmp_agent_t *self);

//  Free every Process record, killing the processes
void agent_process_destroy_all (zmp_agent_t *self);

//  agent_load.c: the host's load

//  The host's load now; the first reading has cpu_permille 0. Returns 0,
//  or -1 if it cannot be read (not Linux)
int agent_load_read (agent_load_t *state, zmp_proto_load_t *load);

#endif
