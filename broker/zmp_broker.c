/*  zmp_broker - the broker

    The loop: poll the ROUTER (and the actor pipe), take up to a batch of
    messages, dispatch what can be dispatched, then send every peer what was
    gathered for it this turn: usually one message (DISPATCH or RESULT, many
    items each); more when a batch reached 8192 items, the command changed
    (an ABORT among DISPATCHes) or a reply had to keep its place in line.
    Then the heartbeat tick when due. Batching falls out of the loop: under
    load a turn sees many messages and sends few; idle, each message is
    answered in its own turn.

    Sends never block: the socket has a zero send timeout and
    ZMQ_ROUTER_MANDATORY, so a message for a peer that vanished fails with
    EHOSTUNREACH (dropped, the peer will expire) and one the socket cannot
    take now (EAGAIN) waits in that peer's backlog for the next turn.

    A status request is answered in the turn it arrives, whatever the load:
    it never waits behind tasks. So is an OBJECT request, unless it waits
    in the store (zmp_store) for what it asked: then its reply goes out in
    the turn that brings it, or in the turn its deadline passes (the poll
    timeout covers the store's earliest deadline).
*/
#include "broker_internal.h"

#include "zmp_curve.h"
#include "zmp_error.h"
#include "zmp_log.h"
#include "zmp_value.h"

#include <limits.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define BROKER_RECV_BATCH 1000  //  Messages taken per turn, at most
//  Failed handshakes: a log line at most this often
#define BROKER_REFUSED_LOG_MS 10000
//  Bytes CURVE may add to a frame on the wire, and some
#define BROKER_FRAME_OVERHEAD 256
//  Refused messages logged one by one in a second, at most
#define BROKER_REJECTS_LOGGED 20

struct zmp_broker {
    zmp_broker_config_t config;  //  Strings borrowed from the caller
    zsock_t *router;             //  Owned
    char *endpoint;              //  Owned: as bound, port resolved
    broker_sched_t sched;        //  Peers, pools, tasks
    zmp_store_t *store;          //  Owned: the shared objects
    broker_events_t *events;     //  Owned: the event log, or NULL
    zactor_t *auth;              //  Owned: zauth, with CURVE keys
    zcertstore_t *certs;         //  Owned: the same keys, for their roles
    zsock_t *monitor;            //  Owned: the router's failed handshakes
    uint64_t refused;            //  Handshakes failed since the last log
    int64_t refused_logged_at;   //  zclock_mono () ms of that log
    uint32_t rejects_logged;     //  Refused messages logged this second
    uint64_t rejects_unlogged;   //  ...and not logged, past the cap
    int64_t rejects_second;      //  zclock_mono () ms the second began
    long client_grace_ms;        //  The config's, or its default
    int64_t started_at;          //  zclock_mono () ms
    int64_t next_tick_at;        //  zclock_mono () ms
    uint64_t run;                //  Random: this start, in WELCOMEs
    uint64_t max_message;        //  Bytes of the largest frame taken
    bool stopping;               //  $TERM received
    bool failed;                 //  The journal could not be written
};

//  The store answers a request (zmp_store_reply_fn).
static void s_store_reply (void *arg, const char *peer, uint64_t request_id,
                           zframe_t **body_p);

//  A count from the config: 0 takes the default, below 0 means none (0).
static long
s_setting (long value, long fallback)
{
    return value == 0 ? fallback : value < 0 ? 0 : value;
}

//  Keys both or neither; an endpoint others can reach only with them, or
//  when told it is insecure. Returns 0, or -1 with kind usage.
static int
s_check_security (const zmp_broker_config_t *config, zmp_error_t *error)
{
    if (!config->curve_secret != !config->curve_keys) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "CURVE needs both the broker's key pair and the "
                       "directory of the keys it lets in");
        return -1;
    }
    if (config->curve_secret || zmp_endpoint_is_local (config->endpoint))
        return 0;
    if (!config->insecure) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "%s can be reached from other hosts, and without "
                       "CURVE keys anyone who reaches it can run tasks: give "
                       "the broker keys (--curve-secret, --curve-keys), or "
                       "--insecure on a network you trust",
                       config->endpoint);
        return -1;
    }
    zmp_warning ("broker: %s is open to anyone who reaches it: no keys, no "
                 "encryption (--insecure)",
                 config->endpoint);
    return 0;
}

//  CURVE on the router: its key pair, and zauth letting in the peers whose
//  public keys are in the keys directory (their roles in the files).
//  Returns 0, or -1 with kind usage.
static int
s_secure (zmp_broker_t *self, zmp_error_t *error)
{
    struct stat info;
    if (stat (self->config.curve_keys, &info) || !S_ISDIR (info.st_mode)) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "the keys directory %s is not a directory",
                       self->config.curve_keys);
        return -1;
    }
    zcert_t *cert = zmp_curve_load_secret (self->config.curve_secret, error);
    if (!cert)
        return -1;
    self->auth = zactor_new (zauth, NULL);
    assert (self->auth);
    zstr_sendx (self->auth, "CURVE", self->config.curve_keys, NULL);
    zsock_wait (self->auth);
    zcert_apply (cert, self->router);
    zcert_destroy (&cert);
    zsock_set_curve_server (self->router, 1);
    zsock_set_zap_domain (self->router, ZMP_CURVE_ZAP_DOMAIN);
    //  A key's role is read from its file here, by the key the handshake
    //  proved: not from the connection's metadata, to which a peer may add
    //  properties of its own
    self->certs = zcertstore_new (self->config.curve_keys);
    self->monitor = zmp_curve_monitor (self->router);
    return 0;
}

