/*  client_internal - libzmpool's shared state, for its own files only

    Threads: the I/O thread (a zactor) owns the DEALER socket. User threads
    never touch it: they append whole messages to client->outbox and wake
    the I/O thread through the actor pipe, only when the outbox goes from
    empty to not empty. Everything in this file is guarded by
    client->mutex; each waiting object has its own condition variable.

    Ids: every task or request id is (job serial << 32) | place. The serial
    finds the job in client->jobs (one entry per job, not per task); the
    place is the job's own index (a ring slot of an iterator, 0 for an
    async or a request). A result for a serial no longer there is dropped.

    Jobs: an async result, an iterator, a control request waiting for its
    REPLY, a shared object (the REPLYs to its pipelined operations: puts
    and sends that do not wait) or a Process (its RESULT and its PROCESS
    events).
*/
#ifndef CLIENT_INTERNAL_H_INCLUDED
#define CLIENT_INTERNAL_H_INCLUDED

#include "zmp_handle.h"
#include "zmp_proto.h"

#include <czmq.h>
#include <pthread.h>
#include <zmpool.h>

typedef enum {
    JOB_ASYNC = 1,
    JOB_ITER = 2,
    JOB_REQUEST = 3,
    JOB_OBJECT = 4,
    JOB_PROCESS = 5
} job_kind_t;

//  What the I/O thread delivers to: the first member of zmp_async,
//  zmp_iter and request records
typedef struct {
    job_kind_t kind;
    uint32_t serial;   //  Upper half of its ids
    zmp_pool_t *pool;  //  Borrowed; NULL for requests, or once the
                       //  pool was terminated
    bool registered;   //  In client->jobs
} job_t;

struct zmp_pool {
    zmp_client_t *client;  //  Borrowed
    void *handle;          //  In client->pools
    uint32_t pool_id;
    int processes;             //  Cap asked for, or the cluster's slots
    int cap;                   //  Cap as asked (0: none)
    uint32_t task_timeout_ms;  //  Run-time limit of tasks submitted now
    bool closed;               //  No more submissions
    bool terminated;           //  Cancelled; no more submissions
    uint64_t outstanding;      //  Tasks submitted, result not yet in
    uint64_t callbacks_due;    //  Results in whose callbacks have not run
    zmp_pool_usage_t usage;    //  What its tasks cost
};

//  A control request (POOL, STATUS) waiting for its REPLY
typedef struct {
    job_t job;
    bool done;
    zframe_t *reply;    //  Owned once done (NULL on failure)
    zmp_error_t error;  //  Why it failed
    pthread_cond_t cond;
} client_request_t;

struct zmp_client {
    char *endpoint;         //  Owned
    int timeout_ms;         //  For connect and control requests
    zactor_t *actor;        //  Owned: the I/O thread
    pthread_mutex_t mutex;  //  Guards all below and every job
    pthread_cond_t cond;    //  Welcome, pool join
    zlistx_t *outbox;       //  Owned zmsg_t *, for the I/O thread
    zlistx_t *callbacks;    //  zmp_async_t * with callbacks due
    job_t *callback_job;    //  The async whose callback runs now, or NULL
    zlistx_t *pools;        //  Live zmp_pool_t * (not owned), declared
                            //  again to a broker after a loss
    zhashx_t *jobs;         //  job_t * by serial (not owned)
    zhashx_t *hosts;        //  Owned strings: the worker hosts results
                            //  named, each kept once for their usage
    uint32_t next_serial;
    uint32_t next_pool_id;
    bool welcomed;             //  A WELCOME came since the last loss
    bool lost;                 //  The broker is gone: requests fail at
                               //  once, pool tasks wait to be resent
    bool gave_up;              //  ...and did not come back in resume_ms:
                               //  pool tasks fail at once too
    int64_t lost_at;           //  zclock_mono () ms of the loss
    int resume_ms;             //  How long pool tasks wait for a broker
    bool stopping;             //  Destroy has begun
    zmp_error_t lost_error;    //  Why, when lost
    int slots;                 //  Cluster slots, as last reported
    uint32_t heartbeat_ms;     //  The broker's
    uint32_t liveness;         //  The broker's
    int64_t agent_pid;         //  A task process's agent, else 0
    uint64_t session;          //  Random: who we are across connections
    uint64_t broker_run;       //  The broker's run, from its WELCOME
    zcert_t *curve_cert;       //  Owned: our key pair, or NULL (no CURVE)
    char curve_server[48];     //  The broker's public key (Z85), with it
    zmp_error_t refused;       //  Why the broker refused us (handshake, or
                               //  HELLO), until it welcomes us
    uint64_t max_message;      //  The broker's largest frame, 0: unknown
    uint64_t async_in_flight;  //  apply_async tasks not yet answered
    uint64_t max_in_flight;    //  ...beyond which apply_async waits
    char host[ZMP_PROTO_HOST_MAX + 1];
};

