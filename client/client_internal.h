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
*/
#ifndef CLIENT_INTERNAL_H_INCLUDED
#define CLIENT_INTERNAL_H_INCLUDED

#include "zmp_proto.h"

#include <czmq.h>
#include <pthread.h>
#include <zmpool.h>

typedef enum {
    JOB_ASYNC = 1,
    JOB_ITER = 2,
    JOB_REQUEST = 3
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
    int processes;         //  Cap asked for, or the cluster's slots
    int cap;               //  Cap as asked (0: none)
    bool closed;           //  No more submissions
    bool terminated;       //  Cancelled; no more submissions
    uint64_t outstanding;  //  Tasks submitted, result not yet in
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
    zlistx_t *pools;        //  Live zmp_pool_t * (not owned), declared
                            //  again to a broker after a loss
    zhashx_t *jobs;         //  job_t * by serial (not owned)
    uint32_t next_serial;
    uint32_t next_pool_id;
    bool welcomed;           //  A WELCOME came since the last loss
    bool lost;               //  The broker is gone; work fails at once
    bool stopping;           //  Destroy has begun
    zmp_error_t lost_error;  //  Why, when lost
    int slots;               //  Cluster slots, as last reported
    uint32_t heartbeat_ms;   //  The broker's
    uint32_t liveness;       //  The broker's
    char host[ZMP_PROTO_HOST_MAX + 1];
};

//  zmp_client.c
//  Register job under a new serial. Lock held.
void client_job_register (zmp_client_t *client, job_t *job);
//  Remove job from the table. Lock held.
void client_job_unregister (zmp_client_t *client, job_t *job);
//  Queue msg for the I/O thread (takes it). Lock held.
void client_post (zmp_client_t *client, zmsg_t **msg_p);
//  Fail if the client cannot take work now. Lock held.
int client_check (zmp_client_t *client, zmp_error_t *error);
//  Deadline for timeout_ms (ZMP_FOREVER: none) on the monotonic clock
struct timespec client_deadline (int timeout_ms);
//  Wait on cond until deadline (NULL: forever). Returns 0, or ETIMEDOUT
int client_wait (zmp_client_t *client, pthread_cond_t *cond,
                 const struct timespec *deadline);
void client_cond_init (pthread_cond_t *cond);
//  Send a request and wait for its reply. Returns the reply body, or NULL.
zframe_t *client_request (zmp_client_t *client, zmp_proto_command_t command,
                          zframe_t **body_p, int timeout_ms,
                          zmp_error_t *error);

//  zmp_pool.c: deliveries, run by the I/O thread with the lock held
void pool_deliver (zmp_client_t *client, job_t *job, uint32_t place,
                   const zmp_proto_result_t *result, zframe_t **value_p);
//  Fail every outstanding task of job with error (broker lost, cancel)
void pool_fail_job (zmp_client_t *client, job_t *job, const zmp_error_t *error);
//  Run the callbacks of an async (I/O thread, lock NOT held), then drop
//  the reference the callback list held
void pool_run_callbacks (zmp_client_t *client, zmp_async_t *async);

#endif