//  Log failed handshakes: the first at once, then at most one line every
//  BROKER_REFUSED_LOG_MS with how many more there were (a refused peer
//  tries again ten times a second)
static void
s_log_refused (zmp_broker_t *self, int64_t now)
{
    if (self->refused == 0
        || now - self->refused_logged_at < BROKER_REFUSED_LOG_MS)
        return;
    zmp_warning ("broker: %llu connections to %s failed CURVE "
                 "authentication (a key not in %s, a wrong broker key, or "
                 "none)",
                 (unsigned long long) self->refused, self->endpoint,
                 self->config.curve_keys);
    self->refused = 0;
    self->refused_logged_at = now;
}

static void
s_on_monitor (zmp_broker_t *self, int64_t now)
{
    const char *name;
    char value[16];
    //  Not NO_DETAIL: a connection closed in its handshake is also what a
    //  port probe does (zmpool status checks the port first)
    while (zmp_curve_event (self->monitor, &name, value, sizeof value))
        if (streq (name, "HANDSHAKE_FAILED_AUTH")
            || streq (name, "HANDSHAKE_FAILED_PROTOCOL")) {
            self->refused++;
            s_log_refused (self, now);
        }
}

//  --------------------------------------------------------------------------
//  Bind the broker.


zmp_broker_t *
zmp_broker_new (const zmp_broker_config_t *config, zmp_error_t *error)
{
    assert (config && config->endpoint);
    zmp_broker_t *self = (zmp_broker_t *) zmalloc (sizeof (zmp_broker_t));
    self->config = *config;
    if (self->config.heartbeat_ms <= 0)
        self->config.heartbeat_ms = ZMP_BROKER_HEARTBEAT_MS;
    if (self->config.liveness <= 0)
        self->config.liveness = ZMP_BROKER_LIVENESS;
    if (self->config.heartbeat_ms < ZMP_PROTO_HEARTBEAT_MIN
        || self->config.heartbeat_ms > ZMP_PROTO_HEARTBEAT_MAX
        || self->config.liveness < ZMP_PROTO_LIVENESS_MIN
        || self->config.liveness > ZMP_PROTO_LIVENESS_MAX) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "heartbeat must be %d to %d ms and liveness %d to %d",
                       ZMP_PROTO_HEARTBEAT_MIN, ZMP_PROTO_HEARTBEAT_MAX,
                       ZMP_PROTO_LIVENESS_MIN, ZMP_PROTO_LIVENESS_MAX);
        free (self);
        return NULL;
    }
    if (s_check_security (&self->config, error)) {
        free (self);
        return NULL;
    }
    self->store = zmp_store_new (s_store_reply, self, 0, 0);
    zmp_store_set_peer_objects_max (
        self->store, (size_t) (self->config.max_objects_per_client > 0
                                   ? self->config.max_objects_per_client
                                   : 0));
    broker_sched_init (
        &self->sched, self->config.prefetch < 0 ? -1 : self->config.prefetch,
        (uint32_t) s_setting (self->config.retries, ZMP_BROKER_RETRIES),
        self->store);
    self->sched.crash_retries = (uint32_t) s_setting (
        self->config.crash_retries, ZMP_BROKER_CRASH_RETRIES);
    self->sched.max_queued =
        (uint64_t) s_setting (self->config.max_queued, ZMP_BROKER_MAX_QUEUED);
    self->client_grace_ms =
        s_setting (self->config.client_grace_ms, ZMP_BROKER_CLIENT_GRACE_MS);
    if (getrandom (&self->run, sizeof self->run, 0) != sizeof self->run)
        self->run = (uint64_t) zclock_usecs () ^ (uint64_t) getpid () << 32;
    self->run |= 1;  //  Never 0: none
    if (config->event_log) {
        self->events =
            broker_events_open (config->event_log,
                                (uint64_t) s_setting (self->config.event_log_mb,
                                                      ZMP_BROKER_EVENT_LOG_MB)
                                    << 20,
                                error);
        if (!self->events) {
            zmp_broker_destroy (&self);
            return NULL;
        }
        self->sched.events = self->events;
    }
    if (config->state_dir) {
        int64_t hold_ms =
            (int64_t) self->config.heartbeat_ms * self->config.liveness
            + self->client_grace_ms;
        if (zmp_store_journal_open (self->store, config->state_dir,
                                    config->fsync_never
                                        ? ZMP_STORE_FSYNC_NEVER
                                        : ZMP_STORE_FSYNC_ALWAYS,
                                    hold_ms, zclock_mono (), error)) {
            zmp_broker_destroy (&self);
            return NULL;
        }
    }
    self->router = zsock_new (ZMQ_ROUTER);
    assert (self->router);
    //  A frame's size is read before the frame: a larger one is refused
    //  before anything is allocated for it
    self->max_message = (uint64_t) (self->config.max_message_mb > 0
                                        ? self->config.max_message_mb
                                        : ZMP_BROKER_MAX_MESSAGE_MB)
                        << 20;
    //  Peers are told max_message; the socket allows a margin beyond it
    //  for what CURVE adds to a frame on the wire (nonce, MAC, command)
    uint64_t wire_max = self->max_message + BROKER_FRAME_OVERHEAD;
    zsock_set_maxmsgsize (self->router,
                          (int) (wire_max > INT_MAX ? INT_MAX : wire_max));
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_sndtimeo (self->router, 0);
    zsock_set_rcvtimeo (self->router, 0);
    zsock_set_linger (self->router, 200);
    zsock_set_sndhwm (self->router, 10000);
    zsock_set_rcvhwm (self->router, 10000);
    if (config->curve_secret && s_secure (self, error)) {
        zmp_broker_destroy (&self);
        return NULL;
    }
    if (zsock_bind (self->router, "%s", config->endpoint) == -1) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot bind %s: %s",
                       config->endpoint, zmq_strerror (zmq_errno ()));
        zmp_broker_destroy (&self);
        return NULL;
    }
    self->endpoint = zsock_last_endpoint (self->router);
    if (config->endpoint_file) {
        char temp[4096];
        snprintf (temp, sizeof temp, "%s.tmp", config->endpoint_file);
        FILE *file = fopen (temp, "w");
        if (!file || fprintf (file, "%s\n", self->endpoint) < 0
            || fclose (file) != 0 || rename (temp, config->endpoint_file)) {
            zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot write %s: %s",
                           config->endpoint_file, strerror (errno));
            zmp_broker_destroy (&self);
            return NULL;
        }
    }
    self->started_at = zclock_mono ();
    return self;
}

