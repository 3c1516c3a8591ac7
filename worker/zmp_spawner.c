/*  zmp_spawner - forks task processes for the worker agent

    The control socket is a SOCK_SEQPACKET pair: every request and report
    is one whole record, and a STARTED report carries the agent's end of
    the child's socket (and for a Process, its output pipes) as SCM_RIGHTS. The spawner waits for children with
    a signalfd for SIGCHLD, so its loop is a plain poll over two fds.
*/
#include "zmp_spawner.h"

#include "zmp_error.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct zmp_spawner {
    pid_t pid;    //  The spawner process
    int control;  //  Our end of the control socket, owned
};

typedef struct {
    uint32_t slot;
    uint32_t process;  //  1: a Process child, with output pipes
} s_request_t;

typedef struct {
    uint32_t kind;  //  zmp_spawn_event_kind_t
    uint32_t slot;
    int32_t pid;
    int32_t status;
    struct rusage usage;
} s_report_t;

//  State of the spawner process (lives in the spawner only)
typedef struct {
    int control;          //  Its end of the control socket
    int signals;          //  signalfd for SIGCHLD
    sigset_t child_mask;  //  Signal mask children start with
    pid_t *children;      //  Live children, owned
    uint32_t *slots;      //  Their slots, owned
    size_t child_count;
    size_t child_limit;
    zmp_child_main_fn *child_main;
    void *arg;
} s_spawner_state_t;

//  Send a report with fds (count 0 to 3) attached.
static int
s_send_report (int control, const s_report_t *report, const int *fds, int count)
{
    struct iovec iov = { (void *) report, sizeof *report };
    struct msghdr msg;
    memset (&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union {
        struct cmsghdr align;
        char buffer[CMSG_SPACE (3 * sizeof (int))];
    } ancillary;
    if (count > 0) {
        memset (&ancillary, 0, sizeof ancillary);
        msg.msg_control = ancillary.buffer;
        msg.msg_controllen = CMSG_SPACE ((size_t) count * sizeof (int));
        struct cmsghdr *header = CMSG_FIRSTHDR (&msg);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN ((size_t) count * sizeof (int));
        memcpy (CMSG_DATA (header), fds, (size_t) count * sizeof (int));
    }
    ssize_t rc;
    do
        rc = sendmsg (control, &msg, MSG_NOSIGNAL);
    while (rc == -1 && errno == EINTR);
    return rc == (ssize_t) sizeof *report ? 0 : -1;
}

//  Close the fds that are open (>= 0)
static void
s_close_all (int *fds, int count)
{
    for (int index = 0; index < count; index++)
        if (fds[index] >= 0) {
            close (fds[index]);
            fds[index] = -1;
        }
}

static void
s_track (s_spawner_state_t *state, pid_t pid, uint32_t slot)
{
    if (state->child_count == state->child_limit) {
        state->child_limit = state->child_limit ? state->child_limit * 2 : 16;
        pid_t *children = (pid_t *) realloc (
            state->children, state->child_limit * sizeof (pid_t));
        uint32_t *slots = (uint32_t *) realloc (
            state->slots, state->child_limit * sizeof (uint32_t));
        assert (children && slots);
        state->children = children;
        state->slots = slots;
    }
    state->children[state->child_count] = pid;
    state->slots[state->child_count++] = slot;
}

//  Forget a child; returns its slot.
static uint32_t
s_untrack (s_spawner_state_t *state, pid_t pid)
{
    for (size_t index = 0; index < state->child_count; index++)
        if (state->children[index] == pid) {
            uint32_t slot = state->slots[index];
            state->child_count--;
            state->children[index] = state->children[state->child_count];
            state->slots[index] = state->slots[state->child_count];
            return slot;
        }
    return UINT32_MAX;
}

//  A pipe whose ends close on exec (the spawner has one thread: no race)
static int
s_pipe (int ends[2])
{
    if (pipe (ends))
        return -1;
    fcntl (ends[0], F_SETFD, FD_CLOEXEC);
    fcntl (ends[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

//  The signals that ask a process to stop, set to handler. The spawner
//  blocks and ignores them: tools that signal a whole process tree
//  (Slurm's scancel, systemd's control-group kill, kill -- -PGID) would
//  otherwise kill it under the agent, which stops it itself. Its children
//  get them back; blocked across the fork, one sent to a child before it
//  has its handlers back is not lost.
static void
s_stop_signals (void (*handler) (int))
{
    signal (SIGTERM, handler);
    signal (SIGINT, handler);
    signal (SIGHUP, handler);
}

//  Fork one child for slot and report it; returns -1 if the agent is gone.
static int
s_spawn (s_spawner_state_t *state, uint32_t slot, bool process)
{
    s_report_t report;
    memset (&report, 0, sizeof report);
    report.slot = slot;
    //  Ours, then the child's: socket, stdout pipe, stderr pipe
    int mine[3] = { -1, -1, -1 }, theirs[3] = { -1, -1, -1 };
    int pair[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 };
    if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair)
        || (process && (s_pipe (out) || s_pipe (err)))) {
        report.kind = ZMP_SPAWN_FAILED;
        report.status = errno;
        int all[6] = { pair[0], pair[1], out[0], out[1], err[0], err[1] };
        s_close_all (all, 6);
        return s_send_report (state->control, &report, NULL, 0);
    }
    mine[0] = pair[0];
    theirs[0] = pair[1];
    if (process) {
        mine[1] = out[0];
        theirs[1] = out[1];
        mine[2] = err[0];
        theirs[2] = err[1];
    }
    pid_t spawner_pid = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        close (state->control);
        close (state->signals);
        s_close_all (mine, 3);
        if (process) {
            //  Its output goes to the agent; its input is nothing
            int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
            if (null < 0 || dup2 (null, STDIN_FILENO) < 0
                || dup2 (theirs[1], STDOUT_FILENO) < 0
                || dup2 (theirs[2], STDERR_FILENO) < 0)
                _exit (127);
            close (null);
            s_close_all (theirs + 1, 2);
        }
        //  Handlers first, then the mask: a stop signal sent since the
        //  fork has waited, blocked, and now ends the child
        s_stop_signals (SIG_DFL);
        sigprocmask (SIG_SETMASK, &state->child_mask, NULL);
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != spawner_pid)
            _exit (1);  //  The spawner died before prctl took effect
        _exit (state->child_main (theirs[0], slot, process, state->arg));
    }
    int fork_errno = errno;
    s_close_all (theirs, 3);
    if (pid < 0) {
        s_close_all (mine, 3);
        report.kind = ZMP_SPAWN_FAILED;
        report.status = fork_errno;
        return s_send_report (state->control, &report, NULL, 0);
    }
    s_track (state, pid, slot);
    report.kind = ZMP_SPAWN_STARTED;
    report.pid = pid;
    int rc = s_send_report (state->control, &report, mine, process ? 3 : 1);
    s_close_all (mine, 3);
    return rc;
}

