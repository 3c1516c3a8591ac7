/*  example_module - how to add task functions to zmpool workers

    Build this file as a shared library and load it with
        zmpool worker --module ./libzmpool_example.so
    Every function it registers can then be called by name from any client:
        zmpool map example.greet '"john"'

    A module includes zmpool.h and nothing else of zmpool, and links nothing:
    zmp_registry_add, zmp_task_fail and friends are found in the zmpool
    worker that loads it. It exports one function, zmpool_module_init.
*/
#include <stdio.h>
#include <zmpool.h>

//  greet (name) -> "hello, NAME": the seeds' first example, f('john')
static int
s_greet (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    const char *name;
    uint32_t size;
    if (zmp_arg_count (args) != 1 || !zmp_arg_str (args, 0, &name, &size))
        return zmp_task_bad_arguments (task, "greet takes one string");
    char text[256];
    int length = snprintf (text, sizeof text, "hello, %.*s", (int) size, name);
    if (length >= (int) sizeof text)
        return zmp_task_fail (task, "name too long to greet");
    return msgpack_pack_str_with_body (result, text, (size_t) length);
}

//  fib (n) -> the n-th Fibonacci number, for 0 <= n <= 92
static int
s_fib (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    int64_t n;
    if (zmp_arg_count (args) != 1 || !zmp_arg_int (args, 0, &n))
        return zmp_task_bad_arguments (task, "fib takes one integer");
    if (n < 0 || n > 92)
        return zmp_task_bad_arguments (task, "fib needs 0 <= n <= 92, got %lld",
                                       (long long) n);
    uint64_t previous = 0, current = 1;
    for (int64_t step = 0; step < n; step++) {
        uint64_t next = previous + current;
        previous = current;
        current = next;
    }
    return msgpack_pack_uint64 (result, previous);
}

//  sum (x, y, ...) -> the sum of numbers, as a float
static int
s_sum (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    double total = 0;
    for (uint32_t index = 0; index < zmp_arg_count (args); index++) {
        double number;
        if (!zmp_arg_double (args, index, &number))
            return zmp_task_bad_arguments (task, "argument %u is not a number",
                                           index + 1);
        total += number;
    }
    return msgpack_pack_double (result, total);
}

//  The one symbol zmpool looks for: register the functions, return 0.
int zmpool_module_init (zmp_registry_t *registry);

int
zmpool_module_init (zmp_registry_t *registry)
{
    if (zmp_registry_add (registry, "example.greet", s_greet,
                          "return \"hello, NAME\"")
        || zmp_registry_add (registry, "example.fib", s_fib,
                             "return the n-th Fibonacci number")
        || zmp_registry_add (registry, "example.sum", s_sum,
                             "return the sum of the arguments"))
        return -1;
    return 0;
}