//  --------------------------------------------------------------------------
//  Free the broker.

void
zmp_broker_destroy (zmp_broker_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zmp_broker_t *self = *self_p;
        broker_sched_destroy (&self->sched);  //  Tasks release their objects
        zmp_store_destroy (&self->store);
        broker_events_close (&self->events);
        zmp_curve_unmonitor (self->router, &self->monitor);  //  Before it
        zsock_destroy (&self->router);
        zactor_destroy (&self->auth);
        zcertstore_destroy (&self->certs);
        zstr_free (&self->endpoint);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  The bound endpoint.

const char *
zmp_broker_endpoint (const zmp_broker_t *self)
{
    assert (self);
    return self->endpoint;
}

//  Send msg (the routing id is prepended here) to peer; always takes msg.
//  Returns 0, 1 if the socket cannot take it now (msg is put back in
//  *msg_p), -1 if the peer is unreachable (dropped).
static int
s_send_raw (zmp_broker_t *self, broker_peer_t *peer, zmsg_t **msg_p)
{
    zframe_t *routing_id = zframe_dup (peer->routing_id);
    zmsg_prepend (*msg_p, &routing_id);
    if (zmsg_send (msg_p, self->router) == 0) {
        peer->sent_at = zclock_mono ();
        return 0;
    }
    int error = zmq_errno ();
    routing_id = zmsg_pop (*msg_p);
    zframe_destroy (&routing_id);
    if (error == EAGAIN)
        return 1;
    zmp_debug ("broker: cannot send to %s: %s", peer->key,
               zmq_strerror (error));
    zmsg_destroy (msg_p);
    return -1;
}

//  Send one message at the end of this turn, behind what is already
//  waiting for peer, the batch gathered this turn included.
static void
s_send_later (zmp_broker_t *self, broker_peer_t *peer, zmsg_t **msg_p)
{
    if (peer->outgoing) {
        zlistx_add_end (peer->backlog, peer->outgoing);
        peer->outgoing = NULL;
    }
    zlistx_add_end (peer->backlog, *msg_p);
    *msg_p = NULL;
    if (!peer->dirty_handle)
        peer->dirty_handle = zlistx_add_end (self->sched.dirty, peer);
}

//  Send one message now, outside the batch (replies, heartbeats).
static void
s_send_now (zmp_broker_t *self, broker_peer_t *peer, zmsg_t **msg_p)
{
    if (zlistx_size (peer->backlog) || peer->outgoing) {
        s_send_later (self, peer, msg_p);
        return;
    }
    if (s_send_raw (self, peer, msg_p) == 1) {
        zlistx_add_end (peer->backlog, *msg_p);
        *msg_p = NULL;
        if (!peer->dirty_handle)
            peer->dirty_handle = zlistx_add_end (self->sched.dirty, peer);
    }
}

//  Send a message to a routing id that is not (or no longer) a peer.
static void
s_send_stranger (zmp_broker_t *self, zframe_t *routing_id, zmsg_t **msg_p)
{
    zframe_t *copy = zframe_dup (routing_id);
    zmsg_prepend (*msg_p, &copy);
    if (zmsg_send (msg_p, self->router))
        zmsg_destroy (msg_p);
}

//  Say how many refused messages were not logged
static void
s_log_unlogged (zmp_broker_t *self)
{
    if (self->rejects_unlogged)
        zmp_warning ("broker: %llu more messages refused (not logged: at "
                     "most %d a second are)",
                     (unsigned long long) self->rejects_unlogged,
                     BROKER_REJECTS_LOGGED);
    self->rejects_unlogged = 0;
}

//  Refuse a message with an ERROR. unknown_peer: the sender is not (or no
//  longer) registered and must say HELLO again.
static void
s_reject (zmp_broker_t *self, zframe_t *routing_id, broker_peer_t *peer,
          zmp_error_kind_t kind, const char *reason, bool unknown_peer)
{
    self->sched.counters.rejected++;
    char key[2 * 256 + 1];
    broker_routing_key (routing_id, key);
    //  A flood of bad messages is not a flood of log lines
    int64_t now = zclock_mono ();
    if (now - self->rejects_second >= 1000) {
        s_log_unlogged (self);
        self->rejects_second = now;
        self->rejects_logged = 0;
    }
    if (self->rejects_logged < BROKER_REJECTS_LOGGED) {
        self->rejects_logged++;
        zmp_warning ("broker: peer %s: %s", key, reason);
    } else
        self->rejects_unlogged++;
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_ERROR);
    zframe_t *body = zmp_proto_encode_notice (kind, reason, unknown_peer);
    zmsg_append (msg, &body);
    if (peer)
        s_send_now (self, peer, &msg);
    else
        s_send_stranger (self, routing_id, &msg);
}

//  Flush: send every peer what was gathered for it this turn.
static void
s_flush (zmp_broker_t *self)
{
    broker_sched_t *sched = &self->sched;
    broker_peer_t *peer = (broker_peer_t *) zlistx_first (sched->dirty);
    while (peer) {
        broker_peer_t *next = (broker_peer_t *) zlistx_next (sched->dirty);
        bool blocked = false;
        if (peer->outgoing) {
            zlistx_add_end (peer->backlog, peer->outgoing);
            peer->outgoing = NULL;
        }
        while (!blocked && zlistx_size (peer->backlog)) {
            zmsg_t *msg = (zmsg_t *) zlistx_detach (peer->backlog, NULL);
            if (s_send_raw (self, peer, &msg) == 1) {
                zlistx_add_start (peer->backlog, msg);
                blocked = true;
            }
        }
        if (!blocked) {
            zlistx_delete (sched->dirty, peer->dirty_handle);
            peer->dirty_handle = NULL;
        }
        peer = next;
    }
}

