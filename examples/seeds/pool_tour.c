/*  pool_tour - map, imap_unordered, apply_async and a timeout (seed 001)

        pool = Pool(processes=4)
        print pool.map(f, range(10))
        for i in pool.imap_unordered(f, range(10)):
            print i
        res = pool.apply_async(f, (20,))
        print res.get(timeout=1)                       # 400
        res = pool.apply_async(os.getpid, ())
        print res.get(timeout=1)                       # a pid
        multiple_results = [pool.apply_async(os.getpid, ()) for i in range(4)]
        print [res.get(timeout=1) for res in multiple_results]
        res = pool.apply_async(time.sleep, (10,))
        try:
            print res.get(timeout=1)
        except TimeoutError:
            print "We lacked patience and got a multiprocessing.TimeoutError"

    f is the built-in square, os.getpid seed.getpid, time.sleep the
    built-in sleep (in ms). Destroying the pool stops the sleeper.
*/
#include "example.h"

//  apply_async (function, args) .get (timeout=1)
static zmp_async_t *
s_apply (zmp_pool_t *pool, const char *function, msgpack_object *args,
         uint32_t count)
{
    msgpack_object array = zmp_array (args, count);
    zmp_error_t error;
    return example_must (zmp_pool_apply_async (pool, function,
                                               count ? &array : NULL, NULL,
                                               NULL, NULL, &error),
                         function, &error);
}

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_pool_t *pool =
        example_must (zmp_pool_new (client, 4, &error), "Pool", &error);
    msgpack_object range[10];
    for (int index = 0; index < 10; index++)
        range[index] = zmp_int (index);

    //  print pool.map(f, range(10))
    zmp_results_t *results = example_must (
        zmp_pool_map (pool, "square", range, 10, 0, &error), "map", &error);
    msgpack_object list[10];
    for (size_t index = 0; index < 10; index++)
        list[index] = *zmp_results_get (results, index);
    msgpack_object printed = zmp_array (list, 10);
    example_print (&printed);
    zmp_results_destroy (&results);

    //  for i in pool.imap_unordered(f, range(10)): print i
    zmp_array_source_t source = { range, 10, 0 };
    zmp_iter_t *iter =
        example_must (zmp_pool_imap_unordered (pool, "square", zmp_array_source,
                                               &source, 1, &error),
                      "imap_unordered", &error);
    while (!zmp_iter_done (iter))
        example_print (
            example_must ((void *) zmp_iter_next (iter, ZMP_FOREVER, &error),
                          "next", &error));
    zmp_iter_destroy (&iter);

    //  res = pool.apply_async(f, (20,)); print res.get(timeout=1)
    msgpack_object twenty = zmp_int (20);
    zmp_async_t *res = s_apply (pool, "square", &twenty, 1);
    example_print (example_must ((void *) zmp_async_get (res, 1000, &error),
                                 "get", &error));
    zmp_async_destroy (&res);

    //  res = pool.apply_async(os.getpid, ()); print res.get(timeout=1)
    res = s_apply (pool, "seed.getpid", NULL, 0);
    example_print (example_must ((void *) zmp_async_get (res, 1000, &error),
                                 "get", &error));
    zmp_async_destroy (&res);

    //  print [res.get(timeout=1) for res in multiple_results]
    zmp_async_t *multiple_results[4];
    for (int i = 0; i < 4; i++)
        multiple_results[i] = s_apply (pool, "seed.getpid", NULL, 0);
    msgpack_object pids[4];
    for (int i = 0; i < 4; i++)
        pids[i] = *(const msgpack_object *) example_must (
            (void *) zmp_async_get (multiple_results[i], 1000, &error), "get",
            &error);
    printed = zmp_array (pids, 4);
    example_print (&printed);
    for (int i = 0; i < 4; i++)
        zmp_async_destroy (&multiple_results[i]);

    //  res = pool.apply_async(time.sleep, (10,)); res.get(timeout=1)
    msgpack_object ten_seconds = zmp_int (10000);
    res = s_apply (pool, "sleep", &ten_seconds, 1);
    const msgpack_object *slept = zmp_async_get (res, 1000, &error);
    if (slept)
        example_print (slept);
    else if (error.kind == ZMP_ERR_WAIT_TIMEOUT)
        printf ("We lacked patience and got a multiprocessing.TimeoutError\n");
    zmp_async_destroy (&res);
    zmp_pool_destroy (&pool);
    zmp_client_destroy (&client);
    return 0;
}
