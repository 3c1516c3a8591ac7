/*  test_multihost - zmpool across separate network hosts

    The hosts are network namespaces this test makes (tests/multihost/netns):
    a broker host b, worker hosts w1 and w2, and a client host c, each with
    its own address on a subnet that exists only inside them, plugged into a
    bridge in a fifth namespace. deploy/zmpool-cluster brings the broker and
    the agents up, with tests/multihost/nsexec as its remote-command
    template (each host also gets its own host name); this process then
    moves into c's namespace and uses the cluster as any client would.

    Making namespaces needs root: without it the test says so and exits 77,
    which CTest reports as skipped. A guardian process, forked first, stops
    the cluster and deletes the namespaces when this process ends, however
    it ends.
*/
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <zmpool.h>

#include "zmp_testkit.h"
#include "zmp_value.h"

#include <czmq.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define BROKER_ENDPOINT "tcp://10.77.0.1:5555"

static char s_prefix[32];  //  Names the namespaces: PREFIX-b, PREFIX-w1...
static char s_dir[64];     //  Hosts file, launcher state, logs
static int s_guardian_fd = -1;
static pid_t s_guardian = 0;

//  Run a shell command line; returns its exit status, or -1
static int
s_shell (const char *format, ...)
{
    char command[4096];
    va_list args;
    va_start (args, format);
    vsnprintf (command, sizeof command, format, args);
    va_end (args);
    int status = system (command);
    return status != -1 && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

//  Run the launcher with action (up, down, status)
static int
s_launcher (const char *action)
{
    //  A cut link is noticed after 250 ms x liveness: 1 s, longer under
    //  sanitizers (ZMP_TEST_TIMEOUT_FACTOR), where a loaded machine can
    //  leave a process silent that long
    int liveness = 4 * testkit_ms (1000) / 1000;
    return s_shell (
        "bash '%s' --template '%s %s {host} {command}' --zmpool '%s' "
        "--state '%s/state' --run-dir '%s/run' --timeout 30 "
        "--keys '%s/keys' "
        "--broker-args '--heartbeat-ms 250 --liveness %d' "
        "--worker-args '--module %s --give-up-after 120' "
        "%s '%s/hosts' >>'%s/launcher.log' 2>&1",
        ZMP_LAUNCHER, ZMP_NSEXEC, s_prefix, ZMPOOL_EXE, s_dir, s_dir, s_dir,
        liveness, ZMP_TEST_MODULE, action, s_dir, s_dir);
}

//  Stop the cluster, delete the namespaces and the directory
static void
s_clean_up (void)
{
    s_launcher ("down");
    s_shell ("'%s' down %s", ZMP_NETNS, s_prefix);
    s_shell ("rm -rf '%s'", s_dir);
}

//  Fork the guardian: it waits for the pipe to close (this process ended,
//  or is done), then cleans up. It has its own session, so that what kills
//  this process's group does not kill it.
static void
s_guardian_start (void)
{
    int pipe_fds[2];
    if (pipe (pipe_fds))
        return;
    pid_t pid = fork ();
    if (pid == 0) {
        setsid ();
        close (pipe_fds[1]);
        char byte;
        while (read (pipe_fds[0], &byte, 1) > 0)
            ;
        s_clean_up ();
        _exit (0);
    }
    close (pipe_fds[0]);
    s_guardian = pid;
    s_guardian_fd = pipe_fds[1];
}

//  Processes left in the cluster's hosts (not c: this process and the
//  shell that asks are there)
static int
s_leftover_processes (void)
{
    const char *hosts[] = { "b", "w1", "w2" };
    int count = 0;
    for (int index = 0; index < 3; index++) {
        char command[256];
        snprintf (command, sizeof command, "ip netns pids %s-%s 2>/dev/null",
                  s_prefix, hosts[index]);
        FILE *pipe = popen (command, "r");
        char line[64];
        while (pipe && fgets (line, sizeof line, pipe))
            count++;
        if (pipe)
            pclose (pipe);
    }
    return count;
}

//  Each test gets a client connected from c; teardown runs even after a
//  failed assertion, so the client never outlives the test
static int
s_setup (void **state)
{
    zmp_error_t error;
    *state = zmp_client_connect (BROKER_ENDPOINT, testkit_ms (5000), &error);
    if (!*state)
        fprintf (stderr, "cannot reach the broker: %s\n", error.message);
    return *state ? 0 : -1;
}

static int
s_teardown (void **state)
{
    zmp_client_t *client = (zmp_client_t *) *state;
    zmp_client_destroy (&client);
    return 0;
}

//  The broker's status map (caller destroys)
static zmp_value_t *
s_status (zmp_client_t *client)
{
    zmp_error_t error;
    zmp_value_t *status = zmp_client_status (client, 5000, &error);
    if (!status)
        fail_msg ("status: %s", error.message);
    return status;
}

static size_t
s_worker_count (zmp_client_t *client)
{
    zmp_value_t *status = s_status (client);
    const msgpack_object *workers =
        zmp_map_get (zmp_value_get (status), "workers");
    size_t count = workers ? workers->via.array.size : 0;
    zmp_value_destroy (&status);
    return count;
}

//  Wait up to ms for the cluster to have count workers
static bool
s_wait_workers (zmp_client_t *client, size_t count, int ms)
{
    int64_t deadline = zclock_mono () + testkit_ms (ms);
    while (zclock_mono () < deadline) {
        if (s_worker_count (client) == count)
            return true;
        zclock_sleep (200);
    }
    return false;
}

//  --------------------------------------------------------------------------

static void
test_multihost_status_lists_both_hosts_and_their_slots (void **state)
{
    zmp_client_t *client = (zmp_client_t *) *state;
    zmp_value_t *status = s_status (client);
    const msgpack_object *map = zmp_value_get (status);
    const msgpack_object *workers = zmp_map_get (map, "workers");
    assert_non_null (workers);
    assert_int_equal (workers->via.array.size, 2);
    bool seen[2] = { false, false };
    for (uint32_t index = 0; index < 2; index++) {
        const msgpack_object *worker = &workers->via.array.ptr[index];
        uint64_t slots = 0;
        zmp_uint_get (zmp_map_get (worker, "slots"), 100, &slots);
        assert_int_equal (slots, 2);
        const msgpack_object *host = zmp_map_get (worker, "host");
        if (zmp_str_is (host, "w1"))
            seen[0] = true;
        if (zmp_str_is (host, "w2"))
            seen[1] = true;
    }
    assert_true (seen[0] && seen[1]);
    const msgpack_object *broker = zmp_map_get (map, "broker");
    assert_true (zmp_str_is (zmp_map_get (broker, "host"), "b"));
    zmp_value_destroy (&status);
}

//  Map count `info` tasks: every result must come from w1 or w2; true if
//  both did some
static bool
s_map_uses_both_hosts (zmp_pool_t *pool, size_t count)
{
    zmp_error_t error;
    msgpack_object *items =
        (msgpack_object *) calloc (count, sizeof (msgpack_object));
    for (size_t index = 0; index < count; index++)
        items[index] = zmp_int ((int64_t) index);
    zmp_results_t *results =
        zmp_pool_map (pool, "info", items, count, 1, &error);
    if (!results)
        fail_msg ("map: %s", error.message);
    assert_int_equal (zmp_results_size (results), count);
    size_t on[2] = { 0, 0 };
    for (size_t index = 0; index < count; index++) {
        const msgpack_object *host =
            zmp_map_get (zmp_results_get (results, index), "host");
        if (zmp_str_is (host, "w1"))
            on[0]++;
        else if (zmp_str_is (host, "w2"))
            on[1]++;
    }
    assert_int_equal (on[0] + on[1], count);
    zmp_results_destroy (&results);
    free (items);
    return on[0] > 0 && on[1] > 0;
}

static void
test_multihost_map_spreads_over_both_hosts (void **state)
{
    zmp_client_t *client = (zmp_client_t *) *state;
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    assert_true (s_map_uses_both_hosts (pool, 4000));
    zmp_pool_destroy (&pool);
}

//  Connect from c with the keys in the environment as they are now
static zmp_client_t *
s_try_connect (zmp_error_t *error)
{
    return zmp_client_connect (BROKER_ENDPOINT, testkit_ms (5000), error);
}

//  The broker across the network lets in only the cluster's keys: a
//  client without keys, or with a key it does not list, is refused at
//  once with an error that says so; the cluster goes on serving
static void
test_multihost_broker_refuses_clients_without_its_keys (void **state)
{
    zmp_client_t *client = (zmp_client_t *) *state;
    char secret[256], server[256];
    snprintf (secret, sizeof secret, "%s", getenv ("ZMPOOL_CURVE_SECRET"));
    snprintf (server, sizeof server, "%s", getenv ("ZMPOOL_CURVE_SERVER"));
    zmp_error_t error;
    unsetenv ("ZMPOOL_CURVE_SECRET");
    unsetenv ("ZMPOOL_CURVE_SERVER");
    int64_t started = zclock_mono ();
    zmp_client_t *stranger = s_try_connect (&error);
    assert_null (stranger);
    assert_int_equal (error.kind, ZMP_ERR_NOT_AUTHORIZED);
    assert_non_null (strstr (error.message, "CURVE"));
    //  A key of its own, not in the broker's keys directory
    char command[512];
    snprintf (command, sizeof command,
              "'%s' keygen --dir '%s' stranger >/dev/null", ZMPOOL_EXE, s_dir);
    assert_int_equal (system (command), 0);
    snprintf (command, sizeof command, "%s/stranger.key_secret", s_dir);
    setenv ("ZMPOOL_CURVE_SECRET", command, 1);
    setenv ("ZMPOOL_CURVE_SERVER", server, 1);
    stranger = s_try_connect (&error);
    assert_null (stranger);
    assert_int_equal (error.kind, ZMP_ERR_NOT_AUTHORIZED);
    assert_non_null (strstr (error.message, "not authorised"));
    //  Both said so well before the connect timeout
    assert_true (zclock_mono () - started < testkit_ms (5000));
    setenv ("ZMPOOL_CURVE_SECRET", secret, 1);
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    assert_true (s_map_uses_both_hosts (pool, 400));
    zmp_pool_destroy (&pool);
}

static void
test_multihost_queue_shared_by_tasks_on_both_hosts (void **state)
{
    zmp_client_t *client = (zmp_client_t *) *state;
    zmp_error_t error;
    zmp_queue_t *queue = zmp_queue_new (client, 0, &error);
    const int64_t per_host = 500;
    zmp_process_t *producers[2];
    for (int index = 0; index < 2; index++) {
        msgpack_object args[] = { zmp_queue_handle (queue), zmp_int (index),
                                  zmp_int (per_host) };
        msgpack_object array = zmp_array (args, 3);
        producers[index] =
            zmp_process_new (client, "test.put_range", &array, &error);
        zmp_process_set_output (producers[index], NULL, NULL);
        if (zmp_process_start (producers[index], &error))
            fail_msg ("start: %s", error.message);
    }
    //  One producer on each host
    assert_string_not_equal (zmp_process_host (producers[0]),
                             zmp_process_host (producers[1]));
    int64_t next[2] = { 0, 0 };
    for (int64_t taken = 0; taken < 2 * per_host; taken++) {
        zmp_value_t *item = zmp_queue_get (queue, testkit_ms (20000), &error);
        if (!item)
            fail_msg ("get: %s", error.message);
        const msgpack_object *pair = zmp_value_get (item);
        int64_t producer = pair->via.array.ptr[0].via.i64;
        assert_true (producer == 0 || producer == 1);
        assert_int_equal (pair->via.array.ptr[1].via.i64, next[producer]);
        next[producer]++;
        zmp_value_destroy (&item);
    }
    for (int index = 0; index < 2; index++) {
        assert_int_equal (
            zmp_process_join (producers[index], testkit_ms (20000), &error), 0);
        assert_int_equal (zmp_process_exitcode (producers[index]), 0);
        zmp_process_destroy (&producers[index]);
    }
    zmp_queue_destroy (&queue);
}

//  Items [2, 0], [2, 1]... for the imap below: echo n after 2 ms
typedef struct {
    msgpack_object args[2];
    msgpack_object item;  //  Valid until the next call, as promised
    int64_t next;
    int64_t count;
} s_source_t;

static const msgpack_object *
s_next_item (void *state)
{
    s_source_t *source = (s_source_t *) state;
    if (source->next == source->count)
        return NULL;
    source->args[0] = zmp_int (2);
    source->args[1] = zmp_int (source->next++);
    source->item = zmp_array (source->args, 2);
    return &source->item;
}

static void
test_multihost_cut_host_mid_map_loses_nothing (void **state)
{
    zmp_client_t *client = (zmp_client_t *) *state;
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    s_source_t source;
    memset (&source, 0, sizeof source);
    source.count = 3000;
    zmp_iter_t *iter = zmp_pool_istarmap (pool, "test.echo_after", s_next_item,
                                          &source, 1, &error);
    assert_non_null (iter);
    int64_t expected = 0;
    bool cut = false;
    while (!zmp_iter_done (iter)) {
        const msgpack_object *value =
            zmp_iter_next (iter, testkit_ms (30000), &error);
        if (!value)
            fail_msg ("result %lld: %s", (long long) expected, error.message);
        //  Every result, in order, exactly once
        assert_int_equal (value->via.i64, expected);
        expected++;
        if (expected == 500) {
            //  Unplug w2 in the middle of the map
            assert_int_equal (s_shell ("'%s' cut %s w2", ZMP_NETNS, s_prefix),
                              0);
            cut = true;
        }
    }
    assert_true (cut);
    assert_int_equal (expected, 3000);
    //  Some of them ran again, on w1, and w2 is gone
    zmp_value_t *status = s_status (client);
    uint64_t retried = 0;
    zmp_uint_get (zmp_map_get (zmp_map_get (zmp_value_get (status), "counters"),
                               "retried"),
                  UINT64_MAX, &retried);
    zmp_value_destroy (&status);
    assert_true (retried > 0);
    assert_true (s_wait_workers (client, 1, 10000));
    //  Plugged back, w2 joins again on its own, and works
    assert_int_equal (s_shell ("'%s' mend %s w2", ZMP_NETNS, s_prefix), 0);
    assert_true (s_wait_workers (client, 2, 60000));
    assert_true (s_map_uses_both_hosts (pool, 4000));
    zmp_iter_destroy (&iter);
    zmp_pool_destroy (&pool);
}

static void
test_multihost_client_cut_off_comes_back (void **state)
{
    zmp_client_t *client = (zmp_client_t *) *state;
    zmp_error_t error;
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    assert_non_null (pool);
    //  Long enough for the client to lose the broker, and for TCP to back
    //  off retransmitting into the dead link
    assert_int_equal (s_shell ("'%s' cut %s c", ZMP_NETNS, s_prefix), 0);
    zclock_sleep (6000);
    zmp_value_t *status = zmp_client_status (client, 500, &error);
    assert_null (status);
    assert_int_equal (s_shell ("'%s' mend %s c", ZMP_NETNS, s_prefix), 0);
    //  The same client, with no help, is served again
    int64_t mended_at = zclock_mono ();
    int64_t deadline = mended_at + testkit_ms (30000);
    while (!status && zclock_mono () < deadline) {
        status = zmp_client_status (client, 500, &error);
        if (!status)
            zclock_sleep (100);
    }
    if (!status)
        fail_msg ("no broker 30 s after the link came back: %s", error.message);
    printf ("test_multihost: client served again %lld ms after the link "
            "came back\n",
            (long long) (zclock_mono () - mended_at));
    zmp_value_destroy (&status);
    assert_true (s_map_uses_both_hosts (pool, 4000));
    zmp_pool_destroy (&pool);
}

int
main (void)
{
    setvbuf (stdout, NULL, _IONBF, 0);
    if (geteuid () != 0) {
        printf ("test_multihost: SKIPPED: making network namespaces needs "
                "root\n");
        return 77;
    }
    snprintf (s_prefix, sizeof s_prefix, "zmh%d", (int) getpid () % 100000);
    snprintf (s_dir, sizeof s_dir, "/tmp/zmpool-multihost-XXXXXX");
    if (!mkdtemp (s_dir))
        return 1;
    char path[256];
    snprintf (path, sizeof path, "%s/hosts", s_dir);
    FILE *hosts = fopen (path, "w");
    if (!hosts)
        return 1;
    fprintf (hosts, "# host slots address\nb 0 10.77.0.1\nw1 2 10.77.0.2\n"
                    "w2 2 10.77.0.3\n");
    fclose (hosts);
    //  Before anything else: whatever happens next, it cleans up
    s_guardian_start ();
    if (s_shell ("'%s' up %s >'%s/netns.log' 2>&1", ZMP_NETNS, s_prefix,
                 s_dir)) {
        printf ("test_multihost: SKIPPED: cannot make network namespaces "
                "here (ip netns add failed)\n");
        close (s_guardian_fd);
        waitpid (s_guardian, NULL, 0);
        return 77;
    }
    //  CURVE keys for the cluster, made by the launcher: every connection
    //  between the namespaces is authenticated and encrypted, and this
    //  process's clients use the client key
    if (s_shell ("bash '%s' --zmpool '%s' keys '%s/keys' >>'%s/launcher.log' "
                 "2>&1",
                 ZMP_LAUNCHER, ZMPOOL_EXE, s_dir, s_dir)) {
        fprintf (stderr, "test_multihost: cannot make the keys\n");
        close (s_guardian_fd);
        waitpid (s_guardian, NULL, 0);
        return 1;
    }
    snprintf (path, sizeof path, "%s/keys/client.key_secret", s_dir);
    setenv ("ZMPOOL_CURVE_SECRET", path, 1);
    snprintf (path, sizeof path, "%s/keys/broker.key", s_dir);
    setenv ("ZMPOOL_CURVE_SERVER", path, 1);
    if (s_launcher ("up")) {
        fprintf (stderr, "test_multihost: the cluster did not come up:\n");
        s_shell ("cat '%s/launcher.log' '%s'/run/*.log >&2", s_dir, s_dir);
        close (s_guardian_fd);
        waitpid (s_guardian, NULL, 0);
        return 1;
    }
    //  Into the client host, before any ZeroMQ socket exists: its threads
    //  are made here and inherit the namespace
    snprintf (path, sizeof path, "/var/run/netns/%s-c", s_prefix);
    int netns = open (path, O_RDONLY | O_CLOEXEC);
    if (netns < 0 || setns (netns, CLONE_NEWNET)) {
        perror ("test_multihost: cannot enter the client's namespace");
        close (s_guardian_fd);
        waitpid (s_guardian, NULL, 0);
        return 1;
    }
    close (netns);

    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_multihost_status_lists_both_hosts_and_their_slots, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_multihost_map_spreads_over_both_hosts, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_multihost_broker_refuses_clients_without_its_keys, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_multihost_queue_shared_by_tasks_on_both_hosts, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_multihost_cut_host_mid_map_loses_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_multihost_client_cut_off_comes_back, s_setup, s_teardown),
    };
    int failed = cmocka_run_group_tests (tests, NULL, NULL);
    //  Down in order, then nothing may be left running in the hosts
    int down = s_launcher ("down");
    int leftovers = s_leftover_processes ();
    //  The broker and the agents are not our children: what a sanitizer
    //  found in them is in their logs
    bool sanitizer = s_shell ("grep -l -E 'Sanitizer|runtime error:' "
                              "'%s'/run/*.log >/dev/null",
                              s_dir)
                     == 0;
    if (failed || down || leftovers || sanitizer)
        s_shell ("cd '%s' && tail -n 40 launcher.log run/*.log >&2", s_dir);
    if (leftovers)
        fprintf (stderr, "test_multihost: %d processes left in the hosts\n",
                 leftovers);
    if (sanitizer)
        fprintf (stderr, "test_multihost: a sanitizer reported errors in "
                         "the cluster's processes\n");
    close (s_guardian_fd);  //  The guardian deletes the namespaces
    waitpid (s_guardian, NULL, 0);
    zsys_shutdown ();
    return failed ? failed : down || leftovers || sanitizer ? 1 : 0;
}
