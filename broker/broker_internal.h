/*  broker_internal - the broker's records, shared by its own files only

    peer    one connected client or worker agent (one ROUTER identity)
    pool    a client's pool: its queue of waiting tasks and its cap
    task    one submitted task, from SUBMIT until its result leaves; a
            Process is a task too, run outside the pool slots

    Ownership: the broker owns peers (by routing key); a client peer owns
    its pools; a pool owns its queued tasks; a worker peer's window owns
    the tasks dispatched to it. Processes wait in the scheduler's pending
    list, then belong to their worker's process table. A task keeps borrowed pointers to its
    client and pool, set to NULL when either goes; the broker then sends
    the worker an ABORT for it, and drops its result if one still comes.

    Used by the broker thread only.
*/
#ifndef BROKER_INTERNAL_H_INCLUDED
#define BROKER_INTERNAL_H_INCLUDED

#include "zmp_broker.h"
#include "zmp_proto.h"
#include "zmp_store.h"

#include <czmq.h>

typedef struct broker_peer broker_peer_t;
typedef struct broker_pool broker_pool_t;
typedef struct broker_events broker_events_t;

typedef struct {
    uint64_t task_id;        //  The client's id for it (unique among its
                             //  client's tasks in flight, not over time)
    uint64_t number;         //  The broker's: 1, 2, 3... as submitted
    bool cancel_logged;      //  The event log has its last line
    uint64_t client_number;  //  Its client's broker_peer_t number
    broker_peer_t *client;   //  Borrowed; NULL once the client left
    broker_pool_t *pool;     //  Borrowed; NULL once the pool went
    uint32_t flags;          //  ZMP_TASK_*
    uint32_t timeout_ms;     //  Run-time limit, 0: none
    char function[ZMP_FUNCTION_NAME_MAX + 1];
    zframe_t *args;         //  Owned; a copy goes in each DISPATCH, so
                            //  that it can run again elsewhere
    broker_peer_t *worker;  //  Borrowed: where it runs, or NULL
    uint32_t slot;          //  Window slot at that worker
    uint64_t seq;           //  Dispatch number, unique per broker
    uint32_t attempt;       //  Dispatches so far (1: no retries yet)
    uint32_t lost;          //  Times its worker was lost while it ran
    uint32_t failures;      //  Times its process crashed or ran over its
                            //  limit (each run again, up to the limit)
    uint64_t *handles;      //  Owned: objects its arguments name, each
                            //  retained in the store while the task lives
    uint32_t handle_count;
    zmp_store_t *store;  //  Borrowed: where the handles are retained
} broker_task_t;

struct broker_pool {
    uint32_t pool_id;       //  The client's id for it
    broker_peer_t *client;  //  Borrowed: the owner
    uint32_t processes;     //  Cap on running tasks, 0: none
    uint32_t running;       //  Tasks of this pool now dispatched
    bool closed;            //  The client closed it; freed when empty
    zlistx_t *queue;        //  Owned broker_task_t *, oldest first
    void *handle;           //  In the client's pool rotation
};

struct broker_peer {
    char key[2 * 256 + 1];    //  Hex of the routing id: the hash key
    uint64_t number;          //  1, 2, 3... in order of registration
    char *host_json;          //  Owned: its host as a JSON string, made
                              //  by the event log when it first needs it
    zframe_t *routing_id;     //  Owned
    zmp_proto_hello_t hello;  //  What it said it is
    char user[48];            //  Its CURVE public key (Z85), or "" without
    int64_t seen_at;          //  zclock_mono () ms of its last message
    int64_t sent_at;          //  zclock_mono () ms of our last send
    int64_t joined_at;        //  zclock_mono () ms of its HELLO
    zmsg_t *outgoing;         //  Owned: the batch being built (DISPATCH,
                              //  RESULT or ABORT)
    zlistx_t *backlog;        //  Owned zmsg_t * the socket refused
    bool gone;                //  Left; reaped at the end of the turn
    bool in_grace;            //  A client silent past its liveness, kept
                              //  for the broker's client grace period
    void *handle;             //  In the worker or client list
    void *dirty_handle;       //  In the dirty list, or NULL
    //  Worker
    broker_task_t **window;  //  Owned tasks in flight, by slot
    uint32_t capacity;       //  Window size: slots + the most prefetch
    double run_us;           //  Recent task run time, averaged (0:
                             //  none seen yet)
    uint32_t in_flight;      //  Tasks in the window
    uint32_t *free_slots;    //  Owned stack of free window slots
    uint32_t free_count;
    zhashx_t *processes;         //  Owned Process tasks running there, by seq
    uint64_t processes_started;  //  Processes sent to it, ever
    uint64_t done;               //  Results it returned
    uint64_t failed;             //  Of those, failures
    uint64_t task_user_us;       //  CPU its tasks used, as measured
    uint64_t task_system_us;
    uint64_t task_max_rss_kib;  //  Largest peak of its task processes
    bool has_load;              //  It reports its host's load (HEARTBEAT)
    zmp_proto_load_t load;      //  As last reported
    //  Client
    zhashx_t *pools;       //  Owned broker_pool_t * by pool id
    zlistx_t *pool_order;  //  Pools in rotation (not owned)
    uint64_t queued;       //  Tasks waiting in its pools
    uint64_t running;      //  Tasks of its pools dispatched
    uint64_t submitted;
    uint64_t completed;
    uint64_t cpu_us;  //  CPU its tasks used (user and system)
};

