/*  agent_process - Processes: one task each, in a child forked for it

    A Process arrives as a DISPATCH with ZMP_PROTO_PROCESS_SLOT. The agent
    asks the spawner for a child with output pipes (its spawner slot has
    AGENT_PROCESS_BIT set, so pool children and Processes never mix), sends
    the task over the child's socket as to a pool child, and forwards what
    the child writes to stdout and stderr as PROCESS events, as it comes.
    When the spawner reports the child's end, the agent reads what is left
    in its socket and pipes, then sends DONE: the task's result if it wrote
    one, else how the process died. Events go out before DONE in every
    turn, so a client has all the output before it learns of the end.
*/
#include "worker_internal.h"

#include "zmp_error.h"
#include "zmp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROCESS_CHUNK      (64 * 1024)  //  Bytes of output per event, at most
#define PROCESS_CHUNKS_MAX 16           //  Chunks read per turn and stream

static agent_process_t *
s_find_slot (zmp_agent_t *self, uint32_t spawn_slot)
{
    for (agent_process_t *process =
             (agent_process_t *) zlistx_first (self->processes);
         process; process = (agent_process_t *) zlistx_next (self->processes))
        if (process->spawn_slot == spawn_slot)
            return process;
    return NULL;
}

static agent_process_t *
s_find_seq (zmp_agent_t *self, uint64_t seq)
{
    for (agent_process_t *process =
             (agent_process_t *) zlistx_first (self->processes);
         process; process = (agent_process_t *) zlistx_next (self->processes))
        if (process->seq == seq)
            return process;
    return NULL;
}

static void
s_close (int *fd_p)
{
    if (*fd_p >= 0) {
        close (*fd_p);
        *fd_p = -1;
    }
}

//  Remove a process record from the table and free it
static void
s_forget (zmp_agent_t *self, agent_process_t *process)
{
    for (void *item = zlistx_first (self->processes); item;
         item = zlistx_next (self->processes))
        if (item == process) {
            zlistx_detach_cur (self->processes);
            break;
        }
    agent_child_destroy (&process->child);
    agent_task_destroy (&process->task);
    s_close (&process->out_fd);
    s_close (&process->err_fd);
    zframe_destroy (&process->result);
    free (process);
}

//  --------------------------------------------------------------------------
//  Send the PROCESS events gathered this turn.

void
agent_process_flush (zmp_agent_t *self)
{
    if (self->events && zmsg_send (&self->events, self->socket)) {
        zmp_warning ("worker: cannot send process output to the broker: %s",
                     zmq_strerror (zmq_errno ()));
        zmsg_destroy (&self->events);
    }
}

