/*  zmp_sched - the broker's scheduler: peers, pools, tasks and dispatch

    Fairness is two rotations: clients take turns, and within a client its
    pools take turns. After a client gives a task, it moves to the end of
    the client list (zlistx_move_end), and the pool that gave it to the end
    of the client's pool list, so one busy client or pool cannot starve the
    others however many tasks it queued.

    Credit: each worker has a window of slots + prefetch places; a task
    dispatched takes a free place (its window slot travels in DISPATCH and
    comes back in DONE), and nothing is sent to a worker with no free
    place. Idle slots are filled before prefetch places, across workers.
*/
#include "broker_internal.h"

#include "zmp_error.h"
#include "zmp_handle.h"
#include "zmp_log.h"
#include "zmp_value.h"

static void
s_pool_free (void **item_p)
{
    broker_pool_t *pool = (broker_pool_t *) *item_p;
    if (pool) {
        zlistx_destroy (&pool->queue);  //  Destroys its queued tasks
        free (pool);
        *item_p = NULL;
    }
}

static void
s_task_free (void **item_p)
{
    broker_task_destroy ((broker_task_t **) item_p);
}

static void
s_zmsg_free (void **item_p)
{
    zmsg_destroy ((zmsg_t **) item_p);
}

static void
s_peer_free (void **item_p)
{
    broker_peer_t *peer = (broker_peer_t *) *item_p;
    if (peer) {
        if (peer->window)
            for (uint32_t slot = 0; slot < peer->capacity; slot++)
                broker_task_destroy (&peer->window[slot]);
        free (peer->window);
        free (peer->free_slots);
        zhashx_destroy (&peer->pools);
        if (peer->processes)
            for (broker_task_t *task =
                     (broker_task_t *) zhashx_first (peer->processes);
                 task; task = (broker_task_t *) zhashx_next (peer->processes))
                broker_task_destroy (&task);
        zhashx_destroy (&peer->processes);
        zlistx_destroy (&peer->pool_order);
        zmsg_destroy (&peer->outgoing);
        zlistx_destroy (&peer->backlog);
        zframe_destroy (&peer->routing_id);
        free (peer->host_json);
        free (peer);
        *item_p = NULL;
    }
}

//  Pool ids are the hash keys, as pointers: set the hash up for that
static size_t
s_id_hash (const void *key)
{
    return (size_t) (uintptr_t) key * 2654435761u;
}

static int
s_id_compare (const void *key1, const void *key2)
{
    uintptr_t id1 = (uintptr_t) key1, id2 = (uintptr_t) key2;
    return id1 < id2 ? -1 : id1 > id2;
}

static void *
s_pool_key (uint32_t pool_id)
{
    return (void *) ((uintptr_t) pool_id + 1);  //  Never NULL
}

//  Dispatch numbers (never 0) key the process tables
static void *
s_seq_key (uint64_t seq)
{
    return (void *) (uintptr_t) seq;
}

static zhashx_t *
s_id_hash_new (void)
{
    zhashx_t *hash = zhashx_new ();
    zhashx_set_key_hasher (hash, s_id_hash);
    zhashx_set_key_comparator (hash, s_id_compare);
    zhashx_set_key_duplicator (hash, NULL);
    zhashx_set_key_destructor (hash, NULL);
    return hash;
}

//  --------------------------------------------------------------------------
//  Set the scheduler up.

void
broker_sched_init (broker_sched_t *sched, int prefetch, uint32_t retries,
                   zmp_store_t *store)
{
    memset (sched, 0, sizeof *sched);
    sched->retries = retries;
    sched->store = store;
    sched->pending = zlistx_new ();
    zlistx_set_destructor (sched->pending, s_task_free);
    sched->peers = zhashx_new ();
    zhashx_set_destructor (sched->peers, s_peer_free);
    sched->workers = zlistx_new ();
    sched->clients = zlistx_new ();
    sched->dirty = zlistx_new ();
    sched->prefetch = prefetch;
    sched->next_seq = 1;
}

//  --------------------------------------------------------------------------
//  Free everything the scheduler holds.

void
broker_sched_destroy (broker_sched_t *sched)
{
    zlistx_destroy (&sched->dirty);
    zlistx_destroy (&sched->pending);
    zlistx_destroy (&sched->workers);
    zlistx_destroy (&sched->clients);
    zhashx_destroy (&sched->peers);
}

//  --------------------------------------------------------------------------
//  Hex key of a routing id.

void
broker_routing_key (zframe_t *routing_id, char *key)
{
    static const char hex[] = "0123456789abcdef";
    const byte *data = zframe_data (routing_id);
    size_t size = zframe_size (routing_id);
    if (size > 256)
        size = 256;  //  libzmq caps routing ids at 255 bytes
    for (size_t index = 0; index < size; index++) {
        key[2 * index] = hex[data[index] >> 4];
        key[2 * index + 1] = hex[data[index] & 15];
    }
    key[2 * size] = 0;
}

//  --------------------------------------------------------------------------
//  Find a peer by routing key.

broker_peer_t *
broker_peer_lookup (broker_sched_t *sched, const char *key)
{
    return (broker_peer_t *) zhashx_lookup (sched->peers, key);
}

