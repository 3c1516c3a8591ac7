/*  process_john - Process with an argument (seed 001)

        def f(name):
            print 'hello', name

        p = Process(target=f, args=('john',))
        p.start()
        p.join()                       # hello john

    f is seed.hello.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    msgpack_object args[] = { zmp_str ("john") };
    zmp_process_t *p = example_process (client, "seed.hello", args, 1);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_client_destroy (&client);
    return 0;
}
