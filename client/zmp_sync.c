/*  zmp_sync - Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition
    and Barrier, as handles to objects in the broker

    Every call waits for the broker's answer: a lock must be held when
    acquire returns. Ownership is per thread (object_token) within the
    client's connection, which stands for the process: when the process
    goes, so does what it held.
*/
#include "client_internal.h"

#include "zmp_error.h"
#include "zmp_value.h"

struct zmp_event {
    client_object_t object;
};

struct zmp_condition {
    client_object_t object;
};

struct zmp_barrier {
    client_object_t object;
};

static int
s_timeout (int timeout_ms)
{
    return timeout_ms < 0 ? -1 : timeout_ms;
}

//  The id of a "new" reply's handle, or 0
static uint64_t
s_new_id (zmp_client_t *client, const msgpack_object *params, uint32_t count,
          zmp_error_t *error)
{
    zmp_value_t *reply = object_create (client, params, count, NULL, 0, error);
    uint64_t id = 0;
    if (reply && !zmp_handle_decode (zmp_value_get (reply), NULL, &id))
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "the broker's answer to new is not a handle");
    zmp_value_destroy (&reply);
    return id;
}

//  Free an object of one of this file's kinds, unless a task owns it
static void
s_destroy (void **self_p)
{
    assert (self_p);
    client_object_t *object = (client_object_t *) *self_p;
    if (object && !object_task_owned (object)) {
        object_fini (object);
        free (object);
    }
    *self_p = NULL;
}

//  A new record of size bytes, beginning with a client_object_t
static client_object_t *
s_object (size_t size, zmp_client_t *client, zmp_object_kind_t kind,
          uint64_t id, bool attached)
{
    client_object_t *object = (client_object_t *) zmalloc (size);
    object_init (object, client, kind, id, attached, false);
    return object;
}

//  Attach handle of kinds into a new record of size bytes
static client_object_t *
s_attach (size_t size, zmp_client_t *client, const msgpack_object *handle,
          uint32_t kinds, zmp_value_t **info, zmp_error_t *error)
{
    assert (client);
    zmp_object_kind_t kind;
    uint64_t id;
    if (object_attach (client, handle, kinds, &kind, &id, info, error))
        return NULL;
    return s_object (size, client, kind, id, true);
}

//  A task-owned record of size bytes for argument index
static client_object_t *
s_task (size_t size, zmp_task_t *task, const msgpack_object *args,
        uint32_t index, uint32_t kinds, zmp_error_t *error)
{
    zmp_client_t *client;
    zmp_object_kind_t kind;
    uint64_t id;
    if (object_task_arg (task, args, index, kinds, &client, &kind, &id, error))
        return NULL;
    client_object_t *object = s_object (size, client, kind, id, false);
    object_task_own (task, object, s_destroy);
    return object;
}

//  Acquire object's lock (or a semaphore): 0, ZMP_OWNER_DIED or -1
static int
s_acquire (client_object_t *object, int timeout_ms, zmp_error_t *error)
{
    zmp_value_t *value =
        object_call (object, "acquire",
                     OBJECT_ARGS (zmp_uint (object_token ()),
                                  zmp_int (s_timeout (timeout_ms))),
                     NULL, 0, s_timeout (timeout_ms), error);
    if (!value)
        return -1;
    const msgpack_object *owner_died = zmp_value_get (value);
    int rc =
        owner_died->type == MSGPACK_OBJECT_BOOLEAN && owner_died->via.boolean
            ? ZMP_OWNER_DIED
            : 0;
    zmp_value_destroy (&value);
    return rc;
}

static int
s_release (client_object_t *object, zmp_error_t *error)
{
    //  A semaphore has no owner: its release names no thread
    if (object->kind == ZMP_OBJECT_SEMAPHORE)
        return object_call_nil (object, "release", NULL, 0, NULL, 0, 0, error);
    return object_call_nil (object, "release",
                            OBJECT_ARGS (zmp_uint (object_token ())), NULL, 0,
                            0, error);
}

#define LOCK_KINDS                                                             \
    (OBJECT_KIND (LOCK) | OBJECT_KIND (RLOCK) | OBJECT_KIND (SEMAPHORE))

//  --------------------------------------------------------------------------
//  Lock, RLock, Semaphore, BoundedSemaphore

