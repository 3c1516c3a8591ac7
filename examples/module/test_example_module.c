/*  test_example_module - how a module tests its task functions

    First without any cluster: register the module into a registry and call
    its functions exactly as a worker child does (zmp_registry_call). Then
    for real: a worker loads the built module with --module and a client
    calls the functions through the broker.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_registry.h"
#include "zmp_testkit.h"
#include "zmp_value.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int zmpool_module_init (zmp_registry_t *registry);

//  Call function on args through a registry holding the module; returns
//  the result (caller destroys) or NULL with error filled.
static zmp_value_t *
s_call (const char *function, msgpack_object args, zmp_error_t *error)
{
    zmp_registry_t *registry = zmp_registry_new ();
    assert_int_equal (zmpool_module_init (registry), 0);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    zmp_task_t task;
    zmp_task_init (&task, function);
    zmp_value_t *value = NULL;
    if (zmp_registry_call (registry, &task, &args, 0, &buffer, error) == 0)
        value = zmp_value_decode (buffer.data, buffer.size, error);
    msgpack_sbuffer_destroy (&buffer);
    zmp_registry_destroy (&registry);
    return value;
}

static void
test_example_greet_says_hello (void **state)
{
    (void) state;
    msgpack_object name = zmp_str ("john");
    zmp_error_t error;
    zmp_value_t *value = s_call ("example.greet", zmp_array (&name, 1), &error);
    assert_non_null (value);
    assert_true (zmp_str_is (zmp_value_get (value), "hello, john"));
    zmp_value_destroy (&value);
}

static void
test_example_greet_refuses_a_number (void **state)
{
    (void) state;
    msgpack_object number = zmp_int (7);
    zmp_error_t error;
    assert_null (s_call ("example.greet", zmp_array (&number, 1), &error));
    assert_int_equal (error.kind, ZMP_ERR_BAD_ARGUMENTS);
    assert_non_null (strstr (error.message, "one string"));
}

static void
test_example_fib_counts (void **state)
{
    (void) state;
    msgpack_object n = zmp_int (10);
    zmp_error_t error;
    zmp_value_t *value = s_call ("example.fib", zmp_array (&n, 1), &error);
    assert_non_null (value);
    assert_int_equal (zmp_value_get (value)->via.u64, 55);
    zmp_value_destroy (&value);
    n = zmp_int (93);
    assert_null (s_call ("example.fib", zmp_array (&n, 1), &error));
    assert_int_equal (error.kind, ZMP_ERR_BAD_ARGUMENTS);
}

static void
test_example_sum_adds_ints_and_floats (void **state)
{
    (void) state;
    msgpack_object numbers[3] = { zmp_int (1), zmp_double (2.5), zmp_int (-4) };
    zmp_error_t error;
    zmp_value_t *value = s_call ("example.sum", zmp_array (numbers, 3), &error);
    assert_non_null (value);
    assert_true (zmp_value_get (value)->via.f64 == -0.5);
    zmp_value_destroy (&value);
}

static void
test_example_module_registers_once (void **state)
{
    (void) state;
    zmp_registry_t *registry = zmp_registry_new ();
    assert_int_equal (zmpool_module_init (registry), 0);
    assert_int_equal (zmp_registry_size (registry), 3);
    assert_int_equal (zmpool_module_init (registry), -1);  //  Names taken
    zmp_registry_destroy (&registry);
}

//  A real broker and a worker that loaded the built module
typedef struct {
    char endpoint[256];
    pid_t broker;
    pid_t worker;
} cluster_t;

static int
s_cluster_up (void **state)
{
    cluster_t *cluster = (cluster_t *) calloc (1, sizeof (cluster_t));
    cluster->broker = testkit_broker_start (cluster->endpoint,
                                            sizeof cluster->endpoint, NULL);
    const char *module[] = { "--module", ZMP_EXAMPLE_MODULE, NULL };
    if (cluster->broker > 0)
        cluster->worker = testkit_worker_start (cluster->endpoint, 2, module);
    *state = cluster;
    return cluster->broker > 0 && cluster->worker > 0 ? 0 : -1;
}

static int
s_cluster_down (void **state)
{
    cluster_t *cluster = (cluster_t *) *state;
    int worker = testkit_stop_cleanly (cluster->worker);
    int broker = testkit_stop_cleanly (cluster->broker);
    free (cluster);
    return worker || broker ? -1 : 0;
}

static void
test_example_module_runs_on_a_worker (void **state)
{
    cluster_t *cluster = (cluster_t *) *state;
    zmp_error_t error;
    zmp_client_t *client =
        zmp_client_connect (cluster->endpoint, testkit_ms (5000), &error);
    assert_non_null (client);
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    assert_non_null (pool);

    msgpack_object name = zmp_str ("world");
    msgpack_object args = zmp_array (&name, 1);
    zmp_value_t *greeting =
        zmp_pool_apply (pool, "example.greet", &args, &error);
    assert_non_null (greeting);
    assert_true (zmp_str_is (zmp_value_get (greeting), "hello, world"));
    zmp_value_destroy (&greeting);

    msgpack_object numbers[21];
    for (int n = 0; n <= 20; n++)
        numbers[n] = zmp_int (n);
    zmp_results_t *results =
        zmp_pool_map (pool, "example.fib", numbers, 21, 0, &error);
    assert_non_null (results);
    assert_int_equal (zmp_results_get (results, 20)->via.u64, 6765);
    zmp_results_destroy (&results);

    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
}

static void
test_example_module_missing_file_stops_the_worker (void **state)
{
    (void) state;
    const char *args[] = { "worker", "--module", "/nonexistent/libnothing.so",
                           NULL };
    char *out, *err;
    int status = testkit_run (args, NULL, &out, &err, testkit_ms (10000));
    assert_int_equal (status, 1);
    assert_non_null (
        strstr (err, "cannot load module /nonexistent/libnothing.so"));
    free (out);
    free (err);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_example_greet_says_hello),
        cmocka_unit_test (test_example_greet_refuses_a_number),
        cmocka_unit_test (test_example_fib_counts),
        cmocka_unit_test (test_example_sum_adds_ints_and_floats),
        cmocka_unit_test (test_example_module_registers_once),
        cmocka_unit_test_setup_teardown (test_example_module_runs_on_a_worker,
                                         s_cluster_up, s_cluster_down),
        cmocka_unit_test (test_example_module_missing_file_stops_the_worker),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
