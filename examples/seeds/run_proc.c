/*  run_proc - start and wait, telling each step (seed 002)

        def run_proc(name):
            print 'Run child process %s (%s)...' % (name, os.getpid())

        print 'Parent process %s.' % os.getpid()
        p = Process(target=run_proc, args=('test',))
        print 'Process will start.'
        p.start()
        p.join()
        print 'Process end.'

    run_proc is seed.run_proc.
*/
#include "example.h"

#include <unistd.h>

int
main (void)
{
    zmp_client_t *client = example_connect ();
    printf ("Parent process %d.\n", (int) getpid ());
    msgpack_object args[] = { zmp_str ("test") };
    printf ("Process will start.\n");
    fflush (stdout);
    zmp_process_t *p = example_process (client, "seed.run_proc", args, 1);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    printf ("Process end.\n");
    zmp_process_destroy (&p);
    zmp_client_destroy (&client);
    return 0;
}
