/*  progress - a progress line on stderr, for long commands

    Shown only when stderr is a terminal, redrawn at most ten times a
    second: "LABEL [#.......] 1234/20000  6%  5678/s  ETA 3s". When stderr
    is not a terminal every call does nothing, so callers need no checks.
*/
#ifndef PROGRESS_H_INCLUDED
#define PROGRESS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

typedef struct progress progress_t;

//  A progress line for total units, or NULL when stderr is not a terminal
//  (or quiet is set). label is copied.
progress_t *progress_new (const char *label, uint64_t total, bool quiet);

//  done units so far. Does nothing for NULL.
void progress_update (progress_t *self, uint64_t done);

//  Erase the line and free it; sets *self_p to NULL. Does nothing for NULL.
void progress_destroy (progress_t **self_p);

#endif
