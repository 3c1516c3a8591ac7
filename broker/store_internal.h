/*  store_internal - the object store's records, shared by zmp_store.c
    (lifetimes, waiting lists, dispatch), store_sync.c (locks, semaphores,
    events, conditions, barriers), store_queue.c (queues, pipes) and
    store_data.c (values, arrays, dicts, lists). Included nowhere else.

    object  one shared object; kind-specific fields are used by its kind
    peer    what the store knows of one broker peer: what it attached,
            what it holds, where it waits
    waiter  one blocked call: linked into its object's list (arrival
            order), its peer's list, and the store's timed list when it has
            a deadline. The store owns it; s_waiter_free unlinks all three.
    call    the operation being run: who asked, the verb, its parameters
*/
#ifndef STORE_INTERNAL_H_INCLUDED
#define STORE_INTERNAL_H_INCLUDED

#include "zmp_store.h"

#include "zmp_handle.h"

#include <czmq.h>

typedef struct store_object store_object_t;
typedef struct store_peer store_peer_t;
typedef struct store_waiter store_waiter_t;
typedef struct store_journal store_journal_t;


typedef enum {
    WAIT_GET = 1,  //  Queue get
    WAIT_PUT,      //  Queue put, holding its item
    WAIT_JOIN,     //  Joinable queue join
    WAIT_RECV,     //  Pipe recv
    WAIT_POLL,     //  Pipe poll
    WAIT_ACQUIRE,  //  Lock or semaphore acquire
    WAIT_NOTIFY,   //  Condition wait, before its notify
    WAIT_REGAIN,   //  Condition wait, taking its lock back
    WAIT_EVENT,    //  Event wait
    WAIT_BARRIER   //  Barrier wait
} store_wait_t;

struct store_waiter {
    store_wait_t role;
    store_peer_t *peer;      //  Borrowed: who waits
    uint64_t request_id;     //  Its request, for the reply
    int64_t deadline;        //  zclock_mono () ms, or 0: none
    store_object_t *object;  //  Borrowed: what it waits on
    uint64_t token;          //  Acquire: the thread asking
    uint32_t count;          //  Regain: rlock depth to restore;
                             //  barrier: arrival index
    bool notified;           //  Regain: woken by notify, not timeout
    zframe_t *item;          //  Put: owned item waiting for room, counted
                             //  in the store's bytes
    void *object_handle;     //  In object->waiters
    void *peer_handle;       //  In peer->waiters
    void *timed_handle;      //  In the store's timed list, or NULL
};

struct store_peer {
    char *key;           //  Owned: the broker's routing key
    zhashx_t *attached;  //  Object id -> attach count
    zhashx_t *held;      //  Object id -> locks or semaphore units held
    zlistx_t *waiters;   //  store_waiter_t * (not owned)
};

//  A lock, as a lock, an rlock, or the lock of a condition, value or array
typedef struct {
    store_peer_t *holder;  //  Borrowed; NULL when free
    uint64_t token;        //  The holder's thread
    uint32_t depth;        //  Acquires not yet released (rlock)
    bool reentrant;        //  An rlock
    bool owner_died;       //  The last holder died holding it: tell the
                           //  next acquirer
} store_lock_t;

typedef union {
    int64_t i;   //  Signed typecodes
    uint64_t u;  //  Unsigned typecodes
    double d;    //  'f' and 'd'
} store_number_t;

//  One dict entry, owned by the dict's hash
typedef struct {
    zframe_t *key;       //  Owned: the key's msgpack bytes
    zframe_t *value;     //  Owned
    void *order_handle;  //  In the object's order list
} store_entry_t;

struct store_object {
    uint64_t id;
    zmp_object_kind_t kind;
    uint32_t refs;      //  Attaches and retains, and one for held
    bool held;          //  Replayed from the journal: referenced until
                        //  store->hold_until, for its holders to attach
                        //  again
    uint64_t bytes;     //  Bytes of items stored, counted in the store
    zlistx_t *waiters;  //  store_waiter_t *, in arrival order (not owned)
    store_lock_t lock;  //  Lock, rlock, condition, value, array
    //  Queue and pipe end
    zlistx_t *items;      //  Owned zframe_t *: queue items, or a pipe end's
                          //  inbox
    uint64_t maxsize;     //  Queue bound, 0: none
    bool joinable;        //  Queue counts unfinished items
    uint64_t unfinished;  //  Joinable: puts not yet task_done
    bool closed;          //  Queue, or this pipe end
    uint64_t other_id;    //  Pipe end: the other end
    bool can_send;        //  Pipe end
    bool can_recv;        //  Pipe end
    //  Semaphore
    uint64_t value;    //  Units free
    uint64_t initial;  //  First value (bounded)
    bool bounded;
    bool owner_died;  //  A holder died holding units
    //  Event
    bool flag;
    //  Barrier
    uint32_t parties;
    uint32_t arrived;  //  Waiting now
    bool broken;
    //  Value and array
    char typecode;
    size_t count;             //  Numbers (1 for a value)
    store_number_t *numbers;  //  Owned
    //  Dict
    zhashx_t *entries;  //  Owned store_entry_t * by key frame
    zlistx_t *order;    //  The same entries in insertion order (not owned)
    //  List
    zframe_t **list;  //  Owned frames
    size_t list_size;
    size_t list_limit;
};

