/*  zmp_proto - the zmpool wire protocol: message framing and codecs

    Peers (clients and worker agents) talk to the broker over one ZeroMQ
    ROUTER socket, each from a DEALER. A message is a multipart ZeroMQ
    message. Frame 0 is a 4-byte header; every later frame is exactly one
    msgpack value (nothing before or after it). docs/PROTOCOL.md is the full
    story; this is the grammar:

        message   = header *body
        header    = %x5A %x50 version command    ; "ZP", 1 byte each
        HELLO     = header hello-map              ; peer -> broker
        WELCOME   = header welcome-map            ; broker -> peer
        SUBMIT    = header 1*(task args)          ; client -> broker
        DISPATCH  = header 1*(dispatch args)      ; broker -> worker
        DONE      = header 1*(done value)         ; worker -> broker
        RESULT    = header 1*(result value)       ; broker -> client
        CANCEL    = header cancel-map             ; client -> broker
        ABORT     = header 1*abort                ; broker -> worker
        POOL      = header request-id pool-map    ; client -> broker
        STATUS    = header request-id             ; client -> broker
        REPLY     = header request-id reply-body  ; broker -> client
        ERROR     = header notice                 ; broker -> peer
        HEARTBEAT = header                        ; both ways
        BYE       = header [notice]               ; both ways
        OBJECT    = header request-id op *payload ; client -> broker
        PROCESS   = header 1*(event data)         ; worker -> broker
                  / header 1*(task-event data)    ; broker -> client
        KILL      = header [task-id, signal]      ; client -> broker
                  / header [slot, seq, signal]    ; broker -> worker

        task      = [task-id, pool-id, function, flags, timeout-ms]
        dispatch  = [slot, seq, attempt, function, flags, timeout-ms]
        done      = [slot, seq, status, pid[, run-us]]
        result    = [task-id, status, pid]
        abort     = [slot, seq]
        args      = array of positional arguments (any value is carried;
                    the worker rejects a non-array as bad_arguments)
        value     = the result if status is 0, else an error map
        notice    = {kind, message[, unknown_peer]}: ERROR refuses one
                    message; with unknown_peer true, the broker does not
                    know the sender, who must say HELLO again
        op        = [verb, object-id, *param]: one operation on a shared
                    object (zmp_store.h lists them); payload frames carry
                    the items it stores, each one msgpack value
        outcome   = [status, value]: the REPLY body of an OBJECT
        event     = [slot, seq, event-kind, pid]: a Process started
                    (data: its host) or wrote output (data: the bytes)
        task-event = [task-id, event-kind, pid], as event

    Header arrays may carry more items than listed: decoders ignore them, so
    that a version can grow by appending. Maps ignore unknown keys.

    Protocol versions:
        1   first version (zmpool 0.1.0); OBJECT, PROCESS and KILL, the
            PROCESS and HANDLES task flags and HELLO's agent_pid came
            before any release, within version 1
*/
#ifndef ZMP_PROTO_H_INCLUDED
#define ZMP_PROTO_H_INCLUDED

#include <czmq.h>
#include <zmpool.h>

#define ZMP_PROTO_VERSION   1
#define ZMP_PROTO_SIGNATURE "ZP"

//  Limits the decoders (and zmp_proto_pairs) enforce
#define ZMP_PROTO_HOST_MAX      255   //  Bytes in a host name
#define ZMP_PROTO_NAME_MAX      255   //  Bytes in a peer name
#define ZMP_PROTO_SLOTS_MAX     4096  //  Slots one worker may announce
#define ZMP_PROTO_BATCH_MAX     8192  //  Items in one SUBMIT/DISPATCH/DONE/RESULT
#define ZMP_PROTO_TIMEOUT_MAX   (7 * 24 * 3600 * 1000u)  //  A week, in ms
#define ZMP_PROTO_MESSAGE_MAX   255  //  Bytes of an ERROR or BYE message kept
#define ZMP_PROTO_CORES_MAX     65536
#define ZMP_PROTO_HEARTBEAT_MIN 10       //  ms
#define ZMP_PROTO_HEARTBEAT_MAX 3600000  //  ms
#define ZMP_PROTO_LIVENESS_MIN  2
#define ZMP_PROTO_LIVENESS_MAX  1000

//  Task flags. ZMP_TASK_CHUNK: args is an array of argument arrays, and
//  the value an array of results, one per item. ZMP_TASK_PROCESS: run in a
//  fresh process of its own (a Process), outside the pool slots; it travels
//  with slot ZMP_PROTO_PROCESS_SLOT. ZMP_TASK_HANDLES: the arguments hold
//  handles to shared objects, which the broker keeps alive while the task
//  lives.
#define ZMP_TASK_CHUNK   1
#define ZMP_TASK_PROCESS 2
#define ZMP_TASK_HANDLES 4
#define ZMP_TASK_FLAGS_KNOWN                                                   \
    (ZMP_TASK_CHUNK | ZMP_TASK_PROCESS | ZMP_TASK_HANDLES)

