/*  zmp_shared - Value and Array of typed numbers, and the Manager's dict
    and list, as handles to objects in the broker

    A value's or array's lock is the object's own (the broker keeps one in
    each): its zmp_lock_t is part of the handle record, naming the same
    object, so acquire and release reach it without another handle.
*/
#include "client_internal.h"

#include "zmp_error.h"
#include "zmp_value.h"

struct zmp_shared_value {
    client_object_t object;
    zmp_lock_t lock;  //  The same object, as a lock
};

struct zmp_shared_array {
    client_object_t object;
    zmp_lock_t lock;  //  The same object, as a lock
};

struct zmp_dict {
    client_object_t object;
};

struct zmp_list {
    client_object_t object;
};

//  A new record of size bytes beginning with a client_object_t; lock, if
//  not NULL, is set up to name the same object
static client_object_t *
s_object (size_t size, zmp_client_t *client, zmp_object_kind_t kind,
          uint64_t id, bool attached, size_t lock_offset)
{
    client_object_t *object = (client_object_t *) zmalloc (size);
    object_init (object, client, kind, id, attached, false);
    if (lock_offset) {
        zmp_lock_t *lock = (zmp_lock_t *) ((char *) object + lock_offset);
        object_init (&lock->object, client, kind, id, false, false);
    }
    return object;
}

//  Free a record of this file, unless a task owns it
static void
s_destroy (void **self_p, size_t lock_offset)
{
    assert (self_p);
    client_object_t *object = (client_object_t *) *self_p;
    if (object && !object_task_owned (object)) {
        if (lock_offset)
            object_fini (
                &((zmp_lock_t *) ((char *) object + lock_offset))->object);
        object_fini (object);
        free (object);
    }
    *self_p = NULL;
}

//  Make an object from "new" params; a record of size bytes for it
static client_object_t *
s_new (size_t size, zmp_client_t *client, zmp_object_kind_t kind,
       size_t lock_offset, const msgpack_object *params, uint32_t count,
       const msgpack_object *payload, zmp_error_t *error)
{
    assert (client);
    zmp_value_t *reply =
        object_create (client, params, count, payload, payload ? 1 : 0, error);
    uint64_t id;
    client_object_t *object = NULL;
    if (reply && zmp_handle_decode (zmp_value_get (reply), NULL, &id))
        object = s_object (size, client, kind, id, true, lock_offset);
    else if (reply)
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "the broker's answer to new is not a handle");
    zmp_value_destroy (&reply);
    return object;
}

static client_object_t *
s_attach (size_t size, zmp_client_t *client, const msgpack_object *handle,
          uint32_t kinds, size_t lock_offset, zmp_error_t *error)
{
    assert (client);
    zmp_object_kind_t kind;
    uint64_t id;
    zmp_value_t *info;
    if (object_attach (client, handle, kinds, &kind, &id, &info, error))
        return NULL;
    zmp_value_destroy (&info);
    return s_object (size, client, kind, id, true, lock_offset);
}

static client_object_t *
s_task (size_t size, zmp_task_t *task, const msgpack_object *args,
        uint32_t index, uint32_t kinds, size_t lock_offset,
        void (*destroy) (void **), zmp_error_t *error)
{
    zmp_client_t *client;
    zmp_object_kind_t kind;
    uint64_t id;
    if (object_task_arg (task, args, index, kinds, &client, &kind, &id, error))
        return NULL;
    client_object_t *object =
        s_object (size, client, kind, id, false, lock_offset);
    object_task_own (task, object, destroy);
    return object;
}

//  --------------------------------------------------------------------------
//  Value

#define VALUE_LOCK offsetof (zmp_shared_value_t, lock)

zmp_shared_value_t *
zmp_shared_value_new (zmp_client_t *client, char typecode,
                      msgpack_object initial, zmp_error_t *error)
{
    char code[2] = { typecode, 0 };
    return (zmp_shared_value_t *) s_new (
        sizeof (zmp_shared_value_t), client, ZMP_OBJECT_VALUE, VALUE_LOCK,
        OBJECT_ARGS (zmp_str ("value"), zmp_str (code), initial), NULL, error);
}

zmp_shared_value_t *
zmp_shared_value_attach (zmp_client_t *client, const msgpack_object *handle,
                         zmp_error_t *error)
{
    return (zmp_shared_value_t *) s_attach (sizeof (zmp_shared_value_t), client,
                                            handle, OBJECT_KIND (VALUE),
                                            VALUE_LOCK, error);
}

static void
s_value_free (void **self_p)
{
    s_destroy (self_p, VALUE_LOCK);
}

