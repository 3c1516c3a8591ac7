/*  zmp_testkit - start and stop real zmpool processes from tests

    Readiness comes through pipes (--ready-fd), never from sleeping: the
    broker writes its bound endpoint, the worker writes "ready" once the
    broker has registered it, and the kit waits for that line with poll ()
    and a deadline.
*/
#include "zmp_testkit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KIT_ARGS_MAX 64

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int
testkit_ms (int ms)
{
    const char *factor = getenv ("ZMP_TEST_TIMEOUT_FACTOR");
    int scale = factor ? atoi (factor) : 1;
    return ms * (scale > 0 ? scale : 1);
}

const char *
testkit_fixed_endpoint (char *endpoint, size_t size)
{
    static unsigned int s_next = 0;
    unsigned int port =
        20000 + ((unsigned int) getpid () * 8 + s_next++) % 12000;
    snprintf (endpoint, size, "tcp://127.0.0.1:%u", port);
    return endpoint;
}

void
testkit_setenv (const char *name, const char *value)
{
    if (value)
        setenv (name, value, 1);
    else
        unsetenv (name);
}

//  Fork and exec program (zmpool if NULL) with args; child_fds[i] become
//  fds 0, 1, 2 and 3 in the child where not -1. Returns the pid or -1.
static pid_t
s_spawn_program (const char *program, const char *const *args,
                 const int child_fds[4])
{
    const char *argv[KIT_ARGS_MAX + 16];
    size_t count = 0;
    if (!program) {
        program = ZMPOOL_EXE;
        //  $ZMP_TEST_VALGRIND: zmpool itself under memcheck; an error or a
        //  leak makes it exit 9, which testkit_stop_cleanly reports
        const char *valgrind = getenv ("ZMP_TEST_VALGRIND");
        if (valgrind && *valgrind) {
            static const char *const memcheck[] = {
                "/usr/bin/valgrind",
                "-q",
                "--error-exitcode=9",
                "--leak-check=full",
                "--show-leak-kinds=definite,indirect",
                "--errors-for-leak-kinds=definite,indirect",
                "--child-silent-after-fork=yes",
                NULL
            };
            for (size_t index = 0; memcheck[index]; index++)
                argv[count++] = memcheck[index];
        }
    }
    argv[count++] = program;
    for (size_t index = 0; args[index] && count < KIT_ARGS_MAX; index++)
        argv[count++] = args[index];
    argv[count] = NULL;
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)
            _exit (127);
        int null = open ("/dev/null", O_RDWR);
        for (int target = 0; target < 4; target++) {
            int source = child_fds[target] >= 0 ? child_fds[target]
                                                : (target < 3 ? null : -1);
            if (source >= 0 && source != target)
                dup2 (source, target);
        }
        execv (argv[0], (char *const *) argv);
        _exit (127);
    }
    return pid;
}

static pid_t
s_spawn (const char *const *args, const int child_fds[4])
{
    return s_spawn_program (NULL, args, child_fds);
}

//  Read a line from fd into buffer within timeout_ms. Returns 0 or -1.
static int
s_read_line (int fd, char *buffer, size_t size, int timeout_ms)
{
    size_t used = 0;
    int64_t deadline = s_now_ms () + timeout_ms;
    buffer[0] = 0;
    while (used < size - 1) {
        int64_t left = deadline - s_now_ms ();
        if (left <= 0)
            return -1;
        struct pollfd item = { fd, POLLIN, 0 };
        int rc = poll (&item, 1, (int) left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t got = read (fd, buffer + used, size - 1 - used);
        if (got <= 0)
            return -1;
        used += (size_t) got;
        buffer[used] = 0;
        char *newline = strchr (buffer, '\n');
        if (newline) {
            *newline = 0;
            return 0;
        }
    }
    return -1;
}

//  Start zmpool COMMAND ... --ready-fd 3 and wait for its line.
static pid_t
s_start_ready (const char *const *args, char *line, size_t size)
{
    int ready[2];
    if (pipe (ready))
        return -1;
    fcntl (ready[0], F_SETFD, FD_CLOEXEC);
    int fds[4] = { -1, -1, STDERR_FILENO, ready[1] };
    pid_t pid = s_spawn (args, fds);
    close (ready[1]);
    int rc =
        pid > 0 ? s_read_line (ready[0], line, size, testkit_ms (10000)) : -1;
    close (ready[0]);
    if (rc) {
        fprintf (stderr, "testkit: %s did not get ready\n", args[0]);
        testkit_stop (pid);
        return -1;
    }
    return pid;
}

static size_t
s_append (const char **argv, size_t count, const char *const *extra)
{
    for (size_t index = 0; extra && extra[index] && count < KIT_ARGS_MAX;
         index++)
        argv[count++] = extra[index];
    argv[count] = NULL;
    return count;
}

pid_t
testkit_broker_start (char *endpoint, size_t size, const char *const *extra)
{
    const char *argv[KIT_ARGS_MAX + 1] = {
        "broker", "--bind", "tcp://127.0.0.1:*", "--ready-fd", "3", NULL
    };
    s_append (argv, 5, extra);
    return s_start_ready (argv, endpoint, size);
}

pid_t
testkit_spawn (const char *const *args)
{
    int fds[4] = { -1, -1, STDERR_FILENO, -1 };
    return s_spawn (args, fds);
}

pid_t
testkit_worker_start (const char *endpoint, int processes,
                      const char *const *extra)
{
    char processes_text[16];
    snprintf (processes_text, sizeof processes_text, "%d", processes);
    const char *argv[KIT_ARGS_MAX + 1] = {
        "worker",       "--connect",  endpoint, "--processes",
        processes_text, "--ready-fd", "3",      NULL
    };
    s_append (argv, 7, extra);
    char line[64];
    return s_start_ready (argv, line, sizeof line);
}

int
testkit_stop (pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill (pid, SIGTERM);
    int status = 0;
    int64_t deadline = s_now_ms () + testkit_ms (5000);
    while (s_now_ms () < deadline) {
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid)
            return status;
        if (done < 0)
            return -1;
        struct timespec pause = { 0, 5 * 1000 * 1000 };
        nanosleep (&pause, NULL);
    }
    fprintf (stderr, "testkit: pid %d ignored SIGTERM; killing it\n",
             (int) pid);
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    return status;
}