//  The slot of every Process task in DISPATCH, DONE, PROCESS and KILL: a
//  Process has no window slot, its seq alone names it
#define ZMP_PROTO_PROCESS_SLOT UINT32_MAX

//  What a PROCESS event says
typedef enum {
    ZMP_EVENT_STARTED = 1,  //  The process runs; data: its host (str)
    ZMP_EVENT_STDOUT = 2,   //  It wrote to stdout; data: the bytes (bin)
    ZMP_EVENT_STDERR = 3    //  It wrote to stderr; data: the bytes (bin)
} zmp_event_kind_t;

typedef enum {
    ZMP_PROTO_HELLO = 1,
    ZMP_PROTO_WELCOME = 2,
    ZMP_PROTO_SUBMIT = 3,
    ZMP_PROTO_DISPATCH = 4,
    ZMP_PROTO_DONE = 5,
    ZMP_PROTO_RESULT = 6,
    ZMP_PROTO_CANCEL = 7,
    ZMP_PROTO_ABORT = 8,
    ZMP_PROTO_POOL = 9,
    ZMP_PROTO_STATUS = 10,
    ZMP_PROTO_REPLY = 11,
    ZMP_PROTO_ERROR = 12,
    ZMP_PROTO_HEARTBEAT = 13,
    ZMP_PROTO_BYE = 14,
    ZMP_PROTO_OBJECT = 15,
    ZMP_PROTO_PROCESS = 16,
    ZMP_PROTO_KILL = 17,
    ZMP_PROTO_COMMAND_MAX = 17
} zmp_proto_command_t;

typedef enum {
    ZMP_ROLE_CLIENT = 1,
    ZMP_ROLE_WORKER = 2
} zmp_role_t;

typedef struct {
    zmp_role_t role;
    int64_t pid;                        //  Peer's process id
    uint32_t slots;                     //  Worker: task slots (1..4096)
    uint32_t cores;                     //  Worker: CPU cores, 0 if unknown
    char host[ZMP_PROTO_HOST_MAX + 1];  //  Peer's host name
    char name[ZMP_PROTO_NAME_MAX + 1];  //  Free-form label, may be ""
    int64_t agent_pid;  //  Client: the worker agent whose task process
                        //  this is, 0 if none
    uint32_t attempt;   //  Peer's count of its HELLOs, 0 if it keeps none;
                        //  the WELCOME says which one it answers
    uint64_t session;   //  Client: random, the same for the life of the
                        //  client (across reconnections), 0 if none
} zmp_proto_hello_t;

typedef struct {
    uint32_t heartbeat_ms;  //  Interval at which both sides send
    uint32_t liveness;      //  Missed heartbeats before a side is dead
    uint32_t slots;         //  Slots in the whole cluster, right now
    uint32_t attempt;       //  The HELLO's attempt, echoed
    uint64_t run;           //  Random, one per broker start; 0 if none.
                            //  A client that sees it change re-attaches
                            //  its objects (a broker with a state
                            //  directory replays them)
    uint64_t max_message;   //  Bytes of the largest frame the broker
                            //  takes (a larger one drops the connection);
                            //  0 if it did not say
} zmp_proto_welcome_t;

typedef struct {
    uint64_t task_id;     //  Client's id, unique per client
    uint32_t pool_id;     //  Client's pool
    uint32_t flags;       //  ZMP_TASK_*
    uint32_t timeout_ms;  //  Run-time limit, 0: none
    char function[ZMP_FUNCTION_NAME_MAX + 1];  //  Registered function
} zmp_proto_task_t;

typedef struct {
    uint32_t slot;        //  Broker's window slot at this worker
    uint64_t seq;         //  Broker's dispatch number, unique per broker
    uint32_t attempt;     //  1 for the first run
    uint32_t flags;       //  ZMP_TASK_*
    uint32_t timeout_ms;  //  Run-time limit, 0: none
    char function[ZMP_FUNCTION_NAME_MAX + 1];
} zmp_proto_dispatch_t;

//  What running a task cost, measured by the process that ran it (the
//  fields of zmp_usage_t, section 4.5 of docs/PROTOCOL.md); each fits an
//  int64_t
#define ZMP_PROTO_USAGE_MAX ((uint64_t) INT64_MAX)

