/*  zmp_pool - Pool, AsyncResult, the map iterators and map results

    Every map variant runs on one engine, the iterator: a ring of `window`
    chunk records. The caller's thread pulls items from the source, packs
    chunks and posts them as SUBMIT messages, only while the ring has room;
    the I/O thread marks chunks done as results arrive; the caller's thread
    takes them back out, in input order (imap, map) or in arrival order
    (imap_unordered). An ordered ring puts chunk c in place c % window;
    an unordered one takes any free place. Either way the place is the low
    half of the task id, so a result finds its record at once.

    zmp_pool_map decodes every result into one msgpack zone that the
    results object owns: one allocation per few kilobytes of results, not
    one per result.
*/
#include "client_internal.h"

#include "zmp_error.h"
#include "zmp_handle.h"
#include "zmp_value.h"

#include <errno.h>

//  What a result said its task used (zmp_usage_t, kept small)
typedef struct {
    bool known;
    zmp_proto_usage_t usage;
    int64_t pid;
    const char *host;  //  In client->hosts
} pool_usage_t;

void
client_usage_give (const zmp_proto_usage_t *from, int64_t pid, const char *host,
                   zmp_usage_t *usage)
{
    usage->start_us = (int64_t) from->start_us;
    usage->wall_us = (int64_t) from->wall_us;
    usage->user_us = (int64_t) from->user_us;
    usage->system_us = (int64_t) from->system_us;
    usage->max_rss_kib = (int64_t) from->max_rss_kib;
    usage->pid = pid;
    snprintf (usage->host, sizeof usage->host, "%s", host);
}

//  ...of a usage kept
static void
s_usage_give (const pool_usage_t *kept, zmp_usage_t *usage)
{
    client_usage_give (&kept->usage, kept->pid, kept->host, usage);
}

#define POOL_WINDOW_MIN         256  //  Chunks in flight per iterator, at least
#define POOL_WINDOW_PER_PROCESS 8

struct zmp_async {
    job_t job;             //  First: the I/O thread sees this
    zmp_client_t *client;  //  Borrowed
    int refs;              //  The caller's handle, the job table,
                           //  the callback list: 1 each
    bool ready;
    zmp_error_t error;   //  Kind none on success
    zframe_t *frame;     //  Owned: the result's bytes
    zmp_value_t *value;  //  Owned: decoded on first get
    zmp_callback_fn *callback;
    zmp_callback_fn *error_callback;
    void *arg;
    zframe_t *header;  //  Owned until ready: the task, to send again
    zframe_t *args;    //  if the broker is lost
    pool_usage_t usage;
    pthread_cond_t cond;
};

typedef struct {
    bool used;            //  Submitted and not yet handed out
    bool done;            //  Its result is in
    uint32_t status;      //  0, or the error kind
    zframe_t *frame;      //  Owned: value or error map
    uint64_t first_item;  //  Input position of its first item
    uint32_t count;       //  Items in it
    zframe_t *header;     //  Owned until done: the task, to send again
    zframe_t *args;       //  if the broker is lost
    pool_usage_t usage;
} iter_chunk_t;

struct zmp_iter {
    job_t job;             //  First: the I/O thread sees this
    zmp_client_t *client;  //  Borrowed
    uint32_t pool_id;
    char function[ZMP_FUNCTION_NAME_MAX + 1];
    zmp_source_fn *source;
    void *state;
    bool ordered;  //  imap (true) or imap_unordered
    bool star;     //  Items are argument arrays
    size_t chunksize;
    size_t window;          //  Places in ring
    iter_chunk_t *ring;     //  Owned, window places
    uint32_t *free_places;  //  Unordered: stack of free places
    size_t free_count;
    uint32_t *arrived;  //  Unordered: FIFO of done places
    size_t arrived_head;
    size_t arrived_count;
    uint64_t next_chunk;    //  Chunks submitted so far
    uint64_t taken_chunks;  //  Chunks handed out so far
    uint64_t next_item;     //  Items pulled from the source so far
    bool source_done;       //  The source returned NULL
    //  The chunk being handed out, item by item (caller's thread only)
    iter_chunk_t current;  //  Its record; frame owned
    bool has_current;
    uint32_t current_next;      //  Next item of it to hand out
    msgpack_unpacked unpacked;  //  current's decoded value
    zmp_error_t current_error;  //  current's error, when it failed
    size_t last_index;          //  Input position last handed out
    pthread_cond_t cond;
};

struct zmp_results {
    msgpack_zone zone;      //  Owns every decoded result
    msgpack_object *items;  //  Owned array of count results
    size_t count;
};


//  --------------------------------------------------------------------------
//  Pool

//  --------------------------------------------------------------------------
//  Create a pool.

zmp_pool_t *
zmp_pool_new (zmp_client_t *client, int processes, zmp_error_t *error)
{
    assert (client);
    if (processes < 0) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "processes must be 0 (all slots) or more, not %d",
                       processes);
        return NULL;
    }
    zmp_pool_t *self = (zmp_pool_t *) zmalloc (sizeof (zmp_pool_t));
    self->client = client;
    self->cap = processes;
    pthread_mutex_lock (&client->mutex);
    self->pool_id = client->next_pool_id++;
    pthread_mutex_unlock (&client->mutex);
    zmp_proto_pool_t request = { self->pool_id, (uint32_t) processes, false };
    zframe_t *body = zmp_proto_encode_pool (&request);
    zframe_t *reply = client_request (client, ZMP_PROTO_POOL, &body,
                                      client->timeout_ms, error);
    zmp_proto_welcome_t state;
    if (!reply || zmp_proto_decode_welcome (reply, &state, error)) {
        zframe_destroy (&reply);
        free (self);
        return NULL;
    }
    zframe_destroy (&reply);
    self->processes = processes ? processes : (int) state.slots;
    pthread_mutex_lock (&client->mutex);
    self->handle = zlistx_add_end (client->pools, self);
    pthread_mutex_unlock (&client->mutex);
    return self;
}

