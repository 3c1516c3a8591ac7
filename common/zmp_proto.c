/*  zmp_proto - the zmpool wire protocol

    Encoders pack into a msgpack_sbuffer on the stack and copy the bytes
    into a frame. Decoders unpack one frame with a msgpack_unpacked on the
    stack, check every field's type and range before they copy it, and
    report the first fault they meet, named after the message and field, so
    that a peer's log line says exactly what it sent wrong.
*/
#include "zmp_proto.h"

#include "zmp_error.h"
#include "zmp_value.h"

static const char *s_command_names[] = {
    "(none)", "HELLO",     "WELCOME", "SUBMIT", "DISPATCH", "DONE",
    "RESULT", "CANCEL",    "ABORT",   "POOL",   "STATUS",   "REPLY",
    "ERROR",  "HEARTBEAT", "BYE",     "OBJECT", "PROCESS",  "KILL"
};

//  --------------------------------------------------------------------------
//  A new message with the header frame for command.

zmsg_t *
zmp_proto_new (zmp_proto_command_t command)
{
    assert (command >= ZMP_PROTO_HELLO && command <= ZMP_PROTO_COMMAND_MAX);
    byte header[4] = { 'Z', 'P', ZMP_PROTO_VERSION, (byte) command };
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, header, sizeof header);
    return msg;
}

//  --------------------------------------------------------------------------
//  Check a message's header frame; return its command.

int
zmp_proto_command (zmsg_t *msg, zmp_error_t *error)
{
    zframe_t *frame = msg ? zmsg_first (msg) : NULL;
    if (!frame) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "empty message");
        return -1;
    }
    const byte *data = zframe_data (frame);
    if (zframe_size (frame) != 4 || data[0] != 'Z' || data[1] != 'P') {
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "not a zmpool message (bad header frame)");
        return -1;
    }
    if (data[2] != ZMP_PROTO_VERSION) {
        zmp_error_set (
            error, ZMP_ERR_PROTOCOL,
            "protocol version %d not supported (this side speaks %d)", data[2],
            ZMP_PROTO_VERSION);
        return -1;
    }
    if (data[3] < ZMP_PROTO_HELLO || data[3] > ZMP_PROTO_COMMAND_MAX) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "unknown command %d", data[3]);
        return -1;
    }
    return data[3];
}

//  --------------------------------------------------------------------------
//  Count the (header, body) pairs of a batch message.

int
zmp_proto_pairs (zmsg_t *msg, zmp_error_t *error)
{
    size_t frames = zmsg_size (msg);
    if (frames < 3 || frames % 2 == 0
        || (frames - 1) / 2 > ZMP_PROTO_BATCH_MAX) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "a batch must carry 1 to %d (header, body) pairs, not "
                       "%zu frames",
                       ZMP_PROTO_BATCH_MAX, frames > 0 ? frames - 1 : 0);
        return -1;
    }
    return (int) ((frames - 1) / 2);
}

//  --------------------------------------------------------------------------
//  Name of a command, for logs.

const char *
zmp_proto_command_name (int command)
{
    if (command < ZMP_PROTO_HELLO || command > ZMP_PROTO_COMMAND_MAX)
        return "(unknown)";
    return s_command_names[command];
}

//  --------------------------------------------------------------------------
//  True if name is a valid function name.

bool
zmp_proto_valid_name (const char *name, size_t length)
{
    if (!name || length == 0 || length > ZMP_FUNCTION_NAME_MAX)
        return false;
    for (size_t index = 0; index < length; index++) {
        char c = name[index];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'
                  || c == ':';
        if (!ok)
            return false;
    }
    return true;
}


//  --------------------------------------------------------------------------
//  Encoders

typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer packer;
} s_encoder_t;

static msgpack_packer *
s_encoder_init (s_encoder_t *encoder)
{
    msgpack_sbuffer_init (&encoder->buffer);
    msgpack_packer_init (&encoder->packer, &encoder->buffer,
                         msgpack_sbuffer_write);
    return &encoder->packer;
}

static zframe_t *
s_encoder_finish (s_encoder_t *encoder)
{
    zframe_t *frame = zmp_frame_from_buffer (&encoder->buffer);
    msgpack_sbuffer_destroy (&encoder->buffer);
    return frame;
}

