/*  store_journal - the state directory: queues and pipes kept across a
    broker restart

    DIR/journal is a file of records, appended as queues and pipe ends
    change. The records of one broker turn are written together
    (zmp_store_journal_sync) before that turn's replies leave; under the
    policy "always" they are also fdatasync'ed first, so an answered put
    is on disk. A record is

        size (uint32, little-endian)  crc32 of the body  body

    and its body a msgpack array. The first is ["zmpool-journal", 1]; then

        ["queue", id, maxsize, joinable, unfinished, closed]   made
        ["pipe", id, other-end, can-send, can-recv, closed]    made (an end)
        ["put", id, item]   an item in (bin); a joinable queue counts it
        ["item", id, item]  an item in, not counted (a compacted journal)
        ["pass", id]        a joinable queue counted an item that went
                            straight to a waiting get
        ["take", id]        its first item out
        ["done", id]        task_done
        ["close", id]       closed (a pipe end's inbox goes with it)
        ["free", id]        destroyed

    At start the journal is replayed into objects with their old ids, each
    held (referenced) for the hold period for its holders to attach again.
    A record cut short at the end (the broker died writing it) is cut off
    with a warning; damage before the end stops the broker from starting:
    nothing is dropped silently. When the file has grown past
    JOURNAL_COMPACT_MIN and twice what a fresh copy of the objects would
    take, it is rewritten as that copy (journal.new, fdatasync'ed, renamed
    over). DIR/lock is locked (flock) while the broker runs: one broker per
    directory.
*/
#include "store_internal.h"

#include "zmp_error.h"
#include "zmp_log.h"
#include "zmp_value.h"

#include <fcntl.h>
#include <limits.h>

#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define JOURNAL_MAGIC       "zmpool-journal"
#define JOURNAL_VERSION     1
#define JOURNAL_HEADER      8           //  Size and crc32
#define JOURNAL_COMPACT_MIN (8u << 20)  //  Bytes before compaction is tried
#define JOURNAL_RECORD_MAX  (ZMP_STORE_BYTES_MAX + 1024)
//  A fresh copy's bytes per record beyond its item, for the estimate
#define JOURNAL_RECORD_COST 40
//  Bytes of a compacted copy kept in memory before they are written
#define JOURNAL_CHUNK (1u << 20)

struct store_journal {
    char *path;               //  Owned: DIR/journal
    char *dir;                //  Owned: DIR
    int fd;                   //  The journal, appended to
    int lock_fd;              //  DIR/lock, locked
    bool fsync;               //  fdatasync each sync
    bool broken;              //  A write failed: the file no longer matches
    msgpack_sbuffer pending;  //  Records not yet written
    msgpack_packer packer;    //  Into pending
    uint64_t size;            //  Bytes in the file
    uint64_t next_check;      //  Size at which to consider compacting
};

static bool
s_journaled (const store_object_t *object)
{
    return object->kind == ZMP_OBJECT_QUEUE || object->kind == ZMP_OBJECT_PIPE;
}

//  --------------------------------------------------------------------------
//  Records

//  Start a record in buffer: room for its header; returns where it starts
static size_t
s_record_begin (msgpack_sbuffer *buffer)
{
    static const char header[JOURNAL_HEADER] = { 0 };
    size_t start = buffer->size;
    msgpack_sbuffer_write (buffer, header, JOURNAL_HEADER);
    return start;
}

static void
s_put_le32 (char *at, uint32_t value)
{
    for (int index = 0; index < 4; index++)
        at[index] = (char) (value >> (8 * index));
}

static uint32_t
s_get_le32 (const unsigned char *at)
{
    return (uint32_t) at[0] | (uint32_t) at[1] << 8 | (uint32_t) at[2] << 16
           | (uint32_t) at[3] << 24;
}

//  Finish the record that starts at start: its size and checksum
static void
s_record_end (msgpack_sbuffer *buffer, size_t start)
{
    size_t size = buffer->size - start - JOURNAL_HEADER;
    const Bytef *body = (const Bytef *) buffer->data + start + JOURNAL_HEADER;
    s_put_le32 (buffer->data + start, (uint32_t) size);
    s_put_le32 (buffer->data + start + 4,
                (uint32_t) crc32 (0, body, (uInt) size));
}

