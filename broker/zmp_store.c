/*  zmp_store - shared objects and their waiting lists: lifetimes, waiters,
    dispatch of verbs

    Ids: splitmix64 of a counter keyed by random bits read at start. The
    mix is a bijection, so ids never repeat within a run, and a handle
    kept from an earlier broker run names nothing in this one.

    Deadlines: the timed list is scanned only when its earliest deadline
    has passed; the scan fails those due and finds the next earliest.
*/
#include "store_internal.h"

#include "zmp_error.h"
#include "zmp_log.h"
#include "zmp_proto.h"
#include "zmp_value.h"

#include <fcntl.h>
#include <unistd.h>

_Static_assert(sizeof (void *) >= sizeof (uint64_t),
               "object ids are kept in pointer-sized hash keys");

//  References one object may have: far beyond use, far below overflow
#define STORE_REFS_MAX (1u << 30)

static size_t
s_id_hash (const void *key)
{
    uint64_t id = (uint64_t) (uintptr_t) key;
    return (size_t) (id ^ (id >> 29));
}

static int
s_id_compare (const void *key1, const void *key2)
{
    uint64_t a = (uint64_t) (uintptr_t) key1, b = (uint64_t) (uintptr_t) key2;
    return a < b ? -1 : a > b;
}

static void *
s_id_key (uint64_t id)
{
    return (void *) (uintptr_t) id;
}

//  A hash keyed by object id
static zhashx_t *
s_id_hash_new (void)
{
    zhashx_t *hash = zhashx_new ();
    zhashx_set_key_hasher (hash, s_id_hash);
    zhashx_set_key_comparator (hash, s_id_compare);
    zhashx_set_key_duplicator (hash, NULL);
    zhashx_set_key_destructor (hash, NULL);
    return hash;
}

static uint64_t
s_splitmix (uint64_t value)
{
    value += 0x9e3779b97f4a7c15ull;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ull;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebull;
    return value ^ (value >> 31);
}

//  Order of the timed list: soonest deadline first
static int
s_deadline_compare (const void *item1, const void *item2)
{
    const store_waiter_t *a = (const store_waiter_t *) item1;
    const store_waiter_t *b = (const store_waiter_t *) item2;
    return a->deadline < b->deadline ? -1 : a->deadline > b->deadline;
}

static void
s_peer_free (void **item_p)
{
    store_peer_t *peer = (store_peer_t *) *item_p;
    if (peer) {
        zhashx_destroy (&peer->attached);
        zhashx_destroy (&peer->held);
        zlistx_destroy (&peer->waiters);
        free (peer->key);
        free (peer);
        *item_p = NULL;
    }
}

