/*  pipe_hello - the child sends through a Pipe (seed 001)

        def f(conn):
            conn.send([42, None, 'hello'])
            conn.close()

        parent_conn, child_conn = Pipe()
        p = Process(target=f, args=(child_conn,))
        p.start()
        print parent_conn.recv()       # [42, None, 'hello']
        p.join()

    f is seed.pipe_send_hello.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_connection_t *parent_conn, *child_conn;
    example_check (
        zmp_pipe_new (client, true, &parent_conn, &child_conn, &error), "Pipe",
        &error);
    msgpack_object args[] = { zmp_connection_handle (child_conn) };
    zmp_process_t *p =
        example_process (client, "seed.pipe_send_hello", args, 1);
    zmp_value_t *item = example_must (
        zmp_connection_recv (parent_conn, ZMP_FOREVER, &error), "recv", &error);
    example_print (zmp_value_get (item));
    zmp_value_destroy (&item);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_connection_destroy (&parent_conn);
    zmp_connection_destroy (&child_conn);
    zmp_client_destroy (&client);
    return 0;
}