static void
s_pack_bool (msgpack_packer *packer, bool value)
{
    if (value)
        msgpack_pack_true (packer);
    else
        msgpack_pack_false (packer);
}

//  [op, id, ...fields]: the array is begun, the fields are the caller's
static void
s_record_head (msgpack_packer *packer, const char *op, uint64_t id,
               uint32_t fields)
{
    msgpack_pack_array (packer, 2 + fields);
    zmp_pack_cstr (packer, op);
    msgpack_pack_uint64 (packer, id);
}

//  The object as made: a queue or pipe end record
static void
s_pack_object (msgpack_sbuffer *buffer, msgpack_packer *packer,
               const store_object_t *object)
{
    size_t start = s_record_begin (buffer);
    if (object->kind == ZMP_OBJECT_QUEUE) {
        s_record_head (packer, "queue", object->id, 4);
        msgpack_pack_uint64 (packer, object->maxsize);
        s_pack_bool (packer, object->joinable);
        msgpack_pack_uint64 (packer, object->unfinished);
    } else {
        s_record_head (packer, "pipe", object->id, 4);
        msgpack_pack_uint64 (packer, object->other_id);
        s_pack_bool (packer, object->can_send);
        s_pack_bool (packer, object->can_recv);
    }
    s_pack_bool (packer, object->closed);
    s_record_end (buffer, start);
}

static void
s_pack_item (msgpack_sbuffer *buffer, msgpack_packer *packer, const char *op,
             uint64_t id, zframe_t *item)
{
    size_t start = s_record_begin (buffer);
    s_record_head (packer, op, id, 1);
    msgpack_pack_bin (packer, zframe_size (item));
    msgpack_pack_bin_body (packer, zframe_data (item), zframe_size (item));
    s_record_end (buffer, start);
}

static void
s_pack_magic (msgpack_sbuffer *buffer, msgpack_packer *packer)
{
    size_t start = s_record_begin (buffer);
    s_record_head (packer, JOURNAL_MAGIC, JOURNAL_VERSION, 0);
    s_record_end (buffer, start);
}

void
store_journal_new (zmp_store_t *store, store_object_t *object)
{
    store_journal_t *self = store->journal;
    if (self && s_journaled (object))
        s_pack_object (&self->pending, &self->packer, object);
}

void
store_journal_item (zmp_store_t *store, store_object_t *object, const char *op,
                    zframe_t *item)
{
    store_journal_t *self = store->journal;
    if (self && s_journaled (object))
        s_pack_item (&self->pending, &self->packer, op, object->id, item);
}

void
store_journal_op (zmp_store_t *store, store_object_t *object, const char *op)
{
    store_journal_t *self = store->journal;
    if (self && s_journaled (object)) {
        size_t start = s_record_begin (&self->pending);
        s_record_head (&self->packer, op, object->id, 0);
        s_record_end (&self->pending, start);
    }
}

//  --------------------------------------------------------------------------
//  Files