//  The most prefetch a worker with slots may ever get.
static uint32_t
s_prefetch_most (broker_sched_t *sched, uint32_t slots)
{
    if (sched->prefetch >= 0)
        return (uint32_t) sched->prefetch;
    uint64_t most = (uint64_t) slots * BROKER_PREFETCH_PER_SLOT;
    return most > BROKER_PREFETCH_MAX ? BROKER_PREFETCH_MAX : (uint32_t) most;
}

//  --------------------------------------------------------------------------
//  How many tasks a worker may hold now.

uint32_t
broker_window_limit (broker_sched_t *sched, broker_peer_t *worker)
{
    uint32_t slots = worker->hello.slots;
    if (sched->prefetch >= 0)
        return slots + (uint32_t) sched->prefetch;
    uint32_t prefetch = BROKER_PREFETCH_MIN;
    if (worker->run_us > 0) {
        double wanted = (double) slots * BROKER_QUEUED_US / worker->run_us;
        uint32_t most = s_prefetch_most (sched, slots);
        prefetch = wanted >= most ? most : (uint32_t) wanted;
        if (prefetch < BROKER_PREFETCH_MIN)
            prefetch = BROKER_PREFETCH_MIN;
    }
    return slots + prefetch;
}

//  --------------------------------------------------------------------------
//  Register a peer from its HELLO.

broker_peer_t *
broker_peer_add (broker_sched_t *sched, zframe_t **routing_id_p,
                 const char *key, const zmp_proto_hello_t *hello, int64_t now)
{
    broker_peer_t *peer = (broker_peer_t *) zmalloc (sizeof (broker_peer_t));
    snprintf (peer->key, sizeof peer->key, "%s", key);
    peer->number = ++sched->next_number;
    peer->routing_id = *routing_id_p;
    *routing_id_p = NULL;
    peer->hello = *hello;
    peer->seen_at = peer->joined_at = now;
    peer->sent_at = now;
    peer->backlog = zlistx_new ();
    zlistx_set_destructor (peer->backlog, s_zmsg_free);
    if (hello->role == ZMP_ROLE_WORKER) {
        peer->capacity = hello->slots + s_prefetch_most (sched, hello->slots);
        peer->window = (broker_task_t **) zmalloc (peer->capacity
                                                   * sizeof (broker_task_t *));
        peer->free_slots =
            (uint32_t *) zmalloc (peer->capacity * sizeof (uint32_t));
        //  Pop order 0, 1, 2...: the stack holds them highest first
        for (uint32_t slot = 0; slot < peer->capacity; slot++)
            peer->free_slots[slot] = peer->capacity - 1 - slot;
        peer->free_count = peer->capacity;
        peer->processes = s_id_hash_new ();  //  Tasks freed by hand: a
                                             //  zhashx cannot detach
        peer->handle = zlistx_add_end (sched->workers, peer);
        sched->slots += hello->slots;
    } else {
        peer->pools = s_id_hash_new ();
        zhashx_set_destructor (peer->pools, s_pool_free);
        peer->pool_order = zlistx_new ();
        peer->handle = zlistx_add_end (sched->clients, peer);
    }
    zhashx_insert (sched->peers, key, peer);
    return peer;
}

//  The event log's line for a task that will not finish
static void
s_cancelled (broker_sched_t *sched, broker_task_t *task, const char *reason)
{
    broker_event_detail_t detail = { 0, 0, NULL, reason };
    broker_event (sched->events, "cancelled", task, task->worker, &detail);
    task->cancel_logged = true;
}

//  ...for each task waiting in queue
static void
s_cancelled_all (broker_sched_t *sched, zlistx_t *queue, const char *reason)
{
    if (sched->events)
        for (broker_task_t *task = (broker_task_t *) zlistx_first (queue); task;
             task = (broker_task_t *) zlistx_next (queue))
            s_cancelled (sched, task, reason);
}

//  Stop a task that is running at a worker on behalf of someone gone.
static void
s_task_abort (broker_sched_t *sched, broker_task_t *task)
{
    if (task->worker && !task->worker->gone) {
        zframe_t *abort = zmp_proto_encode_abort (task->slot, task->seq);
        broker_peer_queue (sched, task->worker, ZMP_PROTO_ABORT, &abort, NULL);
    }
}