static void
s_welcome (zmp_broker_t *self, broker_peer_t *peer)
{
    zmp_proto_welcome_t welcome = { (uint32_t) self->config.heartbeat_ms,
                                    (uint32_t) self->config.liveness,
                                    self->sched.slots,
                                    peer->hello.attempt,
                                    self->run,
                                    self->max_message };
    zmsg_t *msg = zmp_proto_new (ZMP_PROTO_WELCOME);
    zframe_t *body = zmp_proto_encode_welcome (&welcome);
    zmsg_append (msg, &body);
    s_send_now (self, peer, &msg);
}

//  True if peer is the client that says hello with key user: the same
//  process with the same key and, if session (a new connection), the same
//  client in it
static bool
s_same_client (const broker_peer_t *peer, const zmp_proto_hello_t *hello,
               const char *user, bool session)
{
    return peer->hello.role == ZMP_ROLE_CLIENT && hello->role == ZMP_ROLE_CLIENT
           && peer->hello.pid == hello->pid
           && streq (peer->hello.host, hello->host) && streq (peer->user, user)
           && (!session
               || (hello->session && peer->hello.session == hello->session));
}

//  With CURVE keys: the role in the file of the peer's key (user, which
//  ZAP set) must be the one it says HELLO as; a worker's key may also
//  register task processes of its own agent (same key, host and agent pid)
//  as clients, for their shared objects. Returns NULL, or why not.
static const char *
s_role_refused (zmp_broker_t *self, const zmp_proto_hello_t *hello,
                const char *user)
{
    //  The directory is read again when it changes (czmq's disk loader)
    zcert_t *cert = *user ? zcertstore_lookup (self->certs, user) : NULL;
    const char *role = cert ? zcert_meta (cert, "role") : NULL;
    if (!role)
        return "not authorised: the key has no role (make keys with zmpool "
               "keygen --role)";
    if (hello->role == ZMP_ROLE_WORKER)
        return streq (role, "worker") ? NULL
                                      : "not authorised: the key is not a "
                                        "worker's, it cannot register a worker";
    if (streq (role, "client"))
        return NULL;
    if (streq (role, "worker") && hello->agent_pid) {
        zlistx_t *workers = self->sched.workers;
        for (broker_peer_t *agent = (broker_peer_t *) zlistx_first (workers);
             agent; agent = (broker_peer_t *) zlistx_next (workers))
            if (!agent->gone && streq (agent->user, user)
                && agent->hello.pid == hello->agent_pid
                && streq (agent->hello.host, hello->host))
                return NULL;
        return "not authorised: a worker's key registers the task processes "
               "of its own agent only";
    }
    return "not authorised: the key is not a client's, it cannot register a "
           "client";
}

static void
s_on_hello (zmp_broker_t *self, zframe_t **routing_id_p, const char *key,
            broker_peer_t *peer, zmsg_t *msg, int64_t now)
{
    zmp_proto_hello_t hello;
    zmp_error_t error;
    zframe_t *body = zmsg_next (msg);
    if (zmp_proto_decode_hello (body, &hello, &error)) {
        s_reject (self, *routing_id_p, peer, ZMP_ERR_PROTOCOL, error.message,
                  false);
        return;
    }
    //  Who the connection's key says it is (CURVE)
    const char *user_id = self->auth ? zframe_meta (body, "User-Id") : NULL;
    char user[sizeof peer->user];
    snprintf (user, sizeof user, "%s", user_id ? user_id : "");
    const char *refused =
        self->auth ? s_role_refused (self, &hello, user) : NULL;
    if (refused) {
        s_reject (self, *routing_id_p, peer, ZMP_ERR_NOT_AUTHORIZED, refused,
                  false);
        return;
    }
    if (peer) {
        //  Said hello again: it restarted or lost us. Start it afresh; if
        //  it is the same client process, its shared objects stay
        bool same = s_same_client (peer, &hello, user, false);
        broker_peer_remove (&self->sched, peer, "said HELLO again",
                            same ? BROKER_PEER_RETURNED : BROKER_PEER_DIED);
        broker_sched_reap (&self->sched);
    } else if (hello.role == ZMP_ROLE_CLIENT) {
        //  A client process back on a new connection (it lost us, made
        //  another): its old registration, silent or in its grace period,
        //  gives it its shared objects; its tasks it sends again
        zlistx_t *clients = self->sched.clients;
        for (broker_peer_t *old = (broker_peer_t *) zlistx_first (clients); old;
             old = (broker_peer_t *) zlistx_next (clients))
            if (!old->gone && s_same_client (old, &hello, user, true)) {
                broker_peer_remove (&self->sched, old,
                                    "came back on a new connection",
                                    BROKER_PEER_RETURNED);
                zmp_store_peer_rename (self->store, old->key, key);
                broker_sched_reap (&self->sched);
                break;
            }
    }
    peer = broker_peer_add (&self->sched, routing_id_p, key, &hello, now);
    snprintf (peer->user, sizeof peer->user, "%s", user);
    char name[64];
    zmp_log_clean (hello.name, strlen (hello.name), name, sizeof name);
    if (hello.role == ZMP_ROLE_WORKER)
        zmp_notice ("broker: worker %s joined from %s pid %lld with %u slots",
                    name[0] ? name : key, hello.host, (long long) hello.pid,
                    hello.slots);
    else
        zmp_info ("broker: client %s joined from %s pid %lld",
                  name[0] ? name : key, hello.host, (long long) hello.pid);
    s_welcome (self, peer);
}