static zmp_lock_t *
s_lock_new (zmp_client_t *client, zmp_object_kind_t kind,
            const msgpack_object *params, uint32_t count, zmp_error_t *error)
{
    assert (client);
    uint64_t id = s_new_id (client, params, count, error);
    return id ? (zmp_lock_t *) s_object (sizeof (zmp_lock_t), client, kind, id,
                                         true)
              : NULL;
}

zmp_lock_t *
zmp_lock_new (zmp_client_t *client, zmp_error_t *error)
{
    return s_lock_new (client, ZMP_OBJECT_LOCK, OBJECT_ARGS (zmp_str ("lock")),
                       error);
}

zmp_lock_t *
zmp_rlock_new (zmp_client_t *client, zmp_error_t *error)
{
    return s_lock_new (client, ZMP_OBJECT_RLOCK,
                       OBJECT_ARGS (zmp_str ("rlock")), error);
}

zmp_lock_t *
zmp_semaphore_new (zmp_client_t *client, unsigned value, zmp_error_t *error)
{
    return s_lock_new (
        client, ZMP_OBJECT_SEMAPHORE,
        OBJECT_ARGS (zmp_str ("semaphore"), zmp_uint (value), zmp_bool (false)),
        error);
}

zmp_lock_t *
zmp_bounded_semaphore_new (zmp_client_t *client, unsigned value,
                           zmp_error_t *error)
{
    return s_lock_new (
        client, ZMP_OBJECT_SEMAPHORE,
        OBJECT_ARGS (zmp_str ("semaphore"), zmp_uint (value), zmp_bool (true)),
        error);
}

zmp_lock_t *
zmp_lock_attach (zmp_client_t *client, const msgpack_object *handle,
                 zmp_error_t *error)
{
    zmp_value_t *info = NULL;
    zmp_lock_t *self = (zmp_lock_t *) s_attach (
        sizeof (zmp_lock_t), client, handle,
        LOCK_KINDS | OBJECT_KIND (CONDITION) | OBJECT_KIND (VALUE)
            | OBJECT_KIND (ARRAY),
        &info, error);
    zmp_value_destroy (&info);
    return self;
}

zmp_lock_t *
zmp_task_lock (zmp_task_t *task, const msgpack_object *args, uint32_t index,
               zmp_error_t *error)
{
    return (zmp_lock_t *) s_task (sizeof (zmp_lock_t), task, args, index,
                                  LOCK_KINDS, error);
}

void
zmp_lock_destroy (zmp_lock_t **self_p)
{
    s_destroy ((void **) self_p);
}

msgpack_object
zmp_lock_handle (const zmp_lock_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

int
zmp_lock_acquire (zmp_lock_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    return s_acquire (&self->object, timeout_ms, error);
}

int
zmp_lock_release (zmp_lock_t *self, zmp_error_t *error)
{
    assert (self);
    return s_release (&self->object, error);
}

//  --------------------------------------------------------------------------
//  Event

zmp_event_t *
zmp_event_new (zmp_client_t *client, zmp_error_t *error)
{
    assert (client);
    uint64_t id = s_new_id (client, OBJECT_ARGS (zmp_str ("event")), error);
    return id ? (zmp_event_t *) s_object (sizeof (zmp_event_t), client,
                                          ZMP_OBJECT_EVENT, id, true)
              : NULL;
}

zmp_event_t *
zmp_event_attach (zmp_client_t *client, const msgpack_object *handle,
                  zmp_error_t *error)
{
    zmp_value_t *info = NULL;
    zmp_event_t *self =
        (zmp_event_t *) s_attach (sizeof (zmp_event_t), client, handle,
                                  OBJECT_KIND (EVENT), &info, error);
    zmp_value_destroy (&info);
    return self;
}

zmp_event_t *
zmp_task_event (zmp_task_t *task, const msgpack_object *args, uint32_t index,
                zmp_error_t *error)
{
    return (zmp_event_t *) s_task (sizeof (zmp_event_t), task, args, index,
                                   OBJECT_KIND (EVENT), error);
}

void
zmp_event_destroy (zmp_event_t **self_p)
{
    s_destroy ((void **) self_p);
}

msgpack_object
zmp_event_handle (const zmp_event_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

int
zmp_event_set (zmp_event_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "set", NULL, 0, NULL, 0, 0, error);
}

int
zmp_event_clear (zmp_event_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "clear", NULL, 0, NULL, 0, 0, error);
}

