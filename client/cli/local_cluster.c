/*  local_cluster - a private broker and worker agent for one command

    Readiness is a pipe, not a guess: each process is started with
    --ready-fd 3 and writes one line there once it is ready (the broker its
    bound endpoint, the agent "ready" once the broker has registered it);
    we wait for that line with poll () and a deadline.
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

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Read one line from fd into line within timeout_ms. Returns 0 or -1.
static int
s_read_line (int fd, char *line, size_t size, int timeout_ms)
{
    size_t used = 0;
    int64_t deadline = s_now_ms () + timeout_ms;
    line[0] = 0;
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
        ssize_t got = read (fd, line + used, size - 1 - used);
        if (got <= 0)
            return -1;  //  It died before it was ready
        used += (size_t) got;
        line[used] = 0;
        char *newline = strchr (line, '\n');
        if (newline) {
            *newline = 0;
            return 0;
        }
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Start zmpool ARGS with a ready pipe as fd 3 and wait for its line.

pid_t
local_cluster_spawn (char **argv, char *line, size_t size, int timeout_ms)
{
    int ready[2];
    if (pipe (ready))
        return -1;
    fcntl (ready[0], F_SETFD, FD_CLOEXEC);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGTERM);
        if (getppid () != parent)
            _exit (1);
        if (ready[1] != 3) {
            dup2 (ready[1], 3);
            close (ready[1]);
        }
        //  A fresh process group: a terminal's Ctrl-C goes to the command,
        //  which then stops these in order
        setpgid (0, 0);
        execv ("/proc/self/exe", argv);
        _exit (127);
    }
    close (ready[1]);
    int rc = pid > 0 ? s_read_line (ready[0], line, size, timeout_ms) : -1;
    close (ready[0]);
    if (rc) {
        local_cluster_reap (pid);
        return -1;
    }
    return pid;
}

//  --------------------------------------------------------------------------
//  Stop and reap a process we started.

void
local_cluster_reap (pid_t pid)
{
    if (pid <= 0)
        return;
    kill (pid, SIGTERM);
    int64_t deadline = s_now_ms () + LOCAL_STOP_TIMEOUT_MS;
    while (s_now_ms () < deadline) {
        pid_t done = waitpid (pid, NULL, WNOHANG);
        if (done == pid || (done < 0 && errno == ECHILD))
            return;
        struct timespec pause = { 0, 5 * 1000 * 1000 };
        nanosleep (&pause, NULL);
    }
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
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
    char line[256];
    char *broker_argv[] = { "zmpool",       "broker",     "--quiet", "--bind",
                            self->endpoint, "--ready-fd", "3",       NULL };
    self->broker_pid = local_cluster_spawn (broker_argv, line, sizeof line,
                                            LOCAL_START_TIMEOUT_MS);
    if (self->broker_pid < 0) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "the local broker did not start within %d s",
                       LOCAL_START_TIMEOUT_MS / 1000);
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
    self->worker_pid = local_cluster_spawn (worker_argv, line, sizeof line,
                                            LOCAL_START_TIMEOUT_MS);
    free (worker_argv);
    if (self->worker_pid < 0 || strcmp (line, "ready") != 0) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "the local worker did not start within %d s",
                       LOCAL_START_TIMEOUT_MS / 1000);
        if (self->worker_pid < 0)
            self->worker_pid = 0;
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
        local_cluster_reap (self->worker_pid);
        local_cluster_reap (self->broker_pid);
        char path[160];
        snprintf (path, sizeof path, "%s/broker", self->directory);
        unlink (path);
        rmdir (self->directory);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  The broker's endpoint.

const char *
local_cluster_endpoint (const local_cluster_t *self)
{
    return self->endpoint;
}

//  --------------------------------------------------------------------------
//  The agent's task processes.

int
local_cluster_processes (const local_cluster_t *self)
{
    return self->processes;
}
