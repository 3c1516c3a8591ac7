/*  zmp_registry - task functions by name, and running one

    A task function promises to pack exactly one value and return 0, or to
    pack nothing and return zmp_task_fail (). Module code breaks promises,
    so zmp_registry_call checks each result before anyone else sees it: a
    broken promise becomes a task error that names the function, not a
    corrupt message three hops away.
*/
#include "zmp_registry.h"

#include "zmp_error.h"
#include "zmp_proto.h"
#include "zmp_value.h"

#include <dlfcn.h>

typedef struct {
    char *name;     //  Owned
    char *summary;  //  Owned, may be ""
    zmp_task_fn *fn;
} s_entry_t;

struct zmp_registry {
    zhashx_t *entries;  //  name -> s_entry_t, owned
};

static void
s_entry_free (void **item_p)
{
    s_entry_t *entry = (s_entry_t *) *item_p;
    if (entry) {
        free (entry->name);
        free (entry->summary);
        free (entry);
        *item_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Create an empty registry.

zmp_registry_t *
zmp_registry_new (void)
{
    zmp_registry_t *self = (zmp_registry_t *) zmalloc (sizeof (zmp_registry_t));
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, s_entry_free);
    return self;
}

//  --------------------------------------------------------------------------
//  Destroy a registry.

void
zmp_registry_destroy (zmp_registry_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_registry_t *self = *self_p;
        zhashx_destroy (&self->entries);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Register a task function.

int
zmp_registry_add (zmp_registry_t *self, const char *name, zmp_task_fn *fn,
                  const char *summary)
{
    assert (self);
    if (!name || !fn || !zmp_proto_valid_name (name, strlen (name))
        || zhashx_lookup (self->entries, name))
        return -1;
    s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    entry->name = strdup (name);
    entry->summary = strdup (summary ? summary : "");
    entry->fn = fn;
    zhashx_insert (self->entries, name, entry);
    return 0;
}

//  --------------------------------------------------------------------------
//  Look a function up by name.

zmp_task_fn *
zmp_registry_lookup (zmp_registry_t *self, const char *name)
{
    assert (self);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, name);
    return entry ? entry->fn : NULL;
}

//  --------------------------------------------------------------------------
//  One-line summary of a function.

const char *
zmp_registry_summary (zmp_registry_t *self, const char *name)
{
    assert (self);
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, name);
    return entry ? entry->summary : NULL;
}

//  --------------------------------------------------------------------------
//  Number of functions.

size_t
zmp_registry_size (zmp_registry_t *self)
{
    assert (self);
    return zhashx_size (self->entries);
}

static int
s_compare_names (const void *item1, const void *item2)
{
    return strcmp ((const char *) item1, (const char *) item2);
}

//  --------------------------------------------------------------------------
//  Sorted list of function names.

zlistx_t *
zmp_registry_names (zmp_registry_t *self)
{
    assert (self);
    zlistx_t *names = zlistx_new ();
    zlistx_set_comparator (names, s_compare_names);
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->entries); entry;
         entry = (s_entry_t *) zhashx_next (self->entries))
        zlistx_add_end (names, entry->name);
    zlistx_sort (names);
    return names;
}

//  --------------------------------------------------------------------------
//  Load a module and let it register its functions.

int
zmp_registry_load (zmp_registry_t *self, const char *path, zmp_error_t *error)
{
    assert (self && path);
    //  RTLD_NOW: a missing symbol fails here, at start, not in a task
    void *handle = dlopen (path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot load module %s: %s", path,
                       dlerror ());
        return -1;
    }
    zmp_module_init_fn *init;
    *(void **) (&init) = dlsym (handle, ZMP_MODULE_INIT_SYMBOL);
    if (!init) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "module %s does not export %s ()",
                       path, ZMP_MODULE_INIT_SYMBOL);
        dlclose (handle);
        return -1;
    }
    size_t before = zmp_registry_size (self);
    if (init (self)) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "module %s refused to load (its %s () failed)", path,
                       ZMP_MODULE_INIT_SYMBOL);
        return -1;  //  Stays loaded: it may have registered functions
    }
    if (zmp_registry_size (self) == before) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "module %s registered no functions", path);
        return -1;
    }
    return 0;  //  The handle is never closed: its functions stay in use
}

//  Check that the bytes from offset on hold exactly one msgpack value, as
//  every receiver will check it; says why not in cause.
static bool
s_one_value (const msgpack_sbuffer *buffer, size_t offset, zmp_error_t *cause)
{
    if (buffer->size <= offset) {
        zmp_error_set (cause, ZMP_ERR_TASK, "no value");
        return false;
    }
    return zmp_value_check (buffer->data + offset, buffer->size - offset, cause)
           == 0;
}