//  The operation being run
typedef struct {
    store_peer_t *peer;  //  Borrowed: who asked
    uint64_t request_id;
    const msgpack_object *params;  //  After verb and id
    uint32_t param_count;
    zmsg_t *payloads;  //  Borrowed: payload frames
    int64_t now;       //  zclock_mono () ms
    bool answered;     //  A reply went, or a waiter was queued
} store_call_t;

struct zmp_store {
    zmp_store_reply_fn *reply;
    void *reply_arg;
    zhashx_t *objects;  //  Owned store_object_t * by id
    zhashx_t *peers;    //  Owned store_peer_t * by key
    zlistx_t *timed;    //  store_waiter_t * with a deadline (not
                        //  owned), soonest first
    size_t waiting;     //  All waiters
    uint64_t bytes;     //  Item bytes stored
    uint64_t bytes_max;
    size_t objects_max;
    size_t peer_objects_max;  //  Objects one peer may hold attached
    uint64_t id_key;   //  Random: ids differ from one broker run to the next
    uint64_t next_id;  //  Counter the ids are mixed from
    store_journal_t *journal;  //  Owned, or NULL: no state directory
    int64_t hold_until;  //  zclock_mono () ms the replayed objects are held
                         //  until, or 0: none held
};

//  A verb's handler: runs call on object (NULL for "new")
typedef void (store_verb_fn) (zmp_store_t *store, store_call_t *call,
                              store_object_t *object);

//  A reply being packed
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer packer;
} store_packer_t;

//  zmp_store.c: replies. Each answers call once.
void store_reply_raw (zmp_store_t *store, store_call_t *call, const void *data,
                      size_t size);
void store_reply_nil (zmp_store_t *store, store_call_t *call);
void store_reply_bool (zmp_store_t *store, store_call_t *call, bool value);
void store_reply_uint (zmp_store_t *store, store_call_t *call, uint64_t value);
//  Start packing a reply; returns the packer
msgpack_packer *store_packer_init (store_packer_t *self);
//  Reply with what was packed (and free it)
void store_reply_packed (zmp_store_t *store, store_call_t *call,
                         store_packer_t *packed);
//  Reply with an item frame's bytes (the frame stays the caller's)
void store_reply_frame (zmp_store_t *store, store_call_t *call,
                        zframe_t *frame);
//  Reply with object's handle
void store_reply_handle (zmp_store_t *store, store_call_t *call,
                         store_object_t *object);
void store_reply_error (zmp_store_t *store, store_call_t *call,
                        zmp_error_kind_t kind, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Answer a waiter (which is then freed): a value, or an error
void store_waiter_raw (zmp_store_t *store, store_waiter_t *waiter,
                       const void *data, size_t size);
void store_waiter_packed (zmp_store_t *store, store_waiter_t *waiter,
                          store_packer_t *packed);
//  Answer with an item frame's bytes; destroys the frame
void store_waiter_frame (zmp_store_t *store, store_waiter_t *waiter,
                         zframe_t **frame_p);
void store_waiter_bool (zmp_store_t *store, store_waiter_t *waiter, bool value);
void store_waiter_error (zmp_store_t *store, store_waiter_t *waiter,
                         zmp_error_kind_t kind, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));
//  Free a waiter without answering it
void store_waiter_free (zmp_store_t *store, store_waiter_t *waiter);

//  Make call wait on object in role until timeout_ms (-1: forever) passes.
//  Returns NULL (call answered with kind limit) if its peer already has
//  ZMP_STORE_WAITERS_MAX waiting calls.
store_waiter_t *store_wait (zmp_store_t *store, store_call_t *call,
                            store_object_t *object, store_wait_t role,
                            int64_t timeout_ms);

//  The first waiter of object in role, or NULL
store_waiter_t *store_first_waiter (store_object_t *object, store_wait_t role);

//  False (call answered with kind limit) if count more objects, held by
//  call's peer, would pass the store's limit or the peer's share
bool store_has_room (zmp_store_t *store, store_call_t *call, size_t count);

//  A new object of kind, attached once by call's peer; NULL (answered
//  with kind limit) if the store is full, or the peer holds its share.
store_object_t *store_object_new (zmp_store_t *store, store_call_t *call,
                                  zmp_object_kind_t kind);