//  Cancel every job of pool, locally. Lock held.
static void
s_pool_cancel_jobs (zmp_pool_t *pool)
{
    zmp_client_t *client = pool->client;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_CANCELLED, "the pool was terminated");
    zlistx_t *jobs = zhashx_values (client->jobs);
    for (job_t *job = (job_t *) zlistx_first (jobs); job;
         job = (job_t *) zlistx_next (jobs))
        if (job->pool == pool) {
            //  First: failing an async whose handle is gone frees it
            job->pool = NULL;
            pool_fail_job (client, job, &error);
        }
    zlistx_destroy (&jobs);
    pool->outstanding = 0;
    pthread_cond_broadcast (&client->cond);
}

//  --------------------------------------------------------------------------
//  Cancel everything of this pool.

void
zmp_pool_terminate (zmp_pool_t *self)
{
    assert (self);
    zmp_client_t *client = self->client;
    pthread_mutex_lock (&client->mutex);
    if (!self->terminated) {
        self->terminated = self->closed = true;
        s_pool_cancel_jobs (self);
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_CANCEL);
        zframe_t *body = zmp_proto_encode_cancel_pool (self->pool_id);
        zmsg_append (msg, &body);
        client_post (client, &msg);
    }
    pthread_mutex_unlock (&client->mutex);
}

//  --------------------------------------------------------------------------
//  Terminate (unless joined) and free the pool.

void
zmp_pool_destroy (zmp_pool_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_pool_t *self = *self_p;
        zmp_client_t *client = self->client;
        pthread_mutex_lock (&client->mutex);
        bool busy = self->outstanding > 0;
        pthread_mutex_unlock (&client->mutex);
        if (busy)
            zmp_pool_terminate (self);
        pthread_mutex_lock (&client->mutex);
        //  Iterators, and asyncs whose callbacks are due or running, may
        //  outlive the pool: they must not point to it
        zlistx_t *jobs = zhashx_values (client->jobs);
        for (job_t *job = (job_t *) zlistx_first (jobs); job;
             job = (job_t *) zlistx_next (jobs))
            if (job->pool == self)
                job->pool = NULL;
        zlistx_destroy (&jobs);
        for (job_t *job = (job_t *) zlistx_first (client->callbacks); job;
             job = (job_t *) zlistx_next (client->callbacks))
            if (job->pool == self)
                job->pool = NULL;
        if (client->callback_job && client->callback_job->pool == self)
            client->callback_job->pool = NULL;
        zlistx_delete (client->pools, self->handle);
        zmp_proto_pool_t request = { self->pool_id, 0, true };
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_POOL);
        zframe_t *id = zmp_proto_encode_uint (0);  //  No reply awaited
        zframe_t *body = zmp_proto_encode_pool (&request);
        zmsg_append (msg, &id);
        zmsg_append (msg, &body);
        client_post (client, &msg);
        pthread_mutex_unlock (&client->mutex);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  The pool's processes.

int
zmp_pool_processes (const zmp_pool_t *self)
{
    assert (self);
    return self->processes;
}

//  --------------------------------------------------------------------------
//  Limit the run time of the tasks submitted from now on.

int
zmp_pool_set_task_timeout (zmp_pool_t *self, int64_t timeout_ms,
                           zmp_error_t *error)
{
    assert (self);
    if (timeout_ms < 0 || timeout_ms > ZMP_TASK_TIMEOUT_MAX_MS) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "a task timeout is 0 to %d ms, not %lld",
                       ZMP_TASK_TIMEOUT_MAX_MS, (long long) timeout_ms);
        return -1;
    }
    pthread_mutex_lock (&self->client->mutex);
    self->task_timeout_ms = (uint32_t) timeout_ms;
    pthread_mutex_unlock (&self->client->mutex);
    return 0;
}

//  --------------------------------------------------------------------------
//  Accept no more tasks.

void
zmp_pool_close (zmp_pool_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    self->closed = true;
    pthread_mutex_unlock (&self->client->mutex);
}

//  --------------------------------------------------------------------------
//  What the pool's tasks have cost so far.

void
zmp_pool_usage (zmp_pool_t *self, zmp_pool_usage_t *usage)
{
    assert (self && usage);
    pthread_mutex_lock (&self->client->mutex);
    *usage = self->usage;
    pthread_mutex_unlock (&self->client->mutex);
}

//  --------------------------------------------------------------------------
//  Wait for every task of the pool.

int
zmp_pool_join (zmp_pool_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    zmp_client_t *client = self->client;
    struct timespec deadline = client_deadline (timeout_ms);
    int rc = 0;
    pthread_mutex_lock (&client->mutex);
    if (!self->closed) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "close the pool before joining it");
        rc = -1;
    }
    //  Until every result is in and every callback has run, as Python's
    //  join waits for its result handler
    while (rc == 0 && (self->outstanding > 0 || self->callbacks_due > 0)
           && !client->gave_up)
        if (client_wait (client, &client->cond,
                         timeout_ms < 0 ? NULL : &deadline)
            == ETIMEDOUT) {
            zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT,
                           "%llu tasks still running after %d ms",
                           (unsigned long long) self->outstanding, timeout_ms);
            rc = -1;
        }
    pthread_mutex_unlock (&client->mutex);
    return rc;
}

//  Can this pool take new tasks? Lock held.
static int
s_pool_check (zmp_pool_t *pool, zmp_error_t *error)
{
    if (pool->terminated) {
        zmp_error_set (error, ZMP_ERR_USAGE, "the pool was terminated");
        return -1;
    }
    if (pool->closed) {
        zmp_error_set (error, ZMP_ERR_USAGE, "the pool is closed");
        return -1;
    }
    return client_check_tasks (pool->client, error);
}

