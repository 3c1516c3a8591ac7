/*  agent_child - the agent's side of one task process

    Requests are appended to an output buffer and written as far as the
    non-blocking socket takes them; several requests sent together leave in
    one write and arrive in one read. Responses are read into an input
    buffer and taken out whole. A response must answer the oldest task sent
    (the child runs them in order): anything else means the process is
    broken, and the agent replaces it.
*/
#include "worker_internal.h"

#include "zmp_log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHILD_INPUT_INITIAL (64 * 1024)

//  --------------------------------------------------------------------------
//  Free a task.

void
agent_task_destroy (agent_task_t **task_p)
{
    if (*task_p) {
        zframe_destroy (&(*task_p)->args);
        free (*task_p);
        *task_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  zlistx destructor for tasks.

void
agent_task_free (void **item_p)
{
    agent_task_destroy ((agent_task_t **) item_p);
}

//  --------------------------------------------------------------------------
//  Set a child record up, with no process yet.

void
agent_child_init (agent_child_t *child)
{
    memset (child, 0, sizeof *child);
    child->fd = -1;
    child->state = CHILD_STARTING;
    child->tasks = zlistx_new ();
    zlistx_set_destructor (child->tasks, agent_task_free);
}

//  --------------------------------------------------------------------------
//  Free a child record.

void
agent_child_destroy (agent_child_t *child)
{
    agent_child_close (child);
    zlistx_destroy (&child->tasks);
    free (child->output);
    free (child->input);
}

//  --------------------------------------------------------------------------
//  Resident memory of a process in KiB, from /proc; 0 if unknown.

long
agent_child_rss_kb (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/statm", (int) pid);
    FILE *file = fopen (path, "r");
    long size = 0, resident = 0;
    if (file) {
        if (fscanf (file, "%ld %ld", &size, &resident) != 2)
            resident = 0;
        fclose (file);
    }
    return resident * (sysconf (_SC_PAGESIZE) / 1024);
}

//  --------------------------------------------------------------------------
//  Take a fresh process.

void
agent_child_start (agent_child_t *child, pid_t pid, int fd)
{
    int flags = fcntl (fd, F_GETFL);
    if (flags >= 0)
        fcntl (fd, F_SETFL, flags | O_NONBLOCK);
    child->fd = fd;
    child->pid = pid;
    child->state = CHILD_READY;
    child->respawn_at = 0;
    child->retiring = false;
    child->cancel_killed = false;
    child->tasks_done = 0;
    child->start_rss_kb = agent_child_rss_kb (pid);
}

//  --------------------------------------------------------------------------
//  Close the socket; forget bytes in flight.

void
agent_child_close (agent_child_t *child)
{
    if (child->fd >= 0) {
        close (child->fd);
        child->fd = -1;
    }
    child->output_size = child->output_sent = 0;
    child->input_size = 0;
}

//  --------------------------------------------------------------------------
//  Tasks sent and not answered.

size_t
agent_child_load (const agent_child_t *child)
{
    return zlistx_size (child->tasks);
}

//  --------------------------------------------------------------------------
//  True while request bytes wait to be written.

bool
agent_child_writing (const agent_child_t *child)
{
    return child->output_sent < child->output_size;
}

//  --------------------------------------------------------------------------
//  Send a task to the child.

int
agent_child_send (agent_child_t *child, agent_task_t **task_p)
{
    agent_task_t *task = *task_p;
    size_t function_len = strlen (task->header.function);
    size_t args_size = zframe_size (task->args);
    if (args_size > ZMP_CHILD_PAYLOAD_MAX - function_len)
        return -1;  //  Would not fit the framing (its size is 32 bits)
    zmp_child_request_t request;
    request.size = (uint32_t) (function_len + args_size);
    request.function_len = (uint32_t) function_len;
    request.flags = task->header.flags;
    request.attempt = task->header.attempt;
    request.seq = task->header.seq;
    //  Drop what was written already; append after what was not
    if (child->output_sent == child->output_size)
        child->output_size = child->output_sent = 0;
    size_t total = sizeof request + function_len + args_size;
    if (child->output_size + total > child->output_limit) {
        size_t limit = child->output_limit * 2;
        if (limit < child->output_size + total)
            limit = child->output_size + total;
        char *output = (char *) realloc (child->output, limit);
        assert (output);
        child->output = output;
        child->output_limit = limit;
    }
    char *cursor = child->output + child->output_size;
    memcpy (cursor, &request, sizeof request);
    memcpy (cursor + sizeof request, task->header.function, function_len);
    memcpy (cursor + sizeof request + function_len, zframe_data (task->args),
            args_size);
    child->output_size += total;
    if (zlistx_size (child->tasks) == 0)
        child->running_since_us = zclock_usecs ();
    zlistx_add_end (child->tasks, task);
    *task_p = NULL;
    return 0;
}

//  --------------------------------------------------------------------------
//  Write what the socket takes.

int
agent_child_write (agent_child_t *child)
{
    while (child->fd >= 0 && child->output_sent < child->output_size) {
        ssize_t rc = send (child->fd, child->output + child->output_sent,
                           child->output_size - child->output_sent,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (rc > 0)
            child->output_sent += (size_t) rc;
        else if (rc < 0 && errno == EINTR)
            continue;
        else if (rc < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;  //  The rest goes when the socket is writable again
        else
            return -1;
    }
    return 0;
}

//  Take every complete response out of the input buffer.
static int
s_take_responses (agent_child_t *child, agent_result_fn *on_result, void *arg)
{
    size_t offset = 0;
    int rc = 0;
    while (child->input_size - offset >= sizeof (zmp_child_response_t)) {
        zmp_child_response_t response;
        memcpy (&response, child->input + offset, sizeof response);
        agent_task_t *task = (agent_task_t *) zlistx_first (child->tasks);
        if (response.size > ZMP_CHILD_PAYLOAD_MAX || !task
            || task->header.seq != response.seq) {
            zmp_warning ("worker: task process %d sent something that "
                         "answers no task; replacing it",
                         (int) child->pid);
            rc = -1;
            break;
        }
        size_t total = sizeof response + response.size;
        if (child->input_size - offset < total) {
            if (total > child->input_limit) {
                //  Make room for the whole response from the front
                memmove (child->input, child->input + offset,
                         child->input_size - offset);
                child->input_size -= offset;
                offset = 0;
                char *input = (char *) realloc (child->input, total);
                assert (input);
                child->input = input;
                child->input_limit = total;
            }
            break;
        }
        zlistx_detach (child->tasks, NULL);
        int64_t now = zclock_usecs ();
        int64_t run_us = now - child->running_since_us;
        child->running_since_us = now;  //  The next one starts now
        child->tasks_done++;
        on_result (arg, child, task, response.status,
                   child->input + offset + sizeof response, response.size,
                   run_us, &response.usage);
        offset += total;
    }
    memmove (child->input, child->input + offset, child->input_size - offset);
    child->input_size -= offset;
    return rc;
}

//  --------------------------------------------------------------------------
//  Read what the child wrote.

int
agent_child_read (agent_child_t *child, agent_result_fn *on_result, void *arg)
{
    while (child->fd >= 0) {
        if (child->input_limit - child->input_size < 4096) {
            size_t limit = child->input_limit ? child->input_limit * 2
                                              : CHILD_INPUT_INITIAL;
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
            return 0;
        if (rc <= 0)
            return -1;
        child->input_size += (size_t) rc;
        if (s_take_responses (child, on_result, arg))
            return -1;
    }
    return 0;
}