store_object_t *store_object_find (zmp_store_t *store, uint64_t id);
//  An object of kind with id, referenced by nobody yet (refs 0); NULL if
//  id is 0 or taken. For the journal's replay.
store_object_t *store_object_restore (zmp_store_t *store, uint64_t id,
                                      zmp_object_kind_t kind);
//  Drop one reference; at zero, free the object and fail its waiters
void store_object_unref (zmp_store_t *store, store_object_t *object);

//  Count item bytes in or out of object and the store. store_bytes_fit is
//  false (call answered with kind limit) if size more would pass the limit.
bool store_bytes_fit (zmp_store_t *store, store_call_t *call, size_t size);
void store_bytes_add (zmp_store_t *store, store_object_t *object, size_t size);
void store_bytes_sub (zmp_store_t *store, store_object_t *object, size_t size);

//  Held units: a peer's count of object's lock or semaphore
void store_held_add (store_peer_t *peer, uint64_t id, uint64_t units);
uint64_t store_held_take (store_peer_t *peer, uint64_t id, uint64_t units);

//  Parameters. Each returns false (call answered with kind protocol) if
//  param index is missing or of the wrong type.
bool store_param_int (zmp_store_t *store, store_call_t *call, uint32_t index,
                      int64_t *value);
bool store_param_uint (zmp_store_t *store, store_call_t *call, uint32_t index,
                       uint64_t max, uint64_t *value);
bool store_param_bool (zmp_store_t *store, store_call_t *call, uint32_t index,
                       bool *value);
bool store_param_timeout (zmp_store_t *store, store_call_t *call,
                          uint32_t index, int64_t *timeout_ms);
//  Payload frame index (borrowed), or NULL (call answered)
zframe_t *store_payload (zmp_store_t *store, store_call_t *call,
                         uint32_t index);

//  store_sync.c
store_verb_fn store_lock_new, store_rlock_new, store_semaphore_new,
    store_event_new, store_condition_new, store_barrier_new;
store_verb_fn store_lock_acquire, store_lock_release, store_semaphore_acquire,
    store_semaphore_release, store_event_set, store_event_clear,
    store_event_is_set, store_event_wait, store_condition_wait,
    store_condition_notify, store_barrier_wait, store_barrier_abort,
    store_barrier_reset, store_barrier_state;
//  A waiter of object timed out
void store_sync_expire (zmp_store_t *store, store_waiter_t *waiter);
//  peer died holding units of object's lock or semaphore
void store_sync_owner_died (zmp_store_t *store, store_object_t *object,
                            store_peer_t *peer, uint64_t units);
//  A barrier waiter's peer is gone: break the barrier for the others
void store_barrier_break (zmp_store_t *store, store_object_t *object);

//  store_queue.c
//  An empty list of item frames, which it owns
zlistx_t *store_items_new (void);
store_verb_fn store_queue_new, store_pipe_new;
store_verb_fn store_queue_put, store_queue_get, store_queue_qsize,
    store_queue_close, store_queue_task_done, store_queue_join, store_pipe_send,
    store_pipe_recv, store_pipe_poll, store_pipe_close;
//  A queue or pipe waiter timed out
void store_queue_expire (zmp_store_t *store, store_waiter_t *waiter);
//  A pipe end closes or goes: its waiters and inbox go, the other end's
//  readers see end of file
void store_pipe_gone (zmp_store_t *store, store_object_t *end);

//  store_data.c
store_verb_fn store_value_new, store_array_new, store_dict_new, store_list_new;
store_verb_fn store_value_get, store_value_set, store_value_add,
    store_array_len, store_array_slice, store_array_set_slice, store_dict_set,
    store_dict_get, store_dict_pop, store_dict_delete, store_dict_contains,
    store_dict_len, store_dict_keys, store_dict_items, store_dict_clear,
    store_list_append, store_list_extend, store_list_insert, store_list_get,
    store_list_set, store_list_delete, store_list_pop, store_list_len,
    store_list_slice, store_list_reverse, store_list_clear;
//  Free what an object's kind owns beyond its fields (a pipe end tells the
//  other end; a dict's entries leave the byte count); its waiters are gone
void store_data_free (zmp_store_t *store, store_object_t *object);

//  store_journal.c: queues and pipes kept in the state directory. Each
//  call notes a change of object (ignored unless the store keeps a journal
//  and object is a queue or a pipe end); zmp_store_journal_sync writes
//  them. new: object was made (its fields set, no items yet); item: op
//  "put" (an item in: a joinable queue counts it) with the item frame; op:
//  "pass" (a joinable queue counted an item handed straight to a get),
//  "take" (its first item out), "done" (task_done), "close", "free".
void store_journal_new (zmp_store_t *store, store_object_t *object);
void store_journal_item (zmp_store_t *store, store_object_t *object,
                         const char *op, zframe_t *item);
void store_journal_op (zmp_store_t *store, store_object_t *object,
                       const char *op);
void store_journal_destroy (store_journal_t **self_p);


#endif
