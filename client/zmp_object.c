/*  zmp_object - what every shared-object handle does: make, attach, call
    and pipeline operations, let go; and how a task reaches its objects

    An operation is one OBJECT request ([verb, id, *params] and payload
    frames) and its REPLY. Most wait for their reply. A put on an unbounded
    queue and a pipe send do not (object_send): they leave in order on the
    client's one socket, each answered later; the object counts those in
    flight (at most OBJECT_WINDOW, so a fast producer cannot swamp the
    broker) and keeps the first error one met, for its next call. Letting
    go of an object waits until they are all answered, so that nothing sent
    is lost when a task returns or a program exits.

    Inside a task the connection belongs to the task process
    (zmp_task_env_t): opened on first use, closed before the process
    exits. Objects made from a task's arguments belong to the task and are
    let go when it returns.
*/
#include "client_internal.h"

#include "zmp_error.h"
#include "zmp_log.h"
#include "zmp_registry.h"
#include "zmp_value.h"

#include <limits.h>

//  Pipelined operations one object may have in flight
#define OBJECT_WINDOW 256

//  --------------------------------------------------------------------------
//  Set an object up.

void
object_init (client_object_t *object, zmp_client_t *client,
             zmp_object_kind_t kind, uint64_t id, bool attached, bool pipelined)
{
    object->client = client;
    object->kind = kind;
    object->id = id;
    zmp_handle_encode (kind, id, object->handle);
    object->attached = attached;
    zmp_error_clear (&object->deferred);
    client_cond_init (&object->cond);
    if (pipelined) {
        object->job.kind = JOB_OBJECT;
        pthread_mutex_lock (&client->mutex);
        client_job_register (client, &object->job);
        pthread_mutex_unlock (&client->mutex);
    }
}

//  --------------------------------------------------------------------------
//  Let go of an object.

void
object_fini (client_object_t *object)
{
    zmp_client_t *client = object->client;
    pthread_mutex_lock (&client->mutex);
    //  Until every pipelined operation is answered (a lost broker answers
    //  them all at once, with an error)
    while (object->in_flight > 0)
        client_wait (client, &object->cond, NULL);
    client_job_unregister (client, &object->job);
    if (object->deferred.kind != ZMP_ERR_NONE)
        zmp_warning ("client: a %s let go with an error nobody took: %s",
                     zmp_object_kind_name (object->kind),
                     object->deferred.message);
    pthread_mutex_unlock (&client->mutex);
    if (object->attached)
        object_call_nil (object, "detach", NULL, 0, NULL, 0, 0, NULL);
    pthread_cond_destroy (&object->cond);
}

//  Build the request frames: the op, then one frame per payload
static zmsg_t *
s_request (const char *verb, uint64_t id, const msgpack_object *params,
           uint32_t count, const msgpack_object *payloads,
           uint32_t payload_count)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&packer, 2 + count);
    zmp_pack_cstr (&packer, verb);
    msgpack_pack_uint64 (&packer, id);
    for (uint32_t index = 0; index < count; index++)
        msgpack_pack_object (&packer, params[index]);
    zmsg_t *frames = zmsg_new ();
    zmsg_addmem (frames, buffer.data, buffer.size);
    for (uint32_t index = 0; index < payload_count; index++) {
        buffer.size = 0;
        msgpack_pack_object (&packer, payloads[index]);
        zmsg_addmem (frames, buffer.data, buffer.size);
    }
    msgpack_sbuffer_destroy (&buffer);
    return frames;
}

//  Send a request and decode its outcome
static zmp_value_t *
s_call (zmp_client_t *client, zmsg_t **frames_p, int wait_ms,
        zmp_error_t *error)
{
    //  The broker answers when the wait is over; we give it a margin more
    int64_t margin_ms = (int64_t) wait_ms + client->timeout_ms;
    int client_wait_ms =
        wait_ms < 0 || margin_ms > INT_MAX ? ZMP_FOREVER : (int) margin_ms;
    zframe_t *reply = client_request_msg (client, ZMP_PROTO_OBJECT, frames_p,
                                          client_wait_ms, error);
    return reply ? zmp_proto_decode_outcome (&reply, error) : NULL;
}

//  Take the deferred error, if there is one. Returns 0, or -1 with it.
static int
s_check (client_object_t *object, zmp_error_t *error)
{
    int rc = 0;
    zmp_client_t *client = object->client;
    pthread_mutex_lock (&client->mutex);
    if (object->deferred.kind != ZMP_ERR_NONE) {
        if (error)
            *error = object->deferred;
        zmp_error_clear (&object->deferred);
        rc = -1;
    }
    pthread_mutex_unlock (&client->mutex);
    return rc;
}

//  --------------------------------------------------------------------------
//  Make an object in the broker.

zmp_value_t *
object_create (zmp_client_t *client, const msgpack_object *params,
               uint32_t count, const msgpack_object *payloads,
               uint32_t payload_count, zmp_error_t *error)
{
    zmsg_t *frames =
        s_request ("new", 0, params, count, payloads, payload_count);
    return s_call (client, &frames, 0, error);
}