//  Reap every child that has ended and report it.
static int
s_reap (s_spawner_state_t *state)
{
    struct signalfd_siginfo info;
    while (read (state->signals, &info, sizeof info) > 0)
        ;  //  Drain; one read may stand for many children
    while (true) {
        s_report_t report;
        memset (&report, 0, sizeof report);
        int status = 0;
        pid_t pid = wait4 (-1, &status, WNOHANG, &report.usage);
        if (pid <= 0)
            return 0;
        report.slot = s_untrack (state, pid);
        if (report.slot == UINT32_MAX)
            continue;  //  An orphan of a task, adopted and now reaped
        report.kind = ZMP_SPAWN_EXITED;
        report.pid = pid;
        report.status = status;
        if (s_send_report (state->control, &report, NULL, 0))
            return -1;
    }
}

//  SIGKILL every child of this process that is still there: the processes
//  tasks left behind, which it adopted as a subreaper
static void
s_kill_adopted (void)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/self/task/%d/children",
              (int) getpid ());
    FILE *file = fopen (path, "r");
    if (!file)
        return;
    int pid;
    while (fscanf (file, "%d", &pid) == 1)
        kill (pid, SIGKILL);
    fclose (file);
}

static void __attribute__ ((noreturn))
s_spawner_main (int control, pid_t agent_pid, zmp_child_main_fn *child_main,
                void *arg)
{
    setpgid (0, 0);  //  Terminal signals go to the agent, not here
    s_stop_signals (SIG_IGN);
    //  A process a task started and left behind comes to us, not to the
    //  host's init (in a container, the agent itself), and is reaped
    prctl (PR_SET_CHILD_SUBREAPER, 1);
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != agent_pid)
        _exit (0);
    s_spawner_state_t state;
    memset (&state, 0, sizeof state);
    state.control = control;
    state.child_main = child_main;
    state.arg = arg;
    sigset_t mask;
    sigemptyset (&mask);
    sigaddset (&mask, SIGTERM);
    sigaddset (&mask, SIGINT);
    sigaddset (&mask, SIGHUP);
    sigaddset (&mask, SIGCHLD);
    sigprocmask (SIG_BLOCK, &mask, &state.child_mask);
    sigemptyset (&mask);
    sigaddset (&mask, SIGCHLD);
    state.signals = signalfd (-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (state.signals < 0)
        _exit (1);

    while (true) {
        struct pollfd items[2] = { { control, POLLIN, 0 },
                                   { state.signals, POLLIN, 0 } };
        if (poll (items, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (items[1].revents && s_reap (&state))
            break;
        if (items[0].revents) {
            s_request_t request;
            ssize_t size = recv (control, &request, sizeof request, 0);
            if (size == -1 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (size != (ssize_t) sizeof request)
                break;  //  End of file: the agent is gone or done
            if (s_spawn (&state, request.slot, request.process != 0))
                break;
        }
    }
    //  Take every child down with us, those we adopted too, then reap them
    for (size_t index = 0; index < state.child_count; index++)
        kill (state.children[index], SIGKILL);
    s_kill_adopted ();
    while (waitpid (-1, NULL, 0) > 0 || errno == EINTR)
        ;
    _exit (0);
}

//  --------------------------------------------------------------------------
//  Fork the spawner.

zmp_spawner_t *
zmp_spawner_new (zmp_child_main_fn *child_main, void *arg, zmp_error_t *error)
{
    assert (child_main);
    int pair[2];
    if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair)) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "cannot create the spawner's socket: %s",
                       strerror (errno));
        return NULL;
    }
    pid_t agent_pid = getpid ();
    pid_t pid = fork ();
    if (pid == 0) {
        close (pair[0]);
        s_spawner_main (pair[1], agent_pid, child_main, arg);
    }
    int fork_errno = errno;
    close (pair[1]);
    if (pid < 0) {
        close (pair[0]);
        zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot fork the spawner: %s",
                       strerror (fork_errno));
        return NULL;
    }
    zmp_spawner_t *self = (zmp_spawner_t *) calloc (1, sizeof (zmp_spawner_t));
    assert (self);
    self->pid = pid;
    self->control = pair[0];
    return self;
}

