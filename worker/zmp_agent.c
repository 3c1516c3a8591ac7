/*  zmp_agent - the worker agent

    One thread, one loop: zmq_poll over the broker socket, the spawner's
    control socket and every child's socket. Each turn of the loop takes
    everything that is ready, hands queued tasks to idle children, and sends
    the results gathered in that turn as one DONE message; so under load
    results travel in batches, and when idle each one goes at once.

    Children sockets are non-blocking on our side: a large argument or
    result moves in pieces across turns, and the loop never waits on a
    child. A child is identified by its slot (its index in children[]).

    Who owns what: a task is owned by the queue until a child takes it, then
    by that child record until its result (or the child's death) sends it
    back to the broker as DONE.
*/
#include "zmp_agent.h"

#include "zmp_child.h"
#include "zmp_error.h"
#include "zmp_log.h"
#include "zmp_proto.h"
#include "zmp_spawner.h"
#include "zmp_value.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT_START_TIMEOUT_MS 10000
#define AGENT_INPUT_INITIAL    (64 * 1024)
#define AGENT_RECV_BATCH       256   //  Broker messages per loop turn, at most
#define AGENT_RESPAWN_DELAY_MS 1000  //  After a failed fork

typedef struct {
    zmp_proto_dispatch_t header;  //  As the broker sent it
    zframe_t *args;               //  Owned: the argument frame
    zmp_error_kind_t abort_kind;  //  Why we killed its child, or NONE
} agent_task_t;

typedef enum {
    CHILD_STARTING,  //  Asked the spawner; no process yet
    CHILD_IDLE,      //  Running, waiting for a task
    CHILD_BUSY,      //  Running a task
    CHILD_GONE       //  Socket closed; waiting for the spawner's report
} child_state_t;

typedef struct {
    child_state_t state;
    pid_t pid;            //  0 while starting
    int fd;               //  Our end of its socket, -1 when closed
    agent_task_t *task;   //  Owned: the task it runs, or NULL
    char *output;         //  Owned: request bytes not yet written
    size_t output_size;   //  Bytes in output
    size_t output_sent;   //  Of those, bytes already written
    size_t output_limit;  //  Allocated bytes of output
    char *input;          //  Owned: response bytes read so far
    size_t input_size;    //  Bytes in input
    size_t input_limit;   //  Allocated bytes of input
    uint64_t tasks_done;  //  Tasks this process has finished
    int64_t respawn_at;   //  zclock_mono () ms; 0 unless a fork failed
} agent_child_t;

struct zmp_agent {
    zmp_agent_config_t config;          //  Strings borrowed from the caller
    zmp_registry_t *registry;           //  Borrowed
    zmp_spawner_t *spawner;             //  Owned
    zmp_child_context_t child_context;  //  Inherited by every child
    agent_child_t *children;            //  Owned, config.processes of them
    size_t slots;                       //  Number of children
    zlistx_t *queue;  //  Owned agent_task_t *, waiting for a child
    zsock_t *socket;  //  Owned DEALER to the broker
    zmsg_t *done;     //  Owned DONE message being gathered
    char host[ZMP_PROTO_HOST_MAX + 1];
    bool registered;  //  Welcomed by the broker, not lost since
    bool ever_registered;
    uint32_t heartbeat_ms;   //  Current interval (the broker's)
    uint32_t liveness;       //  Current liveness (the broker's)
    int64_t broker_seen_at;  //  zclock_mono () ms of its last message
    int64_t next_tick_at;    //  zclock_mono () ms of the next tick
    int64_t sent_at;         //  zclock_mono () ms of our last send
    uint64_t tasks_done;     //  All children, since start
    bool fatal;              //  Cannot go on (spawner gone)
};

static void
s_task_destroy (agent_task_t **task_p)
{
    if (*task_p) {
        zframe_destroy (&(*task_p)->args);
        free (*task_p);
        *task_p = NULL;
    }
}

static void
s_task_free (void **item_p)
{
    s_task_destroy ((agent_task_t **) item_p);
}

static void
s_child_close (agent_child_t *child)
{
    if (child->fd >= 0) {
        close (child->fd);
        child->fd = -1;
    }
    child->output_size = child->output_sent = 0;
    child->input_size = 0;
}