//  Queue an event: started (data is the host) or output (data is bytes)
static void
s_event (zmp_agent_t *self, agent_process_t *process, zmp_event_kind_t kind,
         const char *data, size_t size)
{
    if (!self->events)
        self->events = zmp_proto_new (ZMP_PROTO_PROCESS);
    zmp_proto_event_t event = { ZMP_PROTO_PROCESS_SLOT, process->seq,
                                (uint32_t) kind, process->child.pid };
    zframe_t *header = zmp_proto_encode_event (&event);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    if (kind == ZMP_EVENT_STARTED)
        msgpack_pack_str_with_body (&packer, data, size);
    else
        msgpack_pack_bin_with_body (&packer, data, size);
    zframe_t *body = zframe_new (buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    zmsg_append (self->events, &header);
    zmsg_append (self->events, &body);
    if (zmsg_size (self->events) >= 2 * ZMP_PROTO_BATCH_MAX)
        agent_process_flush (self);
}

//  Forward what the pipe of stream (1 or 2) holds, up to chunks reads.
//  Closes the pipe at end of file.
static void
s_read_output (zmp_agent_t *self, agent_process_t *process, int stream,
               int chunks)
{
    int *fd_p = stream == 1 ? &process->out_fd : &process->err_fd;
    char data[PROCESS_CHUNK];
    for (int chunk = 0; *fd_p >= 0 && chunk < chunks; chunk++) {
        ssize_t size = read (*fd_p, data, sizeof data);
        if (size > 0)
            s_event (self, process,
                     stream == 1 ? ZMP_EVENT_STDOUT : ZMP_EVENT_STDERR, data,
                     (size_t) size);
        else if (size < 0 && errno == EINTR)
            continue;
        else {
            //  End of file, or nothing more now (a child of the process may
            //  hold the pipe open): either way, done here
            if (size == 0 || errno != EAGAIN)
                s_close (fd_p);
            return;
        }
    }
}

//  The child wrote its result (agent_result_fn)
static void
s_on_result (void *arg, agent_child_t *child, agent_task_t *task,
             uint32_t status, const char *payload, size_t size, int64_t run_us,
             const zmp_proto_usage_t *usage)
{
    (void) child;
    agent_process_t *process = (agent_process_t *) arg;
    process->answered = true;
    process->status = status;
    zframe_destroy (&process->result);
    process->result = zframe_new (payload, size);
    process->run_us = run_us;
    process->usage = *usage;
    agent_task_destroy (&task);
}

//  --------------------------------------------------------------------------
//  Start a Process.

void
agent_process_start (zmp_agent_t *self, agent_task_t **task_p)
{
    agent_process_t *process =
        (agent_process_t *) zmalloc (sizeof (agent_process_t));
    agent_child_init (&process->child);
    process->task = *task_p;
    *task_p = NULL;
    process->seq = process->task->header.seq;
    memcpy (process->function, process->task->header.function,
            sizeof process->function);
    process->spawn_slot = AGENT_PROCESS_BIT | self->next_process++;
    process->out_fd = process->err_fd = -1;
    zlistx_add_end (self->processes, process);
    if (zmp_spawner_spawn_process (self->spawner, process->spawn_slot))
        self->fatal = true;  //  The spawner is gone
}

//  Send the DONE of a process that ended as event says
static void
s_report (zmp_agent_t *self, agent_process_t *process,
          const zmp_spawn_event_t *event)
{
    int status = event->status;
    const char *function = process->function;
    if (process->aborted)
        agent_done_error (self, ZMP_PROTO_PROCESS_SLOT, process->seq,
                          event->pid, ZMP_ERR_CANCELLED, 0, 0,
                          "process %s cancelled", function);
    else if (process->answered)
        agent_done (self, ZMP_PROTO_PROCESS_SLOT, process->seq, process->status,
                    event->pid, process->run_us, &process->usage,
                    &process->result);
    else if (WIFSIGNALED (status))
        agent_done_error (self, ZMP_PROTO_PROCESS_SLOT, process->seq,
                          event->pid, ZMP_ERR_CRASHED, WTERMSIG (status), 0,
                          "process %s", function);
    else
        agent_done_error (self, ZMP_PROTO_PROCESS_SLOT, process->seq,
                          event->pid, ZMP_ERR_CRASHED, 0, WEXITSTATUS (status),
                          "process %s exited with code %d before it returned",
                          function, WEXITSTATUS (status));
}

//  The process ended: take what is left, then report it (unless its DONE
//  went already).
static void
s_ended (zmp_agent_t *self, agent_process_t *process,
         const zmp_spawn_event_t *event)
{
    if (process->child.fd >= 0)
        agent_child_read (&process->child, s_on_result, process);
    s_read_output (self, process, 1, INT32_MAX);
    s_read_output (self, process, 2, INT32_MAX);
    if (!process->reported)
        s_report (self, process, event);
    s_forget (self, process);
}

//  --------------------------------------------------------------------------
//  A spawner event, if it is a Process's.

bool
agent_process_spawned (zmp_agent_t *self, zmp_spawn_event_t *event)
{
    if (!(event->slot & AGENT_PROCESS_BIT))
        return false;
    agent_process_t *process = s_find_slot (self, event->slot);
    if (!process) {
        s_close (&event->fd);
        s_close (&event->out_fd);
        s_close (&event->err_fd);
        return true;
    }
    switch (event->kind) {
        case ZMP_SPAWN_STARTED:
            agent_child_start (&process->child, event->pid, event->fd);
            process->out_fd = event->out_fd;
            process->err_fd = event->err_fd;
            fcntl (process->out_fd, F_SETFL, O_NONBLOCK);
            fcntl (process->err_fd, F_SETFL, O_NONBLOCK);
            s_event (self, process, ZMP_EVENT_STARTED, self->host,
                     strlen (self->host));
            if (agent_child_send (&process->child, &process->task)) {
                //  Its end says why, not just that it was killed
                agent_done_error (self, ZMP_PROTO_PROCESS_SLOT, process->seq, 0,
                                  ZMP_ERR_LIMIT, 0, 0,
                                  "arguments of %zu bytes are over the "
                                  "limit of %u",
                                  zframe_size (process->task->args),
                                  ZMP_CHILD_PAYLOAD_MAX);
                process->reported = true;
                process->kill_signal = SIGKILL;
            }
            if (process->kill_signal)
                kill (event->pid, process->kill_signal);
            break;
        case ZMP_SPAWN_EXITED:
            if (process->child.pid == event->pid)
                s_ended (self, process, event);
            break;
        case ZMP_SPAWN_FAILED:
            agent_done_error (self, ZMP_PROTO_PROCESS_SLOT, process->seq, 0,
                              ZMP_ERR_SYSTEM, 0, 0,
                              "cannot start a process for %s: %s",
                              process->function, strerror (event->status));
            s_forget (self, process);
            break;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Signal a Process.

void
agent_process_signal (zmp_agent_t *self, uint64_t seq, int signal, bool abort)
{
    agent_process_t *process = s_find_seq (self, seq);
    if (!process)
        return;  //  Ended already
    if (abort)
        process->aborted = true;
    if (process->child.pid > 0)
        kill (process->child.pid, signal);
    else
        process->kill_signal = signal;
}

//  --------------------------------------------------------------------------
//  A Process's socket or pipe is ready.

void
agent_process_ready (zmp_agent_t *self, agent_process_t *process, int stream,
                     short revents)
{
    if (stream != 0) {
        s_read_output (self, process, stream, PROCESS_CHUNKS_MAX);
        return;
    }
    if ((revents & ZMQ_POLLOUT) && agent_child_write (&process->child))
        agent_child_close (&process->child);
    if ((revents & (ZMQ_POLLIN | ZMQ_POLLERR)) && process->child.fd >= 0
        && agent_child_read (&process->child, s_on_result, process))
        agent_child_close (&process->child);  //  Its end: EXITED follows
}

//  --------------------------------------------------------------------------
//  Free every Process record.

void
agent_process_destroy_all (zmp_agent_t *self)
{
    agent_process_t *process;
    while ((process = (agent_process_t *) zlistx_first (self->processes))) {
        if (process->child.pid > 0)
            kill (process->child.pid, SIGKILL);
        s_forget (self, process);
    }
}
