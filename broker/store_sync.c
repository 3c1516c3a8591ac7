/*  store_sync - locks, rlocks, semaphores, events, conditions, barriers

    A lock is free, or held by one peer's thread (token): an rlock counts
    how deep. When it is released the first waiter that contends for it
    (an acquire, or a condition wait taking its lock back) gets it, in
    order of arrival. A condition's waiters first wait for a notify
    (WAIT_NOTIFY), then for the lock (WAIT_REGAIN); only then are they
    answered, [notified, owner_died], so a condition wait always returns
    holding the lock, as Python's does.

    Owner death: held units are counted per peer (store_held_*). When a
    peer goes, its units come back, and owner_died tells the next acquirer.
*/
#include "store_internal.h"

#include "zmp_error.h"

//  Reply with a new object's handle
//  Answer a condition waiter that has its lock back: [notified, owner_died]
static void
s_answer_regain (zmp_store_t *store, store_waiter_t *waiter, bool owner_died)
{
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_array (packer, 2);
    if (waiter->notified)
        msgpack_pack_true (packer);
    else
        msgpack_pack_false (packer);
    if (owner_died)
        msgpack_pack_true (packer);
    else
        msgpack_pack_false (packer);
    store_waiter_packed (store, waiter, &out);
}

//  Answer a barrier waiter with its index
static void
s_answer_index (zmp_store_t *store, store_waiter_t *waiter)
{
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_uint32 (packer, waiter->count);
    store_waiter_packed (store, waiter, &out);
}

//  Give a free lock to the first waiter that wants it, if any.
static void
s_lock_handoff (zmp_store_t *store, store_object_t *object)
{
    store_lock_t *lock = &object->lock;
    if (lock->holder)
        return;
    for (store_waiter_t *waiter =
             (store_waiter_t *) zlistx_first (object->waiters);
         waiter; waiter = (store_waiter_t *) zlistx_next (object->waiters)) {
        if (waiter->role != WAIT_ACQUIRE && waiter->role != WAIT_REGAIN)
            continue;
        bool owner_died = lock->owner_died;
        lock->owner_died = false;
        lock->holder = waiter->peer;
        lock->token = waiter->token;
        lock->depth = waiter->role == WAIT_REGAIN ? waiter->count : 1;
        store_held_add (waiter->peer, object->id, 1);
        if (waiter->role == WAIT_ACQUIRE)
            store_waiter_bool (store, waiter, owner_died);
        else
            s_answer_regain (store, waiter, owner_died);
        return;
    }
}

//  Take the acquire parameters: [token, timeout]
static bool
s_acquire_params (zmp_store_t *store, store_call_t *call, uint64_t *token,
                  int64_t *timeout_ms)
{
    return store_param_uint (store, call, 0, UINT64_MAX, token)
           && store_param_timeout (store, call, 1, timeout_ms);
}

//  True if call's thread holds object's lock
static bool
s_holds (store_call_t *call, store_object_t *object, uint64_t token)
{
    return object->lock.holder == call->peer && object->lock.token == token;
}

//  --------------------------------------------------------------------------
//  new lock, rlock, semaphore, event, condition, barrier

void
store_lock_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    store_object_t *object = store_object_new (store, call, ZMP_OBJECT_LOCK);
    if (object)
        store_reply_handle (store, call, object);
}

void
store_rlock_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    store_object_t *object = store_object_new (store, call, ZMP_OBJECT_RLOCK);
    if (object) {
        object->lock.reentrant = true;
        store_reply_handle (store, call, object);
    }
}

void
store_semaphore_new (zmp_store_t *store, store_call_t *call,
                     store_object_t *unused)
{
    (void) unused;
    uint64_t value;
    bool bounded;
    if (!store_param_uint (store, call, 0, INT32_MAX, &value)
        || !store_param_bool (store, call, 1, &bounded))
        return;
    store_object_t *object =
        store_object_new (store, call, ZMP_OBJECT_SEMAPHORE);
    if (object) {
        object->value = object->initial = value;
        object->bounded = bounded;
        store_reply_handle (store, call, object);
    }
}

