/*  test_zmp_store - the broker's shared objects, driven verb by verb

    The store has no sockets: each test calls zmp_store_call as the broker
    does and collects the replies its callback receives, so every wait,
    timeout and owner death is checked exactly, with a clock the test
    moves by hand.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_store.h"

#include "zmp_error.h"
#include "zmp_handle.h"
#include "zmp_proto.h"
#include "zmp_value.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>


typedef struct {
    char peer[64];
    uint64_t request_id;
    zframe_t *body;
} reply_t;

typedef struct {
    zmp_store_t *store;
    zlistx_t *replies;  //  Owned reply_t *, in the order they came
    uint64_t next_request;
    int64_t now;     //  The clock the test moves
    char dir[64];    //  The state directory, or ""
    char path[128];  //  Its journal
} fixture_t;

//  How long a replayed object is held in the journal tests
#define HOLD_MS 5000

static void
s_reply_free (void **item_p)
{
    reply_t *reply = (reply_t *) *item_p;
    if (reply) {
        zframe_destroy (&reply->body);
        free (reply);
        *item_p = NULL;
    }
}

static void
s_on_reply (void *arg, const char *peer, uint64_t request_id, zframe_t **body_p)
{
    fixture_t *fixture = (fixture_t *) arg;
    reply_t *reply = (reply_t *) zmalloc (sizeof (reply_t));
    snprintf (reply->peer, sizeof reply->peer, "%s", peer);
    reply->request_id = request_id;
    reply->body = *body_p;
    *body_p = NULL;
    zlistx_add_end (fixture->replies, reply);
}

static int
s_setup_limits (void **state, size_t objects_max, uint64_t bytes_max)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    fixture->replies = zlistx_new ();
    zlistx_set_destructor (fixture->replies, s_reply_free);
    fixture->store =
        zmp_store_new (s_on_reply, fixture, objects_max, bytes_max);
    fixture->next_request = 1;
    fixture->now = 1000000;
    *state = fixture;
    return 0;
}

static int
s_setup (void **state)
{
    return s_setup_limits (state, 0, 0);
}

static int
s_setup_small (void **state)
{
    return s_setup_limits (state, 4, 64);
}

//  Open the state directory's journal on the fixture's (new) store
static int
s_journal_open (fixture_t *fixture, zmp_store_fsync_t fsync, zmp_error_t *error)
{
    return zmp_store_journal_open (fixture->store, fixture->dir, fsync, HOLD_MS,
                                   fixture->now, error);
}

static int
s_setup_journal (void **state)
{
    s_setup (state);
    fixture_t *fixture = (fixture_t *) *state;
    snprintf (fixture->dir, sizeof fixture->dir, "/tmp/zmp-journal-XXXXXX");
    assert_non_null (mkdtemp (fixture->dir));
    snprintf (fixture->path, sizeof fixture->path, "%s/journal", fixture->dir);
    zmp_error_t error;
    if (s_journal_open (fixture, ZMP_STORE_FSYNC_ALWAYS, &error))
        fail_msg ("%s", error.message);
    return 0;
}

//  The broker stops (what was synced stays) and a new one starts on the
//  same directory
static void
s_restart (fixture_t *fixture, zmp_store_fsync_t fsync)
{
    zmp_store_destroy (&fixture->store);
    zlistx_purge (fixture->replies);
    fixture->store = zmp_store_new (s_on_reply, fixture, 0, 0);
    zmp_error_t error;
    if (s_journal_open (fixture, fsync, &error))
        fail_msg ("%s", error.message);
}

static void
s_sync (fixture_t *fixture)
{
    zmp_error_t error;
    if (zmp_store_journal_sync (fixture->store, &error))
        fail_msg ("%s", error.message);
}

static off_t
s_file_size (const char *path)
{
    struct stat info;
    assert_int_equal (stat (path, &info), 0);
    return info.st_size;
}

static int
s_teardown (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zmp_store_destroy (&fixture->store);
    if (fixture->dir[0])
        assert_int_equal (zmp_store_state_dir_remove (fixture->dir), 0);
    zlistx_destroy (&fixture->replies);
    free (fixture);
    return 0;
}

//  Frame holding one packed value
static zframe_t *
s_pack (const msgpack_object *value)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *value);
    zframe_t *frame = zframe_new (buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return frame;
}

//  Run [verb, id, params...] + payloads from peer; returns the request id
static uint64_t
s_call (fixture_t *fixture, const char *peer, const char *verb, uint64_t id,
        const msgpack_object *params, uint32_t count,
        const msgpack_object *payloads, uint32_t payload_count)
{
    msgpack_object items[16];
    assert_true (count + 2 <= 16);
    items[0] = zmp_str (verb);
    items[1] = zmp_uint (id);
    for (uint32_t index = 0; index < count; index++)
        items[2 + index] = params[index];
    msgpack_object op_value = zmp_array (items, count + 2);
    zframe_t *op = s_pack (&op_value);
    zmsg_t *payload_msg = zmsg_new ();
    for (uint32_t index = 0; index < payload_count; index++) {
        zframe_t *frame = s_pack (&payloads[index]);
        zmsg_append (payload_msg, &frame);
    }
    uint64_t request_id = fixture->next_request++;
    zmp_store_call (fixture->store, peer, request_id, op, payload_msg,
                    fixture->now);
    zframe_destroy (&op);
    zmsg_destroy (&payload_msg);
    return request_id;
}

#define NONE NULL, 0
#define ARGS(...)                                                              \
    (msgpack_object[]){ __VA_ARGS__ },                                         \
        (uint32_t) (sizeof ((msgpack_object[]){ __VA_ARGS__ })                 \
                    / sizeof (msgpack_object))

//  True if the request has been answered (the reply stays)
static bool
s_answered (fixture_t *fixture, uint64_t request_id)
{
    for (reply_t *reply = (reply_t *) zlistx_first (fixture->replies); reply;
         reply = (reply_t *) zlistx_next (fixture->replies))
        if (reply->request_id == request_id)
            return true;
    return false;
}

//  Take the reply to request_id: its value, or NULL with its error. Fails
//  the test if there is none.
static zmp_value_t *
s_take (fixture_t *fixture, uint64_t request_id, zmp_error_t *error)
{
    for (reply_t *reply = (reply_t *) zlistx_first (fixture->replies); reply;
         reply = (reply_t *) zlistx_next (fixture->replies))
        if (reply->request_id == request_id) {
            zframe_t *body = reply->body;
            reply->body = NULL;
            zlistx_delete (fixture->replies, zlistx_cursor (fixture->replies));
            zmp_error_clear (error);
            return zmp_proto_decode_outcome (&body, error);
        }
    fail_msg ("request %llu was not answered", (unsigned long long) request_id);
    return NULL;
}

//  The request succeeded; returns its value (caller destroys)
static zmp_value_t *
s_ok (fixture_t *fixture, uint64_t request_id)
{
    zmp_error_t error;
    zmp_value_t *value = s_take (fixture, request_id, &error);
    if (!value)
        fail_msg ("request %llu failed: %s", (unsigned long long) request_id,
                  error.message);
    return value;
}

//  The request succeeded with nil
static void
s_ok_nil (fixture_t *fixture, uint64_t request_id)
{
    zmp_value_t *value = s_ok (fixture, request_id);
    assert_int_equal (zmp_value_get (value)->type, MSGPACK_OBJECT_NIL);
    zmp_value_destroy (&value);
}

static int64_t
s_ok_int (fixture_t *fixture, uint64_t request_id)
{
    zmp_value_t *value = s_ok (fixture, request_id);
    int64_t number = 0;
    assert_int_equal (zmp_int_get (zmp_value_get (value), &number), 0);
    zmp_value_destroy (&value);
    return number;
}

static bool
s_ok_bool (fixture_t *fixture, uint64_t request_id)
{
    zmp_value_t *value = s_ok (fixture, request_id);
    assert_int_equal (zmp_value_get (value)->type, MSGPACK_OBJECT_BOOLEAN);
    bool flag = zmp_value_get (value)->via.boolean;
    zmp_value_destroy (&value);
    return flag;
}

static void
s_ok_str (fixture_t *fixture, uint64_t request_id, const char *expected)
{
    zmp_value_t *value = s_ok (fixture, request_id);
    const msgpack_object *object = zmp_value_get (value);
    assert_int_equal (object->type, MSGPACK_OBJECT_STR);
    assert_int_equal (object->via.str.size, strlen (expected));
    assert_memory_equal (object->via.str.ptr, expected, strlen (expected));
    zmp_value_destroy (&value);
}

//  The request failed with kind
static void
s_fails (fixture_t *fixture, uint64_t request_id, zmp_error_kind_t kind)
{
    zmp_error_t error;
    zmp_value_t *value = s_take (fixture, request_id, &error);
    assert_null (value);
    if (error.kind != kind)
        fail_msg ("request %llu: expected %s, got %s: %s",
                  (unsigned long long) request_id, zmp_error_kind_name (kind),
                  zmp_error_kind_name (error.kind), error.message);
}

//  Make an object; returns its id
static uint64_t
s_new (fixture_t *fixture, const char *peer, const char *kind,
       const msgpack_object *params, uint32_t count)
{
    msgpack_object all[8];
    all[0] = zmp_str (kind);
    for (uint32_t index = 0; index < count; index++)
        all[1 + index] = params[index];
    uint64_t request =
        s_call (fixture, peer, "new", 0, all, count + 1, NULL, 0);
    zmp_value_t *value = s_ok (fixture, request);
    uint64_t id = 0;
    assert_true (zmp_handle_decode (zmp_value_get (value), NULL, &id));
    zmp_value_destroy (&value);
    return id;
}

static uint64_t
s_queue (fixture_t *fixture, uint64_t maxsize, bool joinable)
{
    return s_new (fixture, "A", "queue",
                  ARGS (zmp_uint (maxsize), zmp_bool (joinable)));
}

static uint64_t
s_put (fixture_t *fixture, const char *peer, uint64_t queue, int64_t item,
       int timeout_ms)
{
    msgpack_object payload = zmp_int (item);
    return s_call (fixture, peer, "put", queue, ARGS (zmp_int (timeout_ms)),
                   &payload, 1);
}

static uint64_t
s_get (fixture_t *fixture, const char *peer, uint64_t queue, int timeout_ms)
{
    return s_call (fixture, peer, "get", queue, ARGS (zmp_int (timeout_ms)),
                   NONE);
}

//  Move the clock and expire what is due
static void
s_advance (fixture_t *fixture, int64_t ms)
{
    fixture->now += ms;
    zmp_store_expire (fixture->store, fixture->now);
}

//  --------------------------------------------------------------------------
//  Queues

static void
test_store_queue_is_first_in_first_out (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    for (int item = 1; item <= 3; item++)
        s_ok_nil (f, s_put (f, "A", queue, item, -1));
    assert_int_equal (s_ok_int (f, s_call (f, "A", "qsize", queue, NONE, NONE)),
                      3);
    for (int item = 1; item <= 3; item++)
        assert_int_equal (s_ok_int (f, s_get (f, "B", queue, 0)), item);
    s_fails (f, s_get (f, "B", queue, 0), ZMP_ERR_EMPTY);
}

static void
test_store_queue_get_waits_for_a_put (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    uint64_t first = s_get (f, "B", queue, -1);
    uint64_t second = s_get (f, "C", queue, 500);
    assert_false (s_answered (f, first));
    assert_int_equal (zmp_store_waiting (f->store), 2);
    s_ok_nil (f, s_put (f, "A", queue, 42, -1));
    //  The first to wait gets the first item
    assert_int_equal (s_ok_int (f, first), 42);
    assert_false (s_answered (f, second));
    assert_int_equal (zmp_store_next_deadline (f->store), f->now + 500);
    s_advance (f, 499);
    assert_false (s_answered (f, second));
    s_advance (f, 1);
    s_fails (f, second, ZMP_ERR_EMPTY);
    assert_int_equal (zmp_store_waiting (f->store), 0);
    assert_int_equal (zmp_store_next_deadline (f->store), -1);
}

static void
test_store_bounded_queue_put_waits_for_room (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 2, false);
    s_ok_nil (f, s_put (f, "A", queue, 1, 0));
    s_ok_nil (f, s_put (f, "A", queue, 2, 0));
    s_fails (f, s_put (f, "A", queue, 3, 0), ZMP_ERR_FULL);
    uint64_t blocked = s_put (f, "A", queue, 3, -1);
    uint64_t timed = s_put (f, "A", queue, 4, 100);
    assert_false (s_answered (f, blocked));
    assert_int_equal (s_ok_int (f, s_get (f, "B", queue, 0)), 1);
    s_ok_nil (f, blocked);  //  In behind 2
    assert_false (s_answered (f, timed));
    s_advance (f, 100);
    s_fails (f, timed, ZMP_ERR_FULL);
    assert_int_equal (s_ok_int (f, s_get (f, "B", queue, 0)), 2);
    assert_int_equal (s_ok_int (f, s_get (f, "B", queue, 0)), 3);
    s_fails (f, s_get (f, "B", queue, 0), ZMP_ERR_EMPTY);
}

static void
test_store_closed_queue_drains_then_says_closed (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    uint64_t waiting = s_get (f, "B", queue, -1);
    s_ok_nil (f, s_call (f, "A", "close", queue, NONE, NONE));
    s_fails (f, waiting, ZMP_ERR_CLOSED);
    s_fails (f, s_put (f, "A", queue, 1, -1), ZMP_ERR_CLOSED);

    uint64_t other = s_queue (f, 0, false);
    s_ok_nil (f, s_put (f, "A", other, 7, -1));
    s_ok_nil (f, s_call (f, "A", "close", other, NONE, NONE));
    assert_int_equal (s_ok_int (f, s_get (f, "B", other, -1)), 7);
    s_fails (f, s_get (f, "B", other, -1), ZMP_ERR_CLOSED);
}

static void
test_store_joinable_queue_counts_unfinished_items (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, true);
    s_ok_nil (f, s_call (f, "A", "join", queue, ARGS (zmp_int (0)), NONE));
    s_ok_nil (f, s_put (f, "A", queue, 1, -1));
    s_ok_nil (f, s_put (f, "A", queue, 2, -1));
    uint64_t join = s_call (f, "A", "join", queue, ARGS (zmp_int (-1)), NONE);
    s_fails (f, s_call (f, "C", "join", queue, ARGS (zmp_int (0)), NONE),
             ZMP_ERR_WAIT_TIMEOUT);
    s_ok_int (f, s_get (f, "B", queue, 0));
    s_ok_int (f, s_get (f, "B", queue, 0));
    s_ok_nil (f, s_call (f, "B", "task_done", queue, NONE, NONE));
    assert_false (s_answered (f, join));
    s_ok_nil (f, s_call (f, "B", "task_done", queue, NONE, NONE));
    s_ok_nil (f, join);
    s_fails (f, s_call (f, "B", "task_done", queue, NONE, NONE), ZMP_ERR_RANGE);
    uint64_t plain = s_queue (f, 0, false);
    s_fails (f, s_call (f, "B", "task_done", plain, NONE, NONE), ZMP_ERR_USAGE);
}

//  --------------------------------------------------------------------------
//  Pipes

//  Make a pipe; its two end ids
static void
s_pipe (fixture_t *f, bool duplex, uint64_t *end1, uint64_t *end2)
{
    msgpack_object params[2] = { zmp_str ("pipe"), zmp_bool (duplex) };
    zmp_value_t *value = s_ok (f, s_call (f, "A", "new", 0, params, 2, NONE));
    const msgpack_object *ends = zmp_value_get (value);
    assert_int_equal (ends->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (ends->via.array.size, 2);
    zmp_object_kind_t kind;
    assert_true (zmp_handle_decode (&ends->via.array.ptr[0], &kind, end1));
    assert_int_equal (kind, ZMP_OBJECT_PIPE);
    assert_true (zmp_handle_decode (&ends->via.array.ptr[1], &kind, end2));
    zmp_value_destroy (&value);
}

static uint64_t
s_send (fixture_t *f, const char *peer, uint64_t end, const char *text)
{
    msgpack_object payload = zmp_str (text);
    return s_call (f, peer, "send", end, NONE, &payload, 1);
}

static uint64_t
s_recv (fixture_t *f, const char *peer, uint64_t end, int timeout_ms)
{
    return s_call (f, peer, "recv", end, ARGS (zmp_int (timeout_ms)), NONE);
}

static void
test_store_pipe_carries_both_ways (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t c1, c2;
    s_pipe (f, true, &c1, &c2);
    s_ok_nil (f, s_send (f, "A", c1, "abc"));
    s_ok_str (f, s_recv (f, "B", c2, 0), "abc");
    uint64_t waiting = s_recv (f, "A", c1, -1);
    assert_false (s_answered (f, waiting));
    s_ok_nil (f, s_send (f, "B", c2, "xyz"));
    s_ok_str (f, waiting, "xyz");
    s_fails (f, s_recv (f, "A", c1, 0), ZMP_ERR_EMPTY);
}

static void
test_store_pipe_close_gives_end_of_file_after_the_items (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t parent, child;
    s_pipe (f, true, &parent, &child);
    s_ok_nil (f, s_send (f, "B", child, "one"));
    s_ok_nil (f, s_send (f, "B", child, "two"));
    s_ok_nil (f, s_call (f, "B", "close", child, NONE, NONE));
    assert_true (s_ok_bool (
        f, s_call (f, "A", "poll", parent, ARGS (zmp_int (0)), NONE)));
    s_ok_str (f, s_recv (f, "A", parent, -1), "one");
    s_ok_str (f, s_recv (f, "A", parent, -1), "two");
    s_fails (f, s_recv (f, "A", parent, -1), ZMP_ERR_CLOSED);
    //  End of file still reads as "recv would not block"
    assert_true (s_ok_bool (
        f, s_call (f, "A", "poll", parent, ARGS (zmp_int (0)), NONE)));
    s_fails (f, s_send (f, "A", parent, "late"), ZMP_ERR_BROKEN);
    s_fails (f, s_send (f, "B", child, "after close"), ZMP_ERR_CLOSED);

    //  A reader already waiting sees end of file when the other end closes
    uint64_t a, b;
    s_pipe (f, true, &a, &b);
    uint64_t waiting = s_recv (f, "A", a, -1);
    s_ok_nil (f, s_call (f, "B", "close", b, NONE, NONE));
    s_fails (f, waiting, ZMP_ERR_CLOSED);
}

static void
test_store_one_way_pipe_refuses_the_other_way (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t reader, writer;
    s_pipe (f, false, &reader, &writer);
    s_fails (f, s_send (f, "A", reader, "no"), ZMP_ERR_USAGE);
    s_fails (f, s_recv (f, "A", writer, 0), ZMP_ERR_USAGE);
    s_ok_nil (f, s_send (f, "A", writer, "yes"));
    s_ok_str (f, s_recv (f, "A", reader, 0), "yes");
}

static void
test_store_pipe_poll_waits (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t a, b;
    s_pipe (f, true, &a, &b);
    assert_false (
        s_ok_bool (f, s_call (f, "A", "poll", a, ARGS (zmp_int (0)), NONE)));
    uint64_t timed = s_call (f, "A", "poll", a, ARGS (zmp_int (50)), NONE);
    s_advance (f, 50);
    assert_false (s_ok_bool (f, timed));
    uint64_t waiting = s_call (f, "A", "poll", a, ARGS (zmp_int (-1)), NONE);
    s_ok_nil (f, s_send (f, "B", b, "ping"));
    assert_true (s_ok_bool (f, waiting));
}

//  --------------------------------------------------------------------------
//  Locks

static uint64_t
s_acquire (fixture_t *f, const char *peer, uint64_t lock, uint64_t token,
           int timeout_ms)
{
    return s_call (f, peer, "acquire", lock,
                   ARGS (zmp_uint (token), zmp_int (timeout_ms)), NONE);
}

static uint64_t
s_release (fixture_t *f, const char *peer, uint64_t lock, uint64_t token)
{
    return s_call (f, peer, "release", lock, ARGS (zmp_uint (token)), NONE);
}

static void
test_store_lock_is_handed_on_in_order (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t lock = s_new (f, "A", "lock", NONE);
    assert_false (s_ok_bool (f, s_acquire (f, "A", lock, 1, -1)));
    s_fails (f, s_acquire (f, "B", lock, 1, 0), ZMP_ERR_WAIT_TIMEOUT);
    uint64_t second = s_acquire (f, "B", lock, 1, -1);
    uint64_t third = s_acquire (f, "C", lock, 1, -1);
    uint64_t timed = s_acquire (f, "D", lock, 1, 10);
    s_advance (f, 10);
    s_fails (f, timed, ZMP_ERR_WAIT_TIMEOUT);
    assert_false (s_answered (f, second));
    //  A plain lock may be released by anyone, as in Python
    s_ok_nil (f, s_release (f, "C", lock, 9));
    assert_false (s_ok_bool (f, second));
    assert_false (s_answered (f, third));
    s_ok_nil (f, s_release (f, "B", lock, 1));
    assert_false (s_ok_bool (f, third));
    s_ok_nil (f, s_release (f, "C", lock, 1));
    s_fails (f, s_release (f, "C", lock, 1), ZMP_ERR_USAGE);
}

static void
test_store_rlock_counts_depth_per_thread (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t rlock = s_new (f, "A", "rlock", NONE);
    s_ok_bool (f, s_acquire (f, "A", rlock, 7, -1));
    s_ok_bool (f, s_acquire (f, "A", rlock, 7, 0));
    //  Another thread of the same process is another owner
    s_fails (f, s_acquire (f, "A", rlock, 8, 0), ZMP_ERR_WAIT_TIMEOUT);
    s_fails (f, s_release (f, "A", rlock, 8), ZMP_ERR_USAGE);
    uint64_t other = s_acquire (f, "B", rlock, 7, -1);
    s_ok_nil (f, s_release (f, "A", rlock, 7));
    assert_false (s_answered (f, other));
    s_ok_nil (f, s_release (f, "A", rlock, 7));
    assert_false (s_ok_bool (f, other));
}

static void
test_store_lock_owner_death_is_told (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t lock = s_new (f, "A", "lock", NONE);
    assert_false (s_ok_bool (f, s_acquire (f, "B", lock, 1, -1)));
    uint64_t waiting = s_acquire (f, "C", lock, 1, -1);
    zmp_store_peer_gone (f->store, "B", true);
    assert_true (s_ok_bool (f, waiting));  //  Held, and told
    s_ok_nil (f, s_release (f, "C", lock, 1));
    assert_false (s_ok_bool (f, s_acquire (f, "C", lock, 1, 0)));

    //  With nobody waiting, the next acquirer is told
    zmp_store_peer_gone (f->store, "C", true);
    assert_true (s_ok_bool (f, s_acquire (f, "D", lock, 1, 0)));
    s_ok_nil (f, s_release (f, "D", lock, 1));
    assert_false (s_ok_bool (f, s_acquire (f, "D", lock, 1, 0)));
}

static void
test_store_semaphore_counts_and_bounds (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t semaphore =
        s_new (f, "A", "semaphore", ARGS (zmp_uint (2), zmp_bool (true)));
    s_ok_bool (f, s_acquire (f, "A", semaphore, 1, 0));
    s_ok_bool (f, s_acquire (f, "B", semaphore, 1, 0));
    s_fails (f, s_acquire (f, "C", semaphore, 1, 0), ZMP_ERR_WAIT_TIMEOUT);
    uint64_t waiting = s_acquire (f, "C", semaphore, 1, -1);
    s_ok_nil (f, s_release (f, "A", semaphore, 1));
    assert_false (s_ok_bool (f, waiting));
    s_ok_nil (f, s_release (f, "B", semaphore, 1));
    s_ok_nil (f, s_release (f, "C", semaphore, 1));
    s_fails (f, s_release (f, "C", semaphore, 1), ZMP_ERR_RANGE);

    //  A holder's death gives its units back, and the next one is told
    s_ok_bool (f, s_acquire (f, "D", semaphore, 1, 0));
    s_ok_bool (f, s_acquire (f, "D", semaphore, 1, 0));
    uint64_t blocked = s_acquire (f, "E", semaphore, 1, -1);
    zmp_store_peer_gone (f->store, "D", true);
    assert_true (s_ok_bool (f, blocked));
}

static void
test_store_event_wakes_every_waiter (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t event = s_new (f, "A", "event", NONE);
    assert_false (s_ok_bool (f, s_call (f, "A", "is_set", event, NONE, NONE)));
    uint64_t one = s_call (f, "B", "wait", event, ARGS (zmp_int (-1)), NONE);
    uint64_t two = s_call (f, "C", "wait", event, ARGS (zmp_int (-1)), NONE);
    uint64_t timed = s_call (f, "D", "wait", event, ARGS (zmp_int (5)), NONE);
    s_advance (f, 5);
    s_fails (f, timed, ZMP_ERR_WAIT_TIMEOUT);
    s_ok_nil (f, s_call (f, "A", "set", event, NONE, NONE));
    s_ok_nil (f, one);
    s_ok_nil (f, two);
    s_ok_nil (f, s_call (f, "B", "wait", event, ARGS (zmp_int (0)), NONE));
    s_ok_nil (f, s_call (f, "A", "clear", event, NONE, NONE));
    s_fails (f, s_call (f, "B", "wait", event, ARGS (zmp_int (0)), NONE),
             ZMP_ERR_WAIT_TIMEOUT);
}

//  The [notified, owner_died] of a condition wait
static void
s_ok_wait (fixture_t *f, uint64_t request, bool notified)
{
    zmp_value_t *value = s_ok (f, request);
    const msgpack_object *pair = zmp_value_get (value);
    assert_int_equal (pair->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (pair->via.array.size, 2);
    assert_int_equal (pair->via.array.ptr[0].via.boolean, notified);
    zmp_value_destroy (&value);
}

static void
test_store_condition_wait_returns_holding_the_lock (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t condition = s_new (f, "A", "condition", NONE);
    s_fails (f,
             s_call (f, "B", "wait", condition,
                     ARGS (zmp_uint (1), zmp_int (-1)), NONE),
             ZMP_ERR_USAGE);
    s_ok_bool (f, s_acquire (f, "B", condition, 1, -1));
    uint64_t wait = s_call (f, "B", "wait", condition,
                            ARGS (zmp_uint (1), zmp_int (-1)), NONE);
    //  The wait gave the lock up
    s_ok_bool (f, s_acquire (f, "C", condition, 1, 0));
    s_fails (f,
             s_call (f, "D", "notify", condition,
                     ARGS (zmp_uint (1), zmp_uint (1)), NONE),
             ZMP_ERR_USAGE);
    s_ok_nil (f, s_call (f, "C", "notify", condition,
                         ARGS (zmp_uint (1), zmp_uint (1)), NONE));
    assert_false (s_answered (f, wait));  //  Notified, but C holds the lock
    s_ok_nil (f, s_release (f, "C", condition, 1));
    s_ok_wait (f, wait, true);
    s_fails (f, s_acquire (f, "C", condition, 1, 0), ZMP_ERR_WAIT_TIMEOUT);
    s_ok_nil (f, s_release (f, "B", condition, 1));

    //  A timed-out wait also takes the lock back before it returns
    s_ok_bool (f, s_acquire (f, "B", condition, 1, -1));
    uint64_t timed = s_call (f, "B", "wait", condition,
                             ARGS (zmp_uint (1), zmp_int (20)), NONE);
    s_ok_bool (f, s_acquire (f, "C", condition, 1, 0));
    s_advance (f, 20);
    assert_false (s_answered (f, timed));
    s_ok_nil (f, s_release (f, "C", condition, 1));
    s_ok_wait (f, timed, false);
}

static void
test_store_condition_notify_all_wakes_everyone (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t condition = s_new (f, "A", "condition", NONE);
    uint64_t waits[3];
    for (int index = 0; index < 3; index++) {
        char peer[8];
        snprintf (peer, sizeof peer, "W%d", index);
        s_ok_bool (f, s_acquire (f, peer, condition, 1, -1));
        waits[index] = s_call (f, peer, "wait", condition,
                               ARGS (zmp_uint (1), zmp_int (-1)), NONE);
    }
    s_ok_bool (f, s_acquire (f, "N", condition, 1, -1));
    s_ok_nil (f, s_call (f, "N", "notify", condition,
                         ARGS (zmp_uint (1), zmp_uint (0)), NONE));
    s_ok_nil (f, s_release (f, "N", condition, 1));
    //  One at a time: each returns holding the lock
    for (int index = 0; index < 3; index++) {
        char peer[8];
        snprintf (peer, sizeof peer, "W%d", index);
        s_ok_wait (f, waits[index], true);
        for (int later = index + 1; later < 3; later++)
            assert_false (s_answered (f, waits[later]));
        s_ok_nil (f, s_release (f, peer, condition, 1));
    }
}

static void
test_store_barrier_lets_parties_through_together (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t barrier = s_new (f, "A", "barrier", ARGS (zmp_uint (3)));
    uint64_t first =
        s_call (f, "A", "wait", barrier, ARGS (zmp_int (-1)), NONE);
    uint64_t second =
        s_call (f, "B", "wait", barrier, ARGS (zmp_int (-1)), NONE);
    assert_false (s_answered (f, first));
    assert_int_equal (s_ok_int (f, s_call (f, "C", "wait", barrier,
                                           ARGS (zmp_int (-1)), NONE)),
                      2);
    assert_int_equal (s_ok_int (f, first), 0);
    assert_int_equal (s_ok_int (f, second), 1);

    //  A timeout breaks it for everyone
    uint64_t patient =
        s_call (f, "A", "wait", barrier, ARGS (zmp_int (-1)), NONE);
    uint64_t hasty =
        s_call (f, "B", "wait", barrier, ARGS (zmp_int (10)), NONE);
    s_advance (f, 10);
    s_fails (f, hasty, ZMP_ERR_BROKEN);
    s_fails (f, patient, ZMP_ERR_BROKEN);
    s_fails (f, s_call (f, "C", "wait", barrier, ARGS (zmp_int (-1)), NONE),
             ZMP_ERR_BROKEN);
    s_ok_nil (f, s_call (f, "A", "reset", barrier, NONE, NONE));
    zmp_value_t *value =
        s_ok (f, s_call (f, "A", "state", barrier, NONE, NONE));
    const msgpack_object *state_of = zmp_value_get (value);
    assert_int_equal (state_of->via.array.ptr[0].via.u64, 3);
    assert_int_equal (state_of->via.array.ptr[1].via.u64, 0);
    assert_false (state_of->via.array.ptr[2].via.boolean);
    zmp_value_destroy (&value);

    //  A party that dies while waiting breaks it too
    uint64_t left = s_call (f, "A", "wait", barrier, ARGS (zmp_int (-1)), NONE);
    s_call (f, "Z", "wait", barrier, ARGS (zmp_int (-1)), NONE);
    zmp_store_peer_gone (f->store, "Z", true);
    s_fails (f, left, ZMP_ERR_BROKEN);
    s_ok_nil (f, s_call (f, "A", "abort", barrier, NONE, NONE));
    s_fails (f, s_call (f, "A", "wait", barrier, ARGS (zmp_int (-1)), NONE),
             ZMP_ERR_BROKEN);
}

//  --------------------------------------------------------------------------
//  Values and arrays

static void
test_store_value_follows_its_typecode (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t byte =
        s_new (f, "A", "value", ARGS (zmp_str ("b"), zmp_int (127)));
    assert_int_equal (
        s_ok_int (f, s_call (f, "A", "add", byte, ARGS (zmp_int (1)), NONE)),
        -128);
    s_fails (f, s_call (f, "A", "set", byte, ARGS (zmp_double (1.5)), NONE),
             ZMP_ERR_BAD_ARGUMENTS);
    uint64_t unsigned_int =
        s_new (f, "A", "value", ARGS (zmp_str ("I"), zmp_int (-1)));
    assert_int_equal (
        s_ok_int (f, s_call (f, "A", "get", unsigned_int, NONE, NONE)),
        4294967295ll);
    uint64_t real =
        s_new (f, "A", "value", ARGS (zmp_str ("d"), zmp_double (0.0)));
    s_ok_nil (
        f, s_call (f, "A", "set", real, ARGS (zmp_double (3.1415927)), NONE));
    zmp_value_t *value = s_ok (f, s_call (f, "B", "get", real, NONE, NONE));
    assert_true (zmp_value_get (value)->via.f64 == 3.1415927);
    zmp_value_destroy (&value);
    //  The value's own lock
    s_ok_bool (f, s_acquire (f, "A", real, 1, -1));
    s_fails (f, s_acquire (f, "B", real, 1, 0), ZMP_ERR_WAIT_TIMEOUT);
    s_ok_nil (f, s_release (f, "A", real, 1));

    uint64_t bad_request =
        s_call (f, "A", "new", 0,
                ARGS (zmp_str ("value"), zmp_str ("x"), zmp_int (0)), NONE);
    s_fails (f, bad_request, ZMP_ERR_USAGE);
}

static void
test_store_array_negates_like_the_seed (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    msgpack_object items[10];
    for (int index = 0; index < 10; index++)
        items[index] = zmp_int (index);
    uint64_t array =
        s_new (f, "A", "array", ARGS (zmp_str ("i"), zmp_array (items, 10)));
    int64_t size = s_ok_int (f, s_call (f, "B", "len", array, NONE, NONE));
    assert_int_equal (size, 10);
    for (int64_t index = 0; index < size; index++) {
        int64_t item = s_ok_int (
            f, s_call (f, "B", "get", array, ARGS (zmp_int (index)), NONE));
        s_ok_nil (f, s_call (f, "B", "set", array,
                             ARGS (zmp_int (index), zmp_int (-item)), NONE));
    }
    zmp_value_t *value =
        s_ok (f, s_call (f, "A", "slice", array,
                         ARGS (zmp_int (0), zmp_int (ZMP_SLICE_END)), NONE));
    const msgpack_object *all = zmp_value_get (value);
    assert_int_equal (all->via.array.size, 10);
    for (int index = 0; index < 10; index++)
        assert_int_equal (all->via.array.ptr[index].via.i64, -index);
    zmp_value_destroy (&value);
    assert_int_equal (
        s_ok_int (f, s_call (f, "A", "get", array, ARGS (zmp_int (-1)), NONE)),
        -9);
    s_fails (f, s_call (f, "A", "get", array, ARGS (zmp_int (10)), NONE),
             ZMP_ERR_RANGE);
    s_fails (f,
             s_call (f, "A", "set_slice", array,
                     ARGS (zmp_int (0), zmp_int (2), zmp_array (items, 3)),
                     NONE),
             ZMP_ERR_RANGE);
    s_ok_nil (f, s_call (f, "A", "set_slice", array,
                         ARGS (zmp_int (-2), zmp_int (ZMP_SLICE_END),
                               zmp_array (items, 2)),
                         NONE));
    assert_int_equal (
        s_ok_int (f, s_call (f, "A", "get", array, ARGS (zmp_int (9)), NONE)),
        1);
    uint64_t zeros =
        s_new (f, "A", "array", ARGS (zmp_str ("d"), zmp_uint (4)));
    assert_int_equal (s_ok_int (f, s_call (f, "A", "len", zeros, NONE, NONE)),
                      4);
}

//  --------------------------------------------------------------------------
//  Dicts and lists

static uint64_t
s_dict_set (fixture_t *f, uint64_t dict, msgpack_object key,
            msgpack_object value)
{
    msgpack_object payloads[2] = { key, value };
    return s_call (f, "B", "set", dict, NONE, payloads, 2);
}

static uint64_t
s_dict_op (fixture_t *f, const char *verb, uint64_t dict, msgpack_object key)
{
    return s_call (f, "B", verb, dict, NONE, &key, 1);
}

static void
test_store_dict_keeps_keys_in_insertion_order (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t dict = s_new (f, "A", "dict", NONE);
    //  The seed: d[1] = '1'; d['2'] = 2; d[0.25] = None
    s_ok_nil (f, s_dict_set (f, dict, zmp_int (1), zmp_str ("1")));
    s_ok_nil (f, s_dict_set (f, dict, zmp_str ("2"), zmp_int (2)));
    s_ok_nil (f, s_dict_set (f, dict, zmp_double (0.25), zmp_nil ()));
    s_ok_nil (f, s_dict_set (f, dict, zmp_int (1), zmp_str ("one")));
    assert_int_equal (s_ok_int (f, s_call (f, "A", "len", dict, NONE, NONE)),
                      3);
    s_ok_str (f, s_dict_op (f, "get", dict, zmp_int (1)), "one");
    assert_true (s_ok_bool (f, s_dict_op (f, "contains", dict, zmp_str ("2"))));
    assert_false (s_ok_bool (f, s_dict_op (f, "contains", dict, zmp_int (2))));
    s_fails (f, s_dict_op (f, "get", dict, zmp_int (2)), ZMP_ERR_NOT_FOUND);
    zmp_value_t *value = s_ok (f, s_call (f, "A", "items", dict, NONE, NONE));
    const msgpack_object *map = zmp_value_get (value);
    assert_int_equal (map->type, MSGPACK_OBJECT_MAP);
    assert_int_equal (map->via.map.size, 3);
    assert_int_equal (map->via.map.ptr[0].key.via.i64, 1);
    assert_true (zmp_str_is (&map->via.map.ptr[1].key, "2"));
    assert_true (map->via.map.ptr[2].key.via.f64 == 0.25);
    assert_int_equal (map->via.map.ptr[2].val.type, MSGPACK_OBJECT_NIL);
    zmp_value_destroy (&value);
    assert_int_equal (s_ok_int (f, s_dict_op (f, "pop", dict, zmp_str ("2"))),
                      2);
    s_ok_nil (f, s_dict_op (f, "delete", dict, zmp_int (1)));
    s_fails (f, s_dict_op (f, "delete", dict, zmp_int (1)), ZMP_ERR_NOT_FOUND);
    value = s_ok (f, s_call (f, "A", "keys", dict, NONE, NONE));
    assert_int_equal (zmp_value_get (value)->via.array.size, 1);
    zmp_value_destroy (&value);
    s_ok_nil (f, s_call (f, "A", "clear", dict, NONE, NONE));
    assert_int_equal (s_ok_int (f, s_call (f, "A", "len", dict, NONE, NONE)),
                      0);
    assert_int_equal (zmp_store_bytes (f->store), 0);
}

//  The list's items as integers
static void
s_assert_list (fixture_t *f, uint64_t list, const int64_t *expected,
               size_t count)
{
    zmp_value_t *value =
        s_ok (f, s_call (f, "A", "slice", list,
                         ARGS (zmp_int (0), zmp_int (ZMP_SLICE_END)), NONE));
    const msgpack_object *items = zmp_value_get (value);
    assert_int_equal (items->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (items->via.array.size, count);
    for (size_t index = 0; index < count; index++)
        assert_int_equal (items->via.array.ptr[index].via.i64, expected[index]);
    zmp_value_destroy (&value);
}

static void
test_store_list_does_what_the_seeds_do (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    msgpack_object range[10];
    for (int index = 0; index < 10; index++)
        range[index] = zmp_int (index);
    msgpack_object init = zmp_array (range, 10);
    uint64_t request =
        s_call (f, "A", "new", 0, ARGS (zmp_str ("list")), &init, 1);
    zmp_value_t *handle = s_ok (f, request);
    uint64_t list;
    assert_true (zmp_handle_decode (zmp_value_get (handle), NULL, &list));
    zmp_value_destroy (&handle);
    s_ok_nil (f, s_call (f, "B", "reverse", list, NONE, NONE));
    int64_t reversed[10] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0 };
    s_assert_list (f, list, reversed, 10);
    msgpack_object item = zmp_int (100);
    s_ok_nil (f, s_call (f, "B", "append", list, NONE, &item, 1));
    assert_int_equal (
        s_ok_int (f, s_call (f, "B", "get", list, ARGS (zmp_int (-1)), NONE)),
        100);
    s_ok_nil (f,
              s_call (f, "B", "insert", list, ARGS (zmp_int (-100)), &item, 1));
    assert_int_equal (
        s_ok_int (f, s_call (f, "B", "pop", list, ARGS (zmp_int (0)), NONE)),
        100);
    assert_int_equal (s_ok_int (f, s_call (f, "B", "pop", list, NONE, NONE)),
                      100);
    item = zmp_int (-5);
    s_ok_nil (f, s_call (f, "B", "set", list, ARGS (zmp_int (4)), &item, 1));
    s_ok_nil (f, s_call (f, "B", "delete", list, ARGS (zmp_int (0)), NONE));
    int64_t edited[9] = { 8, 7, 6, -5, 4, 3, 2, 1, 0 };
    s_assert_list (f, list, edited, 9);
    zmp_value_t *middle =
        s_ok (f, s_call (f, "B", "slice", list,
                         ARGS (zmp_int (2), zmp_int (-5)), NONE));
    assert_int_equal (zmp_value_get (middle)->via.array.size, 2);
    zmp_value_destroy (&middle);
    s_fails (f, s_call (f, "B", "get", list, ARGS (zmp_int (9)), NONE),
             ZMP_ERR_RANGE);
    s_ok_nil (f, s_call (f, "B", "extend", list, NONE, &init, 1));
    assert_int_equal (s_ok_int (f, s_call (f, "B", "len", list, NONE, NONE)),
                      19);
    s_ok_nil (f, s_call (f, "B", "clear", list, NONE, NONE));
    s_fails (f, s_call (f, "B", "pop", list, NONE, NONE), ZMP_ERR_RANGE);
    msgpack_object not_array = zmp_int (3);
    s_fails (f, s_call (f, "B", "extend", list, NONE, &not_array, 1),
             ZMP_ERR_BAD_ARGUMENTS);
    s_fails (f,
             s_call (f, "A", "new", 0, ARGS (zmp_str ("list")), &not_array, 1),
             ZMP_ERR_BAD_ARGUMENTS);
    assert_int_equal (zmp_store_objects (f->store), 1);
}

//  --------------------------------------------------------------------------
//  Lifetimes

static void
test_store_object_lives_while_someone_holds_it (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    s_ok_nil (f, s_put (f, "A", queue, 1, -1));
    //  Another client attaches, a task retains
    zmp_value_t *info = s_ok (f, s_call (f, "B", "attach", queue, NONE, NONE));
    assert_int_equal (zmp_value_get (info)->via.array.ptr[0].via.u64,
                      ZMP_OBJECT_QUEUE);
    zmp_value_destroy (&info);
    assert_int_equal (zmp_store_retain (f->store, queue, NULL), 0);
    s_ok_nil (f, s_call (f, "A", "detach", queue, NONE, NONE));
    s_fails (f, s_call (f, "A", "detach", queue, NONE, NONE), ZMP_ERR_USAGE);
    zmp_store_peer_gone (f->store, "B", true);
    assert_int_equal (zmp_store_objects (f->store), 1);
    //  Waiters of an object that goes are told
    s_ok_int (f, s_get (f, "C", queue, 0));
    uint64_t waiting = s_get (f, "C", queue, -1);
    zmp_store_release (f->store, queue);
    s_fails (f, waiting, ZMP_ERR_NOT_FOUND);
    assert_int_equal (zmp_store_objects (f->store), 0);
    s_fails (f, s_get (f, "C", queue, 0), ZMP_ERR_NOT_FOUND);
    zmp_error_t error;
    assert_int_equal (zmp_store_retain (f->store, queue, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
}

static void
test_store_frees_everything_a_gone_peer_made (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    for (int round = 0; round < 5000; round++) {
        uint64_t queue = s_queue (f, 0, false);
        s_ok_nil (f, s_put (f, "A", queue, round, -1));
        uint64_t lock = s_new (f, "A", "lock", NONE);
        s_ok_bool (f, s_acquire (f, "A", lock, 1, -1));
        uint64_t end1, end2;
        s_pipe (f, true, &end1, &end2);
        s_ok_nil (f, s_send (f, "A", end1, "x"));
        uint64_t dict = s_new (f, "A", "dict", NONE);
        s_ok_nil (f, s_dict_set (f, dict, zmp_int (round), zmp_str ("v")));
        s_get (f, "A", s_queue (f, 0, false), -1);  //  Left waiting
        if (round % 2 == 0)
            s_ok_nil (f, s_call (f, "A", "detach", queue, NONE, NONE));
    }
    assert_true (zmp_store_objects (f->store) > 0);
    assert_true (zmp_store_bytes (f->store) > 0);
    assert_int_equal (zmp_store_waiting (f->store), 5000);
    zmp_store_peer_gone (f->store, "A", true);
    assert_int_equal (zmp_store_objects (f->store), 0);
    assert_int_equal (zmp_store_bytes (f->store), 0);
    assert_int_equal (zmp_store_waiting (f->store), 0);
}

static void
test_store_peer_gone_drops_its_waits_silently (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    uint64_t gone = s_get (f, "B", queue, 100);
    uint64_t stays = s_get (f, "C", queue, -1);
    zmp_store_peer_gone (f->store, "B", true);
    s_advance (f, 200);
    assert_false (s_answered (f, gone));
    s_ok_nil (f, s_put (f, "A", queue, 5, -1));
    assert_int_equal (s_ok_int (f, stays), 5);  //  Not lost to the gone one
}

//  --------------------------------------------------------------------------
//  Limits and bad input

static void
test_store_enforces_its_limits (void **state)
{
    fixture_t *f = (fixture_t *) *state;  //  4 objects, 64 bytes
    uint64_t queue = s_queue (f, 0, false);
    char big[100];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    msgpack_object payload = zmp_str (big);
    s_fails (f, s_call (f, "A", "put", queue, ARGS (zmp_int (-1)), &payload, 1),
             ZMP_ERR_LIMIT);
    s_new (f, "A", "lock", NONE);
    s_new (f, "A", "lock", NONE);
    s_fails (
        f,
        s_call (f, "A", "new", 0, ARGS (zmp_str ("pipe"), zmp_bool (1)), NONE),
        ZMP_ERR_LIMIT);
    s_new (f, "A", "lock", NONE);
    s_fails (f, s_call (f, "A", "new", 0, ARGS (zmp_str ("lock")), NONE),
             ZMP_ERR_LIMIT);
    assert_int_equal (zmp_store_objects (f->store), 4);
}

static void
test_store_answers_bad_operations_with_a_reason (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    s_fails (f, s_call (f, "A", "frobnicate", queue, NONE, NONE),
             ZMP_ERR_USAGE);
    s_fails (f, s_call (f, "A", "acquire", queue, NONE, NONE), ZMP_ERR_USAGE);
    s_fails (f, s_call (f, "A", "get", queue, NONE, NONE), ZMP_ERR_PROTOCOL);
    s_fails (f, s_call (f, "A", "get", queue, ARGS (zmp_str ("soon")), NONE),
             ZMP_ERR_PROTOCOL);
    s_fails (f, s_call (f, "A", "get", queue, ARGS (zmp_int (-2)), NONE),
             ZMP_ERR_PROTOCOL);
    s_fails (f, s_call (f, "A", "put", queue, ARGS (zmp_int (0)), NONE),
             ZMP_ERR_PROTOCOL);
    s_fails (f, s_call (f, "A", "get", 12345, ARGS (zmp_int (0)), NONE),
             ZMP_ERR_NOT_FOUND);
    //  Object 0 names nothing (found by fuzz_journal: the broker asserted)
    s_fails (f, s_call (f, "A", "get", 0, ARGS (zmp_int (0)), NONE),
             ZMP_ERR_NOT_FOUND);
    s_fails (f, s_call (f, "A", "attach", 0, NONE, NONE), ZMP_ERR_NOT_FOUND);
    zmp_error_t error;
    assert_int_equal (zmp_store_retain (f->store, 0, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
    zmp_store_release (f->store, 0);
    s_fails (f, s_call (f, "A", "new", 0, ARGS (zmp_str ("teapot")), NONE),
             ZMP_ERR_USAGE);
    s_fails (f, s_call (f, "A", "new", 0, NONE, NONE), ZMP_ERR_PROTOCOL);

    //  Frames that are no op at all
    const char *hostile[] = {
        "", "\xc1", "\x92\xa3get", "\x91\xa3get", "\x92\x01\x02", "\xc0"
    };
    size_t sizes[] = { 0, 1, 5, 5, 3, 1 };
    for (size_t index = 0; index < 6; index++) {
        zframe_t *op = zframe_new (hostile[index], sizes[index]);
        zmsg_t *payloads = zmsg_new ();
        uint64_t request = f->next_request++;
        zmp_store_call (f->store, "A", request, op, payloads, f->now);
        s_fails (f, request, ZMP_ERR_PROTOCOL);
        zframe_destroy (&op);
        zmsg_destroy (&payloads);
    }
    //  A payload that is not one msgpack value
    zframe_t *op = NULL;
    {
        msgpack_object items[3] = { zmp_str ("put"), zmp_uint (queue),
                                    zmp_int (0) };
        msgpack_object value = zmp_array (items, 3);
        op = s_pack (&value);
    }
    zmsg_t *payloads = zmsg_new ();
    zmsg_addmem (payloads, "\x92\x01", 2);
    uint64_t request = f->next_request++;
    zmp_store_call (f->store, "A", request, op, payloads, f->now);
    s_fails (f, request, ZMP_ERR_PROTOCOL);
    zframe_destroy (&op);
    zmsg_destroy (&payloads);
    s_fails (f, s_get (f, "A", queue, 0), ZMP_ERR_EMPTY);
}

static void
test_store_clean_leave_releases_locks_but_keeps_semaphore_units (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t lock = s_new (f, "A", "lock", NONE);
    uint64_t semaphore =
        s_new (f, "A", "semaphore", ARGS (zmp_uint (1), zmp_bool (false)));
    assert_false (s_ok_bool (f, s_acquire (f, "B", lock, 1, -1)));
    assert_false (s_ok_bool (f, s_acquire (f, "B", semaphore, 1, -1)));
    zmp_store_peer_gone (f->store, "B", false);  //  Said goodbye
    //  A lock held at goodbye is freed, and the next one told
    assert_true (s_ok_bool (f, s_acquire (f, "C", lock, 1, 0)));
    //  A semaphore has no owner: what B took stays taken, as in Python
    s_fails (f, s_acquire (f, "C", semaphore, 1, 0), ZMP_ERR_WAIT_TIMEOUT);
}

static void
test_store_returning_peer_keeps_objects_and_locks (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);  //  Made by A
    uint64_t lock = s_new (f, "A", "lock", NONE);
    s_ok_bool (f, s_acquire (f, "A", lock, 1, -1));
    uint64_t waiting = s_get (f, "A", queue, -1);
    zmp_store_peer_reset (f->store, "A");  //  A lost us a while, came back
    assert_int_equal (zmp_store_waiting (f->store), 0);
    assert_int_equal (zmp_store_objects (f->store), 2);
    s_fails (f, s_acquire (f, "C", lock, 1, 0), ZMP_ERR_WAIT_TIMEOUT);
    //  The put does not go to the dropped get: it stays in the queue
    s_ok_nil (f, s_put (f, "C", queue, 5, -1));
    assert_false (s_answered (f, waiting));
    assert_int_equal (s_ok_int (f, s_get (f, "A", queue, 0)), 5);
    s_ok_nil (f, s_release (f, "A", lock, 1));
}

//  One client holds at most its share of the store's objects: made or
//  attached; letting one go makes room again; others are not affected
static void
test_store_caps_the_objects_one_client_holds (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    zmp_store_set_peer_objects_max (f->store, 3);
    uint64_t first = s_queue (f, 0, false);
    s_queue (f, 0, false);
    uint64_t pipe_request = s_call (
        f, "A", "new", 0, ARGS (zmp_str ("pipe"), zmp_bool (true)), NONE);
    s_fails (f, pipe_request, ZMP_ERR_LIMIT);  //  Two ends: no room
    s_queue (f, 0, false);
    s_fails (f,
             s_call (f, "A", "new", 0,
                     ARGS (zmp_str ("queue"), zmp_uint (0), zmp_bool (false)),
                     NONE),
             ZMP_ERR_LIMIT);
    //  Another client's object cannot be attached either
    uint64_t other = s_new (f, "B", "lock", NONE);
    s_fails (f, s_call (f, "A", "attach", other, NONE, NONE), ZMP_ERR_LIMIT);
    //  ...until one is let go; attaching one it holds already is fine
    zmp_value_t *info = s_ok (f, s_call (f, "A", "attach", first, NONE, NONE));
    zmp_value_destroy (&info);
    s_ok_nil (f, s_call (f, "A", "detach", first, NONE, NONE));
    s_ok_nil (f, s_call (f, "A", "detach", first, NONE, NONE));
    info = s_ok (f, s_call (f, "A", "attach", other, NONE, NONE));
    zmp_value_destroy (&info);
}

static void
test_store_counts_waiting_puts_and_caps_waiters (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 1, false);
    s_ok_nil (f, s_put (f, "A", queue, 1, -1));
    uint64_t one_item = zmp_store_bytes (f->store);
    uint64_t waiting = s_put (f, "A", queue, 2, 100);
    //  The item waiting for room counts against the limit too
    assert_int_equal (zmp_store_bytes (f->store), 2 * one_item);
    s_advance (f, 100);
    s_fails (f, waiting, ZMP_ERR_FULL);
    assert_int_equal (zmp_store_bytes (f->store), one_item);
    uint64_t moved = s_put (f, "A", queue, 3, -1);
    assert_int_equal (s_ok_int (f, s_get (f, "B", queue, 0)), 1);
    s_ok_nil (f, moved);
    assert_int_equal (zmp_store_bytes (f->store), one_item);

    //  One client cannot fill the broker with waits
    uint64_t empty = s_queue (f, 0, false);
    for (int index = 0; index < ZMP_STORE_WAITERS_MAX; index++)
        s_get (f, "W", empty, -1);
    s_fails (f, s_get (f, "W", empty, -1), ZMP_ERR_LIMIT);
    s_fails (f,
             s_call (f, "W", "put", queue, ARGS (zmp_int (-1)),
                     (msgpack_object[]){ zmp_int (9) }, 1),
             ZMP_ERR_LIMIT);
    assert_int_equal (zmp_store_waiting (f->store), ZMP_STORE_WAITERS_MAX);
    zmp_store_peer_gone (f->store, "W", true);
    assert_int_equal (zmp_store_waiting (f->store), 0);
}

static void
test_store_charges_list_items_their_frames (void **state)
{
    fixture_t *f = (fixture_t *) *state;  //  A 64-byte store
    uint64_t request =
        s_call (f, "A", "new", 0, ARGS (zmp_str ("list")), NULL, 0);
    zmp_value_t *handle = s_ok (f, request);
    uint64_t list;
    assert_true (zmp_handle_decode (zmp_value_get (handle), NULL, &list));
    zmp_value_destroy (&handle);
    //  Two nils are three bytes of payload, but two frames
    msgpack_object nils[2] = { zmp_nil (), zmp_nil () };
    msgpack_object array = zmp_array (nils, 2);
    s_fails (f, s_call (f, "A", "extend", list, NONE, &array, 1),
             ZMP_ERR_LIMIT);
    s_fails (f, s_call (f, "A", "extend", list, NONE, &nils[0], 1),
             ZMP_ERR_BAD_ARGUMENTS);
    assert_int_equal (zmp_store_bytes (f->store), 0);
}

//  --------------------------------------------------------------------------
//  The state directory's journal

static void
test_store_journal_brings_queues_and_pipes_back (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t plain = s_queue (f, 0, false);
    for (int item = 1; item <= 4; item++)
        s_ok_nil (f, s_put (f, "A", plain, item, -1));
    assert_int_equal (s_ok_int (f, s_get (f, "B", plain, 0)), 1);
    //  Joinable: two items in, one straight to a waiting get, one done
    uint64_t joinable = s_queue (f, 3, true);
    uint64_t waiting = s_get (f, "B", joinable, -1);
    s_ok_nil (f, s_put (f, "A", joinable, 10, -1));
    assert_int_equal (s_ok_int (f, waiting), 10);
    s_ok_nil (f, s_put (f, "A", joinable, 11, -1));
    s_ok_nil (f, s_call (f, "B", "task_done", joinable, NONE, NONE));
    uint64_t closed = s_queue (f, 0, false);
    s_ok_nil (f, s_put (f, "A", closed, 20, -1));
    s_ok_nil (f, s_call (f, "A", "close", closed, NONE, NONE));
    uint64_t end1, end2;
    s_pipe (f, false, &end1, &end2);
    s_ok_nil (f, s_send (f, "A", end2, "first"));
    s_ok_nil (f, s_send (f, "A", end2, "second"));
    s_ok_str (f, s_recv (f, "B", end1, 0), "first");
    s_ok_nil (f, s_call (f, "A", "close", end2, NONE, NONE));
    uint64_t gone = s_queue (f, 0, false);
    s_ok_nil (f, s_call (f, "A", "detach", gone, NONE, NONE));
    uint64_t lock = s_new (f, "A", "lock", NONE);
    s_sync (f);
    //  Not synced, so never answered: it is not kept
    s_ok_nil (f, s_put (f, "A", plain, 5, -1));

    s_restart (f, ZMP_STORE_FSYNC_ALWAYS);
    assert_int_equal (zmp_store_objects (f->store), 5);
    assert_int_equal (s_ok_int (f, s_call (f, "C", "qsize", plain, NONE, NONE)),
                      3);
    for (int item = 2; item <= 4; item++)
        assert_int_equal (s_ok_int (f, s_get (f, "C", plain, 0)), item);
    s_fails (f, s_get (f, "C", plain, 0), ZMP_ERR_EMPTY);
    //  One item unfinished, and the bound kept
    s_fails (f, s_call (f, "C", "join", joinable, ARGS (zmp_int (0)), NONE),
             ZMP_ERR_WAIT_TIMEOUT);
    s_ok_nil (f, s_put (f, "C", joinable, 12, 0));
    s_ok_nil (f, s_put (f, "C", joinable, 13, 0));
    s_fails (f, s_put (f, "C", joinable, 14, 0), ZMP_ERR_FULL);
    for (int done = 0; done < 3; done++)
        s_ok_nil (f, s_call (f, "C", "task_done", joinable, NONE, NONE));
    s_ok_nil (f, s_call (f, "C", "join", joinable, ARGS (zmp_int (0)), NONE));
    //  Closed: drains, then says so
    s_fails (f, s_put (f, "C", closed, 21, 0), ZMP_ERR_CLOSED);
    assert_int_equal (s_ok_int (f, s_get (f, "C", closed, 0)), 20);
    s_fails (f, s_get (f, "C", closed, 0), ZMP_ERR_CLOSED);
    //  The pipe: what was sent and not received, then end of file; still
    //  one-way
    s_fails (f, s_send (f, "C", end1, "back"), ZMP_ERR_USAGE);
    s_ok_str (f, s_recv (f, "C", end1, 0), "second");
    s_fails (f, s_recv (f, "C", end1, 0), ZMP_ERR_CLOSED);
    //  Destroyed before, and never kept: not found
    s_fails (f, s_get (f, "C", gone, 0), ZMP_ERR_NOT_FOUND);
    s_fails (f,
             s_call (f, "C", "acquire", lock, ARGS (zmp_uint (1), zmp_int (0)),
                     NONE),
             ZMP_ERR_NOT_FOUND);
    //  New objects get new ids
    assert_int_not_equal (s_queue (f, 0, false), plain);
}

static void
test_store_journal_holds_replayed_objects_for_their_holders (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t kept = s_queue (f, 0, false);
    uint64_t orphan = s_queue (f, 0, false);
    s_ok_nil (f, s_put (f, "A", kept, 1, -1));
    s_ok_nil (f, s_put (f, "A", orphan, 2, -1));
    s_sync (f);
    s_restart (f, ZMP_STORE_FSYNC_NEVER);
    assert_int_equal (zmp_store_next_deadline (f->store), f->now + HOLD_MS);
    zmp_value_t *info = s_ok (f, s_call (f, "A", "attach", kept, NONE, NONE));
    zmp_value_destroy (&info);
    s_advance (f, HOLD_MS - 1);
    assert_int_equal (zmp_store_objects (f->store), 2);
    s_advance (f, 1);
    assert_int_equal (zmp_store_next_deadline (f->store), -1);
    assert_int_equal (zmp_store_objects (f->store), 1);
    s_fails (f, s_get (f, "A", orphan, 0), ZMP_ERR_NOT_FOUND);
    assert_int_equal (s_ok_int (f, s_get (f, "A", kept, 0)), 1);
    //  Its holder lets go: it goes, and stays gone after a restart
    s_ok_nil (f, s_call (f, "A", "detach", kept, NONE, NONE));
    s_sync (f);
    s_restart (f, ZMP_STORE_FSYNC_ALWAYS);
    assert_int_equal (zmp_store_objects (f->store), 0);
    assert_int_equal (zmp_store_next_deadline (f->store), -1);
}

static void
test_store_journal_cuts_a_torn_end_and_refuses_damage (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    s_ok_nil (f, s_put (f, "A", queue, 7, -1));
    s_sync (f);
    off_t whole = s_file_size (f->path);
    zmp_store_destroy (&f->store);
    //  The broker died writing a record: part of it is there
    int fd = open (f->path, O_WRONLY | O_APPEND);
    assert_true (fd >= 0);
    const char torn[5] = { 9, 0, 0, 0, 42 };
    assert_int_equal (write (fd, torn, sizeof torn), (ssize_t) sizeof torn);
    close (fd);
    f->store = zmp_store_new (s_on_reply, f, 0, 0);
    zmp_error_t error;
    assert_int_equal (s_journal_open (f, ZMP_STORE_FSYNC_ALWAYS, &error), 0);
    assert_int_equal (s_file_size (f->path), whole);
    assert_int_equal (s_ok_int (f, s_call (f, "A", "qsize", queue, NONE, NONE)),
                      1);
    s_ok_nil (f, s_put (f, "A", queue, 8, -1));
    s_sync (f);

    //  A byte changed in the item before the last record: refused
    zmp_store_destroy (&f->store);
    fd = open (f->path, O_RDWR);
    assert_true (fd >= 0);
    char byte;
    assert_int_equal (pread (fd, &byte, 1, whole - 1), 1);
    byte ^= 0x5a;
    assert_int_equal (pwrite (fd, &byte, 1, whole - 1), 1);
    close (fd);
    f->store = zmp_store_new (s_on_reply, f, 0, 0);
    assert_int_equal (s_journal_open (f, ZMP_STORE_FSYNC_ALWAYS, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_PROTOCOL);
    assert_non_null (strstr (error.message, "damaged"));
    assert_int_equal (zmp_store_objects (f->store), 0);
    //  Set right again, it opens
    byte ^= 0x5a;
    fd = open (f->path, O_RDWR);
    assert_int_equal (pwrite (fd, &byte, 1, whole - 1), 1);
    close (fd);
    assert_int_equal (s_journal_open (f, ZMP_STORE_FSYNC_ALWAYS, &error), 0);
    assert_int_equal (s_ok_int (f, s_call (f, "A", "qsize", queue, NONE, NONE)),
                      2);

    //  A size no record has (a damaged header) is damage, though it runs
    //  past the end: it must not pass for a record cut short
    zmp_store_destroy (&f->store);
    off_t good = s_file_size (f->path);
    fd = open (f->path, O_WRONLY | O_APPEND);
    const unsigned char huge[12] = { 0xf0, 0xff, 0xff, 0xff, 1, 2, 3, 4 };
    assert_int_equal (write (fd, huge, sizeof huge), (ssize_t) sizeof huge);
    close (fd);
    f->store = zmp_store_new (s_on_reply, f, 0, 0);
    assert_int_equal (s_journal_open (f, ZMP_STORE_FSYNC_ALWAYS, &error), -1);
    assert_non_null (strstr (error.message, "larger than any"));
    assert_int_equal (s_file_size (f->path), good + (off_t) sizeof huge);
    assert_int_equal (truncate (f->path, good), 0);
    assert_int_equal (s_journal_open (f, ZMP_STORE_FSYNC_ALWAYS, &error), 0);
}

static void
test_store_journal_is_compacted_and_one_brokers (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    uint64_t queue = s_queue (f, 0, false);
    uint64_t joinable = s_queue (f, 0, true);  //  Kept across compaction
    s_ok_nil (f, s_put (f, "A", joinable, 5, -1));
    s_ok_nil (f, s_put (f, "A", joinable, 6, -1));
    assert_int_equal (s_ok_int (f, s_get (f, "A", joinable, 0)), 5);
    char *text = (char *) malloc (64 * 1024);
    memset (text, 'x', 64 * 1024 - 1);
    text[64 * 1024 - 1] = 0;
    //  12 MiB through the queue, two items left in it
    for (int item = 0; item < 200; item++) {
        text[0] = (char) ('a' + item % 26);
        msgpack_object payload = zmp_str (text);
        s_ok_nil (
            f, s_call (f, "A", "put", queue, ARGS (zmp_int (-1)), &payload, 1));
        if (item < 198) {
            zmp_value_t *value = s_ok (f, s_get (f, "A", queue, 0));
            zmp_value_destroy (&value);
        }
        s_sync (f);
    }
    //  Compacted once it passed 8 MiB (all but an item was taken)
    assert_true (s_file_size (f->path) < 8 * 1024 * 1024);

    //  A second broker on the directory is refused
    zmp_store_t *other = zmp_store_new (s_on_reply, f, 0, 0);
    zmp_error_t error;
    assert_int_equal (zmp_store_journal_open (other, f->dir,
                                              ZMP_STORE_FSYNC_ALWAYS, 0, f->now,
                                              &error),
                      -1);
    assert_int_equal (error.kind, ZMP_ERR_SYSTEM);
    assert_non_null (strstr (error.message, "in use"));
    zmp_store_destroy (&other);

    s_restart (f, ZMP_STORE_FSYNC_ALWAYS);
    for (int item = 198; item < 200; item++) {
        text[0] = (char) ('a' + item % 26);
        s_ok_str (f, s_get (f, "A", queue, 0), text);
    }
    free (text);
    assert_int_equal (s_ok_int (f, s_get (f, "A", joinable, 0)), 6);
    s_fails (f, s_get (f, "A", joinable, 0), ZMP_ERR_EMPTY);
    s_ok_nil (f, s_call (f, "A", "task_done", joinable, NONE, NONE));
    s_fails (f, s_call (f, "A", "join", joinable, ARGS (zmp_int (0)), NONE),
             ZMP_ERR_WAIT_TIMEOUT);
    s_ok_nil (f, s_call (f, "A", "task_done", joinable, NONE, NONE));
    s_ok_nil (f, s_call (f, "A", "join", joinable, ARGS (zmp_int (0)), NONE));
}

//  Write a journal of records (msgpack values, framed as the broker
//  frames them) in place of the fixture's, and open it on a new store.
//  Returns what opening it returned.
static int
s_open_written (fixture_t *f, const msgpack_object *records, size_t count,
                zmp_error_t *error)
{
    zmp_store_destroy (&f->store);
    FILE *file = fopen (f->path, "w");
    assert_non_null (file);
    for (size_t index = 0; index < count; index++) {
        zframe_t *body = s_pack (&records[index]);
        uint32_t size = (uint32_t) zframe_size (body);
        uint32_t sum = (uint32_t) crc32 (0, zframe_data (body), size);
        unsigned char header[8];
        for (int byte = 0; byte < 4; byte++) {
            header[byte] = (unsigned char) (size >> (8 * byte));
            header[4 + byte] = (unsigned char) (sum >> (8 * byte));
        }
        assert_int_equal (fwrite (header, 1, 8, file), 8);
        assert_int_equal (fwrite (zframe_data (body), 1, size, file), size);
        zframe_destroy (&body);
    }
    fclose (file);
    f->store = zmp_store_new (s_on_reply, f, 0, 0);
    return s_journal_open (f, ZMP_STORE_FSYNC_ALWAYS, error);
}

//  Records whose checksums are right but which the broker never writes
//  stop it, naming the damage; a good journal of the same shape opens
static void
test_store_journal_refuses_records_it_never_writes (void **state)
{
    fixture_t *f = (fixture_t *) *state;
    msgpack_object magic_items[] = { zmp_str ("zmpool-journal"), zmp_uint (1) };
    msgpack_object magic = zmp_array (magic_items, 2);
    msgpack_object queue_items[] = { zmp_str ("queue"), zmp_uint (77),
                                     zmp_uint (0),      zmp_bool (false),
                                     zmp_uint (0),      zmp_bool (false) };
    msgpack_object queue = zmp_array (queue_items, 6);
    msgpack_object take_items[] = { zmp_str ("take"), zmp_uint (77) };
    msgpack_object take = zmp_array (take_items, 2);
    msgpack_object stranger_items[] = { zmp_str ("done"), zmp_uint (78) };
    msgpack_object stranger = zmp_array (stranger_items, 2);
    msgpack_object verb_items[] = { zmp_str ("shred"), zmp_uint (77) };
    msgpack_object verb = zmp_array (verb_items, 2);
    msgpack_object short_items[] = { zmp_str ("queue"), zmp_uint (79) };
    msgpack_object short_queue = zmp_array (short_items, 2);
    msgpack_object version_items[] = { zmp_str ("zmpool-journal"),
                                       zmp_uint (2) };
    msgpack_object version = zmp_array (version_items, 2);
    msgpack_object nil = zmp_nil ();
    struct {
        msgpack_object records[3];
        size_t count;
        const char *why;
    } cases[] = {
        { { queue, queue }, 2, "no zmpool journal header" },
        { { version, queue }, 2, "version" },
        { { magic, queue, queue }, 3, "made twice" },
        { { magic, queue, take }, 3, "empty queue" },
        { { magic, queue, stranger }, 3, "never made" },
        { { magic, queue, verb }, 3, "unknown operation" },
        { { magic, short_queue, queue }, 3, "malformed" },
        { { magic, nil, queue }, 3, "not [operation" },
    };
    zmp_error_t error;
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        if (s_open_written (f, cases[index].records, cases[index].count, &error)
            != -1)
            fail_msg ("case %zu opened", index);
        assert_int_equal (error.kind, ZMP_ERR_PROTOCOL);
        if (!strstr (error.message, cases[index].why))
            fail_msg ("case %zu: %s", index, error.message);
        assert_int_equal (zmp_store_objects (f->store), 0);
    }
    msgpack_object good[] = { magic, queue };
    assert_int_equal (s_open_written (f, good, 2, &error), 0);
    assert_int_equal (s_ok_int (f, s_call (f, "A", "qsize", 77, NONE, NONE)),
                      0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown (name, s_setup, s_teardown)
        T (test_store_queue_is_first_in_first_out),
        T (test_store_queue_get_waits_for_a_put),
        T (test_store_bounded_queue_put_waits_for_room),
        T (test_store_closed_queue_drains_then_says_closed),
        T (test_store_joinable_queue_counts_unfinished_items),
        T (test_store_pipe_carries_both_ways),
        T (test_store_pipe_close_gives_end_of_file_after_the_items),
        T (test_store_one_way_pipe_refuses_the_other_way),
        T (test_store_pipe_poll_waits),
        T (test_store_lock_is_handed_on_in_order),
        T (test_store_rlock_counts_depth_per_thread),
        T (test_store_lock_owner_death_is_told),
        T (test_store_semaphore_counts_and_bounds),
        T (test_store_event_wakes_every_waiter),
        T (test_store_condition_wait_returns_holding_the_lock),
        T (test_store_condition_notify_all_wakes_everyone),
        T (test_store_barrier_lets_parties_through_together),
        T (test_store_value_follows_its_typecode),
        T (test_store_array_negates_like_the_seed),
        T (test_store_dict_keeps_keys_in_insertion_order),
        T (test_store_list_does_what_the_seeds_do),
        T (test_store_object_lives_while_someone_holds_it),
        T (test_store_frees_everything_a_gone_peer_made),
        T (test_store_peer_gone_drops_its_waits_silently),
        T (test_store_clean_leave_releases_locks_but_keeps_semaphore_units),
        T (test_store_returning_peer_keeps_objects_and_locks),
        cmocka_unit_test_setup_teardown (test_store_enforces_its_limits,
                                         s_setup_small, s_teardown),
        T (test_store_counts_waiting_puts_and_caps_waiters),
        T (test_store_caps_the_objects_one_client_holds),
        cmocka_unit_test_setup_teardown (
            test_store_charges_list_items_their_frames, s_setup_small,
            s_teardown),
        T (test_store_answers_bad_operations_with_a_reason),
#undef T
#define T(name)                                                                \
    cmocka_unit_test_setup_teardown (name, s_setup_journal, s_teardown)
        T (test_store_journal_brings_queues_and_pipes_back),
        T (test_store_journal_holds_replayed_objects_for_their_holders),
        T (test_store_journal_cuts_a_torn_end_and_refuses_damage),
        T (test_store_journal_is_compacted_and_one_brokers),
        T (test_store_journal_refuses_records_it_never_writes),
#undef T
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