//  Free an object whose waiters are gone (the store's hash destructor)
static void
s_object_free (void **item_p)
{
    store_object_t *object = (store_object_t *) *item_p;
    if (object) {
        zlistx_destroy (&object->waiters);
        zlistx_destroy (&object->items);
        zhashx_destroy (&object->entries);
        zlistx_destroy (&object->order);
        if (object->list)
            for (size_t index = 0; index < object->list_size; index++)
                zframe_destroy (&object->list[index]);
        free (object->list);
        free (object->numbers);
        free (object);
        *item_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  A new store.

zmp_store_t *
zmp_store_new (zmp_store_reply_fn *reply, void *arg, size_t objects_max,
               uint64_t bytes_max)
{
    assert (reply);
    zmp_store_t *self = (zmp_store_t *) zmalloc (sizeof (zmp_store_t));
    self->reply = reply;
    self->reply_arg = arg;
    self->objects = s_id_hash_new ();
    zhashx_set_destructor (self->objects, s_object_free);
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_free);
    self->timed = zlistx_new ();
    zlistx_set_comparator (self->timed, s_deadline_compare);
    self->objects_max = objects_max ? objects_max : ZMP_STORE_OBJECTS_MAX;
    self->peer_objects_max = ZMP_STORE_PEER_OBJECTS_MAX;
    self->bytes_max = bytes_max ? bytes_max : ZMP_STORE_BYTES_MAX;
    int fd = open ("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0
        || read (fd, &self->id_key, sizeof self->id_key)
               != (ssize_t) sizeof self->id_key)
        self->id_key = (uint64_t) zclock_usecs () ^ (uint64_t) getpid () << 32;
    if (fd >= 0)
        close (fd);
    return self;
}

void
zmp_store_set_peer_objects_max (zmp_store_t *self, size_t max)
{
    assert (self);
    self->peer_objects_max = max ? max : ZMP_STORE_PEER_OBJECTS_MAX;
}

//  --------------------------------------------------------------------------
//  Free the store.

void
zmp_store_destroy (zmp_store_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_store_t *self = *self_p;
        //  Waiters are linked from peers and objects; free them first
        for (store_peer_t *peer = (store_peer_t *) zhashx_first (self->peers);
             peer; peer = (store_peer_t *) zhashx_next (self->peers)) {
            store_waiter_t *waiter;
            while ((waiter = (store_waiter_t *) zlistx_first (peer->waiters)))
                store_waiter_free (self, waiter);
        }
        zhashx_destroy (&self->objects);
        zhashx_destroy (&self->peers);
        zlistx_destroy (&self->timed);
        store_journal_destroy (&self->journal);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Replies

static void
s_send (zmp_store_t *store, store_peer_t *peer, uint64_t request_id,
        zframe_t **frame_p)
{
    store->reply (store->reply_arg, peer->key, request_id, frame_p);
    zframe_destroy (frame_p);  //  In case the callee left it
}

static void
s_answer (zmp_store_t *store, store_call_t *call, zframe_t **frame_p)
{
    assert (!call->answered);
    call->answered = true;
    s_send (store, call->peer, call->request_id, frame_p);
}

void
store_reply_raw (zmp_store_t *store, store_call_t *call, const void *data,
                 size_t size)
{
    zframe_t *frame = zmp_proto_encode_outcome (data, size);
    s_answer (store, call, &frame);
}

void
store_reply_nil (zmp_store_t *store, store_call_t *call)
{
    store_reply_raw (store, call, NULL, 0);
}

void
store_reply_bool (zmp_store_t *store, store_call_t *call, bool value)
{
    char byte = value ? (char) 0xc3 : (char) 0xc2;
    store_reply_raw (store, call, &byte, 1);
}

void
store_reply_uint (zmp_store_t *store, store_call_t *call, uint64_t value)
{
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_uint64 (packer, value);
    store_reply_packed (store, call, &out);
}

msgpack_packer *
store_packer_init (store_packer_t *self)
{
    msgpack_sbuffer_init (&self->buffer);
    msgpack_packer_init (&self->packer, &self->buffer, msgpack_sbuffer_write);
    return &self->packer;
}

void
store_reply_packed (zmp_store_t *store, store_call_t *call,
                    store_packer_t *packed)
{
    store_reply_raw (store, call, packed->buffer.data, packed->buffer.size);
    msgpack_sbuffer_destroy (&packed->buffer);
}

void
store_reply_frame (zmp_store_t *store, store_call_t *call, zframe_t *frame)
{
    store_reply_raw (store, call, zframe_data (frame), zframe_size (frame));
}

void
store_reply_handle (zmp_store_t *store, store_call_t *call,
                    store_object_t *object)
{
    store_packer_t out;
    zmp_handle_pack (store_packer_init (&out), object->kind, object->id);
    store_reply_packed (store, call, &out);
}

static zframe_t *s_error_frame (zmp_error_kind_t kind, const char *format,
                                va_list args)
    __attribute__ ((format (printf, 2, 0)));

static zframe_t *
s_error_frame (zmp_error_kind_t kind, const char *format, va_list args)
{
    zmp_error_t error;
    zmp_error_setv (&error, kind, format, args);
    return zmp_proto_encode_outcome_error (&error);
}

void
store_reply_error (zmp_store_t *store, store_call_t *call,
                   zmp_error_kind_t kind, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    zframe_t *frame = s_error_frame (kind, format, args);
    va_end (args);
    s_answer (store, call, &frame);
}

void
store_waiter_raw (zmp_store_t *store, store_waiter_t *waiter, const void *data,
                  size_t size)
{
    zframe_t *frame = zmp_proto_encode_outcome (data, size);
    s_send (store, waiter->peer, waiter->request_id, &frame);
    store_waiter_free (store, waiter);
}

void
store_waiter_packed (zmp_store_t *store, store_waiter_t *waiter,
                     store_packer_t *packed)
{
    store_waiter_raw (store, waiter, packed->buffer.data, packed->buffer.size);
    msgpack_sbuffer_destroy (&packed->buffer);
}

void
store_waiter_frame (zmp_store_t *store, store_waiter_t *waiter,
                    zframe_t **frame_p)
{
    store_waiter_raw (store, waiter, zframe_data (*frame_p),
                      zframe_size (*frame_p));
    zframe_destroy (frame_p);
}

void
store_waiter_bool (zmp_store_t *store, store_waiter_t *waiter, bool value)
{
    char byte = value ? (char) 0xc3 : (char) 0xc2;
    store_waiter_raw (store, waiter, &byte, 1);
}

void
store_waiter_error (zmp_store_t *store, store_waiter_t *waiter,
                    zmp_error_kind_t kind, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    zframe_t *frame = s_error_frame (kind, format, args);
    va_end (args);
    s_send (store, waiter->peer, waiter->request_id, &frame);
    store_waiter_free (store, waiter);
}

//  --------------------------------------------------------------------------
//  Waiters

store_waiter_t *
store_wait (zmp_store_t *store, store_call_t *call, store_object_t *object,
            store_wait_t role, int64_t timeout_ms)
{
    assert (!call->answered);
    if (zlistx_size (call->peer->waiters) >= ZMP_STORE_WAITERS_MAX) {
        store_reply_error (store, call, ZMP_ERR_LIMIT,
                           "this client already has %d calls waiting in the "
                           "broker",
                           ZMP_STORE_WAITERS_MAX);
        return NULL;
    }
    call->answered = true;
    store_waiter_t *waiter =
        (store_waiter_t *) zmalloc (sizeof (store_waiter_t));
    waiter->role = role;
    waiter->peer = call->peer;
    waiter->request_id = call->request_id;
    waiter->object = object;
    waiter->object_handle = zlistx_add_end (object->waiters, waiter);
    waiter->peer_handle = zlistx_add_end (call->peer->waiters, waiter);
    if (timeout_ms >= 0) {
        waiter->deadline = call->now + (timeout_ms > 0 ? timeout_ms : 0);
        //  In deadline order, looking from the end: most waits come with
        //  the same timeout, so most go in last at once
        waiter->timed_handle = zlistx_insert (store->timed, waiter, false);
    }
    store->waiting++;
    return waiter;
}

void
store_waiter_free (zmp_store_t *store, store_waiter_t *waiter)
{
    zlistx_delete (waiter->object->waiters, waiter->object_handle);
    zlistx_delete (waiter->peer->waiters, waiter->peer_handle);
    if (waiter->timed_handle)
        zlistx_delete (store->timed, waiter->timed_handle);
    if (waiter->item)
        store_bytes_sub (store, waiter->object, zframe_size (waiter->item));
    zframe_destroy (&waiter->item);
    store->waiting--;
    free (waiter);
}

store_waiter_t *
store_first_waiter (store_object_t *object, store_wait_t role)
{
    for (store_waiter_t *waiter =
             (store_waiter_t *) zlistx_first (object->waiters);
         waiter; waiter = (store_waiter_t *) zlistx_next (object->waiters))
        if (waiter->role == role)
            return waiter;
    return NULL;
}

//  --------------------------------------------------------------------------
//  Objects

store_object_t *
store_object_find (zmp_store_t *store, uint64_t id)
{
    //  Id 0 names nothing, and would be a NULL key (czmq asserts on it)
    return id ? (store_object_t *) zhashx_lookup (store->objects, s_id_key (id))
              : NULL;
}

static store_peer_t *
s_peer_get (zmp_store_t *store, const char *key)
{
    store_peer_t *peer = (store_peer_t *) zhashx_lookup (store->peers, key);
    if (!peer) {
        peer = (store_peer_t *) zmalloc (sizeof (store_peer_t));
        peer->key = strdup (key);
        peer->attached = s_id_hash_new ();
        peer->held = s_id_hash_new ();
        peer->waiters = zlistx_new ();
        zhashx_insert (store->peers, key, peer);
    }
    return peer;
}

//  Add delta (not zero) to the count for id in hash; drop it at zero.
//  Returns the new count.
static uint64_t
s_count_add (zhashx_t *hash, uint64_t id, int64_t delta)
{
    uint64_t count = (uint64_t) (uintptr_t) zhashx_lookup (hash, s_id_key (id));
    if (delta < 0 && (uint64_t) -delta >= count)
        count = 0;
    else
        count += (uint64_t) delta;
    if (count)
        zhashx_update (hash, s_id_key (id), (void *) (uintptr_t) count);
    else
        zhashx_delete (hash, s_id_key (id));
    return count;
}

static store_object_t *
s_object_insert (zmp_store_t *store, uint64_t id, zmp_object_kind_t kind)
{
    store_object_t *object =
        (store_object_t *) zmalloc (sizeof (store_object_t));
    object->id = id;
    object->kind = kind;
    object->waiters = zlistx_new ();
    zhashx_insert (store->objects, s_id_key (id), object);
    return object;
}

//  False (call answered with kind limit) if call's peer would pass its
//  share holding count more objects
static bool
s_peer_has_room (zmp_store_t *store, store_call_t *call, size_t count)
{
    size_t held = zhashx_size (call->peer->attached);
    if (held + count <= store->peer_objects_max)
        return true;
    store_reply_error (store, call, ZMP_ERR_LIMIT,
                       "this client holds %zu shared objects; %zu more would "
                       "pass the most one may (%zu: broker "
                       "--max-objects-per-client)",
                       held, count, store->peer_objects_max);
    return false;
}

bool
store_has_room (zmp_store_t *store, store_call_t *call, size_t count)
{
    if (zhashx_size (store->objects) + count > store->objects_max) {
        store_reply_error (store, call, ZMP_ERR_LIMIT,
                           "the broker holds %zu objects, its limit",
                           store->objects_max);
        return false;
    }
    return s_peer_has_room (store, call, count);
}


store_object_t *
store_object_new (zmp_store_t *store, store_call_t *call,
                  zmp_object_kind_t kind)
{
    if (!store_has_room (store, call, 1))
        return NULL;
    uint64_t id;
    do
        id = s_splitmix (store->id_key ^ store->next_id++);
    while (id == 0 || store_object_find (store, id));
    store_object_t *object = s_object_insert (store, id, kind);
    object->refs = 1;
    s_count_add (call->peer->attached, object->id, 1);
    return object;
}

store_object_t *
store_object_restore (zmp_store_t *store, uint64_t id, zmp_object_kind_t kind)
{
    if (id == 0 || store_object_find (store, id))
        return NULL;
    return s_object_insert (store, id, kind);
}

void
store_object_unref (zmp_store_t *store, store_object_t *object)
{
    assert (object->refs > 0);
    if (--object->refs > 0)
        return;
    store_waiter_t *waiter;
    while ((waiter = (store_waiter_t *) zlistx_first (object->waiters)))
        store_waiter_error (store, waiter, ZMP_ERR_NOT_FOUND,
                            "the %s was destroyed while this call waited",
                            zmp_object_kind_name (object->kind));
    //  Holders keep no record of a freed object
    for (store_peer_t *peer = (store_peer_t *) zhashx_first (store->peers);
         peer; peer = (store_peer_t *) zhashx_next (store->peers))
        zhashx_delete (peer->held, s_id_key (object->id));
    store_data_free (store, object);
    store_journal_op (store, object, "free");
    store->bytes -= object->bytes;
    zhashx_delete (store->objects, s_id_key (object->id));
}

bool
store_bytes_fit (zmp_store_t *store, store_call_t *call, size_t size)
{
    if (store->bytes + size <= store->bytes_max)
        return true;
    store_reply_error (store, call, ZMP_ERR_LIMIT,
                       "the broker's objects hold %llu bytes; %zu more would "
                       "pass its limit of %llu",
                       (unsigned long long) store->bytes, size,
                       (unsigned long long) store->bytes_max);
    return false;
}

void
store_bytes_add (zmp_store_t *store, store_object_t *object, size_t size)
{
    store->bytes += size;
    object->bytes += size;
}

void
store_bytes_sub (zmp_store_t *store, store_object_t *object, size_t size)
{
    assert (object->bytes >= size && store->bytes >= size);
    store->bytes -= size;
    object->bytes -= size;
}

void
store_held_add (store_peer_t *peer, uint64_t id, uint64_t units)
{
    s_count_add (peer->held, id, (int64_t) units);
}

uint64_t
store_held_take (store_peer_t *peer, uint64_t id, uint64_t units)
{
    uint64_t held =
        (uint64_t) (uintptr_t) zhashx_lookup (peer->held, s_id_key (id));
    uint64_t taken = units < held ? units : held;
    if (taken)
        s_count_add (peer->held, id, -(int64_t) taken);
    return taken;
}

//  --------------------------------------------------------------------------
//  Parameters

static bool
s_param_fault (zmp_store_t *store, store_call_t *call, uint32_t index,
               const char *expected)
{
    store_reply_error (store, call, ZMP_ERR_PROTOCOL,
                       "object request: parameter %u must be %s", index + 1,
                       expected);
    return false;
}

bool
store_param_int (zmp_store_t *store, store_call_t *call, uint32_t index,
                 int64_t *value)
{
    if (index >= call->param_count || zmp_int_get (&call->params[index], value))
        return s_param_fault (store, call, index, "an integer");
    return true;
}

bool
store_param_uint (zmp_store_t *store, store_call_t *call, uint32_t index,
                  uint64_t max, uint64_t *value)
{
    if (index >= call->param_count
        || zmp_uint_get (&call->params[index], max, value)) {
        char expected[64];
        snprintf (expected, sizeof expected, "an integer from 0 to %llu",
                  (unsigned long long) max);
        return s_param_fault (store, call, index, expected);
    }
    return true;
}

bool
store_param_bool (zmp_store_t *store, store_call_t *call, uint32_t index,
                  bool *value)
{
    if (index >= call->param_count
        || call->params[index].type != MSGPACK_OBJECT_BOOLEAN)
        return s_param_fault (store, call, index, "true or false");
    *value = call->params[index].via.boolean;
    return true;
}

bool
store_param_timeout (zmp_store_t *store, store_call_t *call, uint32_t index,
                     int64_t *timeout_ms)
{
    if (index >= call->param_count
        || zmp_int_get (&call->params[index], timeout_ms) || *timeout_ms < -1
        || *timeout_ms > (int64_t) ZMP_PROTO_TIMEOUT_MAX)
        return s_param_fault (store, call, index,
                              "a timeout: -1, or 0 to a week in ms");
    return true;
}

zframe_t *
store_payload (zmp_store_t *store, store_call_t *call, uint32_t index)
{
    zframe_t *frame = zmsg_first (call->payloads);
    for (uint32_t skip = 0; frame && skip < index; skip++)
        frame = zmsg_next (call->payloads);
    if (!frame) {
        store_reply_error (store, call, ZMP_ERR_PROTOCOL,
                           "object request: payload frame %u is missing",
                           index + 1);
        return NULL;
    }
    zmp_error_t error;
    if (zmp_value_check (zframe_data (frame), zframe_size (frame), &error)) {
        store_reply_error (store, call, ZMP_ERR_PROTOCOL,
                           "object request: payload frame %u: %s", index + 1,
                           error.message);
        return NULL;
    }
    return frame;
}

//  --------------------------------------------------------------------------
//  Generic verbs: attach and detach

//  info -> [kind, detail]: a queue's maxsize, a barrier's parties, a value's
//  or array's typecode, else nil
static void
s_info (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_array (packer, 2);
    msgpack_pack_uint32 (packer, (uint32_t) object->kind);
    if (object->kind == ZMP_OBJECT_QUEUE)
        msgpack_pack_uint64 (packer, object->maxsize);
    else if (object->kind == ZMP_OBJECT_BARRIER)
        msgpack_pack_uint32 (packer, object->parties);
    else if (object->kind == ZMP_OBJECT_VALUE
             || object->kind == ZMP_OBJECT_ARRAY)
        msgpack_pack_str_with_body (packer, &object->typecode, 1);
    else
        msgpack_pack_nil (packer);
    store_reply_packed (store, call, &out);
}

//  attach -> as info, and the caller holds a reference from now on
static void
s_attach (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    if (object->refs >= STORE_REFS_MAX) {
        store_reply_error (store, call, ZMP_ERR_LIMIT,
                           "the %s has %u references, its limit",
                           zmp_object_kind_name (object->kind), object->refs);
        return;
    }
    if (!zhashx_lookup (call->peer->attached, s_id_key (object->id))
        && !s_peer_has_room (store, call, 1))
        return;
    object->refs++;
    s_count_add (call->peer->attached, object->id, 1);
    s_info (store, call, object);
}

static void
s_detach (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    if (!zhashx_lookup (call->peer->attached, s_id_key (object->id))) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "this client does not hold the %s",
                           zmp_object_kind_name (object->kind));
        return;
    }
    s_count_add (call->peer->attached, object->id, -1);
    store_reply_nil (store, call);
    store_object_unref (store, object);
}

