/*  zmp_json - between msgpack values and JSON text

    jansson prints every float of a dump with one precision. The dump uses
    the largest precision any float in the tree needs to read back exactly:
    a lone float, or floats that need the same digits, print as short as
    they can (0.1, 2.25); beside a float that needs 17 digits, 0.1 prints
    as 0.10000000000000001, which still reads back as 0.1.
*/
#include "zmp_json.h"

#include "zmp_error.h"
#include "zmp_value.h"

#include <czmq.h>
#include <math.h>

static json_t *
s_base64 (const char *data, size_t size)
{
    if (size == 0)
        return json_string ("");  //  zarmour refuses empty input
    zarmour_t *armour = zarmour_new ();
    zarmour_set_mode (armour, ZARMOUR_MODE_BASE64_STD);
    zarmour_set_line_breaks (armour, false);
    char *text = zarmour_encode (armour, (const byte *) data, size);
    zarmour_destroy (&armour);
    json_t *json = json_string (text ? text : "");
    free (text);
    return json;
}

static json_t *
s_string (const char *data, size_t size)
{
    if (size == 0)
        return json_string ("");  //  A msgpack "" may have no pointer
    json_t *json = json_stringn (data, size);
    if (!json)  //  Not valid UTF-8: keep the bytes visible, as base64
        json = s_base64 (data, size);
    return json;
}

//  --------------------------------------------------------------------------
//  A new JSON value for a msgpack object.

json_t *
zmp_json_from_msgpack (const msgpack_object *object)
{
    assert (object);
    switch (object->type) {
        case MSGPACK_OBJECT_NIL:
            return json_null ();
        case MSGPACK_OBJECT_BOOLEAN:
            return json_boolean (object->via.boolean);
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            if (object->via.u64 > INT64_MAX)
                return json_real ((double) object->via.u64);
            return json_integer ((json_int_t) object->via.u64);
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            return json_integer ((json_int_t) object->via.i64);
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            if (!isfinite (object->via.f64))
                return json_null ();
            return json_real (object->via.f64);
        case MSGPACK_OBJECT_STR:
            return s_string (object->via.str.ptr, object->via.str.size);
        case MSGPACK_OBJECT_BIN:
            return s_base64 (object->via.bin.ptr, object->via.bin.size);
        case MSGPACK_OBJECT_EXT: {
            json_t *json = json_object ();
            json_object_set_new (json, "ext_type",
                                 json_integer (object->via.ext.type));
            json_object_set_new (
                json, "data",
                s_base64 (object->via.ext.ptr, object->via.ext.size));
            return json;
        }
        case MSGPACK_OBJECT_ARRAY: {
            json_t *json = json_array ();
            for (uint32_t index = 0; index < object->via.array.size; index++)
                json_array_append_new (
                    json,
                    zmp_json_from_msgpack (&object->via.array.ptr[index]));
            return json;
        }
        case MSGPACK_OBJECT_MAP: {
            json_t *json = json_object ();
            for (uint32_t index = 0; index < object->via.map.size; index++) {
                const msgpack_object_kv *pair = &object->via.map.ptr[index];
                json_t *value = zmp_json_from_msgpack (&pair->val);
                if (pair->key.type == MSGPACK_OBJECT_STR) {
                    //  A msgpack "" may have no pointer (found by
                    //  fuzz_value)
                    char *key = pair->key.via.str.size
                                    ? strndup (pair->key.via.str.ptr,
                                               pair->key.via.str.size)
                                    : strdup ("");
                    json_object_set_new (json, key, value);
                    free (key);
                } else {
                    char *key = zmp_json_text (&pair->key);
                    json_object_set_new (json, key, value);
                    free (key);
                }
            }
            return json;
        }
    }
    return json_null ();
}

//  Fewest significant digits (1 to 17) that read back as value exactly.
static int
s_precision (double value)
{
    char text[40];
    for (int digits = 1; digits < 17; digits++) {
        snprintf (text, sizeof text, "%.*g", digits, value);
        if (strtod (text, NULL) == value)
            return digits;
    }
    return 17;
}

