/*  broker_events - the task event log (zmpool broker --event-log FILE)

    One JSON object per line for each change of a task's state, in the
    order the broker learns of them: submitted, dispatched, started,
    finished, failed, retried, cancelled (fields in docs/PROTOCOL.md,
    section 8.1). Lines are buffered, and written when the buffer fills
    and at the end of each broker turn. When the file passes its size
    limit it is renamed to FILE.1 (replacing the one before) and a new FILE
    begins. If the file cannot be written or renamed, the log stops with
    an error in the broker's log, and the broker goes on.
*/
#include "broker_internal.h"

#include "zmp_error.h"
#include "zmp_log.h"

#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

struct broker_events {
    char *path;          //  Owned
    char *rotated;       //  Owned: path.1
    FILE *file;          //  Owned; NULL once writing failed
    uint64_t size;       //  Bytes in the current file
    uint64_t max_bytes;  //  Rotate past this
};

//  Open (append to) self->path; 0 or -1 with errno
static int
s_open (broker_events_t *self)
{
    self->file = fopen (self->path, "a");
    if (!self->file)
        return -1;
    fseek (self->file, 0, SEEK_END);
    long size = ftell (self->file);
    self->size = size > 0 ? (uint64_t) size : 0;
    return 0;
}

broker_events_t *
broker_events_open (const char *path, uint64_t max_bytes, zmp_error_t *error)
{
    assert (path && max_bytes > 0);
    broker_events_t *self = (broker_events_t *) zmalloc (sizeof *self);
    self->path = strdup (path);
    self->rotated = zsys_sprintf ("%s.1", path);
    self->max_bytes = max_bytes;
    if (s_open (self)) {
        zmp_error_set (error, ZMP_ERR_USAGE, "cannot open event log %s: %s",
                       path, strerror (errno));
        broker_events_close (&self);
    }
    return self;
}

void
broker_events_close (broker_events_t **self_p)
{
    if (*self_p) {
        broker_events_t *self = *self_p;
        if (self->file)
            fclose (self->file);
        free (self->path);
        zstr_free (&self->rotated);
        free (self);
        *self_p = NULL;
    }
}

//  Writing failed: stop the log, and say so once
static void
s_give_up (broker_events_t *self, const char *what)
{
    zmp_error ("broker: event log %s: %s: %s; no more events are logged",
               self->path, what, strerror (errno));
    if (self->file)
        fclose (self->file);
    self->file = NULL;
}

void
broker_events_flush (broker_events_t *self)
{
    if (self && self->file && fflush (self->file))
        s_give_up (self, "cannot write");
}

//  Start a new file once this one is past its limit
static void
s_rotate (broker_events_t *self)
{
    if (fclose (self->file)) {
        self->file = NULL;
        s_give_up (self, "cannot write");
        return;
    }
    self->file = NULL;
    if (rename (self->path, self->rotated)) {
        //  Reopened, the same full file would want rotating at every line
        s_give_up (self, "cannot rename it to FILE.1");
        return;
    }
    if (s_open (self))
        s_give_up (self, "cannot open a new file");
}

//  µs since the Unix epoch
static int64_t
s_now_us (void)
{
    struct timeval now;
    gettimeofday (&now, NULL);
    return (int64_t) now.tv_sec * 1000000 + now.tv_usec;
}

//  peer's host as a JSON string, quoted and escaped by jansson once, then
//  kept with the peer: a line is printed, not built as a tree
static const char *
s_host_json (broker_peer_t *peer)
{
    if (!peer->host_json) {
        json_t *host = json_string (peer->hello.host);
        if (!host)  //  Not UTF-8
            host = json_string ("?");
        peer->host_json = json_dumps (host, JSON_ENCODE_ANY);
        json_decref (host);
        assert (peer->host_json);
    }
    return peer->host_json;
}

//  Append to a line: printf-style, within its buffer

typedef struct {
    char text[4096];  //  Hosts are at most 255 bytes, escaped at most 6x
    size_t used;
} s_line_t;

static void s_add (s_line_t *line, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
s_add (s_line_t *line, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int size = vsnprintf (line->text + line->used,
                          sizeof line->text - line->used, format, args);
    va_end (args);
    if (size > 0)
        line->used += (size_t) size;
    if (line->used >= sizeof line->text)
        line->used = sizeof line->text - 1;  //  Cut; never happens
}

void
broker_event (broker_events_t *self, const char *kind,
              const broker_task_t *task, broker_peer_t *worker,
              const broker_event_detail_t *detail)
{
    if (!self || !self->file)
        return;
    //  Function names, kinds and reasons need no escaping: names are
    //  letters, digits and _-.: (zmp_proto_valid_name), the rest constants
    const zmp_proto_usage_t *usage = detail ? detail->usage : NULL;
    bool started = streq (kind, "started");
    int64_t at_us = started && usage ? (int64_t) usage->start_us : s_now_us ();
    s_line_t line;
    line.used = 0;
    s_add (&line,
           "{\"t\":%lld.%06lld,\"event\":\"%s\",\"id\":%llu,\"task\":%llu,"
           "\"client\":%llu,\"function\":\"%s\",\"attempt\":%u",
           (long long) (at_us / 1000000), (long long) (at_us % 1000000), kind,
           (unsigned long long) task->number,
           (unsigned long long) task->task_id,
           (unsigned long long) task->client_number, task->function,
           task->attempt);
    if (task->flags & ZMP_TASK_PROCESS)
        s_add (&line, ",\"process\":true");
    if (streq (kind, "submitted") && task->client)
        s_add (&line, ",\"client_host\":%s,\"client_pid\":%lld",
               s_host_json (task->client), (long long) task->client->hello.pid);
    if (worker)
        s_add (&line, ",\"host\":%s,\"worker_pid\":%lld", s_host_json (worker),
               (long long) worker->hello.pid);
    if (detail && detail->pid > 0)
        s_add (&line, ",\"pid\":%lld", (long long) detail->pid);
    if (detail && detail->status)
        s_add (&line, ",\"error\":\"%s\"",
               zmp_error_kind_name ((zmp_error_kind_t) detail->status));
    if (detail && detail->reason)
        s_add (&line, ",\"reason\":\"%s\"", detail->reason);
    if (usage && !started)
        s_add (&line,
               ",\"wall_us\":%llu,\"user_us\":%llu,\"system_us\":%llu,"
               "\"max_rss_kib\":%llu",
               (unsigned long long) usage->wall_us,
               (unsigned long long) usage->user_us,
               (unsigned long long) usage->system_us,
               (unsigned long long) usage->max_rss_kib);
    s_add (&line, "}\n");
    if (fwrite (line.text, 1, line.used, self->file) != line.used)
        s_give_up (self, "cannot write");
    else {
        self->size += line.used;
        if (self->size >= self->max_bytes)
            s_rotate (self);
    }
}