//  --------------------------------------------------------------------------
//  Dispatch

#define K(kind)  (1u << ZMP_OBJECT_##kind)
#define K_LOCKED (K (LOCK) | K (RLOCK) | K (CONDITION) | K (VALUE) | K (ARRAY))
#define K_ALL    0x1ffeu

typedef struct {
    const char *verb;
    uint32_t kinds;  //  Bit per zmp_object_kind_t it applies to
    store_verb_fn *fn;
} s_verb_t;

static const s_verb_t s_verbs[] = {
    { "info", K_ALL, s_info },
    { "attach", K_ALL, s_attach },
    { "detach", K_ALL, s_detach },
    { "put", K (QUEUE), store_queue_put },
    { "get", K (QUEUE), store_queue_get },
    { "qsize", K (QUEUE), store_queue_qsize },
    { "close", K (QUEUE), store_queue_close },
    { "task_done", K (QUEUE), store_queue_task_done },
    { "join", K (QUEUE), store_queue_join },
    { "send", K (PIPE), store_pipe_send },
    { "recv", K (PIPE), store_pipe_recv },
    { "poll", K (PIPE), store_pipe_poll },
    { "close", K (PIPE), store_pipe_close },
    { "acquire", K_LOCKED, store_lock_acquire },
    { "release", K_LOCKED, store_lock_release },
    { "acquire", K (SEMAPHORE), store_semaphore_acquire },
    { "release", K (SEMAPHORE), store_semaphore_release },
    { "set", K (EVENT), store_event_set },
    { "clear", K (EVENT), store_event_clear },
    { "is_set", K (EVENT), store_event_is_set },
    { "wait", K (EVENT), store_event_wait },
    { "wait", K (CONDITION), store_condition_wait },
    { "notify", K (CONDITION), store_condition_notify },
    { "wait", K (BARRIER), store_barrier_wait },
    { "abort", K (BARRIER), store_barrier_abort },
    { "reset", K (BARRIER), store_barrier_reset },
    { "state", K (BARRIER), store_barrier_state },
    { "get", K (VALUE) | K (ARRAY), store_value_get },
    { "set", K (VALUE) | K (ARRAY), store_value_set },
    { "add", K (VALUE) | K (ARRAY), store_value_add },
    { "len", K (ARRAY), store_array_len },
    { "slice", K (ARRAY), store_array_slice },
    { "set_slice", K (ARRAY), store_array_set_slice },
    { "set", K (DICT), store_dict_set },
    { "get", K (DICT), store_dict_get },
    { "pop", K (DICT), store_dict_pop },
    { "delete", K (DICT), store_dict_delete },
    { "contains", K (DICT), store_dict_contains },
    { "len", K (DICT), store_dict_len },
    { "keys", K (DICT), store_dict_keys },
    { "items", K (DICT), store_dict_items },
    { "clear", K (DICT), store_dict_clear },
    { "append", K (LIST), store_list_append },
    { "extend", K (LIST), store_list_extend },
    { "insert", K (LIST), store_list_insert },
    { "get", K (LIST), store_list_get },
    { "set", K (LIST), store_list_set },
    { "delete", K (LIST), store_list_delete },
    { "pop", K (LIST), store_list_pop },
    { "len", K (LIST), store_list_len },
    { "slice", K (LIST), store_list_slice },
    { "reverse", K (LIST), store_list_reverse },
    { "clear", K (LIST), store_list_clear },
};

