/*  manager_pids - ten processes fill one dict and one list (seed 003)

        def f(d, l):
            d[os.getpid()] = os.getpid()
            l.append(os.getpid())
            print(l)

        with Manager() as manager:
            d = manager.dict()
            l = manager.list(range(5))
            p_list = []
            for i in range(10):
                p = Process(target=f, args=(d, l))
                p.start()
                p_list.append(p)
            for res in p_list:
                res.join()
            print(d)
            print(l)

    Each child prints the list as it found it after its append: ten lines,
    each one longer. f is seed.append_pid.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_dict_t *d =
        example_must (zmp_dict_new (client, &error), "dict", &error);
    msgpack_object range[5];
    for (int index = 0; index < 5; index++)
        range[index] = zmp_int (index);
    msgpack_object items = zmp_array (range, 5);
    zmp_list_t *l =
        example_must (zmp_list_new (client, &items, &error), "list", &error);
    zmp_process_t *p_list[10];
    for (int i = 0; i < 10; i++) {
        msgpack_object args[] = { zmp_dict_handle (d), zmp_list_handle (l) };
        p_list[i] = example_process (client, "seed.append_pid", args, 2);
    }
    for (int i = 0; i < 10; i++) {
        zmp_process_join (p_list[i], ZMP_FOREVER, NULL);
        zmp_process_destroy (&p_list[i]);
    }
    zmp_value_t *printed =
        example_must (zmp_dict_items (d, &error), "dict", &error);
    example_print (zmp_value_get (printed));
    zmp_value_destroy (&printed);
    printed = example_must (zmp_list_slice (l, 0, ZMP_SLICE_END, &error),
                            "list", &error);
    example_print (zmp_value_get (printed));
    zmp_value_destroy (&printed);
    zmp_list_destroy (&l);
    zmp_dict_destroy (&d);
    zmp_client_destroy (&client);
    return 0;
}
