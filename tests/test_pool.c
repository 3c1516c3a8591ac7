/*  test_pool - the client Pool API against a real broker and worker agent

    One broker and one agent with two task processes serve every test in
    the group (started in the group setup, stopped in its teardown, even
    when a test fails). Each test makes its own client, so a test that
    breaks its client cannot hurt the next.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <zmpool.h>

#include "zmp_curve.h"
#include "zmp_testkit.h"
#include "zmp_value.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    char endpoint[256];
    pid_t broker;
    pid_t worker;
} cluster_t;

static cluster_t s_cluster;
static bool s_teardown_failed = false;  //  Shutdown was not clean

static int
s_cluster_up (void **state)
{
    (void) state;
    const char *broker_args[] = { "--quiet", NULL };
    s_cluster.broker = testkit_broker_start (
        s_cluster.endpoint, sizeof s_cluster.endpoint, broker_args);
    const char *worker_args[] = { "--quiet",  "--grace-ms",    "300",
                                  "--module", ZMP_TEST_MODULE, NULL };
    if (s_cluster.broker > 0)
        s_cluster.worker =
            testkit_worker_start (s_cluster.endpoint, 2, worker_args);
    return s_cluster.broker > 0 && s_cluster.worker > 0 ? 0 : -1;
}

static int
s_cluster_down (void **state)
{
    (void) state;
    int worker = testkit_stop_cleanly (s_cluster.worker);
    int broker = testkit_stop_cleanly (s_cluster.broker);
    //  cmocka 1.1 reports a failed group teardown but still exits 0
    s_teardown_failed = worker || broker;
    return s_teardown_failed ? -1 : 0;
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

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void
test_pool_map_returns_results_in_order (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    assert_non_null (pool);
    assert_int_equal (zmp_pool_processes (pool), 2);
    enum {
        COUNT = 2000
    };
    msgpack_object *items =
        (msgpack_object *) malloc (COUNT * sizeof (msgpack_object));
    for (int index = 0; index < COUNT; index++)
        items[index] = zmp_int (index - 1000);
    size_t chunksizes[] = { 0, 1, 7 };
    for (size_t run = 0; run < 3; run++) {
        zmp_results_t *results = zmp_pool_map (pool, "square", items, COUNT,
                                               chunksizes[run], &error);
        assert_non_null (results);
        assert_int_equal (zmp_results_size (results), COUNT);
        for (int index = 0; index < COUNT; index++) {
            int64_t value;
            assert_int_equal (
                zmp_int_get (zmp_results_get (results, index), &value), 0);
            assert_int_equal (value, (int64_t) (index - 1000) * (index - 1000));
        }
        zmp_results_destroy (&results);
    }
    free (items);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_pool_starmap_finds_armstrong_numbers (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);
    msgpack_object bounds[4][2] = { { zmp_int (100), zmp_int (1000) },
                                    { zmp_int (1000), zmp_int (10000) },
                                    { zmp_int (10), zmp_int (100) },
                                    { zmp_int (24678000),
                                      zmp_int (24678100) } };
    msgpack_object items[4];
    for (int index = 0; index < 4; index++)
        items[index] = zmp_array (bounds[index], 2);
    zmp_error_t error;
    zmp_results_t *results =
        zmp_pool_starmap (pool, "armstrong", items, 4, 1, &error);
    assert_non_null (results);
    const msgpack_object *three_digits = zmp_results_get (results, 0);
    assert_int_equal (three_digits->via.array.size, 4);
    assert_int_equal (three_digits->via.array.ptr[0].via.u64, 153);
    assert_int_equal (three_digits->via.array.ptr[3].via.u64, 407);
    assert_int_equal (zmp_results_get (results, 1)->via.array.size, 3);
    assert_int_equal (zmp_results_get (results, 2)->via.array.size, 0);
    const msgpack_object *seed = zmp_results_get (results, 3);
    assert_int_equal (seed->via.array.size, 2);
    assert_int_equal (seed->via.array.ptr[0].via.u64, 24678050);
    assert_int_equal (seed->via.array.ptr[1].via.u64, 24678051);
    zmp_results_destroy (&results);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

//  A source that counts how often it is asked, over 0, 1, 2 ... limit-1
typedef struct {
    int next;
    int limit;
    msgpack_object item;
} counter_source_t;

static const msgpack_object *
s_counter (void *state)
{
    counter_source_t *source = (counter_source_t *) state;
    if (source->next >= source->limit)
        return NULL;
    source->item = zmp_int (source->next++);
    return &source->item;
}

static void
test_pool_imap_is_lazy_and_ordered (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);
    counter_source_t source = { 0, 100000, { 0 } };
    zmp_error_t error;
    zmp_iter_t *iter =
        zmp_pool_imap (pool, "square", s_counter, &source, 1, &error);
    assert_non_null (iter);
    //  Nothing is pulled before the first result is asked for
    assert_int_equal (source.next, 0);
    const msgpack_object *value = zmp_iter_next (iter, ZMP_FOREVER, &error);
    assert_non_null (value);
    assert_int_equal (value->via.i64, 0);
    //  Only a bounded window was pulled, not the hundred thousand
    assert_true (source.next > 0 && source.next <= 1024);
    for (int expected = 1; expected < 3000; expected++) {
        value = zmp_iter_next (iter, ZMP_FOREVER, &error);
        assert_non_null (value);
        assert_int_equal (value->via.i64, (int64_t) expected * expected);
        assert_int_equal (zmp_iter_index (iter), expected);
    }
    assert_false (zmp_iter_done (iter));
    //  Stop early: the rest is never pulled
    zmp_iter_destroy (&iter);
    assert_true (source.next < 5000);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_pool_imap_unordered_returns_every_item_once (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);
    enum {
        COUNT = 500
    };
    counter_source_t source = { 0, COUNT, { 0 } };
    zmp_error_t error;
    zmp_iter_t *iter =
        zmp_pool_imap_unordered (pool, "square", s_counter, &source, 3, &error);
    assert_non_null (iter);
    bool seen[COUNT] = { false };
    int taken = 0;
    while (!zmp_iter_done (iter)) {
        const msgpack_object *value = zmp_iter_next (iter, ZMP_FOREVER, &error);
        assert_non_null (value);
        size_t index = zmp_iter_index (iter);
        assert_true (index < COUNT);
        assert_false (seen[index]);
        seen[index] = true;
        assert_int_equal (value->via.i64, (int64_t) index * (int64_t) index);
        taken++;
    }
    assert_int_equal (taken, COUNT);
    assert_null (zmp_iter_next (iter, 0, &error));
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    zmp_iter_destroy (&iter);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

//  What callbacks saw, for the callback test
typedef struct {
    pthread_mutex_t mutex;
    pthread_t caller;
    int successes;
    int failures;
    int64_t sum;
    bool on_caller_thread;
    zmp_error_kind_t failure_kind;
} callbacks_t;

static void
s_on_success (zmp_async_t *result, void *arg)
{
    callbacks_t *seen = (callbacks_t *) arg;
    zmp_error_t error;
    const msgpack_object *value = zmp_async_get (result, 0, &error);
    usleep (20000);  //  A slow callback: join must wait for it
    pthread_mutex_lock (&seen->mutex);
    seen->successes++;
    if (value)
        seen->sum += value->via.i64;
    if (pthread_equal (pthread_self (), seen->caller))
        seen->on_caller_thread = true;
    pthread_mutex_unlock (&seen->mutex);
}

static void
s_on_failure (zmp_async_t *result, void *arg)
{
    callbacks_t *seen = (callbacks_t *) arg;
    zmp_error_t error;
    assert_null (zmp_async_get (result, 0, &error));
    pthread_mutex_lock (&seen->mutex);
    seen->failures++;
    seen->failure_kind = error.kind;
    pthread_mutex_unlock (&seen->mutex);
}

static void
test_pool_apply_async_runs_callbacks_off_the_caller_thread (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);
    callbacks_t seen;
    memset (&seen, 0, sizeof seen);
    pthread_mutex_init (&seen.mutex, NULL);
    seen.caller = pthread_self ();
    zmp_error_t error;
    for (int index = 1; index <= 10; index++) {
        msgpack_object arg = zmp_int (index);
        msgpack_object args = zmp_array (&arg, 1);
        zmp_async_t *async = zmp_pool_apply_async (
            pool, "square", &args, s_on_success, s_on_failure, &seen, &error);
        assert_non_null (async);
        zmp_async_destroy (&async);  //  Callbacks still run
    }
    msgpack_object message = zmp_str ("boom");
    msgpack_object fail_args = zmp_array (&message, 1);
    zmp_async_t *failing = zmp_pool_apply_async (
        pool, "fail", &fail_args, s_on_success, s_on_failure, &seen, &error);
    assert_non_null (failing);
    zmp_pool_close (pool);
    assert_int_equal (zmp_pool_join (pool, testkit_ms (10000), &error), 0);
    assert_int_equal (zmp_async_wait (failing, testkit_ms (5000)), 0);
    assert_false (zmp_async_successful (failing));
    zmp_async_destroy (&failing);
    //  join waited for the results and for their callbacks, as Python's
    //  join waits for its result handler
    pthread_mutex_lock (&seen.mutex);
    assert_int_equal (seen.successes, 10);
    assert_int_equal (seen.sum, 385);
    assert_int_equal (seen.failures, 1);
    assert_int_equal (seen.failure_kind, ZMP_ERR_TASK);
    assert_false (seen.on_caller_thread);
    pthread_mutex_unlock (&seen.mutex);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    pthread_mutex_destroy (&seen.mutex);
}

//  The worker's first (only) entry of a status map
static uint64_t
s_worker_field (const zmp_value_t *status, const char *key, bool *present)
{
    const msgpack_object *workers =
        zmp_map_get (zmp_value_get (status), "workers");
    const msgpack_object *field =
        workers && workers->type == MSGPACK_OBJECT_ARRAY
                && workers->via.array.size
            ? zmp_map_get (&workers->via.array.ptr[0], key)
            : NULL;
    uint64_t value = 0;
    *present = field && zmp_uint_get (field, UINT64_MAX, &value) == 0;
    return value;
}

//  Each result says what its task cost, measured where it ran: a busy task
//  used CPU, a sleeping one hardly any; the pool sums
//  them, and the broker's status counts them for the worker, with the
//  host's load from the agent's heartbeats
static void
test_pool_results_carry_what_their_task_used (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);
    zmp_error_t error;
    struct timespec before;
    clock_gettime (CLOCK_REALTIME, &before);
    msgpack_object range[] = { zmp_int (0), zmp_int (10000000) };
    msgpack_object busy_args = zmp_array (range, 2);
    zmp_async_t *busy = zmp_pool_apply_async (pool, "armstrong", &busy_args,
                                              NULL, NULL, NULL, &error);
    msgpack_object ms = zmp_int (300);
    msgpack_object sleep_args = zmp_array (&ms, 1);
    zmp_async_t *sleepy = zmp_pool_apply_async (pool, "sleep", &sleep_args,
                                                NULL, NULL, NULL, &error);
    assert_non_null (busy);
    assert_non_null (sleepy);
    zmp_usage_t usage;
    assert_false (zmp_async_usage (sleepy, &usage));  //  Not ready yet
    assert_non_null (zmp_async_get (busy, testkit_ms (20000), &error));
    assert_non_null (zmp_async_get (sleepy, testkit_ms (20000), &error));

    char host[256];
    gethostname (host, sizeof host);
    int64_t before_us =
        (int64_t) before.tv_sec * 1000000 + before.tv_nsec / 1000 - 1000000;
    assert_true (zmp_async_usage (busy, &usage));
    assert_string_equal (usage.host, host);
    assert_true (usage.pid > 0);
    assert_true (usage.start_us >= before_us);
    //  CPU time, unlike wall time, does not grow when other processes
    //  share the cores: the search takes some 140 ms of it here, and one
    //  process cannot use more than its wall time
    assert_true (usage.user_us + usage.system_us >= 50000);
    assert_true (usage.user_us + usage.system_us <= usage.wall_us + 10000);
    assert_true (usage.max_rss_kib > 100);
    int64_t busy_cpu = usage.user_us + usage.system_us;

    assert_true (zmp_async_usage (sleepy, &usage));
    assert_true (usage.wall_us >= 290000);
    assert_true (usage.user_us + usage.system_us < usage.wall_us / 2);

    zmp_pool_usage_t sums;
    zmp_pool_usage (pool, &sums);
    assert_int_equal (sums.tasks, 2);
    assert_true (sums.user_us + sums.system_us >= busy_cpu);
    assert_true (sums.wall_us >= 290000);
    assert_true (sums.max_rss_kib > 100);
    zmp_async_destroy (&busy);
    zmp_async_destroy (&sleepy);

    //  A failed task still says what it used; a chunk of imap says its own
    msgpack_object message = zmp_str ("no");
    msgpack_object fail_args = zmp_array (&message, 1);
    zmp_async_t *failing = zmp_pool_apply_async (pool, "fail", &fail_args, NULL,
                                                 NULL, NULL, &error);
    assert_int_equal (zmp_async_wait (failing, testkit_ms (10000)), 0);
    assert_true (zmp_async_usage (failing, &usage));
    zmp_async_destroy (&failing);
    msgpack_object numbers[4] = { zmp_int (1), zmp_int (2), zmp_int (3),
                                  zmp_int (4) };
    zmp_array_source_t source = { numbers, 4, 0 };
    zmp_iter_t *iter =
        zmp_pool_imap (pool, "square", zmp_array_source, &source, 2, &error);
    assert_false (zmp_iter_usage (iter, &usage));  //  Nothing returned yet
    for (int index = 0; index < 4; index++) {
        assert_non_null (zmp_iter_next (iter, testkit_ms (10000), &error));
        assert_true (zmp_iter_usage (iter, &usage));
        assert_string_equal (usage.host, host);
    }
    zmp_iter_destroy (&iter);
    zmp_pool_usage (pool, &sums);
    assert_int_equal (sums.tasks, 2 + 1 + 2);

    //  The broker's status: the worker's tasks' CPU, and its host's load
    //  once a heartbeat told it (one a second)
    int64_t deadline = s_now_ms () + testkit_ms (5000);
    bool present = false;
    zmp_value_t *status = NULL;
    while (!present && s_now_ms () < deadline) {
        zmp_value_destroy (&status);
        status = zmp_client_status (client, testkit_ms (5000), &error);
        assert_non_null (status);
        s_worker_field (status, "mem_total_kib", &present);
        if (!present)
            usleep (100 * 1000);
    }
    assert_true (present);
    assert_true (s_worker_field (status, "mem_total_kib", &present) > 0);
    assert_true (s_worker_field (status, "cpu_permille", &present) <= 1000);
    assert_true (present);
    assert_true (s_worker_field (status, "task_user_us", &present)
                     + s_worker_field (status, "task_system_us", &present)
                 >= (uint64_t) busy_cpu);
    assert_true (s_worker_field (status, "task_max_rss_kib", &present) > 100);
    zmp_value_destroy (&status);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_pool_get_timeout_leaves_the_task_running (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);
    msgpack_object ms = zmp_int (400);
    msgpack_object args = zmp_array (&ms, 1);
    zmp_error_t error;
    zmp_async_t *async =
        zmp_pool_apply_async (pool, "sleep", &args, NULL, NULL, NULL, &error);
    assert_non_null (async);
    assert_null (zmp_async_get (async, 50, &error));
    assert_int_equal (error.kind, ZMP_ERR_WAIT_TIMEOUT);
    assert_false (zmp_async_ready (async));
    const msgpack_object *value =
        zmp_async_get (async, testkit_ms (5000), &error);
    assert_non_null (value);
    assert_int_equal (value->type, MSGPACK_OBJECT_NIL);
    assert_true (zmp_async_successful (async));
    zmp_async_destroy (&async);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

//  Run function(arg) and return its error (the call must fail).
static zmp_error_t
s_failure (zmp_pool_t *pool, const char *function, msgpack_object arg)
{
    msgpack_object args = zmp_array (&arg, 1);
    zmp_error_t error;
    zmp_value_t *value = zmp_pool_apply (pool, function, &args, &error);
    if (value) {
        zmp_value_destroy (&value);
        fail_msg ("%s should have failed", function);
    }
    return error;
}

static void
test_pool_errors_are_precise_and_the_pool_keeps_serving (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);

    zmp_error_t error = s_failure (pool, "fail", zmp_str ("it broke"));
    assert_int_equal (error.kind, ZMP_ERR_TASK);
    assert_string_equal (error.message, "it broke");
    assert_true (error.pid > 0);
    assert_true (error.host[0] != 0);

    error = s_failure (pool, "crash", zmp_nil ());
    assert_int_equal (error.kind, ZMP_ERR_CRASHED);
    assert_int_equal (error.signal, SIGSEGV);
    char text[600];
    assert_non_null (
        strstr (zmp_error_format (&error, text, sizeof text), "SIGSEGV"));

    error = s_failure (pool, "no_such_function", zmp_nil ());
    assert_int_equal (error.kind, ZMP_ERR_UNKNOWN_FUNCTION);
    assert_non_null (strstr (error.message, "no_such_function"));

    error = s_failure (pool, "square", zmp_str ("x"));
    assert_int_equal (error.kind, ZMP_ERR_BAD_ARGUMENTS);
    assert_non_null (strstr (error.message, "number"));

    //  A failing item fails its map with the item's position
    msgpack_object items[5] = { zmp_int (1), zmp_int (2), zmp_str ("three"),
                                zmp_int (4), zmp_int (5) };
    assert_null (zmp_pool_map (pool, "square", items, 5, 2, &error));
    assert_int_equal (error.kind, ZMP_ERR_BAD_ARGUMENTS);
    assert_int_equal (error.index, 2);

    //  Every crash replaced its process: the pool still serves, in full
    msgpack_object numbers[100];
    for (int index = 0; index < 100; index++)
        numbers[index] = zmp_int (index);
    for (int round = 0; round < 3; round++) {
        error = s_failure (pool, "crash", zmp_nil ());
        assert_int_equal (error.kind, ZMP_ERR_CRASHED);
    }
    zmp_results_t *results =
        zmp_pool_map (pool, "square", numbers, 100, 1, &error);
    assert_non_null (results);
    assert_int_equal (zmp_results_get (results, 99)->via.i64, 9801);
    zmp_results_destroy (&results);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

//  A task over its pool's limit is stopped, SIGTERM first, and reported as
//  timeout; one that ignores SIGTERM gets SIGKILL after the grace period
//  (300 ms here). Either way its process is replaced and the pool serves.
static void
test_pool_task_timeout_stops_the_task_not_the_pool (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_pool_t *pool = zmp_pool_new (client, 0, NULL);
    zmp_error_t error;
    assert_int_equal (zmp_pool_set_task_timeout (pool, -1, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    //  Stretched under sanitizers: test.stubborn must have time to turn
    //  SIGTERM off before the limit
    int limit_ms = testkit_ms (200);
    assert_int_equal (zmp_pool_set_task_timeout (pool, limit_ms, &error), 0);
    char limit_text[32];
    snprintf (limit_text, sizeof limit_text, "%d ms", limit_ms);

    int64_t start = s_now_ms ();
    error = s_failure (pool, "sleep", zmp_int (60000));
    assert_int_equal (error.kind, ZMP_ERR_TIMEOUT);
    assert_int_equal (error.signal, SIGTERM);
    assert_non_null (strstr (error.message, limit_text));
    //  Run twice (the broker's one retry for crashes and timeouts)
    assert_true (s_now_ms () - start < testkit_ms (5000));

    error = s_failure (pool, "test.stubborn", zmp_int (60000));
    assert_int_equal (error.kind, ZMP_ERR_TIMEOUT);
    assert_int_equal (error.signal, SIGKILL);

    //  Tasks within the limit are untouched, and the pool still serves
    msgpack_object quick = zmp_int (7);
    msgpack_object quick_args = zmp_array (&quick, 1);
    zmp_value_t *value = zmp_pool_apply (pool, "square", &quick_args, &error);
    assert_non_null (value);
    assert_int_equal (zmp_value_get (value)->via.i64, 49);
    zmp_value_destroy (&value);
    //  Back to no limit
    assert_int_equal (zmp_pool_set_task_timeout (pool, 0, &error), 0);
    msgpack_object slow[] = { zmp_int (400), zmp_str ("late") };
    msgpack_object slow_args = zmp_array (slow, 2);
    value = zmp_pool_apply (pool, "test.echo_after", &slow_args, &error);
    assert_non_null (value);
    zmp_value_destroy (&value);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

//  A cluster of one agent with one task process and extra agent options,
//  for a test of its own: its client, broker and agent
typedef struct {
    char endpoint[256];
    pid_t broker, agent;
    zmp_client_t *client;
    zmp_pool_t *pool;
} single_t;

static void
s_single_up (single_t *single, const char *option, const char *value)
{
    const char *broker_args[] = { "--quiet", NULL };
    single->broker = testkit_broker_start (
        single->endpoint, sizeof single->endpoint, broker_args);
    assert_true (single->broker > 0);
    const char *agent_args[] = { "--quiet", "--module", ZMP_TEST_MODULE,
                                 option,    value,      NULL };
    single->agent = testkit_worker_start (single->endpoint, 1, agent_args);
    assert_true (single->agent > 0);
    zmp_error_t error;
    single->client =
        zmp_client_connect (single->endpoint, testkit_ms (5000), &error);
    assert_non_null (single->client);
    single->pool = zmp_pool_new (single->client, 0, &error);
    assert_non_null (single->pool);
}

static void
s_single_down (single_t *single)
{
    zmp_pool_destroy (&single->pool);
    zmp_client_destroy (&single->client);
    assert_int_equal (testkit_stop_cleanly (single->agent), 0);
    assert_int_equal (testkit_stop_cleanly (single->broker), 0);
}

//  The pid of the task process that runs the next task
static int64_t
s_task_pid (single_t *single)
{
    msgpack_object none = zmp_array (NULL, 0);
    zmp_error_t error;
    zmp_value_t *info = zmp_pool_apply (single->pool, "info", &none, &error);
    if (!info)
        fail_msg ("info: %s", error.message);
    int64_t pid = zmp_map_get (zmp_value_get (info), "pid")->via.i64;
    zmp_value_destroy (&info);
    return pid;
}

//  Submit function (arg) on pool
static zmp_async_t *
s_submit_one (zmp_pool_t *pool, const char *function, int64_t arg)
{
    msgpack_object value = zmp_int (arg);
    msgpack_object args = zmp_array (&value, 1);
    zmp_error_t error;
    zmp_async_t *async =
        zmp_pool_apply_async (pool, function, &args, NULL, NULL, NULL, &error);
    if (!async)
        fail_msg ("apply_async %s: %s", function, error.message);
    return async;
}

//  The task's result must be cancelled
static void
s_assert_cancelled (zmp_async_t *async)
{
    zmp_error_t error;
    assert_null (zmp_async_get (async, 0, &error));
    assert_int_equal (error.kind, ZMP_ERR_CANCELLED);
}

//  zmp_async_cancel on an agent with one task process: a queued task is
//  dropped, a running one stopped, one waiting inside the process behind
//  another is stopped when its turn comes, a finished one left alone
static void
test_pool_async_cancel_stops_one_task (void **state)
{
    (void) state;
    single_t single;
    s_single_up (&single, "--grace-ms", "300");
    zmp_async_t *running = s_submit_one (single.pool, "sleep", 60000);
    zmp_async_t *queued = s_submit_one (single.pool, "square", 5);
    usleep (300 * 1000);  //  The sleep has started
    assert_true (zmp_async_cancel (queued));
    s_assert_cancelled (queued);
    int64_t start = s_now_ms ();
    assert_true (zmp_async_cancel (running));
    s_assert_cancelled (running);
    assert_false (zmp_async_cancel (running));  //  Done already
    //  The one process was freed: the next task runs now, not in a minute
    assert_int_equal (s_task_pid (&single) > 0, true);
    assert_true (s_now_ms () - start < testkit_ms (5000));
    zmp_async_destroy (&queued);
    zmp_async_destroy (&running);

    //  Tiny tasks first, so that the agent hands the process the next two
    //  at once; the second, cancelled while it waits there, must not run
    for (int round = 0; round < 30; round++)
        s_task_pid (&single);
    zmp_async_t *first = s_submit_one (single.pool, "sleep", 500);
    zmp_async_t *behind = s_submit_one (single.pool, "sleep", 60000);
    usleep (100 * 1000);
    start = s_now_ms ();
    assert_true (zmp_async_cancel (behind));
    s_assert_cancelled (behind);
    zmp_error_t error;
    assert_non_null (zmp_async_get (first, testkit_ms (10000), &error));
    s_task_pid (&single);
    assert_true (s_now_ms () - start < testkit_ms (10000));
    assert_false (zmp_async_cancel (first));
    zmp_async_destroy (&first);
    zmp_async_destroy (&behind);
    s_single_down (&single);
}

//  A task over its limit that shrugs off SIGTERM and answers within the
//  grace period is reported as timeout, with pid 0; its process lives on
//  and serves the next task, one that runs past where the grace ended
static void
test_pool_timeout_answered_in_the_grace_period (void **state)
{
    (void) state;
    char grace[32];
    snprintf (grace, sizeof grace, "%d", testkit_ms (2000));
    single_t single;
    s_single_up (&single, "--grace-ms", grace);
    int64_t before = s_task_pid (&single);
    zmp_error_t error;
    assert_int_equal (
        zmp_pool_set_task_timeout (single.pool, testkit_ms (200), &error), 0);
    msgpack_object late = zmp_int (testkit_ms (600));
    msgpack_object late_args = zmp_array (&late, 1);
    assert_null (
        zmp_pool_apply (single.pool, "test.stubborn", &late_args, &error));
    assert_int_equal (error.kind, ZMP_ERR_TIMEOUT);
    assert_int_equal (error.pid, 0);  //  Its process was not killed
    //  A task well within a limit of its own, running on past where the
    //  grace period ended
    assert_int_equal (
        zmp_pool_set_task_timeout (single.pool, testkit_ms (10000), &error), 0);
    msgpack_object nap = zmp_int (testkit_ms (2500));
    msgpack_object nap_args = zmp_array (&nap, 1);
    zmp_value_t *value =
        zmp_pool_apply (single.pool, "sleep", &nap_args, &error);
    assert_non_null (value);
    zmp_value_destroy (&value);
    assert_int_equal (s_task_pid (&single), before);
    s_single_down (&single);
}

//  --max-tasks-per-child 3: a process runs three tasks, then a fresh one
//  takes over, as Python's maxtasksperchild
static void
test_pool_agent_recycles_a_process_after_its_tasks (void **state)
{
    (void) state;
    single_t single;
    s_single_up (&single, "--max-tasks-per-child", "3");
    int64_t pids[7];
    for (int index = 0; index < 7; index++)
        pids[index] = s_task_pid (&single);
    assert_true (pids[0] == pids[1] && pids[1] == pids[2]);
    assert_true (pids[3] != pids[2]);
    assert_true (pids[3] == pids[4] && pids[4] == pids[5]);
    assert_true (pids[6] != pids[5] && pids[6] != pids[2]);
    //  Many at once, pipelined: none lost, and still three per process
    msgpack_object numbers[50];
    for (int index = 0; index < 50; index++)
        numbers[index] = zmp_int (index);
    zmp_error_t error;
    zmp_results_t *results =
        zmp_pool_map (single.pool, "square", numbers, 50, 1, &error);
    assert_non_null (results);
    assert_int_equal (zmp_results_get (results, 49)->via.i64, 2401);
    zmp_results_destroy (&results);
    s_single_down (&single);
}

//  --max-child-growth 20: a task that leaves its process 50 MiB larger
//  gets its answer, and the process is replaced; a small one does not
static void
test_pool_agent_recycles_a_process_that_grew (void **state)
{
    (void) state;
    single_t single;
    s_single_up (&single, "--max-child-growth", "20");
    int64_t first = s_task_pid (&single);
    msgpack_object small = zmp_int (4);
    msgpack_object small_args = zmp_array (&small, 1);
    zmp_error_t error;
    zmp_value_t *value =
        zmp_pool_apply (single.pool, "test.grow", &small_args, &error);
    assert_non_null (value);
    zmp_value_destroy (&value);
    assert_int_equal (s_task_pid (&single), first);
    msgpack_object large = zmp_int (50);
    msgpack_object large_args = zmp_array (&large, 1);
    value = zmp_pool_apply (single.pool, "test.grow", &large_args, &error);
    assert_non_null (value);
    assert_int_equal (zmp_value_get (value)->via.i64, 50);
    zmp_value_destroy (&value);
    assert_true (s_task_pid (&single) != first);
    s_single_down (&single);
}

static void
test_pool_crash_among_queued_tiny_tasks_fails_only_itself (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    //  Tiny tasks first: the agent learns they are tiny and queues many at
    //  each task process
    msgpack_object warm[2000];
    for (int index = 0; index < 2000; index++)
        warm[index] = zmp_int (index);
    zmp_results_t *results =
        zmp_pool_map (pool, "square", warm, 2000, 1, &error);
    assert_non_null (results);
    zmp_results_destroy (&results);
    //  A crash in the middle of a burst: the tasks queued behind it at its
    //  process never started, and must run elsewhere, not fail
    enum {
        COUNT = 300,
        CRASH = 150
    };
    zmp_async_t *asyncs[COUNT];
    msgpack_object numbers[COUNT];
    msgpack_object args[COUNT];
    for (int index = 0; index < COUNT; index++) {
        numbers[index] = zmp_int (index);
        args[index] = zmp_array (&numbers[index], 1);
        asyncs[index] =
            zmp_pool_apply_async (pool, index == CRASH ? "crash" : "square",
                                  &args[index], NULL, NULL, NULL, &error);
        assert_non_null (asyncs[index]);
    }
    for (int index = 0; index < COUNT; index++) {
        const msgpack_object *value =
            zmp_async_get (asyncs[index], testkit_ms (10000), &error);
        if (index == CRASH) {
            assert_null (value);
            assert_int_equal (error.kind, ZMP_ERR_CRASHED);
            assert_int_equal (error.signal, SIGSEGV);
        } else {
            if (!value)
                fail_msg ("task %d failed: %s", index, error.message);
            assert_int_equal (value->via.i64, (int64_t) index * index);
        }
        zmp_async_destroy (&asyncs[index]);
    }
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_pool_processes_caps_tasks_running_at_once (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 1, &error);
    assert_non_null (pool);
    assert_int_equal (zmp_pool_processes (pool), 1);
    //  Four 100 ms sleeps, one at a time: cannot end before 400 ms
    msgpack_object items[4] = { zmp_int (100), zmp_int (100), zmp_int (100),
                                zmp_int (100) };
    int64_t started = s_now_ms ();
    zmp_results_t *results = zmp_pool_map (pool, "sleep", items, 4, 1, &error);
    assert_non_null (results);
    assert_true (s_now_ms () - started >= 400);
    zmp_results_destroy (&results);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_pool_terminate_cancels_only_that_pool (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_pool_t *doomed = zmp_pool_new (client, 0, &error);
    zmp_pool_t *other = zmp_pool_new (client, 0, &error);
    msgpack_object ms = zmp_int (30000);
    msgpack_object args = zmp_array (&ms, 1);
    zmp_async_t *asyncs[4];
    for (int index = 0; index < 4; index++)
        asyncs[index] = zmp_pool_apply_async (doomed, "sleep", &args, NULL,
                                              NULL, NULL, &error);
    int64_t started = s_now_ms ();
    zmp_pool_terminate (doomed);
    for (int index = 0; index < 4; index++) {
        assert_null (zmp_async_get (asyncs[index], 0, &error));
        assert_int_equal (error.kind, ZMP_ERR_CANCELLED);
        zmp_async_destroy (&asyncs[index]);
    }
    //  No new work on a terminated pool
    assert_null (
        zmp_pool_apply_async (doomed, "noop", NULL, NULL, NULL, NULL, &error));
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    //  The other pool runs at once: the sleeping processes were stopped
    msgpack_object numbers[2] = { zmp_int (6), zmp_int (7) };
    zmp_results_t *results =
        zmp_pool_map (other, "square", numbers, 2, 1, &error);
    assert_non_null (results);
    assert_int_equal (zmp_results_get (results, 1)->via.i64, 49);
    assert_true (s_now_ms () - started < testkit_ms (10000));
    zmp_results_destroy (&results);
    zmp_pool_destroy (&doomed);
    zmp_pool_destroy (&other);
    zmp_client_destroy (&client);
}

//  Several threads share one client, each with its own map
typedef struct {
    zmp_client_t *client;
    int offset;
    bool ok;
} thread_job_t;

static void *
s_thread_map (void *arg)
{
    thread_job_t *job = (thread_job_t *) arg;
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (job->client, 0, &error);
    msgpack_object items[300];
    for (int index = 0; index < 300; index++)
        items[index] = zmp_int (job->offset + index);
    job->ok = pool != NULL;
    for (int round = 0; round < 5 && job->ok; round++) {
        zmp_results_t *results = zmp_pool_map (pool, "square", items, 300,
                                               (size_t) (round + 1), &error);
        job->ok = results != NULL;
        for (int index = 0; job->ok && index < 300; index++) {
            int64_t n = job->offset + index;
            job->ok =
                zmp_results_get (results, (size_t) index)->via.i64 == n * n;
        }
        zmp_results_destroy (&results);
    }
    zmp_pool_destroy (&pool);
    return NULL;
}

static void
test_pool_is_safe_from_many_threads (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    pthread_t threads[4];
    thread_job_t jobs[4];
    for (int index = 0; index < 4; index++) {
        jobs[index] = (thread_job_t){ client, index * 1000, false };
        pthread_create (&threads[index], NULL, s_thread_map, &jobs[index]);
    }
    for (int index = 0; index < 4; index++) {
        pthread_join (threads[index], NULL);
        assert_true (jobs[index].ok);
    }
    zmp_client_destroy (&client);
}

static void
test_pool_close_refuses_work_and_join_needs_close (void **state)
{
    (void) state;
    zmp_client_t *client = s_connect ();
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    assert_int_equal (zmp_pool_join (pool, 0, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    zmp_pool_close (pool);
    assert_null (
        zmp_pool_apply_async (pool, "noop", NULL, NULL, NULL, NULL, &error));
    assert_int_equal (error.kind, ZMP_ERR_USAGE);
    assert_int_equal (zmp_pool_join (pool, 0, &error), 0);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_client_reports_an_unreachable_broker (void **state)
{
    (void) state;
    zmp_error_t error;
    int64_t started = s_now_ms ();
    zmp_client_t *client =
        zmp_client_connect ("tcp://127.0.0.1:1", 300, &error);
    assert_null (client);
    assert_int_equal (error.kind, ZMP_ERR_UNREACHABLE);
    assert_non_null (strstr (error.message, "tcp://127.0.0.1:1"));
    assert_true (s_now_ms () - started < testkit_ms (3000));
}

//  A broker that loses peers after 3 x 100 ms of silence, one worker of
//  one process, a client of it
static zmp_client_t *
s_fast_cluster (char *endpoint, pid_t *broker, pid_t *worker)
{
    //  A port no other test's wildcard can take while the broker is down
    char fixed[64];
    testkit_fixed_endpoint (fixed, sizeof fixed);
    const char *fast[] = { "--quiet", "--heartbeat-ms", "100", "--liveness",
                           "3",       "--bind",         fixed, NULL };
    *broker = testkit_broker_start (endpoint, 256, fast);
    assert_true (*broker > 0);
    const char *quiet[] = { "--quiet", NULL };
    *worker = testkit_worker_start (endpoint, 1, quiet);
    assert_true (*worker > 0);
    zmp_error_t error;
    zmp_client_t *client =
        zmp_client_connect (endpoint, testkit_ms (5000), &error);
    assert_non_null (client);
    return client;
}

//  A cluster with CURVE keys, through the library: zmp_client_connect_curve
//  maps over it, and a task's process (which registers with its agent's
//  worker key) puts into the client's queue; a client without keys is
//  refused with not_authorized, at once
static void
test_client_connects_with_curve_keys (void **state)
{
    (void) state;
    char dir[] = "/tmp/zmp-pool-keys-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char allowed[64], path[256], from[256];
    snprintf (allowed, sizeof allowed, "%s/allowed", dir);
    assert_int_equal (mkdir (allowed, 0700), 0);
    zmp_error_t error;
    const char *roles[] = { "broker", "worker", "client" };
    for (int index = 0; index < 3; index++) {
        assert_int_equal (
            zmp_curve_keygen (dir, roles[index], roles[index], &error), 0);
        if (index) {
            snprintf (from, sizeof from, "%s/%s.key", dir, roles[index]);
            snprintf (path, sizeof path, "%s/%s.key", allowed, roles[index]);
            assert_int_equal (link (from, path), 0);
        }
    }
    char broker_secret[128], broker_public[128], worker_secret[128],
        client_secret[128], endpoint[256];
    snprintf (broker_secret, sizeof broker_secret, "%s/broker.key_secret", dir);
    snprintf (broker_public, sizeof broker_public, "%s/broker.key", dir);
    snprintf (worker_secret, sizeof worker_secret, "%s/worker.key_secret", dir);
    snprintf (client_secret, sizeof client_secret, "%s/client.key_secret", dir);
    const char *broker_args[] = { "--quiet",     "--curve-secret",
                                  broker_secret, "--curve-keys",
                                  allowed,       NULL };
    pid_t broker =
        testkit_broker_start (endpoint, sizeof endpoint, broker_args);
    assert_true (broker > 0);
    const char *worker_args[] = { "--quiet",       "--module",
                                  ZMP_TEST_MODULE, "--curve-secret",
                                  worker_secret,   "--curve-server",
                                  broker_public,   NULL };
    pid_t worker = testkit_worker_start (endpoint, 2, worker_args);
    assert_true (worker > 0);

    zmp_client_t *client = zmp_client_connect_curve (
        endpoint, testkit_ms (5000), client_secret, broker_public, &error);
    if (!client)
        fail_msg ("%s", error.message);
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    zmp_queue_t *queue = zmp_queue_new (client, 0, &error);
    assert_non_null (queue);
    msgpack_object call[3] = { zmp_queue_handle (queue), zmp_int (7),
                               zmp_int (5) };
    msgpack_object args = zmp_array (call, 3);
    zmp_value_t *count = zmp_pool_apply (pool, "test.put_range", &args, &error);
    if (!count)
        fail_msg ("%s", error.message);
    assert_int_equal (zmp_value_get (count)->via.i64, 5);
    zmp_value_destroy (&count);
    assert_int_equal (zmp_queue_qsize (queue, &error), 5);
    zmp_queue_destroy (&queue);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);

    int64_t started = s_now_ms ();
    assert_null (zmp_client_connect (endpoint, testkit_ms (5000), &error));
    assert_int_equal (error.kind, ZMP_ERR_NOT_AUTHORIZED);
    assert_true (s_now_ms () - started < testkit_ms (5000));
    //  The worker's key makes no client of its own
    assert_null (zmp_client_connect_curve (
        endpoint, testkit_ms (5000), worker_secret, broker_public, &error));
    assert_int_equal (error.kind, ZMP_ERR_NOT_AUTHORIZED);
    assert_non_null (strstr (error.message, "not a client's"));
    assert_int_equal (testkit_stop_cleanly (worker), 0);
    assert_int_equal (testkit_stop_cleanly (broker), 0);
    for (int index = 0; index < 3; index++) {
        snprintf (path, sizeof path, "%s/%s.key", dir, roles[index]);
        unlink (path);
        snprintf (path, sizeof path, "%s/%s.key_secret", dir, roles[index]);
        unlink (path);
        snprintf (path, sizeof path, "%s/%s.key", allowed, roles[index]);
        unlink (path);
    }
    assert_int_equal (rmdir (allowed), 0);
    assert_int_equal (rmdir (dir), 0);
}

//  A broker that takes frames of 1 MiB at most: what is larger fails
//  with kind limit where it is made (the client's arguments and queue
//  items, the worker's results), never dropping a connection, and the
//  rest goes on
static void
test_frames_over_the_brokers_limit_fail_with_limit (void **state)
{
    (void) state;
    char endpoint[256];
    const char *broker_args[] = { "--quiet", "--max-message-mb", "1", NULL };
    pid_t broker =
        testkit_broker_start (endpoint, sizeof endpoint, broker_args);
    assert_true (broker > 0);
    const char *worker_args[] = { "--quiet", "--module", ZMP_TEST_MODULE,
                                  NULL };
    pid_t worker = testkit_worker_start (endpoint, 2, worker_args);
    assert_true (worker > 0);
    zmp_error_t error;
    zmp_client_t *client =
        zmp_client_connect (endpoint, testkit_ms (5000), &error);
    assert_non_null (client);
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    char *big = (char *) malloc (2u << 20);
    memset (big, 'x', (2u << 20) - 1);
    big[(2u << 20) - 1] = 0;
    msgpack_object big_arg = zmp_str (big);
    msgpack_object args = zmp_array (&big_arg, 1);
    //  Arguments
    assert_null (zmp_pool_apply (pool, "echo", &args, &error));
    assert_int_equal (error.kind, ZMP_ERR_LIMIT);
    assert_non_null (strstr (error.message, "--max-message-mb"));
    //  A map: the big item alone fails
    msgpack_object items[3] = { zmp_int (3), big_arg, zmp_int (4) };
    zmp_array_source_t source = { items, 3, 0 };
    zmp_iter_t *iter =
        zmp_pool_imap (pool, "echo", zmp_array_source, &source, 1, &error);
    assert_non_null (iter);
    for (int index = 0; index < 3; index++) {
        const msgpack_object *value =
            zmp_iter_next (iter, testkit_ms (10000), &error);
        if (index == 1) {
            assert_null (value);
            assert_int_equal (error.kind, ZMP_ERR_LIMIT);
        } else {
            assert_non_null (value);
            assert_int_equal (value->via.i64, index == 0 ? 3 : 4);
        }
    }
    zmp_iter_destroy (&iter);
    //  A result
    msgpack_object count = zmp_int (2 << 20);
    args = zmp_array (&count, 1);
    assert_null (zmp_pool_apply (pool, "test.bytes", &args, &error));
    assert_int_equal (error.kind, ZMP_ERR_LIMIT);
    assert_non_null (strstr (error.message, "its result is"));
    //  A queue item (a bounded queue's put waits for its answer)
    zmp_queue_t *queue = zmp_queue_new (client, 10, &error);
    assert_non_null (queue);
    assert_int_equal (zmp_queue_put (queue, &big_arg, -1, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_LIMIT);
    assert_int_equal (zmp_queue_qsize (queue, &error), 0);
    zmp_queue_destroy (&queue);
    //  Nothing was dropped: the same connection serves on
    msgpack_object small = zmp_int (12);
    args = zmp_array (&small, 1);
    zmp_value_t *value = zmp_pool_apply (pool, "square", &args, &error);
    assert_non_null (value);
    assert_int_equal (zmp_value_get (value)->via.i64, 144);
    zmp_value_destroy (&value);
    free (big);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    assert_int_equal (testkit_stop_cleanly (worker), 0);
    assert_int_equal (testkit_stop_cleanly (broker), 0);
}

static void
test_client_fails_pending_work_when_the_broker_dies (void **state)
{
    (void) state;
    char endpoint[256];
    pid_t broker, worker;
    zmp_client_t *client = s_fast_cluster (endpoint, &broker, &worker);
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    msgpack_object ms = zmp_int (60000);
    msgpack_object args = zmp_array (&ms, 1);
    zmp_async_t *async =
        zmp_pool_apply_async (pool, "sleep", &args, NULL, NULL, NULL, &error);
    assert_non_null (async);
    zmp_client_set_resume (client, 500);
    int64_t killed_at = s_now_ms ();
    kill (broker, SIGKILL);
    testkit_stop (broker);
    //  Silent for 3 x 100 ms, then 500 ms for it to come back: the wait
    //  ends with an error, not a hang
    assert_null (zmp_async_get (async, testkit_ms (5000), &error));
    assert_int_equal (error.kind, ZMP_ERR_UNREACHABLE);
    assert_non_null (strstr (error.message, "did not come back in 500 ms"));
    assert_true (s_now_ms () - killed_at >= 500);  //  At least the period
    //  Once given up, new tasks fail at once
    assert_null (
        zmp_pool_apply_async (pool, "noop", NULL, NULL, NULL, NULL, &error));
    assert_int_equal (error.kind, ZMP_ERR_UNREACHABLE);
    zmp_async_destroy (&async);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    assert_int_equal (testkit_stop_cleanly (worker), 0);
}

//  The broker dies with a task running and another submitted while it is
//  down; a new one starts on the same endpoint: the client resends both
//  and gets both results
static void
test_client_resumes_its_tasks_with_a_new_broker (void **state)
{
    (void) state;
    char endpoint[256];
    pid_t broker, worker;
    zmp_client_t *client = s_fast_cluster (endpoint, &broker, &worker);
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    assert_non_null (pool);
    msgpack_object ms = zmp_int (300);
    msgpack_object args = zmp_array (&ms, 1);
    zmp_async_t *before =
        zmp_pool_apply_async (pool, "sleep", &args, NULL, NULL, NULL, &error);
    assert_non_null (before);
    kill (broker, SIGKILL);
    testkit_stop (broker);
    //  Lost (3 x 100 ms of silence), and still taking pool tasks
    int64_t deadline = s_now_ms () + testkit_ms (5000);
    bool lost = false;
    while (!lost && s_now_ms () < deadline) {
        zmp_value_t *status = zmp_client_status (client, 50, &error);
        lost = !status && strstr (error.message, "lost the broker");
        zmp_value_destroy (&status);
    }
    assert_true (lost);
    msgpack_object word = zmp_str ("back");
    msgpack_object echo_args = zmp_array (&word, 1);
    zmp_async_t *during = zmp_pool_apply_async (pool, "echo", &echo_args, NULL,
                                                NULL, NULL, &error);
    assert_non_null (during);
    assert_false (zmp_async_ready (during));
    //  One the new broker will not take: 2 MiB, over its limit
    char *big = (char *) malloc (2u << 20);
    memset (big, 'x', (2u << 20) - 1);
    big[(2u << 20) - 1] = 0;
    msgpack_object big_word = zmp_str (big);
    msgpack_object big_args = zmp_array (&big_word, 1);
    zmp_async_t *too_big = zmp_pool_apply_async (pool, "echo", &big_args, NULL,
                                                 NULL, NULL, &error);
    assert_non_null (too_big);
    free (big);
    //  The new broker, where the old one was, taking frames of 1 MiB
    char again[256];
    const char *same[] = {
        "--quiet", "--heartbeat-ms",   "100", "--liveness", "3", "--bind",
        endpoint,  "--max-message-mb", "1",   NULL
    };
    broker = testkit_broker_start (again, sizeof again, same);
    assert_true (broker > 0);
    assert_string_equal (again, endpoint);
    assert_non_null (zmp_async_get (before, testkit_ms (10000), &error));
    const msgpack_object *value =
        zmp_async_get (during, testkit_ms (10000), &error);
    assert_non_null (value);
    assert_int_equal (value->type, MSGPACK_OBJECT_STR);
    assert_memory_equal (value->via.str.ptr, "back", 4);
    //  What would now pass the limit failed here, not on the wire
    assert_null (zmp_async_get (too_big, testkit_ms (10000), &error));
    assert_int_equal (error.kind, ZMP_ERR_LIMIT);
    zmp_async_destroy (&too_big);
    zmp_async_destroy (&before);
    zmp_async_destroy (&during);
    zmp_pool_close (pool);
    assert_int_equal (zmp_pool_join (pool, testkit_ms (5000), &error), 0);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    assert_int_equal (testkit_stop_cleanly (worker), 0);
    assert_int_equal (testkit_stop_cleanly (broker), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_pool_map_returns_results_in_order),
        cmocka_unit_test (test_pool_starmap_finds_armstrong_numbers),
        cmocka_unit_test (test_pool_imap_is_lazy_and_ordered),
        cmocka_unit_test (test_pool_imap_unordered_returns_every_item_once),
        cmocka_unit_test (
            test_pool_apply_async_runs_callbacks_off_the_caller_thread),
        cmocka_unit_test (test_pool_results_carry_what_their_task_used),
        cmocka_unit_test (test_pool_get_timeout_leaves_the_task_running),
        cmocka_unit_test (
            test_pool_errors_are_precise_and_the_pool_keeps_serving),
        cmocka_unit_test (
            test_pool_crash_among_queued_tiny_tasks_fails_only_itself),
        cmocka_unit_test (test_pool_task_timeout_stops_the_task_not_the_pool),
        cmocka_unit_test (test_pool_async_cancel_stops_one_task),
        cmocka_unit_test (test_pool_timeout_answered_in_the_grace_period),
        cmocka_unit_test (test_pool_agent_recycles_a_process_after_its_tasks),
        cmocka_unit_test (test_pool_agent_recycles_a_process_that_grew),
        cmocka_unit_test (test_pool_processes_caps_tasks_running_at_once),
        cmocka_unit_test (test_pool_terminate_cancels_only_that_pool),
        cmocka_unit_test (test_pool_is_safe_from_many_threads),
        cmocka_unit_test (test_pool_close_refuses_work_and_join_needs_close),
        cmocka_unit_test (test_client_reports_an_unreachable_broker),
        cmocka_unit_test (test_client_fails_pending_work_when_the_broker_dies),
        cmocka_unit_test (test_client_connects_with_curve_keys),
        cmocka_unit_test (test_frames_over_the_brokers_limit_fail_with_limit),
        cmocka_unit_test (test_client_resumes_its_tasks_with_a_new_broker),
    };
    int failed = cmocka_run_group_tests (tests, s_cluster_up, s_cluster_down);
    return failed || s_teardown_failed ? 1 : 0;
}