//  Drop all of a client's pools: queued tasks go, running ones are stopped
//  and orphaned (their results will be dropped).
static void
s_client_clear (broker_sched_t *sched, broker_peer_t *client)
{
    for (broker_pool_t *pool = (broker_pool_t *) zhashx_first (client->pools);
         pool; pool = (broker_pool_t *) zhashx_next (client->pools)) {
        s_cancelled_all (sched, pool->queue, "client_gone");
        sched->queued -= zlistx_size (pool->queue);
    }
    client->queued = 0;
    zlistx_purge (client->pool_order);
    zhashx_purge (client->pools);  //  Destroys queued tasks
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker; worker = (broker_peer_t *) zlistx_next (sched->workers))
        for (uint32_t slot = 0; slot < worker->capacity; slot++) {
            broker_task_t *task = worker->window[slot];
            if (task && task->client == client) {
                s_cancelled (sched, task, "client_gone");
                task->client = NULL;
                task->pool = NULL;
                s_task_abort (sched, task);
            }
        }
    client->running = 0;
    //  Its Processes go with it: those waiting are dropped, those running
    //  killed
    broker_task_t *task = (broker_task_t *) zlistx_first (sched->pending);
    while (task) {
        void *handle = zlistx_cursor (sched->pending);
        task = (broker_task_t *) zlistx_next (sched->pending);
        broker_task_t *gone = (broker_task_t *) zlistx_handle_item (handle);
        if (gone->client == client) {
            s_cancelled (sched, gone, "client_gone");
            zlistx_delete (sched->pending, handle);  //  Not the cursor
        }
    }
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker; worker = (broker_peer_t *) zlistx_next (sched->workers))
        for (task = (broker_task_t *) zhashx_first (worker->processes); task;
             task = (broker_task_t *) zhashx_next (worker->processes))
            if (task->client == client) {
                s_cancelled (sched, task, "client_gone");
                task->client = NULL;
                s_task_abort (sched, task);
            }
}

//  A worker is gone: every task in its window fails with worker_lost.
static void
s_worker_clear (broker_sched_t *sched, broker_peer_t *worker)
{
    for (uint32_t slot = 0; slot < worker->capacity; slot++) {
        broker_task_t *task = worker->window[slot];
        if (!task)
            continue;
        worker->window[slot] = NULL;
        task->worker = NULL;
        if (task->pool && task->lost < sched->retries) {
            //  No fault of the task's: it runs again, first in its pool
            task->lost++;
            broker_task_requeue (sched, task, "worker_lost");
            continue;
        }
        zmp_error_t error;
        zmp_error_set (&error, ZMP_ERR_WORKER_LOST,
                       "the worker running task %s (pid %lld) was lost, "
                       "after %u other lost workers",
                       task->function, (long long) worker->hello.pid,
                       task->lost);
        snprintf (error.host, sizeof error.host, "%s", worker->hello.host);
        zframe_t *value = zmp_proto_encode_error (&error);
        sched->counters.lost++;
        broker_task_result (sched, task, ZMP_ERR_WORKER_LOST, 0, worker, NULL,
                            &value);
        broker_task_destroy (&task);
    }
    zlistx_t *processes = zhashx_values (worker->processes);
    zhashx_purge (worker->processes);
    for (broker_task_t *task = (broker_task_t *) zlistx_first (processes); task;
         task = (broker_task_t *) zlistx_next (processes)) {
        zmp_error_t error;
        zmp_error_set (&error, ZMP_ERR_WORKER_LOST,
                       "the worker running process %s (pid %lld) was lost",
                       task->function, (long long) worker->hello.pid);
        snprintf (error.host, sizeof error.host, "%s", worker->hello.host);
        zframe_t *value = zmp_proto_encode_error (&error);
        sched->counters.lost++;
        broker_task_result (sched, task, ZMP_ERR_WORKER_LOST, 0, worker, NULL,
                            &value);
        broker_task_destroy (&task);
    }
    zlistx_destroy (&processes);
    worker->in_flight = 0;
    worker->free_count = 0;
    sched->slots -= worker->hello.slots;
}

//  --------------------------------------------------------------------------
//  A peer left.

void
broker_peer_remove (broker_sched_t *sched, broker_peer_t *peer, const char *why,
                    broker_departure_t departure)
{
    if (peer->gone)
        return;
    char name[64];
    zmp_log_clean (peer->hello.name, strlen (peer->hello.name), name,
                   sizeof name);
    zmp_notice ("broker: %s %s (%s pid %lld) left: %s",
                peer->hello.role == ZMP_ROLE_WORKER ? "worker" : "client",
                name[0] ? name : peer->key, peer->hello.host,
                (long long) peer->hello.pid, why);
    peer->gone = true;  //  First: no ABORT or result is queued to it
    if (peer->hello.role == ZMP_ROLE_WORKER) {
        s_worker_clear (sched, peer);
        zlistx_delete (sched->workers, peer->handle);
        peer->handle = NULL;
        //  Its task processes died with it, or soon will
        broker_forget_task_clients (sched, peer, 0, "its worker left");
    } else {
        s_client_clear (sched, peer);
        zlistx_delete (sched->clients, peer->handle);
        peer->handle = NULL;
        if (departure == BROKER_PEER_RETURNED)
            zmp_store_peer_reset (sched->store, peer->key);
        else
            zmp_store_peer_gone (sched->store, peer->key,
                                 departure == BROKER_PEER_DIED);
    }
}

//  --------------------------------------------------------------------------
//  Free the peers that left this turn.

void
broker_sched_reap (broker_sched_t *sched)
{
    //  Collect first: deleting while iterating a zhashx is not allowed
    zlistx_t *gone = zlistx_new ();
    for (broker_peer_t *peer = (broker_peer_t *) zhashx_first (sched->peers);
         peer; peer = (broker_peer_t *) zhashx_next (sched->peers))
        if (peer->gone)
            zlistx_add_end (gone, peer->key);
    for (const char *key = (const char *) zlistx_first (gone); key;
         key = (const char *) zlistx_next (gone)) {
        broker_peer_t *peer = broker_peer_lookup (sched, key);
        if (peer->dirty_handle)
            zlistx_delete (sched->dirty, peer->dirty_handle);
        zhashx_delete (sched->peers, key);  //  Frees the peer, key with it
    }
    zlistx_destroy (&gone);
}

