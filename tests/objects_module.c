/*  objects_module - task functions for test_objects: tasks that use shared
    objects from inside workers, as a user's module would

    Loaded by the test's workers with --module. Each function takes handles
    as arguments and turns them into objects with zmp_task_queue () and
    friends.
*/
#include <zmpool.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int zmpool_module_init (zmp_registry_t *registry);

//  Fail the task with error's message
static int
s_failed (zmp_task_t *task, const zmp_error_t *error)
{
    return zmp_task_fail (task, "%s: %s", zmp_error_kind_name (error->kind),
                          error->message);
}

//  put_range (queue, producer, count) -> count: puts [producer, 0..count-1]
static int
s_put_range (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    zmp_error_t error;
    int64_t producer, count;
    if (!zmp_arg_int (args, 1, &producer) || !zmp_arg_int (args, 2, &count))
        return zmp_task_bad_arguments (task, "put_range (queue, id, count)");
    zmp_queue_t *queue = zmp_task_queue (task, args, 0, &error);
    if (!queue)
        return s_failed (task, &error);
    for (int64_t seq = 0; seq < count; seq++) {
        msgpack_object pair[2] = { zmp_int (producer), zmp_int (seq) };
        msgpack_object item = zmp_array (pair, 2);
        if (zmp_queue_put (queue, &item, ZMP_FOREVER, &error))
            return s_failed (task, &error);
    }
    return msgpack_pack_int64 (result, count);
}

//  drain (queue) -> the items taken, up to the first nil
static int
s_drain (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    zmp_error_t error;
    zmp_queue_t *queue = zmp_task_queue (task, args, 0, &error);
    if (!queue)
        return s_failed (task, &error);
    msgpack_sbuffer items;
    msgpack_sbuffer_init (&items);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &items, msgpack_sbuffer_write);
    uint32_t count = 0;
    while (true) {
        zmp_value_t *item = zmp_queue_get (queue, ZMP_FOREVER, &error);
        if (!item) {
            msgpack_sbuffer_destroy (&items);
            return s_failed (task, &error);
        }
        bool stop = zmp_value_get (item)->type == MSGPACK_OBJECT_NIL;
        if (!stop) {
            msgpack_pack_object (&packer, *zmp_value_get (item));
            count++;
        }
        zmp_value_destroy (&item);
        if (stop)
            break;
    }
    msgpack_pack_array (result, count);
    msgpack_pack_bin_body (result, items.data, items.size);  //  Raw items
    msgpack_sbuffer_destroy (&items);
    return 0;
}

//  pipe_echo (conn) -> items echoed: each integer comes back doubled,
//  until end of file
static int
s_pipe_echo (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    zmp_error_t error;
    zmp_connection_t *conn = zmp_task_connection (task, args, 0, &error);
    if (!conn)
        return s_failed (task, &error);
    int64_t echoed = 0;
    while (true) {
        zmp_value_t *item = zmp_connection_recv (conn, ZMP_FOREVER, &error);
        if (!item)
            break;
        int64_t number = zmp_value_get (item)->via.i64;
        zmp_value_destroy (&item);
        msgpack_object doubled = zmp_int (number * 2);
        if (zmp_connection_send (conn, &doubled, &error))
            return s_failed (task, &error);
        echoed++;
    }
    if (error.kind != ZMP_ERR_CLOSED)
        return s_failed (task, &error);
    return msgpack_pack_int64 (result, echoed);
}

//  pipe_ping (conn, n) -> the sum of the answers to 1..n, then closes
static int
s_pipe_ping (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    zmp_error_t error;
    int64_t count;
    if (!zmp_arg_int (args, 1, &count))
        return zmp_task_bad_arguments (task, "pipe_ping (conn, n)");
    zmp_connection_t *conn = zmp_task_connection (task, args, 0, &error);
    if (!conn)
        return s_failed (task, &error);
    int64_t sum = 0;
    for (int64_t number = 1; number <= count; number++) {
        msgpack_object item = zmp_int (number);
        if (zmp_connection_send (conn, &item, &error))
            return s_failed (task, &error);
        zmp_value_t *answer = zmp_connection_recv (conn, ZMP_FOREVER, &error);
        if (!answer)
            return s_failed (task, &error);
        sum += zmp_value_get (answer)->via.i64;
        zmp_value_destroy (&answer);
    }
    if (zmp_connection_close (conn, &error))
        return s_failed (task, &error);
    return msgpack_pack_int64 (result, sum);
}