typedef struct {
    const char *name;
    store_verb_fn *fn;
} s_kind_t;

//  What "new" makes, by kind name
static const s_kind_t s_kinds[] = {
    { "queue", store_queue_new },         { "pipe", store_pipe_new },
    { "lock", store_lock_new },           { "rlock", store_rlock_new },
    { "semaphore", store_semaphore_new }, { "event", store_event_new },
    { "condition", store_condition_new }, { "barrier", store_barrier_new },
    { "value", store_value_new },         { "array", store_array_new },
    { "dict", store_dict_new },           { "list", store_list_new },
};

static bool
s_is (const msgpack_object *object, const char *name)
{
    return zmp_str_is (object, name);
}

//  --------------------------------------------------------------------------
//  Run one operation.

void
zmp_store_call (zmp_store_t *self, const char *peer, uint64_t request_id,
                zframe_t *op, zmsg_t *payloads, int64_t now)
{
    assert (self && peer && op && payloads);
    store_call_t call;
    memset (&call, 0, sizeof call);
    call.peer = s_peer_get (self, peer);
    call.request_id = request_id;
    call.payloads = payloads;
    call.now = now;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    zmp_error_t error;
    uint64_t id = 0;
    if (zmp_value_unpack (&unpacked, zframe_data (op), zframe_size (op),
                          &error)) {
        store_reply_error (self, &call, ZMP_ERR_PROTOCOL, "object request: %s",
                           error.message);
        goto done;
    }
    const msgpack_object *items = unpacked.data.via.array.ptr;
    if (unpacked.data.type != MSGPACK_OBJECT_ARRAY
        || unpacked.data.via.array.size < 2
        || items[0].type != MSGPACK_OBJECT_STR
        || zmp_uint_get (&items[1], UINT64_MAX, &id)) {
        store_reply_error (self, &call, ZMP_ERR_PROTOCOL,
                           "object request: must be [verb, object-id, ...]");
        goto done;
    }
    call.params = items + 2;
    call.param_count = unpacked.data.via.array.size - 2;
    if (s_is (&items[0], "new")) {
        if (call.param_count < 1 || call.params[0].type != MSGPACK_OBJECT_STR) {
            store_reply_error (self, &call, ZMP_ERR_PROTOCOL,
                               "object request: new takes a kind name");
            goto done;
        }
        const msgpack_object *kind = &call.params[0];
        call.params++;
        call.param_count--;
        for (size_t index = 0; index < sizeof s_kinds / sizeof s_kinds[0];
             index++)
            if (s_is (kind, s_kinds[index].name)) {
                s_kinds[index].fn (self, &call, NULL);
                goto done;
            }
        store_reply_error (
            self, &call, ZMP_ERR_USAGE, "no kind of object is called \"%.*s\"",
            (int) (kind->via.str.size < 32 ? kind->via.str.size : 32),
            kind->via.str.ptr);
        goto done;
    }
    store_object_t *object = store_object_find (self, id);
    if (!object) {
        store_reply_error (self, &call, ZMP_ERR_NOT_FOUND,
                           "no object %016llx: it was destroyed, or belongs "
                           "to another broker run",
                           (unsigned long long) id);
        goto done;
    }
    bool verb_known = false;
    for (size_t index = 0; index < sizeof s_verbs / sizeof s_verbs[0];
         index++) {
        if (!s_is (&items[0], s_verbs[index].verb))
            continue;
        verb_known = true;
        if (s_verbs[index].kinds & (1u << object->kind)) {
            s_verbs[index].fn (self, &call, object);
            goto done;
        }
    }
    store_reply_error (
        self, &call, ZMP_ERR_USAGE,
        verb_known ? "a %s has no operation \"%.*s\""
                   : "%s: no operation is called \"%.*s\"",
        zmp_object_kind_name (object->kind),
        (int) (items[0].via.str.size < 32 ? items[0].via.str.size : 32),
        items[0].via.str.ptr);
done:
    assert (call.answered);
    msgpack_unpacked_destroy (&unpacked);
}