//  --------------------------------------------------------------------------
//  Attach a handle.

int
object_attach (zmp_client_t *client, const msgpack_object *handle,
               uint32_t kinds, zmp_object_kind_t *kind, uint64_t *id,
               zmp_value_t **info, zmp_error_t *error)
{
    *info = NULL;
    if (!zmp_handle_decode (handle, kind, id)) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "the value is not a handle to a shared object");
        return -1;
    }
    if (!(kinds & (1u << *kind))) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "the handle is to a %s, which cannot be used here",
                       zmp_object_kind_name (*kind));
        return -1;
    }
    zmsg_t *frames = s_request ("attach", *id, NULL, 0, NULL, 0);
    *info = s_call (client, &frames, 0, error);
    return *info ? 0 : -1;
}

//  --------------------------------------------------------------------------
//  What the broker says of an object.

zmp_value_t *
object_info (client_object_t *object, zmp_error_t *error)
{
    return object_call (object, "info", NULL, 0, NULL, 0, 0, error);
}

//  --------------------------------------------------------------------------
//  Run an operation and wait for its outcome.

zmp_value_t *
object_call (client_object_t *object, const char *verb,
             const msgpack_object *params, uint32_t count,
             const msgpack_object *payloads, uint32_t payload_count,
             int wait_ms, zmp_error_t *error)
{
    if (s_check (object, error))
        return NULL;
    zmsg_t *frames =
        s_request (verb, object->id, params, count, payloads, payload_count);
    return s_call (object->client, &frames, wait_ms, error);
}

int
object_call_nil (client_object_t *object, const char *verb,
                 const msgpack_object *params, uint32_t count,
                 const msgpack_object *payloads, uint32_t payload_count,
                 int wait_ms, zmp_error_t *error)
{
    zmp_value_t *value = object_call (object, verb, params, count, payloads,
                                      payload_count, wait_ms, error);
    int rc = value ? 0 : -1;
    zmp_value_destroy (&value);
    return rc;
}

//  A number, as a double and as an integer (read from the integer itself:
//  a double loses bits above 2^53)
static bool
s_number (const msgpack_object *value, double *real, int64_t *integer)
{
    switch (value->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            *real = value->via.f64;
            *integer = (int64_t) value->via.f64;
            return true;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            *real = (double) value->via.u64;
            *integer = (int64_t) value->via.u64;  //  'Q' wraps, as in C
            return true;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            *real = (double) value->via.i64;
            *integer = value->via.i64;
            return true;
        default:
            return false;
    }
}

//  Call, and read the answer as a number
static int
s_call_number (client_object_t *object, const char *verb,
               const msgpack_object *params, uint32_t count, double *real,
               int64_t *integer, zmp_error_t *error)
{
    zmp_value_t *value =
        object_call (object, verb, params, count, NULL, 0, 0, error);
    if (!value)
        return -1;
    int rc = 0;
    if (!s_number (zmp_value_get (value), real, integer)) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "%s: the broker's answer is not a number", verb);
        rc = -1;
    }
    zmp_value_destroy (&value);
    return rc;
}

int
object_call_double (client_object_t *object, const char *verb,
                    const msgpack_object *params, uint32_t count,
                    double *number, zmp_error_t *error)
{
    int64_t integer;
    return s_call_number (object, verb, params, count, number, &integer, error);
}

int
object_call_int (client_object_t *object, const char *verb,
                 const msgpack_object *params, uint32_t count, int64_t *number,
                 zmp_error_t *error)
{
    double real;
    return s_call_number (object, verb, params, count, &real, number, error);
}

//  --------------------------------------------------------------------------
//  Send an operation without waiting for its outcome.

//  The OBJECT message of a pipelined operation (takes its frames), counted
//  in flight: its REPLY comes to the object's job. Lock held.
static zmsg_t *
s_pipelined (client_object_t *object, zmsg_t **frames_p)
{
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_OBJECT);
    zframe_t *id =
        zmp_proto_encode_uint (((uint64_t) object->job.serial << 32) | 1);
    zmsg_append (msg, &id);
    zframe_t *frame;
    while ((frame = zmsg_pop (*frames_p)))
        zmsg_append (msg, &frame);
    zmsg_destroy (frames_p);
    object->in_flight++;
    return msg;
}


int
object_send (client_object_t *object, const char *verb,
             const msgpack_object *params, uint32_t count,
             const msgpack_object *payload, zmp_error_t *error)
{
    assert (object->job.kind == JOB_OBJECT);
    zmsg_t *frames = s_request (verb, object->id, params, count, payload, 1);
    zmp_client_t *client = object->client;
    int rc = 0;
    pthread_mutex_lock (&client->mutex);
    while (object->in_flight >= OBJECT_WINDOW && !client->lost)
        client_wait (client, &object->cond, NULL);
    if (object->deferred.kind != ZMP_ERR_NONE) {
        if (error)
            *error = object->deferred;
        zmp_error_clear (&object->deferred);
        rc = -1;
    } else if (client_check (client, error))
        rc = -1;
    else {
        zmsg_t *msg = s_pipelined (object, &frames);
        client_post (client, &msg);
    }
    pthread_mutex_unlock (&client->mutex);
    zmsg_destroy (&frames);
    return rc;
}

