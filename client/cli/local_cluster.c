/*  local_cluster - a private broker and worker agent for one command

    Readiness is a pipe, not a guess: the agent writes "ready" to the fd
    given by --ready-fd once the broker has welcomed it, and we wait for
    that line with poll () and a deadline.
*/
#include "local_cluster.h"

#include "cli.h"
#include "zmp_error.h"

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

#define LOCAL_START_TIMEOUT_MS 10000
#define LOCAL_STOP_TIMEOUT_MS  3000

struct local_cluster {
    char directory[64];  //  Private directory for the ipc endpoint
    char endpoint[128];  //  ipc://directory/broker
    pid_t broker_pid;    //  0 if not running
    pid_t worker_pid;    //  0 if not running
    int processes;
};

//  Fork and exec this executable with argv; ready_fd (or -1) stays open in
//  the child as fd 3. Returns the pid, or -1.
static pid_t
s_spawn (char **argv, int ready_fd)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent)
            _exit (1);
        if (ready_fd >= 0 && ready_fd != 3) {
            dup2 (ready_fd, 3);
            close (ready_fd);
        }
        //  A fresh process group: a terminal's Ctrl-C goes to the command,
        //  which then stops these in order
        setpgid (0, 0);
        execv ("/proc/self/exe", argv);
        _exit (127);
    }
    return pid;
}

static void
s_stop (pid_t pid)
{
    if (pid <= 0)
        return;
    kill (pid, SIGTERM);
    for (int waited_ms = 0; waited_ms < LOCAL_STOP_TIMEOUT_MS;
         waited_ms += 10) {
        pid_t done = waitpid (pid, NULL, WNOHANG);
        if (done == pid || (done < 0 && errno == ECHILD))
            return;
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep (&pause, NULL);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
}

//  Wait for a "ready" line on fd. Returns 0, or -1.
static int
s_wait_ready (int fd, int timeout_ms)
{
    char line[16];
    size_t size = 0;
    struct timespec start;
    clock_gettime (CLOCK_MONOTONIC, &start);
    while (size < sizeof line - 1) {
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000
                       + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= timeout_ms)
            return -1;
        struct pollfd item = { fd, POLLIN, 0 };
        int rc = poll (&item, 1, (int) (timeout_ms - elapsed));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        ssize_t got = read (fd, line + size, sizeof line - 1 - size);
        if (got <= 0)
            return -1;  //  The agent died before it was ready
        size += (size_t) got;
        line[size] = 0;
        if (strchr (line, '\n'))
            return strncmp (line, "ready", 5) == 0 ? 0 : -1;
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Start a private broker and agent.

local_cluster_t *
local_cluster_start (int processes, const char **modules, zmp_error_t *error)
{
    local_cluster_t *self = (local_cluster_t *) calloc (1, sizeof *self);
    assert (self);
    self->processes = processes > 0 ? processes : cli_cores ();
    const char *tmp = getenv ("TMPDIR");
    snprintf (self->directory, sizeof self->directory, "%s/zmpool-XXXXXX",
              tmp && *tmp && strlen (tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp (self->directory)) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "cannot make a directory for a local cluster: %s",
                       strerror (errno));
        free (self);
        return NULL;
    }
    snprintf (self->endpoint, sizeof self->endpoint, "ipc://%s/broker",
              self->directory);

    char *broker_argv[] = { "zmpool", "broker",       "--quiet",
                            "--bind", self->endpoint, NULL };
    self->broker_pid = s_spawn (broker_argv, -1);
    int ready[2];
    if (self->broker_pid < 0 || pipe (ready)) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot start a local broker: %s",
                       strerror (errno));
        self->broker_pid = 0;
        local_cluster_stop (&self);
        return NULL;
    }
    char processes_text[16];
    snprintf (processes_text, sizeof processes_text, "%d", self->processes);
    size_t module_count = 0;
    while (modules && modules[module_count])
        module_count++;
    char **worker_argv =
        (char **) calloc (10 + 2 * module_count, sizeof (char *));
    assert (worker_argv);
    size_t arg = 0;
    worker_argv[arg++] = "zmpool";
    worker_argv[arg++] = "worker";
    worker_argv[arg++] = "--quiet";
    worker_argv[arg++] = "--connect";
    worker_argv[arg++] = self->endpoint;
    worker_argv[arg++] = "--processes";
    worker_argv[arg++] = processes_text;
    worker_argv[arg++] = "--ready-fd";
    worker_argv[arg++] = "3";
    for (size_t index = 0; index < module_count; index++) {
        worker_argv[arg++] = "--module";
        worker_argv[arg++] = (char *) modules[index];
    }
    //  Only the agent gets the write end (as fd 3); we keep the read end
    fcntl (ready[0], F_SETFD, FD_CLOEXEC);
    int write_end = fcntl (ready[1], F_DUPFD, 10);
    close (ready[1]);
    self->worker_pid = s_spawn (worker_argv, write_end);
    close (write_end);
    free (worker_argv);
    int rc = self->worker_pid > 0
                 ? s_wait_ready (ready[0], LOCAL_START_TIMEOUT_MS)
                 : -1;
    close (ready[0]);
    if (rc) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "the local cluster did not start within %d s",
                       LOCAL_START_TIMEOUT_MS / 1000);
        local_cluster_stop (&self);
    }
    return self;
}

//  --------------------------------------------------------------------------
//  Stop the local cluster.

void
local_cluster_stop (local_cluster_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        local_cluster_t *self = *self_p;
        s_stop (self->worker_pid);
        s_stop (self->broker_pid);
        char path[160];
        snprintf (path, sizeof path, "%s/broker", self->directory);
        unlink (path);
        rmdir (self->directory);
        free (self);
        *self_p = NULL;
    }
}

const char *
local_cluster_endpoint (const local_cluster_t *self)
{
    return self->endpoint;
}

int
local_cluster_processes (const local_cluster_t *self)
{
    return self->processes;
}