//  --------------------------------------------------------------------------
//  Deadlines.

//  The hold on replayed objects is over: those nobody attached again go
static void
s_release_holds (zmp_store_t *self)
{
    self->hold_until = 0;
    zlistx_t *held = zlistx_new ();
    for (store_object_t *object =
             (store_object_t *) zhashx_first (self->objects);
         object; object = (store_object_t *) zhashx_next (self->objects))
        if (object->held)
            zlistx_add_end (held, object);
    size_t freed = 0;
    for (store_object_t *object = (store_object_t *) zlistx_first (held);
         object; object = (store_object_t *) zlistx_next (held)) {
        object->held = false;
        freed += object->refs == 1;
        store_object_unref (self, object);
    }
    if (zlistx_size (held))
        zmp_notice ("broker: the hold on %zu replayed objects is over; %zu "
                    "nobody attached again were destroyed",
                    zlistx_size (held), freed);
    zlistx_destroy (&held);
}


int64_t
zmp_store_expire (zmp_store_t *self, int64_t now)
{
    assert (self);
    //  The soonest first, one at a time from the head: expiring one may
    //  answer others (a barrier breaking answers all its waiters)
    store_waiter_t *waiter;
    while ((waiter = (store_waiter_t *) zlistx_first (self->timed))
           && waiter->deadline <= now) {
        zlistx_delete (self->timed, waiter->timed_handle);
        waiter->timed_handle = NULL;
        if (waiter->object->kind == ZMP_OBJECT_QUEUE
            || waiter->object->kind == ZMP_OBJECT_PIPE)
            store_queue_expire (self, waiter);
        else
            store_sync_expire (self, waiter);
    }
    if (self->hold_until && self->hold_until <= now)
        s_release_holds (self);
    return zmp_store_next_deadline (self);
}

