/*  zmp_client - the connection to a broker and the I/O thread behind it

    The I/O thread is a zactor. Each turn it takes the whole outbox (one
    lock), sends what the socket accepts (what it refuses waits in `unsent`
    and is retried when the socket is writable: sends never block, so a
    dead broker cannot freeze the thread), takes what has arrived, delivers
    it under one lock per message, and runs due callbacks with no lock held.

    The broker is lost when it is silent for liveness heartbeats, says BYE,
    or answers with an ERROR marked unknown_peer (it restarted and forgot
    us): requests, object calls and Processes still waiting fail with kind
    broker_unreachable, and HELLO is sent each tick until a WELCOME comes
    back. Pool tasks without a result wait, each job keeping a copy of
    them, for up to resume_ms: when a broker welcomes the client again,
    it declares its live pools again and resends them. If none does in
    time, they fail too. Nothing queued for the lost broker is sent to
    the new one: it would not know us before the HELLO. Lost to
    silence, it also drops the connection and makes a new one, so that
    after a network partition heals no TCP retransmission back-off delays
    the HELLO. Any other ERROR refuses one message only and is logged.
*/
#include "client_internal.h"

#include "zmp_curve.h"
#include "zmp_error.h"
#include "zmp_log.h"
#include "zmp_value.h"


#include <errno.h>
#include <limits.h>
#include <sys/random.h>
#include <unistd.h>

#define CLIENT_RECV_BATCH      1000  //  Messages taken per turn, at most
#define CLIENT_HEARTBEAT_MS    1000  //  Until the broker's WELCOME
#define CLIENT_LIVENESS        5
#define CLIENT_UNEXPLAINED_MAX 3  //  Handshakes failed with no detail: refused
//  A connection attempt left unanswered this long is made again
#define CLIENT_CONNECT_TIMEOUT_MS 3000

static size_t
s_serial_hash (const void *key)
{
    return (size_t) (uintptr_t) key * 2654435761u;
}

static int
s_serial_compare (const void *key1, const void *key2)
{
    uintptr_t a = (uintptr_t) key1, b = (uintptr_t) key2;
    return a < b ? -1 : a > b;
}

static void *
s_serial_key (uint32_t serial)
{
    return (void *) (uintptr_t) serial;  //  Serials start at 1: never NULL
}

//  --------------------------------------------------------------------------
//  The job with serial, or NULL. Serial 0 is no job's: requests that want
//  no reply (closing a pool) use it.

job_t *
client_job_lookup (zmp_client_t *client, uint32_t serial)
{
    return serial
               ? (job_t *) zhashx_lookup (client->jobs, s_serial_key (serial))
               : NULL;
}

//  --------------------------------------------------------------------------
//  Initialise a condition variable on the monotonic clock.

void
client_cond_init (pthread_cond_t *cond)
{
    pthread_condattr_t attributes;
    pthread_condattr_init (&attributes);
    pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC);
    pthread_cond_init (cond, &attributes);
    pthread_condattr_destroy (&attributes);
}

//  --------------------------------------------------------------------------
//  Deadline timeout_ms from now.

struct timespec
client_deadline (int timeout_ms)
{
    struct timespec deadline;
    clock_gettime (CLOCK_MONOTONIC, &deadline);
    if (timeout_ms < 0)
        timeout_ms = 0;
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    return deadline;
}

//  --------------------------------------------------------------------------
//  Wait on cond (lock held) until signalled or the deadline passes.

int
client_wait (zmp_client_t *client, pthread_cond_t *cond,
             const struct timespec *deadline)
{
    if (!deadline)
        return pthread_cond_wait (cond, &client->mutex);
    return pthread_cond_timedwait (cond, &client->mutex, deadline);
}

//  --------------------------------------------------------------------------
//  Register a job under a fresh serial.

void
client_job_register (zmp_client_t *client, job_t *job)
{
    do {
        job->serial = client->next_serial++;
        if (client->next_serial == 0)
            client->next_serial = 1;
    } while (client_job_lookup (client, job->serial));
    zhashx_insert (client->jobs, s_serial_key (job->serial), job);
    job->registered = true;
}

//  --------------------------------------------------------------------------
//  Remove a job from the table.

void
client_job_unregister (zmp_client_t *client, job_t *job)
{
    if (job->registered) {
        zhashx_delete (client->jobs, s_serial_key (job->serial));
        job->registered = false;
    }
}

//  --------------------------------------------------------------------------
//  Queue a message for the I/O thread.

void
client_post (zmp_client_t *client, zmsg_t **msg_p)
{
    zlistx_add_end (client->outbox, *msg_p);
    *msg_p = NULL;
    if (zlistx_size (client->outbox) == 1)
        zsock_signal (client->actor, 0);  //  Once per batch, not per message
}

//  --------------------------------------------------------------------------
//  Fail if the client cannot take work now.

