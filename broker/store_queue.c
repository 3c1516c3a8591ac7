/*  store_queue - queues and pipe ends

    Items are kept as the msgpack frames they came in (payload frames taken
    out of the request, never re-encoded) and go back out as they are. A
    put meets a waiting get directly, without touching the queue. A pipe is
    two end objects, each with an inbox that only it reads: a send goes to
    the other end's inbox, or straight to a reader waiting there.
*/
#include "store_internal.h"

#include "zmp_error.h"

static void
s_frame_free (void **item_p)
{
    zframe_destroy ((zframe_t **) item_p);
}

zlistx_t *
store_items_new (void)
{
    zlistx_t *items = zlistx_new ();
    zlistx_set_destructor (items, s_frame_free);
    return items;
}


//  --------------------------------------------------------------------------
//  Queues

void
store_queue_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    uint64_t maxsize;
    bool joinable;
    if (!store_param_uint (store, call, 0, INT64_MAX, &maxsize)
        || !store_param_bool (store, call, 1, &joinable))
        return;
    store_object_t *object = store_object_new (store, call, ZMP_OBJECT_QUEUE);
    if (object) {
        object->maxsize = maxsize;
        object->joinable = joinable;
        object->items = store_items_new ();
        store_journal_new (store, object);
        store_reply_handle (store, call, object);
    }
}

static bool
s_queue_room (store_object_t *object)
{
    return object->maxsize == 0
           || zlistx_size (object->items) < object->maxsize;
}

//  Add an item to the queue (takes it), or give it to a waiting get
static void
s_queue_push (zmp_store_t *store, store_object_t *object, zframe_t **item_p)
{
    if (object->joinable)
        object->unfinished++;
    store_waiter_t *getter = store_first_waiter (object, WAIT_GET);
    if (getter) {
        if (object->joinable)
            store_journal_op (store, object, "pass");
        store_waiter_frame (store, getter, item_p);
    } else {
        store_journal_item (store, object, "put", *item_p);
        store_bytes_add (store, object, zframe_size (*item_p));
        zlistx_add_end (object->items, *item_p);
        *item_p = NULL;
    }
}

//  put [timeout] + item
void
store_queue_put (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    int64_t timeout_ms;
    if (!store_param_timeout (store, call, 0, &timeout_ms))
        return;
    if (object->closed) {
        store_reply_error (store, call, ZMP_ERR_CLOSED, "the queue is closed");
        return;
    }
    zframe_t *frame = store_payload (store, call, 0);
    if (!frame || !store_bytes_fit (store, call, zframe_size (frame)))
        return;
    zmsg_remove (call->payloads, frame);
    if (s_queue_room (object)) {
        s_queue_push (store, object, &frame);
        store_reply_nil (store, call);
    } else if (timeout_ms == 0) {
        zframe_destroy (&frame);
        store_reply_error (store, call, ZMP_ERR_FULL,
                           "the queue is full (%llu items)",
                           (unsigned long long) object->maxsize);
    } else {
        //  The waiting item counts against the store's bytes already
        store_waiter_t *waiter =
            store_wait (store, call, object, WAIT_PUT, timeout_ms);
        if (waiter) {
            store_bytes_add (store, object, zframe_size (frame));
            waiter->item = frame;
        } else
            zframe_destroy (&frame);
    }
}

//  get [timeout]
void
store_queue_get (zmp_store_t *store, store_call_t *call, store_object_t *object)
{
    int64_t timeout_ms;
    if (!store_param_timeout (store, call, 0, &timeout_ms))
        return;
    zframe_t *frame = (zframe_t *) zlistx_first (object->items);
    if (frame) {
        zlistx_detach (object->items, NULL);
        store_journal_op (store, object, "take");
        store_bytes_sub (store, object, zframe_size (frame));
        store_reply_frame (store, call, frame);
        zframe_destroy (&frame);
        //  Room now: a waiting put goes in
        store_waiter_t *putter = store_first_waiter (object, WAIT_PUT);
        if (putter && s_queue_room (object)) {
            zframe_t *item = putter->item;
            putter->item = NULL;
            store_bytes_sub (store, object, zframe_size (item));
            s_queue_push (store, object, &item);
            store_waiter_raw (store, putter, NULL, 0);
        }
    } else if (object->closed)
        store_reply_error (store, call, ZMP_ERR_CLOSED,
                           "the queue is closed and empty");
    else if (timeout_ms == 0)
        store_reply_error (store, call, ZMP_ERR_EMPTY, "the queue is empty");
    else
        store_wait (store, call, object, WAIT_GET, timeout_ms);
}

void
store_queue_qsize (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    store_reply_uint (store, call, zlistx_size (object->items));
}

