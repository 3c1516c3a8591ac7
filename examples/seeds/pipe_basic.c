/*  pipe_basic - a duplex Pipe, then a child that doubles what it gets
    (seed 000)

        c1, c2 = Pipe()
        c1.send('abc')
        c2.recv()            # 'abc'
        c2.send('xyz')
        c1.recv()            # 'xyz'

        def f(c):
            c.send(c.recv() * 2)

        c1, c2 = Pipe()
        Process(target=f, args=(c2, )).start()
        c1.send(55)
        c1.recv()            # 110

    f is seed.pipe_double.
*/
#include "example.h"

//  Receive from c and print it
static void
s_recv_print (zmp_connection_t *c)
{
    zmp_error_t error;
    zmp_value_t *item = example_must (
        zmp_connection_recv (c, ZMP_FOREVER, &error), "recv", &error);
    example_print (zmp_value_get (item));
    zmp_value_destroy (&item);
}

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_connection_t *c1, *c2;
    example_check (zmp_pipe_new (client, true, &c1, &c2, &error), "Pipe",
                   &error);
    msgpack_object abc = zmp_str ("abc"), xyz = zmp_str ("xyz");
    example_check (zmp_connection_send (c1, &abc, &error), "send", &error);
    s_recv_print (c2);
    example_check (zmp_connection_send (c2, &xyz, &error), "send", &error);
    s_recv_print (c1);
    zmp_connection_destroy (&c1);
    zmp_connection_destroy (&c2);

    example_check (zmp_pipe_new (client, true, &c1, &c2, &error), "Pipe",
                   &error);
    msgpack_object args[] = { zmp_connection_handle (c2) };
    zmp_process_t *p = example_process (client, "seed.pipe_double", args, 1);
    msgpack_object fifty_five = zmp_int (55);
    example_check (zmp_connection_send (c1, &fifty_five, &error), "send",
                   &error);
    s_recv_print (c1);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_connection_destroy (&c1);
    zmp_connection_destroy (&c2);
    zmp_client_destroy (&client);
    return 0;
}