//  Counters of the whole broker since start
typedef struct {
    uint64_t submitted;   //  Tasks accepted
    uint64_t dispatched;  //  Dispatches
    uint64_t completed;   //  Results delivered or dropped
    uint64_t failed;      //  Of those, failures
    uint64_t stale;       //  Results for tasks no longer there
    uint64_t rejected;    //  Malformed or refused messages
    uint64_t lost;        //  Tasks failed because their worker was lost
    uint64_t retried;     //  Tasks queued again after their worker was lost
} broker_counters_t;

//  The scheduler: peers, pools, tasks, fair dispatch
typedef struct {
    zhashx_t *peers;         //  Owned broker_peer_t * by key
    zlistx_t *workers;       //  Worker peers (not owned)
    zlistx_t *clients;       //  Client peers, in rotation (not owned)
    zlistx_t *dirty;         //  Peers with outgoing messages (not owned)
    zlistx_t *pending;       //  Owned Process tasks waiting for a worker
    zmp_store_t *store;      //  Borrowed: the shared objects
    int prefetch;            //  Fixed prefetch per worker, or -1:
                             //  adaptive (BROKER_PREFETCH_*)
    uint32_t retries;        //  Re-runs of a task whose worker is lost
    uint32_t crash_retries;  //  Re-runs of a task whose process crashed
                             //  or ran over its limit
    uint64_t max_queued;     //  Tasks a client may have queued; 0: any
    uint64_t next_seq;       //  Next dispatch number
    uint64_t queued;         //  Tasks waiting, all clients
    uint32_t slots;          //  Slots of all workers
    broker_counters_t counters;
    uint64_t next_number;     //  For the next peer
    uint64_t next_task;       //  For the next task submitted
    broker_events_t *events;  //  Borrowed: the event log, or NULL
} broker_sched_t;

//  Adaptive prefetch: keep about BROKER_QUEUED_US of work queued at each
//  worker beyond its busy slots (judged by its recent task run times),
//  between BROKER_PREFETCH_MIN tasks and BROKER_PREFETCH_PER_SLOT per slot
//  (BROKER_PREFETCH_MAX at most). Tiny tasks get a deep window, long ones
//  hardly any, so that short tasks flow and long ones balance.
#define BROKER_QUEUED_US         2000
#define BROKER_PREFETCH_MIN      2
#define BROKER_PREFETCH_PER_SLOT 64
#define BROKER_PREFETCH_MAX      1024

//  zmp_sched.c
void broker_sched_init (broker_sched_t *sched, int prefetch, uint32_t retries,
                        zmp_store_t *store);
void broker_sched_destroy (broker_sched_t *sched);
//  Cancel the task of pool with task_id: drop it if queued, stop it if
//  running. No result follows.
void broker_task_cancel (broker_sched_t *sched, broker_pool_t *pool,
                         uint64_t task_id);
//  Put a pool task that was dispatched back at the head of its pool's
//  queue, to run again (counted as retried).
void broker_task_requeue (broker_sched_t *sched, broker_task_t *task,
                          const char *reason);
//  Routing key (hex) of a routing id frame, into key (513 bytes)
void broker_routing_key (zframe_t *routing_id, char *key);
broker_peer_t *broker_peer_lookup (broker_sched_t *sched, const char *key);
//  A new peer from its HELLO; takes the routing id
broker_peer_t *broker_peer_add (broker_sched_t *sched, zframe_t **routing_id_p,
                                const char *key, const zmp_proto_hello_t *hello,
                                int64_t now);
//  How a peer went, for what the object store keeps of it
typedef enum {
    BROKER_PEER_LEFT = 1,     //  Said goodbye
    BROKER_PEER_DIED = 2,     //  Expired, or its process died
    BROKER_PEER_RETURNED = 3  //  The same process said HELLO again: its
                              //  objects and locks stay, its waits end
} broker_departure_t;