//  A SUBMIT item that cannot be queued: answer with an error result when
//  the task id can be read, else with an ERROR.
static void
s_refuse_task (zmp_broker_t *self, broker_peer_t *client, zframe_t *header,
               const zmp_error_t *cause)
{
    self->sched.counters.rejected++;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    uint64_t task_id = 0;
    bool known =
        header
        && zmp_value_unpack (&unpacked, zframe_data (header),
                             zframe_size (header), NULL)
               == 0
        && unpacked.data.type == MSGPACK_OBJECT_ARRAY
        && unpacked.data.via.array.size > 0
        && zmp_uint_get (&unpacked.data.via.array.ptr[0], UINT64_MAX, &task_id)
               == 0;
    msgpack_unpacked_destroy (&unpacked);
    zmp_warning ("broker: client %s: refused a task: %s", client->key,
                 cause->message);
    if (known) {
        zmp_proto_result_t result = { .task_id = task_id,
                                      .status = cause->kind };
        zframe_t *result_header = zmp_proto_encode_result (&result);
        zframe_t *value = zmp_proto_encode_error (cause);
        broker_peer_queue (&self->sched, client, ZMP_PROTO_RESULT,
                           &result_header, &value);
    } else {
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_ERROR);
        zframe_t *body =
            zmp_proto_encode_notice (cause->kind, cause->message, false);
        zmsg_append (msg, &body);
        s_send_now (self, client, &msg);
    }
}

static void
s_on_submit (zmp_broker_t *self, broker_peer_t *client, zmsg_t *msg)
{
    zmp_error_t error;
    if (zmp_proto_pairs (msg, &error) < 0) {
        s_reject (self, client->routing_id, client, ZMP_ERR_PROTOCOL,
                  error.message, false);
        return;
    }
    zframe_t *header = zmsg_pop (msg);
    zframe_destroy (&header);  //  The protocol header
    header = zmsg_pop (msg);
    while (header) {
        zframe_t *args = zmsg_pop (msg);
        broker_task_t *task =
            (broker_task_t *) zmalloc (sizeof (broker_task_t));
        zmp_proto_task_t decoded;
        if (zmp_proto_decode_task (header, &decoded, &error)) {
            s_refuse_task (self, client, header, &error);
            zframe_destroy (&args);
            broker_task_destroy (&task);
        } else {
            task->task_id = decoded.task_id;
            task->flags = decoded.flags;
            task->timeout_ms = decoded.timeout_ms;
            memcpy (task->function, decoded.function, sizeof task->function);
            task->args = args;
            task->client = client;
            task->client_number = client->number;
            bool process = decoded.flags & ZMP_TASK_PROCESS;
            if (!process)
                task->pool =
                    broker_pool_get (&self->sched, client, decoded.pool_id);
            if (task->pool && task->pool->closed) {
                zmp_error_set (&error, ZMP_ERR_USAGE, "pool %u is closed",
                               decoded.pool_id);
                s_refuse_task (self, client, header, &error);
                broker_task_destroy (&task);
            } else if (task->pool && self->sched.max_queued > 0
                       && client->queued >= self->sched.max_queued) {
                zmp_error_set (&error, ZMP_ERR_FULL,
                               "the broker holds %llu queued tasks of this "
                               "client, its limit (broker --max-queued)",
                               (unsigned long long) client->queued);
                s_refuse_task (self, client, header, &error);
                broker_task_destroy (&task);
            } else if ((decoded.flags & ZMP_TASK_HANDLES)
                       && broker_task_retain (&self->sched, task, &error)) {
                s_refuse_task (self, client, header, &error);
                broker_task_destroy (&task);
            } else {
                client->submitted++;
                self->sched.counters.submitted++;
                broker_task_queue (&self->sched, task);
            }
        }
        zframe_destroy (&header);
        header = zmsg_pop (msg);
    }
}

//  A worker's HEARTBEAT told its host's load
static void
s_on_load (zmp_broker_t *self, broker_peer_t *worker, zmsg_t *msg)
{
    zmp_error_t error;
    zmp_proto_load_t load;
    if (zmp_proto_decode_load (zmsg_next (msg), &load, &error)) {
        s_reject (self, worker->routing_id, worker, ZMP_ERR_PROTOCOL,
                  error.message, false);
        return;
    }
    worker->load = load;
    worker->has_load = true;
}

static void
s_on_done (zmp_broker_t *self, broker_peer_t *worker, zmsg_t *msg)
{
    zmp_error_t error;
    if (zmp_proto_pairs (msg, &error) < 0) {
        s_reject (self, worker->routing_id, worker, ZMP_ERR_PROTOCOL,
                  error.message, false);
        return;
    }
    zframe_t *header = zmsg_pop (msg);
    zframe_destroy (&header);  //  The protocol header
    header = zmsg_pop (msg);
    while (header) {
        zframe_t *value = zmsg_pop (msg);
        zmp_proto_done_t done;
        if (!value || zmp_proto_decode_done (header, &done, &error)) {
            self->sched.counters.rejected++;
            zmp_warning ("broker: worker %s: dropped a bad DONE item: %s",
                         worker->key,
                         value ? error.message : "value frame missing");
            zframe_destroy (&value);
        } else {
            broker_task_t *task;
            if (done.slot == ZMP_PROTO_PROCESS_SLOT) {
                task = broker_process_take (worker, done.seq);
                if (!task)
                    self->sched.counters.stale++;
            } else
                task = broker_window_take (&self->sched, worker, done.slot,
                                           done.seq, done.run_us);
            if (task && task->pool && task->client
                && (done.status == ZMP_ERR_CRASHED
                    || done.status == ZMP_ERR_TIMEOUT)
                && task->failures < self->sched.crash_retries) {
                //  Its own process died or overran: it runs again, up
                //  to the limit; then that error is its result
                worker->done++;
                worker->failed++;
                task->failures++;
                zmp_info (
                    "broker: task %s %s on %s; running it again "
                    "(%u of %u)",
                    task->function,
                    done.status == ZMP_ERR_CRASHED ? "crashed" : "timed out",
                    worker->key, task->failures, self->sched.crash_retries);
                broker_task_requeue (
                    &self->sched, task,
                    done.status == ZMP_ERR_CRASHED ? "crashed" : "timeout");
                zframe_destroy (&value);
            } else if (task) {
                worker->done++;
                if (done.status)
                    worker->failed++;
                broker_task_result (&self->sched, task, done.status, done.pid,
                                    worker, done.has_usage ? &done.usage : NULL,
                                    &value);
                broker_task_destroy (&task);
            } else
                zframe_destroy (&value);
            //  A task process killed or crashed (the agent names its pid
            //  only then): what it held in the store is released now, not
            //  when its connection times out. After the result: the dead
            //  process may have been the task's own client
            if (done.pid > 0
                && (done.status == ZMP_ERR_CRASHED
                    || done.status == ZMP_ERR_CANCELLED
                    || done.status == ZMP_ERR_TIMEOUT))
                broker_forget_task_clients (&self->sched, worker, done.pid,
                                            "its task process died");
        }
        zframe_destroy (&header);
        header = zmsg_pop (msg);
    }
}

