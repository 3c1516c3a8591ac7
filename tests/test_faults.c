/*  test_faults - one fault injected into a map of thousands of tasks

    Each test starts a cluster of its own on loopback (a broker with a 250
    ms heartbeat, two agents of two task processes each), runs a map of
    3000 tasks of about 2 ms each, injects one fault once a third of the
    results are in, and checks that every task's result arrives once and is
    correct, or that a precise error arrives for exactly the tasks that
    deserve one. The broker's counters say how many results it delivered:
    one per task, no duplicate. Each test prints one FIGURES line (what
    docs/RELIABILITY.md tabulates): tasks, faults, results lost, duplicates,
    and the time to recover, the longest wait between two results after
    the fault.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <zmpool.h>

#include "zmp_store.h"
#include "zmp_testkit.h"
#include "zmp_value.h"

#include <czmq.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TASKS   3000
#define TASK_MS 2

typedef struct {
    char endpoint[256];
    pid_t broker;
    pid_t agents[2];
    zmp_client_t *client;
} cluster_t;

static cluster_t s_cluster;
static const char *s_max_queued = "0";       //  The broker's --max-queued
static char s_liveness[16];                  //  The broker's --liveness
static const char *s_memory_ceiling = NULL;  //  The agents' --max-child-memory
static char s_state_dir[64];                 //  The broker's --state-dir, or ""


//  Start the cluster's broker with its options and extra (NULL-ended,
//  or NULL)
static pid_t
s_broker_start (const char *const *extra)
{
    //  A silent client is kept 1 s past its liveness (not the default
    //  10 s): the client-kill test waits for its tasks to go
    const char *args[16] = { "--quiet",    "--heartbeat-ms",    "250",
                             "--liveness", s_liveness,          "--max-queued",
                             s_max_queued, "--client-grace-ms", "1000" };
    size_t count = 9;
    if (s_state_dir[0]) {
        args[count++] = "--state-dir";
        args[count++] = s_state_dir;
    }
    while (extra && *extra && count < 15)
        args[count++] = *extra++;
    args[count] = NULL;
    return testkit_broker_start (s_cluster.endpoint, sizeof s_cluster.endpoint,
                                 args);
}


static int
s_up (void **state)
{
    (void) state;
    memset (&s_cluster, 0, sizeof s_cluster);
    //  Liveness 4 x 250 ms: a silent peer is gone after a second (longer
    //  under sanitizers, whose loaded processes may be that slow)
    snprintf (s_liveness, sizeof s_liveness, "%d",
              4 * testkit_ms (1000) / 1000);
    //  A port no other test's wildcard can take while the broker is down
    //  (two tests restart it on the same endpoint)
    char fixed[64];
    testkit_fixed_endpoint (fixed, sizeof fixed);
    const char *bind[] = { "--bind", fixed, NULL };
    s_cluster.broker = s_broker_start (bind);
    if (s_cluster.broker <= 0)
        return -1;
    const char *agent_args[] = { "--quiet",    "--module", ZMP_TEST_MODULE,
                                 "--grace-ms", "300",      NULL,
                                 NULL,         NULL };
    if (s_memory_ceiling) {
        agent_args[5] = "--max-child-memory";
        agent_args[6] = s_memory_ceiling;
    }
    for (int index = 0; index < 2; index++) {
        s_cluster.agents[index] =
            testkit_worker_start (s_cluster.endpoint, 2, agent_args);
        if (s_cluster.agents[index] <= 0)
            return -1;
    }
    zmp_error_t error;
    s_cluster.client =
        zmp_client_connect (s_cluster.endpoint, testkit_ms (5000), &error);
    return s_cluster.client ? 0 : -1;
}

static int
s_down (void **state)
{
    (void) state;
    zmp_client_destroy (&s_cluster.client);
    for (int index = 0; index < 2; index++)
        testkit_stop (s_cluster.agents[index]);
    testkit_stop (s_cluster.broker);
    if (s_state_dir[0]) {
        zmp_store_state_dir_remove (s_state_dir);
        s_state_dir[0] = 0;
    }
    return 0;
}

//  A counter of the client with client_pid (submitted, completed, queued:
//  its entry in the broker's "clients"), or, for the names only the broker
//  counts, of the broker. *listed: whether that client is registered.
static uint64_t
s_counter_of (pid_t client_pid, const char *name, bool *listed)
{
    *listed = false;
    zmp_error_t error;
    zmp_value_t *status =
        zmp_client_status (s_cluster.client, testkit_ms (5000), &error);
    if (!status)
        fail_msg ("status: %s", error.message);
    const msgpack_object *map = zmp_value_get (status);
    const msgpack_object *counters = zmp_map_get (map, "counters");
    const msgpack_object *clients = zmp_map_get (map, "clients");
    for (uint32_t index = 0; clients && clients->type == MSGPACK_OBJECT_ARRAY
                             && index < clients->via.array.size;
         index++) {
        const msgpack_object *client = &clients->via.array.ptr[index];
        uint64_t pid = 0;
        zmp_uint_get (zmp_map_get (client, "pid"), UINT64_MAX, &pid);
        if (pid == (uint64_t) client_pid) {
            *listed = true;
            if (zmp_map_get (client, name))
                counters = client;
        }
    }
    uint64_t value = 0;
    zmp_uint_get (zmp_map_get (counters, name), UINT64_MAX, &value);
    zmp_value_destroy (&status);
    return value;
}

//  The same for this client
static uint64_t
s_counter (const char *name)
{
    bool listed;
    return s_counter_of (getpid (), name, &listed);
}

//  The task processes of an agent: the children of its spawner, its one
//  child. Fills pids; returns how many.
static size_t
s_task_processes (pid_t agent, pid_t *pids, size_t limit)
{
    char path[64], text[512];
    snprintf (path, sizeof path, "/proc/%d/task/%d/children", (int) agent,
              (int) agent);
    FILE *file = fopen (path, "r");
    int spawner = 0;
    if (!file || fscanf (file, "%d", &spawner) != 1)
        fail_msg ("cannot find the spawner of agent %d", (int) agent);
    fclose (file);
    snprintf (path, sizeof path, "/proc/%d/task/%d/children", spawner, spawner);
    file = fopen (path, "r");
    size_t count = 0;
    if (file && fgets (text, sizeof text, file)) {
        char *cursor = text;
        int pid, used;
        while (count < limit && sscanf (cursor, "%d%n", &pid, &used) == 1) {
            pids[count++] = pid;
            cursor += used;
        }
    }
    if (file)
        fclose (file);
    return count;
}

//  --------------------------------------------------------------------------
//  A map with a fault in it

//  Counter growth from before to after; a broker restarted in between
//  counted from zero
static uint64_t
s_growth (uint64_t before, uint64_t after)
{
    return after >= before ? after - before : after;
}


typedef void (fault_fn) (void *arg);

typedef struct {
    size_t results;        //  Results that came back
    size_t correct;        //  ...whose value was the task's own
    size_t errors;         //  Items that came back as errors
    size_t error_index;    //  The last of those
    zmp_error_t error;     //  ...and its error
    int64_t fault_to_end;  //  ms from the fault to the last result
    int64_t longest_gap;   //  Longest ms between two results after it
    uint64_t submitted;    //  The broker's counters of this client: tasks
    uint64_t completed;    //  accepted, and results it delivered; and its
    uint64_t retried;      //  own: tasks it ran again, late answers it
    uint64_t stale;        //  dropped
} map_run_t;

//  Map TASKS tasks of test.echo_after (TASK_MS, i) on pool, calling fault
//  (once) when a third of the results are in; slow is an index whose task
//  is to sleep slow_ms instead (or TASKS for none).
static void
s_map (zmp_pool_t *pool, fault_fn *fault, void *arg, size_t slow,
       int64_t slow_ms, map_run_t *run)
{
    memset (run, 0, sizeof *run);
    uint64_t submitted_before = s_counter ("submitted");
    uint64_t completed_before = s_counter ("completed");
    uint64_t retried_before = s_counter ("retried");
    uint64_t stale_before = s_counter ("stale");
    msgpack_object *pairs =
        (msgpack_object *) calloc (2 * TASKS, sizeof (msgpack_object));
    msgpack_object *items =
        (msgpack_object *) calloc (TASKS, sizeof (msgpack_object));
    for (size_t index = 0; index < TASKS; index++) {
        pairs[2 * index] = zmp_int (index == slow ? slow_ms : TASK_MS);
        pairs[2 * index + 1] = zmp_int ((int64_t) index);
        items[index] = zmp_array (&pairs[2 * index], 2);
    }
    zmp_array_source_t source = { items, TASKS, 0 };
    zmp_error_t error;
    zmp_iter_t *iter = zmp_pool_istarmap (pool, "test.echo_after",
                                          zmp_array_source, &source, 1, &error);
    assert_non_null (iter);
    int64_t fault_at = 0, last_at = 0;
    int64_t deadline = zclock_mono () + testkit_ms (90000);
    while (!zmp_iter_done (iter)) {
        const msgpack_object *value = zmp_iter_next (iter, 100, &error);
        if (!value && error.kind == ZMP_ERR_WAIT_TIMEOUT) {
            if (zclock_mono () > deadline)
                fail_msg ("the map hangs: %zu results of %d", run->results,
                          TASKS);
            continue;
        }
        int64_t now = zclock_mono ();
        if (fault_at && now - last_at > run->longest_gap)
            run->longest_gap = now - last_at;
        last_at = now;
        run->results++;
        size_t index = zmp_iter_index (iter);
        if (!value) {
            run->errors++;
            run->error_index = index;
            run->error = error;
        } else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                   && value->via.u64 == index)
            run->correct++;
        if (run->results == TASKS / 3 && fault) {
            fault_at = last_at = zclock_mono ();
            fault (arg);
        }
    }
    run->fault_to_end = fault_at ? last_at - fault_at : 0;
    zmp_iter_destroy (&iter);
    free (items);
    free (pairs);
    run->submitted = s_growth (submitted_before, s_counter ("submitted"));
    run->completed = s_growth (completed_before, s_counter ("completed"));
    run->retried = s_growth (retried_before, s_counter ("retried"));
    run->stale = s_growth (stale_before, s_counter ("stale"));
}

//  The line docs/RELIABILITY.md is made of
static void
s_figures (const char *fault, int faults, const map_run_t *run)
{
    printf ("FIGURES | %s | %d | %d | %zu | %lld | %llu | %llu | %lld | "
            "%lld |\n",
            fault, TASKS, faults, TASKS - run->results,
            (long long) run->completed - (long long) run->submitted,
            (unsigned long long) run->retried, (unsigned long long) run->stale,
            (long long) run->longest_gap, (long long) run->fault_to_end);
    fflush (stdout);
}

//  Every task came back once, right, with no error.
static void
s_assert_all_correct (const map_run_t *run)
{
    assert_int_equal (run->results, TASKS);
    if (run->errors)
        fail_msg ("item %zu failed: %s", run->error_index, run->error.message);
    assert_int_equal (run->correct, TASKS);
    assert_int_equal (run->submitted, TASKS);
    assert_int_equal (run->completed, TASKS);  //  One result each
}

//  Every task came back once, right, but the one at index, which failed
//  (its error is in run->error, for the caller to check).
static void
s_assert_only_failed (const map_run_t *run, size_t index)
{
    assert_int_equal (run->results, TASKS);
    assert_int_equal (run->errors, 1);
    assert_int_equal (run->error_index, index);
    assert_int_equal (run->correct, TASKS - 1);
    assert_int_equal (run->completed, TASKS);  //  One result each
}

//  --------------------------------------------------------------------------
//  Faults


//  Both task processes of one agent: at least one of them runs a task
//  (one alone might be between two)
static void
s_kill_task_processes (void *arg)
{
    (void) arg;
    pid_t pids[8];
    size_t count = s_task_processes (s_cluster.agents[0], pids, 8);
    assert_int_equal (count, 2);
    for (size_t index = 0; index < count; index++)
        assert_int_equal (kill (pids[index], SIGKILL), 0);
}

static void
s_kill_an_agent (void *arg)
{
    (void) arg;
    assert_int_equal (kill (s_cluster.agents[0], SIGKILL), 0);
}

//  SIGSTOP now, SIGCONT from a helper process *arg ms later, while the map
//  goes on
static pid_t s_continuer = 0;

static void
s_stop_an_agent (void *arg)
{
    int stopped_ms = *(int *) arg;
    assert_int_equal (kill (s_cluster.agents[0], SIGSTOP), 0);
    //  A shell, not a forked copy of this test: under valgrind a copy
    //  would leave with this process's heap and report it at exit
    char script[128];
    snprintf (script, sizeof script, "sleep %d.%03d; exec kill -CONT %d",
              stopped_ms / 1000, stopped_ms % 1000, (int) s_cluster.agents[0]);
    s_continuer = fork ();
    if (s_continuer == 0) {
        execl ("/bin/sh", "sh", "-c", script, (char *) NULL);
        _exit (127);
    }
    assert_true (s_continuer > 0);
}

//  SIGKILL the broker, and start it again on the same endpoint with the
//  options in *arg (NULL-ended): what a supervisor does
static void
s_restart_the_broker (void *arg)
{
    const char **extra = (const char **) arg;
    assert_int_equal (kill (s_cluster.broker, SIGKILL), 0);
    int status;
    assert_int_equal (waitpid (s_cluster.broker, &status, 0), s_cluster.broker);
    char endpoint[256];
    snprintf (endpoint, sizeof endpoint, "%s", s_cluster.endpoint);
    const char *args[8] = { "--bind", endpoint };
    for (size_t count = 2; extra && *extra && count < 7; count++)
        args[count] = *extra++;
    //  The port can be taken for a moment (a peer's reconnection may get it
    //  as its own local port): try again, as a supervisor would
    s_cluster.broker = s_broker_start (args);
    for (int attempt = 1; s_cluster.broker <= 0 && attempt < 20; attempt++) {
        zclock_sleep (100);
        s_cluster.broker = s_broker_start (args);
    }
    assert_true (s_cluster.broker > 0);
    assert_string_equal (s_cluster.endpoint, endpoint);
}

static void
s_kill_a_client (void *arg)
{
    pid_t *victim = (pid_t *) arg;
    //  Still in the middle of its map
    bool listed;
    assert_true (s_counter_of (*victim, "completed", &listed) < TASKS);
    assert_true (listed);
    assert_int_equal (kill (*victim, SIGKILL), 0);
}

//  --------------------------------------------------------------------------
//  Tests

//  SIGKILL of a task process: its task runs again (the broker's one retry
//  for crashes), the process is replaced
static void
test_fault_a_task_process_killed (void **state)
{
    (void) state;
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    map_run_t run;
    s_map (pool, s_kill_task_processes, NULL, TASKS, 0, &run);
    s_figures ("SIGKILL both task processes of an agent", 2, &run);
    s_assert_all_correct (&run);
    assert_true (run.retried >= 1);
    zmp_pool_destroy (&pool);
}

//  SIGKILL of an agent: its tasks run on the other one
static void
test_fault_an_agent_killed (void **state)
{
    (void) state;
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    map_run_t run;
    s_map (pool, s_kill_an_agent, NULL, TASKS, 0, &run);
    s_figures ("SIGKILL an agent", 1, &run);
    s_assert_all_correct (&run);
    assert_true (run.retried >= 1);
    int status;
    assert_int_equal (waitpid (s_cluster.agents[0], &status, 0),
                      s_cluster.agents[0]);
    s_cluster.agents[0] = 0;
    zmp_pool_destroy (&pool);
}

//  SIGSTOP of an agent for longer than the broker's patience, then
//  SIGCONT: its tasks run elsewhere, its late answers are dropped as
//  stale, and it joins again
static void
test_fault_an_agent_stopped_then_continued (void **state)
{
    (void) state;
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    int stopped_ms = 3 * testkit_ms (1000);
    map_run_t run;
    s_map (pool, s_stop_an_agent, &stopped_ms, TASKS, 0, &run);
    int status;
    assert_int_equal (waitpid (s_continuer, &status, 0), s_continuer);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    s_figures ("SIGSTOP an agent 3 s, then SIGCONT", 1, &run);
    s_assert_all_correct (&run);
    assert_true (run.retried >= 1);
    //  It comes back: both agents serve again
    int64_t deadline = zclock_mono () + testkit_ms (10000);
    while (zmp_client_slots (s_cluster.client) < 4 && zclock_mono () < deadline)
        usleep (100 * 1000);
    assert_int_equal (zmp_client_slots (s_cluster.client), 4);
    zmp_pool_destroy (&pool);
}

//  SIGKILL of another client in the middle of its own map: its tasks are
//  dropped, and this client's map is unharmed
static void
test_fault_a_client_killed (void **state)
{
    (void) state;
    char *input = (char *) malloc (TASKS * 12);
    input[0] = '\0';
    size_t used = 0;
    for (int index = 0; index < TASKS; index++)
        used += (size_t) sprintf (input + used, "[%d, %d]\n", TASK_MS, index);
    //  The victim: zmpool map over the same cluster, its ARGs from a file
    char path[] = "/tmp/zmpool-faults-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, input, used), (ssize_t) used);
    close (fd);
    free (input);
    pid_t victim = fork ();
    if (victim == 0) {
        int in = open (path, 0);
        int null = open ("/dev/null", 1);
        dup2 (in, 0);
        dup2 (null, 1);
        dup2 (null, 2);
        execl (ZMPOOL_EXE, "zmpool", "map", "--connect", s_cluster.endpoint,
               "--chunksize", "1", "test.echo_after", "-", (char *) NULL);
        _exit (127);
    }
    assert_true (victim > 0);
    //  Let it get going: killed mid-map, not before nor after
    int64_t deadline = zclock_mono () + testkit_ms (10000);
    bool listed;
    while (s_counter_of (victim, "completed", &listed) < 100
           && zclock_mono () < deadline)
        usleep (20 * 1000);
    uint64_t victim_done = s_counter_of (victim, "completed", &listed);
    assert_true (listed);
    assert_true (victim_done >= 100 && victim_done < TASKS / 2);
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    map_run_t run;
    s_map (pool, s_kill_a_client, &victim, TASKS, 0, &run);
    waitpid (victim, NULL, 0);
    unlink (path);
    s_figures ("SIGKILL another client mid-map", 1, &run);
    assert_int_equal (run.results, TASKS);
    assert_int_equal (run.correct, TASKS);
    assert_int_equal (run.errors, 0);
    //  Nothing of the victim's is left queued or running once the broker
    //  has noticed it is gone
    zmp_error_t error;
    deadline = zclock_mono () + testkit_ms (10000);
    uint64_t queued = 1, running = 1, clients = 2;
    while ((queued || running || clients > 1) && zclock_mono () < deadline) {
        zmp_value_t *status =
            zmp_client_status (s_cluster.client, testkit_ms (5000), &error);
        assert_non_null (status);
        const msgpack_object *map = zmp_value_get (status);
        zmp_uint_get (zmp_map_get (map, "queued"), UINT64_MAX, &queued);
        zmp_uint_get (zmp_map_get (map, "running"), UINT64_MAX, &running);
        const msgpack_object *list = zmp_map_get (map, "clients");
        clients = list && list->type == MSGPACK_OBJECT_ARRAY
                      ? list->via.array.size
                      : 0;
        zmp_value_destroy (&status);
        usleep (100 * 1000);
    }
    assert_int_equal (queued, 0);
    assert_int_equal (running, 0);
    assert_int_equal (clients, 1);
    zmp_pool_destroy (&pool);
}

//  Items in a queue the client fills before a fault, and how many it takes
//  out before
#define QUEUE_ITEMS 2000
#define QUEUE_TAKEN 500

//  A queue with QUEUE_ITEMS items 0, 1..., QUEUE_TAKEN of them taken,
//  every put answered
static zmp_queue_t *
s_filled_queue (void)
{
    zmp_error_t error;
    zmp_queue_t *queue = zmp_queue_new (s_cluster.client, 0, &error);
    assert_non_null (queue);
    for (int64_t item = 0; item < QUEUE_ITEMS; item++) {
        msgpack_object value = zmp_int (item);
        assert_int_equal (zmp_queue_put (queue, &value, -1, &error), 0);
    }
    for (int64_t item = 0; item < QUEUE_TAKEN; item++) {
        zmp_value_t *value = zmp_queue_get (queue, 0, &error);
        assert_non_null (value);
        assert_int_equal (zmp_value_get (value)->via.i64, item);
        zmp_value_destroy (&value);
    }
    assert_int_equal (zmp_queue_qsize (queue, &error),
                      QUEUE_ITEMS - QUEUE_TAKEN);
    return queue;
}

//  The broker was killed mid-map and started again: the map completed
static void
s_assert_map_resumed (const map_run_t *run)
{
    assert_int_equal (run->results, TASKS);
    if (run->errors)
        fail_msg ("item %zu failed: %s", run->error_index, run->error.message);
    assert_int_equal (run->correct, TASKS);
    //  The new broker got the rest, and the ones in flight again, each
    //  answered once. The old one answered the TASKS / 3 handed out
    //  before the fault, and at most the iterator's window (256 places,
    //  its smallest) more
    assert_true (run->submitted <= TASKS - TASKS / 3);
    assert_true (run->submitted >= TASKS - TASKS / 3 - 256);
    assert_int_equal (run->completed, run->submitted);
}

//  SIGKILL of the broker mid-map, and a new one on the same endpoint: the
//  agents join it, the client says HELLO again and resends the tasks it
//  has no result for, and the map completes, each result once. Without a
//  state directory the queue is gone, and says so.
static void
test_fault_the_broker_killed_and_restarted (void **state)
{
    (void) state;
    zmp_queue_t *queue = s_filled_queue ();
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    map_run_t run;
    s_map (pool, s_restart_the_broker, NULL, TASKS, 0, &run);
    s_figures ("SIGKILL the broker, start a new one", 1, &run);
    s_assert_map_resumed (&run);
    zmp_error_t error;
    assert_null (zmp_queue_get (queue, 0, &error));
    assert_int_equal (error.kind, ZMP_ERR_NOT_FOUND);
    zmp_queue_destroy (&queue);
    //  Both agents serve the new broker
    zmp_value_t *status =
        zmp_client_status (s_cluster.client, testkit_ms (5000), &error);
    assert_non_null (status);
    uint64_t slots = 0;
    zmp_uint_get (zmp_map_get (zmp_value_get (status), "slots"), UINT64_MAX,
                  &slots);
    zmp_value_destroy (&status);
    assert_int_equal (slots, 4);
    zmp_pool_destroy (&pool);
}

static int
s_up_state_dir (void **state)
{
    snprintf (s_state_dir, sizeof s_state_dir, "/tmp/zmp-faults-XXXXXX");
    assert_non_null (mkdtemp (s_state_dir));
    return s_up (state);
}

//  The same with a state directory: the map completes as before, and the
//  queue comes back whole, no item lost and none taken before come back;
//  the client attached it again, so it outlives the broker's hold on it
static void
test_fault_the_broker_killed_and_restarted_with_a_state_dir (void **state)
{
    (void) state;
    zmp_queue_t *queue = s_filled_queue ();
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    map_run_t run;
    s_map (pool, s_restart_the_broker, NULL, TASKS, 0, &run);
    s_figures ("SIGKILL the broker, start a new one on its --state-dir", 1,
               &run);
    s_assert_map_resumed (&run);
    zmp_pool_destroy (&pool);
    //  The hold: liveness (4 x 250 ms, more under sanitizers) and 1 s grace
    zclock_sleep (4 * testkit_ms (1000) + 1000 + 500);
    zmp_error_t error;
    assert_int_equal (zmp_queue_qsize (queue, &error),
                      QUEUE_ITEMS - QUEUE_TAKEN);
    for (int64_t item = QUEUE_TAKEN; item < QUEUE_ITEMS; item++) {
        zmp_value_t *value = zmp_queue_get (queue, 0, &error);
        if (!value)
            fail_msg ("item %lld: %s", (long long) item, error.message);
        assert_int_equal (zmp_value_get (value)->via.i64, item);
        zmp_value_destroy (&value);
    }
    assert_null (zmp_queue_get (queue, 0, &error));
    assert_int_equal (error.kind, ZMP_ERR_EMPTY);
    zmp_queue_destroy (&queue);
}

//  A task that never returns, in a pool with a limit: it alone fails,
//  with timeout, and every other task's result is there
static void
test_fault_a_task_that_never_returns (void **state)
{
    (void) state;
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    zmp_error_t error;
    assert_int_equal (zmp_pool_set_task_timeout (pool, 500, &error), 0);
    map_run_t run;
    s_map (pool, NULL, NULL, TASKS / 2, 24 * 3600 * 1000, &run);
    s_figures ("a task that never returns (500 ms limit)", 1, &run);
    s_assert_only_failed (&run, TASKS / 2);
    assert_int_equal (run.error.kind, ZMP_ERR_TIMEOUT);
    zmp_pool_destroy (&pool);
}

//  A cluster whose agents kill a task process over 256 MiB
static int
s_up_memory_ceiling (void **state)
{
    s_memory_ceiling = "256";
    int rc = s_up (state);
    s_memory_ceiling = NULL;
    return rc;
}

//  A task that allocates without bound, on agents with a memory ceiling:
//  its process is killed each time it goes over (it runs twice: the
//  broker's crash retry), it alone fails, as crashed, naming the ceiling
static void
test_fault_a_task_that_allocates_without_bound (void **state)
{
    (void) state;
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    map_run_t run;
    s_map (pool, NULL, NULL, TASKS / 2, -1, &run);
    s_figures ("a task that allocates without bound (256 MiB ceiling)", 1,
               &run);
    s_assert_only_failed (&run, TASKS / 2);
    if (run.error.kind != ZMP_ERR_CRASHED
        || !strstr (run.error.message, "memory ceiling of 256 MiB"))
        fail_msg ("the hog failed otherwise: %s", run.error.message);
    assert_int_equal (run.error.signal, SIGKILL);
    assert_int_equal (run.retried, 1);
    zmp_pool_destroy (&pool);
}

//  A cluster whose broker lets a client queue at most 100 tasks
static int
s_up_small_queue (void **state)
{
    s_max_queued = "100";
    int rc = s_up (state);
    s_max_queued = "0";
    return rc;
}

//  The largest number of this client's tasks the broker holds queued
static uint64_t s_queued_peak = 0;

static void
s_sample_queue (void)
{
    uint64_t queued = s_counter ("queued");
    if (queued > s_queued_peak)
        s_queued_peak = queued;
}

//  Submit TASKS apply_async tasks of test.echo_after (TASK_MS, i) as fast
//  as the client lets; wait for all; count the right ones and the errors
static void
s_flood (zmp_pool_t *pool, size_t *correct, size_t *full, int64_t *ms)
{
    zmp_async_t **asyncs =
        (zmp_async_t **) calloc (TASKS, sizeof (zmp_async_t *));
    int64_t start = zclock_mono ();
    s_queued_peak = 0;
    for (size_t index = 0; index < TASKS; index++) {
        msgpack_object pair[] = { zmp_int (TASK_MS),
                                  zmp_int ((int64_t) index) };
        msgpack_object args = zmp_array (pair, 2);
        zmp_error_t error;
        asyncs[index] = zmp_pool_apply_async (pool, "test.echo_after", &args,
                                              NULL, NULL, NULL, &error);
        if (!asyncs[index])
            fail_msg ("apply_async: %s", error.message);
        if (index % 250 == 0)
            s_sample_queue ();
    }
    *correct = *full = 0;
    for (size_t index = 0; index < TASKS; index++) {
        zmp_error_t error;
        const msgpack_object *value =
            zmp_async_get (asyncs[index], testkit_ms (60000), &error);
        if (value && value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
            && value->via.u64 == index)
            (*correct)++;
        else if (!value && error.kind == ZMP_ERR_FULL
                 && strstr (error.message, "--max-queued"))
            (*full)++;
        zmp_async_destroy (&asyncs[index]);
    }
    *ms = zclock_mono () - start;
    free (asyncs);
}

//  A producer faster than the cluster, against a broker that queues at
//  most 100 of its tasks: with the client's in-flight cap below that, it
//  is slowed and nothing is refused; with the cap above, the excess is
//  refused at once with full, and every other task's result is right
static void
test_fault_a_flood_against_a_small_queue (void **state)
{
    (void) state;
    zmp_pool_t *pool = zmp_pool_new (s_cluster.client, 0, NULL);
    size_t correct, full;
    int64_t ms;
    zmp_client_set_max_in_flight (s_cluster.client, 50);
    s_flood (pool, &correct, &full, &ms);
    printf ("FIGURES | a flood of apply_async, client cap 50, broker cap 100 "
            "| %d | 0 | %zu | 0 | peak queued %llu | %lld ms |\n",
            TASKS, TASKS - correct, (unsigned long long) s_queued_peak,
            (long long) ms);
    assert_int_equal (correct, TASKS);
    assert_int_equal (full, 0);
    assert_true (s_queued_peak <= 100);

    zmp_client_set_max_in_flight (s_cluster.client, TASKS);
    s_flood (pool, &correct, &full, &ms);
    printf ("FIGURES | a flood of apply_async, client cap %d, broker cap 100 "
            "| %d | 0 | 0 | %zu refused with full | peak queued %llu | %lld "
            "ms |\n",
            TASKS, TASKS, full, (unsigned long long) s_queued_peak,
            (long long) ms);
    assert_int_equal (correct + full, TASKS);
    assert_true (full > 0);
    assert_true (s_queued_peak <= 100);
    zmp_pool_destroy (&pool);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_fault_a_task_process_killed, s_up,
                                         s_down),
        cmocka_unit_test_setup_teardown (test_fault_an_agent_killed, s_up,
                                         s_down),
        cmocka_unit_test_setup_teardown (
            test_fault_an_agent_stopped_then_continued, s_up, s_down),
        cmocka_unit_test_setup_teardown (test_fault_a_client_killed, s_up,
                                         s_down),
        cmocka_unit_test_setup_teardown (
            test_fault_the_broker_killed_and_restarted, s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_fault_the_broker_killed_and_restarted_with_a_state_dir,
            s_up_state_dir, s_down),
        cmocka_unit_test_setup_teardown (test_fault_a_task_that_never_returns,
                                         s_up, s_down),
        cmocka_unit_test_setup_teardown (
            test_fault_a_task_that_allocates_without_bound, s_up_memory_ceiling,
            s_down),
        cmocka_unit_test_setup_teardown (
            test_fault_a_flood_against_a_small_queue, s_up_small_queue, s_down),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
