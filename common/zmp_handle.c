/*  zmp_handle - handles to shared objects

    The walks are recursive and bounded by the nesting msgpack-c accepts
    (ZMP_VALUE_DEPTH_MAX), so a value that made it through a decoder cannot
    run them off the stack.
*/
#include "zmp_handle.h"

#include <string.h>

static const char *s_kind_names[] = {
    "object",    "queue",   "pipe",  "lock",  "rlock", "semaphore", "event",
    "condition", "barrier", "value", "array", "dict",  "list"
};

//  --------------------------------------------------------------------------
//  Write handle bytes.

void
zmp_handle_encode (zmp_object_kind_t kind, uint64_t id,
                   char data[ZMP_HANDLE_SIZE])
{
    data[0] = (char) kind;
    for (int index = 0; index < 8; index++)
        data[1 + index] = (char) (id >> (56 - 8 * index));
}

//  --------------------------------------------------------------------------
//  A msgpack object over handle bytes.

msgpack_object
zmp_handle_object (const char data[ZMP_HANDLE_SIZE])
{
    msgpack_object object;
    object.type = MSGPACK_OBJECT_EXT;
    object.via.ext.type = ZMP_HANDLE_EXT_TYPE;
    object.via.ext.size = ZMP_HANDLE_SIZE;
    object.via.ext.ptr = data;
    return object;
}

//  --------------------------------------------------------------------------
//  Pack a handle.

void
zmp_handle_pack (msgpack_packer *packer, zmp_object_kind_t kind, uint64_t id)
{
    char data[ZMP_HANDLE_SIZE];
    zmp_handle_encode (kind, id, data);
    msgpack_pack_ext_with_body (packer, data, sizeof data, ZMP_HANDLE_EXT_TYPE);
}

//  --------------------------------------------------------------------------
//  Read a handle.

bool
zmp_handle_decode (const msgpack_object *value, zmp_object_kind_t *kind,
                   uint64_t *id)
{
    if (!value || value->type != MSGPACK_OBJECT_EXT
        || value->via.ext.type != ZMP_HANDLE_EXT_TYPE
        || value->via.ext.size != ZMP_HANDLE_SIZE)
        return false;
    const unsigned char *data = (const unsigned char *) value->via.ext.ptr;
    uint64_t number = 0;
    for (int index = 0; index < 8; index++)
        number = (number << 8) | data[1 + index];
    if (data[0] < ZMP_OBJECT_QUEUE || data[0] > ZMP_OBJECT_LIST || number == 0)
        return false;
    if (kind)
        *kind = (zmp_object_kind_t) data[0];
    if (id)
        *id = number;
    return true;
}

//  --------------------------------------------------------------------------
//  The kind of object a value is a handle to, or 0.

int
zmp_handle_kind (const msgpack_object *value)
{
    zmp_object_kind_t kind;
    return zmp_handle_decode (value, &kind, NULL) ? (int) kind : 0;
}

static size_t
s_collect (const msgpack_object *value, uint64_t *ids, size_t max, size_t found,
           int depth)
{
    if (depth > 64)
        return found;  //  Deeper than any decoder lets through
    uint64_t id;
    switch (value->type) {
        case MSGPACK_OBJECT_EXT:
            if (zmp_handle_decode (value, NULL, &id)) {
                if (ids && found < max)
                    ids[found] = id;
                found++;
            }
            break;
        case MSGPACK_OBJECT_ARRAY:
            for (uint32_t index = 0; index < value->via.array.size; index++)
                found = s_collect (&value->via.array.ptr[index], ids, max,
                                   found, depth + 1);
            break;
        case MSGPACK_OBJECT_MAP:
            for (uint32_t index = 0; index < value->via.map.size; index++) {
                found = s_collect (&value->via.map.ptr[index].key, ids, max,
                                   found, depth + 1);
                found = s_collect (&value->via.map.ptr[index].val, ids, max,
                                   found, depth + 1);
            }
            break;
        default:
            break;
    }
    return found;
}

//  --------------------------------------------------------------------------
//  True if a value holds a handle.

bool
zmp_handle_present (const msgpack_object *value)
{
    return value && s_collect (value, NULL, 0, 0, 0) > 0;
}

//  --------------------------------------------------------------------------
//  Collect handle ids.

size_t
zmp_handle_collect (const msgpack_object *value, uint64_t *ids, size_t max)
{
    return value ? s_collect (value, ids, max, 0, 0) : 0;
}

//  --------------------------------------------------------------------------
//  Name of an object kind.

const char *
zmp_object_kind_name (int kind)
{
    if (kind < ZMP_OBJECT_QUEUE || kind > ZMP_OBJECT_LIST)
        return s_kind_names[0];
    return s_kind_names[kind];
}
