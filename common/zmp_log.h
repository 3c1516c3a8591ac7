/*  zmp_log - process-wide logging settings and level-checked log macros

    Logs go through czmq's zsys_* functions, to stderr (stdout carries
    results). czmq 4.2.1 cannot filter by level, so these macros test the
    level before they format anything: a debug line costs one comparison
    when debugging is off. The level is process-wide, set once by main.

    Beware: zsys_set_logident () and friends create czmq's ZeroMQ context.
    A process that must fork before it has one (the worker agent) calls
    zmp_log_init () only after forking.
*/
#ifndef ZMP_LOG_H_INCLUDED
#define ZMP_LOG_H_INCLUDED

#include <czmq.h>

typedef enum {
    ZMP_LOG_ERROR = 0,
    ZMP_LOG_WARNING = 1,
    ZMP_LOG_NOTICE = 2,
    ZMP_LOG_INFO = 3,
    ZMP_LOG_DEBUG = 4
} zmp_log_level_t;

//  Set up logging for a zmpool program: ident prefixes each line, logs go
//  to stderr, and if catch_signals SIGINT and SIGTERM set zsys_interrupted
//  instead of killing the process. Creates czmq's context.
void zmp_log_init (const char *ident, bool catch_signals);

//  Set up logging for the client library inside someone else's program:
//  logs to stderr; leaves signal handling alone. Does nothing if
//  zmp_log_init () was called first. Thread-safe; runs once.
void zmp_log_init_library (void);

void zmp_log_set_level (zmp_log_level_t level);

zmp_log_level_t zmp_log_level (void);

//  Copy size bytes of untrusted text into buffer (buffer_size >= 4) for a
//  log line: non-printable bytes become '?', long text is cut with "...".
//  Returns buffer.
const char *zmp_log_clean (const char *text, size_t size, char *buffer,
                           size_t buffer_size);

#define ZMP_LOG_IF(level, fn, ...)                                             \
    do {                                                                       \
        if (zmp_log_level () >= (level))                                       \
            fn (__VA_ARGS__);                                                  \
    } while (0)

#define zmp_error(...)   ZMP_LOG_IF (ZMP_LOG_ERROR, zsys_error, __VA_ARGS__)
#define zmp_warning(...) ZMP_LOG_IF (ZMP_LOG_WARNING, zsys_warning, __VA_ARGS__)
#define zmp_notice(...)  ZMP_LOG_IF (ZMP_LOG_NOTICE, zsys_notice, __VA_ARGS__)
#define zmp_info(...)    ZMP_LOG_IF (ZMP_LOG_INFO, zsys_info, __VA_ARGS__)
#define zmp_debug(...)   ZMP_LOG_IF (ZMP_LOG_DEBUG, zsys_debug, __VA_ARGS__)

#endif
