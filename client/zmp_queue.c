/*  zmp_queue - Queue, JoinableQueue and the ends of a Pipe, as handles to
    objects in the broker

    A put on an unbounded queue and a pipe send never wait for the broker
    (object_send), as Python's feeder thread does not: the queue cannot be
    full, so only an error can come back, and it is kept for the next
    call. A queue made from a task's argument learns whether it is bounded
    on its first put.
*/
#include "client_internal.h"

#include "zmp_error.h"
#include "zmp_value.h"

struct zmp_queue {
    client_object_t object;
    uint64_t maxsize;    //  0: unbounded
    bool maxsize_known;  //  Asked the broker (a task's queue), or made it
};

struct zmp_connection {
    client_object_t object;
};

//  A ZMP_FOREVER-style timeout as the wire takes it
static int
s_timeout (int timeout_ms)
{
    return timeout_ms < 0 ? -1 : timeout_ms;
}

//  --------------------------------------------------------------------------
//  Queue

static zmp_queue_t *
s_queue (zmp_client_t *client, uint64_t id, bool attached, uint64_t maxsize,
         bool maxsize_known)
{
    zmp_queue_t *self = (zmp_queue_t *) zmalloc (sizeof (zmp_queue_t));
    object_init (&self->object, client, ZMP_OBJECT_QUEUE, id, attached, true);
    self->maxsize = maxsize;
    self->maxsize_known = maxsize_known;
    return self;
}

static zmp_queue_t *
s_queue_new (zmp_client_t *client, size_t maxsize, bool joinable,
             zmp_error_t *error)
{
    assert (client);
    zmp_value_t *reply =
        object_create (client,
                       OBJECT_ARGS (zmp_str ("queue"), zmp_uint (maxsize),
                                    zmp_bool (joinable)),
                       NULL, 0, error);
    uint64_t id;
    zmp_queue_t *self = NULL;
    if (reply && zmp_handle_decode (zmp_value_get (reply), NULL, &id))
        self = s_queue (client, id, true, maxsize, true);
    zmp_value_destroy (&reply);
    return self;
}

zmp_queue_t *
zmp_queue_new (zmp_client_t *client, size_t maxsize, zmp_error_t *error)
{
    return s_queue_new (client, maxsize, false, error);
}

zmp_queue_t *
zmp_joinable_queue_new (zmp_client_t *client, size_t maxsize,
                        zmp_error_t *error)
{
    return s_queue_new (client, maxsize, true, error);
}

zmp_queue_t *
zmp_queue_attach (zmp_client_t *client, const msgpack_object *handle,
                  zmp_error_t *error)
{
    assert (client);
    zmp_object_kind_t kind;
    uint64_t id;
    zmp_value_t *info;
    if (object_attach (client, handle, OBJECT_KIND (QUEUE), &kind, &id, &info,
                       error))
        return NULL;
    uint64_t maxsize = 0;
    zmp_uint_get (&zmp_value_get (info)->via.array.ptr[1], UINT64_MAX,
                  &maxsize);
    zmp_value_destroy (&info);
    return s_queue (client, id, true, maxsize, true);
}

void
zmp_queue_destroy (zmp_queue_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_queue_t *self = *self_p;
        if (!object_task_owned (&self->object)) {
            object_fini (&self->object);
            free (self);
        }
        *self_p = NULL;
    }
}

static void
s_queue_free (void **item_p)
{
    zmp_queue_destroy ((zmp_queue_t **) item_p);
}

zmp_queue_t *
zmp_task_queue (zmp_task_t *task, const msgpack_object *args, uint32_t index,
                zmp_error_t *error)
{
    zmp_client_t *client;
    zmp_object_kind_t kind;
    uint64_t id;
    if (object_task_arg (task, args, index, OBJECT_KIND (QUEUE), &client, &kind,
                         &id, error))
        return NULL;
    zmp_queue_t *self = s_queue (client, id, false, 0, false);
    object_task_own (task, &self->object, s_queue_free);
    return self;
}

msgpack_object
zmp_queue_handle (const zmp_queue_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

//  Learn the queue's bound, once; *maxsize gets it. Threads may race to
//  ask: the answer is the same, and the lock guards the fields.
static int
s_maxsize (zmp_queue_t *self, uint64_t *maxsize, zmp_error_t *error)
{
    pthread_mutex_t *mutex = &self->object.client->mutex;
    pthread_mutex_lock (mutex);
    bool known = self->maxsize_known;
    *maxsize = self->maxsize;
    pthread_mutex_unlock (mutex);
    if (known)
        return 0;
    zmp_value_t *info = object_info (&self->object, error);
    if (!info)
        return -1;
    zmp_uint_get (&zmp_value_get (info)->via.array.ptr[1], UINT64_MAX, maxsize);
    zmp_value_destroy (&info);
    pthread_mutex_lock (mutex);
    self->maxsize = *maxsize;
    self->maxsize_known = true;
    pthread_mutex_unlock (mutex);
    return 0;
}

int
zmp_queue_put (zmp_queue_t *self, const msgpack_object *item, int timeout_ms,
               zmp_error_t *error)
{
    assert (self);
    if (!item) {
        zmp_error_set (error, ZMP_ERR_USAGE, "put needs an item");
        return -1;
    }
    uint64_t maxsize;
    if (s_maxsize (self, &maxsize, error))
        return -1;
    if (maxsize == 0)
        return object_send (&self->object, "put", OBJECT_ARGS (zmp_int (-1)),
                            item, error);
    return object_call_nil (&self->object, "put",
                            OBJECT_ARGS (zmp_int (s_timeout (timeout_ms))),
                            item, 1, s_timeout (timeout_ms), error);
}

int
zmp_queue_put_nowait (zmp_queue_t *self, const msgpack_object *item,
                      zmp_error_t *error)
{
    return zmp_queue_put (self, item, 0, error);
}

zmp_value_t *
zmp_queue_get (zmp_queue_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "get",
                        OBJECT_ARGS (zmp_int (s_timeout (timeout_ms))), NULL, 0,
                        s_timeout (timeout_ms), error);
}

