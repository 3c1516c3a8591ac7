/*  zmp_child - the loop a task process runs

    Blocking reads and writes are right here: a child does one thing at a
    time, and the agent never waits on it. Every request is checked before
    it is believed (sizes, names) even though the agent is our own code: a
    task may have scribbled on the socket's file descriptor.
*/
#include "zmp_child.h"

#include "zmp_error.h"
#include "zmp_proto.h"
#include "zmp_registry.h"
#include "zmp_value.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

//  What the agent sent and we have not run yet. One read () takes all that
//  is there: when tasks are short and the agent queues several, several.
typedef struct {
    int fd;        //  The agent's socket (borrowed)
    char *data;    //  Owned
    size_t start;  //  First byte not yet used
    size_t end;    //  One past the last byte read
    size_t limit;  //  Allocated bytes
} s_input_t;

//  Take the next complete request: copy its header into request, return
//  its body (function name, then arguments), valid until the next fill.
//  NULL if more must be read first; *garbage set if what is there cannot
//  be a request.
static const char *
s_input_next (s_input_t *input, zmp_child_request_t *request, bool *garbage)
{
    size_t have = input->end - input->start;
    if (have < sizeof *request)
        return NULL;
    memcpy (request, input->data + input->start, sizeof *request);
    if (request->size > ZMP_CHILD_PAYLOAD_MAX
        || request->function_len > request->size) {
        *garbage = true;
        return NULL;
    }
    if (have < sizeof *request + request->size)
        return NULL;
    const char *body = input->data + input->start + sizeof *request;
    input->start += sizeof *request + request->size;
    return body;
}

//  Read what is there, blocking for at least one byte, with room for the
//  whole of a request whose header has come. Returns 0, or -1 on end of
//  file, error or garbage.
static int
s_input_fill (s_input_t *input)
{
    size_t left = input->end - input->start;
    size_t need = 64 * 1024;
    if (left >= sizeof (zmp_child_request_t)) {
        zmp_child_request_t request;
        memcpy (&request, input->data + input->start, sizeof request);
        if (request.size > ZMP_CHILD_PAYLOAD_MAX)
            return -1;
        if (sizeof request + request.size > need)
            need = sizeof request + request.size;
    }
    //  Keep what is left at the front, and room after it
    if (left > 0)
        memmove (input->data, input->data + input->start, left);
    input->start = 0;
    input->end = left;
    if (need > input->limit) {
        char *data = (char *) realloc (input->data, need);
        if (!data)
            return -1;
        input->data = data;
        input->limit = need;
    }
    while (true) {
        ssize_t rc = read (input->fd, input->data + input->end,
                           input->limit - input->end);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        input->end += (size_t) rc;
        return 0;
    }
}

//  Write the header and payload; returns 0 or -1.
static int
s_write_response (int fd, const zmp_child_response_t *response,
                  const void *payload)
{
    struct iovec iov[2] = { { (void *) response, sizeof *response },
                            { (void *) payload, response->size } };
    int count = response->size ? 2 : 1;
    size_t left = sizeof *response + response->size;
    struct iovec *cursor = iov;
    while (left > 0) {
        ssize_t rc = writev (fd, cursor, count);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        left -= (size_t) rc;
        while (count > 0 && (size_t) rc >= cursor->iov_len) {
            rc -= (ssize_t) cursor->iov_len;
            cursor++;
            count--;
        }
        if (count > 0) {
            cursor->iov_base = (char *) cursor->iov_base + rc;
            cursor->iov_len -= (size_t) rc;
        }
    }
    return 0;
}

//  What this process, and the processes it started and waited for, have
//  used so far. A task's CPU is the change from the reading after the task
//  before it (or the loop's start): between tasks the process waits in
//  read, using none, and two getrusage calls a task are enough.
typedef struct {
    int64_t wall_us;  //  Monotonic clock
    uint64_t user_us;
    uint64_t system_us;
    uint64_t max_rss_kib;
} s_meter_t;

static uint64_t
s_timeval_us (struct timeval time)
{
    return (uint64_t) time.tv_sec * 1000000 + (uint64_t) time.tv_usec;
}

static void
s_meter_read (s_meter_t *meter)
{
    struct rusage own, children;
    getrusage (RUSAGE_SELF, &own);
    getrusage (RUSAGE_CHILDREN, &children);
    meter->wall_us = zclock_usecs ();
    meter->user_us =
        s_timeval_us (own.ru_utime) + s_timeval_us (children.ru_utime);
    meter->system_us =
        s_timeval_us (own.ru_stime) + s_timeval_us (children.ru_stime);
    meter->max_rss_kib = (uint64_t) own.ru_maxrss;  //  KiB on Linux
}

//  The usage of a task that began at start_us (Unix) and wall_us
//  (monotonic), *last the reading after the one before; *last becomes now
static void
s_meter_usage (s_meter_t *last, int64_t start_us, int64_t wall_us,
               zmp_proto_usage_t *usage)
{
    s_meter_t now;
    s_meter_read (&now);
    usage->start_us = (uint64_t) start_us;
    usage->wall_us = (uint64_t) (now.wall_us - wall_us);
    usage->user_us = now.user_us - last->user_us;
    usage->system_us = now.system_us - last->system_us;
    usage->max_rss_kib = now.max_rss_kib;
    *last = now;
}

