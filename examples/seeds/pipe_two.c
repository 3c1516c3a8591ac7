/*  pipe_two - two sends, two receives, then end of file (seed 003)

        def f(conn):
            conn.send([42, None, 'hello from child'])
            conn.send([42, None, 'hello from child2'])
            conn.close()

        parent_conn, child_conn = Pipe()
        p = Process(target=f, args=(child_conn,))
        p.start()
        print(parent_conn.recv())
        print(parent_conn.recv())
        p.join()

    A third recv would find end of file: the child closed its end. f is
    seed.pipe_send_two.
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
    zmp_process_t *p = example_process (client, "seed.pipe_send_two", args, 1);
    for (int index = 0; index < 2; index++) {
        zmp_value_t *item = example_must (
            zmp_connection_recv (parent_conn, ZMP_FOREVER, &error), "recv",
            &error);
        example_print (zmp_value_get (item));
        zmp_value_destroy (&item);
    }
    //  print(parent_conn.recv()) a third time: end of file
    zmp_value_t *none = zmp_connection_recv (parent_conn, ZMP_FOREVER, &error);
    printf ("third recv: %s\n",
            none ? "an item?" : zmp_error_kind_name (error.kind));
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_connection_destroy (&parent_conn);
    zmp_connection_destroy (&child_conn);
    zmp_client_destroy (&client);
    return 0;
}