static int
s_max_precision (const json_t *json)
{
    int precision = 1;
    if (json_is_real (json))
        precision = s_precision (json_real_value (json));
    else if (json_is_array (json)) {
        size_t index;
        json_t *item;
        json_array_foreach ((json_t *) json, index, item)
        {
            int inner = s_max_precision (item);
            if (inner > precision)
                precision = inner;
        }
    } else if (json_is_object (json)) {
        const char *key;
        json_t *item;
        json_object_foreach ((json_t *) json, key, item)
        {
            int inner = s_max_precision (item);
            if (inner > precision)
                precision = inner;
        }
    }
    return precision;
}

//  --------------------------------------------------------------------------
//  A JSON tree as one line of text.

char *
zmp_json_dump (const json_t *json)
{
    assert (json);
    size_t flags = JSON_COMPACT | JSON_ENCODE_ANY
                   | JSON_REAL_PRECISION (s_max_precision (json));
    char *text = json_dumps (json, flags);
    assert (text);  //  Only fails out of memory
    return text;
}

//  --------------------------------------------------------------------------
//  A msgpack object as one line of JSON text.

char *
zmp_json_text (const msgpack_object *object)
{
    json_t *json = zmp_json_from_msgpack (object);
    char *text = zmp_json_dump (json);
    json_decref (json);
    return text;
}

//  --------------------------------------------------------------------------
//  Pack a JSON tree as msgpack.

void
zmp_json_pack (const json_t *json, msgpack_packer *packer)
{
    assert (json && packer);
    switch (json_typeof (json)) {
        case JSON_NULL:
            msgpack_pack_nil (packer);
            break;
        case JSON_TRUE:
            msgpack_pack_true (packer);
            break;
        case JSON_FALSE:
            msgpack_pack_false (packer);
            break;
        case JSON_INTEGER:
            msgpack_pack_int64 (packer, json_integer_value (json));
            break;
        case JSON_REAL:
            msgpack_pack_double (packer, json_real_value (json));
            break;
        case JSON_STRING:
            msgpack_pack_str_with_body (packer, json_string_value (json),
                                        json_string_length (json));
            break;
        case JSON_ARRAY: {
            msgpack_pack_array (packer, json_array_size (json));
            size_t index;
            json_t *item;
            json_array_foreach ((json_t *) json, index, item)
                zmp_json_pack (item, packer);
            break;
        }
        case JSON_OBJECT: {
            msgpack_pack_map (packer, json_object_size (json));
            const char *key;
            json_t *item;
            json_object_foreach ((json_t *) json, key, item)
            {
                zmp_pack_cstr (packer, key);
                zmp_json_pack (item, packer);
            }
            break;
        }
    }
}

static size_t
s_depth (const json_t *json)
{
    size_t depth = 0;
    if (json_is_array (json)) {
        size_t index;
        json_t *item;
        json_array_foreach ((json_t *) json, index, item)
        {
            size_t inner = s_depth (item);
            if (inner > depth)
                depth = inner;
        }
        return depth + 1;
    }
    if (json_is_object (json)) {
        const char *key;
        json_t *item;
        json_object_foreach ((json_t *) json, key, item)
        {
            size_t inner = s_depth (item);
            if (inner > depth)
                depth = inner;
        }
        return depth + 1;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Parse JSON text and pack it as msgpack.

int
zmp_json_parse_pack (const char *text, msgpack_packer *packer,
                     zmp_error_t *error)
{
    assert (text && packer);
    json_error_t parse_error;
    json_t *json =
        json_loads (text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &parse_error);
    if (!json) {
        zmp_error_set (error, ZMP_ERR_USAGE, "not JSON: %s (column %d)",
                       parse_error.text, parse_error.column);
        return -1;
    }
    int rc = 0;
    if (s_depth (json) > ZMP_JSON_DEPTH_MAX) {
        zmp_error_set (error, ZMP_ERR_USAGE, "JSON nests deeper than %d levels",
                       ZMP_JSON_DEPTH_MAX);
        rc = -1;
    } else
        zmp_json_pack (json, packer);
    json_decref (json);
    return rc;
}
