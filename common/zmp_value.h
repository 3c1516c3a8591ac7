/*  zmp_value - msgpack values: owned decoded values and small helpers

    A zmp_value_t owns the bytes a msgpack object was decoded from (a frame,
    or a copy) and the zone its arrays and maps live in. msgpack-c's decoded
    strings point into those bytes, so the two live and die together.

    Every decode here insists on exactly one value and nothing after it.
*/
#ifndef ZMP_VALUE_H_INCLUDED
#define ZMP_VALUE_H_INCLUDED

#include <czmq.h>
#include <zmpool.h>

//  Decode frame, which must hold exactly one msgpack value. Always takes
//  *frame_p and sets it to NULL. Returns the value, or NULL with kind
//  protocol and the reason in error.
zmp_value_t *zmp_value_decode_frame (zframe_t **frame_p, zmp_error_t *error);

//  Decode a copy of size bytes at data, as zmp_value_decode_frame.
zmp_value_t *zmp_value_decode (const void *data, size_t size,
                               zmp_error_t *error);

//  Make zmp_value_get return object, which must lie inside the value (an
//  item of its array, say) instead of the whole.
void zmp_value_focus (zmp_value_t *self, const msgpack_object *object);

//  Deepest nesting of arrays and maps any decoder accepts (msgpack-c's own
//  limit)
#define ZMP_VALUE_DEPTH_MAX 32

//  Check, without allocating, that data holds exactly one well-formed
//  msgpack value nesting at most ZMP_VALUE_DEPTH_MAX deep. Returns 0, or -1
//  with kind protocol and the reason. Every decode here runs it first: it
//  keeps a frame that declares four billion items from making msgpack-c
//  allocate for them.
int zmp_value_check (const void *data, size_t size, zmp_error_t *error);

//  Decode exactly one msgpack value from data into unpacked (initialised by
//  the caller, destroyed by the caller). Strings in the result point into
//  data. Returns 0, or -1 with kind protocol and what is wrong: an empty
//  frame, a truncated or malformed value, one that nests deeper than
//  ZMP_VALUE_DEPTH_MAX or declares more items than bytes remain, or
//  trailing bytes after it.
int zmp_value_unpack (msgpack_unpacked *unpacked, const void *data, size_t size,
                      zmp_error_t *error);

//  True if key is the string name.
bool zmp_str_is (const msgpack_object *object, const char *name);

//  The value for the string key name in map, or NULL if map is not a map
//  or has no such key.
const msgpack_object *zmp_map_get (const msgpack_object *map, const char *name);

//  Copy a string object into buffer (NUL-terminated). Returns 0, or -1 if
//  object is not a string or does not fit in size - 1 bytes.
int zmp_str_copy (const msgpack_object *object, char *buffer, size_t size);

//  Read an unsigned integer no larger than max. Returns 0 or -1.
int zmp_uint_get (const msgpack_object *object, uint64_t max, uint64_t *value);

//  Read a signed integer. Returns 0 or -1.
int zmp_int_get (const msgpack_object *object, int64_t *value);

//  Pack a NUL-terminated string.
void zmp_pack_cstr (msgpack_packer *packer, const char *string);

//  A new frame holding a copy of buffer's bytes.
zframe_t *zmp_frame_from_buffer (const msgpack_sbuffer *buffer);

#endif
