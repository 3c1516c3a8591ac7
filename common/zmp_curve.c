/*  zmp_curve - CURVE keys, through czmq's zcert
*/
#include "zmp_curve.h"

#include "zmp_error.h"

#include <sys/stat.h>
#include <unistd.h>

#define SECRET_SUFFIX "_secret"
#define NO_SECRET     "0000000000000000000000000000000000000000"

static bool
s_name_ok (const char *name)
{
    if (!*name || *name == '.' || strlen (name) > 64)
        return false;
    for (const char *at = name; *at; at++)
        if (!isalnum ((unsigned char) *at) && !strchr ("._-", *at))
            return false;
    return true;
}

int
zmp_curve_keygen (const char *dir, const char *name, const char *role,
                  zmp_error_t *error)
{
    assert (dir && name && role);
    if (!s_name_ok (name)) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "a key's name is 1 to 64 letters, digits, '.', '_' "
                       "or '-', not starting with '.': '%s'",
                       name);
        return -1;
    }
    if (!streq (role, "client") && !streq (role, "worker")
        && !streq (role, "broker")) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "a key's role is client, worker or broker, not '%s'",
                       role);
        return -1;
    }
    char public_path[PATH_MAX - 16], secret_path[PATH_MAX];
    snprintf (public_path, sizeof public_path, "%s/%s.key", dir, name);
    snprintf (secret_path, sizeof secret_path, "%s%s", public_path,
              SECRET_SUFFIX);
    if (access (public_path, F_OK) == 0 || access (secret_path, F_OK) == 0) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "%s is there already: a key pair is never replaced "
                       "(remove it first to make a new one)",
                       access (public_path, F_OK) == 0 ? public_path
                                                       : secret_path);
        return -1;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot make a key pair: %s",
                       strerror (errno));
        return -1;
    }
    zcert_set_meta (cert, "name", "%s", name);
    zcert_set_meta (cert, "role", "%s", role);
    //  The secret file is born unreadable to others, not made so after
    mode_t mask = umask (077);
    int rc = zcert_save_secret (cert, secret_path);
    umask (mask);
    if (rc == 0)
        rc = chmod (secret_path, 0600);
    if (rc == 0)
        rc = zcert_save_public (cert, public_path);
    if (rc == 0)
        rc = chmod (public_path, 0644);
    zcert_destroy (&cert);
    if (rc) {
        zmp_error_set (error, ZMP_ERR_SYSTEM, "cannot write %s: %s",
                       public_path, strerror (errno));
        unlink (secret_path);
        unlink (public_path);
        return -1;
    }
    return 0;
}

//  The secret file of path: path itself if it ends in _secret, else
//  path_secret
static void
s_secret_path (const char *path, char *secret, size_t size)
{
    size_t length = strlen (path), suffix = strlen (SECRET_SUFFIX);
    if (length > suffix && streq (path + length - suffix, SECRET_SUFFIX))
        snprintf (secret, size, "%s", path);
    else
        snprintf (secret, size, "%s%s", path, SECRET_SUFFIX);
}

zcert_t *
zmp_curve_load_secret (const char *path, zmp_error_t *error)
{
    assert (path);
    char secret[PATH_MAX];
    s_secret_path (path, secret, sizeof secret);
    if (strlen (secret) >= 250) {  //  czmq's zcert_load cuts longer names
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "the secret key's path is too long (at most 249 "
                       "bytes): %s",
                       secret);
        return NULL;
    }
    struct stat info;
    if (stat (secret, &info)) {
        zmp_error_set (error, errno == ENOENT ? ZMP_ERR_USAGE : ZMP_ERR_SYSTEM,
                       "cannot read the secret key %s: %s", secret,
                       strerror (errno));
        return NULL;
    }
    //  Others may not read it, nor its group change it (a group may read
    //  it: Kubernetes hands secrets to a pod's group)
    if (!S_ISREG (info.st_mode) || (info.st_mode & 027)) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "the secret key %s is open to others (mode %03o): "
                       "chmod 600 it",
                       secret, (unsigned) (info.st_mode & 0777));
        return NULL;
    }
    //  zcert_load (NAME) reads NAME_secret first if there is one: given
    //  the name without its suffix, it reads the file checked above
    char base[PATH_MAX];
    snprintf (base, sizeof base, "%.*s",
              (int) (strlen (secret) - strlen (SECRET_SUFFIX)), secret);
    zcert_t *cert = zcert_load (base);
    if (!cert || streq (zcert_secret_txt (cert), NO_SECRET)) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "%s holds no secret key (make one with zmpool keygen)",
                       secret);
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}

