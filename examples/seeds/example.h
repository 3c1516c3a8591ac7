/*  example - what every seed example needs besides zmpool.h

    The examples read like the Python seeds they mirror; the few lines a C
    program needs beyond that (connect, check an error, print a value as
    Python would) live here. Examples link libzmpool and use only its
    public API, as any user program does.
*/
#ifndef EXAMPLE_H_INCLUDED
#define EXAMPLE_H_INCLUDED

#include <stdio.h>
#include <zmpool.h>

//  Connect to the broker named by $ZMPOOL_BROKER (else the default); on
//  failure print why and exit 1.
zmp_client_t *example_connect (void);

//  Exit 1 with "what: error" if rc is negative.
void example_check (int rc, const char *what, const zmp_error_t *error);

//  Exit 1 with "what: error" if pointer is NULL; else return it.
void *example_must (void *pointer, const char *what, const zmp_error_t *error);

//  Start function (args: count items, may be 0) in a Process; exit on
//  failure. The process's output goes to this program's stdout and stderr.
zmp_process_t *example_process (zmp_client_t *client, const char *function,
                                const msgpack_object *args, uint32_t count);

//  Print value as Python's print would, then a newline: [42, None, 'hello'],
//  {1: '1', 0.25: None}, 3.1415927, True.
void example_print (const msgpack_object *value);

//  The same without the newline, to stream
void example_repr (FILE *stream, const msgpack_object *value);

//  Python's str (): a string as it is, anything else as example_repr.
void example_str (FILE *stream, const msgpack_object *value);

//  Sleep for seconds (a fraction is fine).
void example_sleep (double seconds);

#endif