//  Append a task to msg (a SUBMIT, made if NULL): copies of header and
//  args, which the job keeps to send again if the broker is lost.
static void
s_task_append (zmsg_t **msg_p, zframe_t *header, zframe_t *args)
{
    if (!*msg_p)
        *msg_p = zmp_proto_new (ZMP_PROTO_SUBMIT);
    zframe_t *header_copy = zframe_dup (header);
    zframe_t *args_copy = zframe_dup (args);
    zmsg_append (*msg_p, &header_copy);
    zmsg_append (*msg_p, &args_copy);
}

//  Post msg, unless the broker is lost: its tasks go when it is back,
//  with the rest. Lock held.
static void
s_tasks_post (zmp_client_t *client, zmsg_t **msg_p)
{
    if (client->lost)
        zmsg_destroy (msg_p);
    else
        client_post (client, msg_p);
}

static int
s_check_function (const char *function, zmp_error_t *error)
{
    if (!function || !zmp_proto_valid_name (function, strlen (function))) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "'%s' is not a valid function name",
                       function ? function : "(null)");
        return -1;
    }
    return 0;
}

//  The task header frame for one task of job at place.
static zframe_t *
s_task_header (job_t *job, uint32_t place, const char *function, uint32_t flags)
{
    zmp_proto_task_t task;
    task.task_id = ((uint64_t) job->serial << 32) | place;
    task.pool_id = job->pool->pool_id;
    task.flags = flags;
    task.timeout_ms = job->pool->task_timeout_ms;
    snprintf (task.function, sizeof task.function, "%s", function);
    return zmp_proto_encode_task (&task);
}


//  --------------------------------------------------------------------------
//  AsyncResult

//  Drop one reference; the last frees. Lock held.
static void
s_async_unref (zmp_async_t *async)
{
    if (--async->refs == 0) {
        zframe_destroy (&async->frame);
        zmp_value_destroy (&async->value);
        pthread_cond_destroy (&async->cond);
        free (async);
    }
}

//  The result is in (or the task is lost): make it ready. Lock held.
static void
s_async_ready (zmp_client_t *client, zmp_async_t *async, uint32_t status,
               zframe_t **frame_p, const zmp_error_t *error)
{
    if (async->ready)
        return;
    async->ready = true;
    zframe_destroy (&async->header);
    zframe_destroy (&async->args);
    if (error)
        async->error = *error;
    else if (status) {
        zmp_value_t *map = zmp_value_decode_frame (frame_p, NULL);
        zmp_error_unpack (&async->error, (zmp_error_kind_t) status,
                          map ? zmp_value_get (map) : NULL);
        zmp_value_destroy (&map);
    } else {
        async->frame = *frame_p;
        *frame_p = NULL;
    }
    if (async->job.pool && async->job.pool->outstanding > 0
        && --async->job.pool->outstanding == 0)
        pthread_cond_broadcast (&client->cond);
    if (client->async_in_flight > 0
        && client->async_in_flight-- == client->max_in_flight)
        pthread_cond_broadcast (&client->cond);  //  Room for a waiting submit
    client_job_unregister (client, &async->job);
    pthread_cond_broadcast (&async->cond);
    bool wanted = async->error.kind ? async->error_callback != NULL
                                    : async->callback != NULL;
    if (wanted) {
        //  The job table's reference passes to the callback list
        if (async->job.pool)
            async->job.pool->callbacks_due++;
        zlistx_add_end (client->callbacks, async);
        if (zlistx_size (client->callbacks) == 1 && !client->stopping)
            zsock_signal (client->actor, 0);  //  Run them on the I/O thread
    } else
        s_async_unref (async);  //  The job table's reference
}

//  --------------------------------------------------------------------------
//  Submit one task.

zmp_async_t *
zmp_pool_apply_async (zmp_pool_t *self, const char *function,
                      const msgpack_object *args, zmp_callback_fn *callback,
                      zmp_callback_fn *error_callback, void *arg,
                      zmp_error_t *error)
{
    assert (self);
    if (s_check_function (function, error))
        return NULL;
    if (args && args->type != MSGPACK_OBJECT_ARRAY) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "args must be an array of arguments, or NULL");
        return NULL;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    if (args)
        msgpack_pack_object (&packer, *args);
    else
        msgpack_pack_array (&packer, 0);
    zframe_t *args_frame = zmp_frame_from_buffer (&buffer);
    msgpack_sbuffer_destroy (&buffer);

    zmp_async_t *async = (zmp_async_t *) zmalloc (sizeof (zmp_async_t));
    async->job.kind = JOB_ASYNC;
    async->client = self->client;
    async->callback = callback;
    async->error_callback = error_callback;
    async->arg = arg;
    client_cond_init (&async->cond);
    zmp_error_clear (&async->error);

    zmp_client_t *client = self->client;
    pthread_mutex_lock (&client->mutex);
    //  Back-pressure: with as many tasks in flight as the client allows,
    //  wait for a result (never on the I/O thread, whose callbacks would
    //  wait for themselves; never for a lost broker, which fails at once)
    while (client->async_in_flight >= client->max_in_flight && !client->gave_up
           && !client->stopping && !client_on_io_thread ()
           && !s_pool_check (self, NULL))
        client_wait (client, &client->cond, NULL);
    if (s_pool_check (self, error)) {
        pthread_mutex_unlock (&client->mutex);
        zframe_destroy (&args_frame);
        pthread_cond_destroy (&async->cond);
        free (async);
        return NULL;
    }
    async->job.pool = self;
    async->refs = 2;  //  The caller's and the job table's
    client_job_register (client, &async->job);
    self->outstanding++;
    client->async_in_flight++;
    async->header =
        s_task_header (&async->job, 0, function,
                       zmp_handle_present (args) ? ZMP_TASK_HANDLES : 0);
    async->args = args_frame;
    zmsg_t *msg = NULL;
    s_task_append (&msg, async->header, async->args);
    s_tasks_post (client, &msg);
    pthread_mutex_unlock (&client->mutex);
    return async;
}

