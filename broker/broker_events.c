/*  broker_events - the task event log (zmpool broker --event-log FILE)

    One JSON object per line for each change of a task's state, in the
    order the broker learns of them: submitted, dispatched, started,
    finished, failed, retried, cancelled (fields in docs/PROTOCOL.md,
    section 8.1). Lines are buffered and written at the end of each broker
    turn. When the file passes its size limit it is renamed to FILE.1
    (replacing the one before) and a new FILE begins. If the file cannot
    be written the log stops, with a warning, and the broker goes on.
*/
#include "broker_internal.h"

#include "zmp_error.h"
#include "zmp_log.h"

#include <errno.h>
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
    uint64_t lines;      //  Written since start
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
    if (rename (self->path, self->rotated))
        zmp_warning ("broker: event log: cannot rename %s to %s: %s",
                     self->path, self->rotated, strerror (errno));
    if (s_open (self))
        s_give_up (self, "cannot open a new file");
}

//  Seconds since the Unix epoch, to the µs
static double
s_now (void)
{
    struct timeval now;
    gettimeofday (&now, NULL);
    return (double) now.tv_sec + now.tv_usec / 1e6;
}

void
broker_event (broker_events_t *self, const char *kind,
              const broker_task_t *task, const broker_peer_t *worker,
              const broker_event_detail_t *detail)
{
    if (!self || !self->file)
        return;
    json_t *line = json_object ();
    double at = s_now ();
    if (detail && detail->usage && strcmp (kind, "started") == 0)
        at = (double) detail->usage->start_us / 1e6;
    json_object_set_new (line, "t", json_real (at));
    json_object_set_new (line, "event", json_string (kind));
    json_object_set_new (line, "id", json_integer ((json_int_t) task->number));
    json_object_set_new (line, "task",
                         json_integer ((json_int_t) task->task_id));
    json_object_set_new (line, "client",
                         json_integer ((json_int_t) task->client_number));
    json_object_set_new (line, "function", json_string (task->function));
    json_object_set_new (line, "attempt", json_integer (task->attempt));
    if (task->flags & ZMP_TASK_PROCESS)
        json_object_set_new (line, "process", json_true ());
    if (strcmp (kind, "submitted") == 0 && task->client) {
        json_object_set_new (line, "client_host",
                             json_string (task->client->hello.host));
        json_object_set_new (line, "client_pid",
                             json_integer (task->client->hello.pid));
    }
    if (worker) {
        json_object_set_new (line, "host", json_string (worker->hello.host));
        json_object_set_new (line, "worker_pid",
                             json_integer (worker->hello.pid));
    }
    if (detail) {
        if (detail->pid > 0)
            json_object_set_new (line, "pid", json_integer (detail->pid));
        if (detail->status)
            json_object_set_new (line, "error",
                                 json_string (zmp_error_kind_name (
                                     (zmp_error_kind_t) detail->status)));
        if (detail->reason)
            json_object_set_new (line, "reason", json_string (detail->reason));
        const zmp_proto_usage_t *usage = detail->usage;
        if (usage && strcmp (kind, "started") != 0) {
            json_object_set_new (line, "wall_us",
                                 json_integer ((json_int_t) usage->wall_us));
            json_object_set_new (line, "user_us",
                                 json_integer ((json_int_t) usage->user_us));
            json_object_set_new (line, "system_us",
                                 json_integer ((json_int_t) usage->system_us));
            json_object_set_new (
                line, "max_rss_kib",
                json_integer ((json_int_t) usage->max_rss_kib));
        }
    }
    char *text = json_dumps (line, JSON_COMPACT | JSON_REAL_PRECISION (16));
    json_decref (line);
    if (!text)
        return;
    size_t length = strlen (text);
    if (fprintf (self->file, "%s\n", text) < 0)
        s_give_up (self, "cannot write");
    else {
        self->size += length + 1;
        self->lines++;
        if (self->size >= self->max_bytes)
            s_rotate (self);
    }
    free (text);
}
