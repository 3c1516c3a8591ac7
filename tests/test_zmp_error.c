/*  test_zmp_error - structured errors: kinds, set, format, pack and unpack

    The kinds table in zmpool.h is the single source of names and texts, so
    the tests walk it with the same X macro. zmp_error_unpack reads what a
    peer sent: it is fed garbage and must still give a usable error.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_error.h"

#include <signal.h>
#include <string.h>


//  --------------------------------------------------------------------------
//  Helpers

typedef struct {
    zmp_error_kind_t kind;
    const char *name;
    const char *text;
} s_kind_row_t;

static const s_kind_row_t s_kind_rows[] = {
#define S_KIND_ROW(name, code, wire, text) { ZMP_ERR_##name, wire, text },
    ZMP_ERROR_KINDS (S_KIND_ROW)
#undef S_KIND_ROW
};

#define S_KIND_ROWS (sizeof s_kind_rows / sizeof s_kind_rows[0])

//  An error with every field set, as a worker reports a crash.
static void
s_crash (zmp_error_t *error)
{
    zmp_error_set (error, ZMP_ERR_CRASHED, "task %s", "square");
    error->signal = SIGSEGV;
    error->code = -7;
    error->pid = 4242;
    error->index = 3;
    snprintf (error->host, sizeof error->host, "node-3");
}


//  --------------------------------------------------------------------------
//  Kinds

static void
test_error_kind_names_and_texts_follow_the_table (void **state)
{
    (void) state;
    assert_int_equal (S_KIND_ROWS, ZMP_ERR_COUNT);
    for (size_t index = 0; index < S_KIND_ROWS; index++) {
        const s_kind_row_t *row = &s_kind_rows[index];
        assert_string_equal (zmp_error_kind_name (row->kind), row->name);
        assert_string_equal (zmp_error_kind_text (row->kind), row->text);
        assert_true (zmp_error_kind_valid (row->kind));
    }
    assert_string_equal (zmp_error_kind_name (ZMP_ERR_WORKER_LOST),
                         "worker_lost");
    assert_string_equal (zmp_error_kind_text (ZMP_ERR_WORKER_LOST),
                         "worker lost");
}

static void
test_error_kind_unknown_has_a_name_and_text (void **state)
{
    (void) state;
    const zmp_error_kind_t unknown[] = { ZMP_ERR_COUNT, (zmp_error_kind_t) 99,
                                         (zmp_error_kind_t) -1 };
    for (size_t index = 0; index < 3; index++) {
        assert_string_equal (zmp_error_kind_name (unknown[index]), "unknown");
        assert_string_equal (zmp_error_kind_text (unknown[index]),
                             "unknown error");
    }
    assert_false (zmp_error_kind_valid (ZMP_ERR_COUNT));
    assert_false (zmp_error_kind_valid (UINT64_MAX));
    assert_true (zmp_error_kind_valid (ZMP_ERR_NONE));
}


//  --------------------------------------------------------------------------
//  Set and clear

static void
test_error_set_fills_kind_and_message_and_clears_the_rest (void **state)
{
    (void) state;
    zmp_error_t error;
    s_crash (&error);
    zmp_error_set (&error, ZMP_ERR_BAD_ARGUMENTS, "argument %d must be %s", 2,
                   "an integer");
    assert_int_equal (error.kind, ZMP_ERR_BAD_ARGUMENTS);
    assert_string_equal (error.message, "argument 2 must be an integer");
    assert_string_equal (error.host, "");
    assert_int_equal (error.pid, 0);
    assert_int_equal (error.signal, 0);
    assert_int_equal (error.code, 0);
    assert_int_equal (error.index, -1);

    zmp_error_set (NULL, ZMP_ERR_TASK, "nobody hears this");
}

static void
test_error_set_cuts_a_long_message (void **state)
{
    (void) state;
    char long_text[ZMP_ERROR_MESSAGE_MAX * 2];
    memset (long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_TASK, "%s", long_text);
    assert_int_equal (strlen (error.message), ZMP_ERROR_MESSAGE_MAX - 1);
    assert_memory_equal (error.message, long_text, ZMP_ERROR_MESSAGE_MAX - 1);
}

static void
test_error_clear_resets_to_none_with_index_minus_1 (void **state)
{
    (void) state;
    zmp_error_t error;
    s_crash (&error);
    zmp_error_clear (&error);
    assert_int_equal (error.kind, ZMP_ERR_NONE);
    assert_string_equal (error.message, "");
    assert_string_equal (error.host, "");
    assert_int_equal (error.pid, 0);
    assert_int_equal (error.signal, 0);
    assert_int_equal (error.code, 0);
    assert_int_equal (error.index, -1);

    zmp_error_clear (NULL);
}


//  --------------------------------------------------------------------------
//  Format

static void
test_error_format_crashed_names_the_signal_host_and_pid (void **state)
{
    (void) state;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_CRASHED, "task square");
    error.signal = SIGSEGV;
    error.pid = 4242;
    snprintf (error.host, sizeof error.host, "node-3");
    char buffer[256];
    const char *text = zmp_error_format (&error, buffer, sizeof buffer);
    assert_ptr_equal (text, buffer);
    char expected[128];
    snprintf (expected, sizeof expected,
              "process crashed (signal %d, SIGSEGV) on node-3 pid 4242: task "
              "square",
              SIGSEGV);
    assert_string_equal (buffer, expected);
}

static void
test_error_format_gives_the_host_without_a_pid (void **state)
{
    (void) state;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_WORKER_LOST, "no heartbeat for 3 s");
    snprintf (error.host, sizeof error.host, "node-7");
    char buffer[256];
    zmp_error_format (&error, buffer, sizeof buffer);
    assert_string_equal (buffer, "worker lost on node-7: no heartbeat for 3 s");
}

static void
test_error_format_gives_the_item_index (void **state)
{
    (void) state;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_TASK, "negative input");
    error.index = 17;
    char buffer[256];
    zmp_error_format (&error, buffer, sizeof buffer);
    assert_string_equal (buffer, "task failed (item 17): negative input");
}

static void
test_error_format_without_a_message_gives_the_kind_text (void **state)
{
    (void) state;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_CANCELLED, "%s", "");
    char buffer[256];
    zmp_error_format (&error, buffer, sizeof buffer);
    assert_string_equal (buffer, "cancelled");

    error.kind = ZMP_ERR_CRASHED;  //  No signal known: none shown
    zmp_error_format (&error, buffer, sizeof buffer);
    assert_string_equal (buffer, "process crashed");
}

static void
test_error_format_cuts_to_the_buffer (void **state)
{
    (void) state;
    zmp_error_t error;
    s_crash (&error);
    char buffer[8];
    memset (buffer, '#', sizeof buffer);
    zmp_error_format (&error, buffer, sizeof buffer);
    assert_string_equal (buffer, "process");
}


//  --------------------------------------------------------------------------
//  Pack and unpack

//  Pack error, unpack it into decoded with kind.
static void
s_round_trip (const zmp_error_t *error, zmp_error_kind_t kind,
              zmp_error_t *decoded, uint32_t *fields)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    assert_int_equal (zmp_error_pack (error, &packer), 0);

    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    assert_int_equal (
        msgpack_unpack_next (&unpacked, buffer.data, buffer.size, &offset),
        MSGPACK_UNPACK_SUCCESS);
    assert_int_equal (offset, buffer.size);
    assert_int_equal (unpacked.data.type, MSGPACK_OBJECT_MAP);
    *fields = unpacked.data.via.map.size;
    zmp_error_unpack (decoded, kind, &unpacked.data);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&buffer);
}

static void
test_error_pack_unpack_round_trips_every_field (void **state)
{
    (void) state;
    zmp_error_t error;
    s_crash (&error);
    zmp_error_t decoded;
    uint32_t fields;
    s_round_trip (&error, ZMP_ERR_CRASHED, &decoded, &fields);
    assert_int_equal (fields, 6);
    assert_int_equal (decoded.kind, ZMP_ERR_CRASHED);
    assert_string_equal (decoded.message, "task square");
    assert_string_equal (decoded.host, "node-3");
    assert_int_equal (decoded.pid, 4242);
    assert_int_equal (decoded.signal, SIGSEGV);
    assert_int_equal (decoded.code, -7);
    assert_int_equal (decoded.index, 3);
}

static void
test_error_pack_sends_only_the_message_when_nothing_else_is_known (void **state)
{
    (void) state;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_TIMEOUT, "ran for 5000 ms");
    zmp_error_t decoded;
    uint32_t fields;
    s_round_trip (&error, ZMP_ERR_TIMEOUT, &decoded, &fields);
    assert_int_equal (fields, 1);
    assert_int_equal (decoded.kind, ZMP_ERR_TIMEOUT);
    assert_string_equal (decoded.message, "ran for 5000 ms");
    assert_string_equal (decoded.host, "");
    assert_int_equal (decoded.pid, 0);
    assert_int_equal (decoded.index, -1);
}

static void
test_error_unpack_of_no_map_keeps_the_kind (void **state)
{
    (void) state;
    zmp_error_t error;
    s_crash (&error);
    zmp_error_unpack (&error, ZMP_ERR_WORKER_LOST, NULL);
    assert_int_equal (error.kind, ZMP_ERR_WORKER_LOST);
    assert_string_equal (error.message, "");
    assert_int_equal (error.index, -1);

    msgpack_object items[] = { zmp_str ("message"), zmp_str ("boom") };
    msgpack_object not_maps[] = { zmp_array (items, 2), zmp_str ("boom"),
                                  zmp_int (5), zmp_nil () };
    for (size_t index = 0; index < 4; index++) {
        s_crash (&error);
        zmp_error_unpack (&error, ZMP_ERR_TIMEOUT, &not_maps[index]);
        assert_int_equal (error.kind, ZMP_ERR_TIMEOUT);
        assert_string_equal (error.message, "");
        assert_string_equal (error.host, "");
        assert_int_equal (error.pid, 0);
        assert_int_equal (error.index, -1);
    }
}

static void
test_error_unpack_ignores_fields_of_the_wrong_type (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = {
        zmp_pair ("message", zmp_int (5)),
        zmp_pair ("host", zmp_bool (true)),
        zmp_pair ("pid", zmp_str ("4242")),
        zmp_pair ("signal", zmp_int (200)),
        zmp_pair ("code", zmp_int (1LL << 40)),
        zmp_pair ("index", zmp_int (-3)),
    };
    msgpack_object map = zmp_map (pairs, 6);
    zmp_error_t error;
    zmp_error_unpack (&error, ZMP_ERR_TASK, &map);
    assert_int_equal (error.kind, ZMP_ERR_TASK);
    assert_string_equal (error.message, "");
    assert_string_equal (error.host, "");
    assert_int_equal (error.pid, 0);
    assert_int_equal (error.signal, 0);
    assert_int_equal (error.code, 0);
    assert_int_equal (error.index, -1);

    char buffer[256];  //  Still printable
    assert_string_equal (zmp_error_format (&error, buffer, sizeof buffer),
                         "task failed");
}

static void
test_error_unpack_ignores_unknown_and_non_string_keys (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = {
        { zmp_int (1), zmp_str ("not a key") },
        zmp_pair ("colour", zmp_str ("blue")),
        zmp_pair ("message", zmp_str ("boom")),
        zmp_pair ("pid", zmp_int (12)),
    };
    msgpack_object map = zmp_map (pairs, 4);
    zmp_error_t error;
    zmp_error_unpack (&error, ZMP_ERR_TASK, &map);
    assert_int_equal (error.kind, ZMP_ERR_TASK);
    assert_string_equal (error.message, "boom");
    assert_int_equal (error.pid, 12);
}

static void
test_error_unpack_of_an_invalid_kind_gives_protocol (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = { zmp_pair ("message", zmp_str ("boom")) };
    msgpack_object map = zmp_map (pairs, 1);
    zmp_error_t error;
    zmp_error_unpack (&error, (zmp_error_kind_t) 99, &map);
    assert_int_equal (error.kind, ZMP_ERR_PROTOCOL);
    assert_string_equal (error.message, "boom");
}

static void
test_error_unpack_cuts_long_strings (void **state)
{
    (void) state;
    char long_text[ZMP_ERROR_MESSAGE_MAX + ZMP_ERROR_HOST_MAX];
    memset (long_text, 'y', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    msgpack_object_kv pairs[] = { zmp_pair ("message", zmp_str (long_text)),
                                  zmp_pair ("host", zmp_str (long_text)) };
    msgpack_object map = zmp_map (pairs, 2);
    zmp_error_t error;
    zmp_error_unpack (&error, ZMP_ERR_TASK, &map);
    assert_int_equal (strlen (error.message), ZMP_ERROR_MESSAGE_MAX - 1);
    assert_int_equal (strlen (error.host), ZMP_ERROR_HOST_MAX - 1);
}


//  --------------------------------------------------------------------------
//  Signal names

static void
test_error_signal_name_names_common_signals (void **state)
{
    (void) state;
    assert_string_equal (zmp_signal_name (SIGSEGV), "SIGSEGV");
    assert_string_equal (zmp_signal_name (SIGKILL), "SIGKILL");
    assert_string_equal (zmp_signal_name (SIGTERM), "SIGTERM");
    assert_string_equal (zmp_signal_name (SIGABRT), "SIGABRT");
    assert_string_equal (zmp_signal_name (SIGBUS), "SIGBUS");
    assert_string_equal (zmp_signal_name (SIGFPE), "SIGFPE");
    assert_string_equal (zmp_signal_name (SIGXCPU), "SIGXCPU");
}

static void
test_error_signal_name_of_an_unknown_signal_is_signal (void **state)
{
    (void) state;
    assert_string_equal (zmp_signal_name (0), "signal");
    assert_string_equal (zmp_signal_name (-1), "signal");
    assert_string_equal (zmp_signal_name (99), "signal");
}


int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_error_kind_names_and_texts_follow_the_table),
        cmocka_unit_test (test_error_kind_unknown_has_a_name_and_text),
        cmocka_unit_test (
            test_error_set_fills_kind_and_message_and_clears_the_rest),
        cmocka_unit_test (test_error_set_cuts_a_long_message),
        cmocka_unit_test (test_error_clear_resets_to_none_with_index_minus_1),
        cmocka_unit_test (
            test_error_format_crashed_names_the_signal_host_and_pid),
        cmocka_unit_test (test_error_format_gives_the_host_without_a_pid),
        cmocka_unit_test (test_error_format_gives_the_item_index),
        cmocka_unit_test (
            test_error_format_without_a_message_gives_the_kind_text),
        cmocka_unit_test (test_error_format_cuts_to_the_buffer),
        cmocka_unit_test (test_error_pack_unpack_round_trips_every_field),
        cmocka_unit_test (
            test_error_pack_sends_only_the_message_when_nothing_else_is_known),
        cmocka_unit_test (test_error_unpack_of_no_map_keeps_the_kind),
        cmocka_unit_test (test_error_unpack_ignores_fields_of_the_wrong_type),
        cmocka_unit_test (
            test_error_unpack_ignores_unknown_and_non_string_keys),
        cmocka_unit_test (test_error_unpack_of_an_invalid_kind_gives_protocol),
        cmocka_unit_test (test_error_unpack_cuts_long_strings),
        cmocka_unit_test (test_error_signal_name_names_common_signals),
        cmocka_unit_test (
            test_error_signal_name_of_an_unknown_signal_is_signal),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
