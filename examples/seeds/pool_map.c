/*  pool_map - Pool.map (seed 001)

        from multiprocessing import Pool

        def f(x):
            return x*x

        p = Pool(5)
        print(p.map(f, [1, 2, 3]))     # [1, 4, 9]

    f is the workers' built-in square.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_pool_t *p =
        example_must (zmp_pool_new (client, 5, &error), "Pool", &error);
    msgpack_object items[] = { zmp_int (1), zmp_int (2), zmp_int (3) };
    zmp_results_t *results = example_must (
        zmp_pool_map (p, "square", items, 3, 0, &error), "map", &error);
    msgpack_object list[3];
    for (size_t index = 0; index < zmp_results_size (results); index++)
        list[index] = *zmp_results_get (results, index);
    msgpack_object printed = zmp_array (list, 3);
    example_print (&printed);
    zmp_results_destroy (&results);
    zmp_pool_destroy (&p);
    zmp_client_destroy (&client);
    return 0;
}
