/*  test_cli - the zmpool command line, as scripts and users run it

    A broker and an agent with two task processes serve the group; each test
    runs the real zmpool executable and checks its output and exit status.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_cores.h"
#include "zmp_testkit.h"

#include <czmq.h>
#include <dirent.h>
#include <jansson.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_endpoint[256];
static pid_t s_broker;
static pid_t s_worker;
static bool s_teardown_failed = false;  //  Shutdown was not clean

static int
s_cluster_up (void **state)
{
    (void) state;
    //  Orphans of the commands we run come to us, so none can hide
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    const char *quiet[] = { "--quiet", NULL };
    s_broker = testkit_broker_start (s_endpoint, sizeof s_endpoint, quiet);
    const char *worker_args[] = { "--quiet", "--module", ZMP_TEST_MODULE,
                                  NULL };
    if (s_broker > 0)
        s_worker = testkit_worker_start (s_endpoint, 2, worker_args);
    return s_broker > 0 && s_worker > 0 ? 0 : -1;
}

static int
s_cluster_down (void **state)
{
    (void) state;
    int worker = testkit_stop_cleanly (s_worker);
    int broker = testkit_stop_cleanly (s_broker);
    //  cmocka 1.1 reports a failed group teardown but still exits 0
    s_teardown_failed = worker || broker;
    return s_teardown_failed ? -1 : 0;
}

typedef struct {
    int status;
    char *out;
    char *err;
} run_t;

//  Run zmpool with args (NULL-terminated) and stdin_text.
static run_t
s_run (const char *const *args, const char *stdin_text)
{
    run_t run;
    run.status =
        testkit_run (args, stdin_text, &run.out, &run.err, testkit_ms (30000));
    return run;
}

static void
s_run_free (run_t *run)
{
    free (run->out);
    free (run->err);
}

//  Processes whose parent is this test, other than the cluster's.
static int
s_stray_children (void)
{
    int strays = 0;
    DIR *proc = opendir ("/proc");
    struct dirent *entry;
    while ((entry = readdir (proc))) {
        int pid = atoi (entry->d_name);
        if (pid <= 0 || pid == s_broker || pid == s_worker)
            continue;
        char path[64], line[256];
        snprintf (path, sizeof path, "/proc/%d/status", pid);
        FILE *file = fopen (path, "r");
        if (!file)
            continue;
        while (fgets (line, sizeof line, file))
            if (strncmp (line, "PPid:", 5) == 0 && atoi (line + 5) == getpid ())
                strays++;
        fclose (file);
    }
    closedir (proc);
    return strays;
}

static void
test_cli_help_version_and_bad_commands (void **state)
{
    (void) state;
    const char *help[] = { "--help", NULL };
    run_t run = s_run (help, NULL);
    assert_int_equal (run.status, 0);
    assert_non_null (strstr (run.out, "Usage: zmpool COMMAND"));
    for (const char *const *name =
             (const char *const[]){ "broker", "worker", "status", "map", "run",
                                    "bench", NULL };
         *name; name++)
        assert_non_null (strstr (run.out, *name));
    s_run_free (&run);

    const char *version[] = { "--version", NULL };
    run = s_run (version, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "zmpool 0.1.0\n");
    s_run_free (&run);

    const char *nothing[] = { NULL };
    run = s_run (nothing, NULL);
    assert_int_equal (run.status, 2);
    s_run_free (&run);

    const char *unknown[] = { "frobnicate", NULL };
    run = s_run (unknown, NULL);
    assert_int_equal (run.status, 2);
    assert_non_null (strstr (run.err, "'frobnicate' is not a command"));
    s_run_free (&run);
}

static void
test_cli_every_command_has_help (void **state)
{
    (void) state;
    const char *commands[] = { "broker", "worker", "status", "map",
                               "run",    "bench",  NULL };
    for (int index = 0; commands[index]; index++) {
        const char *args[] = { commands[index], "--help", NULL };
        run_t run = s_run (args, NULL);
        assert_int_equal (run.status, 0);
        char usage[64];
        snprintf (usage, sizeof usage, "Usage: zmpool %s", commands[index]);
        assert_non_null (strstr (run.out, usage));
        assert_non_null (strstr (run.out, "Example"));
        s_run_free (&run);
    }
}

static void
test_cli_map_prints_results_in_order (void **state)
{
    (void) state;
    const char *args[] = { "map", "--connect", s_endpoint, "square",
                           "1",   "2",         "3",        NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "1\n4\n9\n");
    s_run_free (&run);

    const char *negative[] = { "map", "--connect", s_endpoint, "square",
                               "-4",  "1.5",       NULL };
    run = s_run (negative, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "16\n2.25\n");
    s_run_free (&run);

    const char *several[] = { "map",         "--connect",
                              s_endpoint,    "armstrong",
                              "[100, 1000]", "[24678000, 24678100]",
                              NULL };
    run = s_run (several, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "[153,370,371,407]\n[24678050,24678051]\n");
    s_run_free (&run);
}

static void
test_cli_map_task_timeout_stops_a_slow_task (void **state)
{
    (void) state;
    const char *args[] = { "map", "--connect", s_endpoint, "--task-timeout",
                           "0.2", "sleep",     "10",       "60000",
                           NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "task 2 (ARG 60000): task timed out"));
    assert_non_null (strstr (run.err, "longer than its limit of 200 ms"));
    s_run_free (&run);
}

static void
test_cli_map_two_thousand_tasks_from_stdin (void **state)
{
    (void) state;
    size_t size = 2000 * 6;
    char *input = (char *) malloc (size);
    char *expected = (char *) malloc (2000 * 10);
    input[0] = expected[0] = 0;
    size_t in_used = 0, out_used = 0;
    for (int n = 1; n <= 2000; n++) {
        in_used += (size_t) sprintf (input + in_used, "%d\n", n);
        out_used += (size_t) sprintf (expected + out_used, "%d\n", n * n);
    }
    const char *args[] = {
        "map", "--connect", s_endpoint, "square", "-", NULL
    };
    run_t run = s_run (args, input);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, expected);
    s_run_free (&run);
    free (input);
    free (expected);
}

static void
test_cli_map_failures_exit_1_and_the_pool_still_serves (void **state)
{
    (void) state;
    const char *crash[] = {
        "map", "--connect", s_endpoint, "crash", "1", NULL
    };
    run_t run = s_run (crash, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "SIGSEGV"));
    assert_int_equal (strchr (run.err, '\n') - run.err + 1,
                      (long) strlen (run.err));  //  One line
    s_run_free (&run);

    const char *unknown[] = { "map",      "--connect",
                              s_endpoint, "no_such_function",
                              "1",        NULL };
    run = s_run (unknown, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "unknown function"));
    s_run_free (&run);

    const char *bad[] = { "map",    "--connect", s_endpoint,
                          "square", "\"x\"",     NULL };
    run = s_run (bad, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "bad arguments"));
    assert_non_null (strstr (run.err, "square takes a number"));
    s_run_free (&run);

    const char *good[] = {
        "map", "--connect", s_endpoint, "square", "5", NULL
    };
    run = s_run (good, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "25\n");
    s_run_free (&run);
}

//  The lines of a file, split at tabs: fields[line][column], NULL-ended
static char ***
s_read_tsv (const char *path, size_t *count)
{
    char *text = NULL;
    size_t size = 0;
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    assert_true (getdelim (&text, &size, 0, file) > 0);
    fclose (file);
    char ***lines = (char ***) calloc (1000, sizeof (char **));
    *count = 0;
    char *saveptr = NULL;
    for (char *line = strtok_r (text, "\n", &saveptr); line && *count < 999;
         line = strtok_r (NULL, "\n", &saveptr)) {
        char **fields = (char **) calloc (16, sizeof (char *));
        char *cursor = line;
        for (int column = 0; column < 15 && cursor; column++) {
            char *tab = strchr (cursor, '\t');
            if (tab)
                *tab = 0;
            fields[column] = strdup (cursor);
            cursor = tab ? tab + 1 : NULL;
        }
        lines[(*count)++] = fields;
    }
    free (text);
    return lines;
}

static void
s_free_tsv (char ***lines, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        for (int column = 0; lines[index][column]; column++)
            free (lines[index][column]);
        free (lines[index]);
    }
    free (lines);
}

//  map --joblog: a line per ARG done (GNU parallel's columns, and CPU and
//  memory); --resume runs only what it does not show done
static void
test_cli_map_joblog_and_resume (void **state)
{
    (void) state;
    char path[] = "/tmp/zmpool-joblog-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    close (fd);
    const char *first[] = { "map", "--connect", s_endpoint, "--chunksize",
                            "1",   "--joblog",  path,       "square",
                            "-",   NULL };
    run_t run = s_run (first, "1\n2\n3\n4\n5\n\"x\"\n7\n8\n");
    assert_int_equal (run.status, 1);  //  ARG 6 cannot be squared
    assert_string_equal (run.out, "1\n4\n9\n16\n25\n");
    s_run_free (&run);
    size_t count;
    char ***lines = s_read_tsv (path, &count);
    assert_int_equal (count, 7);  //  The header, 5 done, 1 failed
    assert_string_equal (lines[0][0], "Seq");
    assert_string_equal (lines[0][9], "Arg");
    char host[256];
    gethostname (host, sizeof host);
    for (size_t index = 1; index <= 6; index++) {
        char number[16];
        snprintf (number, sizeof number, "%zu", index);
        assert_string_equal (lines[index][0], number);
        assert_string_equal (lines[index][1], host);
        assert_true (atof (lines[index][2]) > 1.7e9);  //  Starttime
        assert_true (atof (lines[index][3]) >= 0);     //  JobRuntime
        assert_true (atoll (lines[index][6]) > 0);     //  MaxRSSKiB
        assert_string_equal (lines[index][7], index < 6 ? "0" : "1");
        assert_string_equal (lines[index][8],
                             index < 6 ? "-" : "bad_arguments");
    }
    assert_string_equal (lines[6][9], "\"x\"");
    s_free_tsv (lines, count);

    //  Resumed with ARG 6 mended: only 6 to 8 run and print
    const char *resume[] = { "map",    "--connect", s_endpoint, "--chunksize",
                             "1",      "--joblog",  path,       "--resume",
                             "square", "-",         NULL };
    const char *mended = "1\n2\n3\n4\n5\n6\n7\n8\n";
    run = s_run (resume, mended);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "36\n49\n64\n");
    assert_non_null (strstr (run.err, "5 ARGs done already"));
    s_run_free (&run);
    lines = s_read_tsv (path, &count);
    assert_int_equal (count, 10);
    assert_string_equal (lines[9][0], "8");
    assert_string_equal (lines[9][7], "0");
    s_free_tsv (lines, count);
    //  All done: nothing runs
    run = s_run (resume, mended);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "");
    s_run_free (&run);
    //  Another input under the same joblog is refused, not mixed up
    run = s_run (resume, "1\n2\n30\n");
    assert_int_equal (run.status, 2);
    assert_non_null (strstr (run.err, "ARG 3 was '3'"));
    s_run_free (&run);
    //  A line cut short at the end (a map killed writing it) is not done
    FILE *file = fopen (path, "a");
    fputs ("9\tvm\t1795000000.000", file);
    fclose (file);
    run = s_run (resume, mended);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "");
    s_run_free (&run);
    unlink (path);

    //  An ARG over two lines, a tab in a string: one line each, read back
    const char *multi[] = { "map",       "--connect", s_endpoint, "--joblog",
                            path,        "--resume",  "echo",     "[1,\n 2]",
                            "\"a\\tb\"", NULL };
    run = s_run (multi, NULL);
    assert_int_equal (run.status, 0);
    s_run_free (&run);
    lines = s_read_tsv (path, &count);
    assert_int_equal (count, 3);
    assert_string_equal (lines[1][9], "[1,\\n 2]");
    s_free_tsv (lines, count);
    run = s_run (multi, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "");  //  Both done
    s_run_free (&run);
    unlink (path);

    //  In a chunk, the line of the failure names the ARG that failed
    const char *chunked[] = { "map", "--connect", s_endpoint, "--chunksize",
                              "2",   "--joblog",  path,       "square",
                              "1",   "\"y\"",     NULL };
    run = s_run (chunked, NULL);
    assert_int_equal (run.status, 1);
    s_run_free (&run);
    lines = s_read_tsv (path, &count);
    assert_int_equal (count, 2);
    assert_string_equal (lines[1][0], "2");
    assert_string_equal (lines[1][7], "1");
    s_free_tsv (lines, count);

    const char *alone[] = { "map", "--resume", "square", "1", NULL };
    run = s_run (alone, NULL);
    assert_int_equal (run.status, 2);
    assert_non_null (strstr (run.err, "--resume needs --joblog"));
    s_run_free (&run);
    unlink (path);
}

static void
test_cli_map_usage_errors_exit_2 (void **state)
{
    (void) state;
    const char *cases[][8] = {
        { "map", NULL },
        { "map", "--connect", s_endpoint, "square", NULL },
        { "map", "--connect", s_endpoint, "square", "[1,", NULL },
        { "map", "--processes", "0", "square", "1", NULL },
        { "map", "--chunksize", "lots", "square", "1", NULL },
        { "map", "--task-timeout", "0", "square", "1", NULL },
        { "map", "--task-timeout", "-1", "square", "1", NULL },
        { "map", "--bogus", "square", "1", NULL },
        { "map", "--connect", s_endpoint, "--module", "x.so", "square", NULL },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        run_t run = s_run (cases[index], NULL);
        if (run.status != 2)
            fail_msg ("case %zu: status %d, stderr: %s", index, run.status,
                      run.err);
        assert_non_null (strstr (run.err, "zmpool map: "));
        assert_non_null (strstr (run.err, "Try 'zmpool map --help'."));
        s_run_free (&run);
    }
    const char *worker[] = { "worker", "--processes", "abc", NULL };
    run_t run = s_run (worker, NULL);
    assert_int_equal (run.status, 2);
    s_run_free (&run);
}

static void
test_cli_run_shows_the_output_and_says_how_it_ended (void **state)
{
    (void) state;
    const char *print[] = { "run",        "--connect",      s_endpoint,
                            "test.print", "\"hello john\"", NULL };
    run_t run = s_run (print, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "hello john\n");
    assert_string_equal (run.err, "err: hello john\n");
    s_run_free (&run);

    const char *result[] = { "run",    "--connect", s_endpoint, "--result",
                             "square", "12",        NULL };
    run = s_run (result, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "144\n");
    s_run_free (&run);

    const char *crash[] = { "run", "--connect", s_endpoint, "crash", NULL };
    run = s_run (crash, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "zmpool run: crash ended with exitcode "
                                      "-11: process crashed (signal 11"));
    s_run_free (&run);

    const char *code[] = { "run", "--connect", s_endpoint, "test.fail_code",
                           "7",   NULL };
    run = s_run (code, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "ended with exitcode 7"));
    s_run_free (&run);

    //  --timeout terminates it, and its output up to then is shown
    const char *slow[] = { "run", "--connect",         s_endpoint, "--timeout",
                           "0.5", "test.wait_forever", NULL };
    run = s_run (slow, NULL);
    assert_int_equal (run.status, 1);
    assert_string_equal (run.out, "waiting\n");
    assert_non_null (strstr (run.err, "timed out: test.wait_forever ended "
                                      "with exitcode -15"));
    s_run_free (&run);
}

static void
test_cli_worker_usage_errors_exit_2 (void **state)
{
    (void) state;
    const char *cases[][4] = {
        { "worker", "--max-child-memory", "0", NULL },
        { "worker", "--max-child-memory", "lots", NULL },
        { "worker", "--max-child-growth", "-1", NULL },
        { "worker", "--grace-ms", "soon", NULL },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        run_t run = s_run (cases[index], NULL);
        if (run.status != 2)
            fail_msg ("case %zu: status %d, stderr: %s", index, run.status,
                      run.err);
        assert_non_null (strstr (run.err, cases[index][1]));
        assert_non_null (strstr (run.err, "Try 'zmpool worker --help'."));
        s_run_free (&run);
    }
}

static void
test_cli_run_usage_errors_exit_2 (void **state)
{
    (void) state;
    const char *cases[][8] = {
        { "run", NULL },
        { "run", "--connect", s_endpoint, "square", "[1,", NULL },
        { "run", "--connect", s_endpoint, "bad name!", NULL },
        { "run", "--timeout", "soon", "square", "1", NULL },
        { "run", "--connect", s_endpoint, "--module", "x.so", "square", NULL },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        run_t run = s_run (cases[index], NULL);
        if (run.status != 2)
            fail_msg ("case %zu: status %d, stderr: %s", index, run.status,
                      run.err);
        assert_non_null (strstr (run.err, "zmpool run: "));
        assert_non_null (strstr (run.err, "Try 'zmpool run --help'."));
        s_run_free (&run);
    }
}

static void
test_cli_worker_gives_up_without_a_broker (void **state)
{
    (void) state;
    //  Nothing listens on port 9 of loopback (discard, never served here)
    const char *args[] = { "worker",      "--connect", "tcp://127.0.0.1:9",
                           "--processes", "1",         "--give-up-after",
                           "1",           "--quiet",   NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "giving up"));
    s_run_free (&run);
}

static void
test_cli_worker_joins_a_broker_that_comes_late (void **state)
{
    (void) state;
    //  An endpoint nobody else can take while the broker is away (a TCP
    //  port freed here could go to another test's broker)
    char directory[] = "/tmp/zmpool-test-cli-XXXXXX";
    assert_non_null (mkdtemp (directory));
    char endpoint[256];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/broker", directory);
    const char *worker_args[] = { "worker",      "--connect", endpoint,
                                  "--processes", "1",         "--quiet",
                                  NULL };
    pid_t worker = testkit_spawn (worker_args);
    assert_true (worker > 0);
    //  The worker tries for a while before the broker comes
    const char *none[] = { "status", "--connect", endpoint, "--workers",
                           "1",      "--timeout", "1",      NULL };
    run_t run = s_run (none, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "0 of 1 workers"));
    s_run_free (&run);
    const char *bind[] = { "--quiet", "--bind", endpoint, NULL };
    char again[256];
    pid_t broker = testkit_broker_start (again, sizeof again, bind);
    assert_true (broker > 0);
    assert_string_equal (again, endpoint);
    //  ...and joins it, within its back-off
    const char *wait[] = { "status", "--connect", endpoint, "--workers",
                           "1",      "--timeout", "40",     NULL };
    run = s_run (wait, NULL);
    assert_int_equal (run.status, 0);
    assert_non_null (strstr (run.out, "1 workers"));
    s_run_free (&run);
    assert_int_equal (testkit_stop_cleanly (worker), 0);
    assert_int_equal (testkit_stop_cleanly (broker), 0);
    unlink (endpoint + strlen ("ipc://"));
    rmdir (directory);
}

static void
test_cli_status_json_shows_the_worker_and_its_slots (void **state)
{
    (void) state;
    const char *args[] = { "status", "--connect", s_endpoint, "--json", NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 0);
    json_error_t error;
    json_t *status = json_loads (run.out, 0, &error);
    assert_non_null (status);
    json_t *workers = json_object_get (status, "workers");
    assert_true (json_is_array (workers));
    assert_int_equal (json_array_size (workers), 1);
    json_t *worker = json_array_get (workers, 0);
    assert_int_equal (json_integer_value (json_object_get (worker, "slots")),
                      2);
    assert_int_equal (json_integer_value (json_object_get (worker, "pid")),
                      s_worker);
    assert_true (json_is_integer (json_object_get (worker, "busy")));
    assert_true (json_is_string (json_object_get (worker, "host")));
    //  The cores it may use, as its own affinity and quota say
    assert_int_equal (json_integer_value (json_object_get (worker, "cores")),
                      zmp_cores_usable ());
    assert_true (json_is_integer (json_object_get (status, "queued")));
    json_decref (status);
    s_run_free (&run);

    const char *table[] = { "status", "--connect", s_endpoint, NULL };
    run = s_run (table, NULL);
    assert_int_equal (run.status, 0);
    assert_non_null (strstr (run.out, "1 workers, 2 slots"));
    assert_non_null (strstr (run.out, "NAME CORES SLOTS  BUSY"));
    assert_non_null (strstr (run.out, "CPU%  MEM%  TASK-CPU"));
    s_run_free (&run);
}

//  status --prometheus: the text format a scrape or a node exporter's
//  textfile collector reads; every sample after its HELP and TYPE
static void
test_cli_status_prometheus_is_the_text_format (void **state)
{
    (void) state;
    const char *args[] = { "status", "--connect", s_endpoint, "--prometheus",
                           NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 0);
    regex_t sample;
    assert_int_equal (regcomp (&sample,
                               "^zmpool_([a-z_]+)(\\{[^}]*\\})? "
                               "-?[0-9]+(\\.[0-9]+)?(e[-+]?[0-9]+)?$",
                               REG_EXTENDED),
                      0);
    char typed[128] = "";
    size_t samples = 0;
    char *saveptr = NULL;
    for (char *line = strtok_r (run.out, "\n", &saveptr); line;
         line = strtok_r (NULL, "\n", &saveptr)) {
        char name[128];
        if (sscanf (line, "# TYPE zmpool_%127s", name) == 1) {
            snprintf (typed, sizeof typed, "%s", name);
            continue;
        }
        if (line[0] == '#')
            continue;
        regmatch_t match[2];
        if (regexec (&sample, line, 2, match, 0))
            fail_msg ("not a sample: %s", line);
        //  Its metric's TYPE came just before its samples
        line[match[1].rm_eo] = 0;
        assert_string_equal (line + match[1].rm_so, typed);
        samples++;
    }
    regfree (&sample);
    s_run_free (&run);
    assert_true (samples > 30);
    run = s_run (args, NULL);
    char worker_slots[128];
    snprintf (worker_slots, sizeof worker_slots, ",pid=\"%d\"} 2\n",
              (int) s_worker);
    assert_non_null (strstr (run.out, "\nzmpool_up 1\n"));
    assert_non_null (strstr (run.out, "\nzmpool_workers 1\n"));
    assert_non_null (strstr (run.out, "\nzmpool_slots 2\n"));
    assert_non_null (strstr (run.out, worker_slots));
    assert_non_null (strstr (run.out, "\nzmpool_worker_host_memory_bytes{"));
    s_run_free (&run);

    //  No broker: up is 0, and the exit status says so
    const char *down[] = { "status", "--connect", "tcp://127.0.0.1:1",
                           "--prometheus", NULL };
    run = s_run (down, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.out, "\nzmpool_up 0\n"));
    s_run_free (&run);
    const char *both[] = { "status", "--json", "--prometheus", NULL };
    run = s_run (both, NULL);
    assert_int_equal (run.status, 2);
    s_run_free (&run);
}

//  Read a JSON-lines file; appends each object to lines (json_array)
static void
s_read_json_lines (const char *path, json_t *lines)
{
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    char *line = NULL;
    size_t size = 0;
    while (getline (&line, &size, file) > 0) {
        json_error_t error;
        json_t *object = json_loads (line, 0, &error);
        if (!object)
            fail_msg ("%s: not JSON: %s", path, line);
        json_array_append_new (lines, object);
    }
    free (line);
    fclose (file);
}

//  How many lines of lines have event kind
static size_t
s_count_events (json_t *lines, const char *kind)
{
    size_t count = 0, index;
    json_t *line;
    json_array_foreach (lines, index, line)
    {
        const char *event = json_string_value (json_object_get (line, "event"));
        count += event && streq (event, kind);
    }
    return count;
}

//  broker --event-log: a JSON line for each change of each task, in order,
//  with where and what it ran on; past its size the file is rotated
static void
test_cli_broker_event_log_tells_each_task_s_life (void **state)
{
    (void) state;
    char dir[] = "/tmp/zmpool-events-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[128], rotated[160];
    snprintf (path, sizeof path, "%s/events.jsonl", dir);
    snprintf (rotated, sizeof rotated, "%s.1", path);
    char endpoint[256];
    const char *broker_args[] = { "--quiet", "--event-log",
                                  path,      "--event-log-mb",
                                  "1",       "--heartbeat-ms",
                                  "100",     "--client-grace-ms",
                                  "0",       NULL };
    pid_t broker =
        testkit_broker_start (endpoint, sizeof endpoint, broker_args);
    assert_true (broker > 0);
    const char *quiet[] = { "--quiet", NULL };
    pid_t worker = testkit_worker_start (endpoint, 2, quiet);
    assert_true (worker > 0);

    //  2000 tasks, one of which fails: some 1.4 MiB of events
    size_t used = 0;
    char *input = (char *) malloc (2000 * 8);
    for (int n = 1; n <= 1999; n++)
        used += (size_t) sprintf (input + used, "%d\n", n);
    sprintf (input + used, "\"x\"\n");
    const char *map[] = { "map",     "--connect", endpoint, "--chunksize", "1",
                          "--quiet", "square",    "-",      NULL };
    run_t run = s_run (map, input);
    free (input);
    assert_int_equal (run.status, 1);  //  "x" cannot be squared
    s_run_free (&run);

    //  A map killed mid-way: its tasks are cancelled
    const char *slow[] = { "map",   "--connect", endpoint, "--chunksize", "1",
                           "sleep", "20000",     "20000",  NULL };
    pid_t client = testkit_spawn (slow);
    usleep ((useconds_t) testkit_ms (1500) * 1000);
    testkit_stop (client);
    json_t *lines = NULL;
    int64_t deadline = zclock_mono () + testkit_ms (10000);
    do {
        usleep (100 * 1000);
        json_decref (lines);
        lines = json_array ();
        s_read_json_lines (rotated, lines);
        s_read_json_lines (path, lines);
    } while (s_count_events (lines, "cancelled") < 2
             && zclock_mono () < deadline);
    testkit_stop (worker);
    testkit_stop (broker);

    //  Rotated at 1 MiB: nothing lost between the two files
    struct stat info;
    assert_int_equal (stat (rotated, &info), 0);
    assert_true (info.st_size >= 1 << 20);
    assert_int_equal (s_count_events (lines, "submitted"), 2002);
    assert_int_equal (s_count_events (lines, "finished"), 1999);
    assert_int_equal (s_count_events (lines, "failed"), 1);
    assert_int_equal (s_count_events (lines, "started"), 2000);
    assert_int_equal (s_count_events (lines, "cancelled"), 2);
    assert_true (s_count_events (lines, "dispatched") >= 2001);
    //  Each finished task: submitted, dispatched, started, finished, in
    //  that order in the file, with its host, process and resources
    char host[256];
    gethostname (host, sizeof host);
    zhashx_t *stage = zhashx_new ();  //  Task id -> events seen so far
    size_t index;
    json_t *line;
    json_array_foreach (lines, index, line)
    {
        const char *event = json_string_value (json_object_get (line, "event"));
        char key[32];
        snprintf (
            key, sizeof key, "%lld",
            (long long) json_integer_value (json_object_get (line, "id")));
        size_t seen = (size_t) zhashx_lookup (stage, key);
        assert_true (json_real_value (json_object_get (line, "t")) > 1.7e9);
        if (streq (event, "submitted")) {
            assert_int_equal (seen, 0);
            assert_string_equal (
                json_string_value (json_object_get (line, "client_host")),
                host);
        } else if (streq (event, "dispatched")) {
            assert_int_equal (seen, 1);
            assert_string_equal (
                json_string_value (json_object_get (line, "host")), host);
        } else if (streq (event, "started"))
            assert_int_equal (seen, 2);
        else if (streq (event, "finished") || streq (event, "failed")) {
            assert_int_equal (seen, 3);
            assert_true (json_integer_value (json_object_get (line, "pid"))
                         > 0);
            assert_true (
                json_integer_value (json_object_get (line, "max_rss_kib")) > 0);
            assert_non_null (json_object_get (line, "user_us"));
            assert_non_null (json_object_get (line, "wall_us"));
            if (streq (event, "failed"))
                assert_string_equal (
                    json_string_value (json_object_get (line, "error")),
                    "bad_arguments");
        } else if (streq (event, "cancelled")) {
            //  zmpool map, interrupted, says goodbye
            assert_string_equal (
                json_string_value (json_object_get (line, "reason")),
                "client_gone");
            assert_int_equal (seen, 2);  //  Dispatched; "started" comes
                                         //  with a result only
        }
        zhashx_update (stage, key, (void *) (seen + 1));
    }
    zhashx_destroy (&stage);
    json_decref (lines);
    unlink (path);
    unlink (rotated);
    rmdir (dir);

    //  A log that cannot be opened stops the broker at once, saying why
    const char *nowhere[] = { "broker",
                              "--bind",
                              "tcp://127.0.0.1:*",
                              "--event-log",
                              "/nonexistent/events.jsonl",
                              NULL };
    run_t run2 = s_run (nowhere, NULL);
    assert_int_equal (run2.status, 1);
    assert_non_null (
        strstr (run2.err, "cannot open event log /nonexistent/events.jsonl"));
    s_run_free (&run2);
    const char *zero[] = { "broker",         "--event-log", "x",
                           "--event-log-mb", "0",           NULL };
    run2 = s_run (zero, NULL);
    assert_int_equal (run2.status, 2);
    s_run_free (&run2);
}

static void
test_cli_status_without_a_broker_fails_at_once (void **state)
{
    (void) state;
    const char *args[] = { "status", "--connect", "tcp://127.0.0.1:1", NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "no broker at tcp://127.0.0.1:1"));
    s_run_free (&run);
}

static void
test_cli_map_runs_on_a_local_cluster_and_leaves_nothing (void **state)
{
    (void) state;
    testkit_setenv ("ZMPOOL_BROKER", "tcp://127.0.0.1:1");
    const char *args[] = {
        "map", "--processes", "2", "square", "3", "4", NULL
    };
    run_t run = s_run (args, NULL);
    testkit_setenv ("ZMPOOL_BROKER", NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "9\n16\n");
    //  The user asked for a broker: say that this is not it
    assert_non_null (strstr (run.err, "running on a local cluster"));
    s_run_free (&run);
    assert_int_equal (s_stray_children (), 0);

    const char *module[] = { "map",           "--module",  ZMP_EXAMPLE_MODULE,
                             "example.greet", "\"local\"", NULL };
    run = s_run (module, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "\"hello, local\"\n");
    s_run_free (&run);
    assert_int_equal (s_stray_children (), 0);
}

static void
test_cli_map_says_when_no_worker_is_there_and_times_out (void **state)
{
    (void) state;
    char endpoint[256];
    const char *quiet[] = { "--quiet", NULL };
    pid_t lonely = testkit_broker_start (endpoint, sizeof endpoint, quiet);
    assert_true (lonely > 0);
    const char *args[] = { "map", "--connect", endpoint, "--timeout",
                           "0.5", "square",    "1",      NULL };
    run_t run = s_run (args, NULL);
    testkit_stop (lonely);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "has no workers yet"));
    assert_non_null (strstr (run.err, "timed out after 500 ms"));
    assert_string_equal (run.out, "");
    s_run_free (&run);
}

static void
test_cli_bench_armstrong_agrees_across_modes (void **state)
{
    (void) state;
    const char *args[] = { "bench",     "armstrong",
                           "--connect", s_endpoint,
                           "--ranges",  "100:1000,24678000:24678100",
                           "--pieces",  "4",
                           "--runs",    "2",
                           "--json",    NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 0);
    json_error_t error;
    json_t *report = json_loads (run.out, 0, &error);
    assert_non_null (report);
    json_t *found = json_object_get (report, "found");
    int64_t expected[] = { 153, 370, 371, 407, 24678050, 24678051 };
    assert_int_equal (json_array_size (found), 6);
    for (size_t index = 0; index < 6; index++)
        assert_int_equal (json_integer_value (json_array_get (found, index)),
                          expected[index]);
    json_t *runs = json_object_get (report, "runs");
    assert_int_equal (json_array_size (runs), 4);
    const char *modes[] = { "serial", "threads", "fork", "cluster" };
    for (size_t index = 0; index < 4; index++) {
        json_t *mode = json_array_get (runs, index);
        assert_string_equal (json_string_value (json_object_get (mode, "mode")),
                             modes[index]);
        assert_true (json_real_value (json_object_get (mode, "seconds")) > 0);
        assert_true (json_integer_value (json_object_get (mode, "workers"))
                     > 0);
    }
    //  The cluster ran on the group's agent: its two task processes
    assert_int_equal (json_integer_value (json_object_get (
                          json_array_get (runs, 3), "workers")),
                      2);
    json_decref (report);
    s_run_free (&run);

    const char *table[] = { "bench",    "armstrong", "--connect", s_endpoint,
                            "--ranges", "100:1000",  "--modes",   "cluster",
                            "--runs",   "1",         NULL };
    run = s_run (table, NULL);
    assert_int_equal (run.status, 0);
    assert_non_null (strstr (run.out, "found     153 370 371 407"));
    assert_non_null (strstr (run.out, "cluster"));
    s_run_free (&run);
}

static void
test_cli_bench_tasks_reports_every_figure (void **state)
{
    (void) state;
    const char *args[] = { "bench",     "tasks", "--connect",       s_endpoint,
                           "--tasks",   "500",   "--chunked-tasks", "5000",
                           "--samples", "50",    "--runs",          "1",
                           "--json",    NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 0);
    json_error_t error;
    json_t *report = json_loads (run.out, 0, &error);
    assert_non_null (report);
    assert_int_equal (json_integer_value (json_object_get (report, "tasks")),
                      500);
    assert_true (json_number_value (
                     json_object_get (report, "chunksize1_tasks_per_second"))
                 > 0);
    assert_true (
        json_number_value (json_object_get (report, "chunked_tasks_per_second"))
        > 0);
    json_t *latency = json_object_get (report, "latency_us");
    double p50 = json_number_value (json_object_get (latency, "p50"));
    double p99 = json_number_value (json_object_get (latency, "p99"));
    double max = json_number_value (json_object_get (latency, "max"));
    assert_true (p50 > 0 && p50 <= p99 && p99 <= max);
    json_t *floor = json_object_get (report, "floor");
    assert_true (json_number_value (json_object_get (floor, "round_trip_us"))
                 > 0);
    assert_true (
        json_number_value (json_object_get (floor, "messages_per_second")) > 0);
    //  What the tasks used: the warm-up's 20000, the 500, the chunks and
    //  the 50 round trips, each measured where it ran
    json_t *usage = json_object_get (report, "task_usage");
    assert_true (json_integer_value (json_object_get (usage, "tasks"))
                 >= 20000 + 500 + 50);
    assert_true (json_integer_value (json_object_get (usage, "max_rss_kib"))
                 > 0);
    assert_true (json_number_value (json_object_get (usage, "wall_us_mean"))
                 > 0);
    json_decref (report);
    s_run_free (&run);
}

//  The journal's cost: three configurations, each measured, and the
//  directory the journals went in left as it was
static void
test_cli_bench_queue_reports_every_configuration (void **state)
{
    (void) state;
    char dir[] = "/tmp/zmp-bench-XXXXXX";
    assert_non_null (mkdtemp (dir));
    const char *args[] = {
        "bench",  "queue", "--items", "300", "--runs", "2",
        "--size", "100",   "--dir",   dir,   "--json", NULL
    };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 0);
    json_error_t error;
    json_t *report = json_loads (run.out, 0, &error);
    assert_non_null (report);
    assert_int_equal (json_integer_value (json_object_get (report, "items")),
                      300);
    assert_int_equal (json_integer_value (json_object_get (report, "runs")), 2);
    json_t *configs = json_object_get (report, "configurations");
    assert_int_equal (json_array_size (configs), 3);
    const char *names[] = { "in memory", "--fsync never", "--fsync always" };
    for (size_t index = 0; index < 3; index++) {
        json_t *config = json_array_get (configs, index);
        const char *name = json_string_value (json_object_get (config, "name"));
        assert_non_null (strstr (name, names[index]));
        assert_true (
            json_number_value (json_object_get (config, "puts_per_second"))
            > 0);
        assert_true (
            json_number_value (json_object_get (config, "gets_per_second"))
            > 0);
        double p50 = json_number_value (json_object_get (config, "get_p50_us"));
        double p99 = json_number_value (json_object_get (config, "get_p99_us"));
        assert_true (p50 > 0 && p50 <= p99);
    }
    json_decref (report);
    s_run_free (&run);
    assert_int_equal (rmdir (dir), 0);  //  Empty again
}

static void
test_cli_bench_usage_errors_exit_2 (void **state)
{
    (void) state;
    const char *cases[][6] = {
        { "bench", NULL },
        { "bench", "nothing", NULL },
        { "bench", "armstrong", "--ranges", "5:3", NULL },
        { "bench", "armstrong", "--modes", "psychic", NULL },
        { "bench", "tasks", "--runs", "0", NULL },
        { "bench", "queue", "--size", "0", NULL },
        { "bench", "queue", "--items", "lots", NULL },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        run_t run = s_run (cases[index], NULL);
        if (run.status != 2)
            fail_msg ("case %zu: status %d, stderr: %s", index, run.status,
                      run.err);
        s_run_free (&run);
    }
    const char *help[] = { "bench", "--help", NULL };
    run_t run = s_run (help, NULL);
    assert_int_equal (run.status, 0);
    assert_non_null (strstr (run.out, "armstrong"));
    s_run_free (&run);
}

static void
test_cli_broker_state_dir_errors (void **state)
{
    (void) state;
    const char *usage[][4] = {
        { "broker", "--fsync", "sometimes", NULL },
        { "broker", "--state-dir", "", NULL },
    };
    for (size_t index = 0; index < sizeof usage / sizeof usage[0]; index++) {
        run_t run = s_run (usage[index], NULL);
        if (run.status != 2)
            fail_msg ("case %zu: status %d, stderr: %s", index, run.status,
                      run.err);
        assert_non_null (strstr (run.err, usage[index][1]));
        s_run_free (&run);
    }
    //  A journal damaged before its end: the broker does not start, and
    //  says where
    char dir[] = "/tmp/zmp-cli-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[64];
    snprintf (path, sizeof path, "%s/journal", dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    const char damaged[16] = { 4, 0, 0, 0, 1, 2, 3, 4, 'j', 'u', 'n', 'k' };
    assert_int_equal (fwrite (damaged, 1, sizeof damaged, file),
                      sizeof damaged);
    fclose (file);
    const char *args[] = { "broker",      "--bind", "tcp://127.0.0.1:*",
                           "--state-dir", dir,      NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "damaged at byte 0"));
    s_run_free (&run);
    assert_int_equal (unlink (path), 0);
    snprintf (path, sizeof path, "%s/lock", dir);
    assert_int_equal (unlink (path), 0);
    //  Not a directory
    snprintf (path, sizeof path, "%s/file", dir);
    file = fopen (path, "w");
    assert_non_null (file);
    fclose (file);
    args[4] = path;
    run = s_run (args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "state directory"));
    s_run_free (&run);
    assert_int_equal (unlink (path), 0);
    assert_int_equal (rmdir (dir), 0);
}

//  zmpool keygen NAME in dir with role; fails the test if it fails
static void
s_keygen (const char *dir, const char *role, const char *name)
{
    const char *args[] = { "keygen", "--dir", dir, "--role", role, name, NULL };
    run_t run = s_run (args, NULL);
    if (run.status != 0)
        fail_msg ("keygen %s: %s", name, run.err);
    s_run_free (&run);
}

//  `zmpool map square 3` as the client with the key pair secret (NULL:
//  none) and the broker's public key server
static run_t
s_map_as (const char *endpoint, const char *secret, const char *server)
{
    testkit_setenv ("ZMPOOL_CURVE_SECRET", secret);
    testkit_setenv ("ZMPOOL_CURVE_SERVER", secret ? server : NULL);
    const char *args[] = { "map", "--connect", endpoint, "square", "3", NULL };
    run_t run = s_run (args, NULL);
    testkit_setenv ("ZMPOOL_CURVE_SECRET", NULL);
    testkit_setenv ("ZMPOOL_CURVE_SERVER", NULL);
    return run;
}

//  A broker with CURVE keys lets in the keys of its keys directory, each
//  in its role, and refuses everyone else at once with a reason
static void
test_cli_curve_keys_let_in_only_whom_the_broker_lists (void **state)
{
    (void) state;
    char dir[] = "/tmp/zmp-keys-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[256], allowed[64], endpoint[256];
    snprintf (allowed, sizeof allowed, "%s/allowed", dir);
    assert_int_equal (mkdir (allowed, 0700), 0);
    const char *names[] = { "broker", "worker", "client", "stranger" };
    const char *roles[] = { "broker", "worker", "client", "client" };
    for (int index = 0; index < 4; index++)
        s_keygen (dir, roles[index], names[index]);
    //  The files: public 0644, secret 0600; never replaced
    struct stat info;
    snprintf (path, sizeof path, "%s/client.key_secret", dir);
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0600);
    snprintf (path, sizeof path, "%s/client.key", dir);
    assert_int_equal (stat (path, &info), 0);
    assert_int_equal (info.st_mode & 0777, 0644);
    const char *again[] = { "keygen", "--dir", dir, "client", NULL };
    run_t run = s_run (again, NULL);
    assert_int_equal (run.status, 2);
    assert_non_null (strstr (run.err, "never replaced"));
    s_run_free (&run);
    const char *bad_role[] = { "keygen", "--role", "root", "x", NULL };
    run = s_run (bad_role, NULL);
    assert_int_equal (run.status, 2);
    s_run_free (&run);
    //  The broker lets in the worker and the client
    for (int index = 1; index <= 2; index++) {
        char from[256], to[256];
        snprintf (from, sizeof from, "%s/%s.key", dir, names[index]);
        snprintf (to, sizeof to, "%s/%s.key", allowed, names[index]);
        assert_int_equal (link (from, to), 0);
    }
    char broker_secret[128], broker_public[128], worker_secret[128];
    snprintf (broker_secret, sizeof broker_secret, "%s/broker.key_secret", dir);
    snprintf (broker_public, sizeof broker_public, "%s/broker.key", dir);
    snprintf (worker_secret, sizeof worker_secret, "%s/worker.key_secret", dir);
    const char *broker_args[] = { "--curve-secret", broker_secret,
                                  "--curve-keys", allowed, NULL };
    pid_t broker =
        testkit_broker_start (endpoint, sizeof endpoint, broker_args);
    assert_true (broker > 0);
    const char *worker_args[] = { "--curve-secret", worker_secret,
                                  "--curve-server", broker_public, NULL };
    pid_t worker = testkit_worker_start (endpoint, 1, worker_args);
    assert_true (worker > 0);

    char client_secret[128], stranger_secret[128];
    snprintf (client_secret, sizeof client_secret, "%s/client.key_secret", dir);
    snprintf (stranger_secret, sizeof stranger_secret, "%s/stranger.key_secret",
              dir);
    run = s_map_as (endpoint, client_secret, broker_public);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "9\n");
    s_run_free (&run);
    //  The same keys from a configuration file ($ZMPOOL_CONFIG)
    char config[256];
    snprintf (config, sizeof config, "%s/zmpool.cfg", dir);
    FILE *file = fopen (config, "w");
    assert_non_null (file);
    fprintf (file, "curve\n    secret = %s\n    server = %s\n", client_secret,
             broker_public);
    fclose (file);
    testkit_setenv ("ZMPOOL_CONFIG", config);
    run = s_map_as (endpoint, NULL, NULL);
    assert_int_equal (run.status, 0);
    assert_string_equal (run.out, "9\n");
    s_run_free (&run);
    file = fopen (config, "w");
    fprintf (file, "curve\n    secret = %s\n", client_secret);
    fclose (file);
    run = s_map_as (endpoint, NULL, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "CURVE needs both"));
    s_run_free (&run);
    testkit_setenv ("ZMPOOL_CONFIG", NULL);
    assert_int_equal (unlink (config), 0);
    struct {
        const char *secret, *server, *says;
    } refused[] = {
        { NULL, NULL, "CURVE keys" },                          //  No keys
        { stranger_secret, broker_public, "not authorised" },  //  Not listed
        { worker_secret, broker_public, "the key is not a client's" },
        { client_secret, path, "the broker's public key" },  //  Wrong key
    };
    for (size_t index = 0; index < sizeof refused / sizeof refused[0];
         index++) {
        int64_t started = zclock_mono ();
        run = s_map_as (endpoint, refused[index].secret, refused[index].server);
        if (run.status != 1 || !strstr (run.err, refused[index].says))
            fail_msg ("case %zu: status %d: %s", index, run.status, run.err);
        //  At once, not after the connect timeout
        assert_true (zclock_mono () - started < 4000);
        s_run_free (&run);
    }
    //  A key the broker lists, made by another tool without a role: it
    //  is let in by the handshake but may not say HELLO in any role
    zcert_t *roleless = zcert_new ();
    char roleless_public[256], roleless_secret[256];
    snprintf (roleless_public, sizeof roleless_public, "%s/roleless.key",
              allowed);
    snprintf (roleless_secret, sizeof roleless_secret, "%s/roleless.key_secret",
              dir);
    assert_int_equal (zcert_save_public (roleless, roleless_public), 0);
    assert_int_equal (zcert_save_secret (roleless, roleless_secret), 0);
    assert_int_equal (chmod (roleless_secret, 0600), 0);
    zcert_destroy (&roleless);
    run = s_map_as (endpoint, roleless_secret, broker_public);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "the key has no role"));
    s_run_free (&run);
    assert_int_equal (unlink (roleless_public), 0);
    assert_int_equal (unlink (roleless_secret), 0);
    //  Keys rotate without a restart: a key added is let in, a key taken
    //  out is refused from its next connection
    char stranger_public[256], stranger_allowed[256];
    snprintf (stranger_public, sizeof stranger_public, "%s/stranger.key", dir);
    snprintf (stranger_allowed, sizeof stranger_allowed, "%s/stranger.key",
              allowed);
    assert_int_equal (link (stranger_public, stranger_allowed), 0);
    run = s_map_as (endpoint, stranger_secret, broker_public);
    assert_int_equal (run.status, 0);
    s_run_free (&run);
    assert_int_equal (unlink (stranger_allowed), 0);
    run = s_map_as (endpoint, stranger_secret, broker_public);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "not authorised"));
    s_run_free (&run);
    //  A secret key others can read is refused before anything is sent
    assert_int_equal (chmod (client_secret, 0604), 0);
    run = s_map_as (endpoint, client_secret, broker_public);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "chmod 600"));
    s_run_free (&run);
    assert_int_equal (testkit_stop_cleanly (worker), 0);
    assert_int_equal (testkit_stop_cleanly (broker), 0);

    //  Without keys the broker binds no address other hosts reach, unless
    //  told it is insecure; with one half of the keys it does not start
    const char *open_args[] = { "broker", "--bind", "tcp://0.0.0.0:0", NULL };
    run = s_run (open_args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "--insecure"));
    s_run_free (&run);
    const char *half_args[] = { "broker", "--curve-secret", broker_secret,
                                NULL };
    run = s_run (half_args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "needs both"));
    s_run_free (&run);

    const char *files[] = { "broker", "worker", "client", "stranger" };
    for (int index = 0; index < 4; index++) {
        snprintf (path, sizeof path, "%s/%s.key", dir, files[index]);
        unlink (path);
        snprintf (path, sizeof path, "%s/%s.key_secret", dir, files[index]);
        unlink (path);
        snprintf (path, sizeof path, "%s/%s.key", allowed, files[index]);
        unlink (path);
    }
    assert_int_equal (rmdir (allowed), 0);
    assert_int_equal (rmdir (dir), 0);
}

static void
test_cli_broker_reports_a_busy_endpoint (void **state)
{
    (void) state;
    const char *args[] = { "broker", "--bind", s_endpoint, NULL };
    run_t run = s_run (args, NULL);
    assert_int_equal (run.status, 1);
    assert_non_null (strstr (run.err, "cannot bind"));
    s_run_free (&run);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_cli_help_version_and_bad_commands),
        cmocka_unit_test (test_cli_every_command_has_help),
        cmocka_unit_test (test_cli_map_prints_results_in_order),
        cmocka_unit_test (test_cli_map_task_timeout_stops_a_slow_task),
        cmocka_unit_test (test_cli_map_two_thousand_tasks_from_stdin),
        cmocka_unit_test (
            test_cli_map_failures_exit_1_and_the_pool_still_serves),
        cmocka_unit_test (test_cli_map_usage_errors_exit_2),
        cmocka_unit_test (test_cli_run_shows_the_output_and_says_how_it_ended),
        cmocka_unit_test (test_cli_run_usage_errors_exit_2),
        cmocka_unit_test (test_cli_worker_usage_errors_exit_2),
        cmocka_unit_test (test_cli_worker_gives_up_without_a_broker),
        cmocka_unit_test (test_cli_worker_joins_a_broker_that_comes_late),
        cmocka_unit_test (test_cli_status_json_shows_the_worker_and_its_slots),
        cmocka_unit_test (test_cli_status_without_a_broker_fails_at_once),
        cmocka_unit_test (test_cli_map_joblog_and_resume),
        cmocka_unit_test (test_cli_status_prometheus_is_the_text_format),
        cmocka_unit_test (test_cli_broker_event_log_tells_each_task_s_life),
        cmocka_unit_test (
            test_cli_map_runs_on_a_local_cluster_and_leaves_nothing),
        cmocka_unit_test (
            test_cli_map_says_when_no_worker_is_there_and_times_out),
        cmocka_unit_test (test_cli_bench_armstrong_agrees_across_modes),
        cmocka_unit_test (test_cli_bench_tasks_reports_every_figure),
        cmocka_unit_test (test_cli_bench_queue_reports_every_configuration),
        cmocka_unit_test (test_cli_bench_usage_errors_exit_2),
        cmocka_unit_test (test_cli_broker_state_dir_errors),
        cmocka_unit_test (
            test_cli_curve_keys_let_in_only_whom_the_broker_lists),
        cmocka_unit_test (test_cli_broker_reports_a_busy_endpoint),
    };
    int failed = cmocka_run_group_tests (tests, s_cluster_up, s_cluster_down);
    return failed || s_teardown_failed ? 1 : 0;
}
