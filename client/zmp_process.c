/*  zmp_process - Process: one task function in a process of its own

    A Process is a task submitted with ZMP_TASK_PROCESS, outside any pool.
    Its job (JOB_PROCESS) is registered from start until its RESULT: the
    broker's PROCESS events say when it runs (its pid and host) and carry
    its output, which goes to the output function on the I/O thread, with
    no lock held; its RESULT says how it ended. The agent sends all output
    before the end, and the broker keeps the order, so join returns only
    after the last output was delivered.

    References: the user's, and the I/O thread's while it runs the output
    function; the last one frees.
*/
#include "client_internal.h"

#include "zmp_error.h"
#include "zmp_value.h"

#include <signal.h>

typedef enum {
    PROCESS_NEW,       //  Made, not started
    PROCESS_STARTING,  //  Submitted, not running yet
    PROCESS_RUNNING,   //  Its pid and host are known
    PROCESS_ENDED      //  Its RESULT came (or it can no longer come)
} process_state_t;

struct zmp_process {
    job_t job;             //  JOB_PROCESS
    zmp_client_t *client;  //  Borrowed
    char function[ZMP_FUNCTION_NAME_MAX + 1];
    zframe_t *args;         //  Owned until started
    bool handles;           //  The arguments hold handles
    zmp_output_fn *output;  //  NULL: write to this program's stdout/stderr
    void *output_arg;
    bool output_dropped;  //  set_output (NULL): output goes nowhere
    uint32_t refs;
    process_state_t state;
    int64_t pid;
    char host[ZMP_PROTO_HOST_MAX + 1];
    int exitcode;
    zmp_error_t error;  //  Why it failed, or did not start
    zframe_t *result;   //  Owned: its function's value (exitcode 0)
    bool has_usage;     //  usage came with its result
    zmp_proto_usage_t usage;
    zmp_value_t *value;   //  Owned: result decoded on first ask
    pthread_cond_t cond;  //  state changed
};

//  Drop a reference; the last frees. Lock held.
static void
s_unref (zmp_process_t *self)
{
    if (--self->refs == 0) {
        zframe_destroy (&self->args);
        zframe_destroy (&self->result);
        zmp_value_destroy (&self->value);
        pthread_cond_destroy (&self->cond);
        free (self);
    }
}

//  It ended with status and its value or error. Lock held.
static void
s_end (zmp_client_t *client, zmp_process_t *self, uint32_t status,
       zframe_t **value_p, const zmp_error_t *error)
{
    if (self->state == PROCESS_ENDED)
        return;
    if (error)
        self->error = *error;
    else if (status) {
        zmp_value_t *map = zmp_value_decode_frame (value_p, NULL);
        zmp_error_unpack (&self->error, (zmp_error_kind_t) status,
                          map ? zmp_value_get (map) : NULL);
        zmp_value_destroy (&map);
    } else {
        self->result = *value_p;
        *value_p = NULL;
    }
    //  Python's exitcode: 0, minus the signal, the exit status, the code
    //  the function failed with, or 1
    zmp_error_kind_t kind = self->error.kind;
    if (kind == ZMP_ERR_NONE)
        self->exitcode = 0;
    else if (kind == ZMP_ERR_CRASHED && self->error.signal)
        self->exitcode = -self->error.signal;
    else if (kind == ZMP_ERR_CRASHED
             || (kind == ZMP_ERR_TASK && self->error.code))
        self->exitcode = self->error.code;
    else
        self->exitcode = 1;
    self->state = PROCESS_ENDED;
    client_job_unregister (client, &self->job);
    pthread_cond_broadcast (&self->cond);
}

//  --------------------------------------------------------------------------
//  A new Process.

zmp_process_t *
zmp_process_new (zmp_client_t *client, const char *function,
                 const msgpack_object *args, zmp_error_t *error)
{
    assert (client);
    if (!function || !zmp_proto_valid_name (function, strlen (function))) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "'%s' is not a valid function name",
                       function ? function : "(null)");
        return NULL;
    }
    if (args && args->type != MSGPACK_OBJECT_ARRAY) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "args must be an array of arguments, or NULL");
        return NULL;
    }
    zmp_process_t *self = (zmp_process_t *) zmalloc (sizeof (zmp_process_t));
    self->job.kind = JOB_PROCESS;
    self->client = client;
    snprintf (self->function, sizeof self->function, "%s", function);
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    if (args)
        msgpack_pack_object (&packer, *args);
    else
        msgpack_pack_array (&packer, 0);
    self->args = zmp_frame_from_buffer (&buffer);
    msgpack_sbuffer_destroy (&buffer);
    self->handles = zmp_handle_present (args);
    self->refs = 1;
    self->state = PROCESS_NEW;
    self->exitcode = ZMP_EXITCODE_NONE;
    zmp_error_clear (&self->error);
    client_cond_init (&self->cond);
    return self;
}

