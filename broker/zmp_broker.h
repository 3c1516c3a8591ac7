/*  zmp_broker - the broker: one ROUTER endpoint between clients and workers

    Clients submit tasks into per-pool queues; worker agents announce their
    slots; the broker dispatches each task to an agent with room, never more
    than its slots plus a prefetch (fitted to how long its tasks take:
    deep for tiny tasks, shallow for long ones), taking turns between
    clients, and
    routes each result back to the client that asked. It knows at every
    moment which agent and window slot holds each dispatched task.

    Liveness: both sides send HEARTBEAT when they have nothing else to say;
    a peer silent for liveness x heartbeat_ms is gone. A lost worker's tasks
    go back to the head of their queues and run elsewhere, up to `retries`
    times each (no fault of theirs); then they fail with kind worker_lost.
    A lost client's tasks are dropped and its running ones stopped.

    One thread, one socket, one loop (zmp_broker_run).
*/
#ifndef ZMP_BROKER_H_INCLUDED
#define ZMP_BROKER_H_INCLUDED

#include <czmq.h>
#include <zmpool.h>

typedef struct zmp_broker zmp_broker_t;

typedef struct {
    const char *endpoint;       //  Where to bind, e.g. tcp://127.0.0.1:5555
    int heartbeat_ms;           //  Heartbeat interval (default 1000)
    int liveness;               //  Missed heartbeats before a peer is gone
    int prefetch;               //  Tasks sent to a worker beyond its busy
                                //  slots, fixed; or ZMP_BROKER_ADAPTIVE
    const char *endpoint_file;  //  NULL, or written with the bound endpoint
    int ready_fd;               //  -1, or written the endpoint and closed
    int retries;            //  Re-runs of a task whose worker was lost: 0 takes
                            //  ZMP_BROKER_RETRIES, ZMP_BROKER_NO_RETRIES none
    int crash_retries;      //  Re-runs of a task whose own process crashed or
                            //  ran over its time limit: 0 takes
                            //  ZMP_BROKER_CRASH_RETRIES, ZMP_BROKER_NO_RETRIES
                            //  none
    long max_queued;        //  Pool tasks one client may have queued; beyond,
                            //  SUBMIT items are refused with full. 0 takes
                            //  ZMP_BROKER_MAX_QUEUED, -1 no limit
    long client_grace_ms;   //  A client silent past its liveness keeps its
                            //  tasks and objects this much longer, for its
                            //  process to come back. 0 takes
                            //  ZMP_BROKER_CLIENT_GRACE_MS, -1 none
    const char *state_dir;  //  NULL, or where queues and pipes are kept
                            //  across restarts (zmp_store_journal_open)
    bool fsync_never;       //  With state_dir: write each turn's changes
                            //  without fdatasync
    const char *curve_secret;  //  NULL, or the broker's key pair (CURVE)
    const char *curve_keys;    //  With curve_secret: the directory of the
                               //  public keys of the peers it lets in
    bool insecure;  //  Bind an endpoint others can reach without CURVE
    long max_objects_per_client;  //  Shared objects one client may hold;
                                  //  0 takes ZMP_STORE_PEER_OBJECTS_MAX
    long max_message_mb;    //  Largest frame taken, MiB: a larger one drops
                            //  its connection before it is read (clients
                            //  and agents, told in WELCOME, refuse to send
                            //  one). 0 takes ZMP_BROKER_MAX_MESSAGE_MB
    const char *event_log;  //  NULL, or the file that gets a JSON line
                            //  for each change of a task's state
    long event_log_mb;      //  Its size before it is renamed to FILE.1 and
                            //  begun again; 0 takes ZMP_BROKER_EVENT_LOG_MB
} zmp_broker_config_t;

#define ZMP_BROKER_EVENT_LOG_MB 100

#define ZMP_BROKER_MAX_MESSAGE_MB 256

#define ZMP_BROKER_CLIENT_GRACE_MS 10000

#define ZMP_BROKER_HEARTBEAT_MS  1000
#define ZMP_BROKER_LIVENESS      5
#define ZMP_BROKER_ADAPTIVE      -1  //  Prefetch by the workers' task times
#define ZMP_BROKER_RETRIES       3
#define ZMP_BROKER_CRASH_RETRIES 1
#define ZMP_BROKER_MAX_QUEUED    1000000
#define ZMP_BROKER_NO_RETRIES    -1

//  Bind the broker's socket. Returns NULL with kind usage if heartbeat_ms
//  or liveness is outside ZMP_PROTO_HEARTBEAT_MIN..MAX or
//  ZMP_PROTO_LIVENESS_MIN..MAX, if the endpoint can be reached from other
//  hosts and there are no CURVE keys nor insecure (anyone who reached it
//  could run tasks), if only one of curve_secret and curve_keys is given or
//  either does not load; with kind system if the endpoint cannot
//  be bound (the message names it and the reason), or with the state
//  directory's error. A state directory's queues and pipes are replayed
//  and held for liveness x heartbeat + client grace, the time a client has
//  to come back.
zmp_broker_t *zmp_broker_new (const zmp_broker_config_t *config,
                              zmp_error_t *error);

//  Free the broker (without saying goodbye: zmp_broker_run does that).
//  Does nothing if *self_p is NULL; sets it to NULL.
void zmp_broker_destroy (zmp_broker_t **self_p);

//  The endpoint the broker is bound to, with a wildcard port resolved.
const char *zmp_broker_endpoint (const zmp_broker_t *self);

//  Serve until interrupted (zsys_interrupted), or until pipe (may be NULL)
//  receives "$TERM". Says BYE to every peer before it returns 0. Returns -1
//  at once, saying nothing more to anyone, if the state directory's
//  journal cannot be written: no reply may tell of a change it lost.
int zmp_broker_run (zmp_broker_t *self, zsock_t *pipe);

//  zactor body: args is a zmp_broker_t * already made (the actor runs it
//  and destroys it). Signals the pipe once running.
void zmp_broker_actor (zsock_t *pipe, void *args);

#endif