//  --------------------------------------------------------------------------
//  Submit one task and wait for its result.

zmp_value_t *
zmp_pool_apply (zmp_pool_t *self, const char *function,
                const msgpack_object *args, zmp_error_t *error)
{
    zmp_async_t *async =
        zmp_pool_apply_async (self, function, args, NULL, NULL, NULL, error);
    if (!async)
        return NULL;
    zmp_value_t *value = NULL;
    if (zmp_async_get (async, ZMP_FOREVER, error)) {
        pthread_mutex_lock (&self->client->mutex);
        zframe_t *frame = zframe_dup (async->frame);
        pthread_mutex_unlock (&self->client->mutex);
        value = zmp_value_decode_frame (&frame, error);
    }
    zmp_async_destroy (&async);
    return value;
}

//  --------------------------------------------------------------------------
//  Cancel one task.

bool
zmp_async_cancel (zmp_async_t *self)
{
    assert (self);
    zmp_client_t *client = self->client;
    pthread_mutex_lock (&client->mutex);
    bool cancel = !self->ready && self->job.pool;
    if (cancel) {
        //  Its id, as s_task_header made it; the broker drops it, or
        //  aborts it and drops its result
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_CANCEL);
        zframe_t *body = zmp_proto_encode_cancel_task (
            self->job.pool->pool_id, (uint64_t) self->job.serial << 32);
        zmsg_append (msg, &body);
        client_post (client, &msg);
        zmp_error_t error;
        zmp_error_set (&error, ZMP_ERR_CANCELLED, "task cancelled by request");
        s_async_ready (client, self, ZMP_ERR_CANCELLED, NULL, &error);
    }
    pthread_mutex_unlock (&client->mutex);
    return cancel;
}

//  --------------------------------------------------------------------------
//  Wait for an async result.


int
zmp_async_wait (zmp_async_t *self, int timeout_ms)
{
    assert (self);
    zmp_client_t *client = self->client;
    struct timespec deadline = client_deadline (timeout_ms);
    pthread_mutex_lock (&client->mutex);
    while (!self->ready)
        if (client_wait (client, &self->cond, timeout_ms < 0 ? NULL : &deadline)
            == ETIMEDOUT)
            break;
    bool ready = self->ready;
    pthread_mutex_unlock (&client->mutex);
    return ready ? 0 : -1;
}

//  --------------------------------------------------------------------------
//  True once the result is in.

bool
zmp_async_ready (zmp_async_t *self)
{
    return zmp_async_wait (self, 0) == 0;
}

//  --------------------------------------------------------------------------
//  True if the task is done and succeeded.

bool
zmp_async_usage (zmp_async_t *self, zmp_usage_t *usage)
{
    assert (self && usage);
    pthread_mutex_lock (&self->client->mutex);
    bool known = self->ready && self->usage.known;
    if (known)
        s_usage_give (&self->usage, usage);
    pthread_mutex_unlock (&self->client->mutex);
    return known;
}

bool
zmp_async_successful (zmp_async_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    bool successful = self->ready && self->error.kind == ZMP_ERR_NONE;
    pthread_mutex_unlock (&self->client->mutex);
    return successful;
}

//  --------------------------------------------------------------------------
//  The result, waiting up to timeout_ms.

const msgpack_object *
zmp_async_get (zmp_async_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    if (zmp_async_wait (self, timeout_ms)) {
        zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT,
                       "no result after %d ms; the task goes on", timeout_ms);
        return NULL;
    }
    const msgpack_object *object = NULL;
    pthread_mutex_lock (&self->client->mutex);
    if (self->error.kind) {
        if (error)
            *error = self->error;
    } else {
        if (!self->value) {
            zframe_t *frame = zframe_dup (self->frame);
            self->value = zmp_value_decode_frame (&frame, &self->error);
        }
        if (self->value)
            object = zmp_value_get (self->value);
        else if (error)
            *error = self->error;
    }
    pthread_mutex_unlock (&self->client->mutex);
    return object;
}

//  --------------------------------------------------------------------------
//  Drop the caller's handle.