//  The peer left: its queued tasks go, running ones are aborted (client)
//  or reported lost (worker). Marked gone; freed by broker_sched_reap.
void broker_peer_remove (broker_sched_t *sched, broker_peer_t *peer,
                         const char *why, broker_departure_t departure);
//  Free peers marked gone
void broker_sched_reap (broker_sched_t *sched);
//  Append frames to the peer's outgoing message of command (started if
//  none); takes the frames (second may be NULL)
void broker_peer_queue (broker_sched_t *sched, broker_peer_t *peer,
                        zmp_proto_command_t command, zframe_t **first_p,
                        zframe_t **second_p);

//  The pool pool_id of client, made (uncapped) if it does not exist
broker_pool_t *broker_pool_get (broker_sched_t *sched, broker_peer_t *client,
                                uint32_t pool_id);
//  The pool pool_id of client, or NULL
broker_pool_t *broker_pool_find (broker_sched_t *sched, broker_peer_t *client,
                                 uint32_t pool_id);
//  Close a pool (freed once idle), or cancel all its tasks
void broker_pool_close (broker_sched_t *sched, broker_pool_t *pool);
void broker_pool_cancel (broker_sched_t *sched, broker_pool_t *pool);

//  Queue a task (takes it): a Process in the pending list, else in its pool
void broker_task_queue (broker_sched_t *sched, broker_task_t *task);

//  Retain the objects named by the handles in a task's arguments. Returns
//  0, or -1 (nothing retained) with kind not_found, limit or bad_arguments.
int broker_task_retain (broker_sched_t *sched, broker_task_t *task,
                        zmp_error_t *error);

//  A worker reported on a Process: its task, still in the worker's table
//  (NULL if unknown)
broker_task_t *broker_process_find (broker_peer_t *worker, uint64_t seq);

//  Take a finished Process out of its worker's table (caller destroys)
broker_task_t *broker_process_take (broker_peer_t *worker, uint64_t seq);

//  Send signal to the Process task_id of client: at its worker, or, if it
//  has not started, fail it at once as killed. Nothing if it is gone.
void broker_process_kill (broker_sched_t *sched, broker_peer_t *client,
                          uint64_t task_id, uint32_t signal);

//  Forget the clients that were task processes of worker: the one with pid,
//  or all (pid 0). Their locks are released as if their owner died.
void broker_forget_task_clients (broker_sched_t *sched, broker_peer_t *worker,
                                 int64_t pid, const char *why);
//  Send a result for task to its client (if it still has one); takes value.
//  worker, where it ran, and usage, what it used, may be NULL (it did not
//  run to its end).
void broker_task_result (broker_sched_t *sched, broker_task_t *task,
                         uint32_t status, int64_t pid, broker_peer_t *worker,
                         const zmp_proto_usage_t *usage, zframe_t **value_p);
//  Free a task; its handles are released
void broker_task_destroy (broker_task_t **task_p);

//  A worker returned a result: match it to its window slot. Returns the
//  task (now out of the window; caller destroys), or NULL if stale.
broker_task_t *broker_window_take (broker_sched_t *sched, broker_peer_t *worker,
                                   uint32_t slot, uint64_t seq,
                                   uint64_t run_us);

//  How many tasks worker may hold now (slots + prefetch)
uint32_t broker_window_limit (broker_sched_t *sched, broker_peer_t *worker);

//  Dispatch queued tasks to workers with room, fairly across clients
void broker_sched_dispatch (broker_sched_t *sched);

//  Status map, as STATUS replies carry it
zframe_t *broker_sched_status (broker_sched_t *sched, int64_t now,
                               int64_t started_at, const char *endpoint);

//  broker_events.c: the task event log (broker --event-log)

//  What an event says beyond its task and worker
typedef struct {
    uint32_t status;                 //  The error kind of failed, else 0
    int64_t pid;                     //  The process that ran it, 0: none
    const zmp_proto_usage_t *usage;  //  What it used, or NULL
    const char *reason;              //  Why (retried, cancelled), or NULL
} broker_event_detail_t;

//  Open path for appending; past max_bytes it is renamed to path.1 and
//  begun again. NULL, with kind usage, if it cannot be opened.
broker_events_t *broker_events_open (const char *path, uint64_t max_bytes,
                                     zmp_error_t *error);
void broker_events_close (broker_events_t **self_p);

//  Write what is buffered (the end of each turn). Does nothing for NULL.
void broker_events_flush (broker_events_t *self);

//  One line: task changed to kind (submitted, dispatched, started,
//  finished, failed, retried, cancelled); worker, where it runs or ran,
//  and detail may be NULL. Does nothing for a NULL log.
void broker_event (broker_events_t *self, const char *kind,
                   const broker_task_t *task, broker_peer_t *worker,
                   const broker_event_detail_t *detail);

#endif