//  --------------------------------------------------------------------------
//  Append frames to a peer's outgoing message.

void
broker_peer_queue (broker_sched_t *sched, broker_peer_t *peer,
                   zmp_proto_command_t command, zframe_t **first_p,
                   zframe_t **second_p)
{
    if (peer->gone) {
        zframe_destroy (first_p);
        if (second_p)
            zframe_destroy (second_p);
        return;
    }
    if (peer->outgoing) {
        //  One outgoing message per peer and command: a different command
        //  (rare: an ABORT among DISPATCHes) or a full batch goes to the
        //  backlog first, in order
        zframe_t *header = zmsg_first (peer->outgoing);
        size_t per_item = second_p ? 2 : 1;
        size_t items = (zmsg_size (peer->outgoing) - 1) / per_item;
        if (zframe_data (header)[3] != (byte) command
            || items >= ZMP_PROTO_BATCH_MAX) {
            zlistx_add_end (peer->backlog, peer->outgoing);
            peer->outgoing = NULL;
        }
    }
    if (!peer->outgoing) {
        peer->outgoing = zmp_proto_new (command);
        if (!peer->dirty_handle)
            peer->dirty_handle = zlistx_add_end (sched->dirty, peer);
    }
    zmsg_append (peer->outgoing, first_p);
    if (second_p && *second_p)
        zmsg_append (peer->outgoing, second_p);
}

static void
s_pool_forget (broker_sched_t *sched, broker_pool_t *pool)
{
    broker_peer_t *client = pool->client;
    sched->queued -= zlistx_size (pool->queue);
    client->queued -= zlistx_size (pool->queue);
    zlistx_delete (client->pool_order, pool->handle);
    zhashx_delete (client->pools, s_pool_key (pool->pool_id));
}

//  --------------------------------------------------------------------------
//  Find or make a client's pool.

broker_pool_t *
broker_pool_get (broker_sched_t *sched, broker_peer_t *client, uint32_t pool_id)
{
    (void) sched;
    broker_pool_t *pool =
        (broker_pool_t *) zhashx_lookup (client->pools, s_pool_key (pool_id));
    if (!pool) {
        pool = (broker_pool_t *) zmalloc (sizeof (broker_pool_t));
        pool->pool_id = pool_id;
        pool->client = client;
        pool->queue = zlistx_new ();
        zlistx_set_destructor (pool->queue, s_task_free);
        pool->handle = zlistx_add_end (client->pool_order, pool);
        zhashx_insert (client->pools, s_pool_key (pool_id), pool);
    }
    return pool;
}

//  --------------------------------------------------------------------------
//  Find a client's pool.

broker_pool_t *
broker_pool_find (broker_sched_t *sched, broker_peer_t *client,
                  uint32_t pool_id)
{
    (void) sched;
    return (broker_pool_t *) zhashx_lookup (client->pools,
                                            s_pool_key (pool_id));
}

//  --------------------------------------------------------------------------
//  The client closed a pool: free it now if idle, else once it is.

void
broker_pool_close (broker_sched_t *sched, broker_pool_t *pool)
{
    pool->closed = true;
    if (zlistx_size (pool->queue) == 0 && pool->running == 0)
        s_pool_forget (sched, pool);
}

//  --------------------------------------------------------------------------
//  Cancel every task of a pool: drop the queued, stop the running. The
//  client already counts them all as cancelled; no results follow.

void
broker_pool_cancel (broker_sched_t *sched, broker_pool_t *pool)
{
    broker_peer_t *client = pool->client;
    s_cancelled_all (sched, pool->queue, "pool_cancelled");
    sched->queued -= zlistx_size (pool->queue);
    client->queued -= zlistx_size (pool->queue);
    zlistx_purge (pool->queue);
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker; worker = (broker_peer_t *) zlistx_next (sched->workers))
        for (uint32_t slot = 0; slot < worker->capacity; slot++) {
            broker_task_t *task = worker->window[slot];
            if (task && task->pool == pool) {
                s_cancelled (sched, task, "pool_cancelled");
                task->client = NULL;
                task->pool = NULL;
                pool->running--;
                client->running--;
                s_task_abort (sched, task);
            }
        }
    if (pool->closed)
        s_pool_forget (sched, pool);
}

//  --------------------------------------------------------------------------
//  Cancel one task of a pool. The client already counts it as cancelled.

