/*  seed_tasks - the task functions of the seed examples, as one module

    Each function is a target from the Python seeds: what `Process(target=f,
    args=...)` or `pool.apply_async (f, ...)` runs. Load the module into
    the workers that run the examples:

        zmpool worker --module ./libzmpool_seeds.so

    Handles in the arguments become objects with zmp_task_queue () and
    friends; the task owns them, and they are let go when it returns.
    Where the seeds sleep for seconds, these sleep a tenth as long, so that
    the examples run in a moment.
*/
#include "example.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int zmpool_module_init (zmp_registry_t *registry);

//  The seeds sleep this many times less here
#define TIME_SCALE 0.1

//  Fail the task with what went wrong with a shared object
static int
s_fail (zmp_task_t *task, const zmp_error_t *error)
{
    return zmp_task_fail (task, "%s", error->message);
}

//  A string argument as text (NUL-terminated, cut to fit)
static const char *
s_text (const msgpack_object *args, uint32_t index, char *buffer, size_t size)
{
    const char *text;
    uint32_t length;
    if (!zmp_arg_str (args, index, &text, &length))
        return NULL;
    snprintf (buffer, size, "%.*s", (int) length, text);
    return buffer;
}

//  f (s): print s
static int
s_f_print (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    char text[256];
    if (!s_text (args, 0, text, sizeof text))
        return zmp_task_bad_arguments (task, "f (s) takes a string");
    printf ("%s\n", text);
    return msgpack_pack_nil (result);
}

//  f (name): print 'hello', name
static int
s_hello (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    char name[256];
    if (!s_text (args, 0, name, sizeof name))
        return zmp_task_bad_arguments (task, "f (name) takes a string");
    printf ("hello %s\n", name);
    return msgpack_pack_nil (result);
}

//  The x of this process: each process has its own
static int s_x = 1;

//  f (): global x; x = 5
static int
s_set_x (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) task;
    (void) args;
    s_x = 5;
    return msgpack_pack_int (result, s_x);
}

//  info (title): who am I
static void
s_info (const char *title, const char *module)
{
    printf ("%s\n", title);
    printf ("module name: %s\n", module);
    printf ("parent process: %d\n", (int) getppid ());
    printf ("process id: %d\n", (int) getpid ());
}

//  f (name): info ('function f'); print 'hello', name
static int
s_f_info (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    char name[256];
    if (!s_text (args, 0, name, sizeof name))
        return zmp_task_bad_arguments (task, "f (name) takes a string");
    s_info ("function f", zmp_task_function (task));
    printf ("hello %s\n", name);
    return msgpack_pack_nil (result);
}

//  f (q): print 'start'; print q.get (); print 'end'
static int
s_queue_get_print (zmp_task_t *task, const msgpack_object *args,
                   msgpack_packer *result)
{
    zmp_error_t error;
    zmp_queue_t *q = zmp_task_queue (task, args, 0, &error);
    if (!q)
        return s_fail (task, &error);
    printf ("start\n");
    fflush (stdout);
    zmp_value_t *item = zmp_queue_get (q, ZMP_FOREVER, &error);
    if (!item)
        return s_fail (task, &error);
    example_print (zmp_value_get (item));
    zmp_value_destroy (&item);
    printf ("end\n");
    return msgpack_pack_nil (result);
}

//  The seeds' favourite item: [42, None, 'hello']
static msgpack_object
s_hello_item (msgpack_object items[3], const char *text)
{
    items[0] = zmp_int (42);
    items[1] = zmp_nil ();
    items[2] = zmp_str (text);
    return zmp_array (items, 3);
}

//  f (q): q.put ([42, None, 'hello'])
static int
s_put_hello (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    zmp_error_t error;
    zmp_queue_t *q = zmp_task_queue (task, args, 0, &error);
    if (!q)
        return s_fail (task, &error);
    msgpack_object items[3];
    msgpack_object item = s_hello_item (items, "hello");
    if (zmp_queue_put (q, &item, ZMP_FOREVER, &error))
        return s_fail (task, &error);
    return msgpack_pack_nil (result);
}

//  f (c): c.send (c.recv () * 2)
static int
s_pipe_double (zmp_task_t *task, const msgpack_object *args,
               msgpack_packer *result)
{
    zmp_error_t error;
    zmp_connection_t *c = zmp_task_connection (task, args, 0, &error);
    zmp_value_t *received =
        c ? zmp_connection_recv (c, ZMP_FOREVER, &error) : NULL;
    if (!received)
        return s_fail (task, &error);
    const msgpack_object *value = zmp_value_get (received);
    int64_t number = value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
                         ? value->via.i64
                         : (int64_t) value->via.u64;
    zmp_value_destroy (&received);
    msgpack_object doubled = zmp_int (number * 2);
    if (zmp_connection_send (c, &doubled, &error))
        return s_fail (task, &error);
    return msgpack_pack_nil (result);
}

