/*  test_zmp_broker - the broker, driven by hand-made peers

    Each test runs a broker in a zactor on its own inproc endpoint and talks
    to it with raw DEALER sockets that speak the wire protocol through
    zmp_proto: nothing of the real client or worker is involved, so what is
    tested is the broker's side of the contract alone.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_broker.h"

#include "zmp_error.h"
#include "zmp_handle.h"
#include "zmp_proto.h"
#include "zmp_testkit.h"
#include "zmp_value.h"

typedef struct {
    zactor_t *broker;
    char endpoint[64];
    zlistx_t *sockets;  //  Every socket a test made, destroyed in teardown
} fixture_t;

static int s_fixture_number = 0;
static uint64_t s_session = 0;    //  The session of the clients s_peer makes
static long s_max_queued = 0;     //  The next fixture's, then back to 0
static long s_client_grace = -1;  //  The fixtures' (none: where it is not
                                  //  the point, a silent client goes)
static const char *s_state_dir = NULL;  //  The fixtures' --state-dir
static const char *s_event_log = NULL;  //  ...and --event-log
static uint64_t s_welcome_run = 0;      //  The run in the last WELCOME
static long s_max_message_mb = 0;       //  The fixtures' --max-message-mb

//  Start a broker (heartbeat_ms, liveness, prefetch, retries and
//  crash_retries) for one test.
static int
s_fixture_up (void **state, int heartbeat_ms, int liveness, int prefetch,
              int retries, int crash_retries)
{
    fixture_t *fixture = (fixture_t *) zmalloc (sizeof (fixture_t));
    snprintf (fixture->endpoint, sizeof fixture->endpoint, "inproc://broker-%d",
              ++s_fixture_number);
    fixture->sockets = zlistx_new ();
    zmp_broker_config_t config = { fixture->endpoint,
                                   heartbeat_ms,
                                   liveness,
                                   prefetch,
                                   NULL,
                                   -1,
                                   retries,
                                   crash_retries,
                                   s_max_queued,
                                   s_client_grace,
                                   s_state_dir,
                                   false,
                                   NULL,
                                   NULL,
                                   false,
                                   0,
                                   s_max_message_mb,
                                   s_event_log,
                                   0 };
    zmp_error_t error;
    zmp_broker_t *broker = zmp_broker_new (&config, &error);
    if (broker)
        fixture->broker = zactor_new (zmp_broker_actor, broker);
    *state = fixture;
    return broker ? 0 : -1;
}

//  The test's peers send no heartbeats: where expiry is not the point, the
//  broker waits as long as it may (a slow run under valgrind takes seconds)
static int
s_up (void **state)
{
    return s_fixture_up (state, 1000, ZMP_PROTO_LIVENESS_MAX, 2, 0,
                         ZMP_BROKER_NO_RETRIES);
}

static int
s_up_no_prefetch (void **state)
{
    return s_fixture_up (state, 1000, ZMP_PROTO_LIVENESS_MAX, 0, 0,
                         ZMP_BROKER_NO_RETRIES);
}

static int
s_up_fast_heartbeat (void **state)
{
    return s_fixture_up (state, 50, 3, 2, 0, ZMP_BROKER_NO_RETRIES);
}

//  Peers lost after 3 x 100 ms of silence (the unit: 100 ms, stretched
//  under sanitizers); a client kept 15 units more
static int
s_up_client_grace (void **state)
{
    s_client_grace = 15 * testkit_ms (100);
    int rc =
        s_fixture_up (state, testkit_ms (100), 3, 2, 0, ZMP_BROKER_NO_RETRIES);
    s_client_grace = -1;
    return rc;
}

//  The same with no grace
static int
s_up_no_client_grace (void **state)
{
    return s_fixture_up (state, testkit_ms (100), 3, 2, 0,
                         ZMP_BROKER_NO_RETRIES);
}

static int
s_up_fast_heartbeat_no_retries (void **state)
{
    return s_fixture_up (state, 50, 3, 2, ZMP_BROKER_NO_RETRIES,
                         ZMP_BROKER_NO_RETRIES);
}

//  At most 3 queued tasks per client
static int
s_up_small_queue (void **state)
{
    s_max_queued = 3;
    int rc = s_fixture_up (state, 1000, ZMP_PROTO_LIVENESS_MAX, 0, 0,
                           ZMP_BROKER_NO_RETRIES);
    s_max_queued = 0;
    return rc;
}

//  Crashes and timeouts retried twice
static int
s_up_crash_retries (void **state)
{
    return s_fixture_up (state, 1000, ZMP_PROTO_LIVENESS_MAX, 2, 0, 2);
}

static int
s_down (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *socket = (zsock_t *) zlistx_detach (fixture->sockets, NULL);
    while (socket) {
        zsock_destroy (&socket);
        socket = (zsock_t *) zlistx_detach (fixture->sockets, NULL);
    }
    zlistx_destroy (&fixture->sockets);
    zactor_destroy (&fixture->broker);
    free (fixture);
    return 0;
}

//  A DEALER connected to the broker, destroyed in teardown.
static zsock_t *
s_socket (fixture_t *fixture)
{
    zsock_t *socket = zsock_new_dealer (fixture->endpoint);
    assert_non_null (socket);
    zlistx_add_end (fixture->sockets, socket);
    return socket;
}

//  The next message on socket within timeout_ms, or NULL.
static zmsg_t *
s_recv (zsock_t *socket, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (socket, NULL);
    zmsg_t *msg = NULL;
    if (zpoller_wait (poller, testkit_ms (timeout_ms)))
        msg = zmsg_recv (socket);
    zpoller_destroy (&poller);
    return msg;
}

//  The next message that is not a HEARTBEAT, or NULL.
static zmsg_t *
s_recv_command (zsock_t *socket, int expected, int timeout_ms)
{
    while (true) {
        zmsg_t *msg = s_recv (socket, timeout_ms);
        if (!msg)
            return NULL;
        int command = zmp_proto_command (msg, NULL);
        if (command != ZMP_PROTO_HEARTBEAT) {
            if (command != expected)
                fail_msg ("expected %s, got %s",
                          zmp_proto_command_name (expected),
                          zmp_proto_command_name (command));
            return msg;
        }
        zmsg_destroy (&msg);
    }
}

static void
s_send (zsock_t *socket, zmsg_t **msg_p)
{
    assert_int_equal (zmsg_send (msg_p, socket), 0);
}

//  A peer that said HELLO and was welcomed; returns the WELCOME's slots
//  (and keeps its run in s_welcome_run).
//  A client with agent_pid (not 0) is a task process of that agent.
static zsock_t *
s_peer_as (fixture_t *fixture, zmp_role_t role, uint32_t slots,
           uint32_t *cluster_slots, int64_t pid, int64_t agent_pid)
{
    zsock_t *socket = s_socket (fixture);
    zmp_proto_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.role = role;
    hello.pid = pid;
    hello.agent_pid = agent_pid;
    hello.slots = slots;
    hello.session = s_session;
    snprintf (hello.host, sizeof hello.host, "test-host");
    snprintf (hello.name, sizeof hello.name,
              role == ZMP_ROLE_WORKER ? "w" : "c");
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HELLO);
    zframe_t *body = zmp_proto_encode_hello (&hello);
    zmsg_append (msg, &body);
    s_send (socket, &msg);
    msg = s_recv_command (socket, ZMP_PROTO_WELCOME, 5000);
    assert_non_null (msg);
    zmp_proto_welcome_t welcome;
    zmsg_first (msg);
    assert_int_equal (
        zmp_proto_decode_welcome (zmsg_next (msg), &welcome, NULL), 0);
    if (cluster_slots)
        *cluster_slots = welcome.slots;
    s_welcome_run = welcome.run;
    zmsg_destroy (&msg);
    return socket;
}

static zsock_t *
s_peer (fixture_t *fixture, zmp_role_t role, uint32_t slots,
        uint32_t *cluster_slots)
{
    return s_peer_as (fixture, role, slots, cluster_slots, 4242, 0);
}

//  Submit count tasks of function with ids first_id... to pool.
static void
s_submit (zsock_t *client, uint64_t first_id, int count, const char *function,
          uint32_t pool_id)
{
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_SUBMIT);
    for (int index = 0; index < count; index++) {
        zmp_proto_task_t task = { first_id + (uint64_t) index, pool_id, 0, 0,
                                  "" };
        snprintf (task.function, sizeof task.function, "%s", function);
        zframe_t *header = zmp_proto_encode_task (&task);
        zframe_t *args = zmp_proto_encode_uint (task.task_id);
        zmsg_append (msg, &header);
        zmsg_append (msg, &args);
    }
    s_send (client, &msg);
}

//  One dispatched task as a worker sees it
typedef struct {
    zmp_proto_dispatch_t header;
    uint64_t task_id;  //  The argument, which s_submit makes the task id
} dispatched_t;

//  Take one DISPATCH message; append its items to tasks. Returns how many.
static int
s_take_dispatch (zsock_t *worker, dispatched_t *tasks, int limit,
                 int timeout_ms)
{
    zmsg_t *msg = s_recv_command (worker, ZMP_PROTO_DISPATCH, timeout_ms);
    if (!msg)
        return 0;
    zmsg_first (msg);
    int count = 0;
    zframe_t *header = zmsg_next (msg);
    while (header) {
        zframe_t *args = zmsg_next (msg);
        assert_non_null (args);
        assert_true (count < limit);
        assert_int_equal (
            zmp_proto_decode_dispatch (header, &tasks[count].header, NULL), 0);
        assert_int_equal (
            zmp_proto_decode_uint (args, &tasks[count].task_id, NULL), 0);
        count++;
        header = zmsg_next (msg);
    }
    zmsg_destroy (&msg);
    return count;
}

//  Reply DONE for tasks with status and the value frame "value".
static void
s_done (zsock_t *worker, const dispatched_t *tasks, int count, uint32_t status)
{
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_DONE);
    for (int index = 0; index < count; index++) {
        zmp_proto_done_t done = { .slot = tasks[index].header.slot,
                                  .seq = tasks[index].header.seq,
                                  .status = status,
                                  .pid = 99 };
        zframe_t *header = zmp_proto_encode_done (&done);
        zframe_t *value = zmp_proto_encode_uint (tasks[index].header.seq);
        zmsg_append (msg, &header);
        zmsg_append (msg, &value);
    }
    s_send (worker, &msg);
}

//  Collect RESULT items until count arrived; ids and statuses out.
static void
s_take_results (zsock_t *client, int count, uint64_t *ids, uint32_t *statuses)
{
    int taken = 0;
    while (taken < count) {
        zmsg_t *msg = s_recv_command (client, ZMP_PROTO_RESULT, 5000);
        assert_non_null (msg);
        zmsg_first (msg);
        for (zframe_t *header = zmsg_next (msg); header;
             header = zmsg_next (msg)) {
            zframe_t *value = zmsg_next (msg);
            assert_non_null (value);
            zmp_proto_result_t result;
            assert_int_equal (zmp_proto_decode_result (header, &result, NULL),
                              0);
            assert_true (taken < count);
            ids[taken] = result.task_id;
            statuses[taken] = result.status;
            taken++;
        }
        zmsg_destroy (&msg);
    }
}

static void
test_broker_welcomes_peers_with_cluster_slots (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    uint32_t slots = 99;
    s_peer (fixture, ZMP_ROLE_CLIENT, 0, &slots);
    assert_int_equal (slots, 0);
    s_peer (fixture, ZMP_ROLE_WORKER, 3, &slots);
    assert_int_equal (slots, 3);
    s_peer (fixture, ZMP_ROLE_CLIENT, 0, &slots);
    assert_int_equal (slots, 3);
}

static void
test_broker_never_exceeds_slots_plus_prefetch (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 2, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 50, "square", 0);
    int finished = 0;
    while (finished < 50) {
        dispatched_t tasks[8];
        int count = s_take_dispatch (worker, tasks, 8, 5000);
        assert_true (count > 0);
        //  Nothing more may come until we answer: the window is full
        assert_true (count <= 4);
        if (finished + count < 50 && count == 4) {
            zmsg_t *extra = s_recv (worker, 50);
            if (extra)
                assert_int_equal (zmp_proto_command (extra, NULL),
                                  ZMP_PROTO_HEARTBEAT);
            zmsg_destroy (&extra);
        }
        s_done (worker, tasks, count, 0);
        finished += count;
    }
    uint64_t ids[50];
    uint32_t statuses[50];
    s_take_results (client, 50, ids, statuses);
    bool seen[51] = { false };
    for (int index = 0; index < 50; index++) {
        assert_true (ids[index] >= 1 && ids[index] <= 50);
        assert_false (seen[ids[index]]);
        seen[ids[index]] = true;
        assert_int_equal (statuses[index], 0);
    }
}

//  A status round trip: once it returns, the broker has handled all that
//  socket sent before it.
static void
s_sync (zsock_t *client)
{
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_STATUS);
    zframe_t *id = zmp_proto_encode_uint (7);
    zmsg_append (msg, &id);
    s_send (client, &msg);
    msg = s_recv_command (client, ZMP_PROTO_REPLY, 5000);
    assert_non_null (msg);
    zmsg_destroy (&msg);
}

static void
test_broker_takes_turns_between_clients (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *greedy = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    zsock_t *modest = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (greedy, 1000, 100, "square", 0);
    dispatched_t task;
    assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
    s_submit (modest, 1, 3, "square", 0);
    s_sync (modest);
    //  One task at a time: the modest client's three tasks must come
    //  within the next six, not after the greedy client's hundred
    int modest_tasks = 0;
    for (int turn = 0; turn < 6; turn++) {
        s_done (worker, &task, 1, 0);
        assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
        if (task.task_id < 1000)
            modest_tasks++;
    }
    assert_int_equal (modest_tasks, 3);
    s_done (worker, &task, 1, 0);
    (void) greedy;
}

static void
test_broker_caps_a_pool_at_its_processes (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 4, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    zmp_proto_pool_t pool = { 5, 1, false };
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_POOL);
    zframe_t *id = zmp_proto_encode_uint (1);
    zframe_t *body = zmp_proto_encode_pool (&pool);
    zmsg_append (msg, &id);
    zmsg_append (msg, &body);
    s_send (client, &msg);
    msg = s_recv_command (client, ZMP_PROTO_REPLY, 5000);
    assert_non_null (msg);
    zmsg_destroy (&msg);
    s_submit (client, 1, 3, "square", 5);
    for (int round = 0; round < 3; round++) {
        dispatched_t tasks[8];
        assert_int_equal (s_take_dispatch (worker, tasks, 8, 5000), 1);
        zmsg_t *more = s_recv (worker, 50);
        assert_true (!more
                     || zmp_proto_command (more, NULL) == ZMP_PROTO_HEARTBEAT);
        zmsg_destroy (&more);
        s_done (worker, tasks, 1, 0);
    }
    uint64_t ids[3];
    uint32_t statuses[3];
    s_take_results (client, 3, ids, statuses);
}

static void
test_broker_drops_stale_results (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 1, "square", 0);
    dispatched_t task;
    assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
    dispatched_t stale = task;
    stale.header.seq += 1000;  //  No such dispatch
    s_done (worker, &stale, 1, 0);
    stale.header.slot = 77;  //  No such window slot
    s_done (worker, &stale, 1, 0);
    s_done (worker, &task, 1, 0);
    s_done (worker, &task, 1, 0);  //  The same result twice
    uint64_t id;
    uint32_t status;
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 1);
    zmsg_t *extra = s_recv (client, 200);
    assert_true (!extra
                 || zmp_proto_command (extra, NULL) == ZMP_PROTO_HEARTBEAT);
    zmsg_destroy (&extra);
}

static void
test_broker_runs_a_lost_workers_tasks_elsewhere (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *lost = s_peer (fixture, ZMP_ROLE_WORKER, 2, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 2, "sleep", 0);
    dispatched_t tasks[4];
    assert_int_equal (s_take_dispatch (lost, tasks, 4, 5000), 2);
    assert_int_equal (tasks[0].header.attempt, 1);
    //  Another worker joins; the first goes silent. Its tasks move over
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 2, NULL);
    int64_t deadline = zclock_mono () + testkit_ms (5000);
    int moved = 0;
    while (moved < 2 && zclock_mono () < deadline) {
        zmsg_t *heartbeat = zmp_proto_new (ZMP_PROTO_HEARTBEAT);
        s_send (client, &heartbeat);
        heartbeat = zmp_proto_new (ZMP_PROTO_HEARTBEAT);
        s_send (worker, &heartbeat);
        zmsg_t *msg = s_recv (worker, 20);
        if (msg && zmp_proto_command (msg, NULL) == ZMP_PROTO_DISPATCH) {
            zmsg_first (msg);
            for (zframe_t *header = zmsg_next (msg); header;
                 header = zmsg_next (msg)) {
                zframe_t *args = zmsg_next (msg);
                assert_int_equal (zmp_proto_decode_dispatch (
                                      header, &tasks[2 + moved].header, NULL),
                                  0);
                assert_int_equal (zmp_proto_decode_uint (
                                      args, &tasks[2 + moved].task_id, NULL),
                                  0);
                moved++;
            }
        }
        zmsg_destroy (&msg);
    }
    assert_int_equal (moved, 2);
    //  The same tasks, their arguments intact, on their second attempt
    assert_true (tasks[2].task_id + tasks[3].task_id == 3);
    assert_int_equal (tasks[2].header.attempt, 2);
    s_done (worker, tasks + 2, 2, 0);
    uint64_t ids[2];
    uint32_t statuses[2];
    s_take_results (client, 2, ids, statuses);
    assert_int_equal (statuses[0], 0);
    assert_int_equal (statuses[1], 0);
    assert_true (ids[0] + ids[1] == 3);
    //  The lost worker's late answers are stale: nothing more comes
    s_done (lost, tasks, 2, 0);
    zmsg_t *extra = s_recv (client, 200);
    assert_true (!extra
                 || zmp_proto_command (extra, NULL) == ZMP_PROTO_HEARTBEAT
                 || zmp_proto_command (extra, NULL) == ZMP_PROTO_ERROR);
    zmsg_destroy (&extra);
}

static void
test_broker_reports_worker_lost_for_a_silent_worker (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 2, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 2, "sleep", 0);
    dispatched_t tasks[4];
    assert_int_equal (s_take_dispatch (worker, tasks, 4, 5000), 2);
    //  The worker goes silent; the client keeps talking
    uint64_t ids[2];
    uint32_t statuses[2];
    int64_t deadline = zclock_mono () + testkit_ms (5000);
    int taken = 0;
    while (taken < 2 && zclock_mono () < deadline) {
        zmsg_t *heartbeat = zmp_proto_new (ZMP_PROTO_HEARTBEAT);
        s_send (client, &heartbeat);
        zmsg_t *msg = s_recv (client, 50);
        if (msg && zmp_proto_command (msg, NULL) == ZMP_PROTO_RESULT) {
            zmsg_first (msg);
            for (zframe_t *header = zmsg_next (msg); header;
                 header = zmsg_next (msg)) {
                zframe_t *value = zmsg_next (msg);
                zmp_proto_result_t result;
                assert_int_equal (
                    zmp_proto_decode_result (header, &result, NULL), 0);
                ids[taken] = result.task_id;
                statuses[taken++] = result.status;
                zmp_value_t *error = zmp_value_decode (
                    zframe_data (value), zframe_size (value), NULL);
                assert_non_null (error);
                assert_non_null (
                    zmp_map_get (zmp_value_get (error), "message"));
                zmp_value_destroy (&error);
            }
        }
        zmsg_destroy (&msg);
    }
    assert_int_equal (taken, 2);
    assert_int_equal (statuses[0], ZMP_ERR_WORKER_LOST);
    assert_int_equal (statuses[1], ZMP_ERR_WORKER_LOST);
    assert_true (ids[0] + ids[1] == 3);
}

static void
test_broker_aborts_running_tasks_of_a_client_that_left (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 5, "sleep", 0);
    dispatched_t task;
    assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
    zmsg_t *bye = zmp_proto_new (ZMP_PROTO_BYE);
    s_send (client, &bye);
    zmsg_t *abort = s_recv_command (worker, ZMP_PROTO_ABORT, 5000);
    assert_non_null (abort);
    zmsg_first (abort);
    uint32_t slot;
    uint64_t seq;
    assert_int_equal (
        zmp_proto_decode_abort (zmsg_next (abort), &slot, &seq, NULL), 0);
    assert_int_equal (slot, task.header.slot);
    assert_int_equal (seq, task.header.seq);
    zmsg_destroy (&abort);
    //  The result of the aborted task is dropped, and the queued four are
    //  gone: nothing more is dispatched
    s_done (worker, &task, 1, ZMP_ERR_CANCELLED);
    zmsg_t *more = s_recv (worker, 200);
    assert_true (!more
                 || zmp_proto_command (more, NULL) == ZMP_PROTO_HEARTBEAT);
    zmsg_destroy (&more);
}

static void
test_broker_cancel_stops_only_that_pool (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 3, "sleep", 1);
    dispatched_t task;
    assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
    s_submit (client, 100, 1, "square", 2);
    zmsg_t *cancel = zmp_proto_new (ZMP_PROTO_CANCEL);
    zframe_t *body = zmp_proto_encode_cancel_pool (1);
    zmsg_append (cancel, &body);
    s_send (client, &cancel);
    zmsg_t *abort = s_recv_command (worker, ZMP_PROTO_ABORT, 5000);
    assert_non_null (abort);
    zmsg_destroy (&abort);
    s_done (worker, &task, 1, ZMP_ERR_CANCELLED);
    //  Pool 2's task runs next; pool 1's queued tasks are gone
    dispatched_t next;
    assert_int_equal (s_take_dispatch (worker, &next, 1, 5000), 1);
    s_done (worker, &next, 1, 0);
    uint64_t id;
    uint32_t status;
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 100);
    assert_int_equal (status, 0);
}

static void
test_broker_answers_status_under_load (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 2, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    for (int batch = 0; batch < 10; batch++)
        s_submit (client, 1 + (uint64_t) batch * 1000, 1000, "noop", 0);
    //  The window is full (2 slots + 2 prefetch); nobody answers
    dispatched_t tasks[8];
    int dispatched = 0;
    while (dispatched < 4)
        dispatched +=
            s_take_dispatch (worker, tasks + dispatched, 8 - dispatched, 5000);
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_STATUS);
    zframe_t *id = zmp_proto_encode_uint (12345);
    zmsg_append (msg, &id);
    s_send (client, &msg);
    msg = s_recv_command (client, ZMP_PROTO_REPLY, 2000);
    assert_non_null (msg);
    zmsg_first (msg);
    uint64_t request_id;
    assert_int_equal (
        zmp_proto_decode_uint (zmsg_next (msg), &request_id, NULL), 0);
    assert_int_equal (request_id, 12345);
    zframe_t *body = zmsg_next (msg);
    zmp_value_t *status =
        zmp_value_decode (zframe_data (body), zframe_size (body), NULL);
    assert_non_null (status);
    const msgpack_object *map = zmp_value_get (status);
    uint64_t queued = 0, slots = 0, submitted = 0;
    zmp_uint_get (zmp_map_get (map, "queued"), UINT64_MAX, &queued);
    zmp_uint_get (zmp_map_get (map, "slots"), UINT64_MAX, &slots);
    zmp_uint_get (zmp_map_get (zmp_map_get (map, "counters"), "submitted"),
                  UINT64_MAX, &submitted);
    assert_int_equal (submitted, 10000);
    assert_int_equal (queued, 10000 - 4);  //  Four went to the worker
    (void) worker;
    assert_int_equal (slots, 2);
    const msgpack_object *workers = zmp_map_get (map, "workers");
    assert_non_null (workers);
    assert_int_equal (workers->via.array.size, 1);
    const msgpack_object *first = &workers->via.array.ptr[0];
    assert_true (zmp_str_is (zmp_map_get (first, "host"), "test-host"));
    uint64_t busy = 0;
    zmp_uint_get (zmp_map_get (first, "busy"), UINT64_MAX, &busy);
    assert_int_equal (busy, 2);
    zmp_value_destroy (&status);
    zmsg_destroy (&msg);
}

static void
test_broker_survives_hostile_input (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *stranger = s_socket (fixture);
    //  Garbage header: an ERROR comes back
    zstr_send (stranger, "GET / HTTP/1.1");
    zmsg_t *msg = s_recv_command (stranger, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_first (msg);
    zmp_error_t notice;
    bool unknown_peer = true;
    assert_int_equal (
        zmp_proto_decode_notice (zmsg_next (msg), &notice, &unknown_peer, NULL),
        0);
    assert_int_equal (notice.kind, ZMP_ERR_PROTOCOL);
    assert_false (unknown_peer);  //  The message was bad, not the peer
    zmsg_destroy (&msg);
    //  A newer protocol version: the ERROR names both versions
    byte future[4] = { 'Z', 'P', 9, ZMP_PROTO_HELLO };
    msg = zmsg_new ();
    zmsg_addmem (msg, future, 4);
    s_send (stranger, &msg);
    msg = s_recv_command (stranger, ZMP_PROTO_ERROR, 5000);
    zmsg_first (msg);
    zmp_proto_decode_notice (zmsg_next (msg), &notice, NULL, NULL);
    assert_non_null (strstr (notice.message, "version 9"));
    zmsg_destroy (&msg);
    //  Work before HELLO is refused, telling the sender to say HELLO
    s_submit (stranger, 1, 1, "square", 0);
    msg = s_recv_command (stranger, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_first (msg);
    zmp_proto_decode_notice (zmsg_next (msg), &notice, &unknown_peer, NULL);
    assert_true (unknown_peer);
    zmsg_destroy (&msg);
    //  A HELLO with a bad body is refused with the reason
    msg = zmp_proto_new (ZMP_PROTO_HELLO);
    zmsg_addstr (msg, "not msgpack \xc1");
    s_send (stranger, &msg);
    msg = s_recv_command (stranger, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_destroy (&msg);
    //  A worker may not submit; a client may not send results
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    s_submit (worker, 1, 1, "square", 0);
    msg = s_recv_command (worker, ZMP_PROTO_ERROR, 5000);
    zmsg_first (msg);
    zmp_proto_decode_notice (zmsg_next (msg), &notice, &unknown_peer, NULL);
    assert_int_equal (notice.kind, ZMP_ERR_NOT_AUTHORIZED);
    assert_false (unknown_peer);
    zmsg_destroy (&msg);
    //  A bad task header with a readable id: an error result for that id
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 77, 1, "no spaces allowed", 0);
    uint64_t id;
    uint32_t status;
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 77);
    assert_int_equal (status, ZMP_ERR_PROTOCOL);
    //  And the broker still serves
    s_submit (client, 78, 1, "square", 0);
    dispatched_t task;
    assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
    s_done (worker, &task, 1, 0);
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 78);
    assert_int_equal (status, 0);
}

static void
test_broker_keeps_a_peer_whose_message_it_refused (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    //  A SUBMIT with no pairs, and a POOL without its body
    zmsg_t *empty = zmp_proto_new (ZMP_PROTO_SUBMIT);
    s_send (client, &empty);
    zmsg_t *msg = s_recv_command (client, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_destroy (&msg);
    zmsg_t *pool = zmp_proto_new (ZMP_PROTO_POOL);
    zframe_t *id = zmp_proto_encode_uint (1);
    zmsg_append (pool, &id);
    s_send (client, &pool);
    msg = s_recv_command (client, ZMP_PROTO_ERROR, 5000);
    zmsg_destroy (&msg);
    //  Still registered: its next task runs
    s_submit (client, 5, 1, "square", 0);
    dispatched_t task;
    assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
    s_done (worker, &task, 1, 0);
    uint64_t task_id;
    uint32_t status;
    s_take_results (client, 1, &task_id, &status);
    assert_int_equal (task_id, 5);
}

static void
test_broker_forgets_a_peer_after_bye (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    //  Goodbye, then work in the same breath: refused, nothing queued
    zmsg_t *bye = zmp_proto_new (ZMP_PROTO_BYE);
    s_send (client, &bye);
    s_submit (client, 1, 10, "square", 0);
    zmsg_t *msg = s_recv_command (client, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_first (msg);
    zmp_error_t notice;
    bool unknown_peer = false;
    zmp_proto_decode_notice (zmsg_next (msg), &notice, &unknown_peer, NULL);
    assert_true (unknown_peer);
    zmsg_destroy (&msg);
    zsock_t *observer = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    msg = zmp_proto_new (ZMP_PROTO_STATUS);
    zframe_t *id = zmp_proto_encode_uint (1);
    zmsg_append (msg, &id);
    s_send (observer, &msg);
    msg = s_recv_command (observer, ZMP_PROTO_REPLY, 5000);
    zmsg_first (msg);
    zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    zmp_value_t *status =
        zmp_value_decode (zframe_data (body), zframe_size (body), NULL);
    uint64_t queued = 99;
    zmp_uint_get (zmp_map_get (zmp_value_get (status), "queued"), UINT64_MAX,
                  &queued);
    assert_int_equal (queued, 0);
    const msgpack_object *clients =
        zmp_map_get (zmp_value_get (status), "clients");
    assert_int_equal (clients->via.array.size, 1);  //  The observer only
    zmp_value_destroy (&status);
    zmsg_destroy (&msg);
}

//  Send OBJECT [request_id] [verb, id, *params] *payloads; params and
//  payloads are msgpack objects
static void
s_object (zsock_t *client, uint64_t request_id, const char *verb, uint64_t id,
          const msgpack_object *params, uint32_t count,
          const msgpack_object *payload)
{
    msgpack_object items[8];
    items[0] = zmp_str (verb);
    items[1] = zmp_uint (id);
    for (uint32_t index = 0; index < count; index++)
        items[2 + index] = params[index];
    msgpack_object op = zmp_array (items, count + 2);
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_OBJECT);
    zframe_t *frame = zmp_proto_encode_uint (request_id);
    zmsg_append (msg, &frame);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, op);
    zmsg_addmem (msg, buffer.data, buffer.size);
    if (payload) {
        buffer.size = 0;
        msgpack_pack_object (&packer, *payload);
        zmsg_addmem (msg, buffer.data, buffer.size);
    }
    msgpack_sbuffer_destroy (&buffer);
    s_send (client, &msg);
}

//  The outcome of REPLY request_id: its value (caller destroys) or NULL
//  with error
static zmp_value_t *
s_outcome (zsock_t *client, uint64_t request_id, zmp_error_t *error)
{
    zmsg_t *msg = s_recv_command (client, ZMP_PROTO_REPLY, 5000);
    assert_non_null (msg);
    zmsg_first (msg);
    uint64_t id;
    assert_int_equal (zmp_proto_decode_uint (zmsg_next (msg), &id, NULL), 0);
    assert_int_equal (id, request_id);
    zframe_t *body = zmsg_next (msg);
    assert_non_null (body);
    zframe_t *copy = zframe_dup (body);
    zmsg_destroy (&msg);
    return zmp_proto_decode_outcome (&copy, error);
}

//  A new unbounded queue, made by request request_id: its id
static uint64_t
s_new_queue (zsock_t *client, uint64_t request_id)
{
    msgpack_object params[] = { zmp_str ("queue"), zmp_uint (0),
                                zmp_bool (false) };
    s_object (client, request_id, "new", 0, params, 3, NULL);
    zmp_error_t error;
    zmp_value_t *value = s_outcome (client, request_id, &error);
    assert_non_null (value);
    uint64_t queue;
    assert_true (zmp_handle_decode (zmp_value_get (value), NULL, &queue));
    zmp_value_destroy (&value);
    return queue;
}

//  A broker on a state directory: the queue and its items outlive it, a
//  new broker on the directory (a new run) has them, and a second broker
//  on it at once is refused
static void
test_broker_state_dir_keeps_queues_for_the_next_run (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    char dir[] = "/tmp/zmp-broker-XXXXXX";
    assert_non_null (mkdtemp (dir));
    s_state_dir = dir;
    void *first_state, *second_state;
    assert_int_equal (s_up (&first_state), 0);
    fixture_t *first = (fixture_t *) first_state;
    zsock_t *client = s_peer (first, ZMP_ROLE_CLIENT, 0, NULL);
    uint64_t first_run = s_welcome_run;
    uint64_t queue = s_new_queue (client, 1);
    msgpack_object forever = zmp_int (-1);
    msgpack_object item = zmp_str ("kept");
    s_object (client, 2, "put", queue, &forever, 1, &item);
    zmp_error_t error;
    zmp_value_t *value = s_outcome (client, 2, &error);
    assert_non_null (value);
    zmp_value_destroy (&value);
    //  One broker per directory
    assert_int_not_equal (s_up (&second_state), 0);
    assert_null (((fixture_t *) second_state)->broker);
    s_down (&second_state);
    s_down (&first_state);

    assert_int_equal (s_up (&second_state), 0);
    s_state_dir = NULL;
    fixture_t *second = (fixture_t *) second_state;
    client = s_peer (second, ZMP_ROLE_CLIENT, 0, NULL);
    assert_true (s_welcome_run != 0 && s_welcome_run != first_run);
    s_object (client, 1, "get", queue, &forever, 1, NULL);
    value = s_outcome (client, 1, &error);
    assert_non_null (value);
    assert_true (zmp_str_is (zmp_value_get (value), "kept"));
    zmp_value_destroy (&value);
    s_down (&second_state);
    //  A broker without one: a run of its own, and no queue
    client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    assert_true (s_welcome_run != 0 && s_welcome_run != first_run);
    s_object (client, 1, "get", queue, &forever, 1, NULL);
    assert_null (s_outcome (client, 1, &error));
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
    char path[64];
    snprintf (path, sizeof path, "%s/journal", dir);
    assert_int_equal (unlink (path), 0);
    snprintf (path, sizeof path, "%s/lock", dir);
    assert_int_equal (unlink (path), 0);
    assert_int_equal (rmdir (dir), 0);
}

static void
test_broker_hosts_shared_objects_for_clients (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    zmp_error_t error;
    uint64_t queue = s_new_queue (client, 1);
    zmp_value_t *value;
    //  A get that waits, answered by a put
    msgpack_object forever = zmp_int (-1);
    s_object (client, 2, "get", queue, &forever, 1, NULL);
    msgpack_object item = zmp_str ("item");
    s_object (client, 3, "put", queue, &forever, 1, &item);
    value = s_outcome (client, 2, &error);  //  The item goes to the get
    assert_true (zmp_str_is (zmp_value_get (value), "item"));
    zmp_value_destroy (&value);
    value = s_outcome (client, 3, &error);  //  Then the put is answered
    assert_int_equal (zmp_value_get (value)->type, MSGPACK_OBJECT_NIL);
    zmp_value_destroy (&value);
    //  A timed get is answered at its deadline, not at a heartbeat tick
    msgpack_object briefly = zmp_int (50);
    s_object (client, 4, "get", queue, &briefly, 1, NULL);
    assert_null (s_outcome (client, 4, &error));
    assert_int_equal (error.kind, ZMP_ERR_EMPTY);
    //  The status counts the object
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_STATUS);
    zframe_t *id = zmp_proto_encode_uint (5);
    zmsg_append (msg, &id);
    s_send (client, &msg);
    msg = s_recv_command (client, ZMP_PROTO_REPLY, 5000);
    zmsg_first (msg);
    zmsg_next (msg);
    zframe_t *body = zmsg_next (msg);
    zmp_value_t *status =
        zmp_value_decode (zframe_data (body), zframe_size (body), NULL);
    uint64_t count = 0;
    zmp_uint_get (
        zmp_map_get (zmp_map_get (zmp_value_get (status), "objects"), "count"),
        UINT64_MAX, &count);
    assert_int_equal (count, 1);
    zmp_value_destroy (&status);
    zmsg_destroy (&msg);
    //  A worker may not use objects; an OBJECT without its op is refused
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    s_object (worker, 6, "qsize", queue, NULL, 0, NULL);
    msg = s_recv_command (worker, ZMP_PROTO_ERROR, 5000);
    zmsg_first (msg);
    zmp_error_t notice;
    zmp_proto_decode_notice (zmsg_next (msg), &notice, NULL, NULL);
    assert_int_equal (notice.kind, ZMP_ERR_NOT_AUTHORIZED);
    zmsg_destroy (&msg);
    msg = zmp_proto_new (ZMP_PROTO_OBJECT);
    id = zmp_proto_encode_uint (7);
    zmsg_append (msg, &id);
    s_send (client, &msg);
    msg = s_recv_command (client, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_destroy (&msg);
    //  The same process saying HELLO again (it lost the broker a while)
    //  keeps its objects
    zmp_proto_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.role = ZMP_ROLE_CLIENT;
    hello.pid = 4242;
    snprintf (hello.host, sizeof hello.host, "test-host");
    msg = zmp_proto_new (ZMP_PROTO_HELLO);
    zframe_t *hello_body = zmp_proto_encode_hello (&hello);
    zmsg_append (msg, &hello_body);
    s_send (client, &msg);
    msg = s_recv_command (client, ZMP_PROTO_WELCOME, 5000);
    zmsg_destroy (&msg);
    s_object (client, 9, "qsize", queue, NULL, 0, NULL);
    value = s_outcome (client, 9, &error);
    assert_non_null (value);
    zmp_value_destroy (&value);
    //  A client that says goodbye takes its objects with it
    msg = zmp_proto_new (ZMP_PROTO_BYE);
    s_send (client, &msg);
    zsock_t *other = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_object (other, 8, "qsize", queue, NULL, 0, NULL);
    assert_null (s_outcome (other, 8, &error));
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
}

//  A client with a queue of one item falls silent past its liveness, then
//  its process says HELLO on a new connection (same pid, host and
//  session): within the grace period it finds its queue as it left it,
//  and keeps it after the old registration's grace ends; with no grace,
//  the queue went with the silent client
static void
s_client_comes_back (void **state, bool kept)
{
    fixture_t *fixture = (fixture_t *) *state;
    s_session = 77;
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    zmp_error_t error;
    uint64_t queue = s_new_queue (client, 1);
    zmp_value_t *value;
    msgpack_object none = zmp_int (0);
    msgpack_object item = zmp_str ("kept");
    s_object (client, 2, "put", queue, &none, 1, &item);
    value = s_outcome (client, 2, &error);
    assert_non_null (value);
    zmp_value_destroy (&value);
    //  Silent for 10 units: past liveness (3), within grace (3 + 15)
    int unit = testkit_ms (100);
    zclock_sleep (10 * unit);
    zsock_t *back = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_session = 0;
    s_object (back, 3, "get", queue, &none, 1, NULL);
    value = s_outcome (back, 3, &error);
    if (kept) {
        assert_non_null (value);
        assert_true (zmp_str_is (zmp_value_get (value), "kept"));
        zmp_value_destroy (&value);
        //  The old registration expires at 18 units: the queue is the new
        //  one's now (which itself would expire at 28)
        zclock_sleep (12 * unit);
        s_object (back, 4, "qsize", queue, NULL, 0, NULL);
        value = s_outcome (back, 4, &error);
        if (!value)
            fail_msg ("the queue went with the old registration: %s",
                      error.message);
    } else {
        assert_null (value);
        assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
    }
    zmp_value_destroy (&value);
}

static void
test_broker_keeps_a_silent_client_for_its_grace (void **state)
{
    s_client_comes_back (state, true);
}

static void
test_broker_without_grace_drops_a_silent_client (void **state)
{
    s_client_comes_back (state, false);
}

static void
test_broker_runs_a_process_outside_the_slots (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    //  Fill the worker's one slot, then start a Process: it goes at once
    s_submit (client, 1, 1, "sleep", 0);
    dispatched_t task;
    assert_int_equal (s_take_dispatch (worker, &task, 1, 5000), 1);
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_SUBMIT);
    zmp_proto_task_t header = { 7ull << 32, 0, ZMP_TASK_PROCESS, 0,
                                "seed.hello" };
    zframe_t *frame = zmp_proto_encode_task (&header);
    zmsg_append (msg, &frame);
    frame = zmp_proto_encode_uint (0);
    zmsg_append (msg, &frame);
    s_send (client, &msg);
    dispatched_t process;
    assert_int_equal (s_take_dispatch (worker, &process, 1, 5000), 1);
    assert_int_equal (process.header.slot, ZMP_PROTO_PROCESS_SLOT);
    //  Its start and output reach the client, in order
    msg = zmp_proto_new (ZMP_PROTO_PROCESS);
    zmp_proto_event_t started = { ZMP_PROTO_PROCESS_SLOT, process.header.seq,
                                  ZMP_EVENT_STARTED, 4242 };
    frame = zmp_proto_encode_event (&started);
    zmsg_append (msg, &frame);
    zmsg_addmem (msg, "\xa4node", 5);
    zmp_proto_event_t output = started;
    output.event = ZMP_EVENT_STDOUT;
    frame = zmp_proto_encode_event (&output);
    zmsg_append (msg, &frame);
    zmsg_addmem (msg, "\xc4\x03hi\n", 5);
    s_send (worker, &msg);
    msg = s_recv_command (client, ZMP_PROTO_PROCESS, 5000);
    assert_non_null (msg);
    assert_int_equal (zmsg_size (msg), 5);
    zmsg_first (msg);
    zmp_proto_task_event_t event;
    assert_int_equal (
        zmp_proto_decode_task_event (zmsg_next (msg), &event, NULL), 0);
    assert_int_equal (event.task_id, 7ull << 32);
    assert_int_equal (event.event, ZMP_EVENT_STARTED);
    assert_int_equal (event.pid, 4242);
    zmsg_destroy (&msg);
    //  KILL reaches the worker with the process's seq
    msg = zmp_proto_new (ZMP_PROTO_KILL);
    zmp_proto_kill_t kill = { .task_id = 7ull << 32, .signal = 15 };
    frame = zmp_proto_encode_kill (&kill);
    zmsg_append (msg, &frame);
    s_send (client, &msg);
    msg = s_recv_command (worker, ZMP_PROTO_KILL, 5000);
    assert_non_null (msg);
    zmsg_first (msg);
    assert_int_equal (
        zmp_proto_decode_kill_worker (zmsg_next (msg), &kill, NULL), 0);
    assert_int_equal (kill.slot, ZMP_PROTO_PROCESS_SLOT);
    assert_int_equal (kill.seq, process.header.seq);
    assert_int_equal (kill.signal, 15);
    zmsg_destroy (&msg);
    //  Its end is its RESULT
    s_done (worker, &process, 1, 0);
    uint64_t id;
    uint32_t status;
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 7ull << 32);
    //  A client may not send PROCESS events
    msg = zmp_proto_new (ZMP_PROTO_PROCESS);
    frame = zmp_proto_encode_event (&started);
    zmsg_append (msg, &frame);
    zmsg_addmem (msg, "\xc0", 1);
    s_send (client, &msg);
    msg = s_recv_command (client, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_destroy (&msg);
}

//  Send a DONE for task with status and pid, the value an error map
static void
s_done_as (zsock_t *worker, const dispatched_t *task, uint32_t status,
           int64_t pid)
{
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_DONE);
    zmp_proto_done_t done = { .slot = task->header.slot,
                              .seq = task->header.seq,
                              .status = status,
                              .pid = pid };
    zframe_t *header = zmp_proto_encode_done (&done);
    zmp_error_t error;
    zmp_error_set (&error, (zmp_error_kind_t) status, "gone");
    zframe_t *value = zmp_proto_encode_error (&error);
    zmsg_append (msg, &header);
    zmsg_append (msg, &value);
    s_send (worker, &msg);
}

//  A task whose process crashes or overruns runs again, each time with a
//  higher attempt, until the limit; then that error is its one result
static void
test_broker_runs_a_crashed_task_again_up_to_its_limit (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 1, "crash", 1);
    dispatched_t first, second, third;
    assert_int_equal (s_take_dispatch (worker, &first, 1, 5000), 1);
    assert_int_equal (first.header.attempt, 1);
    s_done_as (worker, &first, ZMP_ERR_CRASHED, 501);
    assert_int_equal (s_take_dispatch (worker, &second, 1, 5000), 1);
    assert_int_equal (second.header.attempt, 2);
    assert_int_equal (second.task_id, 1);
    s_done_as (worker, &second, ZMP_ERR_TIMEOUT, 502);
    assert_int_equal (s_take_dispatch (worker, &third, 1, 5000), 1);
    assert_int_equal (third.header.attempt, 3);
    //  A late answer for a superseded attempt changes nothing
    s_done_as (worker, &first, ZMP_ERR_NONE, 501);
    s_done_as (worker, &third, ZMP_ERR_CRASHED, 503);
    uint64_t id;
    uint32_t status;
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 1);
    assert_int_equal (status, ZMP_ERR_CRASHED);
    zmsg_t *msg = s_recv (client, 300);
    if (msg && zmp_proto_command (msg, NULL) == ZMP_PROTO_RESULT)
        fail_msg ("a second result came for the task");
    zmsg_destroy (&msg);
}

//  Beyond its queue limit a client's tasks are refused with full, at once;
//  once its queue drains it may submit again
static void
test_broker_refuses_tasks_beyond_a_clients_queue_limit (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 1, 5, "square", 1);
    uint64_t ids[2];
    uint32_t statuses[2];
    s_take_results (client, 2, ids, statuses);
    assert_int_equal (ids[0], 4);
    assert_int_equal (ids[1], 5);
    assert_int_equal (statuses[0], ZMP_ERR_FULL);
    assert_int_equal (statuses[1], ZMP_ERR_FULL);
    //  A worker takes the three (no prefetch: one slot, one at a time)
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 3, NULL);
    dispatched_t tasks[3];
    int count = 0;
    while (count < 3) {
        int taken = s_take_dispatch (worker, tasks + count, 3 - count, 5000);
        assert_true (taken > 0);
        count += taken;
    }
    s_submit (client, 6, 1, "square", 1);
    dispatched_t more;
    s_done (worker, tasks, 1, ZMP_ERR_NONE);
    assert_int_equal (s_take_dispatch (worker, &more, 1, 5000), 1);
    assert_int_equal (more.task_id, 6);
}

static void
test_broker_delivers_a_retried_tasks_success_once (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    s_submit (client, 7, 1, "square", 1);
    dispatched_t first, second;
    assert_int_equal (s_take_dispatch (worker, &first, 1, 5000), 1);
    s_done_as (worker, &first, ZMP_ERR_CRASHED, 601);
    assert_int_equal (s_take_dispatch (worker, &second, 1, 5000), 1);
    s_done (worker, &second, 1, ZMP_ERR_NONE);
    uint64_t id;
    uint32_t status;
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 7);
    assert_int_equal (status, ZMP_ERR_NONE);
    //  Task errors are the task's answer: not run again
    s_submit (client, 8, 1, "fail", 1);
    assert_int_equal (s_take_dispatch (worker, &first, 1, 5000), 1);
    s_done_as (worker, &first, ZMP_ERR_TASK, 0);
    s_take_results (client, 1, &id, &status);
    assert_int_equal (id, 8);
    assert_int_equal (status, ZMP_ERR_TASK);
}

static void
test_broker_releases_locks_of_a_dead_task_process_only (void **state)
{
    fixture_t *fixture = (fixture_t *) *state;
    //  The worker's pid is 4242; its task process 777 holds a lock
    zsock_t *worker = s_peer (fixture, ZMP_ROLE_WORKER, 1, NULL);
    zsock_t *task_process =
        s_peer_as (fixture, ZMP_ROLE_CLIENT, 0, NULL, 777, 4242);
    zsock_t *client = s_peer (fixture, ZMP_ROLE_CLIENT, 0, NULL);
    zmp_error_t error;
    msgpack_object kind = zmp_str ("lock");
    s_object (client, 1, "new", 0, &kind, 1, NULL);
    zmp_value_t *value = s_outcome (client, 1, &error);
    uint64_t lock;
    assert_true (zmp_handle_decode (zmp_value_get (value), NULL, &lock));
    zmp_value_destroy (&value);
    msgpack_object now[] = { zmp_uint (1), zmp_int (0) };
    s_object (task_process, 2, "acquire", lock, now, 2, NULL);
    value = s_outcome (task_process, 2, &error);
    zmp_value_destroy (&value);
    msgpack_object forever[] = { zmp_uint (1), zmp_int (-1) };
    s_object (client, 3, "acquire", lock, forever, 2, NULL);
    //  A cancelled task whose process lives (pid 0) changes nothing
    s_submit (client, 1, 2, "sleep", 0);
    dispatched_t tasks[2];
    int count = s_take_dispatch (worker, tasks, 2, 5000);
    assert_true (count >= 1);
    s_done_as (worker, &tasks[0], ZMP_ERR_CANCELLED, 0);
    uint64_t ids[2];
    uint32_t statuses[2];
    s_take_results (client, 1, ids, statuses);
    assert_int_equal (statuses[0], ZMP_ERR_CANCELLED);
    //  ...so the lock is still held: nothing else comes
    zmsg_t *msg = s_recv (client, 300);
    if (msg && zmp_proto_command (msg, NULL) != ZMP_PROTO_HEARTBEAT)
        fail_msg ("the waiter was answered: %s",
                  zmp_proto_command_name (zmp_proto_command (msg, NULL)));
    zmsg_destroy (&msg);
    //  A crash of process 777: its lock goes to the waiter, who is told
    if (count < 2)
        count += s_take_dispatch (worker, tasks + 1, 1, 5000);
    assert_int_equal (count, 2);
    s_done_as (worker, &tasks[1], ZMP_ERR_CRASHED, 777);
    s_take_results (client, 1, ids, statuses);
    msg = s_recv_command (client, ZMP_PROTO_REPLY, 5000);
    assert_non_null (msg);
    zmsg_first (msg);
    uint64_t id;
    zmp_proto_decode_uint (zmsg_next (msg), &id, NULL);
    assert_int_equal (id, 3);
    zframe_t *body = zframe_dup (zmsg_next (msg));
    zmsg_destroy (&msg);
    value = zmp_proto_decode_outcome (&body, &error);
    assert_non_null (value);
    assert_true (zmp_value_get (value)->via.boolean);  //  owner_died
    zmp_value_destroy (&value);
    //  And the dead process's connection is forgotten
    s_object (task_process, 4, "release", lock, now, 1, NULL);
    msg = s_recv_command (task_process, ZMP_PROTO_ERROR, 5000);
    assert_non_null (msg);
    zmsg_destroy (&msg);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (stderr);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_broker_runs_a_crashed_task_again_up_to_its_limit,
            s_up_crash_retries, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_delivers_a_retried_tasks_success_once,
            s_up_crash_retries, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_refuses_tasks_beyond_a_clients_queue_limit,
            s_up_small_queue, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_welcomes_peers_with_cluster_slots, s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_never_exceeds_slots_plus_prefetch, s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_takes_turns_between_clients, s_up_no_prefetch, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_caps_a_pool_at_its_processes, s_up, s_down),
        cmocka_unit_test_setup_teardown (test_broker_drops_stale_results, s_up,
                                         s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_reports_worker_lost_for_a_silent_worker,
            s_up_fast_heartbeat_no_retries, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_runs_a_lost_workers_tasks_elsewhere,
            s_up_fast_heartbeat, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_aborts_running_tasks_of_a_client_that_left,
            s_up_no_prefetch, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_cancel_stops_only_that_pool, s_up_no_prefetch, s_down),
        cmocka_unit_test_setup_teardown (test_broker_answers_status_under_load,
                                         s_up, s_down),
        cmocka_unit_test_setup_teardown (test_broker_survives_hostile_input,
                                         s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_keeps_a_peer_whose_message_it_refused, s_up, s_down),
        cmocka_unit_test_setup_teardown (test_broker_forgets_a_peer_after_bye,
                                         s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_hosts_shared_objects_for_clients, s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_state_dir_keeps_queues_for_the_next_run, s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_keeps_a_silent_client_for_its_grace, s_up_client_grace,
            s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_without_grace_drops_a_silent_client,
            s_up_no_client_grace, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_runs_a_process_outside_the_slots, s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_broker_releases_locks_of_a_dead_task_process_only, s_up,
            s_down),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
