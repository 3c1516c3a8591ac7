/*  example - connect, check, print like Python, for the seed examples */
#include "example.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

zmp_client_t *
example_connect (void)
{
    zmp_error_t error;
    zmp_client_t *client = zmp_client_connect (NULL, 5000, &error);
    return (zmp_client_t *) example_must (client, "connect", &error);
}

void
example_check (int rc, const char *what, const zmp_error_t *error)
{
    if (rc < 0) {
        fprintf (stderr, "%s: %s\n", what, error ? error->message : "failed");
        exit (1);
    }
}

void *
example_must (void *pointer, const char *what, const zmp_error_t *error)
{
    example_check (pointer ? 0 : -1, what, error);
    return pointer;
}

zmp_process_t *
example_process (zmp_client_t *client, const char *function,
                 const msgpack_object *args, uint32_t count)
{
    msgpack_object array = zmp_array ((msgpack_object *) args, count);
    zmp_error_t error;
    zmp_process_t *process =
        zmp_process_new (client, function, count ? &array : NULL, &error);
    example_must (process, function, &error);
    example_check (zmp_process_start (process, &error), function, &error);
    return process;
}

//  A float as Python's repr: the shortest text that reads back the same,
//  with ".0" when it looks like an integer
static void
s_float (FILE *stream, double value)
{
    char text[32];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf (text, sizeof text, "%.*g", precision, value);
        if (strtod (text, NULL) == value)
            break;
    }
    fputs (text, stream);
    if (!strpbrk (text, ".eni"))  //  Not 1e+20, nan or inf
        fputs (".0", stream);
}

static void
s_string (FILE *stream, const char *bytes, uint32_t size)
{
    fputc ('\'', stream);
    for (uint32_t index = 0; index < size; index++) {
        char c = bytes[index];
        if (c == '\'' || c == '\\')
            fprintf (stream, "\\%c", c);
        else if (c == '\n')
            fputs ("\\n", stream);
        else
            fputc (c, stream);
    }
    fputc ('\'', stream);
}

void
example_repr (FILE *stream, const msgpack_object *value)
{
    switch (value->type) {
        case MSGPACK_OBJECT_NIL:
            fputs ("None", stream);
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            fputs (value->via.boolean ? "True" : "False", stream);
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            fprintf (stream, "%llu", (unsigned long long) value->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            fprintf (stream, "%lld", (long long) value->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            s_float (stream, value->via.f64);
            break;
        case MSGPACK_OBJECT_STR:
            s_string (stream, value->via.str.ptr, value->via.str.size);
            break;
        case MSGPACK_OBJECT_ARRAY:
            fputc ('[', stream);
            for (uint32_t index = 0; index < value->via.array.size; index++) {
                if (index)
                    fputs (", ", stream);
                example_repr (stream, &value->via.array.ptr[index]);
            }
            fputc (']', stream);
            break;
        case MSGPACK_OBJECT_MAP:
            fputc ('{', stream);
            for (uint32_t index = 0; index < value->via.map.size; index++) {
                if (index)
                    fputs (", ", stream);
                example_repr (stream, &value->via.map.ptr[index].key);
                fputs (": ", stream);
                example_repr (stream, &value->via.map.ptr[index].val);
            }
            fputc ('}', stream);
            break;
        default:
            fprintf (stream, "<%s>",
                     zmp_handle_kind (value) ? "handle" : "bytes");
    }
}

void
example_str (FILE *stream, const msgpack_object *value)
{
    if (value->type == MSGPACK_OBJECT_STR)
        fwrite (value->via.str.ptr, 1, value->via.str.size, stream);
    else
        example_repr (stream, value);
}

void
example_print (const msgpack_object *value)
{
    example_repr (stdout, value);
    fputc ('\n', stdout);
    fflush (stdout);
}

void
example_sleep (double seconds)
{
    struct timespec pause = {
        (time_t) seconds, (long) ((seconds - (double) (time_t) seconds) * 1e9)
    };
    while (nanosleep (&pause, &pause) == -1)
        ;
}
