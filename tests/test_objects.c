/*  test_objects - Process and the shared objects against a real broker and
    two worker agents

    Tasks on the two agents share one queue, one pipe, one lock; a producer
    and consumer run moves 100,000 items; a process dies holding a lock;
    thousands of objects come and go. The task side is objects_module.c,
    loaded by both workers.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <zmpool.h>

#include "zmp_testkit.h"
#include "zmp_value.h"

#include <czmq.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char endpoint[256];
    pid_t broker;
    pid_t workers[2];
} cluster_t;

static cluster_t s_cluster;
static bool s_teardown_failed = false;

static int
s_cluster_up (void **state)
{
    (void) state;
    const char *broker_args[] = { "--quiet", NULL };
    s_cluster.broker = testkit_broker_start (
        s_cluster.endpoint, sizeof s_cluster.endpoint, broker_args);
    const char *worker_args[] = { "--quiet", "--module", ZMP_TEST_MODULE,
                                  NULL };
    for (int index = 0; index < 2 && s_cluster.broker > 0; index++)
        s_cluster.workers[index] =
            testkit_worker_start (s_cluster.endpoint, 2, worker_args);
    return s_cluster.broker > 0 && s_cluster.workers[0] > 0
                   && s_cluster.workers[1] > 0
               ? 0
               : -1;
}

static int
s_cluster_down (void **state)
{
    (void) state;
    int rc = 0;
    for (int index = 0; index < 2; index++)
        rc |= testkit_stop_cleanly (s_cluster.workers[index]);
    rc |= testkit_stop_cleanly (s_cluster.broker);
    s_teardown_failed = rc != 0;
    return rc;
}

static zmp_client_t *
s_connect (void)
{
    zmp_error_t error;
    zmp_client_t *client =
        zmp_client_connect (s_cluster.endpoint, testkit_ms (5000), &error);
    if (!client)
        fail_msg ("cannot connect: %s", error.message);
    return client;
}

//  Start function (args) as a Process, its output dropped; fails the test
//  if it cannot
static zmp_process_t *
s_start (zmp_client_t *client, const char *function, msgpack_object *args,
         uint32_t count)
{
    msgpack_object array = zmp_array (args, count);
    zmp_error_t error;
    zmp_process_t *process =
        zmp_process_new (client, function, count ? &array : NULL, &error);
    assert_non_null (process);
    zmp_process_set_output (process, NULL, NULL);
    if (zmp_process_start (process, &error))
        fail_msg ("cannot start %s: %s", function, error.message);
    return process;
}

//  Join with a generous deadline; fails the test if it does not end
static void
s_join (zmp_process_t *process)
{
    zmp_error_t error;
    if (zmp_process_join (process, testkit_ms (60000), &error))
        fail_msg ("join: %s", error.message);
}

//  The broker's count of live objects
static uint64_t
s_objects (zmp_client_t *client)
{
    zmp_error_t error;
    zmp_value_t *status = zmp_client_status (client, 5000, &error);
    assert_non_null (status);
    const msgpack_object *objects =
        zmp_map_get (zmp_value_get (status), "objects");
    assert_non_null (objects);
    uint64_t count = 0;
    assert_int_equal (
        zmp_uint_get (zmp_map_get (objects, "count"), UINT64_MAX, &count), 0);
    zmp_value_destroy (&status);
    return count;
}

//  --------------------------------------------------------------------------
//  Process

typedef struct {
    char out[256];
    char err[256];
} captured_t;

static void
s_capture (zmp_process_t *process, int stream, const char *data, size_t size,
           void *arg)
{
    (void) process;
    captured_t *captured = (captured_t *) arg;
    char *buffer = stream == 1 ? captured->out : captured->err;
    size_t have = strlen (buffer);
    if (have + size < 256) {
        memcpy (buffer + have, data, size);
        buffer[have + size] = 0;
    }
}

static void
test_process_runs_and_its_output_reaches_the_caller (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    msgpack_object args[] = { zmp_str ("hello john") };
    msgpack_object array = zmp_array (args, 1);
    zmp_error_t error;
    zmp_process_t *process =
        zmp_process_new (client, "test.print", &array, &error);
    assert_int_equal (zmp_process_exitcode (process), ZMP_EXITCODE_NONE);
    assert_false (zmp_process_is_alive (process));
    captured_t captured = { "", "" };
    zmp_process_set_output (process, s_capture, &captured);
    assert_int_equal (zmp_process_start (process, &error), 0);
    assert_true (zmp_process_pid (process) > 0);
    char host[256];
    gethostname (host, sizeof host);
    assert_string_equal (zmp_process_host (process), host);
    assert_int_equal (zmp_process_start (process, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    s_join (process);
    assert_false (zmp_process_is_alive (process));
    assert_int_equal (zmp_process_exitcode (process), 0);
    assert_null (zmp_process_error (process));
    //  All its output came before join returned
    assert_string_equal (captured.out, "hello john\n");
    assert_string_equal (captured.err, "err: hello john\n");
    assert_true (zmp_str_is (zmp_process_result (process), "hello john"));
    //  What its function used, measured in it
    zmp_usage_t usage;
    assert_true (zmp_process_usage (process, &usage));
    assert_int_equal (usage.pid, zmp_process_pid (process));
    assert_string_equal (usage.host, host);
    assert_true (usage.max_rss_kib > 0);
    assert_true (usage.start_us > 1700000000LL * 1000000);
    //  Not a pool child: no pool slot was used, and it is gone
    assert_int_equal (kill ((pid_t) zmp_process_pid (process), 0), -1);
    zmp_process_destroy (&process);
    zmp_client_destroy (&client);
}

static void
test_process_exitcode_says_how_it_ended (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    struct {
        const char *function;
        msgpack_object arg;
        uint32_t count;
        int exitcode;
    } cases[] = {
        { "test.print", zmp_str ("fine"), 1, 0 },
        { "test.fail_code", zmp_int (42), 1, 42 },
        { "fail", zmp_str ("no"), 1, 1 },
        { "crash", zmp_nil (), 0, -SIGSEGV },
        { "test.exit", zmp_int (3), 1, 3 },
        { "no.such.function", zmp_nil (), 0, 1 },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        zmp_process_t *process =
            s_start (client, cases[index].function, &cases[index].arg,
                     cases[index].count);
        s_join (process);
        if (zmp_process_exitcode (process) != cases[index].exitcode)
            fail_msg ("%s: exitcode %d, expected %d", cases[index].function,
                      zmp_process_exitcode (process), cases[index].exitcode);
        if (cases[index].exitcode != 0)
            assert_non_null (zmp_process_error (process));
        zmp_process_destroy (&process);
    }
    zmp_client_destroy (&client);
}

static void
test_process_terminate_and_kill_end_it_with_the_signal (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    int signals[2] = { SIGTERM, SIGKILL };
    for (int index = 0; index < 2; index++) {
        zmp_process_t *process = s_start (client, "test.wait_forever", NULL, 0);
        assert_true (zmp_process_is_alive (process));
        zmp_error_t error;
        assert_int_equal (zmp_process_join (process, 100, &error), -1);
        assert_int_equal (error.kind, ZMP_ERR_WAIT_TIMEOUT);
        if (index == 0)
            assert_int_equal (zmp_process_terminate (process, &error), 0);
        else
            assert_int_equal (zmp_process_kill (process, &error), 0);
        s_join (process);
        assert_int_equal (zmp_process_exitcode (process), -signals[index]);
        zmp_process_destroy (&process);
    }
    zmp_client_destroy (&client);
}

//  --------------------------------------------------------------------------
//  Queue: 100,000 items, two producers, two consumers, on two agents

static void
test_queue_moves_100000_items_between_agents (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_queue_t *queue = zmp_queue_new (client, 0, &error);
    assert_non_null (queue);
    const int64_t per_producer = 50000;
    zmp_process_t *consumers[2], *producers[2];
    for (int index = 0; index < 2; index++) {
        msgpack_object args[] = { zmp_queue_handle (queue) };
        consumers[index] = s_start (client, "test.drain", args, 1);
    }
    for (int index = 0; index < 2; index++) {
        msgpack_object args[] = { zmp_queue_handle (queue), zmp_int (index),
                                  zmp_int (per_producer) };
        producers[index] = s_start (client, "test.put_range", args, 3);
    }
    for (int index = 0; index < 2; index++) {
        s_join (producers[index]);
        assert_int_equal (zmp_process_exitcode (producers[index]), 0);
    }
    //  One end mark per consumer
    msgpack_object nil = zmp_nil ();
    for (int index = 0; index < 2; index++)
        assert_int_equal (zmp_queue_put (queue, &nil, ZMP_FOREVER, &error), 0);
    //  Every item exactly once, and each producer's in order per consumer
    bool *seen = (bool *) calloc (2 * (size_t) per_producer, sizeof (bool));
    int64_t total = 0;
    for (int index = 0; index < 2; index++) {
        s_join (consumers[index]);
        if (zmp_process_exitcode (consumers[index]) != 0)
            fail_msg ("consumer: %s",
                      zmp_process_error (consumers[index])->message);
        const msgpack_object *items = zmp_process_result (consumers[index]);
        assert_int_equal (items->type, MSGPACK_OBJECT_ARRAY);
        int64_t last[2] = { -1, -1 };
        for (uint32_t item = 0; item < items->via.array.size; item++) {
            const msgpack_object *pair = &items->via.array.ptr[item];
            int64_t producer = pair->via.array.ptr[0].via.i64;
            int64_t seq = pair->via.array.ptr[1].via.i64;
            assert_true (producer == 0 || producer == 1);
            assert_true (seq > last[producer]);
            last[producer] = seq;
            assert_false (seen[producer * per_producer + seq]);
            seen[producer * per_producer + seq] = true;
            total++;
        }
    }
    assert_int_equal (total, 2 * per_producer);
    free (seen);
    zmp_queue_destroy (&queue);
    for (int index = 0; index < 2; index++) {
        zmp_process_destroy (&producers[index]);
        zmp_process_destroy (&consumers[index]);
    }
    zmp_client_destroy (&client);
}

//  Two processes started together go to the two agents (a process's
//  parent is its agent's spawner)
static void
s_spread_check (zmp_client_t *client)
{
    zmp_process_t *first = s_start (client, "test.ppid", NULL, 0);
    zmp_process_t *second = s_start (client, "test.ppid", NULL, 0);
    s_join (first);
    s_join (second);
    assert_int_not_equal (zmp_process_result (first)->via.i64,
                          zmp_process_result (second)->via.i64);
    zmp_process_destroy (&first);
    zmp_process_destroy (&second);
}

static void
test_pool_tasks_take_a_queue_handle (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    s_spread_check (client);
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    zmp_queue_t *queue = zmp_queue_new (client, 3, &error);  //  Bounded
    msgpack_object args[] = { zmp_queue_handle (queue), zmp_int (9),
                              zmp_int (10) };
    msgpack_object array = zmp_array (args, 3);
    zmp_async_t *async = zmp_pool_apply_async (pool, "test.put_range", &array,
                                               NULL, NULL, NULL, &error);
    assert_non_null (async);
    //  The queue holds 3: the task waits for room while we take
    for (int64_t seq = 0; seq < 10; seq++) {
        zmp_value_t *item = zmp_queue_get (queue, testkit_ms (10000), &error);
        if (!item)
            fail_msg ("get: %s", error.message);
        assert_int_equal (zmp_value_get (item)->via.array.ptr[0].via.i64, 9);
        assert_int_equal (zmp_value_get (item)->via.array.ptr[1].via.i64, seq);
        zmp_value_destroy (&item);
    }
    const msgpack_object *put =
        zmp_async_get (async, testkit_ms (10000), &error);
    assert_non_null (put);
    assert_int_equal (put->via.i64, 10);
    assert_true (zmp_queue_empty (queue));
    assert_false (zmp_queue_full (queue));
    zmp_async_destroy (&async);

    //  A handle of the wrong kind fails the task, with a reason
    zmp_lock_t *lock = zmp_lock_new (client, &error);
    msgpack_object wrong[] = { zmp_lock_handle (lock), zmp_int (1),
                               zmp_int (1) };
    array = zmp_array (wrong, 3);
    zmp_value_t *value =
        zmp_pool_apply (pool, "test.put_range", &array, &error);
    assert_null (value);
    assert_int_equal (error.kind, ZMP_ERR_TASK);
    assert_non_null (strstr (error.message, "lock"));
    zmp_lock_destroy (&lock);
    zmp_queue_destroy (&queue);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_pipe_between_processes_on_two_agents (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_connection_t *end1, *end2;
    assert_int_equal (zmp_pipe_new (client, true, &end1, &end2, &error), 0);
    msgpack_object echo_args[] = { zmp_connection_handle (end2) };
    msgpack_object ping_args[] = { zmp_connection_handle (end1),
                                   zmp_int (100) };
    zmp_process_t *echo = s_start (client, "test.pipe_echo", echo_args, 1);
    zmp_process_t *ping = s_start (client, "test.pipe_ping", ping_args, 2);
    s_join (ping);
    s_join (echo);  //  Ended by end of file, once ping closed its end
    assert_int_equal (zmp_process_exitcode (ping), 0);
    assert_int_equal (zmp_process_exitcode (echo), 0);
    assert_int_equal (zmp_process_result (ping)->via.i64, 100 * 101);
    assert_int_equal (zmp_process_result (echo)->via.i64, 100);
    zmp_process_destroy (&echo);
    zmp_process_destroy (&ping);
    zmp_connection_destroy (&end1);
    zmp_connection_destroy (&end2);
    zmp_client_destroy (&client);
}

static void
test_lock_keeps_two_agents_from_racing (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_lock_t *lock = zmp_lock_new (client, &error);
    zmp_shared_value_t *value =
        zmp_shared_value_new (client, 'i', zmp_int (0), &error);
    assert_non_null (value);
    zmp_process_t *processes[4];
    for (int index = 0; index < 4; index++) {
        msgpack_object args[] = { zmp_lock_handle (lock),
                                  zmp_shared_value_handle (value),
                                  zmp_int (100) };
        processes[index] = s_start (client, "test.count_under_lock", args, 3);
    }
    for (int index = 0; index < 4; index++) {
        s_join (processes[index]);
        assert_int_equal (zmp_process_exitcode (processes[index]), 0);
        zmp_process_destroy (&processes[index]);
    }
    int64_t total;
    assert_int_equal (zmp_shared_value_get_int (value, &total, &error), 0);
    assert_int_equal (total, 400);
    zmp_shared_value_destroy (&value);
    zmp_lock_destroy (&lock);
    zmp_client_destroy (&client);
}

static void
test_lock_of_a_dead_process_goes_to_the_next_one_told (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_lock_t *lock = zmp_lock_new (client, &error);
    zmp_event_t *taken = zmp_event_new (client, &error);
    msgpack_object args[] = { zmp_lock_handle (lock),
                              zmp_event_handle (taken) };
    zmp_process_t *holder = s_start (client, "test.hold_lock", args, 2);
    assert_int_equal (zmp_event_wait (taken, testkit_ms (10000), &error), 0);
    assert_int_equal (zmp_lock_acquire (lock, 0, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_WAIT_TIMEOUT);
    zmp_process_kill (holder, &error);
    //  Released at its death, not after its connection timed out (5 s)
    int rc = zmp_lock_acquire (lock, testkit_ms (3000), &error);
    if (rc < 0)
        fail_msg ("acquire: %s", error.message);
    assert_int_equal (rc, ZMP_OWNER_DIED);
    assert_int_equal (zmp_lock_release (lock, &error), 0);
    assert_int_equal (zmp_lock_acquire (lock, 0, &error), 0);
    assert_int_equal (zmp_lock_release (lock, &error), 0);
    s_join (holder);
    assert_int_equal (zmp_process_exitcode (holder), -SIGKILL);
    zmp_process_destroy (&holder);
    zmp_event_destroy (&taken);
    zmp_lock_destroy (&lock);
    zmp_client_destroy (&client);
}

//  --------------------------------------------------------------------------
//  Lifetimes

static void
test_objects_come_and_go_without_leaks (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    uint64_t before = s_objects (client);
    zmp_error_t error;
    for (int round = 0; round < 500; round++) {
        zmp_queue_t *queue = zmp_queue_new (client, 0, &error);
        msgpack_object item = zmp_int (round);
        zmp_queue_put (queue, &item, 0, &error);
        zmp_connection_t *end1, *end2;
        zmp_pipe_new (client, round % 2, &end1, &end2, &error);
        zmp_lock_t *lock = zmp_rlock_new (client, &error);
        zmp_lock_acquire (lock, 0, &error);
        zmp_dict_t *dict = zmp_dict_new (client, &error);
        zmp_dict_set (dict, &item, &item, &error);
        zmp_list_t *list = zmp_list_new (client, NULL, &error);
        assert_non_null (list);
        zmp_queue_destroy (&queue);
        zmp_connection_destroy (&end1);
        zmp_connection_destroy (&end2);
        zmp_lock_destroy (&lock);
        zmp_dict_destroy (&dict);
        zmp_list_destroy (&list);
    }
    assert_int_equal (s_objects (client), before);

    //  A process that ends takes what it made, and never let go of, with it
    msgpack_object count = zmp_int (1000);
    zmp_process_t *maker = s_start (client, "test.make_objects", &count, 1);
    s_join (maker);
    assert_int_equal (zmp_process_exitcode (maker), 0);
    zmp_process_destroy (&maker);
    //  The broker lets go when the process's connection says goodbye
    for (int tries = 0; tries < 250 && s_objects (client) != before; tries++)
        usleep (20000);
    assert_int_equal (s_objects (client), before);
    zmp_client_destroy (&client);
}

static void
test_a_handle_to_a_gone_object_is_refused (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_queue_t *queue = zmp_queue_new (client, 0, &error);
    msgpack_object handle = zmp_queue_handle (queue);
    char copy[16];
    memcpy (copy, handle.via.ext.ptr, handle.via.ext.size);
    handle.via.ext.ptr = copy;
    zmp_queue_destroy (&queue);
    msgpack_object args[] = { handle, zmp_int (0), zmp_int (1) };
    msgpack_object array = zmp_array (args, 3);
    zmp_process_t *process =
        zmp_process_new (client, "test.put_range", &array, &error);
    assert_int_equal (zmp_process_start (process, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
    zmp_process_destroy (&process);
    assert_null (zmp_queue_attach (client, &handle, &error));
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
    zmp_client_destroy (&client);
}


//  --------------------------------------------------------------------------
//  The API's answers, between threads with clients of their own

static void
test_queue_timeouts_bounds_close_and_join (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_queue_t *queue = zmp_queue_new (client, 2, &error);
    //  A get waits for its timeout in the broker, then says empty
    int64_t start = zclock_mono ();
    assert_null (zmp_queue_get (queue, 200, &error));
    assert_int_equal (error.kind, ZMP_ERR_EMPTY);
    int64_t waited = zclock_mono () - start;
    assert_true (waited >= 200 && waited < testkit_ms (5000));
    msgpack_object item = zmp_int (1);
    assert_int_equal (zmp_queue_put_nowait (queue, &item, &error), 0);
    assert_int_equal (zmp_queue_put_nowait (queue, &item, &error), 0);
    assert_true (zmp_queue_full (queue));
    assert_int_equal (zmp_queue_put_nowait (queue, &item, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_FULL);
    assert_int_equal (zmp_queue_qsize (queue, &error), 2);
    assert_int_equal (zmp_queue_close (queue, &error), 0);
    assert_int_equal (zmp_queue_put (queue, &item, 0, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_CLOSED);
    for (int taken = 0; taken < 2; taken++) {
        zmp_value_t *value = zmp_queue_get_nowait (queue, &error);
        assert_non_null (value);
        zmp_value_destroy (&value);
    }
    assert_null (zmp_queue_get (queue, ZMP_FOREVER, &error));
    assert_int_equal (error.kind, ZMP_ERR_CLOSED);
    assert_int_equal (zmp_queue_task_done (queue, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    zmp_queue_destroy (&queue);

    zmp_queue_t *joinable = zmp_joinable_queue_new (client, 0, &error);
    assert_int_equal (zmp_queue_put (joinable, &item, 0, &error), 0);
    assert_int_equal (zmp_queue_join (joinable, 0, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_WAIT_TIMEOUT);
    zmp_value_t *value = zmp_queue_get (joinable, ZMP_FOREVER, &error);
    zmp_value_destroy (&value);
    assert_int_equal (zmp_queue_task_done (joinable, &error), 0);
    assert_int_equal (zmp_queue_join (joinable, 0, &error), 0);
    assert_int_equal (zmp_queue_task_done (joinable, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_RANGE);
    zmp_queue_destroy (&joinable);
    zmp_client_destroy (&client);
}

typedef struct {
    msgpack_object handles[4];  //  event, barrier, condition, value
    char data[4][16];           //  The handles' bytes
    int barrier_index;
    int condition_rc;
} partner_t;

//  The other party: its own client, as another process would have
static void *
s_partner (void *arg)
{
    partner_t *partner = (partner_t *) arg;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_event_t *event =
        zmp_event_attach (client, &partner->handles[0], &error);
    zmp_barrier_t *barrier =
        zmp_barrier_attach (client, &partner->handles[1], &error);
    zmp_condition_t *condition =
        zmp_condition_attach (client, &partner->handles[2], &error);
    zmp_shared_value_t *value =
        zmp_shared_value_attach (client, &partner->handles[3], &error);
    assert_non_null (value);
    assert_int_equal (zmp_event_wait (event, testkit_ms (10000), &error), 0);
    partner->barrier_index =
        zmp_barrier_wait (barrier, testkit_ms (10000), &error);
    //  Change the value under the condition's lock, then notify
    zmp_condition_acquire (condition, ZMP_FOREVER, &error);
    zmp_shared_value_set (value, zmp_int (42), &error);
    partner->condition_rc = zmp_condition_notify_all (condition, &error);
    zmp_condition_release (condition, &error);
    zmp_shared_value_destroy (&value);
    zmp_condition_destroy (&condition);
    zmp_barrier_destroy (&barrier);
    zmp_event_destroy (&event);
    zmp_client_destroy (&client);
    return NULL;
}

static bool
s_is_42 (void *arg)
{
    int64_t number = 0;
    zmp_shared_value_get_int ((zmp_shared_value_t *) arg, &number, NULL);
    return number == 42;
}

static void
test_event_barrier_condition_between_two_clients (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_event_t *event = zmp_event_new (client, &error);
    zmp_barrier_t *barrier = zmp_barrier_new (client, 2, &error);
    zmp_condition_t *condition = zmp_condition_new (client, &error);
    zmp_shared_value_t *value =
        zmp_shared_value_new (client, 'q', zmp_int (0), &error);
    partner_t partner;
    memset (&partner, 0, sizeof partner);
    msgpack_object handles[4] = { zmp_event_handle (event),
                                  zmp_barrier_handle (barrier),
                                  zmp_condition_handle (condition),
                                  zmp_shared_value_handle (value) };
    for (int index = 0; index < 4; index++) {
        memcpy (partner.data[index], handles[index].via.ext.ptr,
                handles[index].via.ext.size);
        partner.handles[index] = handles[index];
        partner.handles[index].via.ext.ptr = partner.data[index];
    }
    assert_false (zmp_event_is_set (event));
    assert_int_equal (zmp_barrier_parties (barrier, &error), 2);
    pthread_t thread;
    pthread_create (&thread, NULL, s_partner, &partner);
    //  Take the condition's lock before the partner can change the value
    assert_int_equal (zmp_condition_acquire (condition, ZMP_FOREVER, &error),
                      0);
    assert_int_equal (zmp_event_set (event, &error), 0);
    assert_true (zmp_event_is_set (event));
    int index = zmp_barrier_wait (barrier, testkit_ms (10000), &error);
    assert_true (index == 0 || index == 1);
    //  wait_for releases the lock while it waits, and holds it on return
    assert_int_equal (zmp_condition_wait_for (condition, s_is_42, value,
                                              testkit_ms (10000), &error),
                      0);
    assert_int_equal (zmp_condition_release (condition, &error), 0);
    pthread_join (thread, NULL);
    assert_int_equal (partner.barrier_index + index, 1);
    assert_int_equal (partner.condition_rc, 0);
    //  A condition wait without its lock is refused
    assert_int_equal (zmp_condition_wait (condition, 0, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    zmp_shared_value_destroy (&value);
    zmp_condition_destroy (&condition);
    zmp_barrier_destroy (&barrier);
    zmp_event_destroy (&event);
    zmp_client_destroy (&client);
}

static void
test_semaphores_dicts_and_lists_say_what_is_wrong (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_lock_t *semaphore = zmp_bounded_semaphore_new (client, 1, &error);
    assert_int_equal (zmp_lock_acquire (semaphore, 0, &error), 0);
    assert_int_equal (zmp_lock_acquire (semaphore, 0, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_WAIT_TIMEOUT);
    assert_int_equal (zmp_lock_release (semaphore, &error), 0);
    assert_int_equal (zmp_lock_release (semaphore, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_RANGE);
    zmp_lock_destroy (&semaphore);

    zmp_dict_t *dict = zmp_dict_new (client, &error);
    msgpack_object key = zmp_str ("missing");
    assert_null (zmp_dict_get (dict, &key, &error));
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
    assert_int_equal (zmp_dict_contains (dict, &key, &error), 0);
    assert_int_equal (zmp_dict_len (dict, &error), 0);
    zmp_dict_destroy (&dict);

    zmp_list_t *list = zmp_list_new (client, NULL, &error);
    assert_null (zmp_list_get (list, 0, &error));
    assert_int_equal (error.kind, ZMP_ERR_RANGE);
    msgpack_object item = zmp_int (7);
    assert_int_equal (zmp_list_append (list, &item, &error), 0);
    assert_int_equal (zmp_list_insert (list, 0, &item, &error), 0);
    assert_int_equal (zmp_list_len (list, &error), 2);
    zmp_list_destroy (&list);

    zmp_shared_array_t *array = zmp_shared_array_new (client, 'B', &item,
                                                      &error);  //  7 zeros
    assert_int_equal (zmp_shared_array_len (array, &error), 7);
    double sum;
    assert_int_equal (
        zmp_shared_array_add (array, -1, zmp_int (300), &sum, &error), 0);
    assert_true (sum == 44);  //  300 wraps to 44 in an unsigned byte
    assert_int_equal (zmp_shared_array_set (array, 7, zmp_int (1), &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_RANGE);
    zmp_shared_array_destroy (&array);
    zmp_client_destroy (&client);
}

static int
s_teardown_check (void)
{
    if (s_teardown_failed) {
        fprintf (stderr, "cluster did not stop cleanly\n");
        return 1;
    }
    return 0;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_process_runs_and_its_output_reaches_the_caller),
        cmocka_unit_test (test_process_exitcode_says_how_it_ended),
        cmocka_unit_test (
            test_process_terminate_and_kill_end_it_with_the_signal),
        cmocka_unit_test (test_queue_moves_100000_items_between_agents),
        cmocka_unit_test (test_pool_tasks_take_a_queue_handle),
        cmocka_unit_test (test_pipe_between_processes_on_two_agents),
        cmocka_unit_test (test_lock_keeps_two_agents_from_racing),
        cmocka_unit_test (
            test_lock_of_a_dead_process_goes_to_the_next_one_told),
        cmocka_unit_test (test_queue_timeouts_bounds_close_and_join),
        cmocka_unit_test (test_event_barrier_condition_between_two_clients),
        cmocka_unit_test (test_semaphores_dicts_and_lists_say_what_is_wrong),
        cmocka_unit_test (test_objects_come_and_go_without_leaks),
        cmocka_unit_test (test_a_handle_to_a_gone_object_is_refused),
    };
    int failed = cmocka_run_group_tests (tests, s_cluster_up, s_cluster_down);
    return failed ? failed : s_teardown_check ();
}