void
store_event_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    store_object_t *object = store_object_new (store, call, ZMP_OBJECT_EVENT);
    if (object)
        store_reply_handle (store, call, object);
}

void
store_condition_new (zmp_store_t *store, store_call_t *call,
                     store_object_t *unused)
{
    (void) unused;
    store_object_t *object =
        store_object_new (store, call, ZMP_OBJECT_CONDITION);
    if (object) {
        object->lock.reentrant = true;  //  Python's default: an RLock
        store_reply_handle (store, call, object);
    }
}

void
store_barrier_new (zmp_store_t *store, store_call_t *call,
                   store_object_t *unused)
{
    (void) unused;
    uint64_t parties;
    if (!store_param_uint (store, call, 0, INT32_MAX, &parties))
        return;
    if (parties == 0) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "a barrier needs at least one party");
        return;
    }
    store_object_t *object = store_object_new (store, call, ZMP_OBJECT_BARRIER);
    if (object) {
        object->parties = (uint32_t) parties;
        store_reply_handle (store, call, object);
    }
}

//  --------------------------------------------------------------------------
//  Locks (and the locks of conditions, values and arrays)

void
store_lock_acquire (zmp_store_t *store, store_call_t *call,
                    store_object_t *object)
{
    uint64_t token;
    int64_t timeout_ms;
    if (!s_acquire_params (store, call, &token, &timeout_ms))
        return;
    store_lock_t *lock = &object->lock;
    if (!lock->holder) {
        bool owner_died = lock->owner_died;
        lock->owner_died = false;
        lock->holder = call->peer;
        lock->token = token;
        lock->depth = 1;
        store_held_add (call->peer, object->id, 1);
        store_reply_bool (store, call, owner_died);
    } else if (lock->reentrant && s_holds (call, object, token)) {
        lock->depth++;
        store_reply_bool (store, call, false);
    } else if (timeout_ms == 0)
        store_reply_error (store, call, ZMP_ERR_WAIT_TIMEOUT,
                           "the %s is held by another",
                           zmp_object_kind_name (object->kind));
    else {
        store_waiter_t *waiter =
            store_wait (store, call, object, WAIT_ACQUIRE, timeout_ms);
        if (waiter)
            waiter->token = token;
    }
}

void
store_lock_release (zmp_store_t *store, store_call_t *call,
                    store_object_t *object)
{
    uint64_t token;
    if (!store_param_uint (store, call, 0, UINT64_MAX, &token))
        return;
    store_lock_t *lock = &object->lock;
    if (!lock->holder) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "release of a %s that is not held",
                           zmp_object_kind_name (object->kind));
        return;
    }
    if (lock->reentrant && !s_holds (call, object, token)) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "release of a %s held by another thread",
                           zmp_object_kind_name (object->kind));
        return;
    }
    if (--lock->depth == 0) {
        store_held_take (lock->holder, object->id, 1);
        lock->holder = NULL;
    }
    store_reply_nil (store, call);
    s_lock_handoff (store, object);
}

//  --------------------------------------------------------------------------
//  Semaphores

//  Hand free units to waiters, in order.
static void
s_semaphore_wake (zmp_store_t *store, store_object_t *object)
{
    store_waiter_t *waiter;
    while (object->value > 0
           && (waiter = store_first_waiter (object, WAIT_ACQUIRE))) {
        object->value--;
        bool owner_died = object->owner_died;
        object->owner_died = false;
        store_held_add (waiter->peer, object->id, 1);
        store_waiter_bool (store, waiter, owner_died);
    }
}

void
store_semaphore_acquire (zmp_store_t *store, store_call_t *call,
                         store_object_t *object)
{
    uint64_t token;
    int64_t timeout_ms;
    if (!s_acquire_params (store, call, &token, &timeout_ms))
        return;
    if (object->value > 0) {
        object->value--;
        bool owner_died = object->owner_died;
        object->owner_died = false;
        store_held_add (call->peer, object->id, 1);
        store_reply_bool (store, call, owner_died);
    } else if (timeout_ms == 0)
        store_reply_error (store, call, ZMP_ERR_WAIT_TIMEOUT,
                           "the semaphore is at zero");
    else {
        store_waiter_t *waiter =
            store_wait (store, call, object, WAIT_ACQUIRE, timeout_ms);
        if (waiter)
            waiter->token = token;
    }
}