//  count_under_lock (lock, value, n) -> n: n times, add one to value by
//  reading and writing it, with lock held
static int
s_count_under_lock (zmp_task_t *task, const msgpack_object *args,
                    msgpack_packer *result)
{
    zmp_error_t error;
    int64_t count;
    if (!zmp_arg_int (args, 2, &count))
        return zmp_task_bad_arguments (task, "count_under_lock (lock, v, n)");
    zmp_lock_t *lock = zmp_task_lock (task, args, 0, &error);
    zmp_shared_value_t *value =
        lock ? zmp_task_shared_value (task, args, 1, &error) : NULL;
    if (!value)
        return s_failed (task, &error);
    for (int64_t round = 0; round < count; round++) {
        int64_t number;
        if (zmp_lock_acquire (lock, ZMP_FOREVER, &error) < 0
            || zmp_shared_value_get_int (value, &number, &error)
            || zmp_shared_value_set (value, zmp_int (number + 1), &error)
            || zmp_lock_release (lock, &error))
            return s_failed (task, &error);
    }
    return msgpack_pack_int64 (result, count);
}

//  hold_lock (lock, event): take the lock, set the event, wait to die
static int
s_hold_lock (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    (void) result;
    zmp_error_t error;
    zmp_lock_t *lock = zmp_task_lock (task, args, 0, &error);
    zmp_event_t *event = lock ? zmp_task_event (task, args, 1, &error) : NULL;
    if (!event || zmp_lock_acquire (lock, ZMP_FOREVER, &error) < 0
        || zmp_event_set (event, &error))
        return s_failed (task, &error);
    while (pause () == -1)
        ;  //  Until a signal ends the process
    return 0;
}

//  print (text) -> text: writes text to stdout, "err: text" to stderr
static int
s_print (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    const char *text;
    uint32_t size;
    if (!zmp_arg_str (args, 0, &text, &size))
        return zmp_task_bad_arguments (task, "print (text)");
    printf ("%.*s\n", (int) size, text);
    fprintf (stderr, "err: %.*s\n", (int) size, text);
    return msgpack_pack_str_with_body (result, text, size);
}

//  exit (code): leaves the process without returning
static int
s_exit (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) result;
    int64_t code;
    if (!zmp_arg_int (args, 0, &code))
        return zmp_task_bad_arguments (task, "exit (code)");
    exit ((int) code);
}

//  wait_forever (): prints "waiting", then sleeps until killed
static int
s_wait_forever (zmp_task_t *task, const msgpack_object *args,
                msgpack_packer *result)
{
    (void) task;
    (void) args;
    (void) result;
    printf ("waiting\n");
    while (pause () == -1)
        ;  //  Until a signal ends the process
    return 0;
}

//  ppid () -> the parent's pid: the spawner, one per worker agent
static int
s_ppid (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) task;
    (void) args;
    return msgpack_pack_int64 (result, getppid ());
}

//  fail_code (code) -> fails with that code
static int
s_fail_code (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    (void) result;
    int64_t code;
    if (!zmp_arg_int (args, 0, &code))
        return zmp_task_bad_arguments (task, "fail_code (code)");
    return zmp_task_fail_code (task, (int) code, "failing with code %d",
                               (int) code);
}

static char *volatile s_grown[64];  //  volatile: not optimised away (grow, hog)
static size_t s_grown_count = 0;

//  Allocate and touch 8 MiB every 10 ms, keeping it all, up to 2 GiB;
//  then fail (what a leaking task does, at a pace the agent can watch)
static int
s_hog (zmp_task_t *task)
{
    for (int block = 0; block < 256; block++) {
        char *bytes = (char *) malloc (8u << 20);
        if (!bytes)
            break;
        memset (bytes, 1, 8u << 20);
        s_grown[block % 64] = bytes;  //  Kept: not optimised away
        struct timespec pause = { 0, 10 * 1000 * 1000 };
        nanosleep (&pause, NULL);
    }
    return zmp_task_fail (task, "allocated 2 GiB and was not stopped");
}

//  echo_after (ms, value) -> value, after sleeping ms; ms -1: allocate
//  memory without bound instead (s_hog)
static int
s_echo_after (zmp_task_t *task, const msgpack_object *args,
              msgpack_packer *result)
{
    int64_t ms;
    if (zmp_arg_count (args) != 2 || !zmp_arg_int (args, 0, &ms) || ms < -1)
        return zmp_task_bad_arguments (task, "echo_after (ms, value)");
    if (ms == -1)
        return s_hog (task);
    struct timespec pause = { (time_t) (ms / 1000),
                              (long) (ms % 1000) * 1000000L };
    while (nanosleep (&pause, &pause) == -1)
        ;
    return msgpack_pack_object (result, args->via.array.ptr[1]);
}

