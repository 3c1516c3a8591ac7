/*  zmp_builtins - the task functions every worker offers

        noop            () -> nil
        echo            (x) -> x; (x, y, ...) -> [x, y, ...]
        square          (number) -> number * number
        sleep           (ms) -> nil, after sleeping ms milliseconds
        info            () -> {host, pid, ppid, agent_pid, slot}
        armstrong       (from, to) -> the Armstrong numbers in [from, to)
        fail            ([message]) -> fails with kind task_error
        crash           (...) -> the process dies by SIGSEGV

    fail and crash exist to test how errors travel.
*/
#ifndef ZMP_BUILTINS_H_INCLUDED
#define ZMP_BUILTINS_H_INCLUDED

#include <zmpool.h>

//  Register the built-ins. Returns 0, or -1 if a name was already taken.
int zmp_builtins_register (zmp_registry_t *registry);

#endif
