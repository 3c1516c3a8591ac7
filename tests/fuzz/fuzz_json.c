/*  fuzz_json - libFuzzer target: the command line's JSON arguments
    (`zmpool map FUNCTION ARG...`), parsed and packed as msgpack, and the
    packed value back to JSON
*/
#include "zmp_json.h"
#include "zmp_value.h"

#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    memcpy (text, data, size);
    text[size] = 0;
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    zmp_error_t error;
    if (zmp_json_parse_pack (text, &packer, &error) == 0) {
        zmp_value_t *value =
            zmp_value_decode (buffer.data, buffer.size, &error);
        //  What the parser packs always decodes
        if (!value)
            __builtin_trap ();
        char *back = zmp_json_text (zmp_value_get (value));
        free (back);
        zmp_value_destroy (&value);
    }
    msgpack_sbuffer_destroy (&buffer);
    free (text);
    return 0;
}