int
testkit_stop_cleanly (pid_t pid)
{
    int status = testkit_stop (pid);
    if (status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0)
        return 0;
    if (status != -1 && WIFSIGNALED (status))
        fprintf (stderr, "testkit: pid %d died by signal %d\n", (int) pid,
                 WTERMSIG (status));
    else
        fprintf (stderr, "testkit: pid %d exited with status %d\n", (int) pid,
                 status == -1 ? -1 : WEXITSTATUS (status));
    return -1;
}

//  A growing string buffer for captured output
typedef struct {
    char *data;
    size_t size;
    size_t limit;
} s_capture_t;

static void
s_capture_read (s_capture_t *capture, int fd, bool *open_p)
{
    if (capture->limit - capture->size < 4096) {
        capture->limit = capture->limit * 2 + 8192;
        capture->data = (char *) realloc (capture->data, capture->limit);
    }
    ssize_t got = read (fd, capture->data + capture->size,
                        capture->limit - capture->size - 1);
    if (got > 0)
        capture->size += (size_t) got;
    else if (got == 0 || errno != EINTR)
        *open_p = false;
    capture->data[capture->size] = 0;
}

int
testkit_run (const char *const *args, const char *stdin_text, char **out,
             char **err, int timeout_ms)
{
    return testkit_run_program (NULL, args, stdin_text, out, err, timeout_ms);
}

//  --------------------------------------------------------------------------
//  Run a program and capture its output.

int
testkit_run_program (const char *program, const char *const *args,
                     const char *stdin_text, char **out, char **err,
                     int timeout_ms)
{
    int out_pipe[2], err_pipe[2], in_pipe[2];
    if (pipe (out_pipe) || pipe (err_pipe) || pipe (in_pipe))
        return -1;
    for (int index = 0; index < 2; index++) {
        fcntl (out_pipe[index], F_SETFD, FD_CLOEXEC);
        fcntl (err_pipe[index], F_SETFD, FD_CLOEXEC);
        fcntl (in_pipe[index], F_SETFD, FD_CLOEXEC);
    }
    int fds[4] = { in_pipe[0], out_pipe[1], err_pipe[1], -1 };
    pid_t pid = s_spawn_program (program, args, fds);
    close (in_pipe[0]);
    close (out_pipe[1]);
    close (err_pipe[1]);
    if (stdin_text) {
        //  Small inputs only: the pipe buffer takes them at once
        ssize_t rc = write (in_pipe[1], stdin_text, strlen (stdin_text));
        (void) rc;
    }
    close (in_pipe[1]);
    s_capture_t captured[2] = { { NULL, 0, 0 }, { NULL, 0, 0 } };
    bool open[2] = { true, true };
    int pipe_fds[2] = { out_pipe[0], err_pipe[0] };
    for (int index = 0; index < 2; index++) {
        captured[index].limit = 8192;
        captured[index].data = (char *) calloc (1, captured[index].limit);
    }
    int64_t deadline = s_now_ms () + timeout_ms;
    bool timed_out = false;
    while ((open[0] || open[1]) && pid > 0) {
        int64_t left = deadline - s_now_ms ();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd items[2] = { { open[0] ? pipe_fds[0] : -1, POLLIN, 0 },
                                   { open[1] ? pipe_fds[1] : -1, POLLIN, 0 } };
        int rc = poll (items, 2, (int) left);
        if (rc < 0 && errno == EINTR)
            continue;
        for (int index = 0; index < 2; index++)
            if (items[index].revents)
                s_capture_read (&captured[index], pipe_fds[index],
                                &open[index]);
    }
    close (out_pipe[0]);
    close (err_pipe[0]);
    int status = -1;
    if (pid > 0) {
        if (timed_out) {
            fprintf (stderr, "testkit: %s %s timed out; killing it\n",
                     program ? program : "zmpool", args[0] ? args[0] : "");
            kill (pid, SIGKILL);
        }
        waitpid (pid, &status, 0);
    }
    *out = captured[0].data;
    *err = captured[1].data;
    if (timed_out || pid <= 0 || !WIFEXITED (status))
        return -1;
    return WEXITSTATUS (status);
}