//  What every shared object starts with (zmp_object.c)
typedef struct {
    job_t job;             //  JOB_OBJECT, registered for pipelined calls
    zmp_client_t *client;  //  Borrowed
    zmp_object_kind_t kind;
    uint64_t id;                   //  The broker's
    char handle[ZMP_HANDLE_SIZE];  //  Its handle's bytes
    bool attached;                 //  Holds a reference in the broker
    bool task_owned;               //  Freed when the task that made it returns
    uint32_t in_flight;            //  Pipelined operations not yet answered
    zmp_error_t deferred;          //  The first error one of them met
    pthread_cond_t cond;           //  in_flight went down
} client_object_t;

//  A lock (and the lock of a condition, value or array) (zmp_sync.c)
struct zmp_lock {
    client_object_t object;
};

//  zmp_client.c
//  Connect as a task process of the agent agent_pid (HELLO says so)
zmp_client_t *client_connect (const char *endpoint, int timeout_ms,
                              int64_t agent_pid, zmp_error_t *error);
//  The job with serial, or NULL. Lock held.
job_t *client_job_lookup (zmp_client_t *client, uint32_t serial);
//  Register job under a new serial. Lock held.
void client_job_register (zmp_client_t *client, job_t *job);
//  Remove job from the table. Lock held.
void client_job_unregister (zmp_client_t *client, job_t *job);
//  Queue msg for the I/O thread (takes it). Lock held.
void client_post (zmp_client_t *client, zmsg_t **msg_p);
//  Fail if the client cannot take requests now. Lock held.
int client_check (zmp_client_t *client, zmp_error_t *error);
//  Fail if the client cannot take pool tasks now (a lost broker within
//  the resume period can: they are sent when it is back). Lock held.
int client_check_tasks (zmp_client_t *client, zmp_error_t *error);
//  Deadline for timeout_ms (ZMP_FOREVER: none) on the monotonic clock
struct timespec client_deadline (int timeout_ms);
//  Wait on cond until deadline (NULL: forever). Returns 0, or ETIMEDOUT
//  True on the client's I/O thread (where callbacks run).
bool client_on_io_thread (void);

int client_wait (zmp_client_t *client, pthread_cond_t *cond,
                 const struct timespec *deadline);
void client_cond_init (pthread_cond_t *cond);
//  Send a request and wait for its reply up to timeout_ms (ZMP_FOREVER:
//  until it comes or the broker is lost). Returns the reply body, or NULL.
zframe_t *client_request (zmp_client_t *client, zmp_proto_command_t command,
                          zframe_t **body_p, int timeout_ms,
                          zmp_error_t *error);
//  The same with several body frames (taken)
zframe_t *client_request_msg (zmp_client_t *client, zmp_proto_command_t command,
                              zmsg_t **body_p, int timeout_ms,
                              zmp_error_t *error);
//  Fail whatever job waits for (the broker is lost). Lock held.
void client_fail_job (zmp_client_t *client, job_t *job,
                      const zmp_error_t *error);

//  zmp_object.c
//  Set object up for kind and id; attached: it holds a broker reference;
//  pipelined: it may send operations without waiting (registers a job).
void object_init (client_object_t *object, zmp_client_t *client,
                  zmp_object_kind_t kind, uint64_t id, bool attached,
                  bool pipelined);
//  Wait for its pipelined operations, let go of its reference, free what
//  object_init made (not the object itself).
void object_fini (client_object_t *object);
//  Make an object: params are "new"'s ([kind name, *options]). Returns the
//  reply (a handle, or for a pipe two), which the caller destroys, or NULL.
zmp_value_t *object_create (zmp_client_t *client, const msgpack_object *params,
                            uint32_t count, const msgpack_object *payloads,
                            uint32_t payload_count, zmp_error_t *error);
//  Attach handle, which must be of one of kinds (bit 1 << kind). Fills
//  *kind, *id and *info (the broker's [kind, detail], caller destroys).
//  Returns 0 or -1.
int object_attach (zmp_client_t *client, const msgpack_object *handle,
                   uint32_t kinds, zmp_object_kind_t *kind, uint64_t *id,
                   zmp_value_t **info, zmp_error_t *error);
