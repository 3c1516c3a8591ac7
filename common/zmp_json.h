/*  zmp_json - between msgpack values and JSON text, through jansson

    The command line speaks JSON; the wire speaks msgpack. The mapping:
    nil/bool/int/float/str/array map to their JSON twins; a map becomes an
    object whose keys are strings, or the JSON text of a non-string key
    (the map {1: "a"} prints as {"1": "a"}); bin becomes a base64 string;
    ext becomes {"ext_type": n, "data": base64}; NaN and infinities become
    null; unsigned integers above 2^63-1 become floats. Every float reads
    back exactly. jansson prints all floats of one dump with the same
    number of digits, so a float alone prints as short as it can (0.1),
    while beside one that needs 17 digits it gets 17 too.
*/
#ifndef ZMP_JSON_H_INCLUDED
#define ZMP_JSON_H_INCLUDED

#include <jansson.h>
#include <zmpool.h>

//  A new JSON value for object. Never NULL.
json_t *zmp_json_from_msgpack (const msgpack_object *object);

//  object as one line of compact JSON text; the caller frees it.
char *zmp_json_text (const msgpack_object *object);

//  json (a tree) as one line of compact JSON text; the caller frees it.
//  Floats read back exactly (see above for how many digits they get).
char *zmp_json_dump (const json_t *json);

//  Pack json as msgpack. Objects become maps with string keys.
void zmp_json_pack (const json_t *json, msgpack_packer *packer);

//  Parse JSON text (a number, string, array, object, true, false or null)
//  and pack it. Returns 0, or -1 with kind usage and the parser's reason,
//  with its column. Nesting deeper than ZMP_JSON_DEPTH_MAX is refused.
int zmp_json_parse_pack (const char *text, msgpack_packer *packer,
                         zmp_error_t *error);

//  Deepest nesting accepted from JSON, leaving room on the wire for the
//  argument array and a chunk (msgpack-c decodes at most 32 levels).
#define ZMP_JSON_DEPTH_MAX 28

#endif
