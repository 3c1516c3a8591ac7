/*  zmp_value - owned msgpack values and helpers

    zmp_value_t keeps the frame whose bytes the object's strings point
    into; values decoded from plain memory get a frame holding a copy.
*/
#include "zmp_value.h"

#include "zmp_error.h"

struct zmp_value {
    zframe_t *frame;            //  Owned; the object's strings point into it
    msgpack_unpacked unpacked;  //  Owned; the object and its zone
};

//  --------------------------------------------------------------------------
//  Decode exactly one value from data.

int
zmp_value_unpack (msgpack_unpacked *unpacked, const void *data, size_t size,
                  zmp_error_t *error)
{
    assert (unpacked);
    if (size == 0) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "empty frame, expected a msgpack value");
        return -1;
    }
    size_t offset = 0;
    msgpack_unpack_return rc =
        msgpack_unpack_next (unpacked, (const char *) data, size, &offset);
    if (rc == MSGPACK_UNPACK_SUCCESS && offset == size)
        return 0;
    if (rc == MSGPACK_UNPACK_SUCCESS)
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "trailing bytes: %zu after the msgpack value",
                       size - offset);
    else if (rc == MSGPACK_UNPACK_CONTINUE)
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "truncated msgpack value");
    else if (rc == MSGPACK_UNPACK_NOMEM_ERROR)
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "msgpack value too large or too deep");
    else
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "malformed msgpack value");
    return -1;
}

//  --------------------------------------------------------------------------
//  Decode a frame into a new value; takes the frame.

zmp_value_t *
zmp_value_decode_frame (zframe_t **frame_p, zmp_error_t *error)
{
    assert (frame_p && *frame_p);
    zmp_value_t *self = (zmp_value_t *) zmalloc (sizeof (zmp_value_t));
    self->frame = *frame_p;
    *frame_p = NULL;
    msgpack_unpacked_init (&self->unpacked);
    if (zmp_value_unpack (&self->unpacked, zframe_data (self->frame),
                          zframe_size (self->frame), error))
        zmp_value_destroy (&self);
    return self;
}

//  --------------------------------------------------------------------------
//  Decode a copy of data into a new value.

zmp_value_t *
zmp_value_decode (const void *data, size_t size, zmp_error_t *error)
{
    zframe_t *frame = zframe_new (data, size);
    return zmp_value_decode_frame (&frame, error);
}

//  --------------------------------------------------------------------------
//  The decoded object.

const msgpack_object *
zmp_value_get (const zmp_value_t *self)
{
    assert (self);
    return &self->unpacked.data;
}

//  --------------------------------------------------------------------------
//  Destroy a value.

void
zmp_value_destroy (zmp_value_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_value_t *self = *self_p;
        msgpack_unpacked_destroy (&self->unpacked);
        zframe_destroy (&self->frame);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  True if object is the string name.

bool
zmp_str_is (const msgpack_object *object, const char *name)
{
    size_t length = strlen (name);
    return object->type == MSGPACK_OBJECT_STR && object->via.str.size == length
           && memcmp (object->via.str.ptr, name, length) == 0;
}

//  --------------------------------------------------------------------------
//  Look a string key up in a map.

const msgpack_object *
zmp_map_get (const msgpack_object *map, const char *name)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t index = 0; index < map->via.map.size; index++)
        if (zmp_str_is (&map->via.map.ptr[index].key, name))
            return &map->via.map.ptr[index].val;
    return NULL;
}

//  --------------------------------------------------------------------------
//  Copy a string object into a buffer.

int
zmp_str_copy (const msgpack_object *object, char *buffer, size_t size)
{
    assert (buffer && size > 0);
    if (!object || object->type != MSGPACK_OBJECT_STR
        || object->via.str.size >= size)
        return -1;
    memcpy (buffer, object->via.str.ptr, object->via.str.size);
    buffer[object->via.str.size] = 0;
    return 0;
}

//  --------------------------------------------------------------------------
//  Read a bounded unsigned integer.

int
zmp_uint_get (const msgpack_object *object, uint64_t max, uint64_t *value)
{
    if (!object || object->type != MSGPACK_OBJECT_POSITIVE_INTEGER
        || object->via.u64 > max)
        return -1;
    *value = object->via.u64;
    return 0;
}

//  --------------------------------------------------------------------------
//  Read a signed integer.

int
zmp_int_get (const msgpack_object *object, int64_t *value)
{
    if (object && object->type == MSGPACK_OBJECT_POSITIVE_INTEGER
        && object->via.u64 <= INT64_MAX) {
        *value = (int64_t) object->via.u64;
        return 0;
    }
    if (object && object->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *value = object->via.i64;
        return 0;
    }
    return -1;
}

//  --------------------------------------------------------------------------
//  Pack a C string.

void
zmp_pack_cstr (msgpack_packer *packer, const char *string)
{
    msgpack_pack_str_with_body (packer, string, strlen (string));
}

//  --------------------------------------------------------------------------
//  Copy a buffer's bytes into a new frame.

zframe_t *
zmp_frame_from_buffer (const msgpack_sbuffer *buffer)
{
    return zframe_new (buffer->data, buffer->size);
}

static const msgpack_object *
s_arg (const msgpack_object *args, uint32_t index)
{
    if (!args || args->type != MSGPACK_OBJECT_ARRAY
        || index >= args->via.array.size)
        return NULL;
    return &args->via.array.ptr[index];
}

//  --------------------------------------------------------------------------
//  Number of arguments.

uint32_t
zmp_arg_count (const msgpack_object *args)
{
    return args && args->type == MSGPACK_OBJECT_ARRAY ? args->via.array.size
                                                      : 0;
}

//  --------------------------------------------------------------------------
//  Read an integer argument.

bool
zmp_arg_int (const msgpack_object *args, uint32_t index, int64_t *value)
{
    return zmp_int_get (s_arg (args, index), value) == 0;
}

//  --------------------------------------------------------------------------
//  Read a number argument as a double.

bool
zmp_arg_double (const msgpack_object *args, uint32_t index, double *value)
{
    const msgpack_object *arg = s_arg (args, index);
    int64_t integer;
    if (arg
        && (arg->type == MSGPACK_OBJECT_FLOAT64
            || arg->type == MSGPACK_OBJECT_FLOAT32)) {
        *value = arg->via.f64;
        return true;
    }
    if (zmp_int_get (arg, &integer) == 0) {
        *value = (double) integer;
        return true;
    }
    if (arg && arg->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *value = (double) arg->via.u64;
        return true;
    }
    return false;
}

//  --------------------------------------------------------------------------
//  Read a string argument.

bool
zmp_arg_str (const msgpack_object *args, uint32_t index, const char **value,
             uint32_t *size)
{
    const msgpack_object *arg = s_arg (args, index);
    if (!arg || arg->type != MSGPACK_OBJECT_STR)
        return false;
    *value = arg->via.str.ptr;
    if (size)
        *size = arg->via.str.size;
    return true;
}
