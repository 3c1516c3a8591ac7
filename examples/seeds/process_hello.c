/*  process_hello - a function in a process of its own (seed 000)

        from multiprocessing import Process

        def f(s):
            print s

        p = Process(target=f, args=('hello', ))
        p.start()
        p.join()

    f is seed.f_print in seed_tasks.c. It prints in its own process, on
    whichever worker host runs it; the print comes back here.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    msgpack_object args[] = { zmp_str ("hello") };
    zmp_process_t *p = example_process (client, "seed.f_print", args, 1);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_client_destroy (&client);
    return 0;
}
