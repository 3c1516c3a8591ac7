/*  zmp_handle - handles to shared objects, as msgpack values

    A handle names one object in the broker's store: an extension value of
    type ZMP_HANDLE_EXT_TYPE whose ZMP_HANDLE_SIZE bytes are the object's
    kind (one byte) and its id (eight bytes, big-endian). Ids come from the
    broker and are never 0. Handles travel inside task arguments and queue
    items like any other value; the broker looks inside a task's arguments
    only when the task's flags say they hold handles.
*/
#ifndef ZMP_HANDLE_H_INCLUDED
#define ZMP_HANDLE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <zmpool.h>

#define ZMP_HANDLE_SIZE 9
//  Handles one task's arguments may hold
#define ZMP_HANDLE_TASK_MAX 64

//  Write the handle bytes for kind and id into data.
void zmp_handle_encode (zmp_object_kind_t kind, uint64_t id,
                        char data[ZMP_HANDLE_SIZE]);

//  A msgpack object for the handle bytes at data (borrowed: data must
//  outlive the object).
msgpack_object zmp_handle_object (const char data[ZMP_HANDLE_SIZE]);

//  Pack a handle.
void zmp_handle_pack (msgpack_packer *packer, zmp_object_kind_t kind,
                      uint64_t id);

//  True if value is a well-formed handle; fills kind and id (either may
//  be NULL).
bool zmp_handle_decode (const msgpack_object *value, zmp_object_kind_t *kind,
                        uint64_t *id);

//  True if value holds a handle anywhere inside it.
bool zmp_handle_present (const msgpack_object *value);

//  Collect the ids of the handles inside value into ids (room for max).
//  Returns how many there are, which may be more than max (only max are
//  written).
size_t zmp_handle_collect (const msgpack_object *value, uint64_t *ids,
                           size_t max);

//  Name of an object kind ("queue"), or "object" if unknown.
const char *zmp_object_kind_name (int kind);

#endif
