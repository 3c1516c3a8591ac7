/*  zmpool.h - the public API of zmpool, a multi-host process pool for C

    Two audiences use this header.

    Client programs connect to a broker and run tasks on the cluster with a
    Pool, in the shape Python's multiprocessing made familiar: map, imap,
    imap_unordered, starmap, apply and apply_async with callbacks. Link with
    libzmpool.

    Task authors write task functions (zmp_task_fn) and put them in a module:
    a shared library that exports zmpool_module_init (), loaded by
    `zmpool worker --module PATH`. The worker runs each task in a forked
    child process, so a task that crashes takes only itself down.

    Values (arguments and results) are msgpack objects. The zmp_int (),
    zmp_str (), zmp_array () ... helpers below build them without a zone.

    Threads: every function here may be called from any thread. Callbacks run
    on the client's I/O thread, as Python's result-handler thread runs them;
    a callback must not block for long, but it may call this API.

    Errors: a function that can fail for an outside reason takes a last
    argument zmp_error_t *error (which may be NULL) and fills it on failure
    only: kind, one-line message, and the host and pid where it happened.
*/
#ifndef ZMPOOL_H_INCLUDED
#define ZMPOOL_H_INCLUDED

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMPOOL_VERSION_MAJOR 0
#define ZMPOOL_VERSION_MINOR 1
#define ZMPOOL_VERSION_PATCH 0
#define ZMPOOL_VERSION       "0.1.0"

//  The broker a client or worker uses when it is given none and
//  $ZMPOOL_BROKER is not set
#define ZMP_DEFAULT_ENDPOINT "tcp://127.0.0.1:5555"

//  Wait forever, where a function takes timeout_ms
#define ZMP_FOREVER -1


//  --------------------------------------------------------------------------
//  Errors

//  Every kind of failure a caller can see. The numbers travel on the wire
//  (docs/PROTOCOL.md) and never change meaning; new kinds get new numbers.
//  X (ENUM, code, wire name, text)
#define ZMP_ERROR_KINDS(X)                                                     \
    X (NONE, 0, "none", "no error")                                            \
    X (TASK, 1, "task_error", "task failed")                                   \
    X (UNKNOWN_FUNCTION, 2, "unknown_function", "unknown function")            \
    X (BAD_ARGUMENTS, 3, "bad_arguments", "bad arguments")                     \
    X (WORKER_LOST, 4, "worker_lost", "worker lost")                           \
    X (CRASHED, 5, "crashed", "process crashed")                               \
    X (TIMEOUT, 6, "timeout", "task timed out")                                \
    X (CANCELLED, 7, "cancelled", "cancelled")                                 \
    X (UNREACHABLE, 8, "broker_unreachable", "broker unreachable")             \
    X (NOT_AUTHORIZED, 9, "not_authorized", "not authorized")                  \
    X (PROTOCOL, 10, "protocol", "protocol error")                             \
    X (LIMIT, 11, "limit", "limit exceeded")                                   \
    X (SYSTEM, 12, "system", "system error")                                   \
    X (WAIT_TIMEOUT, 13, "wait_timeout", "timed out waiting")                  \
    X (USAGE, 14, "usage", "invalid use")                                      \
    X (EMPTY, 15, "empty", "empty")                                            \
    X (FULL, 16, "full", "full")                                               \
    X (CLOSED, 17, "closed", "closed")                                         \
    X (NOT_FOUND, 18, "not_found", "not found")                                \
    X (BROKEN, 19, "broken", "broken")                                         \
    X (RANGE, 20, "range", "out of range")

typedef enum {
#define ZMP_ERROR_ENUM(name, code, wire, text) ZMP_ERR_##name = code,
    ZMP_ERROR_KINDS (ZMP_ERROR_ENUM)
#undef ZMP_ERROR_ENUM
    ZMP_ERR_COUNT
} zmp_error_kind_t;

#define ZMP_ERROR_MESSAGE_MAX 256
#define ZMP_ERROR_HOST_MAX    256

//  A structured error. Fixed-size fields, so that failing paths do not
//  allocate; strings are always NUL-terminated and may be truncated.
typedef struct zmp_error {
    zmp_error_kind_t kind;                //  ZMP_ERR_NONE when all is well
    int signal;                           //  Signal number, for ZMP_ERR_CRASHED
    int code;                             //  The task's own error code, or 0
    int64_t pid;                          //  Process that failed, 0 if unknown
    int64_t index;                        //  Failing item's position in the
                                          //  input of a map, -1 if none
    char host[ZMP_ERROR_HOST_MAX];        //  Host that failed, "" if unknown
    char message[ZMP_ERROR_MESSAGE_MAX];  //  One line, no final period
} zmp_error_t;

//  Wire name of kind ("worker_lost"), or "unknown" for a bad value.
const char *zmp_error_kind_name (zmp_error_kind_t kind);

//  Short text of kind ("worker lost"), or "unknown error".
const char *zmp_error_kind_text (zmp_error_kind_t kind);

//  Format error as one line into buffer, e.g. "process crashed (signal 11,
//  SIGSEGV) on node-3 pid 4242: task square". Returns buffer.
const char *zmp_error_format (const zmp_error_t *error, char *buffer,
                              size_t size);


//  --------------------------------------------------------------------------
//  Values: msgpack objects built in place, without a zone

static inline msgpack_object
zmp_nil (void)
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_NIL;
    object.via.u64 = 0;
    return object;
}

static inline msgpack_object
zmp_bool (bool value)
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_BOOLEAN;
    object.via.u64 = 0;
    object.via.boolean = value;
    return object;
}

static inline msgpack_object
zmp_int (int64_t value)
{
    msgpack_object object;
    object.type = value < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER
                            : MSGPACK_OBJECT_POSITIVE_INTEGER;
    object.via.i64 = value;
    return object;
}

//  Any unsigned integer, above INT64_MAX too.
static inline msgpack_object
zmp_uint (uint64_t value)
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
    object.via.u64 = value;
    return object;
}

static inline msgpack_object
zmp_double (double value)
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_FLOAT64;
    object.via.f64 = value;
    return object;
}