static int
s_set_nonblocking (int fd)
{
    int flags = fcntl (fd, F_GETFL);
    return flags < 0 ? -1 : fcntl (fd, F_SETFL, flags | O_NONBLOCK);
}

//  Apply a spawner event; returns -1 if the spawner is gone.
static int s_spawner_event (zmp_agent_t *self, zmp_spawn_event_t *event);

//  --------------------------------------------------------------------------
//  Fork the spawner and the children.

zmp_agent_t *
zmp_agent_new (const zmp_agent_config_t *config, zmp_registry_t *registry,
               zmp_error_t *error)
{
    assert (config && config->endpoint && registry);
    assert (config->processes >= 1 && config->processes <= ZMP_PROTO_SLOTS_MAX);
    zmp_agent_t *self = (zmp_agent_t *) zmalloc (sizeof (zmp_agent_t));
    self->config = *config;
    self->registry = registry;
    self->slots = (size_t) config->processes;
    self->heartbeat_ms = (uint32_t) config->heartbeat_ms;
    self->liveness = (uint32_t) config->liveness;
    self->queue = zlistx_new ();
    zlistx_set_destructor (self->queue, s_task_free);
    self->children =
        (agent_child_t *) zmalloc (self->slots * sizeof (agent_child_t));
    for (size_t slot = 0; slot < self->slots; slot++)
        self->children[slot].fd = -1;
    if (gethostname (self->host, sizeof self->host))
        snprintf (self->host, sizeof self->host, "unknown");
    self->host[sizeof self->host - 1] = 0;

    self->child_context.registry = registry;
    self->child_context.agent_pid = getpid ();
    fflush (NULL);  //  Nothing buffered may be written again by a child
    self->spawner =
        zmp_spawner_new (zmp_child_main, &self->child_context, error);
    if (!self->spawner) {
        zmp_agent_destroy (&self);
        return NULL;
    }
    for (size_t slot = 0; slot < self->slots; slot++)
        if (zmp_spawner_spawn (self->spawner, (uint32_t) slot)) {
            zmp_error_set (error, ZMP_ERR_SYSTEM,
                           "the spawner died while starting children");
            zmp_agent_destroy (&self);
            return NULL;
        }
    //  Wait for every child, so that none is forked after the context
    //  exists (later ones come from the spawner, which never has one)
    int64_t deadline = zclock_mono () + AGENT_START_TIMEOUT_MS;
    size_t started = 0;
    while (started < self->slots) {
        int64_t left = deadline - zclock_mono ();
        zmp_spawn_event_t event;
        zmp_error_t cause;
        if (left <= 0
            || zmp_spawner_recv (self->spawner, &event, (int) left, &cause)) {
            zmp_error_set (error, ZMP_ERR_SYSTEM,
                           "only %zu of %zu task processes started: %s",
                           started, self->slots,
                           left <= 0 ? "timed out" : cause.message);
            zmp_agent_destroy (&self);
            return NULL;
        }
        if (event.kind == ZMP_SPAWN_FAILED) {
            zmp_error_set (error, ZMP_ERR_SYSTEM,
                           "cannot start a task process: %s",
                           strerror (event.status));
            zmp_agent_destroy (&self);
            return NULL;
        }
        if (s_spawner_event (self, &event) == 0
            && event.kind == ZMP_SPAWN_STARTED)
            started++;
    }
    return self;
}

//  --------------------------------------------------------------------------
//  Stop the children and free the agent.

void
zmp_agent_destroy (zmp_agent_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_agent_t *self = *self_p;
        for (size_t slot = 0; slot < self->slots; slot++) {
            agent_child_t *child = &self->children[slot];
            s_child_close (child);
            s_task_destroy (&child->task);
            free (child->output);
            free (child->input);
        }
        zmp_spawner_destroy (&self->spawner);  //  Kills what is left
        free (self->children);
        zlistx_destroy (&self->queue);
        zmsg_destroy (&self->done);
        zsock_destroy (&self->socket);
        free (self);
        *self_p = NULL;
    }
}