zmp_shared_value_t *
zmp_task_shared_value (zmp_task_t *task, const msgpack_object *args,
                       uint32_t index, zmp_error_t *error)
{
    return (zmp_shared_value_t *) s_task (sizeof (zmp_shared_value_t), task,
                                          args, index, OBJECT_KIND (VALUE),
                                          VALUE_LOCK, s_value_free, error);
}

void
zmp_shared_value_destroy (zmp_shared_value_t **self_p)
{
    s_value_free ((void **) self_p);
}

msgpack_object
zmp_shared_value_handle (const zmp_shared_value_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

int
zmp_shared_value_get_int (zmp_shared_value_t *self, int64_t *value,
                          zmp_error_t *error)
{
    assert (self && value);
    return object_call_int (&self->object, "get", NULL, 0, value, error);
}

int
zmp_shared_value_get_double (zmp_shared_value_t *self, double *value,
                             zmp_error_t *error)
{
    assert (self && value);
    return object_call_double (&self->object, "get", NULL, 0, value, error);
}

int
zmp_shared_value_set (zmp_shared_value_t *self, msgpack_object value,
                      zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "set", OBJECT_ARGS (value), NULL, 0,
                            0, error);
}

int
zmp_shared_value_add (zmp_shared_value_t *self, msgpack_object delta,
                      double *result, zmp_error_t *error)
{
    assert (self);
    double sum;
    if (object_call_double (&self->object, "add", OBJECT_ARGS (delta), &sum,
                            error))
        return -1;
    if (result)
        *result = sum;
    return 0;
}

zmp_lock_t *
zmp_shared_value_lock (zmp_shared_value_t *self)
{
    assert (self);
    return &self->lock;
}

//  --------------------------------------------------------------------------
//  Array

#define ARRAY_LOCK offsetof (zmp_shared_array_t, lock)

zmp_shared_array_t *
zmp_shared_array_new (zmp_client_t *client, char typecode,
                      const msgpack_object *init, zmp_error_t *error)
{
    if (!init) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "an array is made from its items or a size");
        return NULL;
    }
    char code[2] = { typecode, 0 };
    return (zmp_shared_array_t *) s_new (
        sizeof (zmp_shared_array_t), client, ZMP_OBJECT_ARRAY, ARRAY_LOCK,
        OBJECT_ARGS (zmp_str ("array"), zmp_str (code), *init), NULL, error);
}

zmp_shared_array_t *
zmp_shared_array_attach (zmp_client_t *client, const msgpack_object *handle,
                         zmp_error_t *error)
{
    return (zmp_shared_array_t *) s_attach (sizeof (zmp_shared_array_t), client,
                                            handle, OBJECT_KIND (ARRAY),
                                            ARRAY_LOCK, error);
}

static void
s_array_free (void **self_p)
{
    s_destroy (self_p, ARRAY_LOCK);
}

zmp_shared_array_t *
zmp_task_shared_array (zmp_task_t *task, const msgpack_object *args,
                       uint32_t index, zmp_error_t *error)
{
    return (zmp_shared_array_t *) s_task (sizeof (zmp_shared_array_t), task,
                                          args, index, OBJECT_KIND (ARRAY),
                                          ARRAY_LOCK, s_array_free, error);
}

void
zmp_shared_array_destroy (zmp_shared_array_t **self_p)
{
    s_array_free ((void **) self_p);
}

msgpack_object
zmp_shared_array_handle (const zmp_shared_array_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

long
zmp_shared_array_len (zmp_shared_array_t *self, zmp_error_t *error)
{
    assert (self);
    int64_t size;
    if (object_call_int (&self->object, "len", NULL, 0, &size, error))
        return -1;
    return (long) size;
}

int
zmp_shared_array_get_int (zmp_shared_array_t *self, int64_t index,
                          int64_t *value, zmp_error_t *error)
{
    assert (self && value);
    return object_call_int (&self->object, "get", OBJECT_ARGS (zmp_int (index)),
                            value, error);
}

int
zmp_shared_array_get_double (zmp_shared_array_t *self, int64_t index,
                             double *value, zmp_error_t *error)
{
    assert (self && value);
    return object_call_double (&self->object, "get",
                               OBJECT_ARGS (zmp_int (index)), value, error);
}

int
zmp_shared_array_set (zmp_shared_array_t *self, int64_t index,
                      msgpack_object value, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "set",
                            OBJECT_ARGS (zmp_int (index), value), NULL, 0, 0,
                            error);
}

