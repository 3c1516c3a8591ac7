/*  address_spaces - each process has its own x (seed 000)

        x = 1
        def f():
            global x
            x = 5
        f()
        x                    # 5
        x = 1
        p = Process(target=f)
        p.start()
        x                    # 1: the child changed its own x

    seed.set_x sets the x of the process that runs it.
*/
#include "example.h"

static int x = 1;

static void
f (void)
{
    x = 5;
}

int
main (void)
{
    zmp_client_t *client = example_connect ();
    f ();
    printf ("%d\n", x);
    x = 1;
    zmp_process_t *p = example_process (client, "seed.set_x", NULL, 0);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    printf ("%d\n", x);  //  The child changed its own x
    zmp_process_destroy (&p);
    zmp_client_destroy (&client);
    return 0;
}