bool
zmp_event_is_set (zmp_event_t *self)
{
    assert (self);
    zmp_value_t *value =
        object_call (&self->object, "is_set", NULL, 0, NULL, 0, 0, NULL);
    bool set = value && zmp_value_get (value)->type == MSGPACK_OBJECT_BOOLEAN
               && zmp_value_get (value)->via.boolean;
    zmp_value_destroy (&value);
    return set;
}

int
zmp_event_wait (zmp_event_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "wait",
                            OBJECT_ARGS (zmp_int (s_timeout (timeout_ms))),
                            NULL, 0, s_timeout (timeout_ms), error);
}

//  --------------------------------------------------------------------------
//  Condition

zmp_condition_t *
zmp_condition_new (zmp_client_t *client, zmp_error_t *error)
{
    assert (client);
    uint64_t id = s_new_id (client, OBJECT_ARGS (zmp_str ("condition")), error);
    return id ? (zmp_condition_t *) s_object (sizeof (zmp_condition_t), client,
                                              ZMP_OBJECT_CONDITION, id, true)
              : NULL;
}

zmp_condition_t *
zmp_condition_attach (zmp_client_t *client, const msgpack_object *handle,
                      zmp_error_t *error)
{
    zmp_value_t *info = NULL;
    zmp_condition_t *self =
        (zmp_condition_t *) s_attach (sizeof (zmp_condition_t), client, handle,
                                      OBJECT_KIND (CONDITION), &info, error);
    zmp_value_destroy (&info);
    return self;
}

zmp_condition_t *
zmp_task_condition (zmp_task_t *task, const msgpack_object *args,
                    uint32_t index, zmp_error_t *error)
{
    return (zmp_condition_t *) s_task (sizeof (zmp_condition_t), task, args,
                                       index, OBJECT_KIND (CONDITION), error);
}

void
zmp_condition_destroy (zmp_condition_t **self_p)
{
    s_destroy ((void **) self_p);
}

msgpack_object
zmp_condition_handle (const zmp_condition_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

int
zmp_condition_acquire (zmp_condition_t *self, int timeout_ms,
                       zmp_error_t *error)
{
    assert (self);
    return s_acquire (&self->object, timeout_ms, error);
}

int
zmp_condition_release (zmp_condition_t *self, zmp_error_t *error)
{
    assert (self);
    return s_release (&self->object, error);
}

int
zmp_condition_wait (zmp_condition_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    zmp_value_t *value =
        object_call (&self->object, "wait",
                     OBJECT_ARGS (zmp_uint (object_token ()),
                                  zmp_int (s_timeout (timeout_ms))),
                     NULL, 0, s_timeout (timeout_ms), error);
    if (!value)
        return -1;
    //  [notified, owner_died], and the lock is held again either way
    const msgpack_object *pair = zmp_value_get (value);
    bool notified = pair->type == MSGPACK_OBJECT_ARRAY
                    && pair->via.array.size == 2
                    && pair->via.array.ptr[0].type == MSGPACK_OBJECT_BOOLEAN
                    && pair->via.array.ptr[0].via.boolean;
    bool owner_died = notified
                      && pair->via.array.ptr[1].type == MSGPACK_OBJECT_BOOLEAN
                      && pair->via.array.ptr[1].via.boolean;
    zmp_value_destroy (&value);
    if (!notified) {
        zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT, "no notify came in %d ms",
                       timeout_ms);
        return -1;
    }
    return owner_died ? ZMP_OWNER_DIED : 0;
}

int
zmp_condition_wait_for (zmp_condition_t *self, zmp_predicate_fn *predicate,
                        void *arg, int timeout_ms, zmp_error_t *error)
{
    assert (self && predicate);
    int64_t deadline = zclock_mono () + (timeout_ms > 0 ? timeout_ms : 0);
    while (!predicate (arg)) {
        int left = ZMP_FOREVER;
        if (timeout_ms >= 0) {
            int64_t remaining = deadline - zclock_mono ();
            if (remaining <= 0) {
                zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT,
                               "the predicate stayed false for %d ms",
                               timeout_ms);
                return -1;
            }
            left = (int) remaining;
        }
        zmp_error_t cause;
        if (zmp_condition_wait (self, left, &cause) < 0
            && cause.kind != ZMP_ERR_WAIT_TIMEOUT) {
            if (error)
                *error = cause;
            return -1;
        }
    }
    return 0;
}

