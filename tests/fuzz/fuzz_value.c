/*  fuzz_value - libFuzzer target: a task's arguments as they arrive, the
    pre-decode check, the decoder, and what is done with a decoded value
    (JSON for the command line, handles, argument accessors, error maps)
*/
#include "zmp_error.h"
#include "zmp_handle.h"
#include "zmp_json.h"
#include "zmp_value.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zmp_error_t error;
    int checked = zmp_value_check (data, size, &error);
    zmp_value_t *value = zmp_value_decode (data, size, &error);
    //  The check and the decoder agree
    if ((checked == 0) != (value != NULL))
        __builtin_trap ();
    if (value) {
        const msgpack_object *object = zmp_value_get (value);
        char *text = zmp_json_text (object);
        free (text);
        zmp_object_kind_t kind;
        uint64_t id;
        zmp_handle_decode (object, &kind, &id);
        uint32_t count = zmp_arg_count (object);
        for (uint32_t index = 0; index < count && index < 8; index++) {
            int64_t integer;
            double real;
            zmp_arg_int (object, index, &integer);
            zmp_arg_double (object, index, &real);
        }
        zmp_error_unpack (&error, ZMP_ERR_TASK, object);
        zmp_value_destroy (&value);
    }
    return 0;
}