//  --------------------------------------------------------------------------
//  Attach again, in a new broker run.

size_t
object_reattach (job_t *job, zlistx_t *unsent)
{
    if (job->kind != JOB_OBJECT)
        return 0;
    client_object_t *object = (client_object_t *) job;
    if (!object->attached)
        return 0;
    zmsg_t *frames = s_request ("attach", object->id, NULL, 0, NULL, 0);
    zlistx_add_end (unsent, s_pipelined (object, &frames));
    return 1;
}

//  --------------------------------------------------------------------------
//  A pipelined operation was answered.

void
object_ack (zmp_client_t *client, job_t *job, zframe_t *body)
{
    (void) client;
    client_object_t *object = (client_object_t *) job;
    if (object->in_flight > 0)
        object->in_flight--;
    zframe_t *copy = zframe_dup (body);
    zmp_error_t error;
    zmp_value_t *value = zmp_proto_decode_outcome (&copy, &error);
    if (!value && object->deferred.kind == ZMP_ERR_NONE)
        object->deferred = error;
    zmp_value_destroy (&value);
    pthread_cond_broadcast (&object->cond);
}

//  --------------------------------------------------------------------------
//  This thread's token.

uint64_t
object_token (void)
{
    return (uint64_t) (uintptr_t) pthread_self ();
}

//  --------------------------------------------------------------------------
//  Inside a task

//  One object a task owns
typedef struct {
    client_object_t *object;
    void (*destroy) (void **object_p);
} s_owned_t;

//  After each task: let go of what it owned (zmp_task_env_t end_task)
static void
s_end_task (zmp_task_env_t *env)
{
    zlistx_t *owned = (zlistx_t *) env->objects;
    s_owned_t *item;
    while ((item = (s_owned_t *) zlistx_detach (owned, NULL))) {
        item->object->task_owned = false;  //  Now destroy really destroys
        void *object = item->object;
        item->destroy (&object);
        free (item);
    }
}

//  Before the process exits: close its connection (end_process)
static void
s_end_process (zmp_task_env_t *env)
{
    s_end_task (env);
    zlistx_t *owned = (zlistx_t *) env->objects;
    zlistx_destroy (&owned);
    env->objects = NULL;
    zmp_client_t *client = (zmp_client_t *) env->client;
    zmp_client_destroy (&client);
    env->client = NULL;
    //  The process exits next, without atexit handlers: let the context
    //  deliver what is queued (the goodbye) first
    zsys_shutdown ();
}

//  --------------------------------------------------------------------------
//  The task's connection to its broker.

zmp_client_t *
zmp_task_client (zmp_task_t *task, zmp_error_t *error)
{
    zmp_task_env_t *env = task ? task->env : NULL;
    if (!env || !env->endpoint) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "only a task running in a worker has a broker to "
                       "reach shared objects through");
        return NULL;
    }
    if (!env->client) {
        env->client = client_connect (env->endpoint, -1, env->agent_pid, error);
        if (!env->client)
            return NULL;
        env->objects = zlistx_new ();
        env->end_task = s_end_task;
        env->end_process = s_end_process;
    }
    return (zmp_client_t *) env->client;
}

int
object_task_arg (zmp_task_t *task, const msgpack_object *args, uint32_t index,
                 uint32_t kinds, zmp_client_t **client, zmp_object_kind_t *kind,
                 uint64_t *id, zmp_error_t *error)
{
    if (!args || args->type != MSGPACK_OBJECT_ARRAY
        || index >= args->via.array.size) {
        zmp_error_set (error, ZMP_ERR_BAD_ARGUMENTS, "argument %u is missing",
                       index + 1);
        return -1;
    }
    const msgpack_object *handle = &args->via.array.ptr[index];
    if (!zmp_handle_decode (handle, kind, id)) {
        zmp_error_set (error, ZMP_ERR_BAD_ARGUMENTS,
                       "argument %u is not a handle to a shared object",
                       index + 1);
        return -1;
    }
    if (!(kinds & (1u << *kind))) {
        zmp_error_set (error, ZMP_ERR_BAD_ARGUMENTS,
                       "argument %u is a handle to a %s, which cannot be "
                       "used here",
                       index + 1, zmp_object_kind_name (*kind));
        return -1;
    }
    *client = zmp_task_client (task, error);
    return *client ? 0 : -1;
}

void
object_task_own (zmp_task_t *task, client_object_t *object,
                 void (*destroy) (void **object_p))
{
    assert (task->env && task->env->objects);
    s_owned_t *item = (s_owned_t *) zmalloc (sizeof (s_owned_t));
    item->object = object;
    item->destroy = destroy;
    object->task_owned = true;
    zlistx_add_end ((zlistx_t *) task->env->objects, item);
}

bool
object_task_owned (client_object_t *object)
{
    return object->task_owned;
}
