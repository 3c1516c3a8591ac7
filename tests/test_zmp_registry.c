/*  test_zmp_registry - registering task functions and running them

    The task functions below are what module authors write, good and bad:
    zmp_registry_call must pass on a good one's result and turn every
    broken promise (nothing packed, two values packed, -1 without a reason)
    into a task error that names the function, leaving the caller's result
    buffer as it found it.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_registry.h"

#include "zmp_error.h"
#include "zmp_proto.h"  //  ZMP_TASK_CHUNK
#include "zmp_value.h"


//  --------------------------------------------------------------------------
//  Task functions, as a module writes them

//  square (n): n * n
static int
s_square (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    int64_t n;
    if (zmp_arg_count (args) != 1 || !zmp_arg_int (args, 0, &n))
        return zmp_task_bad_arguments (task, "square takes one integer");
    if (n < 0)
        return zmp_task_fail (task, "square refuses negative %lld",
                              (long long) n);
    msgpack_pack_int64 (result, n * n);
    return 0;
}

//  exit_code (code): fails with the task's own error code
static int
s_exit_code (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    (void) result;
    int64_t code = 0;
    zmp_arg_int (args, 0, &code);
    return zmp_task_fail_code (task, (int) code, "exited with %lld",
                               (long long) code);
}

//  Returns 0 but packs nothing
static int
s_packs_nothing (zmp_task_t *task, const msgpack_object *args,
                 msgpack_packer *result)
{
    (void) task;
    (void) args;
    (void) result;
    return 0;
}

//  Returns 0 having packed two values
static int
s_packs_two (zmp_task_t *task, const msgpack_object *args,
             msgpack_packer *result)
{
    (void) task;
    (void) args;
    msgpack_pack_int (result, 1);
    msgpack_pack_int (result, 2);
    return 0;
}

//  Returns 0 having packed half an array
static int
s_packs_half (zmp_task_t *task, const msgpack_object *args,
              msgpack_packer *result)
{
    (void) task;
    (void) args;
    msgpack_pack_array (result, 2);
    msgpack_pack_int (result, 1);
    return 0;
}

//  Returns -1 without saying why
static int
s_fails_silently (zmp_task_t *task, const msgpack_object *args,
                  msgpack_packer *result)
{
    (void) task;
    (void) args;
    (void) result;
    return -1;
}

//  Packs a value, then fails
static int
s_packs_then_fails (zmp_task_t *task, const msgpack_object *args,
                    msgpack_packer *result)
{
    (void) args;
    msgpack_pack_str_with_body (result, "partial", 7);
    return zmp_task_fail (task, "changed my mind");
}

//  Packs the name of the function it runs as
static int
s_whoami (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) args;
    zmp_pack_cstr (result, zmp_task_function (task));
    return 0;
}


//  --------------------------------------------------------------------------
//  Helpers

//  Packs 32 nested one-item arrays around nil: as deep as a value may be
static int
s_deepest (zmp_task_t *task, const msgpack_object *args, msgpack_packer *result)
{
    (void) task;
    (void) args;
    for (int level = 0; level < 32; level++)
        msgpack_pack_array (result, 1);
    return msgpack_pack_nil (result);
}

static int
s_setup (void **state)
{
    zmp_registry_t *registry = zmp_registry_new ();
    if (zmp_registry_add (registry, "square", s_square, "n -> n * n")
        || zmp_registry_add (registry, "exit_code", s_exit_code, NULL)
        || zmp_registry_add (registry, "packs_nothing", s_packs_nothing, NULL)
        || zmp_registry_add (registry, "packs_two", s_packs_two, NULL)
        || zmp_registry_add (registry, "packs_half", s_packs_half, NULL)
        || zmp_registry_add (registry, "fails_silently", s_fails_silently, NULL)
        || zmp_registry_add (registry, "packs_then_fails", s_packs_then_fails,
                             NULL)
        || zmp_registry_add (registry, "whoami", s_whoami, NULL)
        || zmp_registry_add (registry, "deepest", s_deepest, NULL)) {
        zmp_registry_destroy (&registry);
        return -1;
    }
    *state = registry;
    return 0;
}

static int
s_teardown (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_registry_destroy (&registry);
    return 0;
}

//  A result buffer that already holds one value, as a worker's does when
//  it appends a task's result after the header.
static void
s_result_init (msgpack_sbuffer *result)
{
    msgpack_sbuffer_init (result);
    msgpack_sbuffer_write (result, "\xa6header", 7);
}

//  Decode the value appended to result after its first 7 bytes.
static zmp_value_t *
s_result_value (const msgpack_sbuffer *result)
{
    assert_true (result->size > 7);
    zmp_error_t error = { 0 };
    zmp_value_t *value =
        zmp_value_decode (result->data + 7, result->size - 7, &error);
    if (!value)
        fail_msg ("result is not one value: %s", error.message);
    return value;
}

//  Assert that result holds only what s_result_init put there.
static void
s_assert_result_untouched (const msgpack_sbuffer *result)
{
    assert_int_equal (result->size, 7);
    assert_memory_equal (result->data, "\xa6header", 7);
}

static void
s_assert_error (const zmp_error_t *error, zmp_error_kind_t kind,
                const char *reason)
{
    if (error->kind != kind || !strstr (error->message, reason))
        fail_msg ("expected %s with '%s', got %s: '%s'",
                  zmp_error_kind_name (kind), reason,
                  zmp_error_kind_name (error->kind), error->message);
}


//  Call function on args with flags: it must fail with kind and a message
//  holding reason, and leave the result buffer as it was. Returns the error.
static zmp_error_t
s_call_fails (zmp_registry_t *registry, const char *function,
              msgpack_object args, uint32_t flags, zmp_error_kind_t kind,
              const char *reason)
{
    zmp_task_t task;
    zmp_task_init (&task, function);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, flags, &result, &error), -1);
    s_assert_error (&error, kind, reason);
    assert_true (task.failed || kind == ZMP_ERR_UNKNOWN_FUNCTION);
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
    return error;
}

//  --------------------------------------------------------------------------
//  Registering and looking up

static void
test_registry_add_accepts_valid_names (void **state)
{
    (void) state;
    zmp_registry_t *registry = zmp_registry_new ();
    char longest[ZMP_FUNCTION_NAME_MAX + 1];
    memset (longest, 'n', ZMP_FUNCTION_NAME_MAX);
    longest[ZMP_FUNCTION_NAME_MAX] = 0;
    const char *names[] = { "square", "A", "mod.fn", "ns:fn-2_b", longest };
    for (size_t index = 0; index < 5; index++)
        assert_int_equal (
            zmp_registry_add (registry, names[index], s_square, NULL), 0);
    assert_int_equal (zmp_registry_size (registry), 5);
    zmp_registry_destroy (&registry);
    assert_null (registry);
}

static void
test_registry_add_refuses_invalid_names (void **state)
{
    (void) state;
    zmp_registry_t *registry = zmp_registry_new ();
    char too_long[ZMP_FUNCTION_NAME_MAX + 2];
    memset (too_long, 'n', ZMP_FUNCTION_NAME_MAX + 1);
    too_long[ZMP_FUNCTION_NAME_MAX + 1] = 0;
    const char *names[] = { "", too_long, "has space", "a/b", "semi;colon" };
    for (size_t index = 0; index < 5; index++)
        assert_int_equal (
            zmp_registry_add (registry, names[index], s_square, NULL), -1);
    assert_int_equal (zmp_registry_add (registry, NULL, s_square, NULL), -1);
    assert_int_equal (zmp_registry_add (registry, "no_fn", NULL, NULL), -1);
    assert_int_equal (zmp_registry_size (registry), 0);
    zmp_registry_destroy (&registry);
}

static void
test_registry_add_refuses_a_duplicate_and_keeps_the_first (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    size_t size = zmp_registry_size (registry);
    assert_int_equal (
        zmp_registry_add (registry, "square", s_packs_two, "impostor"), -1);
    assert_int_equal (zmp_registry_size (registry), size);
    assert_ptr_equal (zmp_registry_lookup (registry, "square"), s_square);
    assert_string_equal (zmp_registry_summary (registry, "square"),
                         "n -> n * n");
}

static void
test_registry_lookup_finds_registered_functions_only (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    assert_ptr_equal (zmp_registry_lookup (registry, "square"), s_square);
    assert_ptr_equal (zmp_registry_lookup (registry, "whoami"), s_whoami);
    assert_null (zmp_registry_lookup (registry, "cube"));
    assert_null (zmp_registry_lookup (registry, "Square"));
    assert_null (zmp_registry_lookup (registry, ""));
}

static void
test_registry_summary_is_empty_when_none_was_given (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    assert_string_equal (zmp_registry_summary (registry, "square"),
                         "n -> n * n");
    assert_string_equal (zmp_registry_summary (registry, "whoami"), "");
    assert_null (zmp_registry_summary (registry, "cube"));
}

static void
test_registry_names_are_sorted (void **state)
{
    (void) state;
    zmp_registry_t *registry = zmp_registry_new ();
    const char *added[] = { "zeta", "alpha", "mid", "Beta", "alpha2" };
    for (size_t index = 0; index < 5; index++)
        assert_int_equal (
            zmp_registry_add (registry, added[index], s_square, NULL), 0);
    zlistx_t *names = zmp_registry_names (registry);
    assert_int_equal (zlistx_size (names), 5);
    const char *sorted[] = { "Beta", "alpha", "alpha2", "mid", "zeta" };
    const char *name = (const char *) zlistx_first (names);
    for (size_t index = 0; index < 5; index++) {
        assert_non_null (name);
        assert_string_equal (name, sorted[index]);
        name = (const char *) zlistx_next (names);
    }
    zlistx_destroy (&names);
    zmp_registry_destroy (&registry);
}

static void
test_registry_names_of_an_empty_registry_is_an_empty_list (void **state)
{
    (void) state;
    zmp_registry_t *registry = zmp_registry_new ();
    zlistx_t *names = zmp_registry_names (registry);
    assert_non_null (names);
    assert_int_equal (zlistx_size (names), 0);
    zlistx_destroy (&names);
    zmp_registry_destroy (&registry);
}

static void
test_registry_load_of_a_missing_file_names_the_path (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    size_t size = zmp_registry_size (registry);
    const char *path = "/nonexistent/zmpool/libno_such_module.so";
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_registry_load (registry, path, &error), -1);
    s_assert_error (&error, ZMP_ERR_SYSTEM, path);
    assert_int_equal (zmp_registry_size (registry), size);
    assert_int_equal (zmp_registry_load (registry, path, NULL), -1);
}


//  --------------------------------------------------------------------------
//  Calling

static void
test_registry_call_appends_the_result (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object items[] = { zmp_int (7) };
    msgpack_object args = zmp_array (items, 1);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, &error), 0);
    assert_int_equal (error.kind, ZMP_ERR_NONE);
    assert_false (task.failed);

    zmp_value_t *value = s_result_value (&result);
    int64_t squared = 0;
    assert_int_equal (zmp_int_get (zmp_value_get (value), &squared), 0);
    assert_int_equal (squared, 49);
    zmp_value_destroy (&value);
    assert_memory_equal (result.data, "\xa6header", 7);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_lets_the_task_see_its_function (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "whoami");
    assert_int_equal (task.attempt, 1);
    assert_int_equal (task.slot, -1);
    assert_false (task.failed);
    msgpack_object args = zmp_array (NULL, 0);
    msgpack_sbuffer result;
    s_result_init (&result);
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, NULL), 0);
    zmp_value_t *value = s_result_value (&result);
    assert_true (zmp_str_is (zmp_value_get (value), "whoami"));
    zmp_value_destroy (&value);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_of_an_unknown_function_fails (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "cube");
    msgpack_object items[] = { zmp_int (7) };
    msgpack_object args = zmp_array (items, 1);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, &error), -1);
    s_assert_error (&error, ZMP_ERR_UNKNOWN_FUNCTION, "'cube'");
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_with_args_not_an_array_fails (void **state)
{
    s_call_fails ((zmp_registry_t *) *state, "square", zmp_int (7), 0,
                  ZMP_ERR_BAD_ARGUMENTS, "array");
}

static void
test_registry_call_passes_on_the_functions_own_failure (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object items[] = { zmp_int (-2) };
    msgpack_object args = zmp_array (items, 1);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, &error), -1);
    s_assert_error (&error, ZMP_ERR_TASK, "square refuses negative -2");
    assert_int_equal (error.code, 0);
    assert_int_equal (error.index, -1);
    assert_true (task.failed);
    s_assert_result_untouched (&result);

    items[0] = zmp_str ("seven");
    zmp_error_clear (&error);
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, &error), -1);
    s_assert_error (&error, ZMP_ERR_BAD_ARGUMENTS, "square takes one integer");
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_fail_code_sets_the_error_code (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "exit_code");
    msgpack_object items[] = { zmp_int (3) };
    msgpack_object args = zmp_array (items, 1);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, &error), -1);
    s_assert_error (&error, ZMP_ERR_TASK, "exited with 3");
    assert_int_equal (error.code, 3);
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_of_a_function_packing_nothing_fails (void **state)
{
    s_call_fails ((zmp_registry_t *) *state, "packs_nothing",
                  zmp_array (NULL, 0), 0, ZMP_ERR_TASK, "packs_nothing");
}

static void
test_registry_call_of_a_function_packing_two_values_fails (void **state)
{
    s_call_fails ((zmp_registry_t *) *state, "packs_two", zmp_array (NULL, 0),
                  0, ZMP_ERR_TASK, "packs_two");
}

static void
test_registry_call_of_a_function_packing_half_a_value_fails (void **state)
{
    s_call_fails ((zmp_registry_t *) *state, "packs_half", zmp_array (NULL, 0),
                  0, ZMP_ERR_TASK, "packs_half");
}

static void
test_registry_call_of_a_function_failing_silently_fails (void **state)
{
    s_call_fails ((zmp_registry_t *) *state, "fails_silently",
                  zmp_array (NULL, 0), 0, ZMP_ERR_TASK, "fails_silently");
}

static void
test_registry_call_forgets_what_a_failing_function_packed (void **state)
{
    s_call_fails ((zmp_registry_t *) *state, "packs_then_fails",
                  zmp_array (NULL, 0), 0, ZMP_ERR_TASK, "changed my mind");
}

static void
test_registry_call_runs_again_after_a_failure (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object items[] = { zmp_int (-1) };
    msgpack_object args = zmp_array (items, 1);
    msgpack_sbuffer result;
    s_result_init (&result);
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, NULL), -1);

    items[0] = zmp_int (5);
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_registry_call (registry, &task, &args, 0, &result, &error), 0);
    assert_false (task.failed);
    zmp_value_t *value = s_result_value (&result);
    int64_t squared = 0;
    assert_int_equal (zmp_int_get (zmp_value_get (value), &squared), 0);
    assert_int_equal (squared, 25);
    zmp_value_destroy (&value);
    msgpack_sbuffer_destroy (&result);
}


//  --------------------------------------------------------------------------
//  Chunks: an array of argument arrays, an array of results

static void
test_registry_call_chunk_returns_one_result_per_item (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object first[] = { zmp_int (1) };
    msgpack_object second[] = { zmp_int (2) };
    msgpack_object third[] = { zmp_int (3) };
    msgpack_object items[] = { zmp_array (first, 1), zmp_array (second, 1),
                               zmp_array (third, 1) };
    msgpack_object chunk = zmp_array (items, 3);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_registry_call (registry, &task, &chunk,
                                         ZMP_TASK_CHUNK, &result, &error),
                      0);

    zmp_value_t *value = s_result_value (&result);
    const msgpack_object *results = zmp_value_get (value);
    assert_int_equal (results->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal (results->via.array.size, 3);
    for (uint32_t index = 0; index < 3; index++) {
        int64_t squared = 0;
        assert_true (zmp_arg_int (results, index, &squared));
        assert_int_equal (squared, (index + 1) * (index + 1));
    }
    zmp_value_destroy (&value);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_empty_chunk_returns_an_empty_array (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object chunk = zmp_array (NULL, 0);
    msgpack_sbuffer result;
    s_result_init (&result);
    assert_int_equal (zmp_registry_call (registry, &task, &chunk,
                                         ZMP_TASK_CHUNK, &result, NULL),
                      0);
    zmp_value_t *value = s_result_value (&result);
    assert_int_equal (zmp_arg_count (zmp_value_get (value)), 0);
    assert_int_equal (zmp_value_get (value)->type, MSGPACK_OBJECT_ARRAY);
    zmp_value_destroy (&value);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_chunk_fails_whole_at_the_first_failing_item (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object first[] = { zmp_int (1) };
    msgpack_object second[] = { zmp_int (2) };
    msgpack_object third[] = { zmp_int (-3) };
    msgpack_object fourth[] = { zmp_int (-4) };
    msgpack_object items[] = { zmp_array (first, 1), zmp_array (second, 1),
                               zmp_array (third, 1), zmp_array (fourth, 1) };
    msgpack_object chunk = zmp_array (items, 4);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_registry_call (registry, &task, &chunk,
                                         ZMP_TASK_CHUNK, &result, &error),
                      -1);
    s_assert_error (&error, ZMP_ERR_TASK, "square refuses negative -3");
    assert_int_equal (error.index, 2);
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_chunk_item_not_an_array_fails_with_its_index (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object first[] = { zmp_int (1) };
    msgpack_object items[] = { zmp_array (first, 1), zmp_int (2) };
    msgpack_object chunk = zmp_array (items, 2);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_registry_call (registry, &task, &chunk,
                                         ZMP_TASK_CHUNK, &result, &error),
                      -1);
    s_assert_error (&error, ZMP_ERR_BAD_ARGUMENTS, "array");
    assert_int_equal (error.index, 1);
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_chunk_of_a_broken_function_names_it (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "packs_two");
    msgpack_object items[] = { zmp_array (NULL, 0) };
    msgpack_object chunk = zmp_array (items, 1);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_registry_call (registry, &task, &chunk,
                                         ZMP_TASK_CHUNK, &result, &error),
                      -1);
    s_assert_error (&error, ZMP_ERR_TASK, "packs_two");
    assert_int_equal (error.index, 0);
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}

static void
test_registry_call_chunk_not_an_array_fails (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    zmp_task_t task;
    zmp_task_init (&task, "square");
    msgpack_object chunk = zmp_str ("[[1]]");
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_registry_call (registry, &task, &chunk,
                                         ZMP_TASK_CHUNK, &result, &error),
                      -1);
    s_assert_error (&error, ZMP_ERR_BAD_ARGUMENTS, "chunk");
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}


static void
test_registry_call_chunk_too_deep_together_fails_at_the_worker (void **state)
{
    zmp_registry_t *registry = (zmp_registry_t *) *state;
    msgpack_object none = zmp_array (NULL, 0);
    msgpack_sbuffer result;
    s_result_init (&result);
    zmp_task_t task;
    zmp_task_init (&task, "deepest");
    zmp_error_t error;
    //  Alone, 32 levels is fine
    assert_int_equal (
        zmp_registry_call (registry, &task, &none, 0, &result, &error), 0);
    msgpack_sbuffer_destroy (&result);
    //  In a chunk's array it would be 33: the worker refuses, not the client
    s_result_init (&result);
    msgpack_object chunk = zmp_array (&none, 1);
    assert_int_equal (zmp_registry_call (registry, &task, &chunk,
                                         ZMP_TASK_CHUNK, &result, &error),
                      -1);
    s_assert_error (&error, ZMP_ERR_TASK, "nests deeper");
    s_assert_result_untouched (&result);
    msgpack_sbuffer_destroy (&result);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_registry_add_accepts_valid_names),
        cmocka_unit_test (test_registry_add_refuses_invalid_names),
        cmocka_unit_test_setup_teardown (
            test_registry_add_refuses_a_duplicate_and_keeps_the_first, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_lookup_finds_registered_functions_only, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_summary_is_empty_when_none_was_given, s_setup,
            s_teardown),
        cmocka_unit_test (test_registry_names_are_sorted),
        cmocka_unit_test (
            test_registry_names_of_an_empty_registry_is_an_empty_list),
        cmocka_unit_test_setup_teardown (
            test_registry_load_of_a_missing_file_names_the_path, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_registry_call_appends_the_result,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_lets_the_task_see_its_function, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_of_an_unknown_function_fails, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_with_args_not_an_array_fails, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_passes_on_the_functions_own_failure, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_fail_code_sets_the_error_code, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_of_a_function_packing_nothing_fails, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_of_a_function_packing_two_values_fails, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_of_a_function_packing_half_a_value_fails,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_of_a_function_failing_silently_fails, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_forgets_what_a_failing_function_packed, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_runs_again_after_a_failure, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_chunk_returns_one_result_per_item, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_empty_chunk_returns_an_empty_array, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_chunk_fails_whole_at_the_first_failing_item,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_chunk_item_not_an_array_fails_with_its_index,
            s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_chunk_of_a_broken_function_names_it, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_chunk_not_an_array_fails, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_registry_call_chunk_too_deep_together_fails_at_the_worker,
            s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
