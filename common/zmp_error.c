/*  zmp_error - structured errors

    One table (ZMP_ERROR_KINDS in zmpool.h) gives each kind its number,
    its wire name and its text; this file turns it into lookups.
*/
#include "zmp_error.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *text;
} s_kind_t;

static const s_kind_t s_kinds[] = {
#define ZMP_ERROR_ROW(name, code, wire, text) [code] = { wire, text },
    ZMP_ERROR_KINDS (ZMP_ERROR_ROW)
#undef ZMP_ERROR_ROW
};

//  --------------------------------------------------------------------------
//  Wire name of kind.

const char *
zmp_error_kind_name (zmp_error_kind_t kind)
{
    return zmp_error_kind_valid (kind) ? s_kinds[kind].name : "unknown";
}

//  --------------------------------------------------------------------------
//  Short text of kind.

const char *
zmp_error_kind_text (zmp_error_kind_t kind)
{
    return zmp_error_kind_valid (kind) ? s_kinds[kind].text : "unknown error";
}

//  --------------------------------------------------------------------------
//  True if kind is a known error number.

bool
zmp_error_kind_valid (uint64_t kind)
{
    return kind < ZMP_ERR_COUNT;
}

//  --------------------------------------------------------------------------
//  Format error as one line.

const char *
zmp_error_format (const zmp_error_t *error, char *buffer, size_t size)
{
    assert (error && buffer && size > 0);
    char signal_text[48] = "";
    if (error->kind == ZMP_ERR_CRASHED && error->signal > 0)
        snprintf (signal_text, sizeof signal_text, " (signal %d, %s)",
                  error->signal, zmp_signal_name (error->signal));
    char where[ZMP_ERROR_HOST_MAX + 48] = "";
    if (error->host[0] && error->pid > 0)
        snprintf (where, sizeof where, " on %s pid %lld", error->host,
                  (long long) error->pid);
    else if (error->host[0])
        snprintf (where, sizeof where, " on %s", error->host);
    char index_text[48] = "";
    if (error->index >= 0)
        snprintf (index_text, sizeof index_text, " (item %lld)",
                  (long long) error->index);
    snprintf (buffer, size, "%s%s%s%s%s%s", zmp_error_kind_text (error->kind),
              signal_text, where, index_text, error->message[0] ? ": " : "",
              error->message);
    return buffer;
}

//  --------------------------------------------------------------------------
//  Fill error with kind and a formatted message.

void
zmp_error_setv (zmp_error_t *error, zmp_error_kind_t kind, const char *format,
                va_list args)
{
    if (!error)
        return;
    zmp_error_clear (error);
    error->kind = kind;
    vsnprintf (error->message, sizeof error->message, format, args);
}

//  --------------------------------------------------------------------------
//  Fill error with kind and a formatted message.

void
zmp_error_set (zmp_error_t *error, zmp_error_kind_t kind, const char *format,
               ...)
{
    va_list args;
    va_start (args, format);
    zmp_error_setv (error, kind, format, args);
    va_end (args);
}

//  --------------------------------------------------------------------------
//  Reset error to no error.

void
zmp_error_clear (zmp_error_t *error)
{
    if (!error)
        return;
    memset (error, 0, sizeof *error);
    error->index = -1;
}

static void
s_pack_key (msgpack_packer *packer, const char *key)
{
    msgpack_pack_str_with_body (packer, key, strlen (key));
}

//  --------------------------------------------------------------------------
//  Pack error as a wire error map.