zmp_value_t *
zmp_queue_get_nowait (zmp_queue_t *self, zmp_error_t *error)
{
    return zmp_queue_get (self, 0, error);
}

long
zmp_queue_qsize (zmp_queue_t *self, zmp_error_t *error)
{
    assert (self);
    int64_t size;
    if (object_call_int (&self->object, "qsize", NULL, 0, &size, error))
        return -1;
    return (long) size;
}

bool
zmp_queue_empty (zmp_queue_t *self)
{
    return zmp_queue_qsize (self, NULL) == 0;
}

bool
zmp_queue_full (zmp_queue_t *self)
{
    uint64_t maxsize;
    if (s_maxsize (self, &maxsize, NULL) || maxsize == 0)
        return false;
    long size = zmp_queue_qsize (self, NULL);
    return size >= 0 && (uint64_t) size >= maxsize;
}

int
zmp_queue_close (zmp_queue_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "close", NULL, 0, NULL, 0, 0, error);
}

int
zmp_queue_task_done (zmp_queue_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "task_done", NULL, 0, NULL, 0, 0,
                            error);
}

int
zmp_queue_join (zmp_queue_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "join",
                            OBJECT_ARGS (zmp_int (s_timeout (timeout_ms))),
                            NULL, 0, s_timeout (timeout_ms), error);
}

//  --------------------------------------------------------------------------
//  Pipe ends

static zmp_connection_t *
s_connection (zmp_client_t *client, uint64_t id, bool attached)
{
    zmp_connection_t *self =
        (zmp_connection_t *) zmalloc (sizeof (zmp_connection_t));
    object_init (&self->object, client, ZMP_OBJECT_PIPE, id, attached, true);
    return self;
}

int
zmp_pipe_new (zmp_client_t *client, bool duplex, zmp_connection_t **end1_p,
              zmp_connection_t **end2_p, zmp_error_t *error)
{
    assert (client && end1_p && end2_p);
    *end1_p = *end2_p = NULL;
    zmp_value_t *reply = object_create (
        client, OBJECT_ARGS (zmp_str ("pipe"), zmp_bool (duplex)), NULL, 0,
        error);
    if (!reply)
        return -1;
    const msgpack_object *ends = zmp_value_get (reply);
    uint64_t id1, id2;
    int rc = -1;
    if (ends->type == MSGPACK_OBJECT_ARRAY && ends->via.array.size == 2
        && zmp_handle_decode (&ends->via.array.ptr[0], NULL, &id1)
        && zmp_handle_decode (&ends->via.array.ptr[1], NULL, &id2)) {
        *end1_p = s_connection (client, id1, true);
        *end2_p = s_connection (client, id2, true);
        rc = 0;
    } else
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "the broker's answer to a new pipe is not two handles");
    zmp_value_destroy (&reply);
    return rc;
}

zmp_connection_t *
zmp_connection_attach (zmp_client_t *client, const msgpack_object *handle,
                       zmp_error_t *error)
{
    assert (client);
    zmp_object_kind_t kind;
    uint64_t id;
    zmp_value_t *info;
    if (object_attach (client, handle, OBJECT_KIND (PIPE), &kind, &id, &info,
                       error))
        return NULL;
    zmp_value_destroy (&info);
    return s_connection (client, id, true);
}

void
zmp_connection_destroy (zmp_connection_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_connection_t *self = *self_p;
        if (!object_task_owned (&self->object)) {
            object_fini (&self->object);
            free (self);
        }
        *self_p = NULL;
    }
}

static void
s_connection_free (void **item_p)
{
    zmp_connection_destroy ((zmp_connection_t **) item_p);
}

zmp_connection_t *
zmp_task_connection (zmp_task_t *task, const msgpack_object *args,
                     uint32_t index, zmp_error_t *error)
{
    zmp_client_t *client;
    zmp_object_kind_t kind;
    uint64_t id;
    if (object_task_arg (task, args, index, OBJECT_KIND (PIPE), &client, &kind,
                         &id, error))
        return NULL;
    zmp_connection_t *self = s_connection (client, id, false);
    object_task_own (task, &self->object, s_connection_free);
    return self;
}

msgpack_object
zmp_connection_handle (const zmp_connection_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

int
zmp_connection_send (zmp_connection_t *self, const msgpack_object *item,
                     zmp_error_t *error)
{
    assert (self);
    if (!item) {
        zmp_error_set (error, ZMP_ERR_USAGE, "send needs an item");
        return -1;
    }
    return object_send (&self->object, "send", NULL, 0, item, error);
}

zmp_value_t *
zmp_connection_recv (zmp_connection_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "recv",
                        OBJECT_ARGS (zmp_int (s_timeout (timeout_ms))), NULL, 0,
                        s_timeout (timeout_ms), error);
}

int
zmp_connection_poll (zmp_connection_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    zmp_value_t *value = object_call (
        &self->object, "poll", OBJECT_ARGS (zmp_int (s_timeout (timeout_ms))),
        NULL, 0, s_timeout (timeout_ms), error);
    if (!value)
        return -1;
    int ready = zmp_value_get (value)->type == MSGPACK_OBJECT_BOOLEAN
                && zmp_value_get (value)->via.boolean;
    zmp_value_destroy (&value);
    return ready;
}

int
zmp_connection_close (zmp_connection_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "close", NULL, 0, NULL, 0, 0, error);
}