//  sum + value, or INT64_MAX if that is more: usage sums never wrap
static inline int64_t
zmp_usage_add (int64_t sum, uint64_t value)
{
    return value > (uint64_t) (INT64_MAX - sum) ? INT64_MAX
                                                : sum + (int64_t) value;
}
typedef struct {
    uint64_t start_us;     //  Began, µs since the Unix epoch
    uint64_t wall_us;      //  Ran for
    uint64_t user_us;      //  CPU in user mode
    uint64_t system_us;    //  CPU in the kernel
    uint64_t max_rss_kib;  //  Peak resident memory of its process so far
} zmp_proto_usage_t;

typedef struct {
    uint32_t slot;    //  As dispatched
    uint64_t seq;     //  As dispatched
    uint32_t status;  //  0, or the zmp_error_kind_t of the failure
    int64_t pid;      //  Process that ran it, 0 if none did
    uint64_t run_us;  //  From handing it to the process to its result,
                      //  as the agent saw it (0: did not run)
    bool has_usage;   //  usage was measured (the task ran to its end)
    zmp_proto_usage_t usage;
} zmp_proto_done_t;

typedef struct {
    uint64_t task_id;  //  As submitted
    uint32_t status;   //  0, or the zmp_error_kind_t of the failure
    int64_t pid;       //  Process that ran it, 0 if none did
    bool has_usage;    //  usage and host are known
    zmp_proto_usage_t usage;
    char host[ZMP_PROTO_HOST_MAX + 1];  //  The worker's host
} zmp_proto_result_t;

//  A worker host's load, in the body of the agent's HEARTBEAT
typedef struct {
    uint32_t cpu_permille;       //  Share of all its cores busy since the
                                 //  last report, 0 to 1000
    uint64_t mem_total_kib;      //  Its memory
    uint64_t mem_available_kib;  //  Of that, available to new work
} zmp_proto_load_t;

typedef struct {
    uint32_t pool_id;
    uint32_t processes;  //  Cap on running tasks, 0: none
    bool close;          //  The pool is gone
} zmp_proto_pool_t;

typedef struct {
    uint32_t slot;   //  ZMP_PROTO_PROCESS_SLOT
    uint64_t seq;    //  As dispatched
    uint32_t event;  //  zmp_event_kind_t
    int64_t pid;     //  The process
} zmp_proto_event_t;

typedef struct {
    uint64_t task_id;  //  As submitted
    uint32_t event;    //  zmp_event_kind_t
    int64_t pid;       //  The process
} zmp_proto_task_event_t;

typedef struct {
    uint64_t task_id;  //  Client side: the Process's task id
    uint32_t slot;     //  Worker side: ZMP_PROTO_PROCESS_SLOT
    uint64_t seq;      //  Worker side: as dispatched
    uint32_t signal;   //  1 to 64
} zmp_proto_kill_t;

//  A new message holding only the header for command.
zmsg_t *zmp_proto_new (zmp_proto_command_t command);

//  Check frame 0 of msg. Returns the command, or -1 with kind protocol
//  and the reason: no header, wrong size or signature, another protocol
//  version (message names both), unknown command.
int zmp_proto_command (zmsg_t *msg, zmp_error_t *error);

//  Number of (header, body) pairs after the header frame of a SUBMIT,
//  DISPATCH, DONE or RESULT. Returns 1 to ZMP_PROTO_BATCH_MAX, or -1 with
//  kind protocol if there are none, too many, or a frame is missing.
int zmp_proto_pairs (zmsg_t *msg, zmp_error_t *error);

//  Name of a command ("SUBMIT"), for logs.
const char *zmp_proto_command_name (int command);

//  True if name is a valid function name: 1 to ZMP_FUNCTION_NAME_MAX bytes
//  of [A-Za-z0-9_.:-].
bool zmp_proto_valid_name (const char *name, size_t length);

//  Encoders: each returns a new frame holding one msgpack value.
zframe_t *zmp_proto_encode_hello (const zmp_proto_hello_t *hello);
zframe_t *zmp_proto_encode_welcome (const zmp_proto_welcome_t *welcome);
zframe_t *zmp_proto_encode_task (const zmp_proto_task_t *task);
zframe_t *zmp_proto_encode_dispatch (const zmp_proto_dispatch_t *dispatch);
zframe_t *zmp_proto_encode_done (const zmp_proto_done_t *done);
zframe_t *zmp_proto_encode_result (const zmp_proto_result_t *result);
zframe_t *zmp_proto_encode_pool (const zmp_proto_pool_t *pool);
zframe_t *zmp_proto_encode_load (const zmp_proto_load_t *load);
zframe_t *zmp_proto_encode_abort (uint32_t slot, uint64_t seq);
zframe_t *zmp_proto_encode_uint (uint64_t value);
//  An ERROR or BYE body: {"kind": n, "message": str}, with "unknown_peer":
//  true added when unknown_peer; kind 0 for BYE. message is cut at
//  ZMP_PROTO_MESSAGE_MAX bytes.
zframe_t *zmp_proto_encode_notice (zmp_error_kind_t kind, const char *message,
                                   bool unknown_peer);
