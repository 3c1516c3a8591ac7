/*  zmp_agent - the worker agent

    One thread, one loop: zmq_poll over the broker socket, the spawner's
    control socket and every child's socket. Each turn takes everything
    that is ready, hands queued tasks to children, and sends the results
    gathered in that turn as one DONE message; so under load results travel
    in batches, and when idle each one goes at once.

    How many tasks a child holds follows how long tasks take (averaged over
    the recent ones): about AGENT_CHILD_QUEUED_US of work beyond the one it
    runs. A task of 0.2 ms or more goes to an idle child alone; tiny tasks
    travel a dozen at a time, in one write each way, which is what lets
    per-task costs (system calls, wake-ups) spread over many tasks.

    Child sockets are non-blocking on our side (agent_child): a large
    argument or result moves in pieces across turns, and the loop never
    waits on a child. A child is known by its slot, its index in
    children[].

    Who owns what: a task is owned by the queue until a child takes it, then
    by that child's record until its result (or the child's death) sends it
    back to the broker as DONE, or puts it back at the head of the queue
    (tasks a crashed child had not started).
*/
#include "zmp_agent.h"

#include "worker_internal.h"
#include "zmp_cores.h"
#include "zmp_curve.h"
#include "zmp_error.h"
#include "zmp_log.h"
#include "zmp_value.h"

#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT_START_TIMEOUT_MS 10000
#define AGENT_RECV_BATCH       256   //  Broker messages per loop turn, at most
#define AGENT_RESPAWN_DELAY_MS 1000  //  After a failed fork
//  Work queued at a child beyond the task it runs, in us
#define AGENT_CHILD_QUEUED_US 200
#define AGENT_CHILD_DEPTH_MAX 32  //  Tasks a child holds, at most


//  Apply a spawner event.
static void s_spawner_event (zmp_agent_t *self, zmp_spawn_event_t *event);

//  The keys: the config's, else the environment's. The task processes
//  find them in the environment, which they inherit. Returns 0, or -1 with
//  kind usage.
static int
s_curve_load (zmp_agent_t *self, zmp_error_t *error)
{
    const char *secret = self->config.curve_secret;
    const char *server = self->config.curve_server;
    if (!secret && !server)
        return zmp_curve_from_env (&self->curve_cert, self->curve_server,
                                   error);
    if (!secret || !server) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "CURVE needs both this worker's key pair and the "
                       "broker's public key");
        return -1;
    }
    if (zmp_curve_load_public (server, self->curve_server, error))
        return -1;
    self->curve_cert = zmp_curve_load_secret (secret, error);
    if (!self->curve_cert)
        return -1;
    setenv (ZMP_CURVE_SECRET_ENV, secret, 1);
    setenv (ZMP_CURVE_SERVER_ENV, server, 1);
    return 0;
}

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
    zlistx_set_destructor (self->queue, agent_task_free);
    self->processes = zlistx_new ();
    self->children =
        (agent_child_t *) zmalloc (self->slots * sizeof (agent_child_t));
    for (size_t slot = 0; slot < self->slots; slot++)
        agent_child_init (&self->children[slot]);
    if (gethostname (self->host, sizeof self->host))
        snprintf (self->host, sizeof self->host, "unknown");
    self->host[sizeof self->host - 1] = 0;

    if (s_curve_load (self, error)) {
        zmp_agent_destroy (&self);
        return NULL;
    }
    self->child_context.registry = registry;
    self->child_context.agent_pid = getpid ();
    self->child_context.endpoint = config->endpoint;
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
        s_spawner_event (self, &event);
        if (event.kind == ZMP_SPAWN_STARTED)
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
        for (size_t slot = 0; slot < self->slots; slot++)
            agent_child_destroy (&self->children[slot]);
        if (self->processes)
            agent_process_destroy_all (self);
        zlistx_destroy (&self->processes);
        zmp_spawner_destroy (&self->spawner);  //  Kills what is left
        free (self->children);
        zlistx_destroy (&self->queue);
        zmsg_destroy (&self->done);
        zmsg_destroy (&self->events);
        zmp_curve_unmonitor (self->socket, &self->monitor);
        zsock_destroy (&self->socket);
        zcert_destroy (&self->curve_cert);
        free (self);
        *self_p = NULL;
    }
}