int64_t
zmp_store_next_deadline (zmp_store_t *self)
{
    assert (self);
    store_waiter_t *soonest = (store_waiter_t *) zlistx_first (self->timed);
    int64_t deadline = soonest ? soonest->deadline : -1;
    if (self->hold_until && (deadline < 0 || self->hold_until < deadline))
        deadline = self->hold_until;
    return deadline;
}

//  --------------------------------------------------------------------------
//  A peer is gone.

//  Drop a peer's waiters without answering them; a barrier it waited at
//  breaks for the others, for it can no longer fill
static void
s_peer_drop_waits (zmp_store_t *self, store_peer_t *peer)
{
    zlistx_t *barriers = zlistx_new ();
    store_waiter_t *waiter;
    while ((waiter = (store_waiter_t *) zlistx_first (peer->waiters))) {
        store_object_t *object = waiter->object;
        if (waiter->role == WAIT_BARRIER) {
            object->arrived--;
            zlistx_add_end (barriers, object);
        }
        store_waiter_free (self, waiter);
    }
    for (store_object_t *object = (store_object_t *) zlistx_first (barriers);
         object; object = (store_object_t *) zlistx_next (barriers))
        if (store_object_find (self, object->id) == object)
            store_barrier_break (self, object);
    zlistx_destroy (&barriers);
}