int
zmp_error_pack (const zmp_error_t *error, msgpack_packer *packer)
{
    assert (error && packer);
    size_t fields = 1 + (error->host[0] != 0) + (error->pid > 0)
                    + (error->signal > 0) + (error->code != 0)
                    + (error->index >= 0);
    msgpack_pack_map (packer, fields);
    s_pack_key (packer, "message");
    msgpack_pack_str_with_body (packer, error->message,
                                strlen (error->message));
    if (error->host[0]) {
        s_pack_key (packer, "host");
        msgpack_pack_str_with_body (packer, error->host, strlen (error->host));
    }
    if (error->pid > 0) {
        s_pack_key (packer, "pid");
        msgpack_pack_int64 (packer, error->pid);
    }
    if (error->signal > 0) {
        s_pack_key (packer, "signal");
        msgpack_pack_int (packer, error->signal);
    }
    if (error->code != 0) {
        s_pack_key (packer, "code");
        msgpack_pack_int (packer, error->code);
    }
    if (error->index >= 0) {
        s_pack_key (packer, "index");
        msgpack_pack_int64 (packer, error->index);
    }
    return 0;
}

static bool
s_key_is (const msgpack_object *key, const char *name)
{
    size_t length = strlen (name);
    return key->type == MSGPACK_OBJECT_STR && key->via.str.size == length
           && memcmp (key->via.str.ptr, name, length) == 0;
}

static void
s_copy_str (const msgpack_object *value, char *buffer, size_t size)
{
    if (value->type != MSGPACK_OBJECT_STR)
        return;
    size_t length =
        value->via.str.size < size - 1 ? value->via.str.size : size - 1;
    if (length)  //  A msgpack "" may have no pointer
        memcpy (buffer, value->via.str.ptr, length);
    buffer[length] = 0;
}

static bool
s_int_value (const msgpack_object *value, int64_t *result)
{
    if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
        && value->via.u64 <= INT64_MAX) {
        *result = (int64_t) value->via.u64;
        return true;
    }
    if (value->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *result = value->via.i64;
        return true;
    }
    return false;
}

//  --------------------------------------------------------------------------
//  Fill error from a wire error map.

void
zmp_error_unpack (zmp_error_t *error, zmp_error_kind_t kind,
                  const msgpack_object *map)
{
    assert (error);
    zmp_error_clear (error);
    error->kind = zmp_error_kind_valid (kind) ? kind : ZMP_ERR_PROTOCOL;
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t index = 0; index < map->via.map.size; index++) {
        const msgpack_object *key = &map->via.map.ptr[index].key;
        const msgpack_object *value = &map->via.map.ptr[index].val;
        int64_t number = 0;
        if (s_key_is (key, "message"))
            s_copy_str (value, error->message, sizeof error->message);
        else if (s_key_is (key, "host"))
            s_copy_str (value, error->host, sizeof error->host);
        else if (s_key_is (key, "pid") && s_int_value (value, &number))
            error->pid = number;
        else if (s_key_is (key, "signal") && s_int_value (value, &number)
                 && number > 0 && number < 128)
            error->signal = (int) number;
        else if (s_key_is (key, "code") && s_int_value (value, &number)
                 && number >= INT32_MIN && number <= INT32_MAX)
            error->code = (int) number;
        else if (s_key_is (key, "index") && s_int_value (value, &number)
                 && number >= 0)
            error->index = number;
    }
}

//  --------------------------------------------------------------------------
//  Name of a signal.

const char *
zmp_signal_name (int signal)
{
    switch (signal) {
        case SIGHUP:
            return "SIGHUP";
        case SIGINT:
            return "SIGINT";
        case SIGQUIT:
            return "SIGQUIT";
        case SIGILL:
            return "SIGILL";
        case SIGTRAP:
            return "SIGTRAP";
        case SIGABRT:
            return "SIGABRT";
        case SIGBUS:
            return "SIGBUS";
        case SIGFPE:
            return "SIGFPE";
        case SIGKILL:
            return "SIGKILL";
        case SIGUSR1:
            return "SIGUSR1";
        case SIGSEGV:
            return "SIGSEGV";
        case SIGUSR2:
            return "SIGUSR2";
        case SIGPIPE:
            return "SIGPIPE";
        case SIGALRM:
            return "SIGALRM";
        case SIGTERM:
            return "SIGTERM";
        case SIGXCPU:
            return "SIGXCPU";
        case SIGXFSZ:
            return "SIGXFSZ";
        case SIGSYS:
            return "SIGSYS";
        default:
            return "signal";
    }
}