void
store_queue_close (zmp_store_t *store, store_call_t *call,
                   store_object_t *object)
{
    if (!object->closed)
        store_journal_op (store, object, "close");
    object->closed = true;
    store_waiter_t *waiter;
    while ((waiter = store_first_waiter (object, WAIT_GET)))
        store_waiter_error (store, waiter, ZMP_ERR_CLOSED,
                            "the queue was closed");
    while ((waiter = store_first_waiter (object, WAIT_PUT)))
        store_waiter_error (store, waiter, ZMP_ERR_CLOSED,
                            "the queue was closed");
    store_reply_nil (store, call);
}

void
store_queue_task_done (zmp_store_t *store, store_call_t *call,
                       store_object_t *object)
{
    if (!object->joinable) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "task_done is for joinable queues");
        return;
    }
    if (object->unfinished == 0) {
        store_reply_error (store, call, ZMP_ERR_RANGE,
                           "task_done called more times than items were put");
        return;
    }
    object->unfinished--;
    store_journal_op (store, object, "done");
    store_reply_nil (store, call);
    if (object->unfinished == 0) {
        store_waiter_t *waiter;
        while ((waiter = store_first_waiter (object, WAIT_JOIN)))
            store_waiter_raw (store, waiter, NULL, 0);
    }
}

void
store_queue_join (zmp_store_t *store, store_call_t *call,
                  store_object_t *object)
{
    int64_t timeout_ms;
    if (!store_param_timeout (store, call, 0, &timeout_ms))
        return;
    if (!object->joinable)
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "join is for joinable queues");
    else if (object->unfinished == 0)
        store_reply_nil (store, call);
    else if (timeout_ms == 0)
        store_reply_error (store, call, ZMP_ERR_WAIT_TIMEOUT,
                           "%llu items are not done",
                           (unsigned long long) object->unfinished);
    else
        store_wait (store, call, object, WAIT_JOIN, timeout_ms);
}

//  --------------------------------------------------------------------------
//  Pipes: two ends, each with an inbox

//  The other end, if it is still open
static store_object_t *
s_other_end (zmp_store_t *store, store_object_t *end)
{
    store_object_t *other = store_object_find (store, end->other_id);
    return other && !other->closed ? other : NULL;
}

//  The other end of end closed or went: its readers see end of file
static void
s_pipe_hangup (zmp_store_t *store, store_object_t *end)
{
    store_waiter_t *waiter;
    if (zlistx_size (end->items) == 0)
        while ((waiter = store_first_waiter (end, WAIT_RECV)))
            store_waiter_error (store, waiter, ZMP_ERR_CLOSED,
                                "end of file: the other end is closed");
    while ((waiter = store_first_waiter (end, WAIT_POLL)))
        store_waiter_bool (store, waiter, true);
}

static store_object_t *
s_pipe_end (zmp_store_t *store, store_call_t *call, bool can_send,
            bool can_recv)
{
    store_object_t *end = store_object_new (store, call, ZMP_OBJECT_PIPE);
    end->can_send = can_send;
    end->can_recv = can_recv;
    end->items = store_items_new ();
    return end;
}

//  new pipe [duplex] -> [end1, end2]
void
store_pipe_new (zmp_store_t *store, store_call_t *call, store_object_t *unused)
{
    (void) unused;
    bool duplex;
    if (!store_param_bool (store, call, 0, &duplex))
        return;
    //  Two ends: room for both, or neither is made
    if (!store_has_room (store, call, 2))
        return;
    //  Without duplex the first end only receives, the second only sends
    store_object_t *end1 = s_pipe_end (store, call, duplex, true);
    store_object_t *end2 = s_pipe_end (store, call, true, duplex);
    end1->other_id = end2->id;
    end2->other_id = end1->id;
    store_journal_new (store, end1);
    store_journal_new (store, end2);
    store_packer_t out;
    msgpack_packer *packer = store_packer_init (&out);
    msgpack_pack_array (packer, 2);
    zmp_handle_pack (packer, ZMP_OBJECT_PIPE, end1->id);
    zmp_handle_pack (packer, ZMP_OBJECT_PIPE, end2->id);
    store_reply_packed (store, call, &out);
}