void
store_semaphore_release (zmp_store_t *store, store_call_t *call,
                         store_object_t *object)
{
    uint64_t units = 1;
    if (call->param_count > 0
        && !store_param_uint (store, call, 0, INT32_MAX, &units))
        return;
    if (object->bounded && object->value + units > object->initial) {
        store_reply_error (store, call, ZMP_ERR_RANGE,
                           "bounded semaphore released too many times "
                           "(its value is %llu of %llu)",
                           (unsigned long long) object->value,
                           (unsigned long long) object->initial);
        return;
    }
    object->value += units;
    store_held_take (call->peer, object->id, units);
    store_reply_nil (store, call);
    s_semaphore_wake (store, object);
}

//  --------------------------------------------------------------------------
//  Events

void
store_event_set (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    object->flag = true;
    store_reply_nil (store, call);
    store_waiter_t *waiter;
    while ((waiter = store_first_waiter (object, WAIT_EVENT)))
        store_waiter_raw (store, waiter, NULL, 0);
}

void
store_event_clear (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    object->flag = false;
    store_reply_nil (store, call);
}

void
store_event_is_set (zmp_store_t *store, store_call_t *call,
                    store_object_t *object)
{
    store_reply_bool (store, call, object->flag);
}

void
store_event_wait (zmp_store_t *store, store_call_t *call,
                  store_object_t *object)
{
    int64_t timeout_ms;
    if (!store_param_timeout (store, call, 0, &timeout_ms))
        return;
    if (object->flag)
        store_reply_nil (store, call);
    else if (timeout_ms == 0)
        store_reply_error (store, call, ZMP_ERR_WAIT_TIMEOUT,
                           "the event is not set");
    else
        store_wait (store, call, object, WAIT_EVENT, timeout_ms);
}

//  --------------------------------------------------------------------------
//  Conditions

void
store_condition_wait (zmp_store_t *store, store_call_t *call,
                      store_object_t *object)
{
    uint64_t token;
    int64_t timeout_ms;
    if (!s_acquire_params (store, call, &token, &timeout_ms))
        return;
    if (!s_holds (call, object, token)) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "wait on a condition whose lock this thread does "
                           "not hold");
        return;
    }
    store_waiter_t *waiter =
        store_wait (store, call, object, WAIT_NOTIFY, timeout_ms);
    if (!waiter)
        return;  //  Refused (and answered): the lock stays held
    waiter->token = token;
    waiter->count = object->lock.depth;
    object->lock.holder = NULL;
    object->lock.depth = 0;
    store_held_take (call->peer, object->id, 1);
    s_lock_handoff (store, object);
}

//  notify [token, count]: count 0 wakes every waiter
void
store_condition_notify (zmp_store_t *store, store_call_t *call,
                        store_object_t *object)
{
    uint64_t token, count;
    if (!store_param_uint (store, call, 0, UINT64_MAX, &token)
        || !store_param_uint (store, call, 1, UINT32_MAX, &count))
        return;
    if (!s_holds (call, object, token)) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "notify on a condition whose lock this thread "
                           "does not hold");
        return;
    }
    store_waiter_t *waiter;
    for (uint64_t woken = 0;
         (count == 0 || woken < count)
         && (waiter = store_first_waiter (object, WAIT_NOTIFY));
         woken++) {
        waiter->role = WAIT_REGAIN;
        waiter->notified = true;
        if (waiter->timed_handle) {
            zlistx_delete (store->timed, waiter->timed_handle);
            waiter->timed_handle = NULL;
        }
        //  It contends for the lock from now, behind those already waiting
        zlistx_move_end (object->waiters, waiter->object_handle);
    }
    store_reply_nil (store, call);
}

//  --------------------------------------------------------------------------
//  Barriers