//  The string is borrowed: it must outlive every use of the object.
static inline msgpack_object
zmp_str (const char *string)
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_STR;
    object.via.str.ptr = string;
    object.via.str.size = 0;
    while (string[object.via.str.size])
        object.via.str.size++;
    return object;
}

//  The items are borrowed: they must outlive every use of the object.
static inline msgpack_object
zmp_array (msgpack_object *items, uint32_t count)
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_ARRAY;
    object.via.array.ptr = items;
    object.via.array.size = count;
    return object;
}

//  A map over pairs; the pairs are borrowed: they must outlive every use
//  of the object.
static inline msgpack_object
zmp_map (msgpack_object_kv *pairs, uint32_t count)
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_MAP;
    object.via.map.ptr = pairs;
    object.via.map.size = count;
    return object;
}

//  A map entry with a string key (borrowed, as for zmp_str).
static inline msgpack_object_kv
zmp_pair (const char *key, msgpack_object value)
{
    msgpack_object_kv pair;
    pair.key = zmp_str (key);
    pair.val = value;
    return pair;
}

//  A decoded msgpack value with its own storage, as returned by
//  zmp_pool_apply () and zmp_client_status ().
typedef struct zmp_value zmp_value_t;

//  The value; valid until the zmp_value_t is destroyed.
const msgpack_object *zmp_value_get (const zmp_value_t *self);

//  Destroy the value and set *self_p to NULL. Does nothing if it is NULL.
void zmp_value_destroy (zmp_value_t **self_p);

//  Argument helpers for task functions. Each returns false, and leaves
//  *value alone, when args is not an array, index is out of range or the
//  item has another type. zmp_arg_double accepts integers too.
bool zmp_arg_int (const msgpack_object *args, uint32_t index, int64_t *value);
bool zmp_arg_double (const msgpack_object *args, uint32_t index, double *value);
bool zmp_arg_str (const msgpack_object *args, uint32_t index,
                  const char **value, uint32_t *size);

//  Number of arguments in args (an array), or 0 if args is not an array.
uint32_t zmp_arg_count (const msgpack_object *args);


//  --------------------------------------------------------------------------
//  Task functions and modules

//  What a running task can see of itself. Owned by the worker.
typedef struct zmp_task zmp_task_t;

//  A task function. args is the array of positional arguments; it and all
//  it points to are valid during the call only. On success pack exactly one
//  value into result and return 0. On failure return zmp_task_fail () or
//  zmp_task_bad_arguments (), having packed nothing. The function runs in a
//  worker's child process: it may crash without harming anyone else.
typedef int (zmp_task_fn) (zmp_task_t *task, const msgpack_object *args,
                           msgpack_packer *result);