int
client_check (zmp_client_t *client, zmp_error_t *error)
{
    if (client->lost) {
        if (error)
            *error = client->lost_error;
        return -1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Fail if the client cannot take pool tasks now.

int
client_check_tasks (zmp_client_t *client, zmp_error_t *error)
{
    return client->gave_up ? client_check (client, error) : 0;
}

static void
s_request_free (client_request_t *request)
{
    zframe_destroy (&request->reply);
    pthread_cond_destroy (&request->cond);
    free (request);
}

//  --------------------------------------------------------------------------
//  Send a control request and wait for its reply.

zframe_t *
client_request (zmp_client_t *client, zmp_proto_command_t command,
                zframe_t **body_p, int timeout_ms, zmp_error_t *error)
{
    zmsg_t *body = zmsg_new ();
    if (body_p && *body_p)
        zmsg_append (body, body_p);
    return client_request_msg (client, command, &body, timeout_ms, error);
}

//  --------------------------------------------------------------------------
//  Send a request of several frames and wait for its reply.

zframe_t *
client_request_msg (zmp_client_t *client, zmp_proto_command_t command,
                    zmsg_t **body_p, int timeout_ms, zmp_error_t *error)
{
    client_request_t *request =
        (client_request_t *) zmalloc (sizeof (client_request_t));
    request->job.kind = JOB_REQUEST;
    client_cond_init (&request->cond);
    struct timespec deadline = client_deadline (timeout_ms);
    bool forever = timeout_ms < 0;
    zframe_t *reply = NULL;
    pthread_mutex_lock (&client->mutex);
    if (client_check (client, error) == 0) {
        client_job_register (client, &request->job);
        zmsg_t *msg = zmp_proto_new (command);
        zframe_t *id =
            zmp_proto_encode_uint ((uint64_t) request->job.serial << 32);
        zmsg_append (msg, &id);
        zframe_t *frame;
        while ((frame = zmsg_pop (*body_p)))
            zmsg_append (msg, &frame);
        client_post (client, &msg);
        while (!request->done)
            if (client_wait (client, &request->cond, forever ? NULL : &deadline)
                == ETIMEDOUT)
                break;
        client_job_unregister (client, &request->job);
        if (request->done && request->reply) {
            reply = request->reply;
            request->reply = NULL;
        } else if (request->done) {
            if (error)
                *error = request->error;
        } else
            zmp_error_set (error, ZMP_ERR_UNREACHABLE,
                           "no reply from the broker at %s in %d ms",
                           client->endpoint, timeout_ms);
    }
    pthread_mutex_unlock (&client->mutex);
    zmsg_destroy (body_p);
    s_request_free (request);
    return reply;
}

//  --------------------------------------------------------------------------
//  Fail whatever a job waits for.

void
client_fail_job (zmp_client_t *client, job_t *job, const zmp_error_t *error)
{
    if (job->kind == JOB_OBJECT) {
        client_object_t *object = (client_object_t *) job;
        if (object->in_flight && object->deferred.kind == ZMP_ERR_NONE)
            object->deferred = *error;
        object->in_flight = 0;
        pthread_cond_broadcast (&object->cond);
    } else if (job->kind == JOB_PROCESS)
        process_fail (client, job, error);
    else
        pool_fail_job (client, job, error);
}

//  I/O thread state, on its stack
typedef struct {
    zmp_client_t *client;
    zsock_t *pipe;
    zsock_t *socket;   //  DEALER to the broker
    zsock_t *monitor;  //  Its handshake failures (zmp_curve_monitor)
    int unexplained;   //  Handshakes failed in a row with no detail
    zlistx_t *unsent;  //  zmsg_t * the socket has not taken yet
    int64_t seen_at;   //  zclock_mono () ms of the broker's last word
    int64_t sent_at;   //  zclock_mono () ms of our last send
    int64_t next_tick_at;
    bool stop;
} io_t;

static void
s_zmsg_free (void **item_p)
{
    zmsg_destroy ((zmsg_t **) item_p);
}

static void
s_send_hello (io_t *io)
{
    zmp_proto_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.role = ZMP_ROLE_CLIENT;
    hello.pid = getpid ();
    hello.agent_pid = io->client->agent_pid;
    hello.session = io->client->session;
    snprintf (hello.host, sizeof hello.host, "%s", io->client->host);
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HELLO);
    zframe_t *body = zmp_proto_encode_hello (&hello);
    zmsg_append (msg, &body);
    zlistx_add_end (io->unsent, msg);
}

//  Send what the socket takes, in order; the rest waits.
static void
s_send_unsent (io_t *io)
{
    while (zlistx_size (io->unsent)) {
        zmsg_t *msg = (zmsg_t *) zlistx_first (io->unsent);
        if (zmsg_send (&msg, io->socket))
            return;  //  EAGAIN: the socket is full; retry when writable
        zlistx_detach (io->unsent, NULL);
        io->sent_at = zclock_mono ();
    }
}

//  Fail the waiting jobs, all of them or all but pool tasks. Lock held.
static void
s_fail_jobs (zmp_client_t *client, bool pool_tasks)
{
    zlistx_t *jobs = zhashx_values (client->jobs);
    for (job_t *job = (job_t *) zlistx_first (jobs); job;
         job = (job_t *) zlistx_next (jobs))
        if (pool_tasks || (job->kind != JOB_ASYNC && job->kind != JOB_ITER))
            client_fail_job (client, job, &client->lost_error);
    zlistx_destroy (&jobs);
    pthread_cond_broadcast (&client->cond);
}

//  The broker is gone: fail what cannot wait for it, keep pool tasks for
//  the resume period. Lock held.
static void
s_lose_broker (io_t *io, const char *why)
{
    zmp_client_t *client = io->client;
    if (client->lost)
        return;
    client->lost = true;
    client->welcomed = false;
    client->lost_at = zclock_mono ();
    client->gave_up = client->resume_ms == 0;
    if (client->gave_up)
        zmp_warning ("client: lost the broker at %s: %s", client->endpoint,
                     why);
    else
        zmp_warning ("client: lost the broker at %s: %s; waiting up to %d ms "
                     "for it to resume the pool tasks",
                     client->endpoint, why, client->resume_ms);
    zmp_error_set (&client->lost_error, ZMP_ERR_UNREACHABLE,
                   "lost the broker at %s: %s", client->endpoint, why);
    //  Sent before the HELLO, they would reach a new broker as a stranger's
    zlistx_purge (client->outbox);
    zlistx_purge (io->unsent);
    s_fail_jobs (client, client->gave_up);
}

//  No broker came back in the resume period: fail the pool tasks too.
//  Lock held.
static void
s_give_up (zmp_client_t *client)
{
    client->gave_up = true;
    char why[ZMP_ERROR_MESSAGE_MAX];
    snprintf (why, sizeof why, "%s", client->lost_error.message);
    zmp_error_set (&client->lost_error, ZMP_ERR_UNREACHABLE,
                   "%s; it did not come back in %d ms", why, client->resume_ms);
    zmp_warning ("client: %s", client->lost_error.message);
    s_fail_jobs (client, true);
}

//  A frame over the broker's limit would drop our connection, and the
//  resend after it would again: fail the task it carries here, with kind
//  limit. Lock held.
static void
s_fail_oversize_task (zmp_client_t *client, zframe_t *header, size_t size)
{
    zmp_proto_task_t task;
    if (zmp_proto_decode_task (header, &task, NULL))
        return;
    job_t *job = client_job_lookup (client, (uint32_t) (task.task_id >> 32));
    if (!job
        || (job->kind != JOB_ASYNC && job->kind != JOB_ITER
            && job->kind != JOB_PROCESS))
        return;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_LIMIT,
                   "the task's arguments are %zu bytes, more than the "
                   "broker at %s takes (%llu: broker --max-message-mb)",
                   size, client->endpoint,
                   (unsigned long long) client->max_message);
    zmp_proto_result_t result = { .task_id = task.task_id,
                                  .status = ZMP_ERR_LIMIT };
    zframe_t *value = zmp_proto_encode_error (&error);
    if (job->kind == JOB_PROCESS)
        process_deliver (client, job, &result, &value);
    else
        pool_deliver (client, job, (uint32_t) task.task_id, &result, &value);
    zframe_destroy (&value);
}

