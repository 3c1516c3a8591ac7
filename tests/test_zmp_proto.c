/*  test_zmp_proto - the wire protocol: header, encoders and decoders

    Every encoder's frame decodes back to what went in. Every decoder is fed
    hostile frames (empty, cut short, of the wrong type, with trailing
    bytes, claiming huge lengths, nested too deep, with fields of the wrong
    type or out of range) and must refuse each with kind protocol and a
    message that names the message and the field or the problem: that line
    is all a broker's log says about a misbehaving peer.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_proto.h"

#include "zmp_error.h"
#include "zmp_value.h"


//  --------------------------------------------------------------------------
//  Helpers: frames built with msgpack's packer and czmq's zframe_new

//  A new frame holding object, packed as msgpack.
static zframe_t *
s_frame (msgpack_object object)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_object (&packer, object);
    zframe_t *frame = zframe_new (buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    return frame;
}

//  A new frame holding frame's bytes followed by size bytes of extra.
static zframe_t *
s_frame_plus (zframe_t *frame, const char *extra, size_t size)
{
    zframe_t *longer = zframe_new (NULL, zframe_size (frame) + size);
    memcpy (zframe_data (longer), zframe_data (frame), zframe_size (frame));
    memcpy (zframe_data (longer) + zframe_size (frame), extra, size);
    return longer;
}

//  A new frame holding frame's bytes without the last cut bytes.
static zframe_t *
s_frame_cut (zframe_t *frame, size_t cut)
{
    assert_true (zframe_size (frame) > cut);
    return zframe_new (zframe_data (frame), zframe_size (frame) - cut);
}

//  A message of one header frame holding size bytes of data.
static zmsg_t *
s_header_msg (const char *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, data, size);
    return msg;
}

//  Assert that error is a protocol error whose message contains reason.
static void
s_assert_protocol_error (const zmp_error_t *error, const char *reason)
{
    if (error->kind != ZMP_ERR_PROTOCOL || !strstr (error->message, reason))
        fail_msg ("expected a protocol error with '%s', got %s: '%s'", reason,
                  zmp_error_kind_name (error->kind), error->message);
}

//  A worker HELLO map: tests change one value, or drop the last pairs
//  (slots is last). The strings are literals, so the pairs can be returned.
static void
s_worker_hello_pairs (msgpack_object_kv pairs[6])
{
    pairs[0] = zmp_pair ("role", zmp_str ("worker"));
    pairs[1] = zmp_pair ("host", zmp_str ("node-1"));
    pairs[2] = zmp_pair ("pid", zmp_int (4242));
    pairs[3] = zmp_pair ("name", zmp_str ("w1"));
    pairs[4] = zmp_pair ("cores", zmp_int (8));
    pairs[5] = zmp_pair ("slots", zmp_int (4));
}


//  --------------------------------------------------------------------------
//  Every decoder, called the same way, so that each hostile frame can be
//  fed to all of them

typedef int (s_decode_fn) (zframe_t *frame, zmp_error_t *error);

static int
s_decode_hello (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_hello_t hello;
    return zmp_proto_decode_hello (frame, &hello, error);
}

static int
s_decode_welcome (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_welcome_t welcome;
    return zmp_proto_decode_welcome (frame, &welcome, error);
}

static int
s_decode_task (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_task_t task;
    return zmp_proto_decode_task (frame, &task, error);
}

static int
s_decode_dispatch (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_dispatch_t dispatch;
    return zmp_proto_decode_dispatch (frame, &dispatch, error);
}

static int
s_decode_done (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_done_t done;
    return zmp_proto_decode_done (frame, &done, error);
}

static int
s_decode_result (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_result_t result;
    return zmp_proto_decode_result (frame, &result, error);
}

static int
s_decode_pool (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_pool_t pool;
    return zmp_proto_decode_pool (frame, &pool, error);
}

static int
s_decode_abort (zframe_t *frame, zmp_error_t *error)
{
    uint32_t slot;
    uint64_t seq;
    return zmp_proto_decode_abort (frame, &slot, &seq, error);
}

static int
s_decode_uint (zframe_t *frame, zmp_error_t *error)
{
    uint64_t value;
    return zmp_proto_decode_uint (frame, &value, error);
}

static int
s_decode_notice (zframe_t *frame, zmp_error_t *error)
{
    zmp_error_t notice;
    bool unknown_peer;
    return zmp_proto_decode_notice (frame, &notice, &unknown_peer, error);
}

static int
s_decode_cancel (zframe_t *frame, zmp_error_t *error)
{
    uint32_t pool_id;
    return zmp_proto_decode_cancel (frame, &pool_id, error);
}

static int
s_decode_event (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_event_t event;
    return zmp_proto_decode_event (frame, &event, error);
}

static int
s_decode_task_event (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_task_event_t event;
    return zmp_proto_decode_task_event (frame, &event, error);
}

static int
s_decode_kill (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_kill_t kill;
    return zmp_proto_decode_kill (frame, &kill, error);
}

static int
s_decode_kill_worker (zframe_t *frame, zmp_error_t *error)
{
    zmp_proto_kill_t kill;
    return zmp_proto_decode_kill_worker (frame, &kill, error);
}

static zframe_t *
s_good_event (void)
{
    zmp_proto_event_t event = { ZMP_PROTO_PROCESS_SLOT, 77, ZMP_EVENT_STDOUT,
                                4321 };
    return zmp_proto_encode_event (&event);
}

static zframe_t *
s_good_task_event (void)
{
    zmp_proto_task_event_t event = { 1ull << 40, ZMP_EVENT_STARTED, 4321 };
    return zmp_proto_encode_task_event (&event);
}

static zframe_t *
s_good_kill (void)
{
    zmp_proto_kill_t kill = { .task_id = 1ull << 40, .signal = 15 };
    return zmp_proto_encode_kill (&kill);
}

static zframe_t *
s_good_kill_worker (void)
{
    zmp_proto_kill_t kill = { .slot = ZMP_PROTO_PROCESS_SLOT,
                              .seq = 77,
                              .signal = 9 };
    return zmp_proto_encode_kill_worker (&kill);
}

static zframe_t *
s_good_hello (void)
{
    zmp_proto_hello_t hello = { .role = ZMP_ROLE_WORKER,
                                .pid = 4242,
                                .slots = 4,
                                .cores = 8,
                                .host = "node-1",
                                .name = "w1" };
    return zmp_proto_encode_hello (&hello);
}

static zframe_t *
s_good_welcome (void)
{
    zmp_proto_welcome_t welcome = { .heartbeat_ms = 1000,
                                    .liveness = 3,
                                    .slots = 16 };
    return zmp_proto_encode_welcome (&welcome);
}

static zframe_t *
s_good_task (void)
{
    zmp_proto_task_t task = { .task_id = 1,
                              .pool_id = 2,
                              .flags = 0,
                              .timeout_ms = 1000,
                              .function = "square" };
    return zmp_proto_encode_task (&task);
}

static zframe_t *
s_good_dispatch (void)
{
    zmp_proto_dispatch_t dispatch = { .slot = 3,
                                      .seq = 77,
                                      .attempt = 1,
                                      .flags = ZMP_TASK_CHUNK,
                                      .timeout_ms = 0,
                                      .function = "square" };
    return zmp_proto_encode_dispatch (&dispatch);
}

static zframe_t *
s_good_done (void)
{
    zmp_proto_done_t done = { .slot = 3, .seq = 77, .status = 0, .pid = 999 };
    return zmp_proto_encode_done (&done);
}

static zframe_t *
s_good_result (void)
{
    zmp_proto_result_t result = { .task_id = 1, .status = 0, .pid = 999 };
    return zmp_proto_encode_result (&result);
}

static zframe_t *
s_good_pool (void)
{
    zmp_proto_pool_t pool = { .pool_id = 2, .processes = 4, .close = false };
    return zmp_proto_encode_pool (&pool);
}

static zframe_t *
s_good_abort (void)
{
    return zmp_proto_encode_abort (3, 77);
}

static zframe_t *
s_good_uint (void)
{
    return zmp_proto_encode_uint (1234567);  //  Five bytes: can be cut
}

static zframe_t *
s_good_notice (void)
{
    return zmp_proto_encode_notice (ZMP_ERR_LIMIT, "too many pools", false);
}

static zframe_t *
s_good_cancel (void)
{
    return zmp_proto_encode_cancel_pool (2);
}

typedef struct {
    const char *what;          //  How its error messages name the body
    s_decode_fn *decode;       //  The decoder, wrapped
    zframe_t *(*good) (void);  //  A new valid frame for it
    msgpack_object_type body;  //  The body's type, map or array; uint: nil
    uint32_t items;            //  Array bodies: items required
} s_decoder_t;

static const s_decoder_t s_decoders[] = {
    { "HELLO", s_decode_hello, s_good_hello, MSGPACK_OBJECT_MAP, 0 },
    { "WELCOME", s_decode_welcome, s_good_welcome, MSGPACK_OBJECT_MAP, 0 },
    { "task header", s_decode_task, s_good_task, MSGPACK_OBJECT_ARRAY, 5 },
    { "dispatch header", s_decode_dispatch, s_good_dispatch,
      MSGPACK_OBJECT_ARRAY, 6 },
    { "done header", s_decode_done, s_good_done, MSGPACK_OBJECT_ARRAY, 4 },
    { "result header", s_decode_result, s_good_result, MSGPACK_OBJECT_ARRAY,
      3 },
    { "POOL", s_decode_pool, s_good_pool, MSGPACK_OBJECT_MAP, 0 },
    { "abort", s_decode_abort, s_good_abort, MSGPACK_OBJECT_ARRAY, 2 },
    { "request id", s_decode_uint, s_good_uint, MSGPACK_OBJECT_NIL, 0 },
    { "notice", s_decode_notice, s_good_notice, MSGPACK_OBJECT_MAP, 0 },
    { "CANCEL", s_decode_cancel, s_good_cancel, MSGPACK_OBJECT_MAP, 0 },
    { "process event", s_decode_event, s_good_event, MSGPACK_OBJECT_ARRAY, 4 },
    { "task event", s_decode_task_event, s_good_task_event,
      MSGPACK_OBJECT_ARRAY, 3 },
    { "KILL", s_decode_kill, s_good_kill, MSGPACK_OBJECT_ARRAY, 2 },
    { "KILL", s_decode_kill_worker, s_good_kill_worker, MSGPACK_OBJECT_ARRAY,
      3 },
};

#define S_DECODERS (sizeof s_decoders / sizeof s_decoders[0])

//  Feed frame to decoder and destroy it; assert that the decoder refused it
//  with kind protocol and a message "<what>: ...<reason>...".
static void
s_assert_refuses (const s_decoder_t *decoder, zframe_t **frame_p,
                  const char *reason)
{
    zmp_error_t error;
    zmp_error_clear (&error);
    int rc = decoder->decode (*frame_p, &error);
    zframe_destroy (frame_p);
    size_t what_size = strlen (decoder->what);
    if (rc != -1 || error.kind != ZMP_ERR_PROTOCOL
        || strncmp (error.message, decoder->what, what_size) != 0
        || error.message[what_size] != ':' || !strstr (error.message, reason))
        fail_msg ("%s decoder: expected -1, protocol, '%s: ...%s...'; got %d, "
                  "%s, '%s'",
                  decoder->what, decoder->what, reason, rc,
                  zmp_error_kind_name (error.kind), error.message);
}


//  --------------------------------------------------------------------------
//  The header frame

static void
test_proto_new_makes_a_header_that_command_accepts (void **state)
{
    (void) state;
    for (int command = ZMP_PROTO_HELLO; command <= ZMP_PROTO_COMMAND_MAX;
         command++) {
        zmsg_t *msg = zmp_proto_new ((zmp_proto_command_t) command);
        assert_int_equal (zmsg_size (msg), 1);
        zframe_t *header = zmsg_first (msg);
        assert_int_equal (zframe_size (header), 4);
        assert_memory_equal (zframe_data (header), ZMP_PROTO_SIGNATURE, 2);
        assert_int_equal (zframe_data (header)[2], ZMP_PROTO_VERSION);

        zmp_error_t error;
        zmp_error_clear (&error);
        assert_int_equal (zmp_proto_command (msg, &error), command);
        assert_int_equal (error.kind, ZMP_ERR_NONE);
        zmsg_destroy (&msg);
    }
}

static void
test_proto_command_accepts_a_header_followed_by_bodies (void **state)
{
    (void) state;
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_SUBMIT);
    zframe_t *task = s_good_task ();
    zmsg_append (msg, &task);
    zmsg_addmem (msg, "\x90", 1);  //  Empty argument array
    assert_int_equal (zmp_proto_command (msg, NULL), ZMP_PROTO_SUBMIT);
    zmsg_destroy (&msg);
}

static void
test_proto_command_rejects_a_message_without_frames (void **state)
{
    (void) state;
    zmsg_t *msg = zmsg_new ();
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_command (msg, &error), -1);
    s_assert_protocol_error (&error, "empty message");
    zmsg_destroy (&msg);

    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_command (NULL, &error), -1);
    s_assert_protocol_error (&error, "empty message");
}

static void
test_proto_command_rejects_a_header_of_the_wrong_size (void **state)
{
    (void) state;
    zmsg_t *msg = s_header_msg ("ZP\x01", 3);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_command (msg, &error), -1);
    s_assert_protocol_error (&error, "bad header frame");
    zmsg_destroy (&msg);

    msg = s_header_msg ("ZP\x01\x03\x00", 5);
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_command (msg, &error), -1);
    s_assert_protocol_error (&error, "bad header frame");
    zmsg_destroy (&msg);
}

static void
test_proto_command_rejects_a_wrong_signature (void **state)
{
    (void) state;
    const char *headers[] = { "ZQ\x01\x03", "zp\x01\x03", "PZ\x01\x03" };
    for (size_t index = 0; index < 3; index++) {
        zmsg_t *msg = s_header_msg (headers[index], 4);
        zmp_error_t error = { 0 };
        assert_int_equal (zmp_proto_command (msg, &error), -1);
        s_assert_protocol_error (&error, "not a zmpool message");
        zmsg_destroy (&msg);
    }
}

static void
test_proto_command_rejects_another_version_naming_both (void **state)
{
    (void) state;
    zmsg_t *msg = s_header_msg ("ZP\x02\x03", 4);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_command (msg, &error), -1);
    s_assert_protocol_error (&error, "version 2");
    char speaks[32];
    snprintf (speaks, sizeof speaks, "speaks %d", ZMP_PROTO_VERSION);
    assert_non_null (strstr (error.message, speaks));
    zmsg_destroy (&msg);

    msg = s_header_msg ("ZP\x00\x03", 4);
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_command (msg, &error), -1);
    s_assert_protocol_error (&error, "version 0");
    assert_non_null (strstr (error.message, speaks));
    zmsg_destroy (&msg);
}

static void
test_proto_command_rejects_unknown_commands (void **state)
{
    (void) state;
    zmsg_t *msg = s_header_msg ("ZP\x01\x00", 4);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_command (msg, &error), -1);
    s_assert_protocol_error (&error, "unknown command 0");
    zmsg_destroy (&msg);

    msg = s_header_msg ("ZP\x01\x63", 4);  //  Command 99
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_command (msg, &error), -1);
    s_assert_protocol_error (&error, "unknown command 99");
    zmsg_destroy (&msg);
}

//  A batch message: a header, then frames frames of one byte each.
static zmsg_t *
s_batch_msg (size_t frames)
{
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_DONE);
    for (size_t index = 0; index < frames; index++)
        zmsg_addmem (msg, "\xc0", 1);
    return msg;
}

static void
test_proto_pairs_counts_header_body_pairs (void **state)
{
    (void) state;
    zmsg_t *msg = s_batch_msg (2);
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_pairs (msg, &error), 1);
    zmsg_destroy (&msg);

    msg = s_batch_msg (6);
    assert_int_equal (zmp_proto_pairs (msg, &error), 3);
    zmsg_destroy (&msg);

    msg = s_batch_msg (2 * ZMP_PROTO_BATCH_MAX);
    assert_int_equal (zmp_proto_pairs (msg, &error), ZMP_PROTO_BATCH_MAX);
    zmsg_destroy (&msg);
    assert_int_equal (error.kind, ZMP_ERR_NONE);
}

static void
test_proto_pairs_rejects_no_pairs_a_lone_frame_or_too_many (void **state)
{
    (void) state;
    const size_t frames[] = { 0, 1, 3, 2 * ZMP_PROTO_BATCH_MAX + 2 };
    for (size_t index = 0; index < 4; index++) {
        zmsg_t *msg = s_batch_msg (frames[index]);
        zmp_error_t error = { 0 };
        assert_int_equal (zmp_proto_pairs (msg, &error), -1);
        s_assert_protocol_error (&error, "a batch must carry");
        zmsg_destroy (&msg);
    }
}

static void
test_proto_command_name_names_each_command (void **state)
{
    (void) state;
    assert_string_equal (zmp_proto_command_name (ZMP_PROTO_HELLO), "HELLO");
    assert_string_equal (zmp_proto_command_name (ZMP_PROTO_SUBMIT), "SUBMIT");
    assert_string_equal (zmp_proto_command_name (ZMP_PROTO_BYE), "BYE");
    assert_string_equal (zmp_proto_command_name (ZMP_PROTO_OBJECT), "OBJECT");
    assert_string_equal (zmp_proto_command_name (ZMP_PROTO_PROCESS), "PROCESS");
    assert_string_equal (zmp_proto_command_name (ZMP_PROTO_KILL), "KILL");
    assert_string_equal (zmp_proto_command_name (0), "(unknown)");
    assert_string_equal (zmp_proto_command_name (99), "(unknown)");
    assert_string_equal (zmp_proto_command_name (-1), "(unknown)");
}

static void
test_proto_valid_name_follows_the_name_rules (void **state)
{
    (void) state;
    const char *good[] = { "square", "A", "armstrong.range", "ns:fn-2_b" };
    for (size_t index = 0; index < 4; index++)
        assert_true (zmp_proto_valid_name (good[index], strlen (good[index])));
    char longest[ZMP_FUNCTION_NAME_MAX + 2];
    memset (longest, 'a', sizeof longest);
    assert_true (zmp_proto_valid_name (longest, ZMP_FUNCTION_NAME_MAX));
    assert_false (zmp_proto_valid_name (longest, ZMP_FUNCTION_NAME_MAX + 1));

    const char *bad[] = { "", "has space", "a/b", "tab\t", "caf\xc3\xa9" };
    for (size_t index = 0; index < 5; index++)
        assert_false (zmp_proto_valid_name (bad[index], strlen (bad[index])));
    assert_false (zmp_proto_valid_name ("nul\0inside", 10));
    assert_false (zmp_proto_valid_name (NULL, 3));
}


//  --------------------------------------------------------------------------
//  Round trips: what an encoder packs, its decoder reads back

static void
test_proto_hello_worker_round_trips (void **state)
{
    (void) state;
    zmp_proto_hello_t hello = { .role = ZMP_ROLE_WORKER,
                                .pid = 4242,
                                .slots = ZMP_PROTO_SLOTS_MAX,
                                .cores = 64,
                                .host = "node-3.example.org",
                                .name = "gpu box",
                                .attempt = 7 };
    zframe_t *frame = zmp_proto_encode_hello (&hello);
    zmp_proto_hello_t decoded;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &decoded, &error), 0);
    assert_int_equal (decoded.role, ZMP_ROLE_WORKER);
    assert_int_equal (decoded.pid, 4242);
    assert_int_equal (decoded.slots, ZMP_PROTO_SLOTS_MAX);
    assert_int_equal (decoded.cores, 64);
    assert_string_equal (decoded.host, "node-3.example.org");
    assert_string_equal (decoded.name, "gpu box");
    assert_int_equal (decoded.attempt, 7);
    zframe_destroy (&frame);
}

static void
test_proto_hello_client_round_trips_without_slots (void **state)
{
    (void) state;
    zmp_proto_hello_t hello = { .role = ZMP_ROLE_CLIENT,
                                .pid = 17,
                                .slots = 3,  //  Not carried for a client
                                .host = "laptop",
                                .name = "" };
    zframe_t *frame = zmp_proto_encode_hello (&hello);
    zmp_proto_hello_t decoded;
    assert_int_equal (zmp_proto_decode_hello (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.role, ZMP_ROLE_CLIENT);
    assert_int_equal (decoded.pid, 17);
    assert_int_equal (decoded.slots, 0);
    assert_int_equal (decoded.cores, 0);
    assert_string_equal (decoded.host, "laptop");
    assert_string_equal (decoded.name, "");
    assert_int_equal (decoded.attempt, 0);  //  Not counted: not sent
    zframe_destroy (&frame);
}

//  The bytes docs/PROTOCOL.md shows in its worked example (10.1)
static void
test_proto_welcome_bytes_match_the_protocol_document (void **state)
{
    (void) state;
    zmp_proto_welcome_t welcome = { 1000, 5, 8, 0, 0, 0 };
    zframe_t *frame = zmp_proto_encode_welcome (&welcome);
    const byte expected[] = { 0x84, 0xac, 0x68, 0x65, 0x61, 0x72, 0x74, 0x62,
                              0x65, 0x61, 0x74, 0x5f, 0x6d, 0x73, 0xcd, 0x03,
                              0xe8, 0xa8, 0x6c, 0x69, 0x76, 0x65, 0x6e, 0x65,
                              0x73, 0x73, 0x05, 0xa5, 0x73, 0x6c, 0x6f, 0x74,
                              0x73, 0x08, 0xa7, 0x61, 0x74, 0x74, 0x65, 0x6d,
                              0x70, 0x74, 0x00 };
    assert_int_equal (zframe_size (frame), sizeof expected);
    assert_memory_equal (zframe_data (frame), expected, sizeof expected);
    zframe_destroy (&frame);
}

static void
test_proto_welcome_round_trips (void **state)
{
    (void) state;
    zmp_proto_welcome_t welcome = { .heartbeat_ms = 2500,
                                    .liveness = 5,
                                    .slots = UINT32_MAX,
                                    .attempt = UINT32_MAX,
                                    .run = UINT64_MAX,
                                    .max_message = 256u << 20 };
    zframe_t *frame = zmp_proto_encode_welcome (&welcome);
    zmp_proto_welcome_t decoded;
    assert_int_equal (zmp_proto_decode_welcome (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.heartbeat_ms, 2500);
    assert_int_equal (decoded.liveness, 5);
    assert_int_equal (decoded.slots, UINT32_MAX);
    assert_int_equal (decoded.attempt, UINT32_MAX);
    assert_true (decoded.run == UINT64_MAX);
    assert_true (decoded.max_message == 256u << 20);
    zframe_destroy (&frame);
    //  No run (a broker before it): 0
    welcome.run = 0;
    frame = zmp_proto_encode_welcome (&welcome);
    assert_int_equal (zmp_proto_decode_welcome (frame, &decoded, NULL), 0);
    assert_true (decoded.run == 0);
    zframe_destroy (&frame);
}

static void
test_proto_task_round_trips (void **state)
{
    (void) state;
    zmp_proto_task_t task = { .task_id = UINT64_MAX,
                              .pool_id = UINT32_MAX,
                              .flags = ZMP_TASK_CHUNK,
                              .timeout_ms = ZMP_PROTO_TIMEOUT_MAX,
                              .function = "armstrong.range" };
    zframe_t *frame = zmp_proto_encode_task (&task);
    zmp_proto_task_t decoded;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_task (frame, &decoded, &error), 0);
    assert_true (decoded.task_id == UINT64_MAX);
    assert_int_equal (decoded.pool_id, UINT32_MAX);
    assert_int_equal (decoded.flags, ZMP_TASK_CHUNK);
    assert_int_equal (decoded.timeout_ms, ZMP_PROTO_TIMEOUT_MAX);
    assert_string_equal (decoded.function, "armstrong.range");
    zframe_destroy (&frame);
}

static void
test_proto_task_round_trips_the_longest_function_name (void **state)
{
    (void) state;
    zmp_proto_task_t task = { .task_id = 1, .pool_id = 1 };
    memset (task.function, 'f', ZMP_FUNCTION_NAME_MAX);
    task.function[ZMP_FUNCTION_NAME_MAX] = 0;
    zframe_t *frame = zmp_proto_encode_task (&task);
    zmp_proto_task_t decoded;
    assert_int_equal (zmp_proto_decode_task (frame, &decoded, NULL), 0);
    assert_string_equal (decoded.function, task.function);
    zframe_destroy (&frame);
}

static void
test_proto_dispatch_round_trips (void **state)
{
    (void) state;
    zmp_proto_dispatch_t dispatch = { .slot = 4095,
                                      .seq = UINT64_MAX,
                                      .attempt = 3,
                                      .flags = ZMP_TASK_CHUNK,
                                      .timeout_ms = 60000,
                                      .function = "ns:fn-2_b" };
    zframe_t *frame = zmp_proto_encode_dispatch (&dispatch);
    zmp_proto_dispatch_t decoded;
    assert_int_equal (zmp_proto_decode_dispatch (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.slot, 4095);
    assert_true (decoded.seq == UINT64_MAX);
    assert_int_equal (decoded.attempt, 3);
    assert_int_equal (decoded.flags, ZMP_TASK_CHUNK);
    assert_int_equal (decoded.timeout_ms, 60000);
    assert_string_equal (decoded.function, "ns:fn-2_b");
    zframe_destroy (&frame);
}

static void
test_proto_done_round_trips (void **state)
{
    (void) state;
    zmp_proto_done_t done = { .slot = 7,
                              .seq = 1ULL << 40,
                              .status = ZMP_ERR_CRASHED,
                              .pid = INT32_MAX };
    zframe_t *frame = zmp_proto_encode_done (&done);
    zmp_proto_done_t decoded;
    assert_int_equal (zmp_proto_decode_done (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.slot, 7);
    assert_true (decoded.seq == 1ULL << 40);
    assert_int_equal (decoded.status, ZMP_ERR_CRASHED);
    assert_int_equal (decoded.pid, INT32_MAX);
    assert_false (decoded.has_usage);
    zframe_destroy (&frame);
}

//  What a task used rides on its DONE, and from the broker on its RESULT
//  with the worker's host
static void
test_proto_usage_round_trips_in_done_and_result (void **state)
{
    (void) state;
    zmp_proto_usage_t usage = { .start_us = 1795000000123456ULL,
                                .wall_us = 2500000,
                                .user_us = 2400000,
                                .system_us = 90000,
                                .max_rss_kib = 1ULL << 33 };
    zmp_proto_done_t done = { .slot = 1, .seq = 2, .has_usage = true };
    done.usage = usage;
    zframe_t *frame = zmp_proto_encode_done (&done);
    zmp_proto_done_t decoded_done;
    assert_int_equal (zmp_proto_decode_done (frame, &decoded_done, NULL), 0);
    assert_true (decoded_done.has_usage);
    assert_memory_equal (&decoded_done.usage, &usage, sizeof usage);
    zframe_destroy (&frame);

    zmp_proto_result_t result = { .task_id = 5, .has_usage = true };
    result.usage = usage;
    snprintf (result.host, sizeof result.host, "node-7");
    frame = zmp_proto_encode_result (&result);
    zmp_proto_result_t decoded;
    assert_int_equal (zmp_proto_decode_result (frame, &decoded, NULL), 0);
    assert_true (decoded.has_usage);
    assert_memory_equal (&decoded.usage, &usage, sizeof usage);
    assert_string_equal (decoded.host, "node-7");
    zframe_destroy (&frame);

    //  A usage that is not 5 unsigned integers is taken as none: the item
    //  itself is good
    msgpack_object bad_usage[] = { zmp_int (1), zmp_int (2), zmp_int (-3),
                                   zmp_int (4), zmp_int (5) };
    msgpack_object done_items[] = { zmp_int (1),  zmp_int (2),
                                    zmp_int (0),  zmp_int (99),
                                    zmp_int (12), zmp_array (bad_usage, 5) };
    frame = s_frame (zmp_array (done_items, 6));
    zmp_error_t error;
    assert_int_equal (zmp_proto_decode_done (frame, &decoded_done, &error), 0);
    assert_false (decoded_done.has_usage);
    assert_int_equal (decoded_done.pid, 99);
    zframe_destroy (&frame);
    done_items[5] = zmp_array (bad_usage, 4);
    frame = s_frame (zmp_array (done_items, 6));
    assert_int_equal (zmp_proto_decode_done (frame, &decoded_done, &error), 0);
    assert_false (decoded_done.has_usage);
    zframe_destroy (&frame);
    //  ...and so is a host that is not a string
    msgpack_object good_usage[] = { zmp_int (1), zmp_int (2), zmp_int (3),
                                    zmp_int (4), zmp_int (5) };
    msgpack_object result_items[] = { zmp_int (5), zmp_int (0), zmp_int (7),
                                      zmp_array (good_usage, 5), zmp_int (9) };
    frame = s_frame (zmp_array (result_items, 5));
    assert_int_equal (zmp_proto_decode_result (frame, &decoded, &error), 0);
    assert_false (decoded.has_usage);
    assert_int_equal (decoded.pid, 7);
    zframe_destroy (&frame);
    //  Sums of usages stop at the largest, never wrap
    assert_true (zmp_usage_add (INT64_MAX - 1, ZMP_PROTO_USAGE_MAX)
                 == INT64_MAX);
    assert_true (zmp_usage_add (40, 2) == 42);
}

//  A worker's HEARTBEAT tells its host's load
static void
test_proto_load_round_trips_and_is_checked (void **state)
{
    (void) state;
    zmp_proto_load_t load = { .cpu_permille = 625,
                              .mem_total_kib = 24ULL << 20,
                              .mem_available_kib = 20ULL << 20 };
    zframe_t *frame = zmp_proto_encode_load (&load);
    zmp_proto_load_t decoded;
    assert_int_equal (zmp_proto_decode_load (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.cpu_permille, 625);
    assert_true (decoded.mem_total_kib == 24ULL << 20);
    assert_true (decoded.mem_available_kib == 20ULL << 20);
    zframe_destroy (&frame);
    //  More CPU than all cores, more available than there is: refused
    msgpack_object_kv over[] = { zmp_pair ("cpu_permille", zmp_int (1001)) };
    frame = s_frame (zmp_map (over, 1));
    zmp_error_t error;
    assert_int_equal (zmp_proto_decode_load (frame, &decoded, &error), -1);
    assert_non_null (strstr (error.message, "cpu_permille"));
    zframe_destroy (&frame);
    msgpack_object_kv more[] = { zmp_pair ("cpu_permille", zmp_int (0)),
                                 zmp_pair ("mem_total_kib", zmp_int (10)),
                                 zmp_pair ("mem_available_kib", zmp_int (11)) };
    frame = s_frame (zmp_map (more, 3));
    assert_int_equal (zmp_proto_decode_load (frame, &decoded, &error), -1);
    assert_non_null (strstr (error.message, "mem_available_kib"));
    zframe_destroy (&frame);
}

static void
test_proto_result_round_trips (void **state)
{
    (void) state;
    zmp_proto_result_t result = { .task_id = 123456789012ULL,
                                  .status = ZMP_ERR_COUNT - 1,
                                  .pid = 0 };
    zframe_t *frame = zmp_proto_encode_result (&result);
    zmp_proto_result_t decoded;
    assert_int_equal (zmp_proto_decode_result (frame, &decoded, NULL), 0);
    assert_true (decoded.task_id == 123456789012ULL);
    assert_int_equal (decoded.status, ZMP_ERR_COUNT - 1);
    assert_int_equal (decoded.pid, 0);
    assert_false (decoded.has_usage);
    zframe_destroy (&frame);
}

static void
test_proto_pool_round_trips (void **state)
{
    (void) state;
    zmp_proto_pool_t pool = { .pool_id = 9, .processes = 0, .close = true };
    zframe_t *frame = zmp_proto_encode_pool (&pool);
    zmp_proto_pool_t decoded;
    assert_int_equal (zmp_proto_decode_pool (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.pool_id, 9);
    assert_int_equal (decoded.processes, 0);
    assert_true (decoded.close);
    zframe_destroy (&frame);

    pool.close = false;
    pool.processes = 12;
    frame = zmp_proto_encode_pool (&pool);
    assert_int_equal (zmp_proto_decode_pool (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.processes, 12);
    assert_false (decoded.close);
    zframe_destroy (&frame);
}

static void
test_proto_abort_round_trips (void **state)
{
    (void) state;
    zframe_t *frame = zmp_proto_encode_abort (UINT32_MAX, UINT64_MAX);
    uint32_t slot = 0;
    uint64_t seq = 0;
    assert_int_equal (zmp_proto_decode_abort (frame, &slot, &seq, NULL), 0);
    assert_int_equal (slot, UINT32_MAX);
    assert_true (seq == UINT64_MAX);
    zframe_destroy (&frame);
}

static void
test_proto_uint_round_trips (void **state)
{
    (void) state;
    const uint64_t values[] = { 0, 1, 127, 128, 65536, UINT64_MAX };
    for (size_t index = 0; index < 6; index++) {
        zframe_t *frame = zmp_proto_encode_uint (values[index]);
        uint64_t value = 42;
        assert_int_equal (zmp_proto_decode_uint (frame, &value, NULL), 0);
        assert_true (value == values[index]);
        zframe_destroy (&frame);
    }
}

static void
test_proto_notice_round_trips (void **state)
{
    (void) state;
    zframe_t *frame =
        zmp_proto_encode_notice (ZMP_ERR_LIMIT, "too many pools", false);
    zmp_error_t notice;
    bool unknown_peer = true;
    assert_int_equal (
        zmp_proto_decode_notice (frame, &notice, &unknown_peer, NULL), 0);
    assert_int_equal (notice.kind, ZMP_ERR_LIMIT);
    assert_string_equal (notice.message, "too many pools");
    assert_int_equal (notice.index, -1);
    assert_false (unknown_peer);
    zframe_destroy (&frame);

    frame = zmp_proto_encode_notice (ZMP_ERR_NONE, "", false);  //  A BYE body
    assert_int_equal (zmp_proto_decode_notice (frame, &notice, NULL, NULL), 0);
    assert_int_equal (notice.kind, ZMP_ERR_NONE);
    assert_string_equal (notice.message, "");
    zframe_destroy (&frame);
}

static void
test_proto_notice_refused_says_nothing_of_the_peer (void **state)
{
    (void) state;
    //  unknown_peer true, but kind out of range: the body is refused
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 3);
    msgpack_pack_str_with_body (&packer, "unknown_peer", 12);
    msgpack_pack_true (&packer);
    msgpack_pack_str_with_body (&packer, "kind", 4);
    msgpack_pack_uint32 (&packer, 999);
    msgpack_pack_str_with_body (&packer, "message", 7);
    msgpack_pack_str_with_body (&packer, "x", 1);
    zframe_t *frame = zframe_new (buffer.data, buffer.size);
    msgpack_sbuffer_destroy (&buffer);
    zmp_error_t notice, error;
    bool unknown_peer = true;
    assert_int_equal (
        zmp_proto_decode_notice (frame, &notice, &unknown_peer, &error), -1);
    assert_int_equal (error.kind, ZMP_ERR_PROTOCOL);
    assert_false (unknown_peer);
    zframe_destroy (&frame);
}

static void
test_proto_notice_round_trips_unknown_peer (void **state)
{
    (void) state;
    zframe_t *frame =
        zmp_proto_encode_notice (ZMP_ERR_PROTOCOL, "say HELLO first", true);
    zmp_error_t notice;
    bool unknown_peer = false;
    assert_int_equal (
        zmp_proto_decode_notice (frame, &notice, &unknown_peer, NULL), 0);
    assert_true (unknown_peer);
    assert_int_equal (notice.kind, ZMP_ERR_PROTOCOL);
    assert_string_equal (notice.message, "say HELLO first");
    zframe_destroy (&frame);
}

static void
test_proto_notice_cuts_a_long_message_to_the_limit (void **state)
{
    (void) state;
    char message[ZMP_PROTO_MESSAGE_MAX + 100];
    memset (message, 'm', sizeof message - 1);
    message[sizeof message - 1] = 0;
    zframe_t *frame =
        zmp_proto_encode_notice (ZMP_ERR_PROTOCOL, message, false);
    zmp_error_t notice;
    assert_int_equal (zmp_proto_decode_notice (frame, &notice, NULL, NULL), 0);
    assert_int_equal (strlen (notice.message), ZMP_PROTO_MESSAGE_MAX);
    assert_memory_equal (notice.message, message, ZMP_PROTO_MESSAGE_MAX);
    zframe_destroy (&frame);
}

static void
test_proto_cancel_round_trips (void **state)
{
    (void) state;
    zframe_t *frame = zmp_proto_encode_cancel_pool (UINT32_MAX);
    uint32_t pool_id = 0;
    assert_int_equal (zmp_proto_decode_cancel (frame, &pool_id, NULL), 0);
    assert_int_equal (pool_id, UINT32_MAX);
    bool one_task = true;
    uint64_t task_id = 1;
    assert_int_equal (zmp_proto_decode_cancel_task (frame, &pool_id, &one_task,
                                                    &task_id, NULL),
                      0);
    assert_false (one_task);
    zframe_destroy (&frame);

    frame = zmp_proto_encode_cancel_task (3, (uint64_t) 7 << 32);
    assert_int_equal (zmp_proto_decode_cancel_task (frame, &pool_id, &one_task,
                                                    &task_id, NULL),
                      0);
    assert_int_equal (pool_id, 3);
    assert_true (one_task);
    assert_int_equal (task_id, (uint64_t) 7 << 32);
    zframe_destroy (&frame);

    msgpack_object_kv bad[] = { zmp_pair ("pool", zmp_int (1)),
                                zmp_pair ("task", zmp_str ("x")) };
    frame = s_frame (zmp_map (bad, 2));
    zmp_error_t error;
    assert_int_equal (zmp_proto_decode_cancel_task (frame, &pool_id, &one_task,
                                                    &task_id, &error),
                      -1);
    assert_non_null (strstr (error.message, "task"));
    zframe_destroy (&frame);
}

static void
test_proto_error_frame_round_trips (void **state)
{
    (void) state;
    zmp_error_t error;
    zmp_error_set (&error, ZMP_ERR_CRASHED, "task %s", "square");
    error.signal = 11;
    error.code = -3;
    error.pid = 4242;
    error.index = 5;
    snprintf (error.host, sizeof error.host, "node-3");
    zframe_t *frame = zmp_proto_encode_error (&error);

    zmp_value_t *value = zmp_value_decode_frame (&frame, NULL);
    assert_null (frame);
    assert_non_null (value);
    zmp_error_t decoded;
    zmp_error_unpack (&decoded, ZMP_ERR_CRASHED, zmp_value_get (value));
    assert_int_equal (decoded.kind, ZMP_ERR_CRASHED);
    assert_string_equal (decoded.message, "task square");
    assert_string_equal (decoded.host, "node-3");
    assert_int_equal (decoded.pid, 4242);
    assert_int_equal (decoded.signal, 11);
    assert_int_equal (decoded.code, -3);
    assert_int_equal (decoded.index, 5);
    zmp_value_destroy (&value);
}


//  --------------------------------------------------------------------------
//  Forward compatibility: extra array items and unknown keys are ignored

static void
test_proto_decoders_accept_extra_trailing_array_items (void **state)
{
    (void) state;
    msgpack_object task_items[] = { zmp_int (1),        zmp_int (2),
                                    zmp_str ("square"), zmp_int (0),
                                    zmp_int (0),        zmp_str ("from v2") };
    zframe_t *frame = s_frame (zmp_array (task_items, 6));
    zmp_proto_task_t task;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_task (frame, &task, &error), 0);
    assert_string_equal (task.function, "square");
    zframe_destroy (&frame);

    msgpack_object dispatch_items[] = { zmp_int (1), zmp_int (2),
                                        zmp_int (1), zmp_str ("square"),
                                        zmp_int (0), zmp_int (0),
                                        zmp_nil () };
    frame = s_frame (zmp_array (dispatch_items, 7));
    zmp_proto_dispatch_t dispatch;
    assert_int_equal (zmp_proto_decode_dispatch (frame, &dispatch, &error), 0);
    assert_int_equal (dispatch.seq, 2);
    zframe_destroy (&frame);

    msgpack_object usage_items[] = { zmp_int (1), zmp_int (2), zmp_int (3),
                                     zmp_int (4), zmp_int (5), zmp_nil () };
    msgpack_object done_items[] = { zmp_int (1),    zmp_int (2),
                                    zmp_int (0),    zmp_int (99),
                                    zmp_int (12),   zmp_array (usage_items, 6),
                                    zmp_bool (true) };
    frame = s_frame (zmp_array (done_items, 7));
    zmp_proto_done_t done;
    assert_int_equal (zmp_proto_decode_done (frame, &done, &error), 0);
    assert_int_equal (done.pid, 99);
    assert_int_equal (done.run_us, 12);
    assert_true (done.has_usage);
    assert_int_equal (done.usage.max_rss_kib, 5);
    zframe_destroy (&frame);
    //  run-us is optional: a worker that does not time tasks leaves it out
    frame = s_frame (zmp_array (done_items, 4));
    assert_int_equal (zmp_proto_decode_done (frame, &done, &error), 0);
    assert_int_equal (done.run_us, 0);
    zframe_destroy (&frame);

    msgpack_object result_items[] = { zmp_int (5), zmp_int (0), zmp_int (99),
                                      zmp_double (1.5) };
    frame = s_frame (zmp_array (result_items, 4));
    zmp_proto_result_t result;
    assert_int_equal (zmp_proto_decode_result (frame, &result, &error), 0);
    assert_int_equal (result.task_id, 5);
    zframe_destroy (&frame);

    msgpack_object abort_items[] = { zmp_int (1), zmp_int (2), zmp_int (3) };
    frame = s_frame (zmp_array (abort_items, 3));
    uint32_t slot;
    uint64_t seq;
    assert_int_equal (zmp_proto_decode_abort (frame, &slot, &seq, &error), 0);
    assert_int_equal (seq, 2);
    zframe_destroy (&frame);
}

static void
test_proto_decoders_ignore_unknown_map_keys (void **state)
{
    (void) state;
    msgpack_object_kv pairs[7];
    s_worker_hello_pairs (pairs);
    pairs[6] = zmp_pair ("colour", zmp_str ("blue"));
    zframe_t *frame = s_frame (zmp_map (pairs, 7));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), 0);
    assert_int_equal (hello.slots, 4);
    zframe_destroy (&frame);

    msgpack_object_kv cancel[] = { zmp_pair ("future", zmp_nil ()),
                                   zmp_pair ("pool", zmp_int (8)) };
    frame = s_frame (zmp_map (cancel, 2));
    uint32_t pool_id = 0;
    assert_int_equal (zmp_proto_decode_cancel (frame, &pool_id, &error), 0);
    assert_int_equal (pool_id, 8);
    zframe_destroy (&frame);
}


//  --------------------------------------------------------------------------
//  Hostile input, fed to every decoder

static void
test_proto_decoders_reject_an_empty_frame (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *frame = zframe_new (NULL, 0);
        s_assert_refuses (&s_decoders[index], &frame, "empty frame");
    }
}

static void
test_proto_decoders_reject_a_missing_frame (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *frame = NULL;
        s_assert_refuses (&s_decoders[index], &frame, "frame missing");
    }
}

static void
test_proto_decoders_accept_their_good_frame (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *frame = s_decoders[index].good ();
        zmp_error_t error;
        zmp_error_clear (&error);
        if (s_decoders[index].decode (frame, &error) != 0)
            fail_msg ("%s decoder refused a good frame: %s",
                      s_decoders[index].what, error.message);
        zframe_destroy (&frame);
    }
}

static void
test_proto_decoders_reject_a_truncated_value (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *good = s_decoders[index].good ();
        for (size_t cut = 1; cut < zframe_size (good); cut++) {
            zframe_t *frame = s_frame_cut (good, cut);
            s_assert_refuses (&s_decoders[index], &frame, "truncated");
        }
        zframe_destroy (&good);
    }
}

static void
test_proto_decoders_reject_trailing_bytes (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *good = s_decoders[index].good ();
        zframe_t *frame = s_frame_plus (good, "\xc0", 1);  //  One extra nil
        s_assert_refuses (&s_decoders[index], &frame, "trailing bytes: 1");
        zframe_destroy (&good);
    }
}

static void
test_proto_decoders_reject_malformed_msgpack (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *frame = zframe_new ("\xc1", 1);  //  Never used in msgpack
        s_assert_refuses (&s_decoders[index], &frame, "malformed");
    }
}

static void
test_proto_decoders_reject_the_wrong_top_level_type (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (1), zmp_int (2), zmp_int (3),
                               zmp_int (4), zmp_int (5), zmp_int (6) };
    msgpack_object_kv pairs[] = { zmp_pair ("pool", zmp_int (1)) };
    for (size_t index = 0; index < S_DECODERS; index++) {
        const s_decoder_t *decoder = &s_decoders[index];
        zframe_t *frame;
        if (decoder->body == MSGPACK_OBJECT_MAP) {
            frame = s_frame (zmp_array (items, 6));
            s_assert_refuses (decoder, &frame, "the body must be a map");
        } else if (decoder->body == MSGPACK_OBJECT_ARRAY) {
            frame = s_frame (zmp_map (pairs, 1));
            s_assert_refuses (decoder, &frame, "the body must be an array");
        } else {
            frame = s_frame (zmp_str ("12"));
            s_assert_refuses (decoder, &frame,
                              "the body must be an unsigned integer");
            frame = s_frame (zmp_map (pairs, 1));
            s_assert_refuses (decoder, &frame,
                              "the body must be an unsigned integer");
        }
    }
}

static void
test_proto_decoders_reject_too_few_array_items (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (1), zmp_int (2), zmp_int (3),
                               zmp_int (4), zmp_int (5), zmp_int (6) };
    for (size_t index = 0; index < S_DECODERS; index++) {
        const s_decoder_t *decoder = &s_decoders[index];
        if (decoder->body != MSGPACK_OBJECT_ARRAY)
            continue;
        char reason[48];
        snprintf (reason, sizeof reason, "an array of %u items",
                  decoder->items);
        zframe_t *frame = s_frame (zmp_array (items, decoder->items - 1));
        s_assert_refuses (decoder, &frame, reason);
        frame = s_frame (zmp_array (items, 0));
        s_assert_refuses (decoder, &frame, reason);
    }
}

static void
test_proto_decoders_reject_a_huge_declared_string (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        //  str32 claiming 4 GiB, with no bytes behind it
        zframe_t *frame = zframe_new ("\xdb\xff\xff\xff\xff", 5);
        s_assert_refuses (&s_decoders[index], &frame, "truncated");
    }
}

static void
test_proto_decoders_reject_nesting_deeper_than_32 (void **state)
{
    (void) state;
    byte deep[41];
    memset (deep, 0x91, 32);  //  33 levels: 32 fixarrays of one item
    deep[32] = 0x90;          //  around an empty one
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *frame = zframe_new (deep, 33);
        s_assert_refuses (&s_decoders[index], &frame, "deep");
    }
    memset (deep, 0x91, 40);  //  41 levels
    deep[40] = 0x90;
    for (size_t index = 0; index < S_DECODERS; index++) {
        zframe_t *frame = zframe_new (deep, 41);
        s_assert_refuses (&s_decoders[index], &frame, "deep");
    }
}

static void
test_proto_decoders_reject_a_huge_declared_array (void **state)
{
    (void) state;
    for (size_t index = 0; index < S_DECODERS; index++) {
        //  array32 claiming 4 billion items, with no bytes behind it
        zframe_t *frame = zframe_new ("\xdd\xff\xff\xff\xff", 5);
        s_assert_refuses (&s_decoders[index], &frame, "too large");
    }
}


//  --------------------------------------------------------------------------
//  HELLO rules

static void
test_proto_decode_hello_rejects_a_worker_without_slots (void **state)
{
    (void) state;
    msgpack_object_kv pairs[6];
    s_worker_hello_pairs (pairs);
    zframe_t *frame = s_frame (zmp_map (pairs, 5));  //  Drops slots
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: slots must be present");
    zframe_destroy (&frame);
}

static void
test_proto_decode_hello_rejects_zero_slots (void **state)
{
    (void) state;
    msgpack_object_kv pairs[6];
    s_worker_hello_pairs (pairs);
    pairs[5].val = zmp_int (0);
    zframe_t *frame = s_frame (zmp_map (pairs, 6));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: slots must be at least 1");
    zframe_destroy (&frame);
}

static void
test_proto_decode_hello_rejects_slots_over_the_max (void **state)
{
    (void) state;
    msgpack_object_kv pairs[6];
    s_worker_hello_pairs (pairs);
    pairs[5].val = zmp_int (ZMP_PROTO_SLOTS_MAX + 1);
    zframe_t *frame = s_frame (zmp_map (pairs, 6));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: slots must be");
    assert_non_null (strstr (error.message, "4096"));
    zframe_destroy (&frame);

    pairs[5].val = zmp_int (-4);
    frame = s_frame (zmp_map (pairs, 6));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: slots must be");
    zframe_destroy (&frame);

    pairs[5].val = zmp_str ("4");
    frame = s_frame (zmp_map (pairs, 6));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: slots must be");
    zframe_destroy (&frame);
}

static void
test_proto_decode_hello_rejects_an_unknown_role (void **state)
{
    (void) state;
    msgpack_object_kv pairs[6];
    s_worker_hello_pairs (pairs);
    pairs[0].val = zmp_str ("king");
    zframe_t *frame = s_frame (zmp_map (pairs, 6));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: role must be");
    zframe_destroy (&frame);

    pairs[0].val = zmp_int (2);
    frame = s_frame (zmp_map (pairs, 6));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: role must be");
    zframe_destroy (&frame);

    frame = s_frame (zmp_map (pairs + 1, 5));  //  No role at all
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: role must be");
    zframe_destroy (&frame);
}

static void
test_proto_decode_hello_rejects_a_host_over_255_bytes (void **state)
{
    (void) state;
    char host[ZMP_PROTO_HOST_MAX + 2];
    memset (host, 'h', sizeof host - 1);
    host[sizeof host - 1] = 0;  //  256 bytes
    msgpack_object_kv pairs[6];
    s_worker_hello_pairs (pairs);
    pairs[1].val = zmp_str (host);
    zframe_t *frame = s_frame (zmp_map (pairs, 6));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: host must be a string of at most "
                                     "255 bytes");
    zframe_destroy (&frame);

    host[ZMP_PROTO_HOST_MAX] = 0;  //  255 bytes is fine
    pairs[1].val = zmp_str (host);
    frame = s_frame (zmp_map (pairs, 6));
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), 0);
    assert_string_equal (hello.host, host);
    zframe_destroy (&frame);
}

static void
test_proto_decode_hello_rejects_a_missing_host_or_bad_pid (void **state)
{
    (void) state;
    msgpack_object_kv pairs[6];
    s_worker_hello_pairs (pairs);
    pairs[1].key = zmp_str ("hostname");
    zframe_t *frame = s_frame (zmp_map (pairs, 6));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: host must be");
    zframe_destroy (&frame);

    s_worker_hello_pairs (pairs);
    pairs[2].val = zmp_int (-1);
    frame = s_frame (zmp_map (pairs, 6));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: pid must be a process id");
    zframe_destroy (&frame);

    pairs[2].val = zmp_str ("4242");
    frame = s_frame (zmp_map (pairs, 6));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: pid must be a process id");
    zframe_destroy (&frame);
}

static void
test_proto_decode_hello_rejects_a_name_or_cores_of_the_wrong_type (void **state)
{
    (void) state;
    msgpack_object_kv pairs[6];
    s_worker_hello_pairs (pairs);
    pairs[3].val = zmp_int (1);
    zframe_t *frame = s_frame (zmp_map (pairs, 6));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: name must be");
    zframe_destroy (&frame);

    s_worker_hello_pairs (pairs);
    pairs[4].val = zmp_int (ZMP_PROTO_CORES_MAX + 1LL);
    frame = s_frame (zmp_map (pairs, 6));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), -1);
    s_assert_protocol_error (&error, "HELLO: cores must be");
    zframe_destroy (&frame);
}

static void
test_proto_decode_hello_accepts_a_client_without_slots (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = { zmp_pair ("role", zmp_str ("client")),
                                  zmp_pair ("host", zmp_str ("laptop")),
                                  zmp_pair ("pid", zmp_int (17)) };
    zframe_t *frame = s_frame (zmp_map (pairs, 3));
    zmp_proto_hello_t hello;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_hello (frame, &hello, &error), 0);
    assert_int_equal (hello.role, ZMP_ROLE_CLIENT);
    assert_string_equal (hello.name, "");
    assert_int_equal (hello.slots, 0);
    zframe_destroy (&frame);
}


//  --------------------------------------------------------------------------
//  Fields of the wrong type or out of range

//  A task header [1, 2, "square", 0, 1000] with item `index` replaced.
static zframe_t *
s_task_frame_with (uint32_t index, msgpack_object item)
{
    msgpack_object items[] = { zmp_int (1), zmp_int (2), zmp_str ("square"),
                               zmp_int (0), zmp_int (1000) };
    items[index] = item;
    return s_frame (zmp_array (items, 5));
}

//  A dispatch header [3, 77, 1, "square", 0, 1000] with item `index`
//  replaced.
static zframe_t *
s_dispatch_frame_with (uint32_t index, msgpack_object item)
{
    msgpack_object items[] = {
        zmp_int (3),        zmp_int (77), zmp_int (1),
        zmp_str ("square"), zmp_int (0),  zmp_int (1000)
    };
    items[index] = item;
    return s_frame (zmp_array (items, 6));
}

static void
s_assert_task_refused (zframe_t **frame_p, const char *reason)
{
    zmp_proto_task_t task;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_task (*frame_p, &task, &error), -1);
    zframe_destroy (frame_p);
    s_assert_protocol_error (&error, reason);
}

static void
s_assert_dispatch_refused (zframe_t **frame_p, const char *reason)
{
    zmp_proto_dispatch_t dispatch;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_dispatch (*frame_p, &dispatch, &error),
                      -1);
    zframe_destroy (frame_p);
    s_assert_protocol_error (&error, reason);
}

static void
test_proto_decode_task_rejects_ids_of_the_wrong_type (void **state)
{
    (void) state;
    zframe_t *frame = s_task_frame_with (0, zmp_str ("1"));
    s_assert_task_refused (&frame, "task header: task-id must be an unsigned");
    frame = s_task_frame_with (0, zmp_int (-1));
    s_assert_task_refused (&frame, "task header: task-id must be an unsigned");
    frame = s_task_frame_with (1, zmp_int (-2));
    s_assert_task_refused (&frame, "task header: pool-id must be an unsigned");
    frame = s_task_frame_with (1, zmp_uint (UINT32_MAX + 1ULL));
    s_assert_task_refused (&frame, "task header: pool-id must be an unsigned");
    frame = s_task_frame_with (1, zmp_double (2.0));
    s_assert_task_refused (&frame, "task header: pool-id must be an unsigned");
}

static void
test_proto_decode_task_rejects_unknown_flags (void **state)
{
    (void) state;
    zframe_t *frame = s_task_frame_with (3, zmp_int (8));
    s_assert_task_refused (&frame, "task header: flags must be an unsigned "
                                   "integer no larger than 7");
    frame = s_task_frame_with (3, zmp_bool (true));
    s_assert_task_refused (&frame, "task header: flags must be");
}

static void
test_proto_decode_task_rejects_a_timeout_over_the_max (void **state)
{
    (void) state;
    zframe_t *frame =
        s_task_frame_with (4, zmp_int (ZMP_PROTO_TIMEOUT_MAX + 1LL));
    s_assert_task_refused (&frame, "task header: timeout-ms must be");
    frame = s_task_frame_with (4, zmp_int (-1));
    s_assert_task_refused (&frame, "task header: timeout-ms must be");

    frame = s_task_frame_with (4, zmp_int (ZMP_PROTO_TIMEOUT_MAX));
    zmp_proto_task_t task;
    assert_int_equal (zmp_proto_decode_task (frame, &task, NULL), 0);
    assert_int_equal (task.timeout_ms, ZMP_PROTO_TIMEOUT_MAX);
    zframe_destroy (&frame);
}

static void
test_proto_decode_task_rejects_invalid_function_names (void **state)
{
    (void) state;
    char too_long[ZMP_FUNCTION_NAME_MAX + 2];
    memset (too_long, 'f', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = 0;  //  129 bytes
    const char *names[] = { "", too_long, "has space", "a/b" };
    for (size_t index = 0; index < 4; index++) {
        zframe_t *frame = s_task_frame_with (2, zmp_str (names[index]));
        s_assert_task_refused (&frame, "task header: function must be");
    }
    zframe_t *frame = s_task_frame_with (2, zmp_int (7));
    s_assert_task_refused (&frame, "task header: function must be");
    frame = s_task_frame_with (2, zmp_nil ());
    s_assert_task_refused (&frame, "task header: function must be");
}

static void
test_proto_decode_dispatch_rejects_fields_of_the_wrong_type (void **state)
{
    (void) state;
    zframe_t *frame = s_dispatch_frame_with (0, zmp_str ("3"));
    s_assert_dispatch_refused (&frame, "dispatch header: slot must be");
    frame = s_dispatch_frame_with (1, zmp_int (-77));
    s_assert_dispatch_refused (&frame, "dispatch header: seq must be");
    frame = s_dispatch_frame_with (2, zmp_int (-1));
    s_assert_dispatch_refused (&frame, "dispatch header: attempt must be");
    frame = s_dispatch_frame_with (4, zmp_int (8));
    s_assert_dispatch_refused (&frame, "dispatch header: flags must be");
    frame = s_dispatch_frame_with (5, zmp_int (ZMP_PROTO_TIMEOUT_MAX + 1LL));
    s_assert_dispatch_refused (&frame, "dispatch header: timeout-ms must be");
}

static void
test_proto_decode_dispatch_rejects_invalid_function_names (void **state)
{
    (void) state;
    char too_long[ZMP_FUNCTION_NAME_MAX + 2];
    memset (too_long, 'f', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = 0;  //  129 bytes
    const char *names[] = { "", too_long, "has space", "a/b" };
    for (size_t index = 0; index < 4; index++) {
        zframe_t *frame = s_dispatch_frame_with (3, zmp_str (names[index]));
        s_assert_dispatch_refused (&frame, "dispatch header: function must be");
    }
}

static void
test_proto_decode_done_rejects_fields_of_the_wrong_type (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (3), zmp_int (77), zmp_int (0),
                               zmp_int (999) };
    struct {
        uint32_t index;
        msgpack_object item;
        const char *reason;
    } cases[] = {
        { 0, zmp_int (-3), "done header: slot must be" },
        { 1, zmp_str ("77"), "done header: seq must be" },
        { 2, zmp_int (ZMP_ERR_COUNT), "done header: status must be" },
        { 2, zmp_int (-1), "done header: status must be" },
        { 3, zmp_int (-1), "done header: pid must be a process id" },
        { 3, zmp_int (INT32_MAX + 1LL), "done header: pid must be" },
        { 3, zmp_str ("999"), "done header: pid must be" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        msgpack_object saved = items[cases[index].index];
        items[cases[index].index] = cases[index].item;
        zframe_t *frame = s_frame (zmp_array (items, 4));
        items[cases[index].index] = saved;

        zmp_proto_done_t done;
        zmp_error_t error = { 0 };
        assert_int_equal (zmp_proto_decode_done (frame, &done, &error), -1);
        s_assert_protocol_error (&error, cases[index].reason);
        zframe_destroy (&frame);
    }
}

static void
test_proto_decode_result_rejects_fields_of_the_wrong_type (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (1), zmp_int (0), zmp_int (999) };
    struct {
        uint32_t index;
        msgpack_object item;
        const char *reason;
    } cases[] = {
        { 0, zmp_int (-1), "result header: task-id must be" },
        { 1, zmp_str ("timeout"), "result header: status must be" },
        { 1, zmp_int (99), "result header: status must be" },
        { 2, zmp_nil (), "result header: pid must be" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        msgpack_object saved = items[cases[index].index];
        items[cases[index].index] = cases[index].item;
        zframe_t *frame = s_frame (zmp_array (items, 3));
        items[cases[index].index] = saved;

        zmp_proto_result_t result;
        zmp_error_t error = { 0 };
        assert_int_equal (zmp_proto_decode_result (frame, &result, &error), -1);
        s_assert_protocol_error (&error, cases[index].reason);
        zframe_destroy (&frame);
    }
}

static void
test_proto_decode_abort_rejects_fields_of_the_wrong_type (void **state)
{
    (void) state;
    msgpack_object items[] = { zmp_int (-1), zmp_int (2) };
    zframe_t *frame = s_frame (zmp_array (items, 2));
    uint32_t slot;
    uint64_t seq;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_abort (frame, &slot, &seq, &error), -1);
    s_assert_protocol_error (&error, "abort: slot must be");
    zframe_destroy (&frame);

    items[0] = zmp_int (1);
    items[1] = zmp_str ("2");
    frame = s_frame (zmp_array (items, 2));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_abort (frame, &slot, &seq, &error), -1);
    s_assert_protocol_error (&error, "abort: seq must be");
    zframe_destroy (&frame);
}

static void
test_proto_decode_uint_rejects_a_negative_value (void **state)
{
    (void) state;
    zframe_t *frame = s_frame (zmp_int (-5));
    uint64_t value = 0;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_uint (frame, &value, &error), -1);
    s_assert_protocol_error (&error, "request id: the body must be an "
                                     "unsigned integer");
    zframe_destroy (&frame);
}

static void
test_proto_decode_welcome_rejects_bad_fields (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = { zmp_pair ("heartbeat_ms", zmp_int (1000)),
                                  zmp_pair ("liveness", zmp_int (3)),
                                  zmp_pair ("slots", zmp_int (16)) };
    char heartbeat_min[64];
    snprintf (heartbeat_min, sizeof heartbeat_min,
              "WELCOME: heartbeat_ms must be at least %d",
              ZMP_PROTO_HEARTBEAT_MIN);
    char liveness_min[64];
    snprintf (liveness_min, sizeof liveness_min,
              "WELCOME: liveness must be at least %d", ZMP_PROTO_LIVENESS_MIN);
    struct {
        uint32_t index;
        msgpack_object value;
        const char *reason;
    } cases[] = {
        { 0, zmp_int (0), heartbeat_min },
        { 0, zmp_int (ZMP_PROTO_HEARTBEAT_MIN - 1), heartbeat_min },
        { 0, zmp_int (ZMP_PROTO_HEARTBEAT_MAX + 1LL),
          "WELCOME: heartbeat_ms must be" },
        { 1, zmp_int (0), liveness_min },
        { 1, zmp_int (ZMP_PROTO_LIVENESS_MIN - 1), liveness_min },
        { 1, zmp_int (ZMP_PROTO_LIVENESS_MAX + 1LL),
          "WELCOME: liveness must be" },
        { 2, zmp_str ("16"), "WELCOME: slots must be" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        msgpack_object saved = pairs[cases[index].index].val;
        pairs[cases[index].index].val = cases[index].value;
        zframe_t *frame = s_frame (zmp_map (pairs, 3));
        pairs[cases[index].index].val = saved;

        zmp_proto_welcome_t welcome;
        zmp_error_t error = { 0 };
        assert_int_equal (zmp_proto_decode_welcome (frame, &welcome, &error),
                          -1);
        s_assert_protocol_error (&error, cases[index].reason);
        zframe_destroy (&frame);
    }
    zframe_t *frame = s_frame (zmp_map (pairs, 2));  //  No slots
    zmp_proto_welcome_t welcome;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_welcome (frame, &welcome, &error), -1);
    s_assert_protocol_error (&error, "WELCOME: slots must be present");
    zframe_destroy (&frame);
}

static void
test_proto_decode_pool_rejects_bad_fields (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = { zmp_pair ("pool", zmp_int (2)),
                                  zmp_pair ("processes", zmp_int (4)),
                                  zmp_pair ("close", zmp_bool (false)) };
    struct {
        uint32_t index;
        msgpack_object value;
        const char *reason;
    } cases[] = {
        { 0, zmp_str ("2"), "POOL: pool must be" },
        { 1, zmp_int (-4), "POOL: processes must be" },
        { 2, zmp_int (1), "POOL: close must be a boolean" },
    };
    for (size_t index = 0; index < sizeof cases / sizeof cases[0]; index++) {
        msgpack_object saved = pairs[cases[index].index].val;
        pairs[cases[index].index].val = cases[index].value;
        zframe_t *frame = s_frame (zmp_map (pairs, 3));
        pairs[cases[index].index].val = saved;

        zmp_proto_pool_t pool;
        zmp_error_t error = { 0 };
        assert_int_equal (zmp_proto_decode_pool (frame, &pool, &error), -1);
        s_assert_protocol_error (&error, cases[index].reason);
        zframe_destroy (&frame);
    }
    zframe_t *frame = s_frame (zmp_map (pairs + 1, 2));  //  No pool id
    zmp_proto_pool_t pool;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_pool (frame, &pool, &error), -1);
    s_assert_protocol_error (&error, "POOL: pool must be present");
    zframe_destroy (&frame);
}

static void
test_proto_decode_notice_rejects_bad_fields (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = { zmp_pair ("kind", zmp_int (99)),
                                  zmp_pair ("message", zmp_str ("bye")),
                                  zmp_pair ("unknown_peer", zmp_bool (true)) };
    zframe_t *frame = s_frame (zmp_map (pairs, 2));
    zmp_error_t notice;
    bool unknown_peer;
    zmp_error_t error = { 0 };
    assert_int_equal (
        zmp_proto_decode_notice (frame, &notice, &unknown_peer, &error), -1);
    s_assert_protocol_error (&error, "notice: kind must be");
    zframe_destroy (&frame);

    pairs[0].val = zmp_int (ZMP_ERR_PROTOCOL);
    pairs[1].val = zmp_int (5);
    frame = s_frame (zmp_map (pairs, 2));
    zmp_error_clear (&error);
    assert_int_equal (
        zmp_proto_decode_notice (frame, &notice, &unknown_peer, &error), -1);
    s_assert_protocol_error (&error, "notice: message must be a string");
    zframe_destroy (&frame);

    frame = s_frame (zmp_map (pairs, 1));  //  No message
    zmp_error_clear (&error);
    assert_int_equal (
        zmp_proto_decode_notice (frame, &notice, &unknown_peer, &error), -1);
    s_assert_protocol_error (&error, "notice: message must be a string");
    zframe_destroy (&frame);

    pairs[1].val = zmp_str ("who are you");
    pairs[2] = zmp_pair ("unknown_peer", zmp_int (1));
    frame = s_frame (zmp_map (pairs, 3));
    zmp_error_clear (&error);
    assert_int_equal (
        zmp_proto_decode_notice (frame, &notice, &unknown_peer, &error), -1);
    s_assert_protocol_error (&error, "notice: unknown_peer must be a boolean");
    zframe_destroy (&frame);
}

static void
test_proto_decode_cancel_rejects_bad_fields (void **state)
{
    (void) state;
    msgpack_object_kv pairs[] = { zmp_pair ("pool", zmp_str ("all")) };
    zframe_t *frame = s_frame (zmp_map (pairs, 1));
    uint32_t pool_id;
    zmp_error_t error = { 0 };
    assert_int_equal (zmp_proto_decode_cancel (frame, &pool_id, &error), -1);
    s_assert_protocol_error (&error, "CANCEL: pool must be");
    zframe_destroy (&frame);

    frame = s_frame (zmp_map (pairs, 0));
    zmp_error_clear (&error);
    assert_int_equal (zmp_proto_decode_cancel (frame, &pool_id, &error), -1);
    s_assert_protocol_error (&error, "CANCEL: pool must be present");
    zframe_destroy (&frame);
}

static void
test_proto_hello_carries_a_task_process_agent_pid (void **state)
{
    (void) state;
    zmp_proto_hello_t hello = { .role = ZMP_ROLE_CLIENT,
                                .pid = 18,
                                .host = "node-2",
                                .agent_pid = 4242,
                                .session = UINT64_MAX - 5 };
    zframe_t *frame = zmp_proto_encode_hello (&hello);
    zmp_proto_hello_t decoded;
    assert_int_equal (zmp_proto_decode_hello (frame, &decoded, NULL), 0);
    assert_int_equal (decoded.agent_pid, 4242);
    assert_true (decoded.session == UINT64_MAX - 5);
    zframe_destroy (&frame);
    //  A worker's session is not sent
    hello.role = ZMP_ROLE_WORKER;
    hello.slots = 1;
    frame = zmp_proto_encode_hello (&hello);
    assert_int_equal (zmp_proto_decode_hello (frame, &decoded, NULL), 0);
    assert_true (decoded.session == 0);
    zframe_destroy (&frame);

    msgpack_object_kv pairs[] = { zmp_pair ("role", zmp_str ("client")),
                                  zmp_pair ("host", zmp_str ("h")),
                                  zmp_pair ("pid", zmp_int (3)),
                                  zmp_pair ("agent_pid", zmp_str ("x")) };
    frame = s_frame (zmp_map (pairs, 4));
    zmp_error_t error;
    assert_int_equal (zmp_proto_decode_hello (frame, &decoded, &error), -1);
    s_assert_protocol_error (&error, "HELLO: agent_pid must be a process id");
    zframe_destroy (&frame);
}

static void
test_proto_process_events_round_trip (void **state)
{
    (void) state;
    zframe_t *frame = s_good_event ();
    zmp_proto_event_t event;
    assert_int_equal (zmp_proto_decode_event (frame, &event, NULL), 0);
    assert_int_equal (event.slot, ZMP_PROTO_PROCESS_SLOT);
    assert_int_equal (event.seq, 77);
    assert_int_equal (event.event, ZMP_EVENT_STDOUT);
    assert_int_equal (event.pid, 4321);
    zframe_destroy (&frame);

    frame = s_good_task_event ();
    zmp_proto_task_event_t task_event;
    assert_int_equal (zmp_proto_decode_task_event (frame, &task_event, NULL),
                      0);
    assert_int_equal (task_event.task_id, 1ull << 40);
    assert_int_equal (task_event.event, ZMP_EVENT_STARTED);
    zframe_destroy (&frame);

    msgpack_object items[] = { zmp_int (1), zmp_int (4), zmp_int (5) };
    frame = s_frame (zmp_array (items, 3));
    zmp_error_t error;
    assert_int_equal (zmp_proto_decode_task_event (frame, &task_event, &error),
                      -1);
    s_assert_protocol_error (&error, "task event: event must be 1, 2 or 3");
    zframe_destroy (&frame);
}

static void
test_proto_kill_round_trips_and_checks_the_signal (void **state)
{
    (void) state;
    zframe_t *frame = s_good_kill ();
    zmp_proto_kill_t kill;
    assert_int_equal (zmp_proto_decode_kill (frame, &kill, NULL), 0);
    assert_int_equal (kill.task_id, 1ull << 40);
    assert_int_equal (kill.signal, 15);
    zframe_destroy (&frame);
    frame = s_good_kill_worker ();
    assert_int_equal (zmp_proto_decode_kill_worker (frame, &kill, NULL), 0);
    assert_int_equal (kill.slot, ZMP_PROTO_PROCESS_SLOT);
    assert_int_equal (kill.seq, 77);
    assert_int_equal (kill.signal, 9);
    zframe_destroy (&frame);

    int64_t bad[] = { 0, 65, -9 };
    for (size_t index = 0; index < 3; index++) {
        msgpack_object items[] = { zmp_int (5), zmp_int (bad[index]) };
        frame = s_frame (zmp_array (items, 2));
        zmp_error_t error;
        assert_int_equal (zmp_proto_decode_kill (frame, &kill, &error), -1);
        s_assert_protocol_error (&error, "KILL: signal must be");
        zframe_destroy (&frame);
    }
}

static void
test_proto_outcome_carries_a_value_or_an_error (void **state)
{
    (void) state;
    //  The value goes in as packed bytes, uncopied into a new encoding
    zframe_t *frame = zmp_proto_encode_outcome ("\xa5hello", 6);
    zmp_error_t error;
    zmp_value_t *value = zmp_proto_decode_outcome (&frame, &error);
    assert_null (frame);
    assert_non_null (value);
    assert_true (zmp_str_is (zmp_value_get (value), "hello"));
    zmp_value_destroy (&value);

    frame = zmp_proto_encode_outcome (NULL, 0);
    value = zmp_proto_decode_outcome (&frame, &error);
    assert_int_equal (zmp_value_get (value)->type, MSGPACK_OBJECT_NIL);
    zmp_value_destroy (&value);

    zmp_error_t failure;
    zmp_error_set (&failure, ZMP_ERR_EMPTY, "the queue is empty");
    frame = zmp_proto_encode_outcome_error (&failure);
    assert_null (zmp_proto_decode_outcome (&frame, &error));
    assert_int_equal (error.kind, ZMP_ERR_EMPTY);
    assert_string_equal (error.message, "the queue is empty");

    //  Hostile: not an array, a bad status, three items, truncated
    msgpack_object three[] = { zmp_int (0), zmp_nil (), zmp_nil () };
    msgpack_object bad_status[] = { zmp_int (99), zmp_nil () };
    zframe_t *hostile[] = { s_frame (zmp_int (0)),
                            s_frame (zmp_array (bad_status, 2)),
                            s_frame (zmp_array (three, 3)),
                            zframe_new ("\x92\x00", 2) };
    for (size_t index = 0; index < 4; index++) {
        zmp_error_clear (&error);
        assert_null (zmp_proto_decode_outcome (&hostile[index], &error));
        assert_null (hostile[index]);
        assert_int_equal (error.kind, ZMP_ERR_PROTOCOL);
        assert_non_null (strstr (error.message, "object reply"));
    }
}


int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_proto_new_makes_a_header_that_command_accepts),
        cmocka_unit_test (
            test_proto_command_accepts_a_header_followed_by_bodies),
        cmocka_unit_test (test_proto_command_rejects_a_message_without_frames),
        cmocka_unit_test (
            test_proto_command_rejects_a_header_of_the_wrong_size),
        cmocka_unit_test (test_proto_command_rejects_a_wrong_signature),
        cmocka_unit_test (
            test_proto_command_rejects_another_version_naming_both),
        cmocka_unit_test (test_proto_command_rejects_unknown_commands),
        cmocka_unit_test (test_proto_pairs_counts_header_body_pairs),
        cmocka_unit_test (
            test_proto_pairs_rejects_no_pairs_a_lone_frame_or_too_many),
        cmocka_unit_test (test_proto_command_name_names_each_command),
        cmocka_unit_test (test_proto_valid_name_follows_the_name_rules),
        cmocka_unit_test (test_proto_hello_worker_round_trips),
        cmocka_unit_test (test_proto_hello_client_round_trips_without_slots),
        cmocka_unit_test (test_proto_welcome_round_trips),
        cmocka_unit_test (test_proto_welcome_bytes_match_the_protocol_document),
        cmocka_unit_test (test_proto_task_round_trips),
        cmocka_unit_test (
            test_proto_task_round_trips_the_longest_function_name),
        cmocka_unit_test (test_proto_dispatch_round_trips),
        cmocka_unit_test (test_proto_done_round_trips),
        cmocka_unit_test (test_proto_result_round_trips),
        cmocka_unit_test (test_proto_usage_round_trips_in_done_and_result),
        cmocka_unit_test (test_proto_load_round_trips_and_is_checked),
        cmocka_unit_test (test_proto_pool_round_trips),
        cmocka_unit_test (test_proto_abort_round_trips),
        cmocka_unit_test (test_proto_uint_round_trips),
        cmocka_unit_test (test_proto_notice_round_trips),
        cmocka_unit_test (test_proto_notice_round_trips_unknown_peer),
        cmocka_unit_test (test_proto_notice_refused_says_nothing_of_the_peer),
        cmocka_unit_test (test_proto_notice_cuts_a_long_message_to_the_limit),
        cmocka_unit_test (test_proto_cancel_round_trips),
        cmocka_unit_test (test_proto_error_frame_round_trips),
        cmocka_unit_test (
            test_proto_decoders_accept_extra_trailing_array_items),
        cmocka_unit_test (test_proto_decoders_ignore_unknown_map_keys),
        cmocka_unit_test (test_proto_decoders_accept_their_good_frame),
        cmocka_unit_test (test_proto_decoders_reject_an_empty_frame),
        cmocka_unit_test (test_proto_decoders_reject_a_missing_frame),
        cmocka_unit_test (test_proto_decoders_reject_a_truncated_value),
        cmocka_unit_test (test_proto_decoders_reject_trailing_bytes),
        cmocka_unit_test (test_proto_decoders_reject_malformed_msgpack),
        cmocka_unit_test (test_proto_decoders_reject_the_wrong_top_level_type),
        cmocka_unit_test (test_proto_decoders_reject_too_few_array_items),
        cmocka_unit_test (test_proto_decoders_reject_a_huge_declared_string),
        cmocka_unit_test (test_proto_decoders_reject_nesting_deeper_than_32),
        cmocka_unit_test (test_proto_decoders_reject_a_huge_declared_array),
        cmocka_unit_test (
            test_proto_decode_hello_rejects_a_worker_without_slots),
        cmocka_unit_test (test_proto_decode_hello_rejects_zero_slots),
        cmocka_unit_test (test_proto_decode_hello_rejects_slots_over_the_max),
        cmocka_unit_test (test_proto_decode_hello_rejects_an_unknown_role),
        cmocka_unit_test (
            test_proto_decode_hello_rejects_a_host_over_255_bytes),
        cmocka_unit_test (
            test_proto_decode_hello_rejects_a_missing_host_or_bad_pid),
        cmocka_unit_test (
            test_proto_decode_hello_rejects_a_name_or_cores_of_the_wrong_type),
        cmocka_unit_test (
            test_proto_decode_hello_accepts_a_client_without_slots),
        cmocka_unit_test (test_proto_decode_task_rejects_ids_of_the_wrong_type),
        cmocka_unit_test (test_proto_decode_task_rejects_unknown_flags),
        cmocka_unit_test (
            test_proto_decode_task_rejects_a_timeout_over_the_max),
        cmocka_unit_test (
            test_proto_decode_task_rejects_invalid_function_names),
        cmocka_unit_test (
            test_proto_decode_dispatch_rejects_fields_of_the_wrong_type),
        cmocka_unit_test (
            test_proto_decode_dispatch_rejects_invalid_function_names),
        cmocka_unit_test (
            test_proto_decode_done_rejects_fields_of_the_wrong_type),
        cmocka_unit_test (
            test_proto_decode_result_rejects_fields_of_the_wrong_type),
        cmocka_unit_test (
            test_proto_decode_abort_rejects_fields_of_the_wrong_type),
        cmocka_unit_test (test_proto_decode_uint_rejects_a_negative_value),
        cmocka_unit_test (test_proto_decode_welcome_rejects_bad_fields),
        cmocka_unit_test (test_proto_decode_pool_rejects_bad_fields),
        cmocka_unit_test (test_proto_decode_notice_rejects_bad_fields),
        cmocka_unit_test (test_proto_decode_cancel_rejects_bad_fields),
        cmocka_unit_test (test_proto_hello_carries_a_task_process_agent_pid),
        cmocka_unit_test (test_proto_process_events_round_trip),
        cmocka_unit_test (test_proto_kill_round_trips_and_checks_the_signal),
        cmocka_unit_test (test_proto_outcome_carries_a_value_or_an_error),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
