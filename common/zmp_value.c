/*  zmp_value - owned msgpack values and helpers

    zmp_value_t keeps the frame whose bytes the object's strings point
    into; values decoded from plain memory get a frame holding a copy.

    msgpack-c allocates room for an array's or map's items as soon as it
    reads the header, before it reads any item; it has no way to validate
    bytes without allocating. So zmp_value_check walks the bytes first,
    reading only headers and lengths. When the walk ends exactly at the
    last byte, every declared item really is there: the items of all the
    containers together number fewer than the bytes, and what msgpack-c
    then allocates is bounded by the frame's size.
*/
#include "zmp_value.h"

#include "zmp_error.h"

struct zmp_value {
    zframe_t *frame;              //  Owned; the object's strings point into it
    msgpack_unpacked unpacked;    //  Owned; the object and its zone
    const msgpack_object *focus;  //  What zmp_value_get returns: the
                                  //  whole, or a part (zmp_value_focus)
};

//  Big-endian unsigned integer of width bytes at data.
static uint64_t
s_be (const unsigned char *data, size_t width)
{
    uint64_t value = 0;
    for (size_t index = 0; index < width; index++)
        value = (value << 8) | data[index];
    return value;
}

//  Size of the header of the value starting with byte, and where its length
//  or count lives: *width bytes after the first, *fixed bytes of payload
//  besides. Returns false for the one byte msgpack never uses (0xc1).
static bool
s_header (unsigned char byte, size_t *width, uint64_t *fixed)
{
    *width = 0;
    *fixed = 0;
    if (byte <= 0x7f || byte >= 0xe0 || byte == 0xc0 || byte == 0xc2
        || byte == 0xc3 || (byte >= 0x80 && byte <= 0x9f))
        return true;  //  Fixints, nil, booleans; fix containers counted apart
    if (byte >= 0xa0 && byte <= 0xbf) {
        *fixed = byte & 0x1f;  //  fixstr
        return true;
    }
    switch (byte) {
        case 0xc4:  //  bin 8, 16, 32
        case 0xd9:  //  str 8, 16, 32
            *width = 1;
            return true;
        case 0xc5:
        case 0xda:
            *width = 2;
            return true;
        case 0xc6:
        case 0xdb:
            *width = 4;
            return true;
        case 0xc7:  //  ext 8, 16, 32: length, then a type byte
            *width = 1;
            *fixed = 1;
            return true;
        case 0xc8:
            *width = 2;
            *fixed = 1;
            return true;
        case 0xc9:
            *width = 4;
            *fixed = 1;
            return true;
        case 0xca:  //  float 32, 64
            *fixed = 4;
            return true;
        case 0xcb:
            *fixed = 8;
            return true;
        case 0xcc:  //  uint 8, 16, 32, 64 and int likewise
        case 0xd0:
            *fixed = 1;
            return true;
        case 0xcd:
        case 0xd1:
            *fixed = 2;
            return true;
        case 0xce:
        case 0xd2:
            *fixed = 4;
            return true;
        case 0xcf:
        case 0xd3:
            *fixed = 8;
            return true;
        case 0xd4:  //  fixext 1, 2, 4, 8, 16: a type byte and the data
            *fixed = 2;
            return true;
        case 0xd5:
            *fixed = 3;
            return true;
        case 0xd6:
            *fixed = 5;
            return true;
        case 0xd7:
            *fixed = 9;
            return true;
        case 0xd8:
            *fixed = 17;
            return true;
        case 0xdc:  //  array 16, 32; map 16, 32: the count follows
        case 0xde:
            *width = 2;
            return true;
        case 0xdd:
        case 0xdf:
            *width = 4;
            return true;
        default:
            return false;  //  0xc1
    }
}

//  --------------------------------------------------------------------------
//  Check that data holds exactly one well-formed value.

int
zmp_value_check (const void *data, size_t size, zmp_error_t *error)
{
    const unsigned char *bytes = (const unsigned char *) data;
    //  pending[d]: items still to read at depth d (0: the top value)
    uint64_t pending[ZMP_VALUE_DEPTH_MAX + 1];
    size_t depth = 0;
    pending[0] = 1;
    size_t offset = 0;
    while (true) {
        while (depth > 0 && pending[depth] == 0)
            depth--;
        if (pending[depth] == 0)
            break;  //  The top value is complete
        pending[depth]--;
        if (offset >= size) {
            zmp_error_set (error, ZMP_ERR_PROTOCOL, "truncated msgpack value");
            return -1;
        }
        unsigned char byte = bytes[offset++];
        size_t width;
        uint64_t fixed;
        if (!s_header (byte, &width, &fixed)) {
            zmp_error_set (error, ZMP_ERR_PROTOCOL,
                           "malformed msgpack value (byte 0x%02x at %zu)", byte,
                           offset - 1);
            return -1;
        }
        if (width > size - offset) {
            zmp_error_set (error, ZMP_ERR_PROTOCOL, "truncated msgpack value");
            return -1;
        }
        uint64_t length = s_be (bytes + offset, width);
        offset += width;
        bool array =
            (byte >= 0x90 && byte <= 0x9f) || byte == 0xdc || byte == 0xdd;
        bool map =
            (byte >= 0x80 && byte <= 0x8f) || byte == 0xde || byte == 0xdf;
        if (array || map) {
            uint64_t count = byte <= 0x9f ? (uint64_t) (byte & 0x0f) : length;
            if (map)
                count *= 2;
            //  Each item takes a byte at least: more items than bytes left
            //  is a lie about the size, refused before anyone allocates
            if (count > size - offset) {
                zmp_error_set (error, ZMP_ERR_PROTOCOL,
                               "truncated or too large msgpack value: a %s "
                               "of %llu items in %zu bytes",
                               map ? "map" : "array",
                               (unsigned long long) (map ? count / 2 : count),
                               size - offset);
                return -1;
            }
            //  As msgpack-c counts: any container, even empty, opened
            //  inside ZMP_VALUE_DEPTH_MAX open ones is one too deep
            if (depth == ZMP_VALUE_DEPTH_MAX) {
                zmp_error_set (error, ZMP_ERR_PROTOCOL,
                               "msgpack value nests deeper than %d",
                               ZMP_VALUE_DEPTH_MAX);
                return -1;
            }
            if (count > 0)
                pending[++depth] = count;
            continue;
        }
        uint64_t payload = length + fixed;
        if (payload > size - offset) {
            zmp_error_set (error, ZMP_ERR_PROTOCOL, "truncated msgpack value");
            return -1;
        }
        offset += (size_t) payload;
    }
    if (offset != size) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "trailing bytes: %zu after the msgpack value",
                       size - offset);
        return -1;
    }
    return 0;
}

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
    if (zmp_value_check (data, size, error))
        return -1;
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
    return self->focus ? self->focus : &self->unpacked.data;
}

//  --------------------------------------------------------------------------
//  Return a part of the value from now on.

void
zmp_value_focus (zmp_value_t *self, const msgpack_object *object)
{
    assert (self && object);
    self->focus = object;
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
    if (object->via.str.size)  //  A msgpack "" may have no pointer
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