int
zmp_curve_load_public (const char *path, char key[ZMP_CURVE_KEY_SIZE],
                       zmp_error_t *error)
{
    assert (path);
    zcert_t *cert = access (path, R_OK) == 0 ? zcert_load (path) : NULL;
    if (!cert) {
        zmp_error_set (error, errno == ENOENT ? ZMP_ERR_USAGE : ZMP_ERR_SYSTEM,
                       "cannot read the public key %s: %s", path,
                       errno ? strerror (errno) : "not a key file");
        return -1;
    }
    snprintf (key, ZMP_CURVE_KEY_SIZE, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
    return 0;
}

void
zmp_curve_apply_client (zsock_t *socket, zcert_t *cert, const char *server_key)
{
    zcert_apply (cert, socket);
    zsock_set_curve_serverkey (socket, server_key);
}

//  The configuration file, loaded (caller destroys), or NULL: none there,
//  or (-1 in *rc, with error) $ZMPOOL_CONFIG names one that does not load
static zconfig_t *
s_config_load (int *rc, zmp_error_t *error)
{
    *rc = 0;
    const char *named = getenv (ZMP_CONFIG_ENV);
    char path[PATH_MAX];
    if (named && *named)
        snprintf (path, sizeof path, "%s", named);
    else {
        const char *home = getenv ("HOME");
        if (!home || !*home)
            return NULL;
        snprintf (path, sizeof path, "%s/.config/zmpool/zmpool.cfg", home);
        if (access (path, F_OK))
            return NULL;  //  None: that is fine
    }
    //  Read here, not with zconfig_load, which leaks on a malformed file;
    //  a configuration is small
    zchunk_t *chunk = zchunk_slurp (path, 1 << 20);
    zconfig_t *config = chunk ? zconfig_chunk_load (chunk) : NULL;
    zchunk_destroy (&chunk);
    if (config)
        zconfig_set_name (config, path);  //  For the messages below
    else {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "cannot read the configuration file %s (czmq's ZPL "
                       "format: 'curve', then indented 'secret = ...' and "
                       "'server = ...')",
                       path);
        *rc = -1;
    }
    return config;
}

int
zmp_curve_from_env (zcert_t **cert_p, char server_key[ZMP_CURVE_KEY_SIZE],
                    zmp_error_t *error)
{
    *cert_p = NULL;
    server_key[0] = 0;
    const char *secret = getenv (ZMP_CURVE_SECRET_ENV);
    const char *server = getenv (ZMP_CURVE_SERVER_ENV);
    bool has_secret = secret && *secret, has_server = server && *server;
    if (!has_secret && !has_server) {
        //  The configuration file, if there is one
        int rc;
        zconfig_t *config = s_config_load (&rc, error);
        if (!config)
            return rc;
        const char *file_secret = zconfig_get (config, "curve/secret", NULL);
        const char *file_server = zconfig_get (config, "curve/server", NULL);
        if (!file_secret != !file_server) {
            zmp_error_set (error, ZMP_ERR_USAGE,
                           "%s gives curve/%s but not curve/%s: CURVE needs "
                           "both",
                           zconfig_name (config),
                           file_secret ? "secret" : "server",
                           file_secret ? "server" : "secret");
            rc = -1;
        } else if (file_secret) {
            rc = zmp_curve_load_public (file_server, server_key, error);
            if (rc == 0) {
                *cert_p = zmp_curve_load_secret (file_secret, error);
                rc = *cert_p ? 0 : -1;
            }
        }
        zconfig_destroy (&config);
        return rc;
    }
    if (!has_secret || !has_server) {
        zmp_error_set (error, ZMP_ERR_USAGE,
                       "$%s is set but not $%s: CURVE needs both, this "
                       "peer's key pair and the broker's public key",
                       has_secret ? ZMP_CURVE_SECRET_ENV : ZMP_CURVE_SERVER_ENV,
                       has_secret ? ZMP_CURVE_SERVER_ENV
                                  : ZMP_CURVE_SECRET_ENV);
        return -1;
    }
    if (zmp_curve_load_public (server, server_key, error))
        return -1;
    *cert_p = zmp_curve_load_secret (secret, error);
    return *cert_p ? 0 : -1;
}