void
zmp_async_destroy (zmp_async_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_async_t *self = *self_p;
        zmp_client_t *client = self->client;
        pthread_mutex_lock (&client->mutex);
        s_async_unref (self);
        pthread_mutex_unlock (&client->mutex);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Run an async's callbacks (I/O thread, no lock held).

void
pool_run_callbacks (zmp_client_t *client, zmp_async_t *async)
{
    if (async->error.kind == ZMP_ERR_NONE)
        async->callback (async, async->arg);
    else
        async->error_callback (async, async->arg);
    pthread_mutex_lock (&client->mutex);
    client->callback_job = NULL;
    //  Its pool's join waits for this
    zmp_pool_t *pool = async->job.pool;
    if (pool && pool->callbacks_due > 0 && --pool->callbacks_due == 0)
        pthread_cond_broadcast (&client->cond);
    s_async_unref (async);
    pthread_mutex_unlock (&client->mutex);
}


//  --------------------------------------------------------------------------
//  Iterators

static zmp_iter_t *
s_iter_new (zmp_pool_t *pool, const char *function, zmp_source_fn *source,
            void *state, size_t chunksize, bool ordered, bool star,
            zmp_error_t *error)
{
    assert (pool);
    if (s_check_function (function, error))
        return NULL;
    if (!source) {
        zmp_error_set (error, ZMP_ERR_USAGE, "no source of items");
        return NULL;
    }
    zmp_iter_t *self = (zmp_iter_t *) zmalloc (sizeof (zmp_iter_t));
    self->job.kind = JOB_ITER;
    self->client = pool->client;
    self->pool_id = pool->pool_id;
    snprintf (self->function, sizeof self->function, "%s", function);
    self->source = source;
    self->state = state;
    self->ordered = ordered;
    self->star = star;
    self->chunksize = chunksize ? chunksize : 1;
    if (self->chunksize > ZMP_PROTO_BATCH_MAX)
        self->chunksize = ZMP_PROTO_BATCH_MAX;
    size_t window = (size_t) pool->processes * POOL_WINDOW_PER_PROCESS;
    self->window = window > POOL_WINDOW_MIN ? window : POOL_WINDOW_MIN;
    self->ring =
        (iter_chunk_t *) zmalloc (self->window * sizeof (iter_chunk_t));
    if (!ordered) {
        self->free_places =
            (uint32_t *) zmalloc (self->window * sizeof (uint32_t));
        self->arrived = (uint32_t *) zmalloc (self->window * sizeof (uint32_t));
        for (size_t place = 0; place < self->window; place++)
            self->free_places[place] = (uint32_t) (self->window - 1 - place);
        self->free_count = self->window;
    }
    msgpack_unpacked_init (&self->unpacked);
    zmp_error_clear (&self->current_error);
    client_cond_init (&self->cond);

    zmp_client_t *client = pool->client;
    pthread_mutex_lock (&client->mutex);
    int rc = s_pool_check (pool, error);
    if (rc == 0) {
        self->job.pool = pool;
        client_job_register (client, &self->job);
    }
    pthread_mutex_unlock (&client->mutex);
    if (rc)
        zmp_iter_destroy (&self);
    return self;
}

//  Chunks submitted but not yet handed out (caller's thread).
static size_t
s_iter_in_flight (const zmp_iter_t *self)
{
    return (size_t) (self->next_chunk - self->taken_chunks);
}

//  Pack one item's arguments: map items are one argument, star items an
//  array of them. Returns 0, or -1 if a star item is not an array.
static int
s_pack_item (zmp_iter_t *self, msgpack_packer *packer,
             const msgpack_object *item, zmp_error_t *error)
{
    if (self->star) {
        if (item->type != MSGPACK_OBJECT_ARRAY) {
            zmp_error_set (error, ZMP_ERR_USAGE,
                           "item %llu is not an array of arguments",
                           (unsigned long long) self->next_item);
            return -1;
        }
        msgpack_pack_object (packer, *item);
    } else {
        msgpack_pack_array (packer, 1);
        msgpack_pack_object (packer, *item);
    }
    return 0;
}

//  Pull items from the source and submit chunks while the window has room.
//  Caller's thread; takes the lock only to post. Returns 0 or -1.
static int
s_iter_refill (zmp_iter_t *self, zmp_error_t *error)
{
    zmp_client_t *client = self->client;
    zmsg_t *msg = NULL;
    size_t items_in_msg = 0;
    int rc = 0;
    //  Built outside the lock: the source is the caller's code
    typedef struct {
        zframe_t *args;
        uint64_t first_item;
        uint32_t count;
        bool handles;  //  An item holds a handle to a shared object
    } pending_t;
    //  Refill only once half the window came back, then fill it: tasks go
    //  out in batches of half a window, not one message per result
    size_t in_flight = s_iter_in_flight (self);
    if (self->source_done || in_flight > self->window / 2)
        return 0;
    size_t room = self->window - in_flight;
    pending_t *pending = (pending_t *) zmalloc (room * sizeof (pending_t));
    size_t pending_count = 0;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    while (pending_count < room && !self->source_done && rc == 0) {
        buffer.size = 0;
        uint64_t first_item = self->next_item;
        uint32_t count = 0;
        bool handles = false;
        //  A chunk's items go in a temporary array: the count comes first
        msgpack_sbuffer items;
        msgpack_sbuffer_init (&items);
        msgpack_packer item_packer;
        msgpack_packer_init (&item_packer, &items, msgpack_sbuffer_write);
        while (count < self->chunksize) {
            const msgpack_object *item = self->source (self->state);
            if (!item) {
                self->source_done = true;
                break;
            }
            if (s_pack_item (self, &item_packer, item, error)) {
                rc = -1;
                break;
            }
            handles = handles || zmp_handle_present (item);
            count++;
            self->next_item++;
        }
        if (count > 0 && rc == 0) {
            if (self->chunksize > 1) {
                msgpack_pack_array (&packer, count);
                msgpack_sbuffer_write (&buffer, items.data, items.size);
            } else
                msgpack_sbuffer_write (&buffer, items.data, items.size);
            pending[pending_count].args = zmp_frame_from_buffer (&buffer);
            pending[pending_count].first_item = first_item;
            pending[pending_count].count = count;
            pending[pending_count].handles = handles;
            pending_count++;
        }
        msgpack_sbuffer_destroy (&items);
    }
    msgpack_sbuffer_destroy (&buffer);

    pthread_mutex_lock (&client->mutex);
    if (pending_count
        && (!self->job.pool || s_pool_check (self->job.pool, error))) {
        if (!self->job.pool)
            zmp_error_set (error, ZMP_ERR_CANCELLED, "the pool was terminated");
        rc = -1;
    }
    for (size_t index = 0; index < pending_count; index++) {
        if (rc) {
            zframe_destroy (&pending[index].args);
            continue;
        }
        uint32_t place;
        if (self->ordered)
            place = (uint32_t) (self->next_chunk % self->window);
        else
            place = self->free_places[--self->free_count];
        iter_chunk_t *chunk = &self->ring[place];
        assert (!chunk->used);
        memset (chunk, 0, sizeof *chunk);
        chunk->used = true;
        chunk->first_item = pending[index].first_item;
        chunk->count = pending[index].count;
        self->next_chunk++;
        self->job.pool->outstanding++;
        uint32_t flags = (self->chunksize > 1 ? ZMP_TASK_CHUNK : 0)
                         | (pending[index].handles ? ZMP_TASK_HANDLES : 0);
        chunk->header =
            s_task_header (&self->job, place, self->function, flags);
        chunk->args = pending[index].args;
        s_task_append (&msg, chunk->header, chunk->args);
        if (++items_in_msg == ZMP_PROTO_BATCH_MAX) {
            s_tasks_post (client, &msg);
            items_in_msg = 0;
        }
    }
    if (msg)
        s_tasks_post (client, &msg);
    pthread_mutex_unlock (&client->mutex);
    free (pending);
    return rc;
}

//  Take the next finished chunk out of the ring into *chunk, waiting up to
//  the deadline. Returns 0, or -1 with kind wait_timeout. Lock held.
static int
s_iter_take (zmp_iter_t *self, iter_chunk_t *chunk,
             const struct timespec *deadline, zmp_error_t *error)
{
    zmp_client_t *client = self->client;
    while (true) {
        uint32_t place;
        bool ready;
        if (self->ordered) {
            place = (uint32_t) (self->taken_chunks % self->window);
            ready = self->ring[place].done;
        } else {
            ready = self->arrived_count > 0;
            place = ready ? self->arrived[self->arrived_head] : 0;
        }
        if (ready) {
            *chunk = self->ring[place];
            memset (&self->ring[place], 0, sizeof self->ring[place]);
            self->taken_chunks++;
            if (!self->ordered) {
                self->arrived_head = (self->arrived_head + 1) % self->window;
                self->arrived_count--;
                self->free_places[self->free_count++] = place;
            }
            return 0;
        }
        if (client_wait (client, &self->cond, deadline) == ETIMEDOUT) {
            zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT,
                           "no result yet; the tasks go on");
            return -1;
        }
    }
}