//  A CANCEL body for a whole pool: {"pool": id}.
zframe_t *zmp_proto_encode_cancel_pool (uint32_t pool_id);
//  A CANCEL body for one task of a pool: {"pool": id, "task": task_id}.
zframe_t *zmp_proto_encode_cancel_task (uint32_t pool_id, uint64_t task_id);
//  An error value frame (the wire error map).
zframe_t *zmp_proto_encode_error (const zmp_error_t *error);
zframe_t *zmp_proto_encode_event (const zmp_proto_event_t *event);
zframe_t *zmp_proto_encode_task_event (const zmp_proto_task_event_t *event);
//  KILL bodies: the client's form [task-id, signal], the worker's
//  [slot, seq, signal]
zframe_t *zmp_proto_encode_kill (const zmp_proto_kill_t *kill);
zframe_t *zmp_proto_encode_kill_worker (const zmp_proto_kill_t *kill);
//  An OBJECT outcome: [0, value], value being size bytes of one packed
//  msgpack value (NULL: nil) copied in as they are.
zframe_t *zmp_proto_encode_outcome (const void *value, size_t size);
//  An OBJECT outcome for a failure: [kind, error map].
zframe_t *zmp_proto_encode_outcome_error (const zmp_error_t *error);

//  Decoders: each reads one frame (borrowed) and fills the struct. Returns
//  0, or -1 with kind protocol and a reason naming the message and field.
int zmp_proto_decode_hello (zframe_t *frame, zmp_proto_hello_t *hello,
                            zmp_error_t *error);
int zmp_proto_decode_welcome (zframe_t *frame, zmp_proto_welcome_t *welcome,
                              zmp_error_t *error);
int zmp_proto_decode_task (zframe_t *frame, zmp_proto_task_t *task,
                           zmp_error_t *error);
int zmp_proto_decode_dispatch (zframe_t *frame, zmp_proto_dispatch_t *dispatch,
                               zmp_error_t *error);
int zmp_proto_decode_done (zframe_t *frame, zmp_proto_done_t *done,
                           zmp_error_t *error);
int zmp_proto_decode_result (zframe_t *frame, zmp_proto_result_t *result,
                             zmp_error_t *error);
int zmp_proto_decode_load (zframe_t *frame, zmp_proto_load_t *load,
                           zmp_error_t *error);
int zmp_proto_decode_pool (zframe_t *frame, zmp_proto_pool_t *pool,
                           zmp_error_t *error);
int zmp_proto_decode_abort (zframe_t *frame, uint32_t *slot, uint64_t *seq,
                            zmp_error_t *error);
int zmp_proto_decode_uint (zframe_t *frame, uint64_t *value,
                           zmp_error_t *error);
//  An ERROR or BYE body into notice (kind from the body; message copied,
//  cut to fit); *unknown_peer (may be NULL) says if the sender must say
//  HELLO again, and is false whenever the body is refused.
int zmp_proto_decode_notice (zframe_t *frame, zmp_error_t *notice,
                             bool *unknown_peer, zmp_error_t *error);
//  A CANCEL body: sets *pool_id.
int zmp_proto_decode_cancel (zframe_t *frame, uint32_t *pool_id,
                             zmp_error_t *error);
//  The same, and *one_task with *task_id when it names one task.
int zmp_proto_decode_cancel_task (zframe_t *frame, uint32_t *pool_id,
                                  bool *one_task, uint64_t *task_id,
                                  zmp_error_t *error);
int zmp_proto_decode_event (zframe_t *frame, zmp_proto_event_t *event,
                            zmp_error_t *error);
int zmp_proto_decode_task_event (zframe_t *frame, zmp_proto_task_event_t *event,
                                 zmp_error_t *error);
int zmp_proto_decode_kill (zframe_t *frame, zmp_proto_kill_t *kill,
                           zmp_error_t *error);
int zmp_proto_decode_kill_worker (zframe_t *frame, zmp_proto_kill_t *kill,
                                  zmp_error_t *error);
//  An OBJECT outcome. Always takes *frame_p. Returns the value (focused
//  on the outcome's value) when the status is 0; else NULL with the
//  remote error, or kind protocol if the frame is no outcome.
zmp_value_t *zmp_proto_decode_outcome (zframe_t **frame_p, zmp_error_t *error);

#endif
