/*  fuzz_seeds - write the fuzz targets' first corpus: a valid input of
    each kind each target reads, made by zmpool's own encoders
        fuzz_seeds DIR    (writes DIR/TARGET/NAME)
*/
#include "zmp_proto.h"

#include "zmp_error.h"
#include "zmp_handle.h"

#include <stdio.h>
#include <sys/stat.h>

static const char *s_dir;

static void
s_write (const char *target, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", s_dir, target);
    mkdir (path, 0755);
    snprintf (path, sizeof path, "%s/%s/%s", s_dir, target, name);
    FILE *file = fopen (path, "w");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file))
        fprintf (stderr, "fuzz_seeds: cannot write %s\n", path);
}

//  fuzz_proto reads a selector byte, then the frame
static void
s_proto (const char *name, int selector, zframe_t *frame)
{
    size_t size = zframe_size (frame) + 1;
    uint8_t *data = (uint8_t *) malloc (size);
    data[0] = (uint8_t) selector;
    memcpy (data + 1, zframe_data (frame), zframe_size (frame));
    s_write ("fuzz_proto", name, data, size);
    free (data);
    zframe_destroy (&frame);
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: fuzz_seeds DIR\n");
        return 2;
    }
    s_dir = argv[1];
    mkdir (s_dir, 0755);
    zmp_proto_hello_t hello = { ZMP_ROLE_WORKER, 42, 4, 2, "host",
                                "name",          0,  1, 0 };
    s_proto ("hello", 0, zmp_proto_encode_hello (&hello));
    zmp_proto_welcome_t welcome = { 1000, 5, 8, 1, 77, 1u << 20 };
    s_proto ("welcome", 1, zmp_proto_encode_welcome (&welcome));
    zmp_proto_task_t task = { 1, 2, 0, 500, "square" };
    s_proto ("task", 2, zmp_proto_encode_task (&task));
    zmp_proto_dispatch_t dispatch;
    memset (&dispatch, 0, sizeof dispatch);
    dispatch.slot = 3;
    dispatch.seq = 9;
    snprintf (dispatch.function, sizeof dispatch.function, "echo");
    s_proto ("dispatch", 3, zmp_proto_encode_dispatch (&dispatch));
    zmp_proto_done_t done;
    memset (&done, 0, sizeof done);
    done.slot = 3;
    done.seq = 9;
    s_proto ("done", 4, zmp_proto_encode_done (&done));
    done.has_usage = true;
    done.usage.wall_us = 1500;
    done.usage.max_rss_kib = 4096;
    s_proto ("done_usage", 4, zmp_proto_encode_done (&done));
    zmp_proto_result_t result;
    memset (&result, 0, sizeof result);
    result.task_id = 5;
    s_proto ("result", 5, zmp_proto_encode_result (&result));
    result.has_usage = true;
    result.usage.user_us = 700;
    snprintf (result.host, sizeof result.host, "node-1");
    s_proto ("result_usage", 5, zmp_proto_encode_result (&result));
    zmp_proto_load_t load = { 250, 1 << 20, 1 << 19 };
    s_proto ("load", 17, zmp_proto_encode_load (&load));
    zmp_proto_pool_t pool = { 1, 4, false };
    s_proto ("pool", 6, zmp_proto_encode_pool (&pool));
    s_proto ("abort", 7, zmp_proto_encode_abort (3, 9));
    s_proto ("uint", 8, zmp_proto_encode_uint (123456789));
    s_proto ("notice", 9,
             zmp_proto_encode_notice (ZMP_ERR_PROTOCOL, "bad", true));
    s_proto ("cancel", 10, zmp_proto_encode_cancel_pool (2));
    s_proto ("cancel_task", 11, zmp_proto_encode_cancel_task (2, 8));
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_NOT_FOUND, "gone");
    s_proto ("outcome_error", 16, zmp_proto_encode_outcome_error (&error));
    uint8_t nil = 0xc0;
    s_proto ("outcome", 16, zmp_proto_encode_outcome (&nil, 1));

    //  fuzz_value: arguments as tasks get them
    static const uint8_t args[] = { 0x93, 0x01, 0xa3, 'a',  'b',  'c',
                                    0x81, 0xa1, 'k',  0xcb, 0x40, 0x09,
                                    0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18 };
    s_write ("fuzz_value", "args", args, sizeof args);
    char handle[ZMP_HANDLE_SIZE];
    zmp_handle_encode (ZMP_OBJECT_QUEUE, 0x0102030405060708ull, handle);
    uint8_t wrapped[1 + ZMP_HANDLE_SIZE] = { 0x91 };
    memcpy (wrapped + 1, handle, ZMP_HANDLE_SIZE);
    s_write ("fuzz_value", "handle", wrapped, sizeof wrapped);
    static const uint8_t deep[] = { 0x91, 0x91, 0x91, 0x91, 0x91, 0x90 };
    s_write ("fuzz_value", "deep", deep, sizeof deep);

    //  fuzz_json: what zmpool map gets on its command line
    const char *texts[] = { "[20000000, 25000000]", "{\"a\": [1, 2.5, null]}",
                            "\"text\"", "-12", "true" };
    for (size_t index = 0; index < sizeof texts / sizeof texts[0]; index++) {
        char name[16];
        snprintf (name, sizeof name, "json%zu", index);
        s_write ("fuzz_json", name, texts[index], strlen (texts[index]));
    }

    //  fuzz_journal: records cut at 0xfe: a queue made, an item in and out
    static const uint8_t journal[] = {
        0x96, 0xa5, 'q',  'u',  'e',  'u',  'e',  0x07, 0x00, 0xc3, 0x00,
        0xc2, 0xfe, 0x93, 0xa3, 'p',  'u',  't',  0x07, 0xc4, 0x01, 0x2a,
        0xfe, 0x93, 0xa3, 'p',  'u',  't',  0x07, 0xc4, 0x01, 0x2b, 0xfe,
        0x92, 0xa4, 't',  'a',  'k',  'e',  0x07, 0xfe, 0x92, 0xa4, 'd',
        'o',  'n',  'e',  0x07, 0xfe, 0x96, 0xa4, 'p',  'i',  'p',  'e',
        0x08, 0x09, 0xc3, 0xc3, 0xc2, 0xfe, 0x92, 0xa5, 'c',  'l',  'o',
        's',  'e',  0x08, 0xfe, 0x92, 0xa4, 'f',  'r',  'e',  'e',  0x08
    };
    s_write ("fuzz_journal", "queue_and_pipe", journal, sizeof journal);

    //  fuzz_config: a configuration file
    const char *config = "curve\n    secret = /nonexistent/c.key_secret\n"
                         "    server = /nonexistent/broker.key\n";
    s_write ("fuzz_config", "curve", config, strlen (config));
    return 0;
}
