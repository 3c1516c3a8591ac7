/*  zmp_log - process-wide logging settings

    The only mutable process-wide state of zmpool lives here: the log level
    and whether main has set logging up. Both are written once, early, by
    main (or by the first client of the library) and read everywhere.
*/
#include "zmp_log.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int s_level = ZMP_LOG_NOTICE;
static atomic_bool s_initialised = false;
static pthread_once_t s_library_once = PTHREAD_ONCE_INIT;

//  --------------------------------------------------------------------------
//  Set up logging and signal handling for a zmpool program.

void
zmp_log_init (const char *ident, bool catch_signals)
{
    assert (ident);
    if (!catch_signals)
        zsys_handler_set (NULL);  //  Before zsys_init, which would install it
    zsys_set_logident (ident);
    zsys_set_logstream (stderr);
    if (catch_signals)
        zsys_catch_interrupts ();
    atomic_store (&s_initialised, true);
}

static void
s_library_init (void)
{
    //  Once, here: czmq's own set-up is not safe from two threads at once
    zsys_init ();
    if (atomic_load (&s_initialised))
        return;
    zsys_handler_set (NULL);
    zsys_set_logident ("zmpool");
    zsys_set_logstream (stderr);
    atomic_store (&s_initialised, true);
}

//  --------------------------------------------------------------------------
//  Set up logging for the client library, once.

void
zmp_log_init_library (void)
{
    pthread_once (&s_library_once, s_library_init);
}

//  --------------------------------------------------------------------------
//  Set the process-wide log level.

void
zmp_log_set_level (zmp_log_level_t level)
{
    atomic_store (&s_level, (int) level);
}

//  --------------------------------------------------------------------------
//  Return the process-wide log level.

zmp_log_level_t
zmp_log_level (void)
{
    return (zmp_log_level_t) atomic_load_explicit (&s_level,
                                                   memory_order_relaxed);
}

//  --------------------------------------------------------------------------
//  Make untrusted text safe for a log line.

const char *
zmp_log_clean (const char *text, size_t size, char *buffer, size_t buffer_size)
{
    assert (buffer && buffer_size >= 4);
    size_t limit = buffer_size - 1;
    bool cut = size > limit;
    if (cut)
        limit -= 3;
    size_t length = size < limit ? size : limit;
    for (size_t index = 0; index < length; index++) {
        unsigned char byte = (unsigned char) text[index];
        buffer[index] = byte >= 0x20 && byte < 0x7f ? (char) byte : '?';
    }
    if (cut) {
        memcpy (buffer + length, "...", 3);
        length += 3;
    }
    buffer[length] = 0;
    return buffer;
}