//  --------------------------------------------------------------------------
//  Let go of the handle.

void
zmp_process_destroy (zmp_process_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_process_t *self = *self_p;
        zmp_client_t *client = self->client;
        pthread_mutex_lock (&client->mutex);
        client_job_unregister (client, &self->job);  //  Nothing more comes
        s_unref (self);
        pthread_mutex_unlock (&client->mutex);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Where its output goes.

void
zmp_process_set_output (zmp_process_t *self, zmp_output_fn *output, void *arg)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    self->output = output;
    self->output_arg = arg;
    self->output_dropped = output == NULL;
    pthread_mutex_unlock (&self->client->mutex);
}

//  Send KILL for the process. Lock held.
static void
s_kill (zmp_process_t *self, int signal)
{
    zmp_proto_kill_t kill = { ((uint64_t) self->job.serial << 32), 0, 0,
                              (uint32_t) signal };
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_KILL);
    zframe_t *body = zmp_proto_encode_kill (&kill);
    zmsg_append (msg, &body);
    client_post (self->client, &msg);
}

//  --------------------------------------------------------------------------
//  Start it.

int
zmp_process_start (zmp_process_t *self, zmp_error_t *error)
{
    assert (self);
    zmp_client_t *client = self->client;
    int rc = -1;
    pthread_mutex_lock (&client->mutex);
    if (self->state != PROCESS_NEW)
        zmp_error_set (error, ZMP_ERR_USAGE, "a process is started once");
    else if (client_check (client, error) == 0) {
        client_job_register (client, &self->job);
        zmp_proto_task_t task;
        task.task_id = (uint64_t) self->job.serial << 32;
        task.pool_id = 0;
        task.flags = ZMP_TASK_PROCESS | (self->handles ? ZMP_TASK_HANDLES : 0);
        task.timeout_ms = 0;
        snprintf (task.function, sizeof task.function, "%s", self->function);
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_SUBMIT);
        zframe_t *header = zmp_proto_encode_task (&task);
        zmsg_append (msg, &header);
        zmsg_append (msg, &self->args);
        client_post (client, &msg);
        self->state = PROCESS_STARTING;
        struct timespec deadline = client_deadline (client->timeout_ms);
        while (self->state == PROCESS_STARTING)
            if (client_wait (client, &self->cond, &deadline) == ETIMEDOUT)
                break;
        if (self->state == PROCESS_RUNNING
            || (self->state == PROCESS_ENDED && self->pid > 0))
            rc = 0;  //  It ran (however briefly)
        else if (self->state == PROCESS_ENDED) {
            if (error)
                *error = self->error;  //  Refused: it never ran
        } else {
            //  No worker took it in time: call it off
            s_kill (self, SIGKILL);
            zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT,
                           "no worker started process %s in %d ms",
                           self->function, client->timeout_ms);
        }
    }
    pthread_mutex_unlock (&client->mutex);
    return rc;
}

//  --------------------------------------------------------------------------
//  Wait for it to end.

int
zmp_process_join (zmp_process_t *self, int timeout_ms, zmp_error_t *error)
{
    assert (self);
    zmp_client_t *client = self->client;
    struct timespec deadline = client_deadline (timeout_ms);
    int rc = 0;
    pthread_mutex_lock (&client->mutex);
    if (self->state == PROCESS_NEW) {
        zmp_error_set (error, ZMP_ERR_USAGE, "join of a process not started");
        rc = -1;
    }
    while (rc == 0 && self->state != PROCESS_ENDED)
        if (client_wait (client, &self->cond, timeout_ms < 0 ? NULL : &deadline)
            == ETIMEDOUT) {
            zmp_error_set (error, ZMP_ERR_WAIT_TIMEOUT,
                           "process %s still runs after %d ms", self->function,
                           timeout_ms);
            rc = -1;
        }
    pthread_mutex_unlock (&client->mutex);
    return rc;
}

bool
zmp_process_is_alive (zmp_process_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    bool alive =
        self->state == PROCESS_STARTING || self->state == PROCESS_RUNNING;
    pthread_mutex_unlock (&self->client->mutex);
    return alive;
}

int
zmp_process_exitcode (zmp_process_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    int exitcode = self->exitcode;
    pthread_mutex_unlock (&self->client->mutex);
    return exitcode;
}

const zmp_error_t *
zmp_process_error (zmp_process_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    const zmp_error_t *error =
        self->state == PROCESS_ENDED && self->error.kind != ZMP_ERR_NONE
            ? &self->error
            : NULL;
    pthread_mutex_unlock (&self->client->mutex);
    return error;
}