//  The broker's [kind, detail] for object, without a reference (caller
//  destroys), or NULL
zmp_value_t *object_info (client_object_t *object, zmp_error_t *error);
//  Run [verb, id, *params] with payloads and wait for the outcome. wait_ms
//  is how long the broker may make it wait (-1: forever); the client waits
//  a margin longer. Returns the value (caller destroys) or NULL.
zmp_value_t *object_call (client_object_t *object, const char *verb,
                          const msgpack_object *params, uint32_t count,
                          const msgpack_object *payloads,
                          uint32_t payload_count, int wait_ms,
                          zmp_error_t *error);
//  As object_call, for a nil value: 0 or -1
int object_call_nil (client_object_t *object, const char *verb,
                     const msgpack_object *params, uint32_t count,
                     const msgpack_object *payloads, uint32_t payload_count,
                     int wait_ms, zmp_error_t *error);
//  As object_call, for an integer value: 0 with *number, or -1
int object_call_int (client_object_t *object, const char *verb,
                     const msgpack_object *params, uint32_t count,
                     int64_t *number, zmp_error_t *error);
//  As object_call, for a number: 0 with *number, or -1
int object_call_double (client_object_t *object, const char *verb,
                        const msgpack_object *params, uint32_t count,
                        double *number, zmp_error_t *error);
//  Send [verb, id, *params] with one payload and do not wait for its
//  outcome: an error it meets is returned by the object's next call. Waits
//  only while too many are in flight. Returns 0 or -1.
int object_send (client_object_t *object, const char *verb,
                 const msgpack_object *params, uint32_t count,
                 const msgpack_object *payload, zmp_error_t *error);
//  The broker answered a pipelined op (I/O thread, lock held)
void object_ack (zmp_client_t *client, job_t *job, zframe_t *body);
//  If job is an object this client attached, queue an attach of it on
//  unsent, answered like a pipelined operation. Returns 1 if it did, else
//  0. Lock held.
size_t object_reattach (job_t *job, zlistx_t *unsent);
//  This thread's token, for lock ownership
uint64_t object_token (void);
//  For the task-side constructors: the task's client and the handle in
//  argument index of args, checked against kinds (bit 1 << kind). Returns
//  0 with *client, *kind, *id set, or -1.
int object_task_arg (zmp_task_t *task, const msgpack_object *args,
                     uint32_t index, uint32_t kinds, zmp_client_t **client,
                     zmp_object_kind_t *kind, uint64_t *id, zmp_error_t *error);
//  Give object to the running task: destroy (the kind's own destructor) is
//  called on it when the task returns. Until then the user's destroy only
//  drops the user's pointer.
void object_task_own (zmp_task_t *task, client_object_t *object,
                      void (*destroy) (void **object_p));
//  True if destroy must only drop the user's pointer (task-owned)
bool object_task_owned (client_object_t *object);

#define OBJECT_KIND(kind) (1u << ZMP_OBJECT_##kind)
//  The items of a msgpack_object array built in place
#define OBJECT_ARGS(...)                                                       \
    (msgpack_object[]){ __VA_ARGS__ },                                         \
        (uint32_t) (sizeof ((msgpack_object[]){ __VA_ARGS__ })                 \
                    / sizeof (msgpack_object))

//  zmp_process.c: deliveries, I/O thread, lock held
void process_deliver (zmp_client_t *client, job_t *job,
                      const zmp_proto_result_t *result, zframe_t **value_p);
void process_fail (zmp_client_t *client, job_t *job, const zmp_error_t *error);
//  A PROCESS event: started, or output (lock NOT held: it calls the output
//  function, which may call this API)
void process_event (zmp_client_t *client, uint32_t serial,
                    const zmp_proto_task_event_t *event, zframe_t *data);

//  zmp_pool.c: the public form of what a task used, from the figures on
//  its RESULT, the process that ran it and its host
void client_usage_give (const zmp_proto_usage_t *from, int64_t pid,
                        const char *host, zmp_usage_t *usage);

//  zmp_pool.c: deliveries, run by the I/O thread with the lock held
void pool_deliver (zmp_client_t *client, job_t *job, uint32_t place,
                   const zmp_proto_result_t *result, zframe_t **value_p);
//  Fail every outstanding task of job with error (broker lost, cancel)
void pool_fail_job (zmp_client_t *client, job_t *job, const zmp_error_t *error);
//  Append to unsent SUBMITs with a copy of each task of job that has no
//  result yet: the broker came back. Returns how many. Lock held.
size_t pool_resend_job (job_t *job, zlistx_t *unsent);
//  Run the callbacks of an async (I/O thread, lock NOT held), then drop
//  the reference the callback list held
void pool_run_callbacks (zmp_client_t *client, zmp_async_t *async);

#endif
