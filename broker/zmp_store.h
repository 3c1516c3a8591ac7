/*  zmp_store - the broker's shared objects: queues, pipes, locks and the
    rest, with their waiting lists

    The store knows nothing of sockets. The broker hands it each OBJECT
    request (zmp_store_call) with the key of the peer that sent it, and the
    store answers through the reply function it was made with: at once, or
    later, when what the caller waits for happens (an item arrives, a lock
    is released) or its deadline passes (zmp_store_expire). A blocking call
    is an entry in its object's waiting list, served in order of arrival;
    nothing is polled.

    An operation is [verb, object-id, *param] with payload frames for the
    values it stores (docs/PROTOCOL.md has the table of verbs). Its reply
    is an outcome, [0, value] or [kind, error map], and for blocking verbs
    the timeout parameter is in ms: -1 waits forever, 0 not at all.

    Lifetimes: each object counts references: one per attach (the creator
    attaches at creation) and one per retain (a task whose arguments hold
    its handle). At zero it is freed and its waiters fail with not_found.
    When a peer goes, its waiters are dropped, its attachments let go, and
    the locks and semaphore counts it held are released: the next acquirer
    is told the owner died.

    Used by the broker thread only.
*/
#ifndef ZMP_STORE_H_INCLUDED
#define ZMP_STORE_H_INCLUDED

#include <czmq.h>
#include <zmpool.h>

//  Default limits: objects alive at once, and bytes of stored items
#define ZMP_STORE_OBJECTS_MAX 1000000
#define ZMP_STORE_BYTES_MAX   (1024ull * 1024 * 1024)
//  Items in one Array
#define ZMP_STORE_ARRAY_MAX (16u * 1024 * 1024)
//  Calls one peer may have waiting at once
#define ZMP_STORE_WAITERS_MAX 10000
//  Bytes a list item costs beyond its own, for the byte limit: a list
//  extended by an array of a million tiny items holds a million frames
#define ZMP_STORE_ITEM_OVERHEAD 64

typedef struct zmp_store zmp_store_t;

//  Deliver body (an outcome; the callee takes it) to the peer with key,
//  as the REPLY to its request_id.
typedef void (zmp_store_reply_fn) (void *arg, const char *peer,
                                   uint64_t request_id, zframe_t **body_p);

//  A new, empty store. objects_max and bytes_max of 0 take the defaults.
zmp_store_t *zmp_store_new (zmp_store_reply_fn *reply, void *arg,
                            size_t objects_max, uint64_t bytes_max);

//  Objects one peer may hold attached at once (made or attached), so that
//  one client cannot take the whole store; 0 takes
//  ZMP_STORE_PEER_OBJECTS_MAX. A new or attach beyond fails with limit.
void zmp_store_set_peer_objects_max (zmp_store_t *self, size_t max);

#define ZMP_STORE_PEER_OBJECTS_MAX 100000

//  Free every object; waiters get no reply. Does nothing if *self_p is
//  NULL.
void zmp_store_destroy (zmp_store_t **self_p);

//  Run one operation from peer. op is the op frame, payloads the frames
//  after it (both borrowed; payloads the store keeps are taken out of
//  the message). The reply goes out through the reply function, now or
//  later; a malformed op gets an outcome with kind protocol. now is
//  zclock_mono () ms.
void zmp_store_call (zmp_store_t *self, const char *peer, uint64_t request_id,
                     zframe_t *op, zmsg_t *payloads, int64_t now);

//  Fail or finish the waits whose deadline is past. Returns the earliest
//  deadline still pending (zclock_mono () ms), or -1 if none.
int64_t zmp_store_expire (zmp_store_t *self, int64_t now);

//  The earliest pending deadline, or -1; does not change anything.
int64_t zmp_store_next_deadline (zmp_store_t *self);

//  The peer with key is gone: drop its waiters, let go of what it
//  attached, release the locks it held (the next acquirer is told the
//  owner died). died: it did not say goodbye (it expired, or its process
//  died); only then do the semaphore units it acquired come back, for a
//  semaphore has no owner and a process that ends cleanly keeps what it
//  took, as in Python.
void zmp_store_peer_gone (zmp_store_t *self, const char *peer, bool died);

//  The peer's process is still there but lost the broker for a while and
//  said HELLO again: drop its waiters (it gave up on them), keep what it
//  attached and what it holds.
void zmp_store_peer_reset (zmp_store_t *self, const char *peer);

//  The peer's process came back on a new connection (key new_key, not
//  yet known to the store): what it attached and holds is now new_key's;
//  its waiters are dropped (it gave up on them).
void zmp_store_peer_rename (zmp_store_t *self, const char *key,
                            const char *new_key);

//  Keep object id alive for a task. Returns 0, or -1 with kind not_found.
int zmp_store_retain (zmp_store_t *self, uint64_t id, zmp_error_t *error);

//  Undo one retain; the object is freed if nobody else holds it.
void zmp_store_release (zmp_store_t *self, uint64_t id);

//  The state directory. ZMP_STORE_FSYNC_ALWAYS: each sync is
//  fdatasync'ed, and an answered change survives the machine's crash;
//  ZMP_STORE_FSYNC_NEVER: written, left to the kernel, and survives the
//  broker's crash only.
typedef enum {
    ZMP_STORE_FSYNC_ALWAYS,
    ZMP_STORE_FSYNC_NEVER
} zmp_store_fsync_t;

//  Keep queues and pipes (their items, counts and state) in a journal in
//  dir, made if missing and locked against a second broker. What the
//  journal holds is replayed first: those objects come back with their
//  ids, each held hold_ms from now for its holders to attach again
//  (zmp_store_expire lets go of them after). Call on a new store, before
//  any other. Returns 0, or -1 with kind system (a file cannot be made,
//  read or written; dir is in use) or protocol (the journal is damaged
//  before its end; a record cut short at its end is cut off).
int zmp_store_journal_open (zmp_store_t *self, const char *dir,
                            zmp_store_fsync_t fsync, int64_t hold_ms,
                            int64_t now, zmp_error_t *error);

//  Write the changes made since the last sync, as the fsync policy says,
//  and compact the journal when it has grown past twice what it holds.
//  Replies must not leave before the changes they tell of are synced.
//  Returns 0 (also without a journal), or -1 with kind system: the journal
//  no longer matches the store, and the broker must stop.
int zmp_store_journal_sync (zmp_store_t *self, zmp_error_t *error);

//  True if the store keeps a journal
bool zmp_store_journaled (zmp_store_t *self);

//  Remove a state directory no broker uses: the files the journal keeps
//  there, then dir. Returns rmdir's 0, or -1 (something else is there).
int zmp_store_state_dir_remove (const char *dir);

//  Objects alive, bytes their items take, callers waiting.
size_t zmp_store_objects (zmp_store_t *self);
uint64_t zmp_store_bytes (zmp_store_t *self);
size_t zmp_store_waiting (zmp_store_t *self);

#endif