//  The same for an object request: its caller gets the error. Lock held.
static void
s_fail_oversize_request (zmp_client_t *client, zframe_t *id_frame, size_t size)
{
    uint64_t request_id;
    if (!id_frame || zmp_proto_decode_uint (id_frame, &request_id, NULL))
        return;
    job_t *job = client_job_lookup (client, (uint32_t) (request_id >> 32));
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_LIMIT,
                   "the value is %zu bytes, more than the broker at %s "
                   "takes (%llu: broker --max-message-mb)",
                   size, client->endpoint,
                   (unsigned long long) client->max_message);
    zframe_t *outcome = zmp_proto_encode_outcome_error (&error);
    if (job && job->kind == JOB_REQUEST) {
        client_request_t *request = (client_request_t *) job;
        request->reply = outcome;
        outcome = NULL;
        request->done = true;
        pthread_cond_signal (&request->cond);
    } else if (job && job->kind == JOB_OBJECT)
        object_ack (client, job, outcome);
    zframe_destroy (&outcome);
}

//  msg, less what it carries over the broker's limit (failed here), or
//  NULL if nothing is left to send. Takes msg. Lock held.
static zmsg_t *
s_within_limit (zmp_client_t *client, zmsg_t *msg)
{
    size_t largest = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg))
        if (zframe_size (frame) > largest)
            largest = zframe_size (frame);
    if (!client->max_message || largest <= client->max_message)
        return msg;
    int command = zmp_proto_command (msg, NULL);
    zmsg_t *kept = NULL;
    if (command == ZMP_PROTO_SUBMIT) {
        kept = zmsg_new ();
        zframe_t *frame = zmsg_pop (msg);  //  The protocol header
        zmsg_append (kept, &frame);
        zframe_t *header;
        while ((header = zmsg_pop (msg))) {
            zframe_t *args = zmsg_pop (msg);
            size_t size = args ? zframe_size (args) : 0;
            if (size > client->max_message
                || zframe_size (header) > client->max_message)
                s_fail_oversize_task (client, header, size);
            else {
                zmsg_append (kept, &header);
                zmsg_append (kept, &args);
            }
            zframe_destroy (&header);
            zframe_destroy (&args);
        }
        if (zmsg_size (kept) < 2)
            zmsg_destroy (&kept);
    } else if (command == ZMP_PROTO_OBJECT) {
        zmsg_first (msg);
        s_fail_oversize_request (client, zmsg_next (msg), largest);
    } else
        zmp_warning ("client: dropped a %s of %zu bytes: the broker takes "
                     "%llu at most",
                     zmp_proto_command_name (command), largest,
                     (unsigned long long) client->max_message);
    zmsg_destroy (&msg);
    return kept;
}