int
zmp_condition_notify (zmp_condition_t *self, unsigned count, zmp_error_t *error)
{
    assert (self);
    if (count == 0)
        return 0;  //  Python's notify (0) wakes nobody too
    return object_call_nil (
        &self->object, "notify",
        OBJECT_ARGS (zmp_uint (object_token ()), zmp_uint (count)), NULL, 0, 0,
        error);
}

int
zmp_condition_notify_all (zmp_condition_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (
        &self->object, "notify",
        OBJECT_ARGS (zmp_uint (object_token ()), zmp_uint (0)), NULL, 0, 0,
        error);
}

//  --------------------------------------------------------------------------
//  Barrier

zmp_barrier_t *
zmp_barrier_new (zmp_client_t *client, unsigned parties, zmp_error_t *error)
{
    assert (client);
    uint64_t id = s_new_id (
        client, OBJECT_ARGS (zmp_str ("barrier"), zmp_uint (parties)), error);
    return id ? (zmp_barrier_t *) s_object (sizeof (zmp_barrier_t), client,
                                            ZMP_OBJECT_BARRIER, id, true)
              : NULL;
}

zmp_barrier_t *
zmp_barrier_attach (zmp_client_t *client, const msgpack_object *handle,
                    zmp_error_t *error)
{
    zmp_value_t *info = NULL;
    zmp_barrier_t *self =
        (zmp_barrier_t *) s_attach (sizeof (zmp_barrier_t), client, handle,
                                    OBJECT_KIND (BARRIER), &info, error);
    zmp_value_destroy (&info);
    return self;
}

zmp_barrier_t *
zmp_task_barrier (zmp_task_t *task, const msgpack_object *args, uint32_t index,
                  zmp_error_t *error)
{
    return (zmp_barrier_t *) s_task (sizeof (zmp_barrier_t), task, args, index,
                                     OBJECT_KIND (BARRIER), error);
}

void
zmp_barrier_destroy (zmp_barrier_t **self_p)
{
    s_destroy ((void **) self_p);
}

msgpack_object
zmp_barrier_handle (const zmp_barrier_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

int
zmp_barrier_wait (zmp_barrier_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    zmp_value_t *value = object_call (
        &self->object, "wait", OBJECT_ARGS (zmp_int (s_timeout (timeout_ms))),
        NULL, 0, s_timeout (timeout_ms), error);
    if (!value)
        return -1;
    uint64_t index = 0;
    zmp_uint_get (zmp_value_get (value), INT32_MAX, &index);
    zmp_value_destroy (&value);
    return (int) index;
}

int
zmp_barrier_abort (zmp_barrier_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "abort", NULL, 0, NULL, 0, 0, error);
}

int
zmp_barrier_reset (zmp_barrier_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "reset", NULL, 0, NULL, 0, 0, error);
}

//  The barrier's [parties, waiting, broken], item index as an int
static int
s_barrier_state (zmp_barrier_t *self, uint32_t index, zmp_error_t *error)
{
    zmp_value_t *value =
        object_call (&self->object, "state", NULL, 0, NULL, 0, 0, error);
    if (!value)
        return -1;
    const msgpack_object *state = zmp_value_get (value);
    int result = -1;
    if (state->type == MSGPACK_OBJECT_ARRAY && state->via.array.size == 3) {
        const msgpack_object *item = &state->via.array.ptr[index];
        if (item->type == MSGPACK_OBJECT_BOOLEAN)
            result = item->via.boolean;
        else if (item->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            result = (int) item->via.u64;
    }
    if (result < 0)
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "the broker's barrier state is malformed");
    zmp_value_destroy (&value);
    return result;
}

int
zmp_barrier_parties (zmp_barrier_t *self, zmp_error_t *error)
{
    assert (self);
    return s_barrier_state (self, 0, error);
}

int
zmp_barrier_n_waiting (zmp_barrier_t *self, zmp_error_t *error)
{
    assert (self);
    return s_barrier_state (self, 1, error);
}

int
zmp_barrier_broken (zmp_barrier_t *self, zmp_error_t *error)
{
    assert (self);
    return s_barrier_state (self, 2, error);
}