//  Send msg to the broker; always takes it. Returns 0 or -1 (logged).
static int
s_send (zmp_agent_t *self, zmsg_t **msg_p)
{
    if (zmsg_send (msg_p, self->socket) == 0) {
        self->sent_at = zclock_mono ();
        return 0;
    }
    zmp_warning ("worker: cannot send to the broker at %s: %s",
                 self->config.endpoint, zmq_strerror (zmq_errno ()));
    zmsg_destroy (msg_p);
    return -1;
}

static void
s_send_hello (zmp_agent_t *self)
{
    zmp_proto_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.role = ZMP_ROLE_WORKER;
    hello.pid = getpid ();
    hello.slots = (uint32_t) self->slots;
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    hello.cores = cores > 0 ? (uint32_t) cores : 0;
    snprintf (hello.host, sizeof hello.host, "%s", self->host);
    snprintf (hello.name, sizeof hello.name, "%s",
              self->config.name ? self->config.name : "");
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HELLO);
    zframe_t *body = zmp_proto_encode_hello (&hello);
    zmsg_append (msg, &body);
    s_send (self, &msg);
}

//  Queue a DONE item for task with status and value; takes value.
static void
s_done (zmp_agent_t *self, const agent_task_t *task, uint32_t status, pid_t pid,
        zframe_t **value_p)
{
    if (!self->done)
        self->done = zmp_proto_new (ZMP_PROTO_DONE);
    zmp_proto_done_t done = { task->header.slot, task->header.seq, status,
                              pid };
    zframe_t *header = zmp_proto_encode_done (&done);
    zmsg_append (self->done, &header);
    zmsg_append (self->done, value_p);
    //  A full batch goes at once: the protocol takes no more per message
    if (zmsg_size (self->done) >= 2 * ZMP_PROTO_BATCH_MAX)
        s_send (self, &self->done);
}

//  Queue a DONE item carrying an error made here, on this host.
static void s_done_error (zmp_agent_t *self, const agent_task_t *task,
                          pid_t pid, zmp_error_kind_t kind, int signal,
                          const char *format, ...)
    __attribute__ ((format (printf, 6, 7)));

static void
s_done_error (zmp_agent_t *self, const agent_task_t *task, pid_t pid,
              zmp_error_kind_t kind, int signal, const char *format, ...)
{
    zmp_error_t error;
    va_list args;
    va_start (args, format);
    zmp_error_setv (&error, kind, format, args);
    va_end (args);
    error.signal = signal;
    error.pid = pid;
    snprintf (error.host, sizeof error.host, "%s", self->host);
    zframe_t *value = zmp_proto_encode_error (&error);
    s_done (self, task, (uint32_t) kind, pid, &value);
}

//  Hand task to an idle child: its whole request goes into the child's
//  output buffer, written now as far as the socket takes it. Takes task.
//  Returns 0, or -1 if the task was too large for a child (answered with
//  a limit error).
static void s_child_write (zmp_agent_t *self, agent_child_t *child);

static int
s_child_start_task (zmp_agent_t *self, agent_child_t *child, agent_task_t *task)
{
    assert (child->state == CHILD_IDLE && !child->task);
    size_t function_len = strlen (task->header.function);
    size_t args_size = zframe_size (task->args);
    if (args_size > ZMP_CHILD_PAYLOAD_MAX - function_len) {
        //  Would not fit the child's framing (and its 32-bit size)
        s_done_error (self, task, 0, ZMP_ERR_LIMIT, 0,
                      "arguments of %zu bytes are over the limit of %u",
                      args_size, ZMP_CHILD_PAYLOAD_MAX);
        s_task_destroy (&task);
        return -1;
    }
    zmp_child_request_t request;
    request.size = (uint32_t) (function_len + args_size);
    request.function_len = (uint32_t) function_len;
    request.flags = task->header.flags;
    request.attempt = task->header.attempt;
    request.seq = task->header.seq;
    size_t total = sizeof request + function_len + args_size;
    if (total > child->output_limit) {
        free (child->output);
        child->output_limit = total;
        child->output = (char *) malloc (total);
        assert (child->output);
    }
    memcpy (child->output, &request, sizeof request);
    memcpy (child->output + sizeof request, task->header.function,
            function_len);
    memcpy (child->output + sizeof request + function_len,
            zframe_data (task->args), args_size);
    child->output_size = total;
    child->output_sent = 0;
    child->task = task;
    child->state = CHILD_BUSY;
    s_child_write (self, child);
    return 0;
}

