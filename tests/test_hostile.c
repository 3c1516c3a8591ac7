/*  test_hostile - a broker under attack keeps serving a well-behaved map

    A real cluster on loopback (a broker, two agents with two task
    processes each) runs a map of thousands of tasks from one client while
    hostile peers, on the same port, send raw bytes that are not ZeroMQ,
    frames of random bytes, every command with a body cut short or made of
    garbage, other protocol versions, oversize frames, a flood of HELLOs,
    commands of the other role, and a worker that registers and then never
    answers. Every result must come back once and right; the broker must
    still answer a status request, and have refused what it was sent.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <zmpool.h>

#include "zmp_proto.h"
#include "zmp_testkit.h"
#include "zmp_value.h"

#include <arpa/inet.h>
#include <czmq.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#define TASKS 4000

static char s_endpoint[256];
static pid_t s_broker, s_agents[2];

typedef struct {
    size_t results;
    size_t correct;
    size_t errors;
    zmp_error_t error;
    uint32_t *seen;  //  How many times each index came back
    volatile bool done;
} map_run_t;

static int
s_up (void **state)
{
    (void) state;
    //  A silent peer is gone after 1 s (longer when valgrind or the
    //  sanitizers slow everything down)
    char liveness[16];
    snprintf (liveness, sizeof liveness, "%d", 4 * testkit_ms (1000) / 1000);
    const char *broker_args[] = { "--quiet",    "--heartbeat-ms", "250",
                                  "--liveness", liveness,         NULL };
    s_broker =
        testkit_broker_start (s_endpoint, sizeof s_endpoint, broker_args);
    if (s_broker <= 0)
        return -1;
    const char *quiet[] = { "--quiet", NULL };
    for (int index = 0; index < 2; index++) {
        s_agents[index] = testkit_worker_start (s_endpoint, 2, quiet);
        if (s_agents[index] <= 0)
            return -1;
    }
    return 0;
}

static int
s_down (void **state)
{
    (void) state;
    int rc = 0;
    for (int index = 0; index < 2; index++)
        rc |= testkit_stop_cleanly (s_agents[index]);
    rc |= testkit_stop_cleanly (s_broker);
    return rc;
}

//  The well-behaved client: square over 0..TASKS-1, chunk size 1
static void *
s_map_thread (void *arg)
{
    map_run_t *run = (map_run_t *) arg;
    zmp_error_t error;
    zmp_client_t *client =
        zmp_client_connect (s_endpoint, testkit_ms (5000), &error);
    if (!client) {
        run->error = error;
        run->done = true;
        return NULL;
    }
    zmp_pool_t *pool = zmp_pool_new (client, 0, &error);
    if (!pool) {
        run->error = error;
        zmp_client_destroy (&client);
        run->done = true;
        return NULL;
    }
    msgpack_object *items =
        (msgpack_object *) calloc (TASKS, sizeof (msgpack_object));
    for (size_t index = 0; index < TASKS; index++)
        items[index] = zmp_int ((int64_t) index);
    zmp_array_source_t source = { items, TASKS, 0 };
    zmp_iter_t *iter =
        zmp_pool_imap (pool, "square", zmp_array_source, &source, 1, &error);
    int64_t deadline = zclock_mono () + testkit_ms (120000);
    while (iter && !zmp_iter_done (iter) && zclock_mono () < deadline) {
        const msgpack_object *value = zmp_iter_next (iter, 100, &error);
        if (!value && error.kind == ZMP_ERR_WAIT_TIMEOUT)
            continue;
        size_t index = zmp_iter_index (iter);
        run->results++;
        if (index < TASKS)
            run->seen[index]++;
        if (!value) {
            run->errors++;
            run->error = error;
        } else if (value->type == MSGPACK_OBJECT_POSITIVE_INTEGER
                   && value->via.u64 == (uint64_t) index * index)
            run->correct++;
    }
    zmp_iter_destroy (&iter);
    free (items);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    run->done = true;
    return NULL;
}

//  The broker's port
static int
s_port (void)
{
    const char *colon = strrchr (s_endpoint, ':');
    return colon ? atoi (colon + 1) : 0;
}

//  Bytes that are not ZeroMQ at all, on a plain TCP connection
static void
s_raw_bytes (unsigned int *seed)
{
    struct sockaddr_in address;
    memset (&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) s_port ());
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    for (int round = 0; round < 20; round++) {
        int fd = socket (AF_INET, SOCK_STREAM, 0);
        assert_true (fd >= 0);
        if (connect (fd, (struct sockaddr *) &address, sizeof address) == 0) {
            char junk[4096];
            for (size_t at = 0; at < sizeof junk; at++)
                junk[at] = (char) rand_r (seed);
            if (round % 2) {
                //  A ZMTP greeting's start, then junk
                junk[0] = (char) 0xff;
                junk[9] = 0x7f;
            }
            ssize_t sent = send (fd, junk, sizeof junk, MSG_NOSIGNAL);
            (void) sent;
        }
        close (fd);
    }
}

//  A DEALER that says hello as role (NULL: says nothing), and drains what
//  it is sent
static zsock_t *
s_dealer (zmp_role_t role, uint32_t slots)
{
    zsock_t *socket = zsock_new_dealer (s_endpoint);
    assert_non_null (socket);
    zsock_set_sndtimeo (socket, 1000);
    if (role) {
        zmp_proto_hello_t hello;
        memset (&hello, 0, sizeof hello);
        hello.role = role;
        hello.pid = 99999;
        hello.slots = slots;
        snprintf (hello.host, sizeof hello.host, "hostile");
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_HELLO);
        zframe_t *body = zmp_proto_encode_hello (&hello);
        zmsg_append (msg, &body);
        zmsg_send (&msg, socket);
    }
    return socket;
}

static void
s_drain (zsock_t *socket)
{
    zsock_set_rcvtimeo (socket, 0);
    zmsg_t *msg;
    while ((msg = zmsg_recv (socket)))
        zmsg_destroy (&msg);
}

//  Frames of random bytes, random in number and size
static void
s_random_frames (zsock_t *socket, unsigned int *seed)
{
    for (int round = 0; round < 300; round++) {
        zmsg_t *msg = zmsg_new ();
        int frames = 1 + rand_r (seed) % 6;
        for (int frame = 0; frame < frames; frame++) {
            size_t size = (size_t) (rand_r (seed) % 300);
            byte *data = (byte *) malloc (size + 1);
            for (size_t at = 0; at < size; at++)
                data[at] = (byte) rand_r (seed);
            //  Half the time a real header, so that the body is decoded
            if (frame == 0 && size >= 4 && round % 2) {
                data[0] = 'Z';
                data[1] = 'P';
                data[2] = 1;
                data[3] = (byte) (1 + rand_r (seed) % ZMP_PROTO_COMMAND_MAX);
            }
            zmsg_addmem (msg, data, size);
            free (data);
        }
        zmsg_send (&msg, socket);
    }
}

//  Every command with a valid header and a body cut short, then with no
//  body, then from another protocol version
static void
s_cut_short (zsock_t *socket)
{
    zmp_proto_hello_t hello;
    memset (&hello, 0, sizeof hello);
    hello.role = ZMP_ROLE_CLIENT;
    hello.pid = 1;
    snprintf (hello.host, sizeof hello.host, "hostile");
    zframe_t *good = zmp_proto_encode_hello (&hello);
    for (int command = 1; command <= ZMP_PROTO_COMMAND_MAX; command++) {
        for (size_t cut = 1; cut < zframe_size (good); cut += 3) {
            zmsg_t *msg = zmp_proto_new ((zmp_proto_command_t) command);
            zmsg_addmem (msg, zframe_data (good), cut);
            zmsg_send (&msg, socket);
        }
        zmsg_t *msg = zmp_proto_new ((zmp_proto_command_t) command);
        zmsg_send (&msg, socket);
        byte other[4] = { 'Z', 'P', (byte) (command % 2 ? 0 : 200),
                          (byte) command };
        msg = zmsg_new ();
        zmsg_addmem (msg, other, 4);
        zmsg_addmem (msg, zframe_data (good), zframe_size (good));
        zmsg_send (&msg, socket);
    }
    zframe_destroy (&good);
}

//  An 8 MiB frame after a SUBMIT header, from a peer that never said HELLO
static void
s_oversize (zsock_t *socket)
{
    size_t size = 8u << 20;
    byte *data = (byte *) zmalloc (size);
    memset (data, 0xc1, size);  //  Never valid msgpack
    for (int round = 0; round < 4; round++) {
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_SUBMIT);
        zmsg_addmem (msg, data, size);
        zmsg_addmem (msg, data, size);
        zmsg_send (&msg, socket);
    }
    free (data);
}

//  Close every socket but the first (the silent worker)
static void
s_close_round (zlistx_t *sockets)
{
    zsock_t *keep = (zsock_t *) zlistx_detach (sockets, NULL);
    zsock_t *socket;
    while ((socket = (zsock_t *) zlistx_detach (sockets, NULL))) {
        zsock_set_linger (socket, 0);
        zsock_destroy (&socket);
    }
    zlistx_add_end (sockets, keep);
}

static uint64_t
s_counter (zmp_value_t *status, const char *name)
{
    uint64_t value = 0;
    zmp_uint_get (
        zmp_map_get (zmp_map_get (zmp_value_get (status), "counters"), name),
        UINT64_MAX, &value);
    return value;
}

static void
test_hostile_peers_do_not_disturb_a_map (void **state)
{
    (void) state;
    map_run_t run;
    memset (&run, 0, sizeof run);
    run.seen = (uint32_t *) calloc (TASKS, sizeof (uint32_t));
    //  czmq sets itself up on first use, and not safely from two threads
    //  at once: here, before the map's thread and this one both use it
    zsys_init ();
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_map_thread, &run), 0);
    unsigned int seed = 42;
    zlistx_t *sockets = zlistx_new ();
    //  A worker that registers and never answers: its tasks go back after
    //  its liveness and run elsewhere
    zlistx_add_end (sockets, s_dealer (ZMP_ROLE_WORKER, 2));
    int rounds = 0;
    //  At least two rounds of attacks, and more while the map runs (at
    //  most 8: closed sockets take a while to give their descriptors back)
    while ((!run.done && rounds < 8) || rounds < 2) {
        s_raw_bytes (&seed);
        zsock_t *stranger = s_dealer (0, 0);
        s_random_frames (stranger, &seed);
        s_cut_short (stranger);
        s_oversize (stranger);
        zlistx_add_end (sockets, stranger);
        //  A flood of HELLOs, each its own connection
        for (int index = 0; index < 50; index++)
            zlistx_add_end (sockets, s_dealer (ZMP_ROLE_CLIENT, 0));
        //  A client sending a worker's DONE, a worker sending a SUBMIT
        zsock_t *client = s_dealer (ZMP_ROLE_CLIENT, 0);
        s_random_frames (client, &seed);
        zmsg_t *msg = zmp_proto_new (ZMP_PROTO_DONE);
        zmsg_addstr (msg, "x");
        zmsg_addstr (msg, "y");
        zmsg_send (&msg, client);
        zlistx_add_end (sockets, client);
        zsock_t *worker = s_dealer (ZMP_ROLE_WORKER, 1);
        msg = zmp_proto_new (ZMP_PROTO_SUBMIT);
        zmsg_addstr (msg, "x");
        zmsg_addstr (msg, "y");
        zmsg_send (&msg, worker);
        zlistx_add_end (sockets, worker);
        //  Drain them all, then close this round's (not the silent worker)
        for (zsock_t *socket = (zsock_t *) zlistx_first (sockets); socket;
             socket = (zsock_t *) zlistx_next (sockets))
            s_drain (socket);
        s_close_round (sockets);
        rounds++;
    }
    pthread_join (thread, NULL);
    //  Nothing lost, nothing twice, nothing wrong
    if (run.errors)
        fail_msg ("%zu tasks failed, the last: %s", run.errors,
                  run.error.message);
    assert_int_equal (run.results, TASKS);
    assert_int_equal (run.correct, TASKS);
    for (size_t index = 0; index < TASKS; index++)
        if (run.seen[index] != 1)
            fail_msg ("task %zu came back %u times", index, run.seen[index]);
    free (run.seen);
    //  The broker is still there, and refused what it was sent
    zmp_error_t error;
    zmp_client_t *client =
        zmp_client_connect (s_endpoint, testkit_ms (5000), &error);
    assert_non_null (client);
    zmp_value_t *status = zmp_client_status (client, testkit_ms (5000), &error);
    assert_non_null (status);
    uint64_t rejected = s_counter (status, "rejected");
    printf ("FIGURES | hostile rounds %d | rejected %llu | tasks %d | lost 0 "
            "|\n",
            rounds, (unsigned long long) rejected, TASKS);
    assert_true (rejected > 100);
    zmp_value_destroy (&status);
    zmp_client_destroy (&client);
    zsock_t *socket;
    while ((socket = (zsock_t *) zlistx_detach (sockets, NULL))) {
        zsock_set_linger (socket, 0);
        zsock_destroy (&socket);
    }
    zlistx_destroy (&sockets);
    assert_true (kill (s_broker, 0) == 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_hostile_peers_do_not_disturb_a_map, s_up, s_down),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