//  f (conn): conn.send ([42, None, 'hello' ...]) for each text; conn.close ()
static int
s_pipe_send (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result, const char *const *texts)
{
    zmp_error_t error;
    zmp_connection_t *conn = zmp_task_connection (task, args, 0, &error);
    if (!conn)
        return s_fail (task, &error);
    for (int index = 0; texts[index]; index++) {
        msgpack_object items[3];
        msgpack_object item = s_hello_item (items, texts[index]);
        if (zmp_connection_send (conn, &item, &error))
            return s_fail (task, &error);
    }
    if (zmp_connection_close (conn, &error))
        return s_fail (task, &error);
    return msgpack_pack_nil (result);
}

static int
s_pipe_send_hello (zmp_task_t *task, const msgpack_object *args,
                   msgpack_packer *result)
{
    const char *const texts[] = { "hello", NULL };
    return s_pipe_send (task, args, result, texts);
}

static int
s_pipe_send_two (zmp_task_t *task, const msgpack_object *args,
                 msgpack_packer *result)
{
    const char *const texts[] = { "hello from child", "hello from child2",
                                  NULL };
    return s_pipe_send (task, args, result, texts);
}

//  f (l, i): l.acquire (); print 'hello world', i; l.release ()
static int
s_locked_print (zmp_task_t *task, const msgpack_object *args,
                msgpack_packer *result)
{
    zmp_error_t error;
    int64_t i;
    if (!zmp_arg_int (args, 1, &i))
        return zmp_task_bad_arguments (task, "f (l, i) takes a lock and a "
                                             "number");
    zmp_lock_t *l = zmp_task_lock (task, args, 0, &error);
    if (!l || zmp_lock_acquire (l, ZMP_FOREVER, &error) < 0)
        return s_fail (task, &error);
    printf ("hello world %lld\n", (long long) i);
    fflush (stdout);
    if (zmp_lock_release (l, &error))
        return s_fail (task, &error);
    return msgpack_pack_nil (result);
}

//  f (n, a): n.value = 3.1415927; a[i] = -a[i] for every i
static int
s_negate (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    zmp_error_t error;
    zmp_shared_value_t *n = zmp_task_shared_value (task, args, 0, &error);
    zmp_shared_array_t *a =
        n ? zmp_task_shared_array (task, args, 1, &error) : NULL;
    if (!a || zmp_shared_value_set (n, zmp_double (3.1415927), &error))
        return s_fail (task, &error);
    long length = zmp_shared_array_len (a, &error);
    for (long i = 0; i < length; i++) {
        int64_t item;
        if (zmp_shared_array_get_int (a, i, &item, &error)
            || zmp_shared_array_set (a, i, zmp_int (-item), &error))
            return s_fail (task, &error);
    }
    return length < 0 ? s_fail (task, &error) : msgpack_pack_nil (result);
}

//  f (d, l): d[1] = '1'; d['2'] = 2; d[0.25] = None; l.reverse ()
static int
s_fill (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    zmp_error_t error;
    zmp_dict_t *d = zmp_task_dict (task, args, 0, &error);
    zmp_list_t *l = d ? zmp_task_list (task, args, 1, &error) : NULL;
    if (!l)
        return s_fail (task, &error);
    msgpack_object keys[3] = { zmp_int (1), zmp_str ("2"), zmp_double (0.25) };
    msgpack_object values[3] = { zmp_str ("1"), zmp_int (2), zmp_nil () };
    for (int index = 0; index < 3; index++)
        if (zmp_dict_set (d, &keys[index], &values[index], &error))
            return s_fail (task, &error);
    if (zmp_list_reverse (l, &error))
        return s_fail (task, &error);
    return msgpack_pack_nil (result);
}

//  f (d, l): d[os.getpid ()] = os.getpid (); l.append (os.getpid ());
//  print (l)
static int
s_append_pid (zmp_task_t *task, const msgpack_object *args,
              msgpack_packer *result)
{
    zmp_error_t error;
    zmp_dict_t *d = zmp_task_dict (task, args, 0, &error);
    zmp_list_t *l = d ? zmp_task_list (task, args, 1, &error) : NULL;
    if (!l)
        return s_fail (task, &error);
    msgpack_object pid = zmp_int (getpid ());
    if (zmp_dict_set (d, &pid, &pid, &error)
        || zmp_list_append (l, &pid, &error))
        return s_fail (task, &error);
    zmp_value_t *items = zmp_list_slice (l, 0, ZMP_SLICE_END, &error);
    if (!items)
        return s_fail (task, &error);
    example_print (zmp_value_get (items));
    zmp_value_destroy (&items);
    return msgpack_pack_nil (result);
}