void
broker_task_cancel (broker_sched_t *sched, broker_pool_t *pool,
                    uint64_t task_id)
{
    broker_peer_t *client = pool->client;
    bool found = false;
    for (broker_task_t *task = (broker_task_t *) zlistx_first (pool->queue);
         task && !found; task = (broker_task_t *) zlistx_next (pool->queue))
        if (task->task_id == task_id) {
            s_cancelled (sched, task, "cancelled");
            zlistx_delete (pool->queue, zlistx_cursor (pool->queue));
            sched->queued--;
            client->queued--;
            found = true;
        }
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker && !found;
         worker = (broker_peer_t *) zlistx_next (sched->workers))
        for (uint32_t slot = 0; slot < worker->capacity && !found; slot++) {
            broker_task_t *task = worker->window[slot];
            if (task && task->pool == pool && task->task_id == task_id) {
                s_cancelled (sched, task, "cancelled");
                task->client = NULL;
                task->pool = NULL;
                pool->running--;
                client->running--;
                s_task_abort (sched, task);
                found = true;
            }
        }
    if (found && pool->closed && pool->running == 0
        && zlistx_size (pool->queue) == 0)
        s_pool_forget (sched, pool);
}

//  --------------------------------------------------------------------------
//  Queue a task in its pool.


void
broker_task_queue (broker_sched_t *sched, broker_task_t *task)
{
    if (task->flags & ZMP_TASK_PROCESS) {
        assert (task->client && !task->pool);
        task->number = ++sched->next_task;
        broker_event (sched->events, "submitted", task, NULL, NULL);
        zlistx_add_end (sched->pending, task);
        return;
    }
    assert (task->pool && task->client);
    task->number = ++sched->next_task;
    broker_event (sched->events, "submitted", task, NULL, NULL);
    zlistx_add_end (task->pool->queue, task);
    task->client->queued++;
    sched->queued++;
}

//  --------------------------------------------------------------------------
//  Send a task's result to its client.

void
broker_task_result (broker_sched_t *sched, broker_task_t *task, uint32_t status,
                    int64_t pid, broker_peer_t *worker,
                    const zmp_proto_usage_t *usage, zframe_t **value_p)
{
    sched->counters.completed++;
    if (status)
        sched->counters.failed++;
    broker_event_detail_t detail = { status, pid, usage, NULL };
    //  A task cancelled already (its client or pool gone) has had its last
    //  line, whatever ends it now
    bool logged = task->cancel_logged;
    if (usage && !logged) {
        broker_event_detail_t start = { 0, pid, usage, NULL };
        broker_event (sched->events, "started", task, worker, &start);
        if (worker) {
            worker->task_user_us = (uint64_t) zmp_usage_add (
                (int64_t) worker->task_user_us, usage->user_us);
            worker->task_system_us = (uint64_t) zmp_usage_add (
                (int64_t) worker->task_system_us, usage->system_us);
            if (usage->max_rss_kib > worker->task_max_rss_kib)
                worker->task_max_rss_kib = usage->max_rss_kib;
        }
        if (task->client)
            task->client->cpu_us = (uint64_t) zmp_usage_add (
                zmp_usage_add ((int64_t) task->client->cpu_us, usage->user_us),
                usage->system_us);
    }
    if (!logged)
        broker_event (sched->events, status ? "failed" : "finished", task,
                      worker, &detail);
    broker_pool_t *pool = task->pool;
    if (pool) {
        pool->running--;
        task->client->running--;
        task->client->completed++;
        if (pool->closed && pool->running == 0
            && zlistx_size (pool->queue) == 0)
            s_pool_forget (sched, pool);
    }
    if (!task->client) {
        zframe_destroy (value_p);
        return;
    }
    zmp_proto_result_t result = { .task_id = task->task_id,
                                  .status = status,
                                  .pid = pid };
    if (usage && worker) {
        result.has_usage = true;
        result.usage = *usage;
        snprintf (result.host, sizeof result.host, "%s", worker->hello.host);
    }
    zframe_t *header = zmp_proto_encode_result (&result);
    broker_peer_queue (sched, task->client, ZMP_PROTO_RESULT, &header, value_p);
}

//  --------------------------------------------------------------------------
//  Queue a dispatched pool task again, first in its pool.

void
broker_task_requeue (broker_sched_t *sched, broker_task_t *task,
                     const char *reason)
{
    broker_event_detail_t detail = { 0, 0, NULL, reason };
    broker_event (sched->events, "retried", task, NULL, &detail);
    assert (task->pool && task->client && !task->worker);
    task->pool->running--;
    task->client->running--;
    zlistx_add_start (task->pool->queue, task);
    task->client->queued++;
    sched->queued++;
    sched->counters.retried++;
}

//  --------------------------------------------------------------------------
//  Free a task.

