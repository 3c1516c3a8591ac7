/*  process_info - who is the parent, who the child (seeds 001 and 002)

        def info(title):
            print title
            print 'module name:', __name__
            print 'parent process:', os.getppid()
            print 'process id:', os.getpid()

        def f(name):
            info('function f')
            print 'hello', name

        info('main line')
        p = Process(target=f, args=('john',))
        p.start()
        p.join()

    The module name of a C program is its own name; of a task, the name of
    its function. The child's parent is its worker's spawner, on the host
    that runs it, not this program.
*/
#include "example.h"

#include <string.h>
#include <unistd.h>

static void
info (const char *title, const char *module)
{
    printf ("%s\n", title);
    printf ("module name: %s\n", module);
    printf ("parent process: %d\n", (int) getppid ());
    printf ("process id: %d\n", (int) getpid ());
    fflush (stdout);
}

int
main (int argc, char **argv)
{
    (void) argc;
    const char *name = strrchr (argv[0], '/');
    zmp_client_t *client = example_connect ();
    info ("main line", name ? name + 1 : argv[0]);
    msgpack_object args[] = { zmp_str ("john") };
    zmp_process_t *p = example_process (client, "seed.f_info", args, 1);
    zmp_process_join (p, ZMP_FOREVER, NULL);
    zmp_process_destroy (&p);
    zmp_client_destroy (&client);
    return 0;
}
