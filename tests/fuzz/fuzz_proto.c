/*  fuzz_proto - libFuzzer target: every wire decoder on one frame, and the
    command and pair checks on a message cut from the input

    The first byte picks the decoder; the rest is the frame. A decoder must
    accept or refuse with a reason, never crash, leak or read past the
    frame.
*/
#include "zmp_proto.h"

#include "zmp_error.h"
#include "zmp_value.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  A message of frames cut from data at every 0xfe byte
static zmsg_t *
s_message (const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    size_t start = 0;
    for (size_t at = 0; at <= size; at++)
        if (at == size || data[at] == 0xfe) {
            zmsg_addmem (msg, data + start, at - start);
            start = at + 1;
        }
    return msg;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmsg_t *msg = s_message (data + 1, size - 1);
    zmp_error_t error;
    zmp_proto_command (msg, &error);
    zmp_proto_pairs (msg, &error);
    zmsg_destroy (&msg);
    zframe_t *frame = zframe_new (data + 1, size - 1);
    union {
        zmp_proto_hello_t hello;
        zmp_proto_welcome_t welcome;
        zmp_proto_task_t task;
        zmp_proto_dispatch_t dispatch;
        zmp_proto_done_t done;
        zmp_proto_result_t result;
        zmp_proto_pool_t pool;
        zmp_proto_event_t event;
        zmp_proto_task_event_t task_event;
        zmp_proto_kill_t kill;
        zmp_proto_load_t load;
    } out;
    uint32_t slot, pool_id;
    uint64_t value;
    bool flag;
    zmp_error_t notice;
    switch (data[0] % 18) {
        case 0:
            zmp_proto_decode_hello (frame, &out.hello, &error);
            break;
        case 1:
            zmp_proto_decode_welcome (frame, &out.welcome, &error);
            break;
        case 2:
            zmp_proto_decode_task (frame, &out.task, &error);
            break;
        case 3:
            zmp_proto_decode_dispatch (frame, &out.dispatch, &error);
            break;
        case 4:
            zmp_proto_decode_done (frame, &out.done, &error);
            break;
        case 5:
            zmp_proto_decode_result (frame, &out.result, &error);
            break;
        case 6:
            zmp_proto_decode_pool (frame, &out.pool, &error);
            break;
        case 7:
            zmp_proto_decode_abort (frame, &slot, &value, &error);
            break;
        case 8:
            zmp_proto_decode_uint (frame, &value, &error);
            break;
        case 9:
            zmp_proto_decode_notice (frame, &notice, &flag, &error);
            break;
        case 10:
            zmp_proto_decode_cancel (frame, &pool_id, &error);
            break;
        case 11:
            zmp_proto_decode_cancel_task (frame, &pool_id, &flag, &value,
                                          &error);
            break;
        case 12:
            zmp_proto_decode_event (frame, &out.event, &error);
            break;
        case 13:
            zmp_proto_decode_task_event (frame, &out.task_event, &error);
            break;
        case 14:
            zmp_proto_decode_kill (frame, &out.kill, &error);
            break;
        case 15:
            zmp_proto_decode_kill_worker (frame, &out.kill, &error);
            break;
        case 17:
            zmp_proto_decode_load (frame, &out.load, &error);
            break;
        default: {
            zframe_t *copy = zframe_dup (frame);
            zmp_value_t *outcome = zmp_proto_decode_outcome (&copy, &error);
            zmp_value_destroy (&outcome);
        }
    }
    zframe_destroy (&frame);
    return 0;
}