//  The error of a failed chunk, with the failing item's input position.
static void
s_chunk_error (const iter_chunk_t *chunk, zmp_error_t *error)
{
    zmp_value_t *map = NULL;
    if (chunk->frame) {
        zframe_t *frame = zframe_dup (chunk->frame);
        map = zmp_value_decode_frame (&frame, NULL);
    }
    zmp_error_unpack (error, (zmp_error_kind_t) chunk->status,
                      map ? zmp_value_get (map) : NULL);
    zmp_value_destroy (&map);
    error->index =
        (int64_t) chunk->first_item + (error->index >= 0 ? error->index : 0);
}

//  Make chunk the one handed out item by item.
static void
s_iter_load (zmp_iter_t *self, iter_chunk_t *chunk)
{
    zframe_destroy (&self->current.frame);
    self->current = *chunk;
    self->current_next = 0;
    self->has_current = true;
    zmp_error_clear (&self->current_error);
    if (chunk->status) {
        s_chunk_error (chunk, &self->current_error);
        return;
    }
    zmp_error_t error;
    if (zmp_value_unpack (&self->unpacked, zframe_data (chunk->frame),
                          zframe_size (chunk->frame), &error))
        self->current_error = error;
    else if (self->chunksize > 1
             && (self->unpacked.data.type != MSGPACK_OBJECT_ARRAY
                 || self->unpacked.data.via.array.size != chunk->count))
        zmp_error_set (&self->current_error, ZMP_ERR_PROTOCOL,
                       "a chunk of %u items came back with another shape",
                       chunk->count);
    if (self->current_error.kind)
        self->current_error.index = (int64_t) chunk->first_item;
}

//  --------------------------------------------------------------------------
//  True once every item has been handed out.

bool
zmp_iter_done (zmp_iter_t *self)
{
    assert (self);
    if (self->has_current && self->current_next < self->current.count)
        return false;
    if (!self->source_done && s_iter_in_flight (self) < self->window)
        s_iter_refill (self, NULL);
    return self->source_done && s_iter_in_flight (self) == 0;
}

//  --------------------------------------------------------------------------
//  The next result.

const msgpack_object *
zmp_iter_next (zmp_iter_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    if (!self->has_current || self->current_next >= self->current.count) {
        if (s_iter_refill (self, error))
            return NULL;
        if (self->source_done && s_iter_in_flight (self) == 0) {
            zmp_error_set (error, ZMP_ERR_USAGE, "the iterator is done");
            return NULL;
        }
        iter_chunk_t chunk;
        struct timespec deadline = client_deadline (timeout_ms);
        pthread_mutex_lock (&self->client->mutex);
        int rc = s_iter_take (self, &chunk, timeout_ms < 0 ? NULL : &deadline,
                              error);
        pthread_mutex_unlock (&self->client->mutex);
        if (rc)
            return NULL;
        s_iter_load (self, &chunk);
    }
    uint32_t item = self->current_next++;
    self->last_index = (size_t) (self->current.first_item + item);
    if (self->current_error.kind) {
        if (error)
            *error = self->current_error;
        return NULL;
    }
    if (self->chunksize > 1)
        return &self->unpacked.data.via.array.ptr[item];
    return &self->unpacked.data;
}

//  --------------------------------------------------------------------------
//  Input position of the item last handed out.

size_t
zmp_iter_index (const zmp_iter_t *self)
{
    assert (self);
    return self->last_index;
}

//  --------------------------------------------------------------------------
//  What the task of the item last returned cost (caller's thread only: the
//  current chunk is not the I/O thread's).

bool
zmp_iter_usage (const zmp_iter_t *self, zmp_usage_t *usage)
{
    assert (self && usage);
    if (!self->has_current || !self->current.usage.known)
        return false;
    s_usage_give (&self->current.usage, usage);
    return true;
}