void
broker_task_destroy (broker_task_t **task_p)
{
    if (*task_p) {
        broker_task_t *task = *task_p;
        for (uint32_t index = 0; index < task->handle_count; index++)
            zmp_store_release (task->store, task->handles[index]);
        free (task->handles);
        zframe_destroy (&task->args);
        free (task);
        *task_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Retain the objects a task's arguments name.

int
broker_task_retain (broker_sched_t *sched, broker_task_t *task,
                    zmp_error_t *error)
{
    assert (task->args && task->handle_count == 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    uint64_t ids[ZMP_HANDLE_TASK_MAX];
    size_t count = 0;
    int rc = -1;
    zmp_error_t cause;
    if (zmp_value_unpack (&unpacked, zframe_data (task->args),
                          zframe_size (task->args), &cause))
        zmp_error_set (error, ZMP_ERR_BAD_ARGUMENTS,
                       "arguments are not one msgpack value: %s",
                       cause.message);
    else if ((count =
                  zmp_handle_collect (&unpacked.data, ids, ZMP_HANDLE_TASK_MAX))
             > ZMP_HANDLE_TASK_MAX)
        zmp_error_set (error, ZMP_ERR_LIMIT,
                       "the arguments hold %zu handles; a task may hold %d",
                       count, ZMP_HANDLE_TASK_MAX);
    else {
        rc = 0;
        for (size_t index = 0; index < count && rc == 0; index++)
            if (zmp_store_retain (sched->store, ids[index], error)) {
                while (index-- > 0)
                    zmp_store_release (sched->store, ids[index]);
                rc = -1;
            }
    }
    if (rc == 0 && count > 0) {
        task->handles = (uint64_t *) zmalloc (count * sizeof (uint64_t));
        memcpy (task->handles, ids, count * sizeof (uint64_t));
        task->handle_count = (uint32_t) count;
        task->store = sched->store;
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}

//  --------------------------------------------------------------------------
//  Processes at a worker.

broker_task_t *
broker_process_find (broker_peer_t *worker, uint64_t seq)
{
    return (broker_task_t *) zhashx_lookup (worker->processes, s_seq_key (seq));
}

broker_task_t *
broker_process_take (broker_peer_t *worker, uint64_t seq)
{
    broker_task_t *task = broker_process_find (worker, seq);
    if (task) {
        zhashx_delete (worker->processes, s_seq_key (seq));
        task->worker = NULL;
    }
    return task;
}

//  --------------------------------------------------------------------------
//  Signal a client's Process.

void
broker_process_kill (broker_sched_t *sched, broker_peer_t *client,
                     uint64_t task_id, uint32_t signal)
{
    for (broker_task_t *task = (broker_task_t *) zlistx_first (sched->pending);
         task; task = (broker_task_t *) zlistx_next (sched->pending))
        if (task->client == client && task->task_id == task_id) {
            zlistx_detach_cur (sched->pending);
            zmp_error_t error;
            zmp_error_set (&error, ZMP_ERR_CRASHED,
                           "process %s was killed before it started",
                           task->function);
            error.signal = (int) signal;
            zframe_t *value = zmp_proto_encode_error (&error);
            broker_task_result (sched, task, ZMP_ERR_CRASHED, 0, NULL, NULL,
                                &value);
            broker_task_destroy (&task);
            return;
        }
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker; worker = (broker_peer_t *) zlistx_next (sched->workers))
        for (broker_task_t *task =
                 (broker_task_t *) zhashx_first (worker->processes);
             task; task = (broker_task_t *) zhashx_next (worker->processes))
            if (task->client == client && task->task_id == task_id) {
                zmp_proto_kill_t kill = { 0, ZMP_PROTO_PROCESS_SLOT, task->seq,
                                          signal };
                zframe_t *body = zmp_proto_encode_kill_worker (&kill);
                broker_peer_queue (sched, worker, ZMP_PROTO_KILL, &body, NULL);
                return;
            }
}

//  --------------------------------------------------------------------------
//  Forget the clients that were a worker's task processes.

void
broker_forget_task_clients (broker_sched_t *sched, broker_peer_t *worker,
                            int64_t pid, const char *why)
{
    //  Collect first: removing a peer changes the client list
    zlistx_t *dead = zlistx_new ();
    for (broker_peer_t *client =
             (broker_peer_t *) zlistx_first (sched->clients);
         client; client = (broker_peer_t *) zlistx_next (sched->clients))
        if (client->hello.agent_pid == worker->hello.pid
            && (pid == 0 || client->hello.pid == pid)
            && streq (client->hello.host, worker->hello.host))
            zlistx_add_end (dead, client);
    for (broker_peer_t *client = (broker_peer_t *) zlistx_first (dead); client;
         client = (broker_peer_t *) zlistx_next (dead))
        broker_peer_remove (sched, client, why, BROKER_PEER_DIED);
    zlistx_destroy (&dead);
}

//  --------------------------------------------------------------------------
//  Take the task a result belongs to out of the worker's window.

broker_task_t *
broker_window_take (broker_sched_t *sched, broker_peer_t *worker, uint32_t slot,
                    uint64_t seq, uint64_t run_us)
{
    if (slot >= worker->capacity || !worker->window[slot]
        || worker->window[slot]->seq != seq) {
        sched->counters.stale++;
        return NULL;
    }
    broker_task_t *task = worker->window[slot];
    worker->window[slot] = NULL;
    worker->free_slots[worker->free_count++] = slot;
    worker->in_flight--;
    task->worker = NULL;
    if (run_us > 0)  //  A recent average: the work may change
        worker->run_us = worker->run_us > 0
                             ? 0.8 * worker->run_us + 0.2 * (double) run_us
                             : (double) run_us;
    return task;
}

//  The next task to run, taking turns between clients, then pools.
static broker_task_t *
s_next_task (broker_sched_t *sched)
{
    for (broker_peer_t *client =
             (broker_peer_t *) zlistx_first (sched->clients);
         client; client = (broker_peer_t *) zlistx_next (sched->clients)) {
        if (client->queued == 0)
            continue;
        for (broker_pool_t *pool =
                 (broker_pool_t *) zlistx_first (client->pool_order);
             pool; pool = (broker_pool_t *) zlistx_next (client->pool_order)) {
            if (zlistx_size (pool->queue) == 0
                || (pool->processes && pool->running >= pool->processes))
                continue;
            broker_task_t *task =
                (broker_task_t *) zlistx_detach (pool->queue, NULL);
            client->queued--;
            sched->queued--;
            pool->running++;
            client->running++;
            zlistx_move_end (client->pool_order, pool->handle);
            zlistx_move_end (sched->clients, client->handle);
            return task;
        }
    }
    return NULL;
}

//  The worker that should take the next task: most idle slots first, then
//  most room under its window limit; NULL if every window is full.
static broker_peer_t *
s_next_worker (broker_sched_t *sched)
{
    broker_peer_t *best = NULL;
    int64_t best_score = 0;
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker; worker = (broker_peer_t *) zlistx_next (sched->workers)) {
        uint32_t limit = broker_window_limit (sched, worker);
        if (worker->free_count == 0 || worker->in_flight >= limit)
            continue;
        int64_t idle = (int64_t) worker->hello.slots - worker->in_flight;
        int64_t room = (int64_t) limit - worker->in_flight;
        int64_t score = idle > 0 ? 1000000 + idle : room;
        if (score > best_score) {
            best = worker;
            best_score = score;
        }
    }
    return best;
}

//  --------------------------------------------------------------------------
//  Dispatch queued tasks to workers with room.

//  The worker that should run the next Process: the least loaded for its
//  size, counting its tasks and processes; of equals, the one given the
//  fewest so far, so that an idle cluster takes turns
static broker_peer_t *
s_process_worker (broker_sched_t *sched)
{
    broker_peer_t *best = NULL;
    double best_load = 0;
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker; worker = (broker_peer_t *) zlistx_next (sched->workers)) {
        double load =
            (double) (worker->in_flight + zhashx_size (worker->processes))
            / worker->hello.slots;
        if (!best || load < best_load
            || (load == best_load
                && worker->processes_started < best->processes_started)) {
            best = worker;
            best_load = load;
        }
    }
    return best;
}

//  Send a task to worker: the window slot (or ZMP_PROTO_PROCESS_SLOT) is
//  set already
static void
s_dispatch (broker_sched_t *sched, broker_peer_t *worker, broker_task_t *task)
{
    task->worker = worker;
    task->seq = sched->next_seq++;
    task->attempt++;
    sched->counters.dispatched++;
    broker_event (sched->events, "dispatched", task, worker, NULL);
    zmp_proto_dispatch_t dispatch;
    dispatch.slot = task->slot;
    dispatch.seq = task->seq;
    dispatch.attempt = task->attempt;
    dispatch.flags = task->flags;
    dispatch.timeout_ms = task->timeout_ms;
    memcpy (dispatch.function, task->function, sizeof dispatch.function);
    zframe_t *header = zmp_proto_encode_dispatch (&dispatch);
    //  A task may have to run again (its worker lost): it keeps its
    //  arguments and sends a copy. A Process never runs twice.
    zframe_t *args =
        task->flags & ZMP_TASK_PROCESS ? task->args : zframe_dup (task->args);
    if (args == task->args)
        task->args = NULL;
    broker_peer_queue (sched, worker, ZMP_PROTO_DISPATCH, &header, &args);
}

void
broker_sched_dispatch (broker_sched_t *sched)
{
    //  Processes start at once wherever there is a worker: they do not
    //  wait for slots
    while (zlistx_size (sched->pending) && zlistx_size (sched->workers)) {
        broker_task_t *task =
            (broker_task_t *) zlistx_detach (sched->pending, NULL);
        broker_peer_t *worker = s_process_worker (sched);
        task->slot = ZMP_PROTO_PROCESS_SLOT;
        worker->processes_started++;
        s_dispatch (sched, worker, task);
        zhashx_insert (worker->processes, s_seq_key (task->seq), task);
    }
    while (sched->queued > 0) {
        broker_peer_t *worker = s_next_worker (sched);
        if (!worker)
            return;
        broker_task_t *task = s_next_task (sched);
        if (!task)
            return;  //  Every queued task is behind a pool's cap
        uint32_t slot = worker->free_slots[--worker->free_count];
        worker->window[slot] = task;
        worker->in_flight++;
        task->slot = slot;
        s_dispatch (sched, worker, task);
    }
}

static void
s_pack_str (msgpack_packer *packer, const char *key, const char *value)
{
    zmp_pack_cstr (packer, key);
    zmp_pack_cstr (packer, value);
}

static void
s_pack_uint (msgpack_packer *packer, const char *key, uint64_t value)
{
    zmp_pack_cstr (packer, key);
    msgpack_pack_uint64 (packer, value);
}

static void
s_pack_int (msgpack_packer *packer, const char *key, int64_t value)
{
    zmp_pack_cstr (packer, key);
    msgpack_pack_int64 (packer, value);
}

//  --------------------------------------------------------------------------
//  The status map.

zframe_t *
broker_sched_status (broker_sched_t *sched, int64_t now, int64_t started_at,
                     const char *endpoint)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&packer, 9);

    char host[ZMP_PROTO_HOST_MAX + 1];
    if (gethostname (host, sizeof host))
        snprintf (host, sizeof host, "unknown");
    host[sizeof host - 1] = 0;
    zmp_pack_cstr (&packer, "broker");
    msgpack_pack_map (&packer, 6);
    s_pack_str (&packer, "host", host);
    s_pack_int (&packer, "pid", getpid ());
    s_pack_str (&packer, "endpoint", endpoint);
    s_pack_str (&packer, "version", ZMPOOL_VERSION);
    s_pack_uint (&packer, "protocol", ZMP_PROTO_VERSION);
    s_pack_int (&packer, "uptime_ms", now - started_at);

    uint64_t busy = 0, running = 0;
    zmp_pack_cstr (&packer, "workers");
    msgpack_pack_array (&packer, zlistx_size (sched->workers));
    for (broker_peer_t *worker =
             (broker_peer_t *) zlistx_first (sched->workers);
         worker; worker = (broker_peer_t *) zlistx_next (sched->workers)) {
        uint32_t worker_busy = worker->in_flight < worker->hello.slots
                                   ? worker->in_flight
                                   : worker->hello.slots;
        busy += worker_busy;
        running += worker->in_flight;
        msgpack_pack_map (&packer, worker->has_load ? 19 : 16);
        s_pack_uint (&packer, "id", worker->number);
        s_pack_str (&packer, "name", worker->hello.name);
        s_pack_str (&packer, "host", worker->hello.host);
        s_pack_int (&packer, "pid", worker->hello.pid);
        s_pack_uint (&packer, "slots", worker->hello.slots);
        s_pack_uint (&packer, "cores", worker->hello.cores);
        s_pack_uint (&packer, "busy", worker_busy);
        s_pack_uint (&packer, "in_flight", worker->in_flight);
        s_pack_uint (&packer, "processes", zhashx_size (worker->processes));
        s_pack_uint (&packer, "done", worker->done);
        s_pack_uint (&packer, "failed", worker->failed);
        s_pack_int (&packer, "heartbeat_age_ms", now - worker->seen_at);
        s_pack_int (&packer, "uptime_ms", now - worker->joined_at);
        s_pack_uint (&packer, "task_user_us", worker->task_user_us);
        s_pack_uint (&packer, "task_system_us", worker->task_system_us);
        s_pack_uint (&packer, "task_max_rss_kib", worker->task_max_rss_kib);
        if (worker->has_load) {
            s_pack_uint (&packer, "cpu_permille", worker->load.cpu_permille);
            s_pack_uint (&packer, "mem_total_kib", worker->load.mem_total_kib);
            s_pack_uint (&packer, "mem_available_kib",
                         worker->load.mem_available_kib);
        }
    }

    zmp_pack_cstr (&packer, "clients");
    msgpack_pack_array (&packer, zlistx_size (sched->clients));
    for (broker_peer_t *client =
             (broker_peer_t *) zlistx_first (sched->clients);
         client; client = (broker_peer_t *) zlistx_next (sched->clients)) {
        msgpack_pack_map (&packer, 10);
        s_pack_uint (&packer, "id", client->number);
        s_pack_str (&packer, "name", client->hello.name);
        s_pack_str (&packer, "host", client->hello.host);
        s_pack_int (&packer, "pid", client->hello.pid);
        s_pack_uint (&packer, "pools", zhashx_size (client->pools));
        s_pack_uint (&packer, "queued", client->queued);
        s_pack_uint (&packer, "running", client->running);
        s_pack_uint (&packer, "submitted", client->submitted);
        s_pack_uint (&packer, "completed", client->completed);
        s_pack_uint (&packer, "cpu_us", client->cpu_us);
    }

    s_pack_uint (&packer, "slots", sched->slots);
    s_pack_uint (&packer, "busy", busy);
    s_pack_uint (&packer, "queued", sched->queued);
    s_pack_uint (&packer, "running", running);
    zmp_pack_cstr (&packer, "counters");
    msgpack_pack_map (&packer, 8);
    s_pack_uint (&packer, "submitted", sched->counters.submitted);
    s_pack_uint (&packer, "dispatched", sched->counters.dispatched);
    s_pack_uint (&packer, "completed", sched->counters.completed);
    s_pack_uint (&packer, "failed", sched->counters.failed);
    s_pack_uint (&packer, "stale", sched->counters.stale);
    s_pack_uint (&packer, "rejected", sched->counters.rejected);
    s_pack_uint (&packer, "lost", sched->counters.lost);
    s_pack_uint (&packer, "retried", sched->counters.retried);
    zmp_pack_cstr (&packer, "objects");
    msgpack_pack_map (&packer, 4);
    s_pack_uint (&packer, "count", zmp_store_objects (sched->store));
    s_pack_uint (&packer, "bytes", zmp_store_bytes (sched->store));
    s_pack_uint (&packer, "waiting", zmp_store_waiting (sched->store));
    s_pack_uint (&packer, "pending_processes", zlistx_size (sched->pending));
    zframe_t *frame = zmp_frame_from_buffer (&buffer);
    msgpack_sbuffer_destroy (&buffer);
    return frame;
}