void
zmp_store_peer_gone (zmp_store_t *self, const char *key, bool died)
{
    assert (self && key);
    store_peer_t *peer = (store_peer_t *) zhashx_lookup (self->peers, key);
    if (!peer)
        return;
    //  Its waits first: nobody is there to answer
    s_peer_drop_waits (self, peer);
    //  What it held: released, and the next acquirer told
    zlistx_t *held = zhashx_keys (peer->held);
    for (void *key_id = zlistx_first (held); key_id;
         key_id = zlistx_next (held)) {
        uint64_t id = (uint64_t) (uintptr_t) key_id;
        uint64_t units =
            (uint64_t) (uintptr_t) zhashx_lookup (peer->held, key_id);
        zhashx_delete (peer->held, key_id);
        store_object_t *object = store_object_find (self, id);
        if (object && (died || object->kind != ZMP_OBJECT_SEMAPHORE))
            store_sync_owner_died (self, object, peer, units);
    }
    zlistx_destroy (&held);
    //  What it attached: let go
    zlistx_t *attached = zhashx_keys (peer->attached);
    for (void *key_id = zlistx_first (attached); key_id;
         key_id = zlistx_next (attached)) {
        uint64_t count =
            (uint64_t) (uintptr_t) zhashx_lookup (peer->attached, key_id);
        store_object_t *object =
            store_object_find (self, (uint64_t) (uintptr_t) key_id);
        if (!object)
            continue;
        if (count < object->refs)
            object->refs -= (uint32_t) count;
        else {
            object->refs = 1;  //  Its last references: let it go
            store_object_unref (self, object);
        }
    }
    zlistx_destroy (&attached);
    zhashx_delete (self->peers, key);
}