//  A REPLY to request_id with body (taken)
static zmsg_t *
s_reply_new (uint64_t request_id, zframe_t **body_p)
{
    zmsg_t *reply = zmp_proto_new (ZMP_PROTO_REPLY);
    zframe_t *id = zmp_proto_encode_uint (request_id);
    zmsg_append (reply, &id);
    zmsg_append (reply, body_p);
    return reply;
}

static void
s_reply (zmp_broker_t *self, broker_peer_t *client, uint64_t request_id,
         zframe_t **body_p)
{
    zmsg_t *reply = s_reply_new (request_id, body_p);
    s_send_now (self, client, &reply);
}

static void
s_on_pool (zmp_broker_t *self, broker_peer_t *client, zmsg_t *msg)
{
    uint64_t request_id;
    zmp_proto_pool_t request;
    zmp_error_t error;
    zframe_t *id_frame = zmsg_next (msg);
    if (zmp_proto_decode_uint (id_frame, &request_id, &error)
        || zmp_proto_decode_pool (zmsg_next (msg), &request, &error)) {
        s_reject (self, client->routing_id, client, ZMP_ERR_PROTOCOL,
                  error.message, false);
        return;
    }
    broker_pool_t *pool =
        broker_pool_get (&self->sched, client, request.pool_id);
    if (request.close)
        broker_pool_close (&self->sched, pool);  //  Its cap stays as it was
    else
        pool->processes = request.processes;
    zmp_proto_welcome_t state = { (uint32_t) self->config.heartbeat_ms,
                                  (uint32_t) self->config.liveness,
                                  self->sched.slots,
                                  0,
                                  self->run,
                                  self->max_message };
    zframe_t *body = zmp_proto_encode_welcome (&state);
    s_reply (self, client, request_id, &body);
}

static void
s_on_cancel (zmp_broker_t *self, broker_peer_t *client, zmsg_t *msg)
{
    uint32_t pool_id;
    bool one_task;
    uint64_t task_id;
    zmp_error_t error;
    if (zmp_proto_decode_cancel_task (zmsg_next (msg), &pool_id, &one_task,
                                      &task_id, &error)) {
        s_reject (self, client->routing_id, client, ZMP_ERR_PROTOCOL,
                  error.message, false);
        return;
    }
    broker_pool_t *pool = broker_pool_find (&self->sched, client, pool_id);
    if (pool && one_task)
        broker_task_cancel (&self->sched, pool, task_id);
    else if (pool)
        broker_pool_cancel (&self->sched, pool);
}

static void
s_on_status (zmp_broker_t *self, broker_peer_t *client, zmsg_t *msg,
             int64_t now)
{
    uint64_t request_id;
    zmp_error_t error;
    if (zmp_proto_decode_uint (zmsg_next (msg), &request_id, &error)) {
        s_reject (self, client->routing_id, client, ZMP_ERR_PROTOCOL,
                  error.message, false);
        return;
    }
    zframe_t *body = broker_sched_status (&self->sched, now, self->started_at,
                                          self->endpoint);
    s_reply (self, client, request_id, &body);
}

//  An OBJECT: [request-id] [op] *payload, run by the store
static void
s_on_object (zmp_broker_t *self, broker_peer_t *client, zmsg_t *msg,
             int64_t now)
{
    uint64_t request_id;
    zmp_error_t error;
    zframe_t *header = zmsg_pop (msg);
    zframe_t *id = zmsg_pop (msg);
    zframe_t *op = zmsg_pop (msg);
    if (zmp_proto_decode_uint (id, &request_id, &error))
        s_reject (self, client->routing_id, client, ZMP_ERR_PROTOCOL,
                  error.message, false);
    else if (!op)
        s_reject (self, client->routing_id, client, ZMP_ERR_PROTOCOL,
                  "OBJECT: the op frame is missing", false);
    else  //  What is left of msg is the payload
        zmp_store_call (self->store, client->key, request_id, op, msg, now);
    zframe_destroy (&header);
    zframe_destroy (&id);
    zframe_destroy (&op);
}