//  os.getpid ()
static int
s_getpid (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) task;
    (void) args;
    return msgpack_pack_int (result, getpid ());
}

//  write (q, values...): put each value, with a pause after each
static int
s_write (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    zmp_error_t error;
    zmp_queue_t *q = zmp_task_queue (task, args, 0, &error);
    if (!q)
        return s_fail (task, &error);
    printf ("Process to write: %d\n", (int) getpid ());
    srand ((unsigned) getpid ());
    for (uint32_t index = 1; index < zmp_arg_count (args); index++) {
        const msgpack_object *value = &args->via.array.ptr[index];
        printf ("Put ");
        example_str (stdout, value);
        printf (" to queue...\n");
        fflush (stdout);
        if (zmp_queue_put (q, value, ZMP_FOREVER, &error))
            return s_fail (task, &error);
        //  time.sleep (random.random ()), scaled; never so short that the
        //  reader has no time for the last value before it is terminated
        example_sleep ((0.5 + 0.5 * rand () / RAND_MAX) * TIME_SCALE);
    }
    return msgpack_pack_nil (result);
}

//  read (q): while True: print 'Get %s from queue.' % q.get (True)
static int
s_read (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    zmp_error_t error;
    zmp_queue_t *q = zmp_task_queue (task, args, 0, &error);
    if (!q)
        return s_fail (task, &error);
    printf ("Process to read: %d\n", (int) getpid ());
    fflush (stdout);
    while (true) {
        zmp_value_t *value = zmp_queue_get (q, ZMP_FOREVER, &error);
        if (!value)
            return s_fail (task, &error);
        printf ("Get ");
        example_str (stdout, zmp_value_get (value));
        printf (" from queue.\n");
        fflush (stdout);
        zmp_value_destroy (&value);
    }
    return msgpack_pack_nil (result);
}

//  run_proc (name): print 'Run child process %s (%s)...'
static int
s_run_proc (zmp_task_t *task, const msgpack_object *args,
            msgpack_packer *result)
{
    char name[256];
    if (!s_text (args, 0, name, sizeof name))
        return zmp_task_bad_arguments (task, "run_proc (name) takes a string");
    printf ("Run child process %s (%d)...\n", name, (int) getpid ());
    return msgpack_pack_nil (result);
}

//  Seconds on the monotonic clock
static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + now.tv_nsec / 1e9;
}

//  long_time_task (name) -> the two lines the seed prints: a pool child's
//  stdout stays on its worker's host, so the caller prints them
static int
s_long_time_task (zmp_task_t *task, const msgpack_object *args,
                  msgpack_packer *result)
{
    int64_t name;
    if (!zmp_arg_int (args, 0, &name))
        return zmp_task_bad_arguments (task, "long_time_task (name)");
    char lines[2][128];
    snprintf (lines[0], sizeof lines[0], "Run task %lld (%d)...",
              (long long) name, (int) getpid ());
    srand ((unsigned) (getpid () ^ name));
    double start = s_now ();
    example_sleep ((double) rand () / RAND_MAX * 3 * TIME_SCALE);
    snprintf (lines[1], sizeof lines[1], "Task %lld runs %0.2f seconds.",
              (long long) name, s_now () - start);
    msgpack_pack_array (result, 2);
    for (int index = 0; index < 2; index++)
        msgpack_pack_str_with_body (result, lines[index],
                                    strlen (lines[index]));
    return 0;
}

//  Foo (i): time.sleep (2); print ('in process', os.getpid ()); i + 100
static int
s_foo (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    int64_t i;
    if (!zmp_arg_int (args, 0, &i))
        return zmp_task_bad_arguments (task, "Foo (i) takes a number");
    example_sleep (2 * TIME_SCALE);
    printf ("in process %d\n", (int) getpid ());  //  On the worker's host
    return msgpack_pack_int64 (result, i + 100);
}

