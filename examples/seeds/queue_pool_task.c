/*  queue_pool_task - a Queue passed to a Pool task (seed 003's point)

    Python refuses to pickle a plain Queue into a Pool task ("can't pickle
    thread.lock objects", or "Queue objects should only be shared between
    processes through inheritance"). A zmpool queue is a handle to an
    object in the broker, so a Pool task takes it like any argument:

        pool.apply_async(f, (q,))
        print q.get()                  # [42, None, 'hello']

    f is seed.put_hello, run by a pool child this time.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_pool_t *pool =
        example_must (zmp_pool_new (client, 2, &error), "Pool", &error);
    zmp_queue_t *q =
        example_must (zmp_queue_new (client, 0, &error), "Queue", &error);
    msgpack_object args[] = { zmp_queue_handle (q) };
    msgpack_object array = zmp_array (args, 1);
    zmp_async_t *result =
        example_must (zmp_pool_apply_async (pool, "seed.put_hello", &array,
                                            NULL, NULL, NULL, &error),
                      "apply_async", &error);
    zmp_value_t *item =
        example_must (zmp_queue_get (q, ZMP_FOREVER, &error), "get", &error);
    example_print (zmp_value_get (item));
    zmp_value_destroy (&item);
    example_must ((void *) zmp_async_get (result, ZMP_FOREVER, &error),
                  "the task", &error);
    zmp_async_destroy (&result);
    zmp_queue_destroy (&q);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    return 0;
}