//  Run one request; fill buffer with the payload, return the status. The
//  error, if any, goes to *failure.
static uint32_t
s_run (zmp_child_context_t *context, zmp_task_env_t *env, uint32_t slot,
       const zmp_child_request_t *request, const char *body,
       msgpack_sbuffer *buffer, const char *host, zmp_error_t *failure)
{
    zmp_error_t error;
    zmp_error_clear (&error);
    char function[ZMP_FUNCTION_NAME_MAX + 1];
    if (!zmp_proto_valid_name (body, request->function_len))
        zmp_error_set (&error, ZMP_ERR_PROTOCOL, "bad function name");
    else {
        memcpy (function, body, request->function_len);
        function[request->function_len] = 0;
        msgpack_unpacked unpacked;
        msgpack_unpacked_init (&unpacked);
        zmp_error_t cause;
        if (zmp_value_unpack (&unpacked, body + request->function_len,
                              request->size - request->function_len, &cause))
            zmp_error_set (&error, ZMP_ERR_BAD_ARGUMENTS,
                           "arguments are not one msgpack value: %s",
                           cause.message);
        else {
            zmp_task_t task;
            zmp_task_init (&task, function);
            task.attempt = request->attempt;
            task.slot = (int) slot;
            task.agent_pid = context->agent_pid;
            task.env = env;
            zmp_registry_call (context->registry, &task, &unpacked.data,
                               request->flags, buffer, &error);
            //  What the task left open goes now: its puts are in the
            //  broker before its result leaves
            if (env->end_task)
                env->end_task (env);
        }
        msgpack_unpacked_destroy (&unpacked);
    }
    *failure = error;
    if (error.kind == ZMP_ERR_NONE)
        return 0;
    snprintf (error.host, sizeof error.host, "%s", host);
    error.pid = getpid ();
    buffer->size = 0;
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    zmp_error_pack (&error, &packer);
    return (uint32_t) error.kind;
}

//  Replace buffer's payload with a limit error: the result is too large
static void
s_too_large (msgpack_sbuffer *buffer, const char *host,
             zmp_child_response_t *response)
{
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_LIMIT,
                   "result of %zu bytes is over the limit of %u", buffer->size,
                   ZMP_CHILD_PAYLOAD_MAX);
    snprintf (error.host, sizeof error.host, "%s", host);
    error.pid = getpid ();
    buffer->size = 0;
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    zmp_error_pack (&error, &packer);
    response->status = ZMP_ERR_LIMIT;
    response->size = (uint32_t) buffer->size;
}

//  --------------------------------------------------------------------------
//  The child's main loop.

int
zmp_child_main (int fd, uint32_t slot, bool process, void *arg)
{
    zmp_child_context_t *context = (zmp_child_context_t *) arg;
    assert (context && context->registry);
    char host[ZMP_ERROR_HOST_MAX];
    if (gethostname (host, sizeof host))
        snprintf (host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    if (process)
        setvbuf (stdout, NULL, _IOLBF, 0);  //  Output flows as printed

    zmp_task_env_t env;
    memset (&env, 0, sizeof env);
    env.endpoint = context->endpoint;
    env.agent_pid = context->agent_pid;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    s_input_t input = { fd, NULL, 0, 0, 0 };
    s_meter_t meter;
    s_meter_read (&meter);
    int code = 0;
    while (true) {
        zmp_child_request_t request;
        bool garbage = false;
        const char *body = s_input_next (&input, &request, &garbage);
        if (!body) {
            if (garbage) {
                code = 2;  //  Garbage on the socket; the agent replaces us
                break;
            }
            if (s_input_fill (&input))
                break;  //  The agent closed our socket: we are done
            continue;
        }
        buffer.size = 0;
        zmp_child_response_t response;
        zmp_error_t failure;
        struct timespec real;
        clock_gettime (CLOCK_REALTIME, &real);
        int64_t start_us =
            (int64_t) real.tv_sec * 1000000 + real.tv_nsec / 1000;
        int64_t wall_us = zclock_usecs ();
        response.status = s_run (context, &env, slot, &request, body, &buffer,
                                 host, &failure);
        s_meter_usage (&meter, start_us, wall_us, &response.usage);
        response.seq = request.seq;
        response.size = (uint32_t) buffer.size;
        if (buffer.size > ZMP_CHILD_PAYLOAD_MAX)
            s_too_large (&buffer, host, &response);
        fflush (stdout);
        fflush (stderr);
        //  Each result goes at once: if a later task crashes this process,
        //  what it finished before is already with the agent
        if (s_write_response (fd, &response, buffer.data))
            break;
        if (process) {
            //  A Process ends with its task, with Python's exit code
            if (response.status == 0)
                code = 0;
            else if (response.status == ZMP_ERR_TASK && (failure.code & 255))
                code = failure.code & 255;
            else
                code = 1;
            break;
        }
    }
    if (env.end_process)
        env.end_process (&env);
    free (input.data);
    msgpack_sbuffer_destroy (&buffer);
    close (fd);
    return code;
}