//  The broker refused us: say so once, to a waiting connect too, and lose
//  it if it had welcomed us. Lock held.
static void
s_refused (io_t *io, const zmp_error_t *error)
{
    zmp_client_t *client = io->client;
    if (client->refused.kind == ZMP_ERR_NONE
        || !streq (client->refused.message, error->message))
        zmp_error ("client: %s", error->message);
    client->refused = *error;
    if (client->welcomed)
        s_lose_broker (io, error->message);
    pthread_cond_broadcast (&client->cond);
}

//  A new broker run, which knows nothing of our attachments: attach our
//  objects again, ahead of any task or call (a broker with a state
//  directory replayed them; one without answers not_found, and the next
//  call on the object says so). Lock held.
static void
s_reattach (io_t *io)
{
    zmp_client_t *client = io->client;
    size_t count = 0;
    zlistx_t *jobs = zhashx_values (client->jobs);
    for (job_t *job = (job_t *) zlistx_first (jobs); job;
         job = (job_t *) zlistx_next (jobs))
        count += object_reattach (job, io->unsent);
    zlistx_destroy (&jobs);
    if (count)
        zmp_notice ("client: a new broker run at %s; attaching %zu shared "
                    "objects again",
                    client->endpoint, count);
}

static void
s_on_welcome (io_t *io, zmsg_t *msg)
{
    zmp_client_t *client = io->client;
    zmp_proto_welcome_t welcome;
    zmp_error_t error;
    if (zmp_proto_decode_welcome (zmsg_next (msg), &welcome, &error)) {
        zmp_warning ("client: bad WELCOME: %s", error.message);
        return;
    }
    io->unexplained = 0;
    pthread_mutex_lock (&client->mutex);
    //  First: what is sent again below must fit this broker's limit
    client->max_message = welcome.max_message;
    if (client->broker_run && welcome.run && welcome.run != client->broker_run)
        s_reattach (io);
    if (welcome.run)
        client->broker_run = welcome.run;
    if (client->lost) {
        //  A broker that forgot us forgot our pools and their caps too:
        //  declare them again, ahead of any task (no reply wanted)
        for (zmp_pool_t *pool = (zmp_pool_t *) zlistx_first (client->pools);
             pool; pool = (zmp_pool_t *) zlistx_next (client->pools)) {
            if (pool->terminated)
                continue;
            zmp_proto_pool_t declare = { pool->pool_id, (uint32_t) pool->cap,
                                         false };
            zmsg_t *again = zmp_proto_new (ZMP_PROTO_POOL);
            zframe_t *id = zmp_proto_encode_uint (0);
            zframe_t *body = zmp_proto_encode_pool (&declare);
            zmsg_append (again, &id);
            zmsg_append (again, &body);
            zlistx_add_end (io->unsent, again);
        }
        //  Then every pool task with no result, and those submitted since
        size_t resent = 0;
        zlistx_t *jobs = zhashx_values (client->jobs);
        for (job_t *job = (job_t *) zlistx_first (jobs); job;
             job = (job_t *) zlistx_next (jobs))
            resent += pool_resend_job (job, io->unsent);
        zlistx_destroy (&jobs);
        //  This broker's limit may be lower than the last one's
        zlistx_t *checked = zlistx_new ();
        zmsg_t *again;
        while ((again = (zmsg_t *) zlistx_detach (io->unsent, NULL)))
            if ((again = s_within_limit (client, again)))
                zlistx_add_end (checked, again);
        while ((again = (zmsg_t *) zlistx_detach (checked, NULL)))
            zlistx_add_end (io->unsent, again);
        zlistx_destroy (&checked);
        if (resent)
            zmp_notice ("client: the broker at %s is back; resent %zu tasks",
                        client->endpoint, resent);
    }
    client->gave_up = false;
    client->welcomed = true;
    client->lost = false;
    zmp_error_clear (&client->refused);
    client->heartbeat_ms = welcome.heartbeat_ms;
    client->liveness = welcome.liveness;
    client->slots = (int) welcome.slots;
    pthread_cond_broadcast (&client->cond);
    pthread_mutex_unlock (&client->mutex);
    //  The broker's interval may be shorter than the one assumed until
    //  now: the next tick must come soon enough for it
    int64_t tick_at = zclock_mono () + welcome.heartbeat_ms / 2;
    if (tick_at < io->next_tick_at)
        io->next_tick_at = tick_at;
}