//  findArmstrong (a, b): print the range, find, print what was found
static int
s_find_armstrong (zmp_task_t *task, const msgpack_object *args,
                  msgpack_packer *result)
{
    int64_t a, b;
    if (!zmp_arg_int (args, 0, &a) || !zmp_arg_int (args, 1, &b) || a < 0
        || b < a)
        return zmp_task_bad_arguments (task, "findArmstrong (a, b)");
    printf ("%lld %lld\n", (long long) a, (long long) b);
    fflush (stdout);
    char found[256] = "";
    size_t used = 0;
    for (int64_t k = a; k < b; k++) {
        //  isArmstrong: the sum of the digits' k-th powers, k digits
        int64_t digits[20], count = 0, sum = 0;
        for (int64_t t = k; t > 0; t /= 10)
            digits[count++] = t % 10;
        for (int64_t index = 0; index < count; index++) {
            int64_t power = 1;
            for (int64_t times = 0; times < count; times++)
                power *= digits[index];
            sum += power;
        }
        if (sum == k && used + 24 < sizeof found)
            used +=
                (size_t) snprintf (found + used, sizeof found - used, "%s%lld",
                                   used ? ", " : "", (long long) k);
    }
    printf ("%lld ~ %lld: [%s]\n", (long long) a, (long long) b, found);
    return msgpack_pack_nil (result);
}

//  list_append (count, id): append count random numbers to a new list
static int
s_list_append (zmp_task_t *task, const msgpack_object *args,
               msgpack_packer *result)
{
    int64_t count;
    if (!zmp_arg_int (args, 0, &count) || count < 0 || count > 100000000)
        return zmp_task_bad_arguments (task, "list_append (count, id)");
    double *out_list =
        (double *) malloc ((size_t) (count ? count : 1) * sizeof (double));
    if (!out_list)
        return zmp_task_fail (task, "no memory for %lld numbers",
                              (long long) count);
    unsigned seed = (unsigned) getpid ();
    for (int64_t i = 0; i < count; i++)
        out_list[i] = (double) rand_r (&seed) / RAND_MAX;
    free (out_list);
    return msgpack_pack_int64 (result, count);
}

//  download () and browse (): print when they start and end
static int
s_timed (zmp_task_t *task, const char *what, double seconds,
         msgpack_packer *result)
{
    (void) task;
    time_t now = time (NULL);
    char stamp[32];
    printf ("start %s at:  %s", what, ctime_r (&now, stamp));
    fflush (stdout);
    example_sleep (seconds * TIME_SCALE);
    now = time (NULL);
    printf ("%s done at: %s", what, ctime_r (&now, stamp));
    return msgpack_pack_nil (result);
}

static int
s_download (zmp_task_t *task, const msgpack_object *args,
            msgpack_packer *result)
{
    (void) args;
    return s_timed (task, "download", 4, result);
}

static int
s_browse (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) args;
    return s_timed (task, "browse", 6, result);
}

int
zmpool_module_init (zmp_registry_t *registry)
{
    struct {
        const char *name;
        zmp_task_fn *fn;
        const char *summary;
    } functions[] = {
        { "seed.f_print", s_f_print, "print s" },
        { "seed.hello", s_hello, "print 'hello', name" },
        { "seed.set_x", s_set_x, "set this process's x to 5" },
        { "seed.f_info", s_f_info, "print who runs it, then 'hello', name" },
        { "seed.queue_get_print", s_queue_get_print,
          "print start, q.get (), end" },
        { "seed.put_hello", s_put_hello, "q.put ([42, None, 'hello'])" },
        { "seed.pipe_double", s_pipe_double, "c.send (c.recv () * 2)" },
        { "seed.pipe_send_hello", s_pipe_send_hello,
          "conn.send ([42, None, 'hello']); conn.close ()" },
        { "seed.pipe_send_two", s_pipe_send_two,
          "two sends, then conn.close ()" },
        { "seed.locked_print", s_locked_print,
          "print 'hello world', i, holding l" },
        { "seed.negate", s_negate, "n.value = 3.1415927; a[i] = -a[i]" },
        { "seed.fill", s_fill, "fill d, reverse l" },
        { "seed.append_pid", s_append_pid,
          "d[pid] = pid; l.append (pid); print (l)" },
        { "seed.getpid", s_getpid, "os.getpid ()" },
        { "seed.write", s_write, "put each value into q" },
        { "seed.read", s_read, "print what comes out of q, forever" },
        { "seed.run_proc", s_run_proc, "print 'Run child process...'" },
        { "seed.long_time_task", s_long_time_task,
          "sleep a while, say how long" },
        { "seed.foo", s_foo, "sleep, return i + 100" },
        { "seed.find_armstrong", s_find_armstrong,
          "print the Armstrong numbers in [a, b)" },
        { "seed.list_append", s_list_append,
          "append count random numbers to a list" },
        { "seed.download", s_download, "pretend to download" },
        { "seed.browse", s_browse, "pretend to browse" },
    };
    for (size_t index = 0; index < sizeof functions / sizeof functions[0];
         index++)
        if (zmp_registry_add (registry, functions[index].name,
                              functions[index].fn, functions[index].summary))
            return -1;
    return 0;
}
