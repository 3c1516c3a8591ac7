/*  manager_dict_list - a Manager's dict and list (seed 001)

        def f(d, l):
            d[1] = '1'
            d['2'] = 2
            d[0.25] = None
            l.reverse()

        manager = Manager()
        d = manager.dict()
        l = manager.list(range(10))
        p = Process(target=f, args=(d, l))
        p.start()
        p.join()
        print d          # {0.25: None, 1: '1', '2': 2}
        print l          # [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]

    The broker is the manager. Its dict keeps insertion order (as Python's
    does since 3.7), so the keys print in the order f set them. f is
    seed.fill.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_dict_t *d =
        example_must (zmp_dict_new (client, &error), "dict", &error);
    msgpack_object range[10];
    for (int index = 0; index < 10; index++)
        range[index] = zmp_int (index);
    msgpack_object items = zmp_array (range, 10);
    zmp_list_t *l =
        example_must (zmp_list_new (client, &items, &error), "list", &error);
    msgpack_object args[] = { zmp_dict_handle (d), zmp_list_handle (l) };
    zmp_process_t *p = example_process (client, "seed.fill", args, 2);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_value_t *printed =
        example_must (zmp_dict_items (d, &error), "dict", &error);
    example_print (zmp_value_get (printed));
    zmp_value_destroy (&printed);
    printed = example_must (zmp_list_slice (l, 0, ZMP_SLICE_END, &error),
                            "list", &error);
    example_print (zmp_value_get (printed));
    zmp_value_destroy (&printed);
    zmp_process_destroy (&p);
    zmp_list_destroy (&l);
    zmp_dict_destroy (&d);
    zmp_client_destroy (&client);
    return 0;
}