//  --------------------------------------------------------------------------
//  Free an iterator.

void
zmp_iter_destroy (zmp_iter_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_iter_t *self = *self_p;
        zmp_client_t *client = self->client;
        pthread_mutex_lock (&client->mutex);
        client_job_unregister (client, &self->job);
        if (self->job.pool) {
            //  Results still to come no longer count against the pool
            for (size_t place = 0; place < self->window; place++)
                if (self->ring[place].used && !self->ring[place].done
                    && self->job.pool->outstanding > 0)
                    self->job.pool->outstanding--;
            pthread_cond_broadcast (&client->cond);
        }
        pthread_mutex_unlock (&client->mutex);
        for (size_t place = 0; place < self->window; place++) {
            zframe_destroy (&self->ring[place].frame);
            zframe_destroy (&self->ring[place].header);
            zframe_destroy (&self->ring[place].args);
        }
        zframe_destroy (&self->current.frame);
        msgpack_unpacked_destroy (&self->unpacked);
        pthread_cond_destroy (&self->cond);
        free (self->ring);
        free (self->free_places);
        free (self->arrived);
        free (self);
        *self_p = NULL;
    }
}

zmp_iter_t *
zmp_pool_imap (zmp_pool_t *self, const char *function, zmp_source_fn *source,
               void *state, size_t chunksize, zmp_error_t *error)
{
    return s_iter_new (self, function, source, state, chunksize, true, false,
                       error);
}

zmp_iter_t *
zmp_pool_imap_unordered (zmp_pool_t *self, const char *function,
                         zmp_source_fn *source, void *state, size_t chunksize,
                         zmp_error_t *error)
{
    return s_iter_new (self, function, source, state, chunksize, false, false,
                       error);
}

zmp_iter_t *
zmp_pool_istarmap (zmp_pool_t *self, const char *function,
                   zmp_source_fn *source, void *state, size_t chunksize,
                   zmp_error_t *error)
{
    return s_iter_new (self, function, source, state, chunksize, true, true,
                       error);
}

//  --------------------------------------------------------------------------
//  A source over an array.

const msgpack_object *
zmp_array_source (void *state)
{
    zmp_array_source_t *source = (zmp_array_source_t *) state;
    if (source->next >= source->count)
        return NULL;
    return &source->items[source->next++];
}


//  --------------------------------------------------------------------------
//  map, starmap and their results

static zmp_results_t *
s_map (zmp_pool_t *self, const char *function, const msgpack_object *items,
       size_t count, size_t chunksize, bool star, zmp_error_t *error)
{
    assert (self && (items || count == 0));
    if (chunksize == 0 && count > 0) {
        size_t divisor =
            (size_t) (self->processes > 0 ? self->processes : 1) * 4;
        chunksize = (count + divisor - 1) / divisor;
    }
    zmp_array_source_t source = { items, count, 0 };
    zmp_iter_t *iter = s_iter_new (self, function, zmp_array_source, &source,
                                   chunksize, true, star, error);
    if (!iter)
        return NULL;
    zmp_results_t *results = (zmp_results_t *) zmalloc (sizeof (zmp_results_t));
    msgpack_zone_init (&results->zone, 64 * 1024);
    results->count = count;
    results->items = (msgpack_object *) zmalloc ((count ? count : 1)
                                                 * sizeof (msgpack_object));
    int rc = 0;
    size_t filled = 0;
    while (rc == 0 && filled < count) {
        rc = s_iter_refill (iter, error);
        if (rc)
            break;
        iter_chunk_t chunk;
        pthread_mutex_lock (&self->client->mutex);
        rc = s_iter_take (iter, &chunk, NULL, error);
        pthread_mutex_unlock (&self->client->mutex);
        if (rc)
            break;
        if (chunk.status) {
            s_chunk_error (&chunk, error);
            rc = -1;
        } else {
            //  Decode into the results' zone, from a copy kept there too
            size_t size = zframe_size (chunk.frame);
            msgpack_object object;
            msgpack_unpack_return unpacked = MSGPACK_UNPACK_PARSE_ERROR;
            if (zmp_value_check (zframe_data (chunk.frame), size, NULL) == 0) {
                char *bytes =
                    (char *) msgpack_zone_malloc (&results->zone, size);
                memcpy (bytes, zframe_data (chunk.frame), size);
                size_t offset = 0;
                unpacked = msgpack_unpack (bytes, size, &offset, &results->zone,
                                           &object);
            }
            bool chunked = iter->chunksize > 1;
            if (unpacked != MSGPACK_UNPACK_SUCCESS
                || (chunked
                    && (object.type != MSGPACK_OBJECT_ARRAY
                        || object.via.array.size != chunk.count))) {
                zmp_error_set (error, ZMP_ERR_PROTOCOL,
                               "a result for items %llu on is malformed",
                               (unsigned long long) chunk.first_item);
                rc = -1;
            } else if (chunked)
                memcpy (&results->items[chunk.first_item], object.via.array.ptr,
                        chunk.count * sizeof (msgpack_object));
            else
                results->items[chunk.first_item] = object;
            filled += chunk.count;
        }
        zframe_destroy (&chunk.frame);
    }
    zmp_iter_destroy (&iter);
    if (rc)
        zmp_results_destroy (&results);
    return results;
}

zmp_results_t *
zmp_pool_map (zmp_pool_t *self, const char *function,
              const msgpack_object *items, size_t count, size_t chunksize,
              zmp_error_t *error)
{
    return s_map (self, function, items, count, chunksize, false, error);
}

zmp_results_t *
zmp_pool_starmap (zmp_pool_t *self, const char *function,
                  const msgpack_object *items, size_t count, size_t chunksize,
                  zmp_error_t *error)
{
    return s_map (self, function, items, count, chunksize, true, error);
}

