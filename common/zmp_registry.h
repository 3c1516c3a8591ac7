/*  zmp_registry - the task functions a worker offers, and how one is run

    A registry maps names to task functions. The worker fills it with its
    built-ins and with what --module libraries register, before it forks,
    so every child inherits the same table. zmp_registry_call () runs one
    task exactly as a worker child does (chunks included) and checks that
    the function kept its contract; a module's unit tests call it too.

    The public half (zmp_registry_add, zmp_task_fail ...) is in zmpool.h.
*/
#ifndef ZMP_REGISTRY_H_INCLUDED
#define ZMP_REGISTRY_H_INCLUDED

#include <czmq.h>
#include <zmpool.h>

//  What a task process offers its tasks besides the registry: the way to
//  the broker, for shared objects. The worker's child owns it and fills in
//  endpoint and agent_pid; libzmpool (zmp_task_client) opens client on
//  first use and sets the two hooks, which the child calls after each task
//  and before it exits. Layering: the worker never calls the client
//  library; it only calls what the library left here.
typedef struct zmp_task_env zmp_task_env_t;
struct zmp_task_env {
    const char *endpoint;  //  Broker the worker uses (borrowed)
    int64_t agent_pid;     //  The worker agent
    void *client;          //  zmp_client_t *, opened on first use
    void *objects;         //  Objects the running task owns (libzmpool's)
    void (*end_task) (zmp_task_env_t *env);     //  Frees objects
    void (*end_process) (zmp_task_env_t *env);  //  Closes client
};

//  What a running task can see of itself. The worker fills it in.
struct zmp_task {
    const char *function;  //  Borrowed: the function's name
    uint32_t attempt;      //  1 for the first run
    int slot;              //  Worker child slot, -1 outside a worker
    int64_t agent_pid;     //  Worker agent's pid, 0 outside a worker
    zmp_task_env_t *env;   //  Borrowed; NULL outside a worker
    bool failed;           //  zmp_task_fail* was called
    zmp_error_t error;     //  Why, when failed
};

//  Prepare task to run function: attempt 1, slot -1, not failed.
void zmp_task_init (zmp_task_t *task, const char *function);

zmp_registry_t *zmp_registry_new (void);

void zmp_registry_destroy (zmp_registry_t **self_p);

//  The function registered as name, or NULL.
zmp_task_fn *zmp_registry_lookup (zmp_registry_t *self, const char *name);

//  One-line summary of name, "" if none, NULL if name is not registered.
const char *zmp_registry_summary (zmp_registry_t *self, const char *name);

size_t zmp_registry_size (zmp_registry_t *self);

//  Names of all functions, sorted; the caller destroys the list (its items
//  are borrowed strings, valid while the registry lives).
zlistx_t *zmp_registry_names (zmp_registry_t *self);

//  Load the module at path (dlopen) and call its zmpool_module_init. The
//  module stays loaded for the life of the process. Returns 0, or -1 with
//  kind system and the reason (file, symbol, or the module refused).
int zmp_registry_load (zmp_registry_t *self, const char *path,
                       zmp_error_t *error);

//  Run task (prepared with zmp_task_init) with args as the worker does: args must be an array
//  (bad_arguments otherwise); with ZMP_TASK_CHUNK it is an array of argument
//  arrays and the result an array of results, the first failure failing the
//  whole chunk with its item's index. The result is appended to result.
//  Returns 0, or -1 with error filled (kind unknown_function, bad_arguments
//  or task_error) and result left as it was.
int zmp_registry_call (zmp_registry_t *self, zmp_task_t *task,
                       const msgpack_object *args, uint32_t flags,
                       msgpack_sbuffer *result, zmp_error_t *error);

#endif