const msgpack_object *
zmp_process_result (zmp_process_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    if (!self->value && self->result)
        self->value = zmp_value_decode_frame (&self->result, NULL);
    const msgpack_object *result =
        self->value ? zmp_value_get (self->value) : NULL;
    pthread_mutex_unlock (&self->client->mutex);
    return result;
}

int64_t
zmp_process_pid (zmp_process_t *self)
{
    assert (self);
    pthread_mutex_lock (&self->client->mutex);
    int64_t pid = self->pid;
    pthread_mutex_unlock (&self->client->mutex);
    return pid;
}

const char *
zmp_process_host (zmp_process_t *self)
{
    assert (self);
    return self->host;  //  Written once, before start returns
}

//  --------------------------------------------------------------------------
//  What its function used, once it ended.

bool
zmp_process_usage (zmp_process_t *self, zmp_usage_t *usage)
{
    assert (self && usage);
    pthread_mutex_lock (&self->client->mutex);
    bool known = self->has_usage;
    if (known)
        client_usage_give (&self->usage, self->pid, self->host, usage);
    pthread_mutex_unlock (&self->client->mutex);
    return known;
}

//  Signal it
static int
s_signal (zmp_process_t *self, int signal, zmp_error_t *error)
{
    assert (self);
    zmp_client_t *client = self->client;
    int rc = 0;
    pthread_mutex_lock (&client->mutex);
    if (self->state == PROCESS_NEW) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "a process not started cannot be signalled");
        rc = -1;
    } else if (self->state != PROCESS_ENDED) {
        rc = client_check (client, error);
        if (rc == 0)
            s_kill (self, signal);
    }
    pthread_mutex_unlock (&client->mutex);
    return rc;
}

int
zmp_process_terminate (zmp_process_t *self, zmp_error_t *error)
{
    return s_signal (self, SIGTERM, error);
}

int
zmp_process_kill (zmp_process_t *self, zmp_error_t *error)
{
    return s_signal (self, SIGKILL, error);
}

//  --------------------------------------------------------------------------
//  Deliveries from the I/O thread

void
process_deliver (zmp_client_t *client, job_t *job,
                 const zmp_proto_result_t *result, zframe_t **value_p)
{
    zmp_process_t *self = (zmp_process_t *) job;
    if (self->pid == 0)
        self->pid = result->pid;
    self->has_usage = result->has_usage;
    self->usage = result->usage;
    s_end (client, self, result->status, value_p, NULL);
}

void
process_fail (zmp_client_t *client, job_t *job, const zmp_error_t *error)
{
    s_end (client, (zmp_process_t *) job, error->kind, NULL, error);
}

//  The bytes or string of an event's data frame
static bool
s_data (msgpack_unpacked *unpacked, zframe_t *data, const char **bytes,
        size_t *size)
{
    if (!data
        || zmp_value_unpack (unpacked, zframe_data (data), zframe_size (data),
                             NULL))
        return false;
    if (unpacked->data.type == MSGPACK_OBJECT_BIN) {
        *bytes = unpacked->data.via.bin.ptr;
        *size = unpacked->data.via.bin.size;
        return true;
    }
    if (unpacked->data.type == MSGPACK_OBJECT_STR) {
        *bytes = unpacked->data.via.str.ptr;
        *size = unpacked->data.via.str.size;
        return true;
    }
    return false;
}

void
process_event (zmp_client_t *client, uint32_t serial,
               const zmp_proto_task_event_t *event, zframe_t *data)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    const char *bytes = NULL;
    size_t size = 0;
    bool valid = s_data (&unpacked, data, &bytes, &size);
    pthread_mutex_lock (&client->mutex);
    job_t *job = client_job_lookup (client, serial);
    zmp_process_t *self =
        job && job->kind == JOB_PROCESS ? (zmp_process_t *) job : NULL;
    if (self && valid && event->event == ZMP_EVENT_STARTED) {
        self->pid = event->pid;
        size_t length = size < sizeof self->host ? size : sizeof self->host - 1;
        memcpy (self->host, bytes, length);
        self->host[length] = 0;
        if (self->state == PROCESS_STARTING)
            self->state = PROCESS_RUNNING;
        pthread_cond_broadcast (&self->cond);
    } else if (self && valid && !self->output_dropped) {
        //  Output: delivered with no lock held, the process kept alive
        self->refs++;
        zmp_output_fn *output = self->output;
        void *arg = self->output_arg;
        pthread_mutex_unlock (&client->mutex);
        int stream = event->event == ZMP_EVENT_STDOUT ? 1 : 2;
        if (output)
            output (self, stream, bytes, size, arg);
        else {
            FILE *file = stream == 1 ? stdout : stderr;
            fwrite (bytes, 1, size, file);
            fflush (file);
        }
        pthread_mutex_lock (&client->mutex);
        s_unref (self);
    }
    pthread_mutex_unlock (&client->mutex);
    msgpack_unpacked_destroy (&unpacked);
}