//  Fail the task with kind task_error and a message. Returns -1.
int zmp_task_fail (zmp_task_t *task, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Fail the task with kind task_error, an error code of the task's own
//  (a Process's exit code; never 0) and a message. Returns -1.
int zmp_task_fail_code (zmp_task_t *task, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Fail the task with kind bad_arguments and a message. Returns -1.
int zmp_task_bad_arguments (zmp_task_t *task, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  The name of the function this task runs.
const char *zmp_task_function (const zmp_task_t *task);

//  The set of task functions a worker offers.
typedef struct zmp_registry zmp_registry_t;

#define ZMP_FUNCTION_NAME_MAX 128

//  Register fn under name (1 to ZMP_FUNCTION_NAME_MAX bytes of letters,
//  digits, '_', '-', '.', ':'). summary is one line for listings, or NULL.
//  Returns 0, or -1 if the name is invalid or already taken.
int zmp_registry_add (zmp_registry_t *registry, const char *name,
                      zmp_task_fn *fn, const char *summary);

//  A module exports this function, which registers its task functions and
//  returns 0, or -1 to refuse to load.
#define ZMP_MODULE_INIT_SYMBOL "zmpool_module_init"
typedef int (zmp_module_init_fn) (zmp_registry_t *registry);


//  --------------------------------------------------------------------------
//  Client: a connection to a broker

typedef struct zmp_client zmp_client_t;

//  Connect to the broker at endpoint (NULL: $ZMPOOL_BROKER, else
//  ZMP_DEFAULT_ENDPOINT) and wait up to timeout_ms for it to answer.
//  Returns NULL with kind broker_unreachable if it does not, with kind
//  not_authorized if it refused this client (its keys, or their role).
//  Starts the client's I/O thread. With $ZMPOOL_CURVE_SECRET (this
//  client's key pair, a NAME.key_secret from zmpool keygen) and
//  $ZMPOOL_CURVE_SERVER (the broker's public key file) set, connects with
//  CURVE, as zmp_client_connect_curve. Clients may be made on any thread;
//  but czmq sets itself up on its first use in the process, and not
//  safely from two threads at once: a program that also uses czmq itself
//  on another thread calls zsys_init () first, before its threads start.
zmp_client_t *zmp_client_connect (const char *endpoint, int timeout_ms,
                                  zmp_error_t *error);

//  Connect with CURVE: authenticated by the key pair in secret_path (a
//  file only its owner may read), the broker by the public key in
//  server_path; everything encrypted. Kind usage if a file does not load.
zmp_client_t *zmp_client_connect_curve (const char *endpoint, int timeout_ms,
                                        const char *secret_path,
                                        const char *server_path,
                                        zmp_error_t *error);

//  Say goodbye to the broker, stop the I/O thread and free the client. Pools,
//  results and iterators made from it must be destroyed first, and no other
//  thread may be inside a call on it. Does nothing if *self_p is NULL; sets
//  it to NULL.
void zmp_client_destroy (zmp_client_t **self_p);

//  The endpoint this client is connected to.
const char *zmp_client_endpoint (const zmp_client_t *self);

//  Total task slots in the cluster, as the broker last reported it.
int zmp_client_slots (const zmp_client_t *self);

//  Back-pressure: once max apply_async tasks of this client are in flight
//  (submitted, result not yet in), the next apply_async waits for a result
//  before it submits, so that a producer faster than the cluster is
//  slowed, never dropped. It waits as long as that takes (with no worker
//  in the cluster, until one joins), and the count covers all the client's
//  pools together. Callbacks (which run on the client's I/O thread) never
//  wait. The default is ZMP_CLIENT_IN_FLIGHT_DEFAULT; max must be at
//  least 1. The iterators (map, imap...) bound themselves by their window.
#define ZMP_CLIENT_IN_FLIGHT_DEFAULT 10000
void zmp_client_set_max_in_flight (zmp_client_t *self, uint64_t max);

//  Resume: when the broker is lost (silent, gone, or restarted and no
//  longer knowing this client), pool tasks without a result are kept for
//  up to resume_ms while the client says HELLO again; once a broker
//  answers, they are submitted again (a task may so run twice; its result
//  is delivered once) and maps, iterators and async results go on. Tasks
//  submitted meanwhile wait with them. If no broker answers in time, they
//  all fail with kind broker_unreachable. Control requests, shared-object
//  calls and Processes fail at once when the broker is lost. 0 fails
//  everything at once. The default is ZMP_CLIENT_RESUME_DEFAULT_MS, or
//  $ZMPOOL_RESUME_MS when set.
#define ZMP_CLIENT_RESUME_DEFAULT_MS 30000
void zmp_client_set_resume (zmp_client_t *self, int resume_ms);


//  Ask the broker for its status (workers, slots, queue depth, counters).
//  Blocks up to timeout_ms. Returns a map the caller destroys, or NULL.
//  docs/PROTOCOL.md lists the fields.
zmp_value_t *zmp_client_status (zmp_client_t *self, int timeout_ms,
                                zmp_error_t *error);


//  --------------------------------------------------------------------------
//  Pool

typedef struct zmp_pool zmp_pool_t;
typedef struct zmp_async zmp_async_t;

//  What running a task cost, as the worker that ran it measured it
typedef struct {
    int64_t start_us;     //  When it began: µs since the Unix epoch, by the
                          //  worker's clock
    int64_t wall_us;      //  How long it ran
    int64_t user_us;      //  CPU time in user mode: the task's, and that of
                          //  processes it started and waited for
    int64_t system_us;    //  CPU time in the kernel, likewise
    int64_t max_rss_kib;  //  Peak resident memory of the process that ran
                          //  it, up to the task's end: a pool process runs
                          //  many tasks, and this is the peak of them all
    int64_t pid;          //  That process
    char host[ZMP_ERROR_HOST_MAX];  //  Its worker's host
} zmp_usage_t;

//  What the tasks of a pool cost, summed over those whose usage came back
typedef struct {
    uint64_t tasks;   //  Tasks measured (a chunk of a map is one task)
    int64_t wall_us;  //  Sums
    int64_t user_us;
    int64_t system_us;
    int64_t max_rss_kib;  //  The largest peak
} zmp_pool_usage_t;
typedef struct zmp_iter zmp_iter_t;
typedef struct zmp_results zmp_results_t;

//  Create a pool on client. processes caps this pool's tasks running at once
//  (0: every slot of the cluster). The pool is the broker's unit of
//  fairness and of terminate.
zmp_pool_t *zmp_pool_new (zmp_client_t *client, int processes,
                          zmp_error_t *error);

//  Terminate the pool if it was not joined, then free it. Results and
//  iterators made from it stay valid until destroyed; tasks that had not
//  finished end as cancelled. Does nothing if *self_p is NULL.
void zmp_pool_destroy (zmp_pool_t **self_p);

//  The processes cap this pool was created with, or if that was 0, the
//  cluster's slots when it was created.
int zmp_pool_processes (const zmp_pool_t *self);

//  Limit the run time of each task submitted to the pool from now on to
//  timeout_ms (0: no limit, the default; at most ZMP_TASK_TIMEOUT_MAX_MS).
//  A task over it gets SIGTERM, then SIGKILL after the agent's grace
//  period; its process is replaced and the task ends with kind timeout
//  (after the broker's retries for crashes). For a chunk the limit covers
//  the whole chunk. Unlike the timeout of get or wait, which only stops
//  waiting, this stops the task. Returns 0, or -1 with kind usage.
#define ZMP_TASK_TIMEOUT_MAX_MS 604800000
int zmp_pool_set_task_timeout (zmp_pool_t *self, int64_t timeout_ms,
                               zmp_error_t *error);

//  Accept no more tasks; those submitted go on.
void zmp_pool_close (zmp_pool_t *self);

//  What the pool's tasks have cost so far (results that came back from a
//  run: not refused, cancelled or lost ones).
void zmp_pool_usage (zmp_pool_t *self, zmp_pool_usage_t *usage);

//  Wait until every task submitted to the pool has finished. The pool must
//  be closed first (kind usage otherwise). Returns 0, or -1 with kind
//  wait_timeout after timeout_ms.
int zmp_pool_join (zmp_pool_t *self, int timeout_ms, zmp_error_t *error);

//  Stop at once: queued tasks of this pool are dropped and running ones are
//  killed; all end as cancelled. Other pools are not touched.
void zmp_pool_terminate (zmp_pool_t *self);

//  Apply function to each item (one argument each) and wait for all
//  results, in order. chunksize 0 picks one as CPython does (items / (4 x
//  processes), rounded up). Returns the results, or NULL with the error of
//  the first item that failed.
zmp_results_t *zmp_pool_map (zmp_pool_t *self, const char *function,
                             const msgpack_object *items, size_t count,
                             size_t chunksize, zmp_error_t *error);

//  As zmp_pool_map, but each item is an array of arguments.
zmp_results_t *zmp_pool_starmap (zmp_pool_t *self, const char *function,
                                 const msgpack_object *items, size_t count,
                                 size_t chunksize, zmp_error_t *error);

size_t zmp_results_size (const zmp_results_t *self);

//  Result of item index; valid until the results are destroyed.
const msgpack_object *zmp_results_get (const zmp_results_t *self, size_t index);

void zmp_results_destroy (zmp_results_t **self_p);

//  A source of items for the lazy iterators: returns the next item, or NULL
//  at the end. The item must stay valid until the next call.
typedef const msgpack_object *(zmp_source_fn) (void *state);

//  A source over an array of items; set next to 0.
typedef struct {
    const msgpack_object *items;
    size_t count;
    size_t next;
} zmp_array_source_t;
const msgpack_object *zmp_array_source (void *state);

//  Apply function to each item that source gives, lazily: at most a window
//  of tasks is in flight, and source is called (on the caller's thread,
//  from zmp_iter_next) only to refill it. Results come back in order.
//  chunksize 0 means 1, as in CPython.
zmp_iter_t *zmp_pool_imap (zmp_pool_t *self, const char *function,
                           zmp_source_fn *source, void *state, size_t chunksize,
                           zmp_error_t *error);

//  As zmp_pool_imap, but results come back as they finish.
zmp_iter_t *zmp_pool_imap_unordered (zmp_pool_t *self, const char *function,
                                     zmp_source_fn *source, void *state,
                                     size_t chunksize, zmp_error_t *error);

//  As zmp_pool_imap, but each item is an array of arguments (the lazy
//  starmap Python lacks).
zmp_iter_t *zmp_pool_istarmap (zmp_pool_t *self, const char *function,
                               zmp_source_fn *source, void *state,
                               size_t chunksize, zmp_error_t *error);

//  True once every item has been returned by zmp_iter_next. May call the
//  source to find out.
bool zmp_iter_done (zmp_iter_t *self);

//  The next result, waiting up to timeout_ms. Returns the value, valid
//  until the next call or destroy; or NULL with an error: the item's own
//  error (the iterator has moved past it), wait_timeout (nothing consumed:
//  call again), or usage once the iterator is done.
const msgpack_object *zmp_iter_next (zmp_iter_t *self, int timeout_ms,
                                     zmp_error_t *error);

//  Position in the input of the item zmp_iter_next last returned.
size_t zmp_iter_index (const zmp_iter_t *self);

//  What the task that computed the item zmp_iter_next last returned cost:
//  with a chunksize above 1, the whole chunk's. Returns false, usage
//  untouched, if it is not known (nothing returned yet, or the task did
//  not run to its end).
bool zmp_iter_usage (const zmp_iter_t *self, zmp_usage_t *usage);

//  Free the iterator; tasks still in flight go on, their results are
//  dropped.
void zmp_iter_destroy (zmp_iter_t **self_p);

//  Called on the client's I/O thread when an async result is ready.
typedef void (zmp_callback_fn) (zmp_async_t *result, void *arg);

//  Run function with args (an array of arguments, or NULL for none) on the
//  cluster. callback runs when it succeeds, error_callback when it fails
//  (either may be NULL), both with arg. Returns the async result; destroying
//  it does not stop the task nor its callbacks.
zmp_async_t *zmp_pool_apply_async (zmp_pool_t *self, const char *function,
                                   const msgpack_object *args,
                                   zmp_callback_fn *callback,
                                   zmp_callback_fn *error_callback, void *arg,
                                   zmp_error_t *error);

//  Run function with args and wait for its result, which the caller
//  destroys. Returns NULL with the task's error.
zmp_value_t *zmp_pool_apply (zmp_pool_t *self, const char *function,
                             const msgpack_object *args, zmp_error_t *error);

//  Wait up to timeout_ms for the result. Returns 0 once ready, -1 if not.
int zmp_async_wait (zmp_async_t *self, int timeout_ms);

bool zmp_async_ready (zmp_async_t *self);

//  True if ready and the task succeeded.
bool zmp_async_successful (zmp_async_t *self);

//  What the task cost, once ready. Returns false, usage untouched, if not
//  ready, or it did not run to its end (refused, cancelled, lost, crashed).
bool zmp_async_usage (zmp_async_t *self, zmp_usage_t *usage);

//  The result, waiting up to timeout_ms; valid until the async is
//  destroyed. NULL with the task's error, or with kind wait_timeout if it is
//  not ready yet: the task goes on, and get may be called again.
const msgpack_object *zmp_async_get (zmp_async_t *self, int timeout_ms,
                                     zmp_error_t *error);

//  Cancel the task: dropped if it is still queued, stopped (its process
//  killed and replaced) if it runs. Its result becomes the error kind
//  cancelled at once, and its error callback runs. Returns true if it was
//  cancelled, false if its result was in already. Other tasks of the pool
//  are not touched.
bool zmp_async_cancel (zmp_async_t *self);

//  Free the caller's handle. A task still running goes on, and its
//  callbacks still run. Does nothing if *self_p is NULL.
void zmp_async_destroy (zmp_async_t **self_p);


//  --------------------------------------------------------------------------
//  Process: one function in a fresh process of its own

//  A Process runs one task function in a process forked for it alone on
//  some worker host (not a pool child, and not counted against the pool
//  slots), as Python's multiprocessing.Process does on one host. What it
//  writes to stdout and stderr comes back as it is produced, by default to
//  this program's stdout and stderr. A Process still running when its
//  client disconnects is killed.
typedef struct zmp_process zmp_process_t;

//  exitcode of a process that has not ended (Python's None)
#define ZMP_EXITCODE_NONE (-1000)

//  Called on the client's I/O thread with each piece of a process's
//  output; stream is 1 (stdout) or 2 (stderr). data is not NUL-terminated
//  and valid during the call only.
typedef void (zmp_output_fn) (zmp_process_t *process, int stream,
                              const char *data, size_t size, void *arg);

//  A process that will run function with args (an array, or NULL for
//  none) once started. Nothing runs yet.
zmp_process_t *zmp_process_new (zmp_client_t *client, const char *function,
                                const msgpack_object *args, zmp_error_t *error);

//  Free the handle. A process still running goes on, as in Python, until
//  its function returns or its client disconnects; its output is dropped.
//  Does nothing if *self_p is NULL.
void zmp_process_destroy (zmp_process_t **self_p);

//  Send the process's output to output (NULL: drop it) instead of this
//  program's stdout and stderr. Call before zmp_process_start.
void zmp_process_set_output (zmp_process_t *self, zmp_output_fn *output,
                             void *arg);

//  Start the process and wait until it runs (its pid and host are known)
//  or has failed to start. Waits at most the client's timeout for a worker
//  to take it; then the start is called off (kind wait_timeout). Returns 0
//  or -1.
int zmp_process_start (zmp_process_t *self, zmp_error_t *error);

//  Wait up to timeout_ms for the process to end, and for all its output to
//  be delivered. Returns 0 once it has ended (whatever its exitcode), -1
//  with kind wait_timeout if it still runs, or kind usage if it was never
//  started.
int zmp_process_join (zmp_process_t *self, int timeout_ms, zmp_error_t *error);

//  True from a successful start until the process ends.
bool zmp_process_is_alive (zmp_process_t *self);

//  How it ended, as Python says it: 0 if the function succeeded; the
//  task's own error code (zmp_task_fail_code) or 1 if it failed; minus the
//  signal number if a signal ended it; the exit status if the function
//  called exit (). ZMP_EXITCODE_NONE while it runs or before it starts.
int zmp_process_exitcode (zmp_process_t *self);

//  Why the process failed (valid once it ended with a nonzero exitcode),
//  or NULL.
const zmp_error_t *zmp_process_error (zmp_process_t *self);

//  What the function returned, once the process ended with exitcode 0;
//  else NULL. Valid until the process is destroyed.
const msgpack_object *zmp_process_result (zmp_process_t *self);

//  Process id and host of the process: 0 and "" until it has started.
int64_t zmp_process_pid (zmp_process_t *self);
const char *zmp_process_host (zmp_process_t *self);

//  What its function used, once the process has ended after it returned
//  (measured in the process, as for pool tasks). Returns false, usage
//  untouched, before that, or if it died or was killed first.
bool zmp_process_usage (zmp_process_t *self, zmp_usage_t *usage);

//  Send SIGTERM (terminate) or SIGKILL (kill) to the process. Returns 0,
//  or -1 if it was never started or the broker is unreachable. Sending to
//  a process that has already ended does nothing.
int zmp_process_terminate (zmp_process_t *self, zmp_error_t *error);
int zmp_process_kill (zmp_process_t *self, zmp_error_t *error);


//  --------------------------------------------------------------------------
//  Shared objects: queues, pipes, locks, values and containers

//  These objects live in the broker, so every process of the cluster, on
//  any host, can use the same one. Each is reached through a handle: a
//  small msgpack value (extension type ZMP_HANDLE_EXT_TYPE) that travels
//  wherever a value can, as a task or Process argument or inside a queue
//  item. Python refuses to pass a plain Queue to a Pool task; zmpool does
//  not. A task turns a handle argument back into an object with
//  zmp_task_queue () and friends; a client program with zmp_queue_attach ()
//  and friends.
//
//  Lifetime: an object lives while its creator (or a client that attached
//  it) holds it, and while any task or Process that got its handle as an
//  argument is queued or running. It is freed in the broker when the last
//  of them lets go: by destroy, by disconnecting, or by ending. Using a
//  handle to an object that is gone fails with kind not_found.
//
//  Blocking calls wait in the broker, in a waiting list served in order of
//  arrival: nothing polls. timeout_ms is 0 to not wait, a number of
//  milliseconds, or ZMP_FOREVER.
//
//  Owner death: a lock held by a process belongs to that process (its
//  connection to the broker). When the process ends, or it or its host
//  dies, the broker releases the locks it held, and the next acquire
//  returns ZMP_OWNER_DIED instead of 0, as pthread_mutex_lock returns
//  EOWNERDEAD for a robust mutex: the lock is held, but what it guarded
//  may be half-changed. Semaphore units come back only when their holder
//  dies (a semaphore has no owner in Python; a process that ends cleanly
//  keeps what it took).
//
//  Every object may be used from several threads at once.

#define ZMP_HANDLE_EXT_TYPE 90
#define ZMP_OWNER_DIED      1

typedef enum {
    ZMP_OBJECT_QUEUE = 1,
    ZMP_OBJECT_PIPE = 2,  //  One end of a pipe: a zmp_connection_t
    ZMP_OBJECT_LOCK = 3,
    ZMP_OBJECT_RLOCK = 4,
    ZMP_OBJECT_SEMAPHORE = 5,
    ZMP_OBJECT_EVENT = 6,
    ZMP_OBJECT_CONDITION = 7,
    ZMP_OBJECT_BARRIER = 8,
    ZMP_OBJECT_VALUE = 9,
    ZMP_OBJECT_ARRAY = 10,
    ZMP_OBJECT_DICT = 11,
    ZMP_OBJECT_LIST = 12
} zmp_object_kind_t;

//  The kind of object value is a handle to, or 0 if it is no handle.
int zmp_handle_kind (const msgpack_object *value);

//  A slice bound meaning "to the end", as an omitted stop in Python
#define ZMP_SLICE_END INT64_MAX

//  Queue -------------------------------------------------------------------

//  A FIFO of msgpack values, as multiprocessing.Queue. maxsize 0: no bound.
//  A joinable queue also counts unfinished items (task_done, join).
typedef struct zmp_queue zmp_queue_t;

zmp_queue_t *zmp_queue_new (zmp_client_t *client, size_t maxsize,
                            zmp_error_t *error);
zmp_queue_t *zmp_joinable_queue_new (zmp_client_t *client, size_t maxsize,
                                     zmp_error_t *error);

//  An object for a handle another process gave this client (see above).
zmp_queue_t *zmp_queue_attach (zmp_client_t *client,
                               const msgpack_object *handle,
                               zmp_error_t *error);

//  Let go of the queue (it is freed once nobody holds it) and free the
//  handle object. Waits for puts still in flight. Does nothing if *self_p is NULL.
void zmp_queue_destroy (zmp_queue_t **self_p);

//  The handle, to pass as an argument; valid while the queue object lives.
msgpack_object zmp_queue_handle (const zmp_queue_t *self);

//  Put a copy of item at the end. On a bounded queue, waits up to
//  timeout_ms for room (kind full if none came). On an unbounded queue put
//  does not wait for the broker at all, as Python's feeder thread does
//  not: puts travel in order, and an error one meets (the queue was
//  closed, say) is returned by the next call on this queue object.
int zmp_queue_put (zmp_queue_t *self, const msgpack_object *item,
                   int timeout_ms, zmp_error_t *error);
int zmp_queue_put_nowait (zmp_queue_t *self, const msgpack_object *item,
                          zmp_error_t *error);

//  Take the first item, waiting up to timeout_ms for one. Returns the item
//  (the caller destroys it), or NULL: kind empty when none came in time,
//  kind closed when the queue is closed and empty.
zmp_value_t *zmp_queue_get (zmp_queue_t *self, int timeout_ms,
                            zmp_error_t *error);
zmp_value_t *zmp_queue_get_nowait (zmp_queue_t *self, zmp_error_t *error);

//  Items in the queue now, or -1 on error.
long zmp_queue_qsize (zmp_queue_t *self, zmp_error_t *error);
bool zmp_queue_empty (zmp_queue_t *self);
bool zmp_queue_full (zmp_queue_t *self);

//  Close the queue for everyone: puts fail with kind closed from now on;
//  gets take what is left, then fail with kind closed instead of waiting.
int zmp_queue_close (zmp_queue_t *self, zmp_error_t *error);

//  Joinable queues: an item taken by get has been dealt with. Kind range
//  if called more times than items were put; kind usage on a plain queue.
int zmp_queue_task_done (zmp_queue_t *self, zmp_error_t *error);

//  Joinable queues: wait until every item put has been marked task_done.
int zmp_queue_join (zmp_queue_t *self, int timeout_ms, zmp_error_t *error);

//  Pipe ------------------------------------------------------------------

//  One end of a pipe, as multiprocessing.Connection.
typedef struct zmp_connection zmp_connection_t;

//  Make a pipe and its two ends. duplex: both ends send and receive;
//  otherwise *end1_p only receives and *end2_p only sends, as
//  Pipe(duplex=False). Returns 0, or -1 with both set to NULL.
int zmp_pipe_new (zmp_client_t *client, bool duplex, zmp_connection_t **end1_p,
                  zmp_connection_t **end2_p, zmp_error_t *error);
zmp_connection_t *zmp_connection_attach (zmp_client_t *client,
                                         const msgpack_object *handle,
                                         zmp_error_t *error);
void zmp_connection_destroy (zmp_connection_t **self_p);
msgpack_object zmp_connection_handle (const zmp_connection_t *self);

//  Send a copy of item to the other end. Does not wait for the broker; an
//  error (kind broken: the other end is closed) is returned by the next
//  call on this end.
int zmp_connection_send (zmp_connection_t *self, const msgpack_object *item,
                         zmp_error_t *error);

//  Receive the next item, waiting up to timeout_ms. NULL with kind empty
//  if none came in time, kind closed (end of file) once the other end is
//  closed and everything it sent has been received.
zmp_value_t *zmp_connection_recv (zmp_connection_t *self, int timeout_ms,
                                  zmp_error_t *error);

//  Wait up to timeout_ms until recv would not block. Returns 1 if it would
//  not (an item, or end of file, is there), 0 if it would, -1 on error.
int zmp_connection_poll (zmp_connection_t *self, int timeout_ms,
                         zmp_error_t *error);

//  Close this end for everyone who holds it (in Python each process closes
//  only its own copy): sends on it fail from now on, and the other end
//  reads end of file after what was sent. To stop using an end without
//  closing it for the others, as a Python parent closes its copy of the
//  child's end after start (), destroy your handle instead: an end whose
//  last holder lets go closes by itself.
int zmp_connection_close (zmp_connection_t *self, zmp_error_t *error);

//  Lock, RLock, Semaphore, BoundedSemaphore -------------------------------

typedef struct zmp_lock zmp_lock_t;

zmp_lock_t *zmp_lock_new (zmp_client_t *client, zmp_error_t *error);
//  Reentrant: the thread that holds it may acquire it again, and must
//  release it as many times
zmp_lock_t *zmp_rlock_new (zmp_client_t *client, zmp_error_t *error);
zmp_lock_t *zmp_semaphore_new (zmp_client_t *client, unsigned value,
                               zmp_error_t *error);
//  A semaphore that refuses (kind range) a release above its first value
zmp_lock_t *zmp_bounded_semaphore_new (zmp_client_t *client, unsigned value,
                                       zmp_error_t *error);
//  A handle to a lock, rlock, semaphore, condition, value or array (the
//  last three: their lock).
zmp_lock_t *zmp_lock_attach (zmp_client_t *client, const msgpack_object *handle,
                             zmp_error_t *error);
void zmp_lock_destroy (zmp_lock_t **self_p);
msgpack_object zmp_lock_handle (const zmp_lock_t *self);

//  Acquire, waiting up to timeout_ms. Returns 0; ZMP_OWNER_DIED (held,
//  but the last holder died holding it); or -1 with kind wait_timeout.
int zmp_lock_acquire (zmp_lock_t *self, int timeout_ms, zmp_error_t *error);

//  Release. Kind usage if a lock is not held or an rlock is not held by
//  this thread; kind range for a bounded semaphore released too often.
int zmp_lock_release (zmp_lock_t *self, zmp_error_t *error);

//  Event ------------------------------------------------------------------

typedef struct zmp_event zmp_event_t;

zmp_event_t *zmp_event_new (zmp_client_t *client, zmp_error_t *error);
zmp_event_t *zmp_event_attach (zmp_client_t *client,
                               const msgpack_object *handle,
                               zmp_error_t *error);
void zmp_event_destroy (zmp_event_t **self_p);
msgpack_object zmp_event_handle (const zmp_event_t *self);
int zmp_event_set (zmp_event_t *self, zmp_error_t *error);
int zmp_event_clear (zmp_event_t *self, zmp_error_t *error);
bool zmp_event_is_set (zmp_event_t *self);
//  Wait until the flag is set: 0, or -1 with kind wait_timeout.
int zmp_event_wait (zmp_event_t *self, int timeout_ms, zmp_error_t *error);

//  Condition ---------------------------------------------------------------

//  A condition variable with its own reentrant lock, as
//  multiprocessing.Condition ().
typedef struct zmp_condition zmp_condition_t;

zmp_condition_t *zmp_condition_new (zmp_client_t *client, zmp_error_t *error);
zmp_condition_t *zmp_condition_attach (zmp_client_t *client,
                                       const msgpack_object *handle,
                                       zmp_error_t *error);
void zmp_condition_destroy (zmp_condition_t **self_p);
msgpack_object zmp_condition_handle (const zmp_condition_t *self);
//  The condition's lock, as zmp_lock_acquire and zmp_lock_release.
int zmp_condition_acquire (zmp_condition_t *self, int timeout_ms,
                           zmp_error_t *error);
int zmp_condition_release (zmp_condition_t *self, zmp_error_t *error);

//  With the lock held by this thread: release it, wait up to timeout_ms
//  for a notify, take the lock again. Returns 0 if notified (or
//  ZMP_OWNER_DIED, as zmp_lock_acquire), -1 with kind wait_timeout if not
//  (the lock is held again either way, and whether its last owner died is
//  not said), or -1 with kind usage if the lock was not held.
int zmp_condition_wait (zmp_condition_t *self, int timeout_ms,
                        zmp_error_t *error);

//  Wait until predicate (arg) is true, as Python's wait_for: returns 0
//  once it is, -1 with kind wait_timeout if timeout_ms passed first.
typedef bool (zmp_predicate_fn) (void *arg);
int zmp_condition_wait_for (zmp_condition_t *self, zmp_predicate_fn *predicate,
                            void *arg, int timeout_ms, zmp_error_t *error);

//  Wake up to count waiters, or all of them. The lock must be held.
int zmp_condition_notify (zmp_condition_t *self, unsigned count,
                          zmp_error_t *error);
int zmp_condition_notify_all (zmp_condition_t *self, zmp_error_t *error);

//  Barrier -----------------------------------------------------------------

typedef struct zmp_barrier zmp_barrier_t;

zmp_barrier_t *zmp_barrier_new (zmp_client_t *client, unsigned parties,
                                zmp_error_t *error);
zmp_barrier_t *zmp_barrier_attach (zmp_client_t *client,
                                   const msgpack_object *handle,
                                   zmp_error_t *error);
void zmp_barrier_destroy (zmp_barrier_t **self_p);
msgpack_object zmp_barrier_handle (const zmp_barrier_t *self);

//  Wait until parties callers wait. Returns this caller's index, 0 to
//  parties - 1, each once; or -1 with kind broken (the barrier was aborted
//  or reset, or a wait timed out, which breaks it for everyone).
int zmp_barrier_wait (zmp_barrier_t *self, int timeout_ms, zmp_error_t *error);
//  Break the barrier: waiters and later waits fail with kind broken.
int zmp_barrier_abort (zmp_barrier_t *self, zmp_error_t *error);
//  Back to its first state; current waiters fail with kind broken.
int zmp_barrier_reset (zmp_barrier_t *self, zmp_error_t *error);
//  parties, callers waiting now, and whether it is broken; -1 on error.
int zmp_barrier_parties (zmp_barrier_t *self, zmp_error_t *error);
int zmp_barrier_n_waiting (zmp_barrier_t *self, zmp_error_t *error);
int zmp_barrier_broken (zmp_barrier_t *self, zmp_error_t *error);

//  Value and Array ---------------------------------------------------------

//  Typed numbers, as multiprocessing.Value and Array. typecode is one of
//  Python's array module: 'b' 'B' 'h' 'H' 'i' 'I' 'l' 'L' 'q' 'Q' (signed
//  and unsigned 8, 16, 32, 64, 64 and 64 bits) and 'f' 'd' (float,
//  double). Integers wrap to their width as C does; a float is refused
//  (bad_arguments) by an integer type. Each has a lock of its own for
//  read-modify-write sequences; a single get, set or add is atomic alone.
typedef struct zmp_shared_value zmp_shared_value_t;
typedef struct zmp_shared_array zmp_shared_array_t;

//  A value of typecode holding initial (a number), as Value(typecode,
//  initial).
zmp_shared_value_t *zmp_shared_value_new (zmp_client_t *client, char typecode,
                                          msgpack_object initial,
                                          zmp_error_t *error);
zmp_shared_value_t *zmp_shared_value_attach (zmp_client_t *client,
                                             const msgpack_object *handle,
                                             zmp_error_t *error);
void zmp_shared_value_destroy (zmp_shared_value_t **self_p);
msgpack_object zmp_shared_value_handle (const zmp_shared_value_t *self);
int zmp_shared_value_get_int (zmp_shared_value_t *self, int64_t *value,
                              zmp_error_t *error);
int zmp_shared_value_get_double (zmp_shared_value_t *self, double *value,
                                 zmp_error_t *error);
int zmp_shared_value_set (zmp_shared_value_t *self, msgpack_object value,
                          zmp_error_t *error);
//  Add delta (a number) atomically; *result (may be NULL) gets the sum as
//  a double.
int zmp_shared_value_add (zmp_shared_value_t *self, msgpack_object delta,
                          double *result, zmp_error_t *error);
//  The value's lock (get_lock ()); borrowed, valid while the value lives.
zmp_lock_t *zmp_shared_value_lock (zmp_shared_value_t *self);

//  An array of typecode: init is either an array of numbers (its items)
//  or a non-negative integer (that many zeros), as Array(typecode, init).
zmp_shared_array_t *zmp_shared_array_new (zmp_client_t *client, char typecode,
                                          const msgpack_object *init,
                                          zmp_error_t *error);
zmp_shared_array_t *zmp_shared_array_attach (zmp_client_t *client,
                                             const msgpack_object *handle,
                                             zmp_error_t *error);
void zmp_shared_array_destroy (zmp_shared_array_t **self_p);
msgpack_object zmp_shared_array_handle (const zmp_shared_array_t *self);
//  Number of items, or -1 on error.
long zmp_shared_array_len (zmp_shared_array_t *self, zmp_error_t *error);
//  Item index (negative counts from the end); kind range outside.
int zmp_shared_array_get_int (zmp_shared_array_t *self, int64_t index,
                              int64_t *value, zmp_error_t *error);
int zmp_shared_array_get_double (zmp_shared_array_t *self, int64_t index,
                                 double *value, zmp_error_t *error);
int zmp_shared_array_set (zmp_shared_array_t *self, int64_t index,
                          msgpack_object value, zmp_error_t *error);
int zmp_shared_array_add (zmp_shared_array_t *self, int64_t index,
                          msgpack_object delta, double *result,
                          zmp_error_t *error);
//  Items start to stop as an array value (caller destroys), with Python's
//  slice rules (negative bounds count from the end; ZMP_SLICE_END).
zmp_value_t *zmp_shared_array_slice (zmp_shared_array_t *self, int64_t start,
                                     int64_t stop, zmp_error_t *error);
//  Replace items start to stop with items (an array of as many numbers;
//  kind range otherwise).
int zmp_shared_array_set_slice (zmp_shared_array_t *self, int64_t start,
                                int64_t stop, const msgpack_object *items,
                                zmp_error_t *error);
zmp_lock_t *zmp_shared_array_lock (zmp_shared_array_t *self);

//  Manager dict and list ---------------------------------------------------

//  A dict of msgpack keys and values in insertion order, as a Manager
//  dict. Keys are equal when their msgpack bytes are: 1 and 1.0 are two
//  keys, unlike Python.
typedef struct zmp_dict zmp_dict_t;

zmp_dict_t *zmp_dict_new (zmp_client_t *client, zmp_error_t *error);
zmp_dict_t *zmp_dict_attach (zmp_client_t *client, const msgpack_object *handle,
                             zmp_error_t *error);
void zmp_dict_destroy (zmp_dict_t **self_p);
msgpack_object zmp_dict_handle (const zmp_dict_t *self);
int zmp_dict_set (zmp_dict_t *self, const msgpack_object *key,
                  const msgpack_object *value, zmp_error_t *error);
//  The value for key (caller destroys), or NULL with kind not_found.
zmp_value_t *zmp_dict_get (zmp_dict_t *self, const msgpack_object *key,
                           zmp_error_t *error);
//  Remove key and return its value, or NULL with kind not_found.
zmp_value_t *zmp_dict_pop (zmp_dict_t *self, const msgpack_object *key,
                           zmp_error_t *error);
//  Remove key; kind not_found if it is not there.
int zmp_dict_delete (zmp_dict_t *self, const msgpack_object *key,
                     zmp_error_t *error);
//  1 if key is there, 0 if not, -1 on error.
int zmp_dict_contains (zmp_dict_t *self, const msgpack_object *key,
                       zmp_error_t *error);
long zmp_dict_len (zmp_dict_t *self, zmp_error_t *error);
//  Keys (an array) or the whole dict (a map), in insertion order.
zmp_value_t *zmp_dict_keys (zmp_dict_t *self, zmp_error_t *error);
zmp_value_t *zmp_dict_items (zmp_dict_t *self, zmp_error_t *error);
int zmp_dict_clear (zmp_dict_t *self, zmp_error_t *error);

//  A list of msgpack values, as a Manager list. Indexes may be negative
//  (from the end); outside the list they fail with kind range.
typedef struct zmp_list zmp_list_t;

//  A list holding items (an array), or empty if items is NULL.
zmp_list_t *zmp_list_new (zmp_client_t *client, const msgpack_object *items,
                          zmp_error_t *error);
zmp_list_t *zmp_list_attach (zmp_client_t *client, const msgpack_object *handle,
                             zmp_error_t *error);
void zmp_list_destroy (zmp_list_t **self_p);
msgpack_object zmp_list_handle (const zmp_list_t *self);
int zmp_list_append (zmp_list_t *self, const msgpack_object *item,
                     zmp_error_t *error);
//  Append each item of items (an array).
int zmp_list_extend (zmp_list_t *self, const msgpack_object *items,
                     zmp_error_t *error);
int zmp_list_insert (zmp_list_t *self, int64_t index,
                     const msgpack_object *item, zmp_error_t *error);
zmp_value_t *zmp_list_get (zmp_list_t *self, int64_t index, zmp_error_t *error);
int zmp_list_set (zmp_list_t *self, int64_t index, const msgpack_object *item,
                  zmp_error_t *error);
int zmp_list_delete (zmp_list_t *self, int64_t index, zmp_error_t *error);
zmp_value_t *zmp_list_pop (zmp_list_t *self, int64_t index, zmp_error_t *error);
long zmp_list_len (zmp_list_t *self, zmp_error_t *error);
//  Items start to stop (Python's slice rules), as an array value.
zmp_value_t *zmp_list_slice (zmp_list_t *self, int64_t start, int64_t stop,
                             zmp_error_t *error);
int zmp_list_reverse (zmp_list_t *self, zmp_error_t *error);
int zmp_list_clear (zmp_list_t *self, zmp_error_t *error);


//  --------------------------------------------------------------------------
//  Shared objects inside a task

//  A task (in a pool child or a Process) reaches the broker through a
//  connection of its own process, opened on first use and kept for the
//  life of the process; the worker closes it when the process ends.
//  Returns the client (borrowed: do not destroy it), or NULL with kind
//  usage outside a worker, or broker_unreachable.
zmp_client_t *zmp_task_client (zmp_task_t *task, zmp_error_t *error);

//  The object whose handle is argument index of args. The object belongs
//  to the task: it is freed when the task function returns (destroying it
//  sooner is allowed). NULL with kind bad_arguments if that argument is
//  no handle of the right kind, or as zmp_task_client.
zmp_queue_t *zmp_task_queue (zmp_task_t *task, const msgpack_object *args,
                             uint32_t index, zmp_error_t *error);
zmp_connection_t *zmp_task_connection (zmp_task_t *task,
                                       const msgpack_object *args,
                                       uint32_t index, zmp_error_t *error);
zmp_lock_t *zmp_task_lock (zmp_task_t *task, const msgpack_object *args,
                           uint32_t index, zmp_error_t *error);
zmp_event_t *zmp_task_event (zmp_task_t *task, const msgpack_object *args,
                             uint32_t index, zmp_error_t *error);
zmp_condition_t *zmp_task_condition (zmp_task_t *task,
                                     const msgpack_object *args, uint32_t index,
                                     zmp_error_t *error);
zmp_barrier_t *zmp_task_barrier (zmp_task_t *task, const msgpack_object *args,
                                 uint32_t index, zmp_error_t *error);
zmp_shared_value_t *zmp_task_shared_value (zmp_task_t *task,
                                           const msgpack_object *args,
                                           uint32_t index, zmp_error_t *error);
zmp_shared_array_t *zmp_task_shared_array (zmp_task_t *task,
                                           const msgpack_object *args,
                                           uint32_t index, zmp_error_t *error);
zmp_dict_t *zmp_task_dict (zmp_task_t *task, const msgpack_object *args,
                           uint32_t index, zmp_error_t *error);
zmp_list_t *zmp_task_list (zmp_task_t *task, const msgpack_object *args,
                           uint32_t index, zmp_error_t *error);

#ifdef __cplusplus
}
#endif

#endif
