/*  queue_basic - a Queue between processes (seed 000)

        from multiprocessing import Queue
        q = Queue()
        q.put(1)
        q.get()              # 1

        def f(q):
            print 'start'
            print q.get()
            print 'end'

        Process(target=f, args=(q, )).start()
        q.put(100)           # the child prints start, 100, end

    f is seed.queue_get_print. The queue lives in the broker; its handle
    travels as the argument.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_queue_t *q =
        example_must (zmp_queue_new (client, 0, &error), "Queue", &error);
    msgpack_object one = zmp_int (1);
    example_check (zmp_queue_put (q, &one, ZMP_FOREVER, &error), "put", &error);
    zmp_value_t *item =
        example_must (zmp_queue_get (q, ZMP_FOREVER, &error), "get", &error);
    example_print (zmp_value_get (item));
    zmp_value_destroy (&item);

    msgpack_object args[] = { zmp_queue_handle (q) };
    zmp_process_t *p =
        example_process (client, "seed.queue_get_print", args, 1);
    msgpack_object hundred = zmp_int (100);
    example_check (zmp_queue_put (q, &hundred, ZMP_FOREVER, &error), "put",
                   &error);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_queue_destroy (&q);
    zmp_client_destroy (&client);
    return 0;
}