bool
zmp_curve_handshake_failed (const char *event, const char *value,
                            const char *endpoint, bool with_keys,
                            zmp_error_t *error)
{
    if (streq (event, "HANDSHAKE_FAILED_AUTH"))
        zmp_error_set (error, ZMP_ERR_NOT_AUTHORIZED,
                       "not authorised by the broker at %s: its keys "
                       "directory has no public key for this peer's",
                       endpoint);
    else if (streq (event, "HANDSHAKE_FAILED_PROTOCOL")
             && streq (value, "285212674"))  //  ZMTP mechanism mismatch
        zmp_error_set (
            error, ZMP_ERR_NOT_AUTHORIZED,
            with_keys ? "the broker at %s takes no CURVE keys, and this peer "
                        "has some: unset $" ZMP_CURVE_SECRET_ENV
                        " (or drop --curve-secret)"
                      : "the broker at %s wants CURVE keys: give this peer "
                        "a key pair and the broker's public key "
                        "($" ZMP_CURVE_SECRET_ENV " and $" ZMP_CURVE_SERVER_ENV
                        ", or --curve-secret and --curve-server)",
            endpoint);
    else if (streq (event, "HANDSHAKE_FAILED_PROTOCOL")
             || streq (event, "HANDSHAKE_FAILED_NO_DETAIL"))
        zmp_error_set (
            error, ZMP_ERR_NOT_AUTHORIZED,
            with_keys ? "the CURVE handshake with the broker at %s failed: is "
                        "the broker's public key ($" ZMP_CURVE_SERVER_ENV
                        ", --curve-server) the right one?"
                      : "the handshake with the broker at %s failed: does "
                        "it want CURVE keys? ($" ZMP_CURVE_SECRET_ENV
                        " and $" ZMP_CURVE_SERVER_ENV
                        ", or --curve-secret and --curve-server)",
            endpoint);
    else
        return false;
    return true;
}

zsock_t *
zmp_curve_monitor (zsock_t *socket)
{
    static int s_count = 0;
    char endpoint[96];
    snprintf (endpoint, sizeof endpoint, "inproc://zmp-monitor-%d-%d",
              (int) getpid (),
              __atomic_fetch_add (&s_count, 1, __ATOMIC_RELAXED));
    if (zmq_socket_monitor (zsock_resolve (socket), endpoint,
                            ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
        return NULL;
    zsock_t *sink = zsock_new (ZMQ_PAIR);
    if (!sink || zsock_connect (sink, "%s", endpoint)) {
        zmq_socket_monitor (zsock_resolve (socket), NULL, 0);
        zsock_destroy (&sink);
        return NULL;
    }
    zsock_set_rcvtimeo (sink, 0);
    return sink;
}

void
zmp_curve_unmonitor (zsock_t *socket, zsock_t **sink_p)
{
    if (*sink_p) {
        if (socket)
            zmq_socket_monitor (zsock_resolve (socket), NULL, 0);
        zsock_set_linger (*sink_p, 0);
        zsock_destroy (sink_p);
    }
}

bool
zmp_curve_event (zsock_t *sink, const char **name, char *value, size_t size)
{
    zmsg_t *msg = zmsg_recv (sink);
    if (!msg)
        return false;
    //  libzmq 4: the event (uint16) and its value (uint32), then the address
    zframe_t *frame = zmsg_first (msg);
    uint16_t event = 0;
    uint32_t data = 0;
    if (frame && zframe_size (frame) >= 6) {
        memcpy (&event, zframe_data (frame), sizeof event);
        memcpy (&data, zframe_data (frame) + 2, sizeof data);
    }
    *name = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "HANDSHAKE_FAILED_AUTH"
            : event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                ? "HANDSHAKE_FAILED_PROTOCOL"
            : event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                ? "HANDSHAKE_FAILED_NO_DETAIL"
                : "OTHER";
    snprintf (value, size, "%u", data);
    zmsg_destroy (&msg);
    return true;
}

bool
zmp_endpoint_is_local (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) == 0
        || strncmp (endpoint, "inproc://", 9) == 0)
        return true;
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *host = endpoint + 6;
    const char *colon = strrchr (host, ':');
    size_t length = colon ? (size_t) (colon - host) : strlen (host);
    if (length >= 2 && host[0] == '[' && host[length - 1] == ']') {
        host++;
        length -= 2;
    }
    if (length == 3 && strncmp (host, "::1", 3) == 0)
        return true;
    if (length == 9 && strncmp (host, "localhost", 9) == 0)
        return true;
    if (length == 2 && strncmp (host, "lo", 2) == 0)
        return true;
    //  127.0.0.0/8, all digits and dots
    if (length < 4 || strncmp (host, "127.", 4) != 0)
        return false;
    for (size_t index = 4; index < length; index++)
        if (!isdigit ((unsigned char) host[index]) && host[index] != '.')
            return false;
    return true;
}
