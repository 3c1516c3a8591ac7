/*  pool_callback - callbacks run in the parent (seed 003)

        def Foo(i):
            time.sleep(2)
            print("in process", os.getpid())
            return i + 100

        def Bar(arg):
            print('-->exec done:', arg)

        pool = Pool(processes=5)
        print("main process", os.getpid())
        for i in range(10):
            pool.apply_async(func=Foo, args=(i,), callback=Bar)
        print('end')
        pool.close()
        pool.join()

    Bar runs here, in the parent, on the client's I/O thread: it prints
    this process's pid, as the seed's output shows. Foo (seed.foo) runs in
    the pool's processes on the workers; its "in process" line stays on
    its worker's host. Foo sleeps a tenth of the seed's time.
*/
#include "example.h"

#include <unistd.h>

static void
Bar (zmp_async_t *result, void *arg)
{
    (void) arg;
    const msgpack_object *value = zmp_async_get (result, 0, NULL);
    printf ("-->exec done: ");
    example_repr (stdout, value);
    printf (" (in process %d)\n", (int) getpid ());
    fflush (stdout);
}

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_pool_t *pool =
        example_must (zmp_pool_new (client, 5, &error), "Pool", &error);
    printf ("main process %d\n", (int) getpid ());
    fflush (stdout);
    for (int i = 0; i < 10; i++) {
        msgpack_object args[] = { zmp_int (i) };
        msgpack_object array = zmp_array (args, 1);
        zmp_async_t *result =
            example_must (zmp_pool_apply_async (pool, "seed.foo", &array, Bar,
                                                NULL, NULL, &error),
                          "apply_async", &error);
        zmp_async_destroy (&result);
    }
    printf ("end\n");
    fflush (stdout);
    zmp_pool_close (pool);
    example_check (zmp_pool_join (pool, ZMP_FOREVER, &error), "join", &error);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    return 0;
}
