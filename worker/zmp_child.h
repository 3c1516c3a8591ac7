/*  zmp_child - the loop a task process runs, and its framing with the agent

    A child reads one request at a time from its socket, runs the task
    through the registry, and writes one response. Requests and responses
    are a fixed binary header (both ends are the same binary on the same
    host) followed by bytes:

        request  = zmp_child_request_t function args
        response = zmp_child_response_t payload

    args is the task's msgpack argument frame as the broker forwarded it;
    payload is the result value, or the wire error map when status is not 0
    (the child fills in its host and pid). The child flushes stdout and
    stderr after each task, so what a task prints is not held back in a
    buffer until the process dies.

    A Process child runs one request, then exits: 0 if its task succeeded,
    the task's own error code (zmp_task_fail_code) or 1 if it failed. Its
    stdout is line-buffered, so that its output reaches the agent's pipe
    as it is printed.

    Tasks reach the broker for shared objects through zmp_task_env_t: the
    child closes what a task left open after it returns, and the
    connection before the process exits.
*/
#ifndef ZMP_CHILD_H_INCLUDED
#define ZMP_CHILD_H_INCLUDED

#include "zmp_proto.h"

#include <stdint.h>
#include <zmpool.h>

//  Largest request or response payload, in bytes
#define ZMP_CHILD_PAYLOAD_MAX (256u * 1024 * 1024)

typedef struct {
    uint32_t size;          //  Bytes after this header: function + args
    uint32_t function_len;  //  Bytes of function name
    uint32_t flags;         //  ZMP_TASK_*
    uint32_t attempt;       //  1 for the first run
    uint64_t seq;           //  Echoed in the response
} zmp_child_request_t;

typedef struct {
    uint32_t size;            //  Bytes of payload after this header
    uint32_t status;          //  0, or the zmp_error_kind_t
    uint64_t seq;             //  As in the request
    zmp_proto_usage_t usage;  //  What the task used (zmp_usage_t)
} zmp_child_response_t;

//  What every child of one agent shares (inherited at fork)
typedef struct {
    zmp_registry_t *registry;  //  Borrowed
    int64_t agent_pid;         //  The agent that owns the children
    const char *endpoint;      //  The broker, for tasks' shared objects
} zmp_child_context_t;

//  The child's main loop (a zmp_child_main_fn): arg is a
//  zmp_child_context_t. Returns 0 when the agent closes the socket; a
//  Process child returns after its one task, as said above.
int zmp_child_main (int fd, uint32_t slot, bool process, void *arg);

#endif