//  The child's socket failed or closed: make sure the process ends, so that
//  the spawner's report follows and the task can be failed with its cause.
static void
s_child_lost (agent_child_t *child)
{
    s_child_close (child);
    if (child->state != CHILD_STARTING) {
        child->state = CHILD_GONE;
        if (child->pid > 0)
            kill (child->pid, SIGKILL);
    }
}

static void
s_child_write (zmp_agent_t *self, agent_child_t *child)
{
    (void) self;
    while (child->fd >= 0 && child->output_sent < child->output_size) {
        ssize_t rc = send (child->fd, child->output + child->output_sent,
                           child->output_size - child->output_sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (rc > 0)
            child->output_sent += (size_t) rc;
        else if (rc < 0 && errno == EINTR)
            continue;
        else if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;  //  The rest goes when the socket is writable again
        else {
            s_child_lost (child);
            return;
        }
    }
}

//  A complete response sits at the start of child->input: send it back.
static void
s_child_response (zmp_agent_t *self, agent_child_t *child,
                  const zmp_child_response_t *response)
{
    agent_task_t *task = child->task;
    if (!task || task->header.seq != response->seq) {
        zmp_warning ("worker: task process %d sent a result for no task; "
                     "replacing it",
                     (int) child->pid);
        s_child_lost (child);
        return;
    }
    zframe_t *value =
        zframe_new (child->input + sizeof *response, response->size);
    s_done (self, task, response->status, child->pid, &value);
    s_task_destroy (&child->task);
    child->state = CHILD_IDLE;
    child->tasks_done++;
    self->tasks_done++;
}

static void
s_child_read (zmp_agent_t *self, agent_child_t *child)
{
    while (child->fd >= 0) {
        if (child->input_limit - child->input_size < 4096) {
            size_t limit = child->input_limit ? child->input_limit * 2
                                              : AGENT_INPUT_INITIAL;
            char *input = (char *) realloc (child->input, limit);
            assert (input);
            child->input = input;
            child->input_limit = limit;
        }
        ssize_t rc = read (child->fd, child->input + child->input_size,
                           child->input_limit - child->input_size);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (rc <= 0) {
            s_child_lost (child);
            return;
        }
        child->input_size += (size_t) rc;
        //  Take every complete response out of the buffer
        while (child->input_size >= sizeof (zmp_child_response_t)) {
            zmp_child_response_t response;
            memcpy (&response, child->input, sizeof response);
            if (response.size > ZMP_CHILD_PAYLOAD_MAX) {
                zmp_warning ("worker: task process %d sent garbage; "
                             "replacing it",
                             (int) child->pid);
                s_child_lost (child);
                return;
            }
            size_t total = sizeof response + response.size;
            if (child->input_size < total) {
                if (total > child->input_limit) {
                    char *input = (char *) realloc (child->input, total);
                    assert (input);
                    child->input = input;
                    child->input_limit = total;
                }
                break;
            }
            s_child_response (self, child, &response);
            memmove (child->input, child->input + total,
                     child->input_size - total);
            child->input_size -= total;
        }
    }
}

//  A child process ended: fail its task with the cause, start another.
static void
s_child_exited (zmp_agent_t *self, agent_child_t *child,
                const zmp_spawn_event_t *event)
{
    if (child->fd >= 0)
        s_child_read (self, child);  //  A result may have come first
    s_child_close (child);
    agent_task_t *task = child->task;
    int status = event->status;
    if (task) {
        if (task->abort_kind != ZMP_ERR_NONE)
            s_done_error (self, task, event->pid, task->abort_kind, 0,
                          "task %s stopped by request", task->header.function);
        else if (WIFSIGNALED (status))
            s_done_error (self, task, event->pid, ZMP_ERR_CRASHED,
                          WTERMSIG (status), "task %s", task->header.function);
        else
            s_done_error (self, task, event->pid, ZMP_ERR_CRASHED, 0,
                          "task %s: process exited with code %d",
                          task->header.function, WEXITSTATUS (status));
        s_task_destroy (&child->task);
    }
    if (task || child->state != CHILD_GONE)
        zmp_notice ("worker: task process %d (slot %u) ended (%s %d); "
                    "replacing it",
                    (int) event->pid, event->slot,
                    WIFSIGNALED (status) ? "signal" : "exit code",
                    WIFSIGNALED (status) ? WTERMSIG (status)
                                         : WEXITSTATUS (status));
    child->state = CHILD_STARTING;
    child->pid = 0;
    if (zmp_spawner_spawn (self->spawner, event->slot))
        self->fatal = true;
}

static int
s_spawner_event (zmp_agent_t *self, zmp_spawn_event_t *event)
{
    if (event->slot >= self->slots) {
        if (event->fd >= 0)
            close (event->fd);
        return 0;  //  Not ours; cannot happen
    }
    agent_child_t *child = &self->children[event->slot];
    switch (event->kind) {
        case ZMP_SPAWN_STARTED:
            s_set_nonblocking (event->fd);
            child->fd = event->fd;
            child->pid = event->pid;
            child->state = CHILD_IDLE;
            child->respawn_at = 0;
            break;
        case ZMP_SPAWN_EXITED:
            if (child->pid == event->pid)
                s_child_exited (self, child, event);
            break;
        case ZMP_SPAWN_FAILED:
            zmp_error ("worker: cannot start a task process for slot %u: %s",
                       event->slot, strerror (event->status));
            child->respawn_at = zclock_mono () + AGENT_RESPAWN_DELAY_MS;
            break;
    }
    return 0;
}

static void
s_spawner_drain (zmp_agent_t *self)
{
    while (true) {
        zmp_spawn_event_t event;
        zmp_error_t error;
        if (zmp_spawner_recv (self->spawner, &event, 0, &error)) {
            if (error.kind != ZMP_ERR_WAIT_TIMEOUT) {
                zmp_error ("worker: %s; stopping", error.message);
                self->fatal = true;
            }
            return;
        }
        s_spawner_event (self, &event);
    }
}

//  Forget the tasks no child has started (the broker forgot them too).
static void
s_drop_queue (zmp_agent_t *self)
{
    if (zlistx_size (self->queue))
        zmp_notice ("worker: dropped %zu queued tasks",
                    zlistx_size (self->queue));
    zlistx_purge (self->queue);
}

static agent_child_t *
s_find_task (zmp_agent_t *self, uint32_t slot, uint64_t seq)
{
    for (size_t index = 0; index < self->slots; index++) {
        agent_child_t *child = &self->children[index];
        if (child->task && child->task->header.slot == slot
            && child->task->header.seq == seq)
            return child;
    }
    return NULL;
}

static void
s_abort (zmp_agent_t *self, uint32_t slot, uint64_t seq)
{
    agent_task_t *task = (agent_task_t *) zlistx_first (self->queue);
    while (task) {
        if (task->header.slot == slot && task->header.seq == seq) {
            s_done_error (self, task, 0, ZMP_ERR_CANCELLED, 0,
                          "task %s cancelled before it started",
                          task->header.function);
            zlistx_delete (self->queue, zlistx_cursor (self->queue));
            return;
        }
        task = (agent_task_t *) zlistx_next (self->queue);
    }
    agent_child_t *child = s_find_task (self, slot, seq);
    if (child && child->pid > 0) {
        child->task->abort_kind = ZMP_ERR_CANCELLED;
        kill (child->pid, SIGKILL);
    }
}

static void
s_on_dispatch (zmp_agent_t *self, zmsg_t *msg)
{
    zframe_t *header = zmsg_pop (msg);
    while (header) {
        zframe_t *args = zmsg_pop (msg);
        agent_task_t *task = (agent_task_t *) zmalloc (sizeof (agent_task_t));
        zmp_error_t error;
        if (!args
            || zmp_proto_decode_dispatch (header, &task->header, &error)) {
            zmp_warning ("worker: dropped a bad DISPATCH item: %s",
                         args ? error.message : "arguments missing");
            zframe_destroy (&args);
            s_task_destroy (&task);
        } else {
            task->args = args;
            zlistx_add_end (self->queue, task);
        }
        zframe_destroy (&header);
        header = zmsg_pop (msg);
    }
}

static void
s_on_welcome (zmp_agent_t *self, zmsg_t *msg)
{
    zframe_t *body = zmsg_next (msg);
    zmp_proto_welcome_t welcome;
    zmp_error_t error;
    if (zmp_proto_decode_welcome (body, &welcome, &error)) {
        zmp_warning ("worker: bad WELCOME from the broker: %s", error.message);
        return;
    }
    self->heartbeat_ms = welcome.heartbeat_ms;
    self->liveness = welcome.liveness;
    self->registered = true;
    zmp_notice ("worker: registered with the broker at %s (%zu slots)",
                self->config.endpoint, self->slots);
    if (!self->ever_registered && self->config.ready_fd >= 0) {
        ssize_t rc = write (self->config.ready_fd, "ready\n", 6);
        (void) rc;  //  Whoever waits sees end of file either way
        close (self->config.ready_fd);
        self->config.ready_fd = -1;
    }
    self->ever_registered = true;
}

static void
s_on_broker (zmp_agent_t *self, zmsg_t *msg)
{
    zmp_error_t error;
    int command = zmp_proto_command (msg, &error);
    if (command < 0) {
        zmp_warning ("worker: dropped a bad message from the broker: %s",
                     error.message);
        return;
    }
    self->broker_seen_at = zclock_mono ();
    zmsg_first (msg);
    switch (command) {
        case ZMP_PROTO_WELCOME:
            s_on_welcome (self, msg);
            break;
        case ZMP_PROTO_DISPATCH: {
            if (zmp_proto_pairs (msg, &error) < 0) {
                zmp_warning ("worker: dropped a bad DISPATCH: %s",
                             error.message);
                break;
            }
            zframe_t *first = zmsg_pop (msg);
            zframe_destroy (&first);  //  The header; pairs follow
            s_on_dispatch (self, msg);
            break;
        }
        case ZMP_PROTO_ABORT:
            for (zframe_t *frame = zmsg_next (msg); frame;
                 frame = zmsg_next (msg)) {
                uint32_t slot;
                uint64_t seq;
                if (zmp_proto_decode_abort (frame, &slot, &seq, &error) == 0)
                    s_abort (self, slot, seq);
                else
                    zmp_warning ("worker: bad ABORT: %s", error.message);
            }
            break;
        case ZMP_PROTO_HEARTBEAT:
            break;
        case ZMP_PROTO_ERROR: {
            zmp_error_t notice;
            bool unknown_peer = false;
            if (zmp_proto_decode_notice (zmsg_next (msg), &notice,
                                         &unknown_peer, &error))
                snprintf (notice.message, sizeof notice.message, "%s",
                          error.message);
            if (unknown_peer) {
                //  The broker restarted or expired us: start afresh
                zmp_warning ("worker: the broker at %s does not know us; "
                             "registering again",
                             self->config.endpoint);
                self->registered = false;
                s_drop_queue (self);
                s_send_hello (self);
            } else
                zmp_warning ("worker: the broker refused a message: %s",
                             notice.message);
            break;
        }
        case ZMP_PROTO_BYE:
            zmp_notice ("worker: the broker at %s said goodbye; waiting "
                        "for it to come back",
                        self->config.endpoint);
            self->registered = false;
            s_drop_queue (self);
            break;
        default:
            zmp_warning ("worker: unexpected %s from the broker",
                         zmp_proto_command_name (command));
    }
}

static void
s_broker_drain (zmp_agent_t *self)
{
    for (int count = 0; count < AGENT_RECV_BATCH; count++) {
        zmsg_t *msg = zmsg_recv (self->socket);
        if (!msg)
            return;  //  Nothing more (receive timeout is 0), or interrupted
        s_on_broker (self, msg);
        zmsg_destroy (&msg);
    }
}

static void
s_assign (zmp_agent_t *self)
{
    for (size_t slot = 0; slot < self->slots && zlistx_size (self->queue);
         slot++) {
        agent_child_t *child = &self->children[slot];
        if (child->state != CHILD_IDLE)
            continue;
        agent_task_t *task = (agent_task_t *) zlistx_detach (self->queue, NULL);
        if (s_child_start_task (self, child, task))
            slot--;  //  Refused (too large): this child is still idle
    }
}

static void
s_tick (zmp_agent_t *self, int64_t now)
{
    if (self->registered
        && now - self->broker_seen_at
               > (int64_t) self->heartbeat_ms * self->liveness) {
        zmp_warning ("worker: no word from the broker at %s for %lld ms; "
                     "registering again",
                     self->config.endpoint,
                     (long long) (now - self->broker_seen_at));
        self->registered = false;
        s_drop_queue (self);
    }
    if (!self->registered)
        s_send_hello (self);
    else if (now - self->sent_at >= self->heartbeat_ms) {
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HEARTBEAT);
        s_send (self, &msg);
    }
    for (size_t slot = 0; slot < self->slots; slot++) {
        agent_child_t *child = &self->children[slot];
        if (child->respawn_at && now >= child->respawn_at) {
            child->respawn_at = 0;
            if (zmp_spawner_spawn (self->spawner, (uint32_t) slot))
                self->fatal = true;
        }
    }
    //  Half the interval: no gap between two sends reaches 1.5 intervals
    self->next_tick_at = now + self->heartbeat_ms / 2;
}

