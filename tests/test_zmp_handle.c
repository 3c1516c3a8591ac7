/*  test_zmp_handle - handles to shared objects as msgpack values */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_handle.h"

#include "zmp_value.h"

#include <czmq.h>

//  Pack value and decode it again, as it arrives on the other side
static zmp_value_t *
s_round_trip (const msgpack_object *value)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, *value);
    zmp_value_t *decoded = zmp_value_decode (buffer.data, buffer.size, NULL);
    msgpack_sbuffer_destroy (&buffer);
    assert_non_null (decoded);
    return decoded;
}

static void
test_handle_survives_packing (void **state)
{
    (void) state;
    char data[ZMP_HANDLE_SIZE];
    zmp_handle_encode (ZMP_OBJECT_PIPE, 0x0123456789abcdefull, data);
    msgpack_object handle = zmp_handle_object (data);
    zmp_value_t *decoded = s_round_trip (&handle);
    zmp_object_kind_t kind;
    uint64_t id;
    assert_true (zmp_handle_decode (zmp_value_get (decoded), &kind, &id));
    assert_int_equal (kind, ZMP_OBJECT_PIPE);
    assert_int_equal (id, 0x0123456789abcdefull);
    assert_int_equal (zmp_handle_kind (zmp_value_get (decoded)),
                      ZMP_OBJECT_PIPE);
    zmp_value_destroy (&decoded);
}

static void
test_handle_refuses_what_is_no_handle (void **state)
{
    (void) state;
    char data[ZMP_HANDLE_SIZE];
    zmp_handle_encode (ZMP_OBJECT_QUEUE, 7, data);
    msgpack_object object = zmp_handle_object (data);
    object.via.ext.type = 91;  //  Another extension type
    assert_false (zmp_handle_decode (&object, NULL, NULL));
    object = zmp_handle_object (data);
    object.via.ext.size = 8;  //  Too short
    assert_false (zmp_handle_decode (&object, NULL, NULL));
    zmp_handle_encode ((zmp_object_kind_t) 13, 7, data);  //  No such kind
    object = zmp_handle_object (data);
    assert_false (zmp_handle_decode (&object, NULL, NULL));
    zmp_handle_encode (ZMP_OBJECT_QUEUE, 0, data);  //  Id 0 is nobody's
    object = zmp_handle_object (data);
    assert_false (zmp_handle_decode (&object, NULL, NULL));
    msgpack_object number = zmp_int (7);
    assert_int_equal (zmp_handle_kind (&number), 0);
    assert_int_equal (zmp_handle_kind (NULL), 0);
}

static void
test_handle_collect_finds_handles_at_any_depth (void **state)
{
    (void) state;
    char first[ZMP_HANDLE_SIZE], second[ZMP_HANDLE_SIZE];
    zmp_handle_encode (ZMP_OBJECT_QUEUE, 11, first);
    zmp_handle_encode (ZMP_OBJECT_LOCK, 22, second);
    msgpack_object inner[] = { zmp_int (1), zmp_handle_object (second) };
    msgpack_object_kv pairs[] = { zmp_pair ("lock", zmp_array (inner, 2)) };
    msgpack_object args[] = { zmp_handle_object (first), zmp_str ("x"),
                              zmp_map (pairs, 1) };
    msgpack_object value = zmp_array (args, 3);
    zmp_value_t *decoded = s_round_trip (&value);
    assert_true (zmp_handle_present (zmp_value_get (decoded)));
    uint64_t ids[4];
    assert_int_equal (zmp_handle_collect (zmp_value_get (decoded), ids, 4), 2);
    assert_int_equal (ids[0], 11);
    assert_int_equal (ids[1], 22);
    //  More than room: counted, not written past max
    assert_int_equal (zmp_handle_collect (zmp_value_get (decoded), ids, 1), 2);
    zmp_value_destroy (&decoded);

    msgpack_object plain[] = { zmp_int (1), zmp_str ("no handles") };
    value = zmp_array (plain, 2);
    assert_false (zmp_handle_present (&value));
    assert_int_equal (zmp_handle_collect (&value, ids, 4), 0);
}

static void
test_handle_kind_names (void **state)
{
    (void) state;
    assert_string_equal (zmp_object_kind_name (ZMP_OBJECT_QUEUE), "queue");
    assert_string_equal (zmp_object_kind_name (ZMP_OBJECT_LIST), "list");
    assert_string_equal (zmp_object_kind_name (0), "object");
    assert_string_equal (zmp_object_kind_name (99), "object");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_handle_survives_packing),
        cmocka_unit_test (test_handle_refuses_what_is_no_handle),
        cmocka_unit_test (test_handle_collect_finds_handles_at_any_depth),
        cmocka_unit_test (test_handle_kind_names),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
