/*  test_zmp_spawner - the process that forks task processes for the agent
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_spawner.h"

#include "zmp_testkit.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

//  A child that echoes bytes: 'x' makes it die by SIGSEGV, 'b' makes it
//  burn CPU for a while first; end of file makes it exit with code 7.
static int
s_echo_child (int fd, uint32_t slot, bool process, void *arg)
{
    (void) slot;
    (void) process;
    (void) arg;
    char byte;
    while (read (fd, &byte, 1) == 1) {
        if (byte == 'x') {
            signal (SIGSEGV, SIG_DFL);
            raise (SIGSEGV);
        }
        if (byte == 'b') {
            volatile uint64_t sum = 0;
            for (uint64_t n = 0; n < 200000000; n++)
                sum += n;
        }
        if (write (fd, &byte, 1) != 1)
            break;
    }
    return 7;
}

//  The next event, waiting up to a few seconds.
static void
s_event (zmp_spawner_t *spawner, zmp_spawn_event_t *event)
{
    zmp_error_t error;
    int rc = zmp_spawner_recv (spawner, event, testkit_ms (5000), &error);
    if (rc)
        fail_msg ("no event from the spawner: %s", error.message);
}

static void
test_spawner_starts_a_child_with_its_socket (void **state)
{
    (void) state;
    zmp_error_t error;
    zmp_spawner_t *spawner = zmp_spawner_new (s_echo_child, NULL, &error);
    assert_non_null (spawner);
    assert_int_equal (zmp_spawner_spawn (spawner, 3), 0);
    zmp_spawn_event_t event;
    s_event (spawner, &event);
    assert_int_equal (event.kind, ZMP_SPAWN_STARTED);
    assert_int_equal (event.slot, 3);
    assert_true (event.pid > 0);
    assert_true (event.fd >= 0);
    char byte = 'a';
    assert_int_equal (write (event.fd, &byte, 1), 1);
    byte = 0;
    assert_int_equal (read (event.fd, &byte, 1), 1);
    assert_int_equal (byte, 'a');
    close (event.fd);
    zmp_spawner_destroy (&spawner);
    assert_null (spawner);
}

static void
test_spawner_reports_exit_code (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_echo_child, NULL, NULL);
    assert_non_null (spawner);
    zmp_spawner_spawn (spawner, 0);
    zmp_spawn_event_t started, exited;
    s_event (spawner, &started);
    close (started.fd);  //  End of file: the child returns 7
    s_event (spawner, &exited);
    assert_int_equal (exited.kind, ZMP_SPAWN_EXITED);
    assert_int_equal (exited.pid, started.pid);
    assert_true (WIFEXITED (exited.status));
    assert_int_equal (WEXITSTATUS (exited.status), 7);
    zmp_spawner_destroy (&spawner);
}

static void
test_spawner_reports_crash_signal_and_cpu_time (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_echo_child, NULL, NULL);
    assert_non_null (spawner);
    zmp_spawner_spawn (spawner, 1);
    zmp_spawn_event_t started, exited;
    s_event (spawner, &started);
    assert_int_equal (write (started.fd, "bx", 2), 2);
    s_event (spawner, &exited);
    assert_int_equal (exited.kind, ZMP_SPAWN_EXITED);
    assert_int_equal (exited.slot, 1);
    assert_int_equal (exited.pid, started.pid);
    assert_true (WIFSIGNALED (exited.status));
    assert_int_equal (WTERMSIG (exited.status), SIGSEGV);
    assert_true (exited.usage.ru_utime.tv_sec > 0
                 || exited.usage.ru_utime.tv_usec > 0);
    close (started.fd);
    zmp_spawner_destroy (&spawner);
}

//  A Process child: writes "out" to stdout and "err" to stderr, reads its
//  stdin (which must be at end of file at once), then says how it was made
static int
s_process_child (int fd, uint32_t slot, bool process, void *arg)
{
    (void) slot;
    (void) arg;
    char byte;
    bool stdin_empty = read (STDIN_FILENO, &byte, 1) == 0;
    printf ("out\n");
    fflush (stdout);
    fprintf (stderr, "err\n");
    char answer = process && stdin_empty ? 'p' : 'n';
    if (write (fd, &answer, 1) != 1)
        return 1;
    return 0;
}

//  Read fd until end of file into buffer (NUL-terminated)
static void
s_read_all (int fd, char *buffer, size_t size)
{
    size_t have = 0;
    ssize_t rc;
    while (have + 1 < size
           && (rc = read (fd, buffer + have, size - 1 - have)) > 0)
        have += (size_t) rc;
    buffer[have] = 0;
}

static void
test_spawner_gives_a_process_its_output_pipes (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_process_child, NULL, NULL);
    assert_non_null (spawner);
    assert_int_equal (zmp_spawner_spawn_process (spawner, 9), 0);
    zmp_spawn_event_t started, exited;
    s_event (spawner, &started);
    assert_int_equal (started.kind, ZMP_SPAWN_STARTED);
    assert_int_equal (started.slot, 9);
    assert_true (started.fd >= 0 && started.out_fd >= 0 && started.err_fd >= 0);
    char answer = 0;
    assert_int_equal (read (started.fd, &answer, 1), 1);
    assert_int_equal (answer, 'p');
    char text[64];
    s_read_all (started.out_fd, text, sizeof text);
    assert_string_equal (text, "out\n");
    s_read_all (started.err_fd, text, sizeof text);
    assert_string_equal (text, "err\n");
    s_event (spawner, &exited);
    assert_int_equal (exited.kind, ZMP_SPAWN_EXITED);
    assert_true (WIFEXITED (exited.status));
    assert_int_equal (WEXITSTATUS (exited.status), 0);
    close (started.fd);
    close (started.out_fd);
    close (started.err_fd);

    //  A pool child has no pipes of its own
    zmp_spawner_spawn (spawner, 1);
    s_event (spawner, &started);
    assert_int_equal (started.out_fd, -1);
    assert_int_equal (started.err_fd, -1);
    assert_int_equal (read (started.fd, &answer, 1), 1);
    assert_int_equal (answer, 'n');
    close (started.fd);
    zmp_spawner_destroy (&spawner);
}

static void
test_spawner_destroy_ends_every_child (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_echo_child, NULL, NULL);
    assert_non_null (spawner);
    pid_t pids[3];
    int fds[3];
    for (uint32_t slot = 0; slot < 3; slot++)
        zmp_spawner_spawn (spawner, slot);
    for (int index = 0; index < 3; index++) {
        zmp_spawn_event_t event;
        s_event (spawner, &event);
        assert_int_equal (event.kind, ZMP_SPAWN_STARTED);
        pids[index] = event.pid;
        fds[index] = event.fd;
    }
    pid_t spawner_pid = zmp_spawner_pid (spawner);
    zmp_spawner_destroy (&spawner);
    //  The spawner reaped them before it exited, and we reaped it
    for (int index = 0; index < 3; index++) {
        assert_int_equal (kill (pids[index], 0), -1);
        assert_int_equal (errno, ESRCH);
        close (fds[index]);
    }
    assert_int_equal (kill (spawner_pid, 0), -1);
}

static void
test_spawner_recv_times_out_when_idle (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_echo_child, NULL, NULL);
    assert_non_null (spawner);
    zmp_spawn_event_t event;
    zmp_error_t error;
    assert_int_equal (zmp_spawner_recv (spawner, &event, 10, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_WAIT_TIMEOUT);
    zmp_spawner_destroy (&spawner);
}

//  A child that starts a grandchild and exits at once, telling its pid;
//  the grandchild lives a second more
static int
s_orphan_maker (int fd, uint32_t slot, bool process, void *arg)
{
    (void) slot;
    (void) process;
    (void) arg;
    pid_t orphan = fork ();
    if (orphan == 0) {
        usleep (1000 * 1000);
        _exit (0);
    }
    if (write (fd, &orphan, sizeof orphan) != sizeof orphan)
        return 1;
    return 3;
}

//  What a task leaves behind is adopted by the spawner and reaped there:
//  no zombie under the agent (PID 1 of a container) or anywhere else
static void
test_spawner_reaps_what_a_task_left_behind (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_orphan_maker, NULL, NULL);
    assert_non_null (spawner);
    zmp_spawner_spawn (spawner, 0);
    zmp_spawn_event_t started, exited;
    s_event (spawner, &started);
    pid_t orphan = 0;
    assert_int_equal (read (started.fd, &orphan, sizeof orphan), sizeof orphan);
    assert_true (orphan > 0);
    s_event (spawner, &exited);
    assert_int_equal (exited.kind, ZMP_SPAWN_EXITED);
    assert_int_equal (exited.pid, started.pid);
    assert_int_equal (WEXITSTATUS (exited.status), 3);
    close (started.fd);
    //  While it lives, its parent is the spawner
    char path[64], stat[512] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int) orphan);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    assert_non_null (fgets (stat, sizeof stat, file));
    fclose (file);
    int parent = 0;
    char *after_name = strrchr (stat, ')');
    assert_non_null (after_name);
    assert_int_equal (sscanf (after_name, ") %*c %d", &parent), 1);
    assert_int_equal (parent, zmp_spawner_pid (spawner));
    //  Gone entirely, not a zombie, within a few seconds
    int tries = 0;
    while (kill (orphan, 0) == 0 && tries++ < 50)
        usleep (100 * 1000);
    assert_int_equal (kill (orphan, 0), -1);
    //  ...and no event for it reached the agent
    zmp_error_t error;
    assert_int_equal (zmp_spawner_recv (spawner, &exited, 100, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_WAIT_TIMEOUT);
    zmp_spawner_destroy (&spawner);
}

//  scancel, systemd and kill -- -PGID signal every process of a tree: the
//  spawner must outlive that and leave stopping to the agent; its
//  children must still die by those signals
static void
test_spawner_survives_stop_signals_its_children_do_not (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_echo_child, NULL, NULL);
    assert_non_null (spawner);
    zmp_spawner_spawn (spawner, 0);
    zmp_spawn_event_t started, exited;
    s_event (spawner, &started);

    pid_t spawner_pid = zmp_spawner_pid (spawner);
    assert_int_equal (kill (spawner_pid, SIGTERM), 0);
    assert_int_equal (kill (spawner_pid, SIGINT), 0);
    assert_int_equal (kill (spawner_pid, SIGHUP), 0);
    assert_int_equal (kill (started.pid, SIGTERM), 0);
    s_event (spawner, &exited);
    assert_int_equal (exited.kind, ZMP_SPAWN_EXITED);
    assert_int_equal (exited.pid, started.pid);
    assert_true (WIFSIGNALED (exited.status));
    assert_int_equal (WTERMSIG (exited.status), SIGTERM);
    close (started.fd);

    //  Still there: it starts the next child
    assert_int_equal (zmp_spawner_spawn (spawner, 1), 0);
    s_event (spawner, &started);
    assert_int_equal (started.kind, ZMP_SPAWN_STARTED);
    assert_int_equal (kill (started.pid, SIGINT), 0);
    s_event (spawner, &exited);
    assert_true (WIFSIGNALED (exited.status));
    assert_int_equal (WTERMSIG (exited.status), SIGINT);
    close (started.fd);
    zmp_spawner_destroy (&spawner);
}

static void
test_spawner_gone_is_reported (void **state)
{
    (void) state;
    zmp_spawner_t *spawner = zmp_spawner_new (s_echo_child, NULL, NULL);
    assert_non_null (spawner);
    kill (zmp_spawner_pid (spawner), SIGKILL);
    zmp_spawn_event_t event;
    zmp_error_t error;
    int rc = zmp_spawner_recv (spawner, &event, testkit_ms (5000), &error);
    assert_int_equal (rc, -1);
    assert_int_equal (error.kind, ZMP_ERR_SYSTEM);
    assert_non_null (strstr (error.message, "gone"));
    zmp_spawner_destroy (&spawner);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_spawner_starts_a_child_with_its_socket),
        cmocka_unit_test (test_spawner_reports_exit_code),
        cmocka_unit_test (test_spawner_reports_crash_signal_and_cpu_time),
        cmocka_unit_test (test_spawner_gives_a_process_its_output_pipes),
        cmocka_unit_test (test_spawner_destroy_ends_every_child),
        cmocka_unit_test (test_spawner_recv_times_out_when_idle),
        cmocka_unit_test (
            test_spawner_survives_stop_signals_its_children_do_not),
        cmocka_unit_test (test_spawner_reaps_what_a_task_left_behind),
        cmocka_unit_test (test_spawner_gone_is_reported),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