static void
s_on_result (io_t *io, zmsg_t *msg)
{
    zmp_client_t *client = io->client;
    zmp_error_t error;
    if (zmp_proto_pairs (msg, &error) < 0) {
        zmp_warning ("client: dropped a bad RESULT: %s", error.message);
        return;
    }
    zframe_t *header = zmsg_pop (msg);
    zframe_destroy (&header);  //  The protocol header
    pthread_mutex_lock (&client->mutex);
    header = zmsg_pop (msg);
    while (header) {
        zframe_t *value = zmsg_pop (msg);
        zmp_proto_result_t result;
        if (!value || zmp_proto_decode_result (header, &result, &error))
            zmp_warning ("client: dropped a bad RESULT item: %s",
                         value ? error.message : "value missing");
        else {
            job_t *job =
                client_job_lookup (client, (uint32_t) (result.task_id >> 32));
            if (job && job->kind == JOB_PROCESS)
                process_deliver (client, job, &result, &value);
            else if (job && (job->kind == JOB_ASYNC || job->kind == JOB_ITER))
                pool_deliver (client, job, (uint32_t) result.task_id, &result,
                              &value);
        }
        zframe_destroy (&value);
        zframe_destroy (&header);
        header = zmsg_pop (msg);
    }
    pthread_mutex_unlock (&client->mutex);
}

static void
s_on_reply (io_t *io, zmsg_t *msg)
{
    zmp_client_t *client = io->client;
    uint64_t request_id;
    zmp_error_t error;
    if (zmp_proto_decode_uint (zmsg_next (msg), &request_id, &error)) {
        zmp_warning ("client: bad REPLY: %s", error.message);
        return;
    }
    zframe_t *body = zmsg_next (msg);
    pthread_mutex_lock (&client->mutex);
    job_t *job = client_job_lookup (client, (uint32_t) (request_id >> 32));
    if (job && job->kind == JOB_REQUEST && body) {
        client_request_t *request = (client_request_t *) job;
        request->reply = zframe_dup (body);
        request->done = true;
        pthread_cond_signal (&request->cond);
    } else if (job && job->kind == JOB_OBJECT && body)
        object_ack (client, job, body);
    pthread_mutex_unlock (&client->mutex);
}

//  PROCESS events, each for the Process whose job it names
static void
s_on_process (io_t *io, zmsg_t *msg)
{
    zmp_error_t error;
    if (zmp_proto_pairs (msg, &error) < 0) {
        zmp_warning ("client: dropped a bad PROCESS: %s", error.message);
        return;
    }
    zframe_t *header = zmsg_pop (msg);
    zframe_destroy (&header);  //  The protocol header
    header = zmsg_pop (msg);
    while (header) {
        zframe_t *data = zmsg_pop (msg);
        zmp_proto_task_event_t event;
        if (zmp_proto_decode_task_event (header, &event, &error))
            zmp_warning ("client: dropped a bad PROCESS item: %s",
                         error.message);
        else
            process_event (io->client, (uint32_t) (event.task_id >> 32), &event,
                           data);
        zframe_destroy (&data);
        zframe_destroy (&header);
        header = zmsg_pop (msg);
    }
}

static void
s_on_message (io_t *io, zmsg_t *msg)
{
    zmp_client_t *client = io->client;
    zmp_error_t error;
    int command = zmp_proto_command (msg, &error);
    if (command < 0) {
        zmp_warning ("client: dropped a bad message from the broker: %s",
                     error.message);
        return;
    }
    io->seen_at = zclock_mono ();
    zmsg_first (msg);
    switch (command) {
        case ZMP_PROTO_WELCOME:
            s_on_welcome (io, msg);
            break;
        case ZMP_PROTO_RESULT:
            s_on_result (io, msg);
            break;
        case ZMP_PROTO_REPLY:
            s_on_reply (io, msg);
            break;
        case ZMP_PROTO_PROCESS:
            s_on_process (io, msg);
            break;
        case ZMP_PROTO_HEARTBEAT:
            break;
        case ZMP_PROTO_ERROR:
        case ZMP_PROTO_BYE: {
            zmp_error_t notice;
            bool unknown_peer = false;
            if (zmp_proto_decode_notice (zmsg_next (msg), &notice,
                                         &unknown_peer, &error))
                snprintf (notice.message, sizeof notice.message, "%s",
                          command == ZMP_PROTO_BYE ? "it said goodbye"
                                                   : error.message);
            if (command == ZMP_PROTO_BYE || unknown_peer) {
                //  Gone, or restarted and forgot us: what we wait for will
                //  not come
                pthread_mutex_lock (&client->mutex);
                s_lose_broker (io, notice.message);
                pthread_mutex_unlock (&client->mutex);
            } else if (notice.kind == ZMP_ERR_NOT_AUTHORIZED
                       && !client->welcomed) {
                //  Our HELLO, refused
                zmp_error_t refused;
                zmp_error_set (&refused, ZMP_ERR_NOT_AUTHORIZED,
                               "the broker at %s refused this client: %s",
                               client->endpoint, notice.message);
                pthread_mutex_lock (&client->mutex);
                s_refused (io, &refused);
                pthread_mutex_unlock (&client->mutex);
            } else
                zmp_warning ("client: the broker refused a message: %s",
                             notice.message);
            break;
        }
        default:
            zmp_warning ("client: unexpected %s from the broker",
                         zmp_proto_command_name (command));
    }
}

