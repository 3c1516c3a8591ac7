/*  zmp_curve - CURVE keys: make them, load them, apply them, and say what
    a failed handshake means

    A key pair is two czmq certificate files: NAME.key, the public key
    with its metadata (name, and role: client, worker or broker), which
    may be copied anywhere; and NAME.key_secret, the secret key, which only
    its owner may read (written 0600; a secret file that others can read,
    or its group write, is refused). The broker authorises peers by the public files in its keys
    directory, and takes each peer's role from the file's metadata: the
    metadata travels to the broker with every message of the connection
    (ZAP), so a key made for workers cannot say HELLO as a client.
*/
#ifndef ZMP_CURVE_H_INCLUDED
#define ZMP_CURVE_H_INCLUDED

#include <czmq.h>
#include <zmpool.h>

#define ZMP_CURVE_KEY_SIZE   41  //  Z85 text of a key, and its NUL
#define ZMP_CURVE_ZAP_DOMAIN "zmpool"

//  Environment variables a client (and a worker, and their task
//  processes) reads its keys from: its own key pair, and the broker's
//  public key
#define ZMP_CURVE_SECRET_ENV "ZMPOOL_CURVE_SECRET"
#define ZMP_CURVE_SERVER_ENV "ZMPOOL_CURVE_SERVER"
#define ZMP_CONFIG_ENV       "ZMPOOL_CONFIG"

//  Write a new key pair DIR/NAME.key and DIR/NAME.key_secret for role
//  ("client", "worker" or "broker"). Refuses to replace existing files.
//  Returns 0, or -1 with kind usage (a bad name or role, files there) or
//  system.
int zmp_curve_keygen (const char *dir, const char *name, const char *role,
                      zmp_error_t *error);

//  Load a key pair from path: NAME.key_secret, or NAME.key beside it.
//  Returns the certificate (caller destroys), or NULL with kind usage (the
//  secret file is readable by others, or is not a secret key) or system.
zcert_t *zmp_curve_load_secret (const char *path, zmp_error_t *error);

//  Read the public key in the certificate file at path (NAME.key, or a
//  key pair's NAME.key_secret) into key. Returns 0, or -1 with kind usage
//  or system.
int zmp_curve_load_public (const char *path, char key[ZMP_CURVE_KEY_SIZE],
                           zmp_error_t *error);

//  Make socket a CURVE client of the server with server_key, as cert.
void zmp_curve_apply_client (zsock_t *socket, zcert_t *cert,
                             const char *server_key);

//  A connecting socket's keys: from the environment (both variables set),
//  else from the configuration file ($ZMPOOL_CONFIG, else
//  ~/.config/zmpool/zmpool.cfg if there is one; czmq's ZPL format):
//      curve
//          secret = /path/NAME.key_secret
//          server = /path/broker.key
//  Neither: 0, *cert_p NULL. Returns 0, or -1 with the error of a half
//  given pair, a configuration file that does not load, or a key file
//  that does not load.
int zmp_curve_from_env (zcert_t **cert_p, char server_key[ZMP_CURVE_KEY_SIZE],
                        zmp_error_t *error);

//  A connecting socket's handshake failed, as a zmonitor event (name and
//  value): fill error (kind not_authorized) with what it means for a peer
//  connecting to endpoint, with or without keys. Returns false if the
//  event is not a failed handshake.
bool zmp_curve_handshake_failed (const char *event, const char *value,
                                 const char *endpoint, bool with_keys,
                                 zmp_error_t *error);

//  Watch socket for failed handshakes, from the thread that owns it (not
//  czmq's zmonitor, whose thread uses the socket too, and outlives it when
//  a signal interrupts its owner's wait). Returns the PAIR socket the
//  events arrive on, to poll and read with zmp_curve_event, or NULL if the
//  socket cannot be watched. Stop with zmp_curve_unmonitor before the
//  socket is destroyed.
zsock_t *zmp_curve_monitor (zsock_t *socket);
void zmp_curve_unmonitor (zsock_t *socket, zsock_t **sink_p);

//  Take one event from sink, without waiting: its name (as
//  zmp_curve_handshake_failed reads it) and value. False if none waits.
bool zmp_curve_event (zsock_t *sink, const char **name, char *value,
                      size_t size);

//  True if endpoint can only be reached from this host: ipc, inproc, or
//  tcp on a loopback address (127.0.0.0/8, ::1, localhost)
bool zmp_endpoint_is_local (const char *endpoint);

#endif