//  --------------------------------------------------------------------------
//  A peer came back.

void
zmp_store_peer_reset (zmp_store_t *self, const char *key)
{
    assert (self && key);
    store_peer_t *peer = (store_peer_t *) zhashx_lookup (self->peers, key);
    if (peer)
        s_peer_drop_waits (self, peer);
}

//  --------------------------------------------------------------------------
//  A peer came back on a new connection.

void
zmp_store_peer_rename (zmp_store_t *self, const char *key, const char *new_key)
{
    assert (self && key && new_key);
    store_peer_t *peer = (store_peer_t *) zhashx_lookup (self->peers, key);
    if (!peer || zhashx_lookup (self->peers, new_key))
        return;
    s_peer_drop_waits (self, peer);
    zhashx_rename (self->peers, key, new_key);
    free (peer->key);
    peer->key = strdup (new_key);
}

//  --------------------------------------------------------------------------
//  Retain and release for tasks.

int
zmp_store_retain (zmp_store_t *self, uint64_t id, zmp_error_t *error)
{
    assert (self);
    store_object_t *object = store_object_find (self, id);
    if (!object) {
        zmp_error_set (error, ZMP_ERR_NOT_FOUND,
                       "an argument is a handle to object %016llx, which no "
                       "longer exists",
                       (unsigned long long) id);
        return -1;
    }
    if (object->refs >= STORE_REFS_MAX) {
        zmp_error_set (error, ZMP_ERR_LIMIT,
                       "object %016llx has %u references, its limit",
                       (unsigned long long) id, object->refs);
        return -1;
    }
    object->refs++;
    return 0;
}

void
zmp_store_release (zmp_store_t *self, uint64_t id)
{
    assert (self);
    store_object_t *object = store_object_find (self, id);
    if (object)
        store_object_unref (self, object);
}

//  --------------------------------------------------------------------------
//  Figures.

size_t
zmp_store_objects (zmp_store_t *self)
{
    assert (self);
    return zhashx_size (self->objects);
}

uint64_t
zmp_store_bytes (zmp_store_t *self)
{
    assert (self);
    return self->bytes;
}

size_t
zmp_store_waiting (zmp_store_t *self)
{
    assert (self);
    return self->waiting;
}
