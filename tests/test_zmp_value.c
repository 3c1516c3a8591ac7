/*  test_zmp_value - owned msgpack values, lookups and the argument helpers

    Decoding insists on exactly one value per frame. The argument helpers
    are what task authors call on whatever a client sent, so they are fed
    every wrong type and index and must say false without touching *value.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_value.h"

#include "zmp_error.h"


//  --------------------------------------------------------------------------
//  Helpers

typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer packer;
} s_packing_t;

static msgpack_packer *
s_packing_start (s_packing_t *packing)
{
    msgpack_sbuffer_init (&packing->buffer);
    msgpack_packer_init (&packing->packer, &packing->buffer,
                         msgpack_sbuffer_write);
    return &packing->packer;
}

//  A new frame holding what was packed; the packing is over.
static zframe_t *
s_packing_frame (s_packing_t *packing)
{
    zframe_t *frame = zframe_new (packing->buffer.data, packing->buffer.size);
    msgpack_sbuffer_destroy (&packing->buffer);
    return frame;
}

//  A new frame holding [1, "two", 3.5].
static zframe_t *
s_three_items_frame (void)
{
    s_packing_t packing;
    msgpack_packer *packer = s_packing_start (&packing);
    msgpack_pack_array (packer, 3);
    msgpack_pack_int (packer, 1);
    msgpack_pack_str_with_body (packer, "two", 3);
    msgpack_pack_double (packer, 3.5);
    return s_packing_frame (&packing);
}

static void
s_assert_three_items (const msgpack_object *object)
{
    assert_int_equal (object->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (object->via.array.size, 3);
    int64_t one = 0;
    assert_int_equal (zmp_int_get (&object->via.array.ptr[0], &one), 0);
    assert_int_equal (one, 1);
    assert_true (zmp_str_is (&object->via.array.ptr[1], "two"));
    assert_int_equal (object->via.array.ptr[2].type, MSGPACK_OBJECT_FLOAT64);
    assert_true (object->via.array.ptr[2].via.f64 == 3.5);
}

static void
s_assert_protocol_error (const zmp_error_t *error, const char *reason)
{
    if (error->kind != ZMP_ERR_PROTOCOL || !strstr (error->message, reason))
        fail_msg ("expected a protocol error with '%s', got %s: '%s'", reason,
                  zmp_error_kind_name (error->kind), error->message);
}


//  --------------------------------------------------------------------------
//  Decoding

static void
test_value_decode_frame_takes_the_frame_and_reads_one_value (void **state)
{
    (void) state;
    zframe_t *frame = s_three_items_frame ();
    zmp_error_t error = { 0 };
    zmp_value_t *value = zmp_value_decode_frame (&frame, &error);
    assert_null (frame);
    assert_non_null (value);
    s_assert_three_items (zmp_value_get (value));
    zmp_value_destroy (&value);
    assert_null (value);
    zmp_value_destroy (&value);  //  Does nothing the second time
}

static void
test_value_decode_keeps_its_own_copy (void **state)
{
    (void) state;
    zframe_t *frame = s_three_items_frame ();
    zmp_value_t *value =
        zmp_value_decode (zframe_data (frame), zframe_size (frame), NULL);
    memset (zframe_data (frame), 0xc1, zframe_size (frame));
    zframe_destroy (&frame);
    assert_non_null (value);
    s_assert_three_items (zmp_value_get (value));
    zmp_value_destroy (&value);
}

static void
test_value_decode_rejects_an_empty_frame (void **state)
{
    (void) state;
    zmp_error_t error = { 0 };
    assert_null (zmp_value_decode ("", 0, &error));
    s_assert_protocol_error (&error, "empty");

    zframe_t *frame = zframe_new (NULL, 0);
    zmp_error_clear (&error);
    assert_null (zmp_value_decode_frame (&frame, &error));
    assert_null (frame);
    s_assert_protocol_error (&error, "empty");
}

static void
test_value_decode_rejects_a_truncated_value (void **state)
{
    (void) state;
    zframe_t *good = s_three_items_frame ();
    for (size_t cut = 1; cut < zframe_size (good); cut++) {
        zframe_t *frame =
            zframe_new (zframe_data (good), zframe_size (good) - cut);
        zmp_error_t error = { 0 };
        assert_null (zmp_value_decode_frame (&frame, &error));
        assert_null (frame);
        s_assert_protocol_error (&error, "truncated");
    }
    zframe_destroy (&good);
}

static void
test_value_decode_rejects_trailing_bytes (void **state)
{
    (void) state;
    zmp_error_t error = { 0 };
    assert_null (zmp_value_decode ("\x01\xc0", 2, &error));  //  1, then nil
    s_assert_protocol_error (&error, "trailing bytes: 1");

    zmp_error_clear (&error);
    assert_null (zmp_value_decode ("\x90\x90\x90", 3, &error));
    s_assert_protocol_error (&error, "trailing bytes: 2");
}

static void
test_value_decode_rejects_malformed_bytes (void **state)
{
    (void) state;
    zmp_error_t error = { 0 };
    assert_null (zmp_value_decode ("\xc1", 1, &error));
    s_assert_protocol_error (&error, "malformed");
}

static void
test_value_decode_may_be_given_no_error (void **state)
{
    (void) state;
    assert_null (zmp_value_decode ("\x92\x01", 2, NULL));
    zmp_value_t *value = zmp_value_decode ("\xc0", 1, NULL);
    assert_non_null (value);
    assert_int_equal (zmp_value_get (value)->type, MSGPACK_OBJECT_NIL);
    zmp_value_destroy (&value);
}

static void
test_value_unpack_leaves_strings_in_the_callers_data (void **state)
{
    (void) state;
    const char data[] = "\xa5hello";
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    assert_int_equal (zmp_value_unpack (&unpacked, data, 6, NULL), 0);
    assert_true (zmp_str_is (&unpacked.data, "hello"));
    assert_ptr_equal (unpacked.data.via.str.ptr, data + 1);
    msgpack_unpacked_destroy (&unpacked);

    msgpack_unpacked_init (&unpacked);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_value_unpack (&unpacked, data, 5, &error), -1);
    s_assert_protocol_error (&error, "truncated");
    msgpack_unpacked_destroy (&unpacked);
}


//  --------------------------------------------------------------------------
//  Checking before decoding

//  levels nested arrays: levels - 1 fixarrays of one item around an empty
//  one, in buffer (room for levels bytes).
static void
s_nested (byte *buffer, size_t levels)
{
    memset (buffer, 0x91, levels - 1);
    buffer[levels - 1] = 0x90;
}

static void
test_value_check_accepts_one_well_formed_value (void **state)
{
    (void) state;
    zframe_t *frame = s_three_items_frame ();
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_value_check (zframe_data (frame), zframe_size (frame), &error), 0);
    zframe_destroy (&frame);
    assert_int_equal (zmp_value_check ("\x80", 1, &error), 0);  //  {}
    assert_int_equal (zmp_value_check ("\xa0", 1, &error), 0);  //  ""
    assert_int_equal (zmp_value_check ("\xc4\x02\x01\x02", 4, &error), 0);
    assert_int_equal (error.kind, ZMP_ERR_NONE);
}

static void
test_value_check_refuses_what_decode_refuses (void **state)
{
    (void) state;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_value_check ("\x92\x01", 2, &error), -1);
    s_assert_protocol_error (&error, "truncated");
    zmp_error_clear (&error);
    assert_int_equal (zmp_value_check ("\x01\xc0", 2, &error), -1);
    s_assert_protocol_error (&error, "trailing bytes: 1");
    zmp_error_clear (&error);
    assert_int_equal (zmp_value_check ("\xc1", 1, &error), -1);
    s_assert_protocol_error (&error, "malformed");
}

static void
test_value_check_refuses_huge_declared_lengths (void **state)
{
    (void) state;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_value_check ("\xdd\xff\xff\xff\xff", 5, &error), -1);
    s_assert_protocol_error (&error, "too large");
    zmp_error_clear (&error);
    assert_int_equal (zmp_value_check ("\xdf\xff\xff\xff\xff", 5, &error), -1);
    s_assert_protocol_error (&error, "too large");
    zmp_error_clear (&error);
    assert_int_equal (zmp_value_check ("\xdb\xff\xff\xff\xff", 5, &error), -1);
    s_assert_protocol_error (&error, "truncated");

    zmp_error_clear (&error);  //  Through the decoders too
    assert_null (zmp_value_decode ("\xdd\xff\xff\xff\xff", 5, &error));
    s_assert_protocol_error (&error, "too large");
}

static void
test_value_check_accepts_nesting_up_to_the_max (void **state)
{
    (void) state;
    byte deep[ZMP_VALUE_DEPTH_MAX];
    s_nested (deep, ZMP_VALUE_DEPTH_MAX);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_value_check (deep, sizeof deep, &error), 0);
    zmp_value_t *value = zmp_value_decode (deep, sizeof deep, &error);
    assert_non_null (value);
    zmp_value_destroy (&value);
}

static void
test_value_check_refuses_nesting_deeper_than_the_max (void **state)
{
    (void) state;
    byte deep[ZMP_VALUE_DEPTH_MAX + 8];
    for (size_t levels = ZMP_VALUE_DEPTH_MAX + 1; levels <= sizeof deep;
         levels++) {
        s_nested (deep, levels);
        zmp_error_t error = { 0 };
        if (zmp_value_check (deep, levels, &error) != -1)
            fail_msg ("zmp_value_check accepted %zu levels", levels);
        s_assert_protocol_error (&error, "deep");
        zmp_error_clear (&error);
        assert_null (zmp_value_decode (deep, levels, &error));
        s_assert_protocol_error (&error, "deep");
    }
}


//  --------------------------------------------------------------------------
//  Lookups and readers

static void
test_value_map_get_finds_a_string_key (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = { { zmp_int (1), zmp_str ("int key") },
                                  { zmp_str ("ab"), zmp_int (2) },
                                  { zmp_str ("a"), zmp_int (3) } };
    msgpack_object map = zmp_map (pairs, 3);
    const msgpack_object *value = zmp_map_get (&map, "a");
    assert_ptr_equal (value, &pairs[2].val);
    assert_ptr_equal (zmp_map_get (&map, "ab"), &pairs[1].val);
    assert_null (zmp_map_get (&map, "b"));
    assert_null (zmp_map_get (&map, "1"));
    assert_null (zmp_map_get (&map, ""));
}

static void
test_value_map_get_of_a_non_map_is_null (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_str ("a"), zmp_int (3) };
    msgpack_object array = zmp_array (items, 2);
    assert_null (zmp_map_get (&array, "a"));
    msgpack_object string = zmp_str ("a");
    assert_null (zmp_map_get (&string, "a"));
    assert_null (zmp_map_get (NULL, "a"));
    msgpack_object empty = zmp_map (NULL, 0);
    assert_null (zmp_map_get (&empty, "a"));
}

static void
test_value_str_is_compares_whole_strings (void **state)
{
    (void) state;
    msgpack_object worker = zmp_str ("worker");
    assert_true (zmp_str_is (&worker, "worker"));
    assert_false (zmp_str_is (&worker, "work"));
    assert_false (zmp_str_is (&worker, "workers"));
    assert_false (zmp_str_is (&worker, "Worker"));
    msgpack_object empty = zmp_str ("");
    assert_true (zmp_str_is (&empty, ""));
    msgpack_object number = zmp_int (0);
    assert_false (zmp_str_is (&number, ""));
    msgpack_object nil = zmp_nil ();
    assert_false (zmp_str_is (&nil, ""));
}

static void
test_value_str_copy_copies_a_string_that_fits (void **state)
{
    (void) state;
    msgpack_object host = zmp_str ("node-1");
    char buffer[7];  //  Exactly six bytes and the NUL
    memset (buffer, '#', sizeof buffer);
    assert_int_equal (zmp_str_copy (&host, buffer, sizeof buffer), 0);
    assert_string_equal (buffer, "node-1");

    msgpack_object empty = zmp_str ("");
    char one[1];
    assert_int_equal (zmp_str_copy (&empty, one, sizeof one), 0);
    assert_int_equal (one[0], 0);
}

static void
test_value_str_copy_refuses_a_string_too_long (void **state)
{
    (void) state;
    msgpack_object host = zmp_str ("node-12");
    char buffer[7];  //  Room for six bytes only
    assert_int_equal (zmp_str_copy (&host, buffer, sizeof buffer), -1);
}

static void
test_value_str_copy_refuses_what_is_not_a_string (void **state)
{
    (void) state;
    char buffer[16];
    msgpack_object number = zmp_int (42);
    assert_int_equal (zmp_str_copy (&number, buffer, sizeof buffer), -1);
    msgpack_object nil = zmp_nil ();
    assert_int_equal (zmp_str_copy (&nil, buffer, sizeof buffer), -1);
    assert_int_equal (zmp_str_copy (NULL, buffer, sizeof buffer), -1);
}

static void
test_value_uint_get_enforces_its_bounds (void **state)
{
    (void) state;
    uint64_t value = 0;
    msgpack_object at_max = zmp_int (4096);
    assert_int_equal (zmp_uint_get (&at_max, 4096, &value), 0);
    assert_int_equal (value, 4096);
    msgpack_object over_max = zmp_int (4097);
    assert_int_equal (zmp_uint_get (&over_max, 4096, &value), -1);
    msgpack_object zero = zmp_int (0);
    assert_int_equal (zmp_uint_get (&zero, 0, &value), 0);
    assert_int_equal (value, 0);
    msgpack_object largest = zmp_uint (UINT64_MAX);
    assert_int_equal (zmp_uint_get (&largest, UINT64_MAX, &value), 0);
    assert_true (value == UINT64_MAX);
    assert_int_equal (zmp_uint_get (&largest, UINT64_MAX - 1, &value), -1);
}

static void
test_value_uint_get_refuses_other_types (void **state)
{
    (void) state;
    uint64_t value = 0;
    msgpack_object negative = zmp_int (-1);
    assert_int_equal (zmp_uint_get (&negative, UINT64_MAX, &value), -1);
    msgpack_object string = zmp_str ("1");
    assert_int_equal (zmp_uint_get (&string, UINT64_MAX, &value), -1);
    msgpack_object real = zmp_double (1.0);
    assert_int_equal (zmp_uint_get (&real, UINT64_MAX, &value), -1);
    msgpack_object yes = zmp_bool (true);
    assert_int_equal (zmp_uint_get (&yes, UINT64_MAX, &value), -1);
    assert_int_equal (zmp_uint_get (NULL, UINT64_MAX, &value), -1);
}

static void
test_value_int_get_reads_the_signed_range (void **state)
{
    (void) state;
    int64_t value = 0;
    msgpack_object smallest = zmp_int (INT64_MIN);
    assert_int_equal (zmp_int_get (&smallest, &value), 0);
    assert_true (value == INT64_MIN);
    msgpack_object largest = zmp_int (INT64_MAX);
    assert_int_equal (zmp_int_get (&largest, &value), 0);
    assert_true (value == INT64_MAX);
    msgpack_object minus_one = zmp_int (-1);
    assert_int_equal (zmp_int_get (&minus_one, &value), 0);
    assert_int_equal (value, -1);

    msgpack_object too_large = zmp_uint ((uint64_t) INT64_MAX + 1);
    assert_int_equal (zmp_int_get (&too_large, &value), -1);
    msgpack_object real = zmp_double (-1.0);
    assert_int_equal (zmp_int_get (&real, &value), -1);
    msgpack_object string = zmp_str ("-1");
    assert_int_equal (zmp_int_get (&string, &value), -1);
    assert_int_equal (zmp_int_get (NULL, &value), -1);
}

static void
test_value_pack_cstr_packs_into_a_frame (void **state)
{
    (void) state;
    s_packing_t packing;
    msgpack_packer *packer = s_packing_start (&packing);
    zmp_pack_cstr (packer, "héllo");
    zframe_t *frame = zmp_frame_from_buffer (&packing.buffer);
    msgpack_sbuffer_destroy (&packing.buffer);

    zmp_value_t *value = zmp_value_decode_frame (&frame, NULL);
    assert_non_null (value);
    assert_true (zmp_str_is (zmp_value_get (value), "héllo"));
    assert_int_equal (zmp_value_get (value)->via.str.size, 6);
    zmp_value_destroy (&value);
}


//  --------------------------------------------------------------------------
//  Argument helpers, called as a task function calls them

static void
test_value_arg_int_reads_integer_arguments (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (7), zmp_int (-3) };
    msgpack_object args = zmp_array (items, 2);
    int64_t value = 0;
    assert_true (zmp_arg_int (&args, 0, &value));
    assert_int_equal (value, 7);
    assert_true (zmp_arg_int (&args, 1, &value));
    assert_int_equal (value, -3);
}

static void
test_value_arg_int_refuses_other_types_and_indexes (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (7), zmp_str ("x"), zmp_double (2.5),
                               zmp_nil (), zmp_uint (UINT64_MAX) };
    msgpack_object args = zmp_array (items, 5);
    int64_t value = 99;
    assert_false (zmp_arg_int (&args, 1, &value));
    assert_false (zmp_arg_int (&args, 2, &value));
    assert_false (zmp_arg_int (&args, 3, &value));
    assert_false (zmp_arg_int (&args, 4, &value));
    assert_false (zmp_arg_int (&args, 5, &value));
    assert_false (zmp_arg_int (&args, UINT32_MAX, &value));
    msgpack_object not_args = zmp_int (7);
    assert_false (zmp_arg_int (&not_args, 0, &value));
    assert_false (zmp_arg_int (NULL, 0, &value));
    assert_int_equal (value, 99);
}

static void
test_value_arg_double_reads_floats_and_integers (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_double (2.5), zmp_int (7), zmp_int (-3),
                               zmp_uint (UINT64_MAX) };
    msgpack_object args = zmp_array (items, 4);
    double value = 0;
    assert_true (zmp_arg_double (&args, 0, &value));
    assert_true (value == 2.5);
    assert_true (zmp_arg_double (&args, 1, &value));
    assert_true (value == 7.0);
    assert_true (zmp_arg_double (&args, 2, &value));
    assert_true (value == -3.0);
    assert_true (zmp_arg_double (&args, 3, &value));
    assert_true (value == 18446744073709551615.0);
}

static void
test_value_arg_double_reads_a_float32_from_the_wire (void **state)
{
    (void) state;
    s_packing_t packing;
    msgpack_packer *packer = s_packing_start (&packing);
    msgpack_pack_array (packer, 1);
    msgpack_pack_float (packer, 0.75f);
    zframe_t *frame = s_packing_frame (&packing);
    zmp_value_t *args = zmp_value_decode_frame (&frame, NULL);
    assert_non_null (args);
    assert_int_equal (zmp_value_get (args)->via.array.ptr[0].type,
                      MSGPACK_OBJECT_FLOAT32);
    double value = 0;
    assert_true (zmp_arg_double (zmp_value_get (args), 0, &value));
    assert_true (value == 0.75);
    zmp_value_destroy (&args);
}

static void
test_value_arg_double_refuses_other_types_and_indexes (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_str ("2.5"), zmp_bool (true), zmp_nil () };
    msgpack_object args = zmp_array (items, 3);
    double value = 99.0;
    assert_false (zmp_arg_double (&args, 0, &value));
    assert_false (zmp_arg_double (&args, 1, &value));
    assert_false (zmp_arg_double (&args, 2, &value));
    assert_false (zmp_arg_double (&args, 3, &value));
    msgpack_object not_args = zmp_double (1.0);
    assert_false (zmp_arg_double (&not_args, 0, &value));
    assert_false (zmp_arg_double (NULL, 0, &value));
    assert_true (value == 99.0);
}

static void
test_value_arg_str_reads_string_arguments (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (1), zmp_str ("hello") };
    msgpack_object args = zmp_array (items, 2);
    const char *text = NULL;
    uint32_t size = 0;
    assert_true (zmp_arg_str (&args, 1, &text, &size));
    assert_int_equal (size, 5);
    assert_memory_equal (text, "hello", 5);

    text = NULL;
    assert_true (zmp_arg_str (&args, 1, &text, NULL));  //  Size not wanted
    assert_ptr_equal (text, items[1].via.str.ptr);
}

static void
test_value_arg_str_refuses_other_types_and_indexes (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (1), zmp_nil () };
    msgpack_object args = zmp_array (items, 2);
    const char *text = "unchanged";
    uint32_t size = 99;
    assert_false (zmp_arg_str (&args, 0, &text, &size));
    assert_false (zmp_arg_str (&args, 1, &text, &size));
    assert_false (zmp_arg_str (&args, 2, &text, &size));
    msgpack_object not_args = zmp_str ("hello");
    assert_false (zmp_arg_str (&not_args, 0, &text, &size));
    assert_false (zmp_arg_str (NULL, 0, &text, &size));
    assert_string_equal (text, "unchanged");
    assert_int_equal (size, 99);
}

static void
test_value_arg_count_counts_array_items_only (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (1), zmp_int (2), zmp_int (3) };
    msgpack_object args = zmp_array (items, 3);
    assert_int_equal (zmp_arg_count (&args), 3);
    msgpack_object none = zmp_array (NULL, 0);
    assert_int_equal (zmp_arg_count (&none), 0);
    msgpack_object string = zmp_str ("abc");
    assert_int_equal (zmp_arg_count (&string), 0);
    assert_int_equal (zmp_arg_count (NULL), 0);
}


//  --------------------------------------------------------------------------
//  The builders in zmpool.h

static void
test_value_builders_make_objects_of_their_type (void **state)
{
    (void) state;
    msgpack_object nil = zmp_nil ();
    assert_int_equal (nil.type, MSGPACK_OBJECT_NIL);
    msgpack_object yes = zmp_bool (true);
    assert_int_equal (yes.type, MSGPACK_OBJECT_BOOLEAN);
    assert_true (yes.via.boolean);
    assert_false (zmp_bool (false).via.boolean);

    msgpack_object zero = zmp_int (0);
    assert_int_equal (zero.type, MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_int_equal (zero.via.u64, 0);
    msgpack_object negative = zmp_int (-5);
    assert_int_equal (negative.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_int_equal (negative.via.i64, -5);
    msgpack_object smallest = zmp_int (INT64_MIN);
    assert_int_equal (smallest.type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
    assert_true (smallest.via.i64 == INT64_MIN);

    msgpack_object real = zmp_double (-0.125);
    assert_int_equal (real.type, MSGPACK_OBJECT_FLOAT64);
    assert_true (real.via.f64 == -0.125);

    const char *text = "a\0b";  //  zmp_str stops at the first NUL
    msgpack_object string = zmp_str (text);
    assert_int_equal (string.type, MSGPACK_OBJECT_STR);
    assert_ptr_equal (string.via.str.ptr, text);
    assert_int_equal (string.via.str.size, 1);
    assert_int_equal (zmp_str ("").via.str.size, 0);

    msgpack_object items[] = { zero, string };
    msgpack_object array = zmp_array (items, 2);
    assert_int_equal (array.type, MSGPACK_OBJECT_ARRAY);
    assert_ptr_equal (array.via.array.ptr, items);
    assert_int_equal (array.via.array.size, 2);
}

static void
test_value_builders_pack_as_the_packer_does (void **state)
{
    (void) state;
    s_packing_t expected;
    msgpack_packer *packer = s_packing_start (&expected);
    msgpack_pack_array (packer, 7);
    msgpack_pack_nil (packer);
    msgpack_pack_true (packer);
    msgpack_pack_false (packer);
    msgpack_pack_int64 (packer, 300);
    msgpack_pack_int64 (packer, -300);
    msgpack_pack_double (packer, 0.5);
    msgpack_pack_str_with_body (packer, "seven", 5);

    msgpack_object items[] = { zmp_nil (),       zmp_bool (true),
                               zmp_bool (false), zmp_int (300),
                               zmp_int (-300),   zmp_double (0.5),
                               zmp_str ("seven") };
    s_packing_t built;
    msgpack_pack_object (s_packing_start (&built), zmp_array (items, 7));

    assert_int_equal (built.buffer.size, expected.buffer.size);
    assert_memory_equal (built.buffer.data, expected.buffer.data,
                         expected.buffer.size);
    msgpack_sbuffer_destroy (&built.buffer);
    msgpack_sbuffer_destroy (&expected.buffer);
}


int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (
            test_value_decode_frame_takes_the_frame_and_reads_one_value),
        cmocka_unit_test (test_value_decode_keeps_its_own_copy),
        cmocka_unit_test (test_value_decode_rejects_an_empty_frame),
        cmocka_unit_test (test_value_decode_rejects_a_truncated_value),
        cmocka_unit_test (test_value_decode_rejects_trailing_bytes),
        cmocka_unit_test (test_value_decode_rejects_malformed_bytes),
        cmocka_unit_test (test_value_decode_may_be_given_no_error),
        cmocka_unit_test (test_value_unpack_leaves_strings_in_the_callers_data),
        cmocka_unit_test (test_value_check_accepts_one_well_formed_value),
        cmocka_unit_test (test_value_check_refuses_what_decode_refuses),
        cmocka_unit_test (test_value_check_refuses_huge_declared_lengths),
        cmocka_unit_test (test_value_check_accepts_nesting_up_to_the_max),
        cmocka_unit_test (test_value_check_refuses_nesting_deeper_than_the_max),
        cmocka_unit_test (test_value_map_get_finds_a_string_key),
        cmocka_unit_test (test_value_map_get_of_a_non_map_is_null),
        cmocka_unit_test (test_value_str_is_compares_whole_strings),
        cmocka_unit_test (test_value_str_copy_copies_a_string_that_fits),
        cmocka_unit_test (test_value_str_copy_refuses_a_string_too_long),
        cmocka_unit_test (test_value_str_copy_refuses_what_is_not_a_string),
        cmocka_unit_test (test_value_uint_get_enforces_its_bounds),
        cmocka_unit_test (test_value_uint_get_refuses_other_types),
        cmocka_unit_test (test_value_int_get_reads_the_signed_range),
        cmocka_unit_test (test_value_pack_cstr_packs_into_a_frame),
        cmocka_unit_test (test_value_arg_int_reads_integer_arguments),
        cmocka_unit_test (test_value_arg_int_refuses_other_types_and_indexes),
        cmocka_unit_test (test_value_arg_double_reads_floats_and_integers),
        cmocka_unit_test (test_value_arg_double_reads_a_float32_from_the_wire),
        cmocka_unit_test (
            test_value_arg_double_refuses_other_types_and_indexes),
        cmocka_unit_test (test_value_arg_str_reads_string_arguments),
        cmocka_unit_test (test_value_arg_str_refuses_other_types_and_indexes),
        cmocka_unit_test (test_value_arg_count_counts_array_items_only),
        cmocka_unit_test (test_value_builders_make_objects_of_their_type),
        cmocka_unit_test (test_value_builders_pack_as_the_packer_does),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
