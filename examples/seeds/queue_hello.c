/*  queue_hello - a child puts, the parent gets (seeds 001 and 003)

        def f(q):
            q.put([42, None, 'hello'])

        q = Queue()
        p = Process(target=f, args=(q,))
        p.start()
        print q.get()                  # [42, None, 'hello']
        p.join()

    Seed 003 shows why Python needs multiprocessing.Queue here (a thread
    Queue cannot be pickled into a child). zmpool's queue is in the broker:
    any process on any host can use its handle. f is seed.put_hello.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_queue_t *q =
        example_must (zmp_queue_new (client, 0, &error), "Queue", &error);
    msgpack_object args[] = { zmp_queue_handle (q) };
    zmp_process_t *p = example_process (client, "seed.put_hello", args, 1);
    zmp_value_t *item =
        example_must (zmp_queue_get (q, ZMP_FOREVER, &error), "get", &error);
    example_print (zmp_value_get (item));
    zmp_value_destroy (&item);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_queue_destroy (&q);
    zmp_client_destroy (&client);
    return 0;
}