static void
s_run_callbacks (io_t *io)
{
    zmp_client_t *client = io->client;
    while (true) {
        pthread_mutex_lock (&client->mutex);
        zmp_async_t *async =
            (zmp_async_t *) zlistx_detach (client->callbacks, NULL);
        client->callback_job = (job_t *) async;  //  A pool destroyed now
                                                 //  must know of it
        pthread_mutex_unlock (&client->mutex);
        if (!async)
            return;
        pool_run_callbacks (client, async);
    }
}

//  Open a new connection to the broker, dropping the old one and what it
//  still held: a new TCP connection starts without the back-off the
//  kernel built up retransmitting into a dead link. Returns 0 or -1.
static int
s_io_connect (io_t *io)
{
    zmp_curve_unmonitor (io->socket, &io->monitor);  //  Before the socket
    if (io->socket) {
        zsock_set_linger (io->socket, 0);
        zsock_destroy (&io->socket);
    }
    zlistx_purge (io->unsent);
    io->socket = zsock_new (ZMQ_DEALER);
    if (!io->socket)
        return -1;
    zmp_client_t *client = io->client;
    if (client->curve_cert)
        zmp_curve_apply_client (io->socket, client->curve_cert,
                                client->curve_server);
    io->monitor = zmp_curve_monitor (io->socket);
    zsock_set_sndtimeo (io->socket, 0);
    zsock_set_rcvtimeo (io->socket, 0);
    zsock_set_linger (io->socket, 100);
    zsock_set_sndhwm (io->socket, 10000);
    zsock_set_rcvhwm (io->socket, 10000);
    zsock_set_connect_timeout (io->socket, CLIENT_CONNECT_TIMEOUT_MS);
    return zsock_connect (io->socket, "%s", io->client->endpoint);
}

static void
s_tick (io_t *io, int64_t now)
{
    zmp_client_t *client = io->client;
    pthread_mutex_lock (&client->mutex);
    uint32_t heartbeat_ms = client->heartbeat_ms;
    int64_t silence = (int64_t) heartbeat_ms * client->liveness;
    bool silent = client->welcomed && now - io->seen_at > silence;
    if (silent) {
        char why[64];
        snprintf (why, sizeof why, "silent for %lld ms",
                  (long long) (now - io->seen_at));
        s_lose_broker (io, why);
    }
    if (client->lost && !client->gave_up
        && now - client->lost_at >= client->resume_ms)
        s_give_up (client);
    bool hello = !client->welcomed;
    pthread_mutex_unlock (&client->mutex);
    if (silent && s_io_connect (io))
        io->stop = true;  //  No socket: every call fails as lost
    if (hello)
        s_send_hello (io);
    else if (now - io->sent_at >= heartbeat_ms && zlistx_size (io->unsent) == 0)
        zlistx_add_end (io->unsent, zmp_proto_new (ZMP_PROTO_HEARTBEAT));
    //  Half the interval: no gap between two sends reaches 1.5 intervals
    io->next_tick_at = now + heartbeat_ms / 2;
}

//  A handshake with the broker failed (its keys, or ours)
static void
s_on_monitor (io_t *io)
{
    const char *name;
    char value[16];
    if (!zmp_curve_event (io->monitor, &name, value, sizeof value))
        return;
    zmp_client_t *client = io->client;
    zmp_error_t error;
    //  One failure with no detail may be a broker closing as it restarts:
    //  only several in a row are a refusal
    bool unexplained = streq (name, "HANDSHAKE_FAILED_NO_DETAIL");
    io->unexplained = unexplained ? io->unexplained + 1 : 0;
    if ((!unexplained || io->unexplained >= CLIENT_UNEXPLAINED_MAX)
        && zmp_curve_handshake_failed (name, value, client->endpoint,
                                       client->curve_cert != NULL, &error)) {
        pthread_mutex_lock (&client->mutex);
        s_refused (io, &error);
        pthread_mutex_unlock (&client->mutex);
    }
}

//  Take the outbox in one lock; its messages go behind the unsent ones.
static void
s_take_outbox (io_t *io)
{
    zmp_client_t *client = io->client;
    pthread_mutex_lock (&client->mutex);
    zmsg_t *msg = (zmsg_t *) zlistx_detach (client->outbox, NULL);
    while (msg) {
        msg = s_within_limit (client, msg);
        if (msg)
            zlistx_add_end (io->unsent, msg);
        msg = (zmsg_t *) zlistx_detach (client->outbox, NULL);
    }
    pthread_mutex_unlock (&client->mutex);
}

//  Set on each client's I/O thread
static __thread bool s_io_thread = false;

bool
client_on_io_thread (void)
{
    return s_io_thread;
}