//  bytes (n) -> a bin of n bytes
static int
s_bytes (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    int64_t count;
    if (!zmp_arg_int (args, 0, &count) || count < 0 || count > (64 << 20))
        return zmp_task_bad_arguments (task, "bytes (n), n up to 64 MiB");
    char *data = (char *) calloc (1, (size_t) count + 1);
    int rc = msgpack_pack_bin (result, (size_t) count)
             || msgpack_pack_bin_body (result, data, (size_t) count);
    free (data);
    return rc;
}

//  stubborn (ms) -> ms: ignores SIGTERM, then sleeps ms; only SIGKILL
//  stops it early
static int
s_stubborn (zmp_task_t *task, const msgpack_object *args,
            msgpack_packer *result)
{
    int64_t ms;
    if (!zmp_arg_int (args, 0, &ms) || ms < 0)
        return zmp_task_bad_arguments (task, "stubborn (ms)");
    signal (SIGTERM, SIG_IGN);
    struct timespec pause = { (time_t) (ms / 1000),
                              (long) (ms % 1000) * 1000000L };
    while (nanosleep (&pause, &pause) == -1)
        ;
    signal (SIGTERM, SIG_DFL);
    return msgpack_pack_int64 (result, ms);
}

//  grow (mb) -> mb: allocates mb MiB, touches every page and keeps them
//  for the life of the process

static int
s_grow (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    int64_t mb;
    if (!zmp_arg_int (args, 0, &mb) || mb < 1 || mb > 1024
        || s_grown_count == 64)
        return zmp_task_bad_arguments (task, "grow (mb), 1 to 1024");
    char *block = (char *) malloc ((size_t) mb << 20);
    if (!block)
        return zmp_task_fail (task, "out of memory");
    memset (block, 1, (size_t) mb << 20);
    s_grown[s_grown_count++] = block;
    return msgpack_pack_int64 (result, mb);
}

//  make_objects (n) -> n: makes n events and leaves them to the end of the
//  process, which takes them with it
static int
s_make_objects (zmp_task_t *task, const msgpack_object *args,
                msgpack_packer *result)
{
    zmp_error_t error;
    int64_t count;
    if (!zmp_arg_int (args, 0, &count))
        return zmp_task_bad_arguments (task, "make_objects (n)");
    zmp_client_t *client = zmp_task_client (task, &error);
    if (!client)
        return s_failed (task, &error);
    for (int64_t made = 0; made < count; made++)
        if (!zmp_event_new (client, &error))
            return s_failed (task, &error);
    return msgpack_pack_int64 (result, count);
}

int
zmpool_module_init (zmp_registry_t *registry)
{
    int rc = 0;
    rc |= zmp_registry_add (registry, "test.put_range", s_put_range, NULL);
    rc |= zmp_registry_add (registry, "test.drain", s_drain, NULL);
    rc |= zmp_registry_add (registry, "test.pipe_echo", s_pipe_echo, NULL);
    rc |= zmp_registry_add (registry, "test.pipe_ping", s_pipe_ping, NULL);
    rc |= zmp_registry_add (registry, "test.count_under_lock",
                            s_count_under_lock, NULL);
    rc |= zmp_registry_add (registry, "test.hold_lock", s_hold_lock, NULL);
    rc |= zmp_registry_add (registry, "test.print", s_print, NULL);
    rc |= zmp_registry_add (registry, "test.exit", s_exit, NULL);
    rc |=
        zmp_registry_add (registry, "test.wait_forever", s_wait_forever, NULL);
    rc |= zmp_registry_add (registry, "test.ppid", s_ppid, NULL);
    rc |= zmp_registry_add (registry, "test.fail_code", s_fail_code, NULL);
    rc |=
        zmp_registry_add (registry, "test.make_objects", s_make_objects, NULL);
    rc |= zmp_registry_add (registry, "test.echo_after", s_echo_after, NULL);
    rc |= zmp_registry_add (registry, "test.bytes", s_bytes, NULL);
    rc |= zmp_registry_add (registry, "test.stubborn", s_stubborn, NULL);
    rc |= zmp_registry_add (registry, "test.grow", s_grow, NULL);
    return rc ? -1 : 0;
}
