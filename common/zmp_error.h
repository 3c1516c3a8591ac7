/*  zmp_error - structured errors: set, pack to the wire, unpack

    zmp_error_t itself is public (zmpool.h). On the wire an error is the
    status field of a result header (the kind's number) plus an error map
    in the value frame: {"message": str, "host": str, "pid": int,
    "signal": int, "code": int, "index": int}; senders always put "message"; a
    receiver copes without it.
*/
#ifndef ZMP_ERROR_H_INCLUDED
#define ZMP_ERROR_H_INCLUDED

#include <stdarg.h>
#include <zmpool.h>

//  Fill error (if not NULL) with kind and a formatted message; host, pid,
//  signal and code are cleared, index is set to -1.
void zmp_error_set (zmp_error_t *error, zmp_error_kind_t kind,
                    const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

void zmp_error_setv (zmp_error_t *error, zmp_error_kind_t kind,
                     const char *format, va_list args)
    __attribute__ ((format (printf, 3, 0)));

//  Reset error (if not NULL) to kind none, index -1.
void zmp_error_clear (zmp_error_t *error);

//  True if kind is a valid error number (ZMP_ERR_NONE included).
bool zmp_error_kind_valid (uint64_t kind);

//  Pack error as a wire error map. Returns 0.
int zmp_error_pack (const zmp_error_t *error, msgpack_packer *packer);

//  Fill error from the wire: kind from the header, the rest from map (an
//  error map). Unknown keys are ignored; a map without a usable "message"
//  still gives a usable error. Never fails.
void zmp_error_unpack (zmp_error_t *error, zmp_error_kind_t kind,
                       const msgpack_object *map);

//  Name of a signal ("SIGSEGV"), or "signal" if unknown.
const char *zmp_signal_name (int signal);

#endif