int
zmp_shared_array_add (zmp_shared_array_t *self, int64_t index,
                      msgpack_object delta, double *result, zmp_error_t *error)
{
    assert (self);
    double sum;
    if (object_call_double (&self->object, "add",
                            OBJECT_ARGS (zmp_int (index), delta), &sum, error))
        return -1;
    if (result)
        *result = sum;
    return 0;
}

zmp_value_t *
zmp_shared_array_slice (zmp_shared_array_t *self, int64_t start, int64_t stop,
                        zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "slice",
                        OBJECT_ARGS (zmp_int (start), zmp_int (stop)), NULL, 0,
                        0, error);
}

int
zmp_shared_array_set_slice (zmp_shared_array_t *self, int64_t start,
                            int64_t stop, const msgpack_object *items,
                            zmp_error_t *error)
{
    assert (self);
    if (!items) {
        zmp_error_set (error, ZMP_ERR_USAGE, "set_slice needs items");
        return -1;
    }
    return object_call_nil (
        &self->object, "set_slice",
        OBJECT_ARGS (zmp_int (start), zmp_int (stop), *items), NULL, 0, 0,
        error);
}

zmp_lock_t *
zmp_shared_array_lock (zmp_shared_array_t *self)
{
    assert (self);
    return &self->lock;
}

//  --------------------------------------------------------------------------
//  Dict

static void
s_plain_free (void **self_p)
{
    s_destroy (self_p, 0);
}

zmp_dict_t *
zmp_dict_new (zmp_client_t *client, zmp_error_t *error)
{
    return (zmp_dict_t *) s_new (sizeof (zmp_dict_t), client, ZMP_OBJECT_DICT,
                                 0, OBJECT_ARGS (zmp_str ("dict")), NULL,
                                 error);
}

zmp_dict_t *
zmp_dict_attach (zmp_client_t *client, const msgpack_object *handle,
                 zmp_error_t *error)
{
    return (zmp_dict_t *) s_attach (sizeof (zmp_dict_t), client, handle,
                                    OBJECT_KIND (DICT), 0, error);
}

zmp_dict_t *
zmp_task_dict (zmp_task_t *task, const msgpack_object *args, uint32_t index,
               zmp_error_t *error)
{
    return (zmp_dict_t *) s_task (sizeof (zmp_dict_t), task, args, index,
                                  OBJECT_KIND (DICT), 0, s_plain_free, error);
}

void
zmp_dict_destroy (zmp_dict_t **self_p)
{
    s_plain_free ((void **) self_p);
}

msgpack_object
zmp_dict_handle (const zmp_dict_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

//  A call whose payload is one key
static zmp_value_t *
s_keyed (zmp_dict_t *self, const char *verb, const msgpack_object *key,
         zmp_error_t *error)
{
    assert (self);
    if (!key) {
        zmp_error_set (error, ZMP_ERR_USAGE, "%s needs a key", verb);
        return NULL;
    }
    return object_call (&self->object, verb, NULL, 0, key, 1, 0, error);
}

int
zmp_dict_set (zmp_dict_t *self, const msgpack_object *key,
              const msgpack_object *value, zmp_error_t *error)
{
    assert (self);
    if (!key || !value) {
        zmp_error_set (error, ZMP_ERR_USAGE, "set needs a key and a value");
        return -1;
    }
    msgpack_object payloads[2] = { *key, *value };
    return object_call_nil (&self->object, "set", NULL, 0, payloads, 2, 0,
                            error);
}

zmp_value_t *
zmp_dict_get (zmp_dict_t *self, const msgpack_object *key, zmp_error_t *error)
{
    return s_keyed (self, "get", key, error);
}

zmp_value_t *
zmp_dict_pop (zmp_dict_t *self, const msgpack_object *key, zmp_error_t *error)
{
    return s_keyed (self, "pop", key, error);
}

int
zmp_dict_delete (zmp_dict_t *self, const msgpack_object *key,
                 zmp_error_t *error)
{
    zmp_value_t *value = s_keyed (self, "delete", key, error);
    int rc = value ? 0 : -1;
    zmp_value_destroy (&value);
    return rc;
}

int
zmp_dict_contains (zmp_dict_t *self, const msgpack_object *key,
                   zmp_error_t *error)
{
    zmp_value_t *value = s_keyed (self, "contains", key, error);
    if (!value)
        return -1;
    int found = zmp_value_get (value)->type == MSGPACK_OBJECT_BOOLEAN
                && zmp_value_get (value)->via.boolean;
    zmp_value_destroy (&value);
    return found;
}

long
zmp_dict_len (zmp_dict_t *self, zmp_error_t *error)
{
    assert (self);
    int64_t size;
    if (object_call_int (&self->object, "len", NULL, 0, &size, error))
        return -1;
    return (long) size;
}

zmp_value_t *
zmp_dict_keys (zmp_dict_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "keys", NULL, 0, NULL, 0, 0, error);
}

