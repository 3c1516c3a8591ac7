/*  value_array - shared Value and Array (seed 001)

        def f(n, a):
            n.value = 3.1415927
            for i in range(len(a)):
                a[i] = -a[i]

        num = Value('d', 0.0)
        arr = Array('i', range(10))
        p = Process(target=f, args=(num, arr))
        p.start()
        p.join()
        print num.value                # 3.1415927
        print arr[:]                   # [0, -1, -2, ..., -9]

    f is seed.negate.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_shared_value_t *num = example_must (
        zmp_shared_value_new (client, 'd', zmp_double (0.0), &error), "Value",
        &error);
    msgpack_object range[10];
    for (int index = 0; index < 10; index++)
        range[index] = zmp_int (index);
    msgpack_object init = zmp_array (range, 10);
    zmp_shared_array_t *arr = example_must (
        zmp_shared_array_new (client, 'i', &init, &error), "Array", &error);
    msgpack_object args[] = { zmp_shared_value_handle (num),
                              zmp_shared_array_handle (arr) };
    zmp_process_t *p = example_process (client, "seed.negate", args, 2);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    double value;
    example_check (zmp_shared_value_get_double (num, &value, &error), "value",
                   &error);
    msgpack_object printed = zmp_double (value);
    example_print (&printed);
    zmp_value_t *all =
        example_must (zmp_shared_array_slice (arr, 0, ZMP_SLICE_END, &error),
                      "arr[:]", &error);
    example_print (zmp_value_get (all));
    zmp_value_destroy (&all);
    zmp_process_destroy (&p);
    zmp_shared_array_destroy (&arr);
    zmp_shared_value_destroy (&num);
    zmp_client_destroy (&client);
    return 0;
}