//  PROCESS events from a worker: passed on to the Process's client
static void
s_on_process (zmp_broker_t *self, broker_peer_t *worker, zmsg_t *msg)
{
    zmp_error_t error;
    if (zmp_proto_pairs (msg, &error) < 0) {
        s_reject (self, worker->routing_id, worker, ZMP_ERR_PROTOCOL,
                  error.message, false);
        return;
    }
    zframe_t *header = zmsg_pop (msg);
    zframe_destroy (&header);  //  The protocol header
    header = zmsg_pop (msg);
    while (header) {
        zframe_t *data = zmsg_pop (msg);
        zmp_proto_event_t event;
        if (zmp_proto_decode_event (header, &event, &error)) {
            self->sched.counters.rejected++;
            zmp_warning ("broker: worker %s: dropped a bad PROCESS item: %s",
                         worker->key, error.message);
        } else {
            broker_task_t *task = event.slot == ZMP_PROTO_PROCESS_SLOT
                                      ? broker_process_find (worker, event.seq)
                                      : NULL;
            if (task && task->client) {
                zmp_proto_task_event_t forward = { task->task_id, event.event,
                                                   event.pid };
                zframe_t *body = zmp_proto_encode_task_event (&forward);
                broker_peer_queue (&self->sched, task->client,
                                   ZMP_PROTO_PROCESS, &body, &data);
            }
        }
        zframe_destroy (&data);
        zframe_destroy (&header);
        header = zmsg_pop (msg);
    }
}

static void
s_on_kill (zmp_broker_t *self, broker_peer_t *client, zmsg_t *msg)
{
    zmp_proto_kill_t kill;
    zmp_error_t error;
    if (zmp_proto_decode_kill (zmsg_next (msg), &kill, &error))
        s_reject (self, client->routing_id, client, ZMP_ERR_PROTOCOL,
                  error.message, false);
    else
        broker_process_kill (&self->sched, client, kill.task_id, kill.signal);
}

static void
s_store_reply (void *arg, const char *peer_key, uint64_t request_id,
               zframe_t **body_p)
{
    zmp_broker_t *self = (zmp_broker_t *) arg;
    broker_peer_t *peer = broker_peer_lookup (&self->sched, peer_key);
    if (!peer || peer->gone)
        zframe_destroy (body_p);
    else if (zmp_store_journaled (self->store)) {
        //  Not before the journal has the change it tells of (s_commit)
        zmsg_t *reply = s_reply_new (request_id, body_p);
        s_send_later (self, peer, &reply);
    } else
        s_reply (self, peer, request_id, body_p);
}

static void
s_on_message (zmp_broker_t *self, zmsg_t *msg, int64_t now)
{
    zframe_t *routing_id = zmsg_pop (msg);
    if (!routing_id)
        return;
    char key[2 * 256 + 1];
    broker_routing_key (routing_id, key);
    broker_peer_t *peer = broker_peer_lookup (&self->sched, key);
    if (peer && peer->gone) {
        //  It left this turn (BYE, expiry): free it now, so that whatever
        //  it sends next finds no half-gone record
        broker_sched_reap (&self->sched);
        peer = NULL;
    }
    zmp_error_t error;
    int command = zmp_proto_command (msg, &error);
    if (command < 0) {
        s_reject (self, routing_id, peer, ZMP_ERR_PROTOCOL, error.message,
                  false);
        zframe_destroy (&routing_id);
        return;
    }
    zmsg_first (msg);
    if (command == ZMP_PROTO_HELLO) {
        s_on_hello (self, &routing_id, key, peer, msg, now);
        zframe_destroy (&routing_id);
        return;
    }
    if (!peer) {
        //  Not registered (or forgotten, after a restart): say so, except
        //  to a goodbye
        if (command != ZMP_PROTO_BYE)
            s_reject (self, routing_id, NULL, ZMP_ERR_PROTOCOL,
                      "unknown peer: send HELLO first", true);
        zframe_destroy (&routing_id);
        return;
    }
    peer->seen_at = now;
    peer->in_grace = false;
    bool worker = peer->hello.role == ZMP_ROLE_WORKER;
    switch (command) {
        case ZMP_PROTO_HEARTBEAT:
            if (worker && zmsg_size (msg) > 1)
                s_on_load (self, peer, msg);
            break;
        case ZMP_PROTO_BYE:
            broker_peer_remove (&self->sched, peer, "said goodbye",
                                BROKER_PEER_LEFT);
            break;
        case ZMP_PROTO_SUBMIT:
        case ZMP_PROTO_POOL:
        case ZMP_PROTO_CANCEL:
        case ZMP_PROTO_STATUS:
        case ZMP_PROTO_OBJECT:
        case ZMP_PROTO_KILL:
            if (worker)
                s_reject (self, routing_id, peer, ZMP_ERR_NOT_AUTHORIZED,
                          "only clients may send that", false);
            else if (command == ZMP_PROTO_SUBMIT)
                s_on_submit (self, peer, msg);
            else if (command == ZMP_PROTO_POOL)
                s_on_pool (self, peer, msg);
            else if (command == ZMP_PROTO_CANCEL)
                s_on_cancel (self, peer, msg);
            else if (command == ZMP_PROTO_OBJECT)
                s_on_object (self, peer, msg, now);
            else if (command == ZMP_PROTO_KILL)
                s_on_kill (self, peer, msg);
            else
                s_on_status (self, peer, msg, now);
            break;
        case ZMP_PROTO_DONE:
        case ZMP_PROTO_PROCESS:
            if (!worker)
                s_reject (self, routing_id, peer, ZMP_ERR_NOT_AUTHORIZED,
                          "only workers may send that", false);
            else if (command == ZMP_PROTO_DONE)
                s_on_done (self, peer, msg);
            else
                s_on_process (self, peer, msg);
            break;
        default: {
            char reason[64];
            snprintf (reason, sizeof reason, "%s is not for the broker",
                      zmp_proto_command_name (command));
            s_reject (self, routing_id, peer, ZMP_ERR_PROTOCOL, reason, false);
        }
    }
    zframe_destroy (&routing_id);
}