static void
s_io_actor (zsock_t *pipe, void *args)
{
    s_io_thread = true;
    io_t io;
    memset (&io, 0, sizeof io);
    io.client = (zmp_client_t *) args;
    io.pipe = pipe;
    io.unsent = zlistx_new ();
    zlistx_set_destructor (io.unsent, s_zmsg_free);
    int rc = s_io_connect (&io);
    zsock_signal (pipe, rc == 0 ? 0 : 1);
    if (rc)
        io.stop = true;
    else
        s_send_hello (&io);
    io.seen_at = io.sent_at = zclock_mono ();
    io.next_tick_at = io.seen_at + CLIENT_HEARTBEAT_MS;

    zmq_pollitem_t items[3] = { { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
                                { zsock_resolve (io.socket), 0, 0, 0 },
                                { NULL, 0, ZMQ_POLLIN, 0 } };
    while (!io.stop) {
        s_send_unsent (&io);
        items[1].socket = zsock_resolve (io.socket);  //  Made anew when lost
        items[2].socket = io.monitor ? zsock_resolve (io.monitor) : NULL;
        items[1].events = ZMQ_POLLIN;
        if (zlistx_size (io.unsent))
            items[1].events |= ZMQ_POLLOUT;
        int64_t wait_ms = io.next_tick_at - zclock_mono ();
        if (zmq_poll (items, io.monitor ? 3 : 2,
                      (long) (wait_ms > 0 ? wait_ms : 0))
                < 0
            && zmq_errno () != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            zmsg_t *msg = zmsg_recv (pipe);
            char *command = msg ? zmsg_popstr (msg) : NULL;
            if (!msg || (command && streq (command, "$TERM")))
                io.stop = true;
            zstr_free (&command);
            zmsg_destroy (&msg);
        }
        s_take_outbox (&io);
        if (io.monitor && (items[2].revents & ZMQ_POLLIN))
            s_on_monitor (&io);
        if (items[1].revents & ZMQ_POLLIN)
            for (int taken = 0; taken < CLIENT_RECV_BATCH; taken++) {
                zmsg_t *msg = zmsg_recv (io.socket);
                if (!msg)
                    break;
                s_on_message (&io, msg);
                zmsg_destroy (&msg);
            }
        s_run_callbacks (&io);
        int64_t now = zclock_mono ();
        if (now >= io.next_tick_at)
            s_tick (&io, now);
    }
    //  Last words: what the user queued, then goodbye, all best effort
    s_take_outbox (&io);
    zlistx_add_end (io.unsent, zmp_proto_new (ZMP_PROTO_BYE));
    if (io.socket)
        s_send_unsent (&io);
    zlistx_destroy (&io.unsent);
    zmp_curve_unmonitor (io.socket, &io.monitor);
    zsock_destroy (&io.socket);
}

//  --------------------------------------------------------------------------
//  Connect to a broker.

static zmp_client_t *s_connect (const char *endpoint, int timeout_ms,
                                int64_t agent_pid, zcert_t **cert_p,
                                const char *server_key, zmp_error_t *error);


zmp_client_t *
zmp_client_connect (const char *endpoint, int timeout_ms, zmp_error_t *error)
{
    return client_connect (endpoint, timeout_ms, 0, error);
}

zmp_client_t *
zmp_client_connect_curve (const char *endpoint, int timeout_ms,
                          const char *secret_path, const char *server_path,
                          zmp_error_t *error)
{
    assert (secret_path && server_path);
    char server_key[ZMP_CURVE_KEY_SIZE];
    if (zmp_curve_load_public (server_path, server_key, error))
        return NULL;
    zcert_t *cert = zmp_curve_load_secret (secret_path, error);
    if (!cert)
        return NULL;
    return s_connect (endpoint, timeout_ms, 0, &cert, server_key, error);
}

//  --------------------------------------------------------------------------
//  Connect, as a task process of agent_pid (0: none).

zmp_client_t *
client_connect (const char *endpoint, int timeout_ms, int64_t agent_pid,
                zmp_error_t *error)
{
    zcert_t *cert;
    char server_key[ZMP_CURVE_KEY_SIZE];
    if (zmp_curve_from_env (&cert, server_key, error))
        return NULL;
    return s_connect (endpoint, timeout_ms, agent_pid, &cert, server_key,
                      error);
}

//  Connect, with the key pair *cert_p (taken; NULL: no CURVE) and the
//  broker's public key
static zmp_client_t *
s_connect (const char *endpoint, int timeout_ms, int64_t agent_pid,
           zcert_t **cert_p, const char *server_key, zmp_error_t *error)
{
    zmp_log_init_library ();
    if (!endpoint)
        endpoint = getenv ("ZMPOOL_BROKER");
    if (!endpoint || !*endpoint)
        endpoint = ZMP_DEFAULT_ENDPOINT;
    if (timeout_ms < 0)
        timeout_ms = 5000;
    zmp_client_t *self = (zmp_client_t *) zmalloc (sizeof (zmp_client_t));
    self->endpoint = strdup (endpoint);
    self->timeout_ms = timeout_ms;
    pthread_mutex_init (&self->mutex, NULL);
    client_cond_init (&self->cond);
    self->outbox = zlistx_new ();
    zlistx_set_destructor (self->outbox, s_zmsg_free);
    self->callbacks = zlistx_new ();
    self->pools = zlistx_new ();
    self->jobs = zhashx_new ();
    zhashx_set_key_hasher (self->jobs, s_serial_hash);
    zhashx_set_key_comparator (self->jobs, s_serial_compare);
    zhashx_set_key_duplicator (self->jobs, NULL);
    zhashx_set_key_destructor (self->jobs, NULL);
    self->hosts = zhashx_new ();
    zhashx_set_destructor (self->hosts, (zhashx_destructor_fn *) zstr_free);
    self->next_serial = 1;
    self->next_pool_id = 1;
    self->agent_pid = agent_pid;
    self->curve_cert = *cert_p;
    *cert_p = NULL;
    snprintf (self->curve_server, sizeof self->curve_server, "%s", server_key);
    zmp_error_clear (&self->refused);
    if (getrandom (&self->session, sizeof self->session, 0)
        != (ssize_t) sizeof self->session)
        self->session =
            (uint64_t) zclock_usecs () ^ ((uint64_t) getpid () << 32);
    if (self->session == 0)
        self->session = 1;
    self->max_in_flight = ZMP_CLIENT_IN_FLIGHT_DEFAULT;
    self->resume_ms = ZMP_CLIENT_RESUME_DEFAULT_MS;
    const char *resume = getenv ("ZMPOOL_RESUME_MS");
    if (resume && *resume) {
        char *end;
        long value = strtol (resume, &end, 10);
        if (*end || value < 0 || value > INT_MAX)
            zmp_warning ("client: ignored ZMPOOL_RESUME_MS='%s' (not a "
                         "number of ms)",
                         resume);
        else
            self->resume_ms = (int) value;
    }
    self->heartbeat_ms = CLIENT_HEARTBEAT_MS;
    self->liveness = CLIENT_LIVENESS;
    if (gethostname (self->host, sizeof self->host))
        snprintf (self->host, sizeof self->host, "unknown");
    self->host[sizeof self->host - 1] = 0;

    self->actor = zactor_new (s_io_actor, self);
    if (!self->actor) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot start the I/O thread");
        zmp_client_destroy (&self);
        return NULL;
    }
    struct timespec deadline = client_deadline (timeout_ms);
    pthread_mutex_lock (&self->mutex);
    while (!self->welcomed && self->refused.kind == ZMP_ERR_NONE)
        if (client_wait (self, &self->cond, &deadline) == ETIMEDOUT)
            break;
    bool welcomed = self->welcomed;
    zmp_error_t refused = self->refused;
    pthread_mutex_unlock (&self->mutex);
    if (!welcomed) {
        if (refused.kind != ZMP_ERR_NONE) {
            if (error)
                *error = refused;
        } else
            zmp_error_set (error, ZMP_ERR_UNREACHABLE,
                           "cannot reach broker at %s (no reply in %d ms)",
                           endpoint, timeout_ms);
        zmp_client_destroy (&self);
    }
    return self;
}