size_t
zmp_results_size (const zmp_results_t *self)
{
    assert (self);
    return self->count;
}

const msgpack_object *
zmp_results_get (const zmp_results_t *self, size_t index)
{
    assert (self);
    return index < self->count ? &self->items[index] : NULL;
}

void
zmp_results_destroy (zmp_results_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_results_t *self = *self_p;
        msgpack_zone_destroy (&self->zone);
        free (self->items);
        free (self);
        *self_p = NULL;
    }
}


//  --------------------------------------------------------------------------
//  Deliveries from the I/O thread (lock held)

static void
s_iter_finish_chunk (zmp_client_t *client, zmp_iter_t *iter, uint32_t place,
                     uint32_t status, zframe_t **frame_p)
{
    iter_chunk_t *chunk = &iter->ring[place];
    if (!chunk->used || chunk->done)
        return;  //  Late: cancelled or failed already
    chunk->done = true;
    chunk->status = status;
    chunk->frame = *frame_p;
    *frame_p = NULL;
    zframe_destroy (&chunk->header);
    zframe_destroy (&chunk->args);
    if (!iter->ordered) {
        size_t tail = (iter->arrived_head + iter->arrived_count) % iter->window;
        iter->arrived[tail] = place;
        iter->arrived_count++;
    }
    zmp_pool_t *pool = iter->job.pool;
    if (pool && pool->outstanding > 0 && --pool->outstanding == 0)
        pthread_cond_broadcast (&client->cond);
    pthread_cond_signal (&iter->cond);
}

//  --------------------------------------------------------------------------
//  A result for job arrived.

//  The usage result carries, if any, into *usage; and into its pool's sums
static void
s_usage_take (zmp_client_t *client, job_t *job,
              const zmp_proto_result_t *result, pool_usage_t *usage)
{
    usage->known = result->has_usage;
    if (!usage->known)
        return;
    usage->usage = result->usage;
    usage->pid = result->pid;
    //  A few hosts serve many results: each name is kept once
    usage->host = (const char *) zhashx_lookup (client->hosts, result->host);
    if (!usage->host) {
        char *host = strdup (result->host);
        zhashx_insert (client->hosts, host, host);
        usage->host = host;
    }
    zmp_pool_t *pool = job->pool;
    if (pool) {
        pool->usage.tasks++;
        pool->usage.wall_us =
            zmp_usage_add (pool->usage.wall_us, result->usage.wall_us);
        pool->usage.user_us =
            zmp_usage_add (pool->usage.user_us, result->usage.user_us);
        pool->usage.system_us =
            zmp_usage_add (pool->usage.system_us, result->usage.system_us);
        if ((int64_t) result->usage.max_rss_kib > pool->usage.max_rss_kib)
            pool->usage.max_rss_kib = (int64_t) result->usage.max_rss_kib;
    }
}


void
pool_deliver (zmp_client_t *client, job_t *job, uint32_t place,
              const zmp_proto_result_t *result, zframe_t **value_p)
{
    if (job->kind == JOB_ASYNC) {
        zmp_async_t *async = (zmp_async_t *) job;
        if (!async->ready)
            s_usage_take (client, job, result, &async->usage);
        s_async_ready (client, async, result->status, value_p, NULL);
    } else if (job->kind == JOB_ITER) {
        zmp_iter_t *iter = (zmp_iter_t *) job;
        if (place < iter->window && iter->ring[place].used
            && !iter->ring[place].done)
            s_usage_take (client, job, result, &iter->ring[place].usage);
        if (place < iter->window)
            s_iter_finish_chunk (client, iter, place, result->status, value_p);
    }
}

//  --------------------------------------------------------------------------
//  Fail everything job still waits for.

void
pool_fail_job (zmp_client_t *client, job_t *job, const zmp_error_t *error)
{
    if (job->kind == JOB_ASYNC)
        s_async_ready (client, (zmp_async_t *) job, error->kind, NULL, error);
    else if (job->kind == JOB_REQUEST) {
        client_request_t *request = (client_request_t *) job;
        request->done = true;
        request->error = *error;
        pthread_cond_signal (&request->cond);
    } else {
        zmp_iter_t *iter = (zmp_iter_t *) job;
        for (uint32_t place = 0; place < iter->window; place++) {
            if (!iter->ring[place].used || iter->ring[place].done)
                continue;
            zframe_t *frame = zmp_proto_encode_error (error);
            s_iter_finish_chunk (client, iter, place, error->kind, &frame);
            zframe_destroy (&frame);
        }
    }
}

//  --------------------------------------------------------------------------
//  The broker is back: send job's tasks that have no result yet again.

size_t
pool_resend_job (job_t *job, zlistx_t *unsent)
{
    size_t resent = 0, in_msg = 0;
    zmsg_t *msg = NULL;
    if (job->kind == JOB_ASYNC) {
        zmp_async_t *async = (zmp_async_t *) job;
        if (!async->ready && async->header) {
            s_task_append (&msg, async->header, async->args);
            resent++;
        }
    } else if (job->kind == JOB_ITER) {
        zmp_iter_t *iter = (zmp_iter_t *) job;
        //  In the order they were first sent, as far as the ring tells
        size_t start = iter->ordered ? iter->taken_chunks % iter->window : 0;
        for (size_t step = 0; step < iter->window; step++) {
            iter_chunk_t *chunk = &iter->ring[(start + step) % iter->window];
            if (!chunk->used || chunk->done || !chunk->header)
                continue;
            s_task_append (&msg, chunk->header, chunk->args);
            resent++;
            if (++in_msg == ZMP_PROTO_BATCH_MAX) {
                zlistx_add_end (unsent, msg);
                msg = NULL;
                in_msg = 0;
            }
        }
    }
    if (msg)
        zlistx_add_end (unsent, msg);
    return resent;
}