static void
s_tick (zmp_broker_t *self, int64_t now)
{
    int64_t silence =
        (int64_t) self->config.heartbeat_ms * self->config.liveness;
    zhashx_t *peers = self->sched.peers;
    for (broker_peer_t *peer = (broker_peer_t *) zhashx_first (peers); peer;
         peer = (broker_peer_t *) zhashx_next (peers)) {
        if (peer->gone)
            continue;
        bool client = peer->hello.role == ZMP_ROLE_CLIENT;
        if (client && self->client_grace_ms > 0 && !peer->in_grace
            && now - peer->seen_at > silence) {
            peer->in_grace = true;
            zmp_info ("broker: client %s silent for %lld ms; keeping its "
                      "tasks and objects %ld ms more",
                      peer->key, (long long) (now - peer->seen_at),
                      self->client_grace_ms);
        }
        if (now - peer->seen_at
            > silence + (client ? self->client_grace_ms : 0)) {
            char why[64];
            snprintf (why, sizeof why, "silent for %lld ms",
                      (long long) (now - peer->seen_at));
            broker_peer_remove (&self->sched, peer, why, BROKER_PEER_DIED);
        } else if (now - peer->sent_at >= self->config.heartbeat_ms) {
            zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HEARTBEAT);
            s_send_now (self, peer, &msg);
        }
    }
    self->next_tick_at = now + self->config.heartbeat_ms / 2;
}

//  End a turn: the journal gets this turn's changes, then every peer
//  what was gathered for it. False if the journal could not be written:
//  nothing is sent, and the broker stops.
static bool
s_commit (zmp_broker_t *self)
{
    zmp_error_t error;
    if (zmp_store_journal_sync (self->store, &error)) {
        zmp_error ("broker: %s; stopping, so that no reply tells of a change "
                   "the journal lost",
                   error.message);
        self->failed = true;
        return false;
    }
    s_flush (self);
    broker_events_flush (self->events);
    return true;
}

static void
s_goodbye (zmp_broker_t *self)
{
    zhashx_t *peers = self->sched.peers;
    for (broker_peer_t *peer = (broker_peer_t *) zhashx_first (peers); peer;
         peer = (broker_peer_t *) zhashx_next (peers)) {
        if (peer->gone)
            continue;
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_BYE);
        zframe_t *body = zmp_proto_encode_notice (
            ZMP_ERR_NONE, "the broker is stopping", false);
        zmsg_append (msg, &body);
        s_send_now (self, peer, &msg);
    }
    s_commit (self);
}

//  --------------------------------------------------------------------------
//  Serve until interrupted or told to stop.

int
zmp_broker_run (zmp_broker_t *self, zsock_t *pipe)
{
    assert (self);
    zmp_notice ("broker: serving on %s", self->endpoint);
    if (self->config.ready_fd >= 0) {
        char line[512];
        int size = snprintf (line, sizeof line, "%s\n", self->endpoint);
        ssize_t rc = write (self->config.ready_fd, line, (size_t) size);
        (void) rc;  //  Whoever waits sees end of file either way
        close (self->config.ready_fd);
        self->config.ready_fd = -1;
    }
    self->next_tick_at = zclock_mono () + self->config.heartbeat_ms / 2;
    //  The router, then the pipe and the monitor when there are
    zmq_pollitem_t items[3] = { { zsock_resolve (self->router), 0, ZMQ_POLLIN,
                                  0 } };
    int count = 1, pipe_at = -1, monitor_at = -1;
    if (pipe) {
        items[count] =
            (zmq_pollitem_t){ zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 };
        pipe_at = count++;
    }
    if (self->monitor) {
        items[count] =
            (zmq_pollitem_t){ zsock_resolve (self->monitor), 0, ZMQ_POLLIN, 0 };
        monitor_at = count++;
    }
    while (!zsys_interrupted && !self->stopping) {
        int64_t wake_at = self->next_tick_at;
        int64_t deadline = zmp_store_next_deadline (self->store);
        if (deadline >= 0 && deadline < wake_at)
            wake_at = deadline;
        int64_t wait_ms = wake_at - zclock_mono ();
        if (wait_ms < 0)
            wait_ms = 0;
        if (zmq_poll (items, count, (long) wait_ms) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            zmp_error ("broker: poll failed: %s", zmq_strerror (zmq_errno ()));
            break;
        }
        int64_t now = zclock_mono ();
        if (items[0].revents & ZMQ_POLLIN)
            for (int taken = 0; taken < BROKER_RECV_BATCH; taken++) {
                zmsg_t *msg = zmsg_recv (self->router);
                if (!msg)
                    break;
                s_on_message (self, msg, now);
                zmsg_destroy (&msg);
            }
        if (monitor_at > 0 && (items[monitor_at].revents & ZMQ_POLLIN))
            s_on_monitor (self, now);
        if (pipe_at > 0 && (items[pipe_at].revents & ZMQ_POLLIN)) {
            char *command = zstr_recv (pipe);
            if (!command || streq (command, "$TERM"))
                self->stopping = true;
            zstr_free (&command);
        }
        zmp_store_expire (self->store, now);
        broker_sched_dispatch (&self->sched);
        if (!s_commit (self))
            break;
        broker_sched_reap (&self->sched);
        if (now >= self->next_tick_at) {
            s_log_refused (self, now);
            if (now - self->rejects_second >= 1000)
                s_log_unlogged (self);
            s_tick (self, now);
            broker_sched_reap (&self->sched);
            if (!s_commit (self))
                break;
        }
    }
    if (self->failed)
        return -1;
    s_goodbye (self);
    zmp_notice ("broker: stopped after %llu tasks",
                (unsigned long long) self->sched.counters.completed);
    return 0;
}

//  --------------------------------------------------------------------------
//  Run a broker as a zactor.

void
zmp_broker_actor (zsock_t *pipe, void *args)
{
    zmp_broker_t *self = (zmp_broker_t *) args;
    zsock_signal (pipe, 0);
    zmp_broker_run (self, pipe);
    zmp_broker_destroy (&self);
}