zmp_value_t *
zmp_dict_items (zmp_dict_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "items", NULL, 0, NULL, 0, 0, error);
}

int
zmp_dict_clear (zmp_dict_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "clear", NULL, 0, NULL, 0, 0, error);
}

//  --------------------------------------------------------------------------
//  List

zmp_list_t *
zmp_list_new (zmp_client_t *client, const msgpack_object *items,
              zmp_error_t *error)
{
    return (zmp_list_t *) s_new (sizeof (zmp_list_t), client, ZMP_OBJECT_LIST,
                                 0, OBJECT_ARGS (zmp_str ("list")), items,
                                 error);
}

zmp_list_t *
zmp_list_attach (zmp_client_t *client, const msgpack_object *handle,
                 zmp_error_t *error)
{
    return (zmp_list_t *) s_attach (sizeof (zmp_list_t), client, handle,
                                    OBJECT_KIND (LIST), 0, error);
}

zmp_list_t *
zmp_task_list (zmp_task_t *task, const msgpack_object *args, uint32_t index,
               zmp_error_t *error)
{
    return (zmp_list_t *) s_task (sizeof (zmp_list_t), task, args, index,
                                  OBJECT_KIND (LIST), 0, s_plain_free, error);
}

void
zmp_list_destroy (zmp_list_t **self_p)
{
    s_plain_free ((void **) self_p);
}

msgpack_object
zmp_list_handle (const zmp_list_t *self)
{
    assert (self);
    return zmp_handle_object (self->object.handle);
}

//  A call with one item as payload (NULL refused)
static int
s_with_item (zmp_list_t *self, const char *verb, const msgpack_object *params,
             uint32_t count, const msgpack_object *item, zmp_error_t *error)
{
    assert (self);
    if (!item) {
        zmp_error_set (error, ZMP_ERR_USAGE, "%s needs an item", verb);
        return -1;
    }
    return object_call_nil (&self->object, verb, params, count, item, 1, 0,
                            error);
}

int
zmp_list_append (zmp_list_t *self, const msgpack_object *item,
                 zmp_error_t *error)
{
    return s_with_item (self, "append", NULL, 0, item, error);
}

int
zmp_list_extend (zmp_list_t *self, const msgpack_object *items,
                 zmp_error_t *error)
{
    return s_with_item (self, "extend", NULL, 0, items, error);
}

int
zmp_list_insert (zmp_list_t *self, int64_t index, const msgpack_object *item,
                 zmp_error_t *error)
{
    return s_with_item (self, "insert", OBJECT_ARGS (zmp_int (index)), item,
                        error);
}

zmp_value_t *
zmp_list_get (zmp_list_t *self, int64_t index, zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "get", OBJECT_ARGS (zmp_int (index)),
                        NULL, 0, 0, error);
}

int
zmp_list_set (zmp_list_t *self, int64_t index, const msgpack_object *item,
              zmp_error_t *error)
{
    return s_with_item (self, "set", OBJECT_ARGS (zmp_int (index)), item,
                        error);
}

int
zmp_list_delete (zmp_list_t *self, int64_t index, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "delete",
                            OBJECT_ARGS (zmp_int (index)), NULL, 0, 0, error);
}

zmp_value_t *
zmp_list_pop (zmp_list_t *self, int64_t index, zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "pop", OBJECT_ARGS (zmp_int (index)),
                        NULL, 0, 0, error);
}

long
zmp_list_len (zmp_list_t *self, zmp_error_t *error)
{
    assert (self);
    int64_t size;
    if (object_call_int (&self->object, "len", NULL, 0, &size, error))
        return -1;
    return (long) size;
}

zmp_value_t *
zmp_list_slice (zmp_list_t *self, int64_t start, int64_t stop,
                zmp_error_t *error)
{
    assert (self);
    return object_call (&self->object, "slice",
                        OBJECT_ARGS (zmp_int (start), zmp_int (stop)), NULL, 0,
                        0, error);
}

int
zmp_list_reverse (zmp_list_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "reverse", NULL, 0, NULL, 0, 0,
                            error);
}

int
zmp_list_clear (zmp_list_t *self, zmp_error_t *error)
{
    assert (self);
    return object_call_nil (&self->object, "clear", NULL, 0, NULL, 0, 0, error);
}
