/*  zmp_builtins - the task functions every worker offers

    These are also the examples of how a task function is written: check
    the arguments and say what was wrong, pack one value, return 0.
*/
#include "zmp_builtins.h"

#include "zmp_armstrong.h"
#include "zmp_registry.h"
#include "zmp_value.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static const char *
s_type_name (const msgpack_object *object)
{
    switch (object->type) {
        case MSGPACK_OBJECT_NIL:
            return "nil";
        case MSGPACK_OBJECT_BOOLEAN:
            return "a boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return "an integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            return "a float";
        case MSGPACK_OBJECT_STR:
            return "a string";
        case MSGPACK_OBJECT_ARRAY:
            return "an array";
        case MSGPACK_OBJECT_MAP:
            return "a map";
        case MSGPACK_OBJECT_BIN:
            return "binary data";
        case MSGPACK_OBJECT_EXT:
            return "an extension value";
    }
    return "something else";
}

static int
s_noop (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) task;
    (void) args;
    return msgpack_pack_nil (result);
}

static int
s_echo (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) task;
    if (args->via.array.size == 1)
        return msgpack_pack_object (result, args->via.array.ptr[0]);
    return msgpack_pack_object (result, *args);
}

static int
s_square (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    if (args->via.array.size != 1)
        return zmp_task_bad_arguments (
            task, "square takes one number, got %u arguments",
            args->via.array.size);
    const msgpack_object *arg = &args->via.array.ptr[0];
    int64_t integer;
    if (zmp_int_get (arg, &integer) == 0) {
        //  |integer| < 2^31.5 squares within int64; beyond, use a float
        if (integer > -3037000499LL && integer < 3037000499LL)
            return msgpack_pack_int64 (result, integer * integer);
        return msgpack_pack_double (result, (double) integer * integer);
    }
    double number;
    if (zmp_arg_double (args, 0, &number))
        return msgpack_pack_double (result, number * number);
    return zmp_task_bad_arguments (task, "square takes a number, got %s",
                                   s_type_name (arg));
}

static int
s_sleep (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    double milliseconds;
    if (args->via.array.size != 1 || !zmp_arg_double (args, 0, &milliseconds)
        || !isfinite (milliseconds) || milliseconds < 0
        || milliseconds > 7 * 24 * 3600 * 1000.0)
        return zmp_task_bad_arguments (
            task, "sleep takes a number of milliseconds from 0 to a week");
    struct timespec pause;
    pause.tv_sec = (time_t) (milliseconds / 1000);
    pause.tv_nsec = (long) ((milliseconds - pause.tv_sec * 1000.0) * 1e6);
    while (nanosleep (&pause, &pause) && errno == EINTR)
        ;
    return msgpack_pack_nil (result);
}

static int
s_info (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) args;
    char host[256];
    if (gethostname (host, sizeof host))
        snprintf (host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    msgpack_pack_map (result, 5);
    zmp_pack_cstr (result, "host");
    zmp_pack_cstr (result, host);
    zmp_pack_cstr (result, "pid");
    msgpack_pack_int64 (result, getpid ());
    zmp_pack_cstr (result, "ppid");
    msgpack_pack_int64 (result, getppid ());
    zmp_pack_cstr (result, "agent_pid");
    msgpack_pack_int64 (result, task->agent_pid);
    zmp_pack_cstr (result, "slot");
    return msgpack_pack_int (result, task->slot);
}

static int
s_armstrong (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    int64_t from, to;
    if (args->via.array.size != 2 || !zmp_arg_int (args, 0, &from)
        || !zmp_arg_int (args, 1, &to))
        return zmp_task_bad_arguments (
            task, "armstrong takes two integers: from and to");
    if (from < 0 || to < from || (uint64_t) to > ZMP_ARMSTRONG_LIMIT)
        return zmp_task_bad_arguments (
            task, "armstrong needs 0 <= from <= to <= 10^18, got [%lld, %lld)",
            (long long) from, (long long) to);
    uint64_t found[ZMP_ARMSTRONG_FOUND_MAX];
    size_t count = zmp_armstrong_find ((uint64_t) from, (uint64_t) to, found);
    msgpack_pack_array (result, count);
    for (size_t index = 0; index < count; index++)
        msgpack_pack_uint64 (result, found[index]);
    return 0;
}

static int
s_fail (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) result;
    const char *message;
    uint32_t size;
    if (zmp_arg_str (args, 0, &message, &size))
        return zmp_task_fail (task, "%.*s", (int) size, message);
    return zmp_task_fail (task, "failed on purpose");
}

static int
s_crash (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) args;
    (void) result;
    //  Default action, so that the process really dies by the signal (a
    //  sanitizer's handler would turn it into an exit code)
    signal (SIGSEGV, SIG_DFL);
    raise (SIGSEGV);
    return zmp_task_fail (task, "SIGSEGV did not end the process");
}

//  --------------------------------------------------------------------------
//  Register the built-ins.

int
zmp_builtins_register (zmp_registry_t *registry)
{
    int rc = 0;
    rc |= zmp_registry_add (registry, "noop", s_noop, "do nothing");
    rc |= zmp_registry_add (registry, "echo", s_echo,
                            "return the argument (or the arguments)");
    rc |= zmp_registry_add (registry, "square", s_square,
                            "return number * number");
    rc |=
        zmp_registry_add (registry, "sleep", s_sleep, "sleep ms milliseconds");
    rc |= zmp_registry_add (registry, "info", s_info,
                            "return host, pid, ppid, agent_pid and slot");
    rc |= zmp_registry_add (registry, "armstrong", s_armstrong,
                            "return the Armstrong numbers in [from, to)");
    rc |= zmp_registry_add (registry, "fail", s_fail,
                            "fail with a message (for tests)");
    rc |=
        zmp_registry_add (registry, "crash", s_crash,
                          "die by SIGSEGV, whatever the arguments (for tests)");
    return rc ? -1 : 0;
}