static int
s_write_all (int fd, const char *data, size_t size)
{
    while (size) {
        ssize_t written = write (fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        size -= (size_t) written;
    }
    return 0;
}

//  fsync a directory, so that a file made or renamed in it stays
static int
s_sync_dir (const char *dir)
{
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

static void
s_system_error (zmp_error_t *error, const char *what, const char *path)
{
    zmp_error_set (error, ZMP_ERR_SYSTEM, "state directory: cannot %s %s: %s",
                   what, path, strerror (errno));
}

//  --------------------------------------------------------------------------
//  Replay

//  Apply one record to the store. Returns NULL, or why it cannot be.
static const char *
s_apply (zmp_store_t *store, const msgpack_object *record)
{
    if (record->type != MSGPACK_OBJECT_ARRAY || record->via.array.size < 2
        || record->via.array.ptr[0].type != MSGPACK_OBJECT_STR
        || record->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return "not [operation, object id, ...]";
    const msgpack_object *field = record->via.array.ptr;
    uint32_t fields = record->via.array.size;
    const msgpack_object *op = &field[0];
    uint64_t id = field[1].via.u64;
    if (zmp_str_is (op, "queue") || zmp_str_is (op, "pipe")) {
        bool queue = zmp_str_is (op, "queue");
        if (fields != 6 || field[2].type != MSGPACK_OBJECT_POSITIVE_INTEGER
            || field[5].type != MSGPACK_OBJECT_BOOLEAN
            || field[queue ? 3 : 4].type != MSGPACK_OBJECT_BOOLEAN
            || field[queue ? 4 : 3].type
                   != (queue ? MSGPACK_OBJECT_POSITIVE_INTEGER
                             : MSGPACK_OBJECT_BOOLEAN))
            return "a malformed object record";
        store_object_t *object = store_object_restore (
            store, id, queue ? ZMP_OBJECT_QUEUE : ZMP_OBJECT_PIPE);
        if (!object)
            return "an object made twice";
        object->items = store_items_new ();
        object->refs = 1;
        object->held = true;
        object->closed = field[5].via.boolean;
        if (queue) {
            object->maxsize = field[2].via.u64;
            object->joinable = field[3].via.boolean;
            object->unfinished = field[4].via.u64;
        } else {
            object->other_id = field[2].via.u64;
            object->can_send = field[3].via.boolean;
            object->can_recv = field[4].via.boolean;
        }
        return NULL;
    }
    store_object_t *object = store_object_find (store, id);
    if (!object || !s_journaled (object))
        return "a change of an object it never made";
    if (zmp_str_is (op, "put") || zmp_str_is (op, "item")) {
        if (fields != 3 || field[2].type != MSGPACK_OBJECT_BIN)
            return "a malformed item record";
        zframe_t *item =
            zframe_new (field[2].via.bin.ptr, field[2].via.bin.size);
        store_bytes_add (store, object, zframe_size (item));
        zlistx_add_end (object->items, item);
        if (zmp_str_is (op, "put") && object->joinable)
            object->unfinished++;
    } else if (fields != 2)
        return "a malformed record";
    else if (zmp_str_is (op, "pass")) {
        if (object->joinable)
            object->unfinished++;
    } else if (zmp_str_is (op, "take")) {
        zframe_t *item = (zframe_t *) zlistx_detach (object->items, NULL);
        if (!item)
            return "an item taken from an empty queue";
        store_bytes_sub (store, object, zframe_size (item));
        zframe_destroy (&item);
    } else if (zmp_str_is (op, "done")) {
        if (object->unfinished == 0)
            return "task_done with nothing unfinished";
        object->unfinished--;
    } else if (zmp_str_is (op, "close")) {
        object->closed = true;
        zframe_t *item;
        while (object->kind == ZMP_OBJECT_PIPE
               && (item = (zframe_t *) zlistx_detach (object->items, NULL))) {
            store_bytes_sub (store, object, zframe_size (item));
            zframe_destroy (&item);
        }
    } else if (zmp_str_is (op, "free")) {
        object->held = false;
        object->refs = 1;
        store_object_unref (store, object);
    } else
        return "an unknown operation";
    return NULL;
}

//  Replay the journal open on fd. Returns the bytes of whole records (the
//  rest is a record cut short), or -1 with kind protocol or system.
static int64_t
s_replay (zmp_store_t *store, int fd, const char *path, zmp_error_t *error)
{
    struct stat info;
    if (fstat (fd, &info)) {
        s_system_error (error, "read", path);
        return -1;
    }
    uint64_t file_size = (uint64_t) info.st_size;
    int copy = dup (fd);
    FILE *file = copy >= 0 ? fdopen (copy, "r") : NULL;
    if (!file) {
        s_system_error (error, "read", path);
        if (copy >= 0)
            close (copy);
        return -1;
    }
    unsigned char *body = NULL;
    size_t body_limit = 0;
    uint64_t offset = 0;
    const char *damage = NULL;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    while (offset < file_size && !damage) {
        unsigned char header[JOURNAL_HEADER];
        if (fread (header, 1, JOURNAL_HEADER, file) != JOURNAL_HEADER) {
            if (ferror (file))
                damage = "a read error";
            break;  //  Else cut short
        }
        uint32_t size = s_get_le32 (header);
        uint32_t sum = s_get_le32 (header + 4);
        uint64_t end = offset + JOURNAL_HEADER + size;
        //  A size no record has is damage, wherever it is: a damaged size
        //  must not pass for the end of the file
        if (size > JOURNAL_RECORD_MAX) {
            damage = "a record larger than any the broker writes";
            break;
        }
        if (end > file_size)
            break;  //  Cut short
        if (size > body_limit) {
            body_limit = size;
            body = (unsigned char *) realloc (body, body_limit);
            assert (body);
        }
        if (fread (body, 1, size, file) != size) {
            damage = "a read error";
            break;
        }
        if ((uint32_t) crc32 (0, body, size) != sum) {
            if (end == file_size)
                break;  //  The last record, written in part
            damage = "a record whose checksum does not match";
            break;
        }
        zmp_error_t value_error;
        if (zmp_value_unpack (&unpacked, (const char *) body, size,
                              &value_error))
            damage = "a record that is not msgpack";
        else if (offset == 0) {
            const msgpack_object *magic = &unpacked.data;
            if (magic->type != MSGPACK_OBJECT_ARRAY
                || magic->via.array.size != 2
                || !zmp_str_is (&magic->via.array.ptr[0], JOURNAL_MAGIC))
                damage = "no zmpool journal header";
            else if (magic->via.array.ptr[1].type
                         != MSGPACK_OBJECT_POSITIVE_INTEGER
                     || magic->via.array.ptr[1].via.u64 != JOURNAL_VERSION)
                damage = "a journal version this broker does not read";
        } else
            damage = s_apply (store, &unpacked.data);
        if (!damage)
            offset = end;
    }
    msgpack_unpacked_destroy (&unpacked);
    free (body);
    fclose (file);
    if (damage) {
        zmp_error_set (error, ZMP_ERR_PROTOCOL,
                       "state directory: %s is damaged at byte %llu (%s); "
                       "move it aside to start without it",
                       path, (unsigned long long) offset, damage);
        return -1;
    }
    if (offset < file_size)
        zmp_warning ("broker: %s ends in a record cut short (%llu bytes): "
                     "the broker died writing it; it is cut off",
                     path, (unsigned long long) (file_size - offset));
    return (int64_t) offset;
}

//  --------------------------------------------------------------------------
//  Compaction

//  What a fresh copy of the journaled objects would take, about
static uint64_t
s_live_size (zmp_store_t *store)
{
    uint64_t size = 0;
    for (store_object_t *object =
             (store_object_t *) zhashx_first (store->objects);
         object; object = (store_object_t *) zhashx_next (store->objects))
        if (s_journaled (object))
            size += object->bytes
                    + JOURNAL_RECORD_COST * (1 + zlistx_size (object->items));
    return size;
}

//  Write a fresh copy to DIR/journal.new and rename it over the journal
static int
s_compact (zmp_store_t *store, zmp_error_t *error)
{
    store_journal_t *self = store->journal;
    char temp[PATH_MAX];
    snprintf (temp, sizeof temp, "%s.new", self->path);
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        s_system_error (error, "write", temp);
        return -1;
    }
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    s_pack_magic (&buffer, &packer);
    uint64_t size = 0;
    int rc = 0;
    for (store_object_t *object =
             (store_object_t *) zhashx_first (store->objects);
         object && rc == 0;
         object = (store_object_t *) zhashx_next (store->objects)) {
        if (!s_journaled (object))
            continue;
        s_pack_object (&buffer, &packer, object);
        for (zframe_t *item = (zframe_t *) zlistx_first (object->items);
             item && rc == 0; item = (zframe_t *) zlistx_next (object->items)) {
            s_pack_item (&buffer, &packer, "item", object->id, item);
            if (buffer.size >= JOURNAL_CHUNK) {
                rc = s_write_all (fd, buffer.data, buffer.size);
                size += buffer.size;
                buffer.size = 0;
            }
        }
    }
    if (rc == 0)
        rc = s_write_all (fd, buffer.data, buffer.size);
    size += buffer.size;
    msgpack_sbuffer_destroy (&buffer);
    if (rc == 0)
        rc = fdatasync (fd);
    if (rc == 0)
        rc = rename (temp, self->path);
    if (rc) {
        //  The journal itself is whole: go on with it, and try again later
        zmp_warning ("broker: cannot compact %s (%s): the journal goes on "
                     "growing",
                     self->path, strerror (errno));
        close (fd);
        unlink (temp);
        return 0;
    }
    close (self->fd);
    self->fd = -1;
    if (s_sync_dir (self->dir)) {
        s_system_error (error, "sync", self->dir);
        close (fd);
        return -1;
    }
    //  The copy is the journal now; it is appended to from its end
    if (lseek (fd, 0, SEEK_END) < 0) {
        s_system_error (error, "seek", self->path);
        close (fd);
        return -1;
    }
    zmp_info ("broker: compacted %s from %llu to %llu bytes", self->path,
              (unsigned long long) self->size, (unsigned long long) size);
    self->fd = fd;
    self->size = size;
    return 0;
}

//  Compact if the file has grown past twice what a copy would take
static int
s_maybe_compact (zmp_store_t *store, zmp_error_t *error)
{
    store_journal_t *self = store->journal;
    if (self->size < self->next_check)
        return 0;
    uint64_t live = s_live_size (store);
    int rc = 0;
    if (self->size > 2 * live)
        rc = s_compact (store, error);
    //  Next look when it has grown by half again, or twice the copy
    uint64_t next = self->size + self->size / 2;
    if (next < 2 * live)
        next = 2 * live;
    self->next_check = next > JOURNAL_COMPACT_MIN ? next : JOURNAL_COMPACT_MIN;
    return rc;
}

//  --------------------------------------------------------------------------
//  Open, sync, close

static void
s_journal_free (store_journal_t *self)
{
    if (self->fd >= 0)
        close (self->fd);
    if (self->lock_fd >= 0)
        close (self->lock_fd);  //  And the lock with it
    msgpack_sbuffer_destroy (&self->pending);
    free (self->path);
    free (self->dir);
    free (self);
}

void
store_journal_destroy (store_journal_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        //  Changes not synced are dropped: no reply told of them
        s_journal_free (*self_p);
        *self_p = NULL;
    }
}

//  Counts for the replay's log line
static void
s_count (zmp_store_t *store, size_t *queues, size_t *pipes, size_t *items)
{
    *queues = *pipes = *items = 0;
    for (store_object_t *object =
             (store_object_t *) zhashx_first (store->objects);
         object; object = (store_object_t *) zhashx_next (store->objects))
        if (s_journaled (object)) {
            *(object->kind == ZMP_OBJECT_QUEUE ? queues : pipes) += 1;
            *items += zlistx_size (object->items);
        }
}

int
zmp_store_journal_open (zmp_store_t *self, const char *dir,
                        zmp_store_fsync_t fsync, int64_t hold_ms, int64_t now,
                        zmp_error_t *error)
{
    assert (self && dir && !self->journal);
    assert (zhashx_size (self->objects) == 0);
    if (mkdir (dir, 0700) && errno != EEXIST) {
        s_system_error (error, "make", dir);
        return -1;
    }
    store_journal_t *journal =
        (store_journal_t *) zmalloc (sizeof (store_journal_t));
    journal->fd = -1;
    journal->dir = strdup (dir);
    journal->fsync = fsync == ZMP_STORE_FSYNC_ALWAYS;
    journal->next_check = JOURNAL_COMPACT_MIN;
    msgpack_sbuffer_init (&journal->pending);
    msgpack_packer_init (&journal->packer, &journal->pending,
                         msgpack_sbuffer_write);
    size_t length = strlen (dir) + sizeof "/journal";
    journal->path = (char *) malloc (length);
    assert (journal->path);
    snprintf (journal->path, length, "%s/lock", dir);
    journal->lock_fd = open (journal->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (journal->lock_fd < 0) {
        s_system_error (error, "open", journal->path);
        s_journal_free (journal);
        return -1;
    }
    if (flock (journal->lock_fd, LOCK_EX | LOCK_NB)) {
        if (errno == EWOULDBLOCK)
            zmp_error_set (error, ZMP_ERR_SYSTEM,
                           "state directory %s is in use by another broker",
                           dir);
        else
            s_system_error (error, "lock", journal->path);
        s_journal_free (journal);
        return -1;
    }
    snprintf (journal->path, length, "%s/journal", dir);
    int64_t started = zclock_mono ();
    journal->fd =
        open (journal->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (journal->fd < 0) {
        s_system_error (error, "open", journal->path);
        s_journal_free (journal);
        return -1;
    }
    int64_t valid = s_replay (self, journal->fd, journal->path, error);
    if (valid >= 0 && ftruncate (journal->fd, valid)) {
        s_system_error (error, "cut", journal->path);
        valid = -1;
    }
    if (valid == 0) {
        //  A new journal (or one cut to nothing): its header, on disk
        s_pack_magic (&journal->pending, &journal->packer);
        if (s_write_all (journal->fd, journal->pending.data,
                         journal->pending.size)
            || fdatasync (journal->fd) || s_sync_dir (dir)) {
            s_system_error (error, "write", journal->path);
            valid = -1;
        }
        journal->size = journal->pending.size;
        journal->pending.size = 0;
    } else
        journal->size = (uint64_t) valid;
    if (valid < 0) {
        s_journal_free (journal);
        //  What was replayed goes: the broker does not start
        zhashx_purge (self->objects);
        self->bytes = 0;
        return -1;
    }
    self->journal = journal;
    size_t queues, pipes, items;
    s_count (self, &queues, &pipes, &items);
    if (queues + pipes) {
        self->hold_until = now + (hold_ms > 0 ? hold_ms : 0);
        zmp_notice ("broker: replayed %zu queues and %zu pipe ends with %zu "
                    "items (%llu bytes) from %s in %lld ms; held %lld ms for "
                    "their holders",
                    queues, pipes, items, (unsigned long long) self->bytes,
                    journal->path, (long long) (zclock_mono () - started),
                    (long long) hold_ms);
    }
    return s_maybe_compact (self, error);
}

int
zmp_store_journal_sync (zmp_store_t *self, zmp_error_t *error)
{
    assert (self);
    store_journal_t *journal = self->journal;
    if (!journal || journal->pending.size == 0)
        return 0;
    if (journal->broken) {
        zmp_error_set (error, ZMP_ERR_SYSTEM,
                       "state directory: %s could not be written before",
                       journal->path);
        return -1;
    }
    if (s_write_all (journal->fd, journal->pending.data, journal->pending.size)
        || (journal->fsync && fdatasync (journal->fd))) {
        journal->broken = true;
        s_system_error (error, "write", journal->path);
        //  The records written in part told nobody of anything: the file
        //  goes back to what the replies sent so far tell of
        if (ftruncate (journal->fd, (off_t) journal->size))
            zmp_warning ("broker: cannot cut %s back to %llu bytes: %s",
                         journal->path, (unsigned long long) journal->size,
                         strerror (errno));
        return -1;
    }
    journal->size += journal->pending.size;
    journal->pending.size = 0;
    if (journal->pending.alloc > JOURNAL_CHUNK) {
        //  A turn of large items: give the memory back
        msgpack_sbuffer_destroy (&journal->pending);
        msgpack_sbuffer_init (&journal->pending);
    }
    if (s_maybe_compact (self, error)) {
        journal->broken = true;
        return -1;
    }
    return 0;
}

bool
zmp_store_journaled (zmp_store_t *self)
{
    assert (self);
    return self->journal != NULL;
}

int
zmp_store_state_dir_remove (const char *dir)
{
    assert (dir);
    const char *names[] = { "journal", "journal.new", "lock" };
    for (size_t index = 0; index < sizeof names / sizeof names[0]; index++) {
        char path[PATH_MAX];
        snprintf (path, sizeof path, "%s/%s", dir, names[index]);
        unlink (path);
    }
    return rmdir (dir);
}