//  Fail every waiter with kind broken
static void
s_barrier_fail (zmp_store_t *store, store_object_t *object, const char *why)
{
    store_waiter_t *waiter;
    while ((waiter = store_first_waiter (object, WAIT_BARRIER)))
        store_waiter_error (store, waiter, ZMP_ERR_BROKEN, "%s", why);
    object->arrived = 0;
}

void
store_barrier_break (zmp_store_t *store, store_object_t *object)
{
    object->broken = true;
    s_barrier_fail (store, object,
                    "the barrier broke: a party left while waiting");
}

void
store_barrier_wait (zmp_store_t *store, store_call_t *call,
                    store_object_t *object)
{
    int64_t timeout_ms;
    if (!store_param_timeout (store, call, 0, &timeout_ms))
        return;
    if (object->broken) {
        store_reply_error (store, call, ZMP_ERR_BROKEN,
                           "the barrier is broken");
        return;
    }
    uint32_t index = object->arrived++;
    if (object->arrived < object->parties) {
        store_waiter_t *waiter =
            store_wait (store, call, object, WAIT_BARRIER, timeout_ms);
        if (waiter)
            waiter->count = index;
        else
            object->arrived--;
        return;
    }
    //  The last party: everyone goes
    store_waiter_t *waiter;
    while ((waiter = store_first_waiter (object, WAIT_BARRIER)))
        s_answer_index (store, waiter);
    object->arrived = 0;
    store_reply_uint (store, call, index);
}

void
store_barrier_abort (zmp_store_t *store, store_call_t *call,
                     store_object_t *object)
{
    object->broken = true;
    s_barrier_fail (store, object, "the barrier was aborted");
    store_reply_nil (store, call);
}

void
store_barrier_reset (zmp_store_t *store, store_call_t *call,
                     store_object_t *object)
{
    s_barrier_fail (store, object, "the barrier was reset");
    object->broken = false;
    store_reply_nil (store, call);
}

//  state -> [parties, waiting, broken]
void
store_barrier_state (zmp_store_t *store, store_call_t *call,
                     store_object_t *object)
{
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_array (packer, 3);
    msgpack_pack_uint32 (packer, object->parties);
    msgpack_pack_uint32 (packer, object->arrived);
    if (object->broken)
        msgpack_pack_true (packer);
    else
        msgpack_pack_false (packer);
    store_reply_packed (store, call, &out);
}

//  --------------------------------------------------------------------------
//  A waiter's deadline passed.

void
store_sync_expire (zmp_store_t *store, store_waiter_t *waiter)
{
    store_object_t *object = waiter->object;
    switch (waiter->role) {
        case WAIT_ACQUIRE:
            store_waiter_error (store, waiter, ZMP_ERR_WAIT_TIMEOUT,
                                "timed out waiting for the %s",
                                zmp_object_kind_name (object->kind));
            break;
        case WAIT_EVENT:
            store_waiter_error (store, waiter, ZMP_ERR_WAIT_TIMEOUT,
                                "timed out waiting for the event");
            break;
        case WAIT_NOTIFY:
            //  Not notified: it still takes the lock back before it returns
            waiter->role = WAIT_REGAIN;
            waiter->notified = false;
            zlistx_move_end (object->waiters, waiter->object_handle);
            s_lock_handoff (store, object);
            break;
        case WAIT_BARRIER:
            object->broken = true;
            s_barrier_fail (store, object,
                            "the barrier broke: a wait timed out");
            break;
        default:
            assert (false);
    }
}

//  --------------------------------------------------------------------------
//  A holder died.

void
store_sync_owner_died (zmp_store_t *store, store_object_t *object,
                       store_peer_t *peer, uint64_t units)
{
    if (object->kind == ZMP_OBJECT_SEMAPHORE) {
        object->value += units;
        if (object->bounded && object->value > object->initial)
            object->value = object->initial;
        object->owner_died = true;
        s_semaphore_wake (store, object);
    } else if (object->lock.holder == peer) {
        object->lock.holder = NULL;
        object->lock.depth = 0;
        object->lock.owner_died = true;
        s_lock_handoff (store, object);
    }
}