//  Log each new reason the broker's handshake refused us
static void
s_monitor_drain (zmp_agent_t *self)
{
    const char *name;
    char value[16];
    while (self->monitor
           && zmp_curve_event (self->monitor, &name, value, sizeof value)) {
        zmp_error_t error;
        if (zmp_curve_handshake_failed (name, value, self->config.endpoint,
                                        self->curve_cert != NULL, &error)
            && !streq (error.message, self->refused)) {
            zmp_error ("worker: %s", error.message);
            snprintf (self->refused, sizeof self->refused, "%s", error.message);
        }
    }
}

//  Open a new connection to the broker, dropping the old one and what it
//  still held. A new TCP connection starts without the back-off that the
//  kernel built up retransmitting into a dead link, so after a partition
//  heals the broker hears us, and we it, at once.
static int
s_connect_broker (zmp_agent_t *self)
{
    zmp_curve_unmonitor (self->socket, &self->monitor);  //  Before it
    if (self->socket) {
        zsock_set_linger (self->socket, 0);
        zsock_destroy (&self->socket);
    }
    self->socket = zsock_new (ZMQ_DEALER);
    if (!self->socket) {
        zmp_error ("worker: cannot make a socket: %s",
                   zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (self->curve_cert)
        zmp_curve_apply_client (self->socket, self->curve_cert,
                                self->curve_server);
    self->monitor = zmp_curve_monitor (self->socket);
    zsock_set_rcvtimeo (self->socket, 0);
    zsock_set_sndtimeo (self->socket, 0);
    zsock_set_linger (self->socket, 200);  //  Time for BYE to leave
    //  Reconnects back off too, from 1 s to 32 s; a connection attempt
    //  that hears nothing is given up after a while and tried again
    zsock_set_reconnect_ivl (self->socket, ZMP_AGENT_HELLO_FIRST_MS);
    zsock_set_reconnect_ivl_max (self->socket, ZMP_AGENT_HELLO_MAX_MS);
    zsock_set_connect_timeout (self->socket, ZMP_AGENT_CONNECT_TIMEOUT_MS);
    if (zsock_connect (self->socket, "%s", self->config.endpoint)) {
        zmp_error ("worker: cannot connect to %s: %s", self->config.endpoint,
                   zmq_strerror (zmq_errno ()));
        return -1;
    }
    return 0;
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
    hello.cores = (uint32_t) zmp_cores_usable ();
    snprintf (hello.host, sizeof hello.host, "%s", self->host);
    snprintf (hello.name, sizeof hello.name, "%s",
              self->config.name ? self->config.name : "");
    if (++self->hello_attempt == 0)
        self->hello_attempt = 1;  //  0 means "not counted"
    hello.attempt = self->hello_attempt;
    self->hello_sent_at = zclock_mono ();
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HELLO);
    zframe_t *body = zmp_proto_encode_hello (&hello);
    zmsg_append (msg, &body);
    s_send (self, &msg);
}

//  --------------------------------------------------------------------------
//  Queue a DONE item; takes value.

void
agent_done (zmp_agent_t *self, uint32_t slot, uint64_t seq, uint32_t status,
            pid_t pid, int64_t run_us, const zmp_proto_usage_t *usage,
            zframe_t **value_p)
{
    if (!self->done)
        self->done = zmp_proto_new (ZMP_PROTO_DONE);
    zmp_proto_done_t done = { .slot = slot,
                              .seq = seq,
                              .status = status,
                              .pid = pid,
                              .run_us = (uint64_t) (run_us > 0 ? run_us : 0) };
    if (usage) {
        done.has_usage = true;
        done.usage = *usage;
    }
    zframe_t *header = zmp_proto_encode_done (&done);
    zmsg_append (self->done, &header);
    zmsg_append (self->done, value_p);
    //  A full batch goes at once: the protocol takes no more per message
    if (zmsg_size (self->done) >= 2 * ZMP_PROTO_BATCH_MAX) {
        agent_process_flush (self);
        s_send (self, &self->done);
    }
}

//  --------------------------------------------------------------------------
//  Queue a DONE item carrying an error made here, on this host.

void
agent_done_error (zmp_agent_t *self, uint32_t slot, uint64_t seq, pid_t pid,
                  zmp_error_kind_t kind, int signal, int code,
                  const char *format, ...)
{
    zmp_error_t error;
    va_list args;
    va_start (args, format);
    zmp_error_setv (&error, kind, format, args);
    va_end (args);
    error.signal = signal;
    error.code = code;
    error.pid = pid;
    snprintf (error.host, sizeof error.host, "%s", self->host);
    zframe_t *value = zmp_proto_encode_error (&error);
    agent_done (self, slot, seq, (uint32_t) kind, pid, 0, NULL, &value);
}

//  A cancelled task ends here, whatever its process did with it.
static void
s_done_cancelled (zmp_agent_t *self, const agent_task_t *task, pid_t pid)
{
    agent_done_error (self, task->header.slot, task->header.seq, pid,
                      ZMP_ERR_CANCELLED, 0, 0, "task %s cancelled",
                      task->header.function);
}

//  Answer a task that was stopped, by request (cancelled) or for running
//  over its limit (timeout); signal is what ended its process, if known.
static void
s_done_aborted (zmp_agent_t *self, const agent_task_t *task, pid_t pid,
                int signal)
{
    if (task->abort_kind == ZMP_ERR_TIMEOUT)
        agent_done_error (self, task->header.slot, task->header.seq, pid,
                          ZMP_ERR_TIMEOUT, signal, 0,
                          "task %s ran longer than its limit of %u ms",
                          task->header.function, task->header.timeout_ms);
    else if (task->abort_kind == ZMP_ERR_CRASHED)
        agent_done_error (self, task->header.slot, task->header.seq, pid,
                          ZMP_ERR_CRASHED, signal ? signal : SIGKILL, 0,
                          "task %s: its process went over the memory "
                          "ceiling of %ld MiB (worker --max-child-memory)",
                          task->header.function,
                          self->config.max_child_memory_kb / 1024);
    else
        s_done_cancelled (self, task, pid);
}

//  After a task: a process that has run its share of tasks, or whose
//  memory grew past the limit, takes no more, and is replaced once the
//  tasks it holds are done (s_assign does it: not here, in the middle of
//  reading its answers).
static void
s_check_recycle (zmp_agent_t *self, agent_child_t *child)
{
    if (child->retiring)
        return;
    if (self->config.max_tasks_per_child > 0
        && child->tasks_done >= (uint64_t) self->config.max_tasks_per_child) {
        zmp_info ("worker: task process %d ran %llu tasks; replacing it",
                  (int) child->pid, (unsigned long long) child->tasks_done);
        child->retiring = true;
        return;
    }
    if (self->config.max_child_growth_kb <= 0)
        return;
    //  Read from /proc only when the answer matters
    long growth_kb = agent_child_rss_kb (child->pid) - child->start_rss_kb;
    if (growth_kb > self->config.max_child_growth_kb) {
        zmp_notice ("worker: task process %d grew by %ld KiB, over the "
                    "limit of %ld KiB; replacing it",
                    (int) child->pid, growth_kb,
                    self->config.max_child_growth_kb);
        child->retiring = true;
    }
}

//  A child answered a task (agent_result_fn).
static void
s_on_result (void *arg, agent_child_t *child, agent_task_t *task,
             uint32_t status, const char *payload, size_t size, int64_t run_us,
             const zmp_proto_usage_t *usage)
{
    zmp_agent_t *self = (zmp_agent_t *) arg;
    if (task->abort_kind == ZMP_ERR_TIMEOUT)
        child->kill_at_us = 0;  //  It answered in its grace period: no
                                //  SIGKILL is pending for this process
    if (task->abort_kind != ZMP_ERR_NONE)
        s_done_aborted (self, task, 0, 0);  //  Pid 0: its process lives on
    else if (self->max_message && size > self->max_message)
        //  Sent, it would drop our connection to the broker
        agent_done_error (self, task->header.slot, task->header.seq, child->pid,
                          ZMP_ERR_LIMIT, 0, 0,
                          "task %s: its result is %zu bytes, more than the "
                          "broker takes (%llu: broker --max-message-mb)",
                          task->header.function, size,
                          (unsigned long long) self->max_message);
    else {
        zframe_t *value = zframe_new (payload, size);
        agent_done (self, task->header.slot, task->header.seq, status,
                    child->pid, run_us, usage, &value);
    }
    agent_task_destroy (&task);
    self->tasks_done++;
    //  A recent average: what the tasks are like may change
    self->run_us =
        self->run_us > 0 ? 0.8 * self->run_us + 0.2 * run_us : run_us;
    if (self->config.max_tasks_per_child > 0
        || self->config.max_child_growth_kb > 0)
        s_check_recycle (self, child);
}

//  The child's socket failed, closed, or carried garbage: make sure the
//  process ends, so that the spawner's report follows and the running task
//  can be failed with its cause.
static void
s_child_lost (agent_child_t *child)
{
    agent_child_close (child);
    if (child->state == CHILD_READY) {
        child->state = CHILD_GONE;
        if (child->pid > 0)
            kill (child->pid, SIGKILL);
    }
}

//  A child process ended: fail the task it ran with the cause, put the
//  ones it had not started back at the head of the queue, start another.
static void
s_child_exited (zmp_agent_t *self, agent_child_t *child,
                const zmp_spawn_event_t *event)
{
    if (child->fd >= 0)  //  Results written before the end are still there
        agent_child_read (child, s_on_result, self);
    agent_child_close (child);
    int status = event->status;
    agent_task_t *task = (agent_task_t *) zlistx_detach (child->tasks, NULL);
    child->kill_at_us = 0;
    if (task) {
        if (task->abort_kind != ZMP_ERR_NONE)
            s_done_aborted (self, task, event->pid,
                            WIFSIGNALED (status) ? WTERMSIG (status) : 0);
        else if (WIFSIGNALED (status))
            agent_done_error (self, task->header.slot, task->header.seq,
                              event->pid, ZMP_ERR_CRASHED, WTERMSIG (status), 0,
                              "task %s", task->header.function);
        else
            agent_done_error (self, task->header.slot, task->header.seq,
                              event->pid, ZMP_ERR_CRASHED, 0,
                              WEXITSTATUS (status),
                              "task %s: process exited with code %d",
                              task->header.function, WEXITSTATUS (status));
        agent_task_destroy (&task);
        //  The rest never started: back to the head of the queue, in order
        agent_task_t *waiting = (agent_task_t *) zlistx_last (child->tasks);
        while (waiting) {
            zlistx_detach (child->tasks, zlistx_cursor (child->tasks));
            if (waiting->abort_kind != ZMP_ERR_NONE) {
                s_done_cancelled (self, waiting, 0);
                agent_task_destroy (&waiting);
            } else
                zlistx_add_start (self->queue, waiting);
            waiting = (agent_task_t *) zlistx_last (child->tasks);
        }
        zmp_notice ("worker: task process %d (slot %u) ended (%s %d); "
                    "replacing it",
                    (int) event->pid, event->slot,
                    WIFSIGNALED (status) ? "signal" : "exit code",
                    WIFSIGNALED (status) ? WTERMSIG (status)
                                         : WEXITSTATUS (status));
    } else if (child->state != CHILD_GONE)
        zmp_notice ("worker: idle task process %d (slot %u) ended; "
                    "replacing it",
                    (int) event->pid, event->slot);
    child->state = CHILD_STARTING;
    child->pid = 0;
    if (zmp_spawner_spawn (self->spawner, event->slot))
        self->fatal = true;
}

static void
s_spawner_event (zmp_agent_t *self, zmp_spawn_event_t *event)
{
    if (agent_process_spawned (self, event))
        return;
    if (event->slot >= self->slots) {
        if (event->fd >= 0)
            close (event->fd);
        return;  //  Not ours; cannot happen
    }
    agent_child_t *child = &self->children[event->slot];
    switch (event->kind) {
        case ZMP_SPAWN_STARTED:
            agent_child_start (child, event->pid, event->fd);
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

//  The broker is lost (silent, gone, or it forgot us): forget what it gave
//  us that has not started, and say HELLO again, at once, then backing off
static void s_drop_queue (zmp_agent_t *self);

static void
s_unregister (zmp_agent_t *self, int64_t now, int64_t first_hello_ms)
{
    if (self->registered)
        self->lost_since = now;
    self->registered = false;
    s_drop_queue (self);
    self->hello_interval_ms = ZMP_AGENT_HELLO_FIRST_MS;
    self->hello_at = now + first_hello_ms;
}

//  Forget the tasks no child has taken, and end the Processes (the broker
//  forgot them all, and told their clients).
static void
s_drop_queue (zmp_agent_t *self)
{
    if (zlistx_size (self->queue))
        zmp_notice ("worker: dropped %zu queued tasks",
                    zlistx_size (self->queue));
    zlistx_purge (self->queue);
    if (zlistx_size (self->processes))
        zmp_notice ("worker: ending %zu processes",
                    zlistx_size (self->processes));
    agent_process_destroy_all (self);
}

static void
s_abort (zmp_agent_t *self, uint32_t slot, uint64_t seq)
{
    if (slot == ZMP_PROTO_PROCESS_SLOT) {
        agent_process_signal (self, seq, SIGKILL, true);
        return;
    }
    agent_task_t *task = (agent_task_t *) zlistx_first (self->queue);
    while (task) {
        if (task->header.slot == slot && task->header.seq == seq) {
            s_done_cancelled (self, task, 0);
            zlistx_delete (self->queue, zlistx_cursor (self->queue));
            return;
        }
        task = (agent_task_t *) zlistx_next (self->queue);
    }
    for (size_t index = 0; index < self->slots; index++) {
        agent_child_t *child = &self->children[index];
        bool running = true;  //  The first task of a child is the running one
        for (task = (agent_task_t *) zlistx_first (child->tasks); task;
             task = (agent_task_t *) zlistx_next (child->tasks)) {
            if (task->header.slot == slot && task->header.seq == seq) {
                task->abort_kind = ZMP_ERR_CANCELLED;
                if (running && child->pid > 0)
                    kill (child->pid, SIGKILL);  //  Its result, if any, is
                return;                          //  reported as cancelled
            }
            running = false;
        }
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
            agent_task_destroy (&task);
        } else {
            task->args = args;
            if (task->header.slot == ZMP_PROTO_PROCESS_SLOT)
                agent_process_start (self, &task);
            else
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
    self->refused[0] = 0;  //  A refusal after this one is news again
    if (welcome.attempt && welcome.attempt != self->hello_attempt) {
        //  It answers an earlier HELLO, sent while the broker was out of
        //  reach: the broker will start us afresh on the later ones
        //  (already on their way), so only the last WELCOME counts
        zmp_debug ("worker: passed over the WELCOME to HELLO %u of %u",
                   welcome.attempt, self->hello_attempt);
        return;
    }
    self->heartbeat_ms = welcome.heartbeat_ms;
    self->liveness = welcome.liveness;
    self->max_message = welcome.max_message;
    self->hello_interval_ms = ZMP_AGENT_HELLO_FIRST_MS;
    //  The broker's interval may be shorter than ours: tick soon enough
    int64_t tick_at = zclock_mono () + self->heartbeat_ms / 2;
    if (tick_at < self->next_tick_at)
        self->next_tick_at = tick_at;
    //  HELLOs sent while the broker was away may all be answered at once
    if (!self->registered)
        zmp_notice ("worker: registered with the broker at %s (%zu slots)",
                    self->config.endpoint, self->slots);
    self->registered = true;
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
            if (!self->registered)
                break;  //  To a registration our next HELLO ends: the
                        //  broker puts these tasks back in line then
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
        case ZMP_PROTO_KILL: {
            zmp_proto_kill_t kill;
            if (zmp_proto_decode_kill_worker (zmsg_next (msg), &kill, &error))
                zmp_warning ("worker: bad KILL: %s", error.message);
            else if (kill.slot == ZMP_PROTO_PROCESS_SLOT)
                agent_process_signal (self, kill.seq, (int) kill.signal, false);
            break;  //  Pool tasks are stopped with ABORT, never signalled
        }
        case ZMP_PROTO_HEARTBEAT:
            break;
        case ZMP_PROTO_ERROR: {
            zmp_error_t notice;
            bool unknown_peer = false;
            if (zmp_proto_decode_notice (zmsg_next (msg), &notice,
                                         &unknown_peer, &error))
                snprintf (notice.message, sizeof notice.message, "%s",
                          error.message);
            if (unknown_peer && self->registered) {
                //  The broker restarted or expired us: start afresh
                zmp_warning ("worker: the broker at %s does not know us; "
                             "registering again",
                             self->config.endpoint);
                s_unregister (self, zclock_mono (), 0);
            } else if (unknown_peer) {
                //  Refused what we sent before our HELLO reached it: it is
                //  there, so say HELLO again soon, but not once per refusal
                int64_t soon = self->hello_sent_at + ZMP_AGENT_HELLO_FIRST_MS;
                if (soon < self->hello_at)
                    self->hello_at = soon;
                self->hello_interval_ms = ZMP_AGENT_HELLO_FIRST_MS;
            } else if (!self->registered
                       && notice.kind == ZMP_ERR_NOT_AUTHORIZED)
                zmp_error ("worker: the broker at %s refused this worker: %s",
                           self->config.endpoint, notice.message);
            else
                zmp_warning ("worker: the broker refused a message: %s",
                             notice.message);
            break;
        }
        case ZMP_PROTO_BYE:
            zmp_notice ("worker: the broker at %s said goodbye; waiting "
                        "for it to come back",
                        self->config.endpoint);
            s_unregister (self, zclock_mono (), ZMP_AGENT_HELLO_FIRST_MS);
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

//  Tasks a child may hold: the one it runs, and about
//  AGENT_CHILD_QUEUED_US of work behind it.
static size_t
s_child_depth (zmp_agent_t *self)
{
    if (self->run_us <= 0)
        return 1;  //  Nothing known yet: one at a time
    double depth = 1 + AGENT_CHILD_QUEUED_US / self->run_us;
    return depth >= AGENT_CHILD_DEPTH_MAX ? AGENT_CHILD_DEPTH_MAX
                                          : (size_t) depth;
}

//  Hand queued tasks to children, one to each in turn (idle ones first),
//  up to each child's depth; then write each child's batch at once.
static void
s_assign (zmp_agent_t *self)
{
    size_t depth = s_child_depth (self);
    for (size_t load = 0; load < depth && zlistx_size (self->queue); load++)
        for (size_t slot = 0; slot < self->slots && zlistx_size (self->queue);
             slot++) {
            agent_child_t *child = &self->children[slot];
            if (child->state != CHILD_READY || child->fd < 0 || child->retiring
                || agent_child_load (child) != load)
                continue;
            //  No more than its share of tasks, counting those it holds
            if (self->config.max_tasks_per_child > 0
                && child->tasks_done + load
                       >= (uint64_t) self->config.max_tasks_per_child)
                continue;
            agent_task_t *task =
                (agent_task_t *) zlistx_detach (self->queue, NULL);
            if (agent_child_send (child, &task)) {
                agent_done_error (
                    self, task->header.slot, task->header.seq, 0, ZMP_ERR_LIMIT,
                    0, 0, "arguments of %zu bytes are over the limit of %u",
                    zframe_size (task->args), ZMP_CHILD_PAYLOAD_MAX);
                agent_task_destroy (&task);
            }
        }
    for (size_t slot = 0; slot < self->slots; slot++) {
        agent_child_t *child = &self->children[slot];
        if (agent_child_writing (child) && agent_child_write (child))
            s_child_lost (child);
        else if (child->retiring && child->state == CHILD_READY
                 && agent_child_load (child) == 0) {
            //  Recycled, idle: nothing is lost. The spawner reports its
            //  end, and s_child_exited replaces it
            agent_child_close (child);
            child->state = CHILD_GONE;
            if (child->pid > 0)
                kill (child->pid, SIGKILL);
        }
    }
}

//  Rewrite the health file: the loop is alive, and says whether it has a
//  broker. Failures are logged once, not each tick.
static void
s_write_health (zmp_agent_t *self, int64_t now)
{
    self->health_at = now;
    char temp[4096];
    snprintf (temp, sizeof temp, "%s.tmp", self->config.health_file);
    FILE *file = fopen (temp, "w");
    bool written = file
                   && fprintf (file, "%s %lld\n",
                               self->registered ? "registered" : "waiting",
                               (long long) time (NULL))
                          > 0;
    if (file && fclose (file))
        written = false;
    if (written && rename (temp, self->config.health_file) == 0)
        return;
    if (!self->health_failed)
        zmp_warning ("worker: cannot write %s: %s", self->config.health_file,
                     strerror (errno));
    self->health_failed = true;
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
        s_unregister (self, now, 0);
        if (s_connect_broker (self))
            self->fatal = true;
    }
    if (!self->registered && self->config.give_up_ms > 0
        && now - self->lost_since >= self->config.give_up_ms) {
        zmp_error ("worker: no broker at %s for %lld s; giving up",
                   self->config.endpoint,
                   (long long) ((now - self->lost_since) / 1000));
        self->fatal = true;
    }
    if (self->config.health_file && now - self->health_at >= 1000)
        s_write_health (self, now);
    //  A HEARTBEAT when quiet, and with the host's load at least every
    //  interval, busy or not
    if (self->registered
        && (now - self->sent_at >= self->heartbeat_ms
            || now - self->load_sent_at >= self->heartbeat_ms)) {
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HEARTBEAT);
        zmp_proto_load_t load;
        if (agent_load_read (&self->load, &load) == 0) {
            zframe_t *body = zmp_proto_encode_load (&load);
            zmsg_append (msg, &body);
        }
        self->load_sent_at = now;
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

//  Kill the process of a task whose memory is over the ceiling; the task
//  is answered as crashed when the process has ended. Returns true if so.
static bool
s_over_memory (zmp_agent_t *self, agent_child_t *child, agent_task_t *task)
{
    long rss_kb = agent_child_rss_kb (child->pid);
    if (rss_kb <= self->config.max_child_memory_kb)
        return false;
    zmp_notice ("worker: task %s in process %d holds %ld MiB, over the "
                "ceiling of %ld MiB; killing it",
                task->header.function, (int) child->pid, rss_kb / 1024,
                self->config.max_child_memory_kb / 1024);
    task->abort_kind = ZMP_ERR_CRASHED;
    kill (child->pid, SIGKILL);
    return true;
}

//  Stop the tasks that ran over their limit: SIGTERM, then SIGKILL after
//  the grace period; their process ends, and s_child_exited answers them
//  with timeout. Kill those whose process is over the memory ceiling.
//  Returns when (zclock_mono () ms) to look again.
static int64_t
s_enforce_limits (zmp_agent_t *self)
{
    int64_t now_us = zclock_usecs ();
    int64_t next_us = INT64_MAX;
    bool check_memory =
        self->config.max_child_memory_kb > 0 && now_us >= self->memory_check_us;
    if (check_memory)
        self->memory_check_us = now_us + AGENT_MEMORY_CHECK_MS * 1000;
    for (size_t slot = 0; slot < self->slots; slot++) {
        agent_child_t *child = &self->children[slot];
        agent_task_t *task = (agent_task_t *) zlistx_first (child->tasks);
        if (child->state != CHILD_READY || child->pid <= 0 || !task)
            continue;
        if (task->abort_kind == ZMP_ERR_CANCELLED) {
            //  Cancelled while it waited behind another task of this
            //  process, and running now: stop it (the tasks behind it go
            //  back to the queue when the process ends)
            if (!child->cancel_killed)
                kill (child->pid, SIGKILL);
            child->cancel_killed = true;
            continue;
        }
        if (self->config.max_child_memory_kb > 0
            && task->abort_kind != ZMP_ERR_CRASHED) {
            if (check_memory && s_over_memory (self, child, task))
                continue;
            if (self->memory_check_us < next_us)
                next_us = self->memory_check_us;
        }
        if (task->header.timeout_ms == 0)
            continue;
        int64_t deadline_us =
            child->running_since_us + (int64_t) task->header.timeout_ms * 1000;
        if (task->abort_kind == ZMP_ERR_NONE) {
            if (now_us < deadline_us) {
                if (deadline_us < next_us)
                    next_us = deadline_us;
                continue;
            }
            zmp_notice ("worker: task %s in process %d ran over its limit "
                        "of %u ms; stopping it",
                        task->header.function, (int) child->pid,
                        task->header.timeout_ms);
            task->abort_kind = ZMP_ERR_TIMEOUT;
            kill (child->pid, SIGTERM);
            child->kill_at_us = now_us + (int64_t) self->config.grace_ms * 1000;
        }
        if (child->kill_at_us) {
            if (now_us >= child->kill_at_us) {
                kill (child->pid, SIGKILL);
                child->kill_at_us = 0;
            } else if (child->kill_at_us < next_us)
                next_us = child->kill_at_us;
        }
    }
    if (next_us == INT64_MAX)
        return INT64_MAX;
    //  In ms of the monotonic clock, rounded up
    return zclock_mono () + (next_us - now_us + 999) / 1000;
}

//  --------------------------------------------------------------------------
//  Serve until interrupted.

int
zmp_agent_run (zmp_agent_t *self)
{
    assert (self);
    if (s_connect_broker (self))
        return -1;
    zmp_notice ("worker: %zu task processes ready, connecting to %s",
                self->slots, self->config.endpoint);
    self->lost_since = self->hello_at = zclock_mono ();  //  HELLO at once
    self->hello_interval_ms = ZMP_AGENT_HELLO_FIRST_MS;
    self->next_tick_at = zclock_mono () + self->heartbeat_ms / 2;

    //  What each poll item after the first two is: a pool child's socket,
    //  or a Process's socket (stream 0) or output pipe (1, 2)
    typedef struct {
        agent_child_t *child;
        agent_process_t *process;
        int stream;
    } polled_t;
    size_t items_limit = 0;
    zmq_pollitem_t *items = NULL;
    polled_t *polled = NULL;
    while (!zsys_interrupted && !self->fatal) {
        size_t needed = 2 + self->slots + 3 * zlistx_size (self->processes);
        if (needed > items_limit) {
            items_limit = needed * 2;
            free (items);
            free (polled);
            items = (zmq_pollitem_t *) zmalloc (items_limit
                                                * sizeof (zmq_pollitem_t));
            polled = (polled_t *) zmalloc (items_limit * sizeof (polled_t));
        }
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
            if (agent_child_writing (child))
                items[count].events |= ZMQ_POLLOUT;
            polled[count++] = (polled_t){ child, NULL, 0 };
        }
        for (agent_process_t *process =
                 (agent_process_t *) zlistx_first (self->processes);
             process;
             process = (agent_process_t *) zlistx_next (self->processes)) {
            int fds[3] = { process->child.fd, process->out_fd,
                           process->err_fd };
            for (int stream = 0; stream < 3; stream++) {
                if (fds[stream] < 0)
                    continue;
                items[count].socket = NULL;
                items[count].fd = fds[stream];
                items[count].events = ZMQ_POLLIN;
                if (stream == 0 && agent_child_writing (&process->child))
                    items[count].events |= ZMQ_POLLOUT;
                polled[count++] = (polled_t){ NULL, process, stream };
            }
        }
        int64_t now = zclock_mono ();
        if (!self->registered && now >= self->hello_at) {
            //  No broker yet: say HELLO, and wait longer each time
            s_send_hello (self);
            self->hello_at = now + self->hello_interval_ms;
            self->hello_interval_ms =
                self->hello_interval_ms * 2 > ZMP_AGENT_HELLO_MAX_MS
                    ? ZMP_AGENT_HELLO_MAX_MS
                    : self->hello_interval_ms * 2;
        }
        int64_t wake_at = self->next_tick_at;
        if (!self->registered && self->hello_at < wake_at)
            wake_at = self->hello_at;
        int64_t limit_at = s_enforce_limits (self);
        if (limit_at < wake_at)
            wake_at = limit_at;
        int64_t wait_ms = wake_at - now;
        if (wait_ms < 0)
            wait_ms = 0;
        int rc = zmq_poll (items, (int) count, (long) wait_ms);
        if (rc < 0) {
            if (zmq_errno () == EINTR)
                continue;
            zmp_error ("worker: poll failed: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        //  Children and Processes first: the broker's and the spawner's
        //  messages may end a Process, whose record must then be gone
        //  from this list
        for (size_t index = 2; index < count; index++) {
            short revents = items[index].revents;
            agent_child_t *child = polled[index].child;
            if (!revents)
                continue;
            if (polled[index].process)
                agent_process_ready (self, polled[index].process,
                                     polled[index].stream, revents);
            else {
                if ((revents & ZMQ_POLLOUT) && agent_child_write (child))
                    s_child_lost (child);
                if ((revents & (ZMQ_POLLIN | ZMQ_POLLERR))
                    && agent_child_read (child, s_on_result, self))
                    s_child_lost (child);
            }
        }
        if (items[0].revents & ZMQ_POLLIN)
            s_broker_drain (self);
        s_monitor_drain (self);
        if (items[1].revents)
            s_spawner_drain (self);
        s_assign (self);
        agent_process_flush (self);  //  Output before the ends it precedes
        if (self->done)
            s_send (self, &self->done);
        now = zclock_mono ();
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