//  Run fn once on args; append its result to buffer or fill task->error.
static int
s_run_one (zmp_task_t *task, zmp_task_fn *fn, const msgpack_object *args,
           msgpack_sbuffer *buffer)
{
    if (args->type != MSGPACK_OBJECT_ARRAY) {
        zmp_task_bad_arguments (task, "arguments must be an array");
        return -1;
    }
    size_t before = buffer->size;
    msgpack_packer packer;
    msgpack_packer_init (&packer, buffer, msgpack_sbuffer_write);
    int rc = fn (task, args, &packer);
    zmp_error_t cause;
    if (rc == 0 && !task->failed && s_one_value (buffer, before, &cause))
        return 0;
    buffer->size = before;  //  Forget whatever a failing function packed
    if (!task->failed) {
        if (rc == 0)
            zmp_task_fail (task,
                           "%s did not pack exactly one result value (%s)",
                           task->function, cause.message);
        else
            zmp_task_fail (task, "%s failed without saying why",
                           task->function);
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Run a task as a worker child does.

int
zmp_registry_call (zmp_registry_t *self, zmp_task_t *task,
                   const msgpack_object *args, uint32_t flags,
                   msgpack_sbuffer *result, zmp_error_t *error)
{
    assert (self && task && task->function && args && result);
    zmp_task_fn *fn = zmp_registry_lookup (self, task->function);
    if (!fn) {
        zmp_error_set (error, ZMP_ERR_UNKNOWN_FUNCTION,
                       "no function named '%s' on this worker", task->function);
        return -1;
    }
    task->failed = false;
    zmp_error_clear (&task->error);
    size_t before = result->size;
    int rc = 0;
    if (flags & ZMP_TASK_CHUNK) {
        if (args->type != MSGPACK_OBJECT_ARRAY) {
            zmp_task_bad_arguments (task, "a chunk must be an array");
            rc = -1;
        } else {
            msgpack_packer packer;
            msgpack_packer_init (&packer, result, msgpack_sbuffer_write);
            msgpack_pack_array (&packer, args->via.array.size);
            for (uint32_t index = 0; rc == 0 && index < args->via.array.size;
                 index++) {
                rc = s_run_one (task, fn, &args->via.array.ptr[index], result);
                if (rc)
                    task->error.index = index;
            }
            //  Each result passed alone; in the chunk's array they nest one
            //  level deeper, which the receiver checks too
            zmp_error_t cause;
            if (rc == 0 && !s_one_value (result, before, &cause)) {
                zmp_task_fail (task,
                               "the results of %s, gathered in a chunk, "
                               "are not one valid value (%s)",
                               task->function, cause.message);
                rc = -1;
            }
        }
    } else
        rc = s_run_one (task, fn, args, result);
    if (rc) {
        result->size = before;
        if (error)
            *error = task->error;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Prepare a task context.

void
zmp_task_init (zmp_task_t *task, const char *function)
{
    assert (task && function);
    memset (task, 0, sizeof *task);
    task->function = function;
    task->attempt = 1;
    task->slot = -1;
    zmp_error_clear (&task->error);
}

static int s_fail (zmp_task_t *task, zmp_error_kind_t kind, int code,
                   const char *format, va_list args)
    __attribute__ ((format (printf, 4, 0)));

static int
s_fail (zmp_task_t *task, zmp_error_kind_t kind, int code, const char *format,
        va_list args)
{
    assert (task);
    if (!task->failed) {  //  The first reason is the real one
        zmp_error_setv (&task->error, kind, format, args);
        task->error.code = code;
        task->failed = true;
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Fail a task with a message.

int
zmp_task_fail (zmp_task_t *task, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_fail (task, ZMP_ERR_TASK, 0, format, args);
    va_end (args);
    return -1;
}

//  --------------------------------------------------------------------------
//  Fail a task with an error code and a message.

int
zmp_task_fail_code (zmp_task_t *task, int code, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_fail (task, ZMP_ERR_TASK, code, format, args);
    va_end (args);
    return -1;
}

//  --------------------------------------------------------------------------
//  Fail a task because of its arguments.

int
zmp_task_bad_arguments (zmp_task_t *task, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_fail (task, ZMP_ERR_BAD_ARGUMENTS, 0, format, args);
    va_end (args);
    return -1;
}

//  --------------------------------------------------------------------------
//  Name of the running task's function.

const char *
zmp_task_function (const zmp_task_t *task)
{
    assert (task);
    return task->function;
}