zframe_t *
zmp_proto_encode_hello (const zmp_proto_hello_t *hello)
{
    assert (hello);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    bool worker = hello->role == ZMP_ROLE_WORKER;
    bool task = !worker && hello->agent_pid > 0;
    bool attempt = hello->attempt > 0;
    bool session = !worker && hello->session > 0;
    msgpack_pack_map (packer, (worker ? 6
                               : task ? 5
                                      : 4)
                                  + (attempt ? 1 : 0) + (session ? 1 : 0));
    zmp_pack_cstr (packer, "role");
    zmp_pack_cstr (packer, worker ? "worker" : "client");
    zmp_pack_cstr (packer, "host");
    zmp_pack_cstr (packer, hello->host);
    zmp_pack_cstr (packer, "pid");
    msgpack_pack_int64 (packer, hello->pid);
    zmp_pack_cstr (packer, "name");
    zmp_pack_cstr (packer, hello->name);
    if (worker) {
        zmp_pack_cstr (packer, "slots");
        msgpack_pack_uint32 (packer, hello->slots);
        zmp_pack_cstr (packer, "cores");
        msgpack_pack_uint32 (packer, hello->cores);
    }
    if (task) {
        zmp_pack_cstr (packer, "agent_pid");
        msgpack_pack_int64 (packer, hello->agent_pid);
    }
    if (attempt) {
        zmp_pack_cstr (packer, "attempt");
        msgpack_pack_uint32 (packer, hello->attempt);
    }
    if (session) {
        zmp_pack_cstr (packer, "session");
        msgpack_pack_uint64 (packer, hello->session);
    }
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_welcome (const zmp_proto_welcome_t *welcome)
{
    assert (welcome);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_map (packer, 4 + (welcome->run ? 1 : 0)
                                  + (welcome->max_message ? 1 : 0));
    zmp_pack_cstr (packer, "heartbeat_ms");
    msgpack_pack_uint32 (packer, welcome->heartbeat_ms);
    zmp_pack_cstr (packer, "liveness");
    msgpack_pack_uint32 (packer, welcome->liveness);
    zmp_pack_cstr (packer, "slots");
    msgpack_pack_uint32 (packer, welcome->slots);
    zmp_pack_cstr (packer, "attempt");
    msgpack_pack_uint32 (packer, welcome->attempt);
    if (welcome->run) {
        zmp_pack_cstr (packer, "run");
        msgpack_pack_uint64 (packer, welcome->run);
    }
    if (welcome->max_message) {
        zmp_pack_cstr (packer, "max_message");
        msgpack_pack_uint64 (packer, welcome->max_message);
    }
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_task (const zmp_proto_task_t *task)
{
    assert (task);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 5);
    msgpack_pack_uint64 (packer, task->task_id);
    msgpack_pack_uint32 (packer, task->pool_id);
    zmp_pack_cstr (packer, task->function);
    msgpack_pack_uint32 (packer, task->flags);
    msgpack_pack_uint32 (packer, task->timeout_ms);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_dispatch (const zmp_proto_dispatch_t *dispatch)
{
    assert (dispatch);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 6);
    msgpack_pack_uint32 (packer, dispatch->slot);
    msgpack_pack_uint64 (packer, dispatch->seq);
    msgpack_pack_uint32 (packer, dispatch->attempt);
    zmp_pack_cstr (packer, dispatch->function);
    msgpack_pack_uint32 (packer, dispatch->flags);
    msgpack_pack_uint32 (packer, dispatch->timeout_ms);
    return s_encoder_finish (&encoder);
}

//  usage as an array: [start-us, wall-us, user-us, system-us, max-rss-kib]
static void
s_pack_usage (msgpack_packer *packer, const zmp_proto_usage_t *usage)
{
    msgpack_pack_array (packer, 5);
    msgpack_pack_uint64 (packer, usage->start_us);
    msgpack_pack_uint64 (packer, usage->wall_us);
    msgpack_pack_uint64 (packer, usage->user_us);
    msgpack_pack_uint64 (packer, usage->system_us);
    msgpack_pack_uint64 (packer, usage->max_rss_kib);
}

zframe_t *
zmp_proto_encode_done (const zmp_proto_done_t *done)
{
    assert (done);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, done->has_usage ? 6 : 5);
    msgpack_pack_uint32 (packer, done->slot);
    msgpack_pack_uint64 (packer, done->seq);
    msgpack_pack_uint32 (packer, done->status);
    msgpack_pack_int64 (packer, done->pid);
    msgpack_pack_uint64 (packer, done->run_us);
    if (done->has_usage)
        s_pack_usage (packer, &done->usage);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_result (const zmp_proto_result_t *result)
{
    assert (result);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, result->has_usage ? 5 : 3);
    msgpack_pack_uint64 (packer, result->task_id);
    msgpack_pack_uint32 (packer, result->status);
    msgpack_pack_int64 (packer, result->pid);
    if (result->has_usage) {
        s_pack_usage (packer, &result->usage);
        zmp_pack_cstr (packer, result->host);
    }
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_load (const zmp_proto_load_t *load)
{
    assert (load);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_map (packer, 3);
    zmp_pack_cstr (packer, "cpu_permille");
    msgpack_pack_uint32 (packer, load->cpu_permille);
    zmp_pack_cstr (packer, "mem_total_kib");
    msgpack_pack_uint64 (packer, load->mem_total_kib);
    zmp_pack_cstr (packer, "mem_available_kib");
    msgpack_pack_uint64 (packer, load->mem_available_kib);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_pool (const zmp_proto_pool_t *pool)
{
    assert (pool);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_map (packer, 3);
    zmp_pack_cstr (packer, "pool");
    msgpack_pack_uint32 (packer, pool->pool_id);
    zmp_pack_cstr (packer, "processes");
    msgpack_pack_uint32 (packer, pool->processes);
    zmp_pack_cstr (packer, "close");
    if (pool->close)
        msgpack_pack_true (packer);
    else
        msgpack_pack_false (packer);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_abort (uint32_t slot, uint64_t seq)
{
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 2);
    msgpack_pack_uint32 (packer, slot);
    msgpack_pack_uint64 (packer, seq);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_uint (uint64_t value)
{
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_uint64 (packer, value);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_notice (zmp_error_kind_t kind, const char *message,
                         bool unknown_peer)
{
    assert (message);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_map (packer, unknown_peer ? 3 : 2);
    if (unknown_peer) {
        zmp_pack_cstr (packer, "unknown_peer");
        msgpack_pack_true (packer);
    }
    zmp_pack_cstr (packer, "kind");
    msgpack_pack_uint32 (packer, (uint32_t) kind);
    zmp_pack_cstr (packer, "message");
    size_t length = strlen (message);
    if (length > ZMP_PROTO_MESSAGE_MAX)
        length = ZMP_PROTO_MESSAGE_MAX;
    msgpack_pack_str_with_body (packer, message, length);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_cancel_pool (uint32_t pool_id)
{
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_map (packer, 1);
    zmp_pack_cstr (packer, "pool");
    msgpack_pack_uint32 (packer, pool_id);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_cancel_task (uint32_t pool_id, uint64_t task_id)
{
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_map (packer, 2);
    zmp_pack_cstr (packer, "pool");
    msgpack_pack_uint32 (packer, pool_id);
    zmp_pack_cstr (packer, "task");
    msgpack_pack_uint64 (packer, task_id);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_error (const zmp_error_t *error)
{
    assert (error);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    zmp_error_pack (error, packer);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_event (const zmp_proto_event_t *event)
{
    assert (event);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 4);
    msgpack_pack_uint32 (packer, event->slot);
    msgpack_pack_uint64 (packer, event->seq);
    msgpack_pack_uint32 (packer, event->event);
    msgpack_pack_int64 (packer, event->pid);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_task_event (const zmp_proto_task_event_t *event)
{
    assert (event);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 3);
    msgpack_pack_uint64 (packer, event->task_id);
    msgpack_pack_uint32 (packer, event->event);
    msgpack_pack_int64 (packer, event->pid);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_kill (const zmp_proto_kill_t *kill)
{
    assert (kill);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 2);
    msgpack_pack_uint64 (packer, kill->task_id);
    msgpack_pack_uint32 (packer, kill->signal);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_kill_worker (const zmp_proto_kill_t *kill)
{
    assert (kill);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 3);
    msgpack_pack_uint32 (packer, kill->slot);
    msgpack_pack_uint64 (packer, kill->seq);
    msgpack_pack_uint32 (packer, kill->signal);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_outcome (const void *value, size_t size)
{
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 2);
    msgpack_pack_uint32 (packer, 0);
    if (value && size)
        msgpack_sbuffer_write (&encoder.buffer, (const char *) value, size);
    else
        msgpack_pack_nil (packer);
    return s_encoder_finish (&encoder);
}

zframe_t *
zmp_proto_encode_outcome_error (const zmp_error_t *error)
{
    assert (error && error->kind != ZMP_ERR_NONE);
    s_encoder_t encoder;
    msgpack_packer *packer = s_encoder_init (&encoder);
    msgpack_pack_array (packer, 2);
    msgpack_pack_uint32 (packer, (uint32_t) error->kind);
    zmp_error_pack (error, packer);
    return s_encoder_finish (&encoder);
}


//  --------------------------------------------------------------------------
//  Decoders

//  Reads fields of one message body, remembering the first fault only.
typedef struct {
    const char *what;    //  Body being read, e.g. "task header"
    zmp_error_t *error;  //  Caller's, may be NULL
    bool failed;         //  A field was wrong; error holds the first
    msgpack_unpacked unpacked;
} s_reader_t;

static void
s_fault (s_reader_t *reader, const char *field, const char *expected)
{
    if (!reader->failed)
        zmp_error_set (reader->error, ZMP_ERR_PROTOCOL, "%s: %s must be %s",
                       reader->what, field, expected);
    reader->failed = true;
}

//  Unpack frame into the reader; returns the value, or NULL.
static const msgpack_object *
s_reader_open (s_reader_t *reader, zframe_t *frame, const char *what,
               zmp_error_t *error)
{
    reader->what = what;
    reader->error = error;
    reader->failed = false;
    msgpack_unpacked_init (&reader->unpacked);
    zmp_error_t cause;
    if (!frame) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "%s: frame missing", what);
        reader->failed = true;
        return NULL;
    }
    if (zmp_value_unpack (&reader->unpacked, zframe_data (frame),
                          zframe_size (frame), &cause)) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "%s: %s", what, cause.message);
        reader->failed = true;
        return NULL;
    }
    return &reader->unpacked.data;
}

//  Unpack frame, which must be an array of at least count items.
static const msgpack_object *
s_reader_array (s_reader_t *reader, zframe_t *frame, const char *what,
                uint32_t count, zmp_error_t *error)
{
    const msgpack_object *value = s_reader_open (reader, frame, what, error);
    if (!value)
        return NULL;
    if (value->type != MSGPACK_OBJECT_ARRAY || value->via.array.size < count) {
        char expected[48];
        snprintf (expected, sizeof expected, "an array of %u items", count);
        s_fault (reader, "the body", expected);
        return NULL;
    }
    return value->via.array.ptr;
}

//  Unpack frame, which must be a map.
static const msgpack_object *
s_reader_map (s_reader_t *reader, zframe_t *frame, const char *what,
              zmp_error_t *error)
{
    const msgpack_object *value = s_reader_open (reader, frame, what, error);
    if (value && value->type != MSGPACK_OBJECT_MAP) {
        s_fault (reader, "the body", "a map");
        return NULL;
    }
    return value;
}

static int
s_reader_close (s_reader_t *reader)
{
    msgpack_unpacked_destroy (&reader->unpacked);
    return reader->failed ? -1 : 0;
}

static uint64_t
s_uint (s_reader_t *reader, const msgpack_object *object, const char *field,
        uint64_t max)
{
    uint64_t value = 0;
    if (zmp_uint_get (object, max, &value)) {
        char expected[64];
        snprintf (expected, sizeof expected,
                  "an unsigned integer no larger than %llu",
                  (unsigned long long) max);
        s_fault (reader, field, object ? expected : "present");
    }
    return value;
}

static int64_t
s_pid (s_reader_t *reader, const msgpack_object *object, const char *field)
{
    int64_t value = 0;
    if (zmp_int_get (object, &value) || value < 0 || value > INT32_MAX) {
        s_fault (reader, field, "a process id");
        value = 0;
    }
    return value;
}

static void
s_str (s_reader_t *reader, const msgpack_object *object, const char *field,
       char *buffer, size_t size)
{
    if (zmp_str_copy (object, buffer, size)) {
        char expected[64];
        snprintf (expected, sizeof expected, "a string of at most %zu bytes",
                  size - 1);
        s_fault (reader, field, expected);
        buffer[0] = 0;
    }
}

static void
s_function (s_reader_t *reader, const msgpack_object *object, char *buffer)
{
    if (object->type != MSGPACK_OBJECT_STR
        || !zmp_proto_valid_name (object->via.str.ptr, object->via.str.size)) {
        s_fault (reader, "function",
                 "a name of 1 to 128 letters, digits, '_', '-', '.' or ':'");
        buffer[0] = 0;
        return;
    }
    memcpy (buffer, object->via.str.ptr, object->via.str.size);
    buffer[object->via.str.size] = 0;
}

//  A usage array (s_pack_usage): true if object is one. Anything else is
//  taken as no usage, not as a fault: the figures are for people, and a
//  bad one must not cost a task its result.
static bool
s_usage (const msgpack_object *object, zmp_proto_usage_t *usage)
{
    memset (usage, 0, sizeof *usage);
    if (object->type != MSGPACK_OBJECT_ARRAY || object->via.array.size < 5)
        return false;
    const msgpack_object *items = object->via.array.ptr;
    uint64_t *fields[] = { &usage->start_us, &usage->wall_us, &usage->user_us,
                           &usage->system_us, &usage->max_rss_kib };
    for (size_t index = 0; index < 5; index++)
        if (zmp_uint_get (&items[index], ZMP_PROTO_USAGE_MAX, fields[index])) {
            memset (usage, 0, sizeof *usage);
            return false;
        }
    return true;
}

static uint32_t
s_status (s_reader_t *reader, const msgpack_object *object)
{
    uint64_t status = s_uint (reader, object, "status", ZMP_ERR_COUNT - 1);
    return (uint32_t) status;
}

int
zmp_proto_decode_hello (zframe_t *frame, zmp_proto_hello_t *hello,
                        zmp_error_t *error)
{
    assert (hello);
    memset (hello, 0, sizeof *hello);
    s_reader_t reader;
    const msgpack_object *map = s_reader_map (&reader, frame, "HELLO", error);
    if (map) {
        const msgpack_object *role = zmp_map_get (map, "role");
        if (role && zmp_str_is (role, "client"))
            hello->role = ZMP_ROLE_CLIENT;
        else if (role && zmp_str_is (role, "worker"))
            hello->role = ZMP_ROLE_WORKER;
        else
            s_fault (&reader, "role", "\"client\" or \"worker\"");
        s_str (&reader, zmp_map_get (map, "host"), "host", hello->host,
               sizeof hello->host);
        hello->pid = s_pid (&reader, zmp_map_get (map, "pid"), "pid");
        const msgpack_object *name = zmp_map_get (map, "name");
        if (name)
            s_str (&reader, name, "name", hello->name, sizeof hello->name);
        if (hello->role == ZMP_ROLE_WORKER) {
            hello->slots =
                (uint32_t) s_uint (&reader, zmp_map_get (map, "slots"), "slots",
                                   ZMP_PROTO_SLOTS_MAX);
            if (!reader.failed && hello->slots == 0)
                s_fault (&reader, "slots", "at least 1");
            const msgpack_object *cores = zmp_map_get (map, "cores");
            if (cores)
                hello->cores = (uint32_t) s_uint (&reader, cores, "cores",
                                                  ZMP_PROTO_CORES_MAX);
        } else {
            const msgpack_object *agent_pid = zmp_map_get (map, "agent_pid");
            if (agent_pid)
                hello->agent_pid = s_pid (&reader, agent_pid, "agent_pid");
            const msgpack_object *session = zmp_map_get (map, "session");
            if (session)
                hello->session =
                    s_uint (&reader, session, "session", UINT64_MAX);
        }
        const msgpack_object *attempt = zmp_map_get (map, "attempt");
        if (attempt)
            hello->attempt =
                (uint32_t) s_uint (&reader, attempt, "attempt", UINT32_MAX);
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_welcome (zframe_t *frame, zmp_proto_welcome_t *welcome,
                          zmp_error_t *error)
{
    assert (welcome);
    memset (welcome, 0, sizeof *welcome);
    s_reader_t reader;
    const msgpack_object *map = s_reader_map (&reader, frame, "WELCOME", error);
    if (map) {
        welcome->heartbeat_ms =
            (uint32_t) s_uint (&reader, zmp_map_get (map, "heartbeat_ms"),
                               "heartbeat_ms", ZMP_PROTO_HEARTBEAT_MAX);
        welcome->liveness =
            (uint32_t) s_uint (&reader, zmp_map_get (map, "liveness"),
                               "liveness", ZMP_PROTO_LIVENESS_MAX);
        welcome->slots = (uint32_t) s_uint (&reader, zmp_map_get (map, "slots"),
                                            "slots", UINT32_MAX);
        const msgpack_object *attempt = zmp_map_get (map, "attempt");
        if (attempt)
            welcome->attempt =
                (uint32_t) s_uint (&reader, attempt, "attempt", UINT32_MAX);
        const msgpack_object *run = zmp_map_get (map, "run");
        if (run)
            welcome->run = s_uint (&reader, run, "run", UINT64_MAX);
        const msgpack_object *max_message = zmp_map_get (map, "max_message");
        if (max_message)
            welcome->max_message =
                s_uint (&reader, max_message, "max_message", UINT64_MAX);
        if (!reader.failed && welcome->heartbeat_ms < ZMP_PROTO_HEARTBEAT_MIN)
            s_fault (&reader, "heartbeat_ms", "at least 10");
        if (!reader.failed && welcome->liveness < ZMP_PROTO_LIVENESS_MIN)
            s_fault (&reader, "liveness", "at least 2");
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_task (zframe_t *frame, zmp_proto_task_t *task,
                       zmp_error_t *error)
{
    assert (task);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "task header", 5, error);
    if (items) {
        task->task_id = s_uint (&reader, &items[0], "task-id", UINT64_MAX);
        task->pool_id =
            (uint32_t) s_uint (&reader, &items[1], "pool-id", UINT32_MAX);
        s_function (&reader, &items[2], task->function);
        task->flags = (uint32_t) s_uint (&reader, &items[3], "flags",
                                         ZMP_TASK_FLAGS_KNOWN);
        task->timeout_ms = (uint32_t) s_uint (&reader, &items[4], "timeout-ms",
                                              ZMP_PROTO_TIMEOUT_MAX);
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_dispatch (zframe_t *frame, zmp_proto_dispatch_t *dispatch,
                           zmp_error_t *error)
{
    assert (dispatch);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "dispatch header", 6, error);
    if (items) {
        dispatch->slot =
            (uint32_t) s_uint (&reader, &items[0], "slot", UINT32_MAX);
        dispatch->seq = s_uint (&reader, &items[1], "seq", UINT64_MAX);
        dispatch->attempt =
            (uint32_t) s_uint (&reader, &items[2], "attempt", UINT32_MAX);
        s_function (&reader, &items[3], dispatch->function);
        dispatch->flags = (uint32_t) s_uint (&reader, &items[4], "flags",
                                             ZMP_TASK_FLAGS_KNOWN);
        dispatch->timeout_ms = (uint32_t) s_uint (
            &reader, &items[5], "timeout-ms", ZMP_PROTO_TIMEOUT_MAX);
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_done (zframe_t *frame, zmp_proto_done_t *done,
                       zmp_error_t *error)
{
    assert (done);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "done header", 4, error);
    if (items) {
        done->slot = (uint32_t) s_uint (&reader, &items[0], "slot", UINT32_MAX);
        done->seq = s_uint (&reader, &items[1], "seq", UINT64_MAX);
        done->status = s_status (&reader, &items[2]);
        done->pid = s_pid (&reader, &items[3], "pid");
        //  Optional: a worker that does not time its tasks leaves it out
        uint32_t size = reader.unpacked.data.via.array.size;
        done->run_us =
            size > 4 ? s_uint (&reader, &items[4], "run-us", UINT64_MAX) : 0;
        done->has_usage = size > 5 && s_usage (&items[5], &done->usage);
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_result (zframe_t *frame, zmp_proto_result_t *result,
                         zmp_error_t *error)
{
    assert (result);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "result header", 3, error);
    if (items) {
        result->task_id = s_uint (&reader, &items[0], "task-id", UINT64_MAX);
        result->status = s_status (&reader, &items[1]);
        result->pid = s_pid (&reader, &items[2], "pid");
        //  Optional: absent when the task did not run
        result->has_usage = reader.unpacked.data.via.array.size > 4
                            && s_usage (&items[3], &result->usage);
        result->host[0] = 0;
        if (result->has_usage
            && zmp_str_copy (&items[4], result->host, sizeof result->host))
            result->has_usage = false;  //  As a bad usage: taken without
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_load (zframe_t *frame, zmp_proto_load_t *load,
                       zmp_error_t *error)
{
    assert (load);
    memset (load, 0, sizeof *load);
    s_reader_t reader;
    const msgpack_object *map = s_reader_map (&reader, frame, "load", error);
    if (map) {
        load->cpu_permille = (uint32_t) s_uint (
            &reader, zmp_map_get (map, "cpu_permille"), "cpu_permille", 1000);
        load->mem_total_kib =
            s_uint (&reader, zmp_map_get (map, "mem_total_kib"),
                    "mem_total_kib", INT64_MAX);
        load->mem_available_kib =
            s_uint (&reader, zmp_map_get (map, "mem_available_kib"),
                    "mem_available_kib", load->mem_total_kib);
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_pool (zframe_t *frame, zmp_proto_pool_t *pool,
                       zmp_error_t *error)
{
    assert (pool);
    memset (pool, 0, sizeof *pool);
    s_reader_t reader;
    const msgpack_object *map = s_reader_map (&reader, frame, "POOL", error);
    if (map) {
        pool->pool_id = (uint32_t) s_uint (&reader, zmp_map_get (map, "pool"),
                                           "pool", UINT32_MAX);
        pool->processes = (uint32_t) s_uint (
            &reader, zmp_map_get (map, "processes"), "processes", UINT32_MAX);
        const msgpack_object *close = zmp_map_get (map, "close");
        if (close && close->type != MSGPACK_OBJECT_BOOLEAN)
            s_fault (&reader, "close", "a boolean");
        else if (close)
            pool->close = close->via.boolean;
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_abort (zframe_t *frame, uint32_t *slot, uint64_t *seq,
                        zmp_error_t *error)
{
    assert (slot && seq);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "abort", 2, error);
    if (items) {
        *slot = (uint32_t) s_uint (&reader, &items[0], "slot", UINT32_MAX);
        *seq = s_uint (&reader, &items[1], "seq", UINT64_MAX);
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_uint (zframe_t *frame, uint64_t *value, zmp_error_t *error)
{
    assert (value);
    s_reader_t reader;
    const msgpack_object *object =
        s_reader_open (&reader, frame, "request id", error);
    if (object)
        *value = s_uint (&reader, object, "the body", UINT64_MAX);
    return s_reader_close (&reader);
}

int
zmp_proto_decode_notice (zframe_t *frame, zmp_error_t *notice,
                         bool *unknown_peer, zmp_error_t *error)
{
    assert (notice);
    zmp_error_clear (notice);
    if (unknown_peer)
        *unknown_peer = false;
    s_reader_t reader;
    const msgpack_object *map = s_reader_map (&reader, frame, "notice", error);
    if (map) {
        notice->kind = (zmp_error_kind_t) s_uint (
            &reader, zmp_map_get (map, "kind"), "kind", ZMP_ERR_COUNT - 1);
        const msgpack_object *message = zmp_map_get (map, "message");
        if (!message || message->type != MSGPACK_OBJECT_STR)
            s_fault (&reader, "message", "a string");
        else {
            size_t length = message->via.str.size;
            if (length >= sizeof notice->message)
                length = sizeof notice->message - 1;
            if (length)  //  A msgpack "" may have no pointer
                memcpy (notice->message, message->via.str.ptr, length);
            notice->message[length] = 0;
        }
        const msgpack_object *unknown = zmp_map_get (map, "unknown_peer");
        if (unknown && unknown->type != MSGPACK_OBJECT_BOOLEAN)
            s_fault (&reader, "unknown_peer", "a boolean");
        else if (unknown && unknown_peer)
            *unknown_peer = unknown->via.boolean;
    }
    if (reader.failed && unknown_peer)
        *unknown_peer = false;  //  A refused body says nothing
    return s_reader_close (&reader);
}

int
zmp_proto_decode_cancel (zframe_t *frame, uint32_t *pool_id, zmp_error_t *error)
{
    bool one_task;
    uint64_t task_id;
    return zmp_proto_decode_cancel_task (frame, pool_id, &one_task, &task_id,
                                         error);
}

int
zmp_proto_decode_cancel_task (zframe_t *frame, uint32_t *pool_id,
                              bool *one_task, uint64_t *task_id,
                              zmp_error_t *error)
{
    assert (pool_id && one_task && task_id);
    *one_task = false;
    *task_id = 0;
    s_reader_t reader;
    const msgpack_object *map = s_reader_map (&reader, frame, "CANCEL", error);
    if (map) {
        *pool_id = (uint32_t) s_uint (&reader, zmp_map_get (map, "pool"),
                                      "pool", UINT32_MAX);
        const msgpack_object *task = zmp_map_get (map, "task");
        if (task) {
            *task_id = s_uint (&reader, task, "task", UINT64_MAX);
            *one_task = !reader.failed;
        }
    }
    return s_reader_close (&reader);
}

static uint32_t
s_event_kind (s_reader_t *reader, const msgpack_object *object)
{
    uint32_t kind = (uint32_t) s_uint (reader, object, "event", UINT32_MAX);
    if (!reader->failed
        && (kind < ZMP_EVENT_STARTED || kind > ZMP_EVENT_STDERR))
        s_fault (reader, "event", "1, 2 or 3");
    return kind;
}

static uint32_t
s_signal (s_reader_t *reader, const msgpack_object *object)
{
    uint32_t signal = (uint32_t) s_uint (reader, object, "signal", 64);
    if (!reader->failed && signal == 0)
        s_fault (reader, "signal", "a signal number, 1 to 64");
    return signal;
}

int
zmp_proto_decode_event (zframe_t *frame, zmp_proto_event_t *event,
                        zmp_error_t *error)
{
    assert (event);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "process event", 4, error);
    if (items) {
        event->slot =
            (uint32_t) s_uint (&reader, &items[0], "slot", UINT32_MAX);
        event->seq = s_uint (&reader, &items[1], "seq", UINT64_MAX);
        event->event = s_event_kind (&reader, &items[2]);
        event->pid = s_pid (&reader, &items[3], "pid");
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_task_event (zframe_t *frame, zmp_proto_task_event_t *event,
                             zmp_error_t *error)
{
    assert (event);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "task event", 3, error);
    if (items) {
        event->task_id = s_uint (&reader, &items[0], "task-id", UINT64_MAX);
        event->event = s_event_kind (&reader, &items[1]);
        event->pid = s_pid (&reader, &items[2], "pid");
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_kill (zframe_t *frame, zmp_proto_kill_t *kill,
                       zmp_error_t *error)
{
    assert (kill);
    memset (kill, 0, sizeof *kill);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "KILL", 2, error);
    if (items) {
        kill->task_id = s_uint (&reader, &items[0], "task-id", UINT64_MAX);
        kill->signal = s_signal (&reader, &items[1]);
    }
    return s_reader_close (&reader);
}

int
zmp_proto_decode_kill_worker (zframe_t *frame, zmp_proto_kill_t *kill,
                              zmp_error_t *error)
{
    assert (kill);
    memset (kill, 0, sizeof *kill);
    s_reader_t reader;
    const msgpack_object *items =
        s_reader_array (&reader, frame, "KILL", 3, error);
    if (items) {
        kill->slot = (uint32_t) s_uint (&reader, &items[0], "slot", UINT32_MAX);
        kill->seq = s_uint (&reader, &items[1], "seq", UINT64_MAX);
        kill->signal = s_signal (&reader, &items[2]);
    }
    return s_reader_close (&reader);
}

zmp_value_t *
zmp_proto_decode_outcome (zframe_t **frame_p, zmp_error_t *error)
{
    assert (frame_p);
    zmp_error_t cause;
    zmp_value_t *value = zmp_value_decode_frame (frame_p, &cause);
    if (!value) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL, "object reply: %s",
                       cause.message);
        return NULL;
    }
    const msgpack_object *outcome = zmp_value_get (value);
    uint64_t status;
    if (outcome->type != MSGPACK_OBJECT_ARRAY || outcome->via.array.size != 2
        || zmp_uint_get (&outcome->via.array.ptr[0], ZMP_ERR_COUNT - 1,
                         &status)) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "object reply: not a [status, value] array");
        zmp_value_destroy (&value);
        return NULL;
    }
    if (status != 0) {
        if (error)
            zmp_error_unpack (error, (zmp_error_kind_t) status,
                              &outcome->via.array.ptr[1]);
        zmp_value_destroy (&value);
        return NULL;
    }
    zmp_value_focus (value, &outcome->via.array.ptr[1]);
    return value;
}
