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
    X (USAGE, 14, "usage", "invalid use")

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
//  Returns NULL with kind broker_unreachable if it does not. Starts the
//  client's I/O thread.
zmp_client_t *zmp_client_connect (const char *endpoint, int timeout_ms,
                                  zmp_error_t *error);

//  Say goodbye to the broker, stop the I/O thread and free the client. Pools,
//  results and iterators made from it must be destroyed first. Does nothing
//  if *self_p is NULL; sets it to NULL.
void zmp_client_destroy (zmp_client_t **self_p);

//  The endpoint this client is connected to.
const char *zmp_client_endpoint (const zmp_client_t *self);

//  Total task slots in the cluster, as the broker last reported it.
int zmp_client_slots (const zmp_client_t *self);

//  Ask the broker for its status (workers, slots, queue depth, counters).
//  Blocks up to timeout_ms. Returns a map the caller destroys, or NULL.
//  docs/PROTOCOL.md lists the fields.
zmp_value_t *zmp_client_status (zmp_client_t *self, int timeout_ms,
                                zmp_error_t *error);


//  --------------------------------------------------------------------------
//  Pool

typedef struct zmp_pool zmp_pool_t;
typedef struct zmp_async zmp_async_t;
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

//  Accept no more tasks; those submitted go on.
void zmp_pool_close (zmp_pool_t *self);

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

//  The result, waiting up to timeout_ms; valid until the async is
//  destroyed. NULL with the task's error, or with kind wait_timeout if it is
//  not ready yet: the task goes on, and get may be called again.
const msgpack_object *zmp_async_get (zmp_async_t *self, int timeout_ms,
                                     zmp_error_t *error);

//  Free the caller's handle. A task still running goes on, and its
//  callbacks still run. Does nothing if *self_p is NULL.
void zmp_async_destroy (zmp_async_t **self_p);

#ifdef __cplusplus
}
#endif

#endif