//  --------------------------------------------------------------------------
//  Disconnect and free the client.

void
zmp_client_destroy (zmp_client_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_client_t *self = *self_p;
        pthread_mutex_lock (&self->mutex);
        self->stopping = true;
        pthread_cond_broadcast (&self->cond);  //  Nobody waits for room now
        pthread_mutex_unlock (&self->mutex);
        zactor_destroy (&self->actor);  //  Sends $TERM; it says BYE
        //  Jobs the user never destroyed stay theirs; only forget them
        zhashx_destroy (&self->jobs);
        zhashx_destroy (&self->hosts);
        zcert_destroy (&self->curve_cert);
        zlistx_destroy (&self->callbacks);
        zlistx_destroy (&self->pools);
        zlistx_destroy (&self->outbox);
        pthread_cond_destroy (&self->cond);
        pthread_mutex_destroy (&self->mutex);
        free (self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  The endpoint.

const char *
zmp_client_endpoint (const zmp_client_t *self)
{
    assert (self);
    return self->endpoint;
}

//  --------------------------------------------------------------------------
//  How many apply_async tasks may be in flight before apply_async waits.

void
zmp_client_set_max_in_flight (zmp_client_t *self, uint64_t max)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    self->max_in_flight = max > 0 ? max : 1;
    pthread_cond_broadcast (&self->cond);  //  A raised cap may let some go
    pthread_mutex_unlock (&self->mutex);
}

//  --------------------------------------------------------------------------
//  How long pool tasks wait for a lost broker to come back.

void
zmp_client_set_resume (zmp_client_t *self, int resume_ms)
{
    assert (self);
    pthread_mutex_lock (&self->mutex);
    self->resume_ms = resume_ms > 0 ? resume_ms : 0;
    pthread_mutex_unlock (&self->mutex);
}

//  --------------------------------------------------------------------------
//  Cluster slots as last reported.


int
zmp_client_slots (const zmp_client_t *self)
{
    assert (self);
    zmp_client_t *client = (zmp_client_t *) self;
    pthread_mutex_lock (&client->mutex);
    int slots = client->slots;
    pthread_mutex_unlock (&client->mutex);
    return slots;
}

//  --------------------------------------------------------------------------
//  Ask the broker for its status.

zmp_value_t *
zmp_client_status (zmp_client_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    if (timeout_ms < 0)
        timeout_ms = self->timeout_ms;
    zframe_t *reply =
        client_request (self, ZMP_PROTO_STATUS, NULL, timeout_ms, error);
    if (!reply)
        return NULL;
    zmp_value_t *value = zmp_value_decode_frame (&reply, error);
    if (value && zmp_value_get (value)->type != MSGPACK_OBJECT_MAP) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "status is not a map");
        zmp_value_destroy (&value);
    }
    return value;
}