//  --------------------------------------------------------------------------
//  Serve until interrupted.

int
zmp_agent_run (zmp_agent_t *self)
{
    assert (self);
    self->socket = zsock_new (ZMQ_DEALER);
    zsock_set_rcvtimeo (self->socket, 0);
    zsock_set_sndtimeo (self->socket, 0);
    zsock_set_linger (self->socket, 200);  //  Time for BYE to leave
    if (zsock_connect (self->socket, "%s", self->config.endpoint)) {
        zmp_error ("worker: cannot connect to %s: %s", self->config.endpoint,
                   zmq_strerror (zmq_errno ()));
        return -1;
    }
    zmp_notice ("worker: %zu task processes ready, connecting to %s",
                self->slots, self->config.endpoint);
    s_send_hello (self);
    self->next_tick_at = zclock_mono () + self->heartbeat_ms;

    size_t items_limit = 2 + self->slots;
    zmq_pollitem_t *items =
        (zmq_pollitem_t *) zmalloc (items_limit * sizeof (zmq_pollitem_t));
    agent_child_t **polled =
        (agent_child_t **) zmalloc (items_limit * sizeof (agent_child_t *));
    while (!zsys_interrupted && !self->fatal) {
        items[0].socket = zsock_resolve (self->socket);
        items[0].events = ZMQ_POLLIN;
        items[1].socket = NULL;
        items[1].fd = zmp_spawner_fd (self->spawner);
        items[1].events = ZMQ_POLLIN;
        size_t count = 2;
        for (size_t slot = 0; slot < self->slots; slot++) {
            agent_child_t *child = &self->children[slot];
            if (child->fd < 0)
                continue;
            items[count].socket = NULL;
            items[count].fd = child->fd;
            items[count].events = ZMQ_POLLIN;
            if (child->output_sent < child->output_size)
                items[count].events |= ZMQ_POLLOUT;
            polled[count++] = child;
        }
        int64_t wait_ms = self->next_tick_at - zclock_mono ();
        if (wait_ms < 0)
            wait_ms = 0;
        int rc = zmq_poll (items, (int) count, (long) wait_ms);
        if (rc < 0) {
            if (zmq_errno () == EINTR)
                continue;
            zmp_error ("worker: poll failed: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_broker_drain (self);
        if (items[1].revents)
            s_spawner_drain (self);
        for (size_t index = 2; index < count; index++) {
            agent_child_t *child = polled[index];
            if (items[index].revents & ZMQ_POLLOUT)
                s_child_write (self, child);
            if (items[index].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
                s_child_read (self, child);
        }
        s_assign (self);
        if (self->done)
            s_send (self, &self->done);
        int64_t now = zclock_mono ();
        if (now >= self->next_tick_at)
            s_tick (self, now);
    }
    free (items);
    free (polled);
    zmsg_t *bye = zmp_proto_new (ZMP_PROTO_BYE);
    s_send (self, &bye);
    zmp_notice ("worker: stopped after %llu tasks",
                (unsigned long long) self->tasks_done);
    return self->fatal ? -1 : 0;
}