//  --------------------------------------------------------------------------
//  Stop the spawner and its children.

void
zmp_spawner_destroy (zmp_spawner_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_spawner_t *self = *self_p;
        close (self->control);  //  The spawner kills its children, exits
        //  Bounded wait: the spawner reaps its children first
        for (int waited_ms = 0; waited_ms < 1000; waited_ms += 5) {
            pid_t pid = waitpid (self->pid, NULL, WNOHANG);
            if (pid == self->pid || (pid < 0 && errno == ECHILD))
                goto reaped;
            struct timespec pause = { 0, 5 * 1000 * 1000 };
            nanosleep (&pause, NULL);
        }
        kill (self->pid, SIGKILL);
        while (waitpid (self->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    reaped:
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  File descriptor to poll for events.

int
zmp_spawner_fd (const zmp_spawner_t *self)
{
    assert (self);
    return self->control;
}

//  --------------------------------------------------------------------------
//  Process id of the spawner.

pid_t
zmp_spawner_pid (const zmp_spawner_t *self)
{
    assert (self);
    return self->pid;
}

//  --------------------------------------------------------------------------
//  Ask for a child.

static int
s_request (zmp_spawner_t *self, uint32_t slot, bool process)
{
    s_request_t request = { slot, process ? 1 : 0 };
    ssize_t rc;
    do
        rc = send (self->control, &request, sizeof request, MSG_NOSIGNAL);
    while (rc == -1 && errno == EINTR);
    return rc == (ssize_t) sizeof request ? 0 : -1;
}

int
zmp_spawner_spawn (zmp_spawner_t *self, uint32_t slot)
{
    assert (self);
    return s_request (self, slot, false);
}

//  --------------------------------------------------------------------------
//  Ask for a Process child.

int
zmp_spawner_spawn_process (zmp_spawner_t *self, uint32_t slot)
{
    assert (self);
    return s_request (self, slot, true);
}

//  --------------------------------------------------------------------------
//  Take the next event.

int
zmp_spawner_recv (zmp_spawner_t *self, zmp_spawn_event_t *event, int timeout_ms,
                  zmp_error_t *error)
{
    assert (self && event);
    struct pollfd item = { self->control, POLLIN, 0 };
    int ready;
    do
        ready = poll (&item, 1, timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready == 0) {
        zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT, "no spawner event");
        return -1;
    }
    s_report_t report;
    struct iovec iov = { &report, sizeof report };
    struct msghdr msg;
    memset (&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union {
        struct cmsghdr align;
        char buffer[CMSG_SPACE (3 * sizeof (int))];
    } ancillary;
    msg.msg_control = ancillary.buffer;
    msg.msg_controllen = sizeof ancillary.buffer;
    ssize_t size;
    do
        size = recvmsg (self->control, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    while (size < 0 && errno == EINTR);
    if (size < 0 && errno == EAGAIN) {
        zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT, "no spawner event");
        return -1;
    }
    if (size != (ssize_t) sizeof report) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "the spawner (pid %d) is gone",
                       (int) self->pid);
        return -1;
    }
    memset (event, 0, sizeof *event);
    event->kind = (zmp_spawn_event_kind_t) report.kind;
    event->slot = report.slot;
    event->pid = report.pid;
    event->status = report.status;
    event->usage = report.usage;
    event->fd = event->out_fd = event->err_fd = -1;
    struct cmsghdr *header = CMSG_FIRSTHDR (&msg);
    if (header && header->cmsg_level == SOL_SOCKET
        && header->cmsg_type == SCM_RIGHTS) {
        int fds[3] = { -1, -1, -1 };
        size_t count = (header->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        if (count > 3)
            count = 3;
        memcpy (fds, CMSG_DATA (header), count * sizeof (int));
        event->fd = fds[0];
        event->out_fd = fds[1];
        event->err_fd = fds[2];
    }
    if (event->kind == ZMP_SPAWN_STARTED && event->fd < 0) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "the spawner sent a child without its socket");
        return -1;
    }
    return 0;
}