//  send + item
void
store_pipe_send (zmp_store_t *store, store_call_t *call, store_object_t *end)
{
    if (end->closed) {
        store_reply_error (store, call, ZMP_ERR_CLOSED, "this end is closed");
        return;
    }
    if (!end->can_send) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "this end of a one-way pipe only receives");
        return;
    }
    store_object_t *other = s_other_end (store, end);
    if (!other) {
        store_reply_error (store, call, ZMP_ERR_BROKEN,
                           "the other end of the pipe is closed");
        return;
    }
    zframe_t *frame = store_payload (store, call, 0);
    if (!frame || !store_bytes_fit (store, call, zframe_size (frame)))
        return;
    zmsg_remove (call->payloads, frame);
    store_waiter_t *reader = store_first_waiter (other, WAIT_RECV);
    if (reader)
        store_waiter_frame (store, reader, &frame);
    else {
        store_journal_item (store, other, "put", frame);
        store_bytes_add (store, other, zframe_size (frame));
        zlistx_add_end (other->items, frame);
        store_waiter_t *poller;
        while ((poller = store_first_waiter (other, WAIT_POLL)))
            store_waiter_bool (store, poller, true);
    }
    store_reply_nil (store, call);
}

//  Common checks of recv and poll; false if call was answered
static bool
s_pipe_readable (zmp_store_t *store, store_call_t *call, store_object_t *end)
{
    if (end->closed) {
        store_reply_error (store, call, ZMP_ERR_CLOSED, "this end is closed");
        return false;
    }
    if (!end->can_recv) {
        store_reply_error (store, call, ZMP_ERR_USAGE,
                           "this end of a one-way pipe only sends");
        return false;
    }
    return true;
}

//  recv [timeout]
void
store_pipe_recv (zmp_store_t *store, store_call_t *call, store_object_t *end)
{
    int64_t timeout_ms;
    if (!store_param_timeout (store, call, 0, &timeout_ms)
        || !s_pipe_readable (store, call, end))
        return;
    zframe_t *frame = (zframe_t *) zlistx_detach (end->items, NULL);
    if (frame) {
        store_journal_op (store, end, "take");
        store_bytes_sub (store, end, zframe_size (frame));
        store_reply_frame (store, call, frame);
        zframe_destroy (&frame);
    } else if (!s_other_end (store, end))
        store_reply_error (store, call, ZMP_ERR_CLOSED,
                           "end of file: the other end is closed");
    else if (timeout_ms == 0)
        store_reply_error (store, call, ZMP_ERR_EMPTY, "nothing to receive");
    else
        store_wait (store, call, end, WAIT_RECV, timeout_ms);
}

//  poll [timeout] -> bool
void
store_pipe_poll (zmp_store_t *store, store_call_t *call, store_object_t *end)
{
    int64_t timeout_ms;
    if (!store_param_timeout (store, call, 0, &timeout_ms)
        || !s_pipe_readable (store, call, end))
        return;
    if (zlistx_size (end->items) || !s_other_end (store, end))
        store_reply_bool (store, call, true);
    else if (timeout_ms == 0)
        store_reply_bool (store, call, false);
    else
        store_wait (store, call, end, WAIT_POLL, timeout_ms);
}

//  Close an end: its own waiters fail, its inbox goes, the other end's
//  readers see end of file.
void
store_pipe_gone (zmp_store_t *store, store_object_t *end)
{
    if (end->closed)
        return;
    store_journal_op (store, end, "close");
    end->closed = true;
    store_waiter_t *waiter;
    while ((waiter = (store_waiter_t *) zlistx_first (end->waiters)))
        store_waiter_error (store, waiter, ZMP_ERR_CLOSED,
                            "this end was closed");
    zframe_t *frame;
    while ((frame = (zframe_t *) zlistx_detach (end->items, NULL))) {
        store_bytes_sub (store, end, zframe_size (frame));
        zframe_destroy (&frame);
    }
    store_object_t *other = s_other_end (store, end);
    if (other)
        s_pipe_hangup (store, other);
}

void
store_pipe_close (zmp_store_t *store, store_call_t *call, store_object_t *end)
{
    store_pipe_gone (store, end);
    store_reply_nil (store, call);
}

//  --------------------------------------------------------------------------
//  Deadlines

void
store_queue_expire (zmp_store_t *store, store_waiter_t *waiter)
{
    switch (waiter->role) {
        case WAIT_GET:
            store_waiter_error (store, waiter, ZMP_ERR_EMPTY,
                                "no item came in time");
            break;
        case WAIT_PUT:
            store_waiter_error (store, waiter, ZMP_ERR_FULL,
                                "the queue stayed full");
            break;
        case WAIT_JOIN:
            store_waiter_error (
                store, waiter, ZMP_ERR_WAIT_TIMEOUT, "%llu items are not done",
                (unsigned long long) waiter->object->unfinished);
            break;
        case WAIT_RECV:
            store_waiter_error (store, waiter, ZMP_ERR_EMPTY,
                                "nothing came in time");
            break;
        case WAIT_POLL:
            store_waiter_bool (store, waiter, false);
            break;
        default:
            assert (false);
    }
}
