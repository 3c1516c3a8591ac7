/*  progress - a progress line on stderr
*/
#include "progress.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct progress {
    char label[64];     //  Shown first
    uint64_t total;     //  Units in all
    double started_at;  //  Monotonic seconds
    double drawn_at;    //  Monotonic seconds of the last redraw
};

static double
s_now (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return now.tv_sec + now.tv_nsec / 1e9;
}

#define PROGRESS_BAR 24  //  Characters of the bar

//  --------------------------------------------------------------------------
//  Start a progress line.

progress_t *
progress_new (const char *label, uint64_t total, bool quiet)
{
    if (quiet || !isatty (STDERR_FILENO))
        return NULL;
    progress_t *self = (progress_t *) calloc (1, sizeof (progress_t));
    if (!self)
        return NULL;
    snprintf (self->label, sizeof self->label, "%s", label);
    self->total = total ? total : 1;
    self->started_at = s_now ();
    return self;
}

//  --------------------------------------------------------------------------
//  Redraw the line, ten times a second at most.

void
progress_update (progress_t *self, uint64_t done)
{
    if (!self)
        return;
    double now = s_now ();
    if (now - self->drawn_at < 0.1 && done < self->total)
        return;
    self->drawn_at = now;
    double elapsed = now - self->started_at;
    double rate = elapsed > 0 ? done / elapsed : 0;
    char eta[32] = "";
    if (rate > 0 && done < self->total)
        snprintf (eta, sizeof eta, "  ETA %.0fs",
                  (double) (self->total - done) / rate);
    char bar[PROGRESS_BAR + 1];
    size_t filled =
        (size_t) ((double) PROGRESS_BAR * (double) done / (double) self->total);
    for (size_t index = 0; index < PROGRESS_BAR; index++)
        bar[index] = index < filled ? '#' : '.';
    bar[PROGRESS_BAR] = 0;
    fprintf (stderr, "\r%s [%s] %llu/%llu  %3.0f%%  %.0f/s%s\033[K",
             self->label, bar, (unsigned long long) done,
             (unsigned long long) self->total,
             100.0 * (double) done / (double) self->total, rate, eta);
    fflush (stderr);
}

//  --------------------------------------------------------------------------
//  Erase and free the line.

void
progress_destroy (progress_t **self_p)
{
    if (*self_p) {
        fprintf (stderr, "\r\033[K");
        fflush (stderr);
        free (*self_p);
        *self_p = NULL;
    }
}
