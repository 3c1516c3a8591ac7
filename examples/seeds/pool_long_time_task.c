/*  pool_long_time_task - five tasks on a Pool of three, close, join
    (seed 002)

        def long_time_task(name):
            print 'Run task %s (%s)...' % (name, os.getpid())
            start = time.time()
            time.sleep(random.random() * 3)
            end = time.time()
            print 'Task %s runs %0.2f seconds.' % (name, (end - start))

        print 'Parent process %s.' % os.getpid()
        p = Pool(processes=3)
        for i in range(5):
            p.apply_async(long_time_task, args=(i,))
        print 'Waiting for all subprocesses done...'
        p.close()
        p.join()
        print 'All subprocesses done.'

    A pool child's stdout stays on its worker's host (a worker runs tasks
    for many clients), so long_time_task (seed.long_time_task) returns its
    two lines and a callback prints them here. Tasks 3 and 4 wait for a
    free process, as in the seed. Sleeps are a tenth of the seed's.
*/
#include "example.h"

#include <unistd.h>

//  Runs on the client's I/O thread, as Python's callbacks do
static void
s_print_lines (zmp_async_t *result, void *arg)
{
    (void) arg;
    const msgpack_object *lines = zmp_async_get (result, 0, NULL);
    for (uint32_t index = 0; index < lines->via.array.size; index++) {
        example_str (stdout, &lines->via.array.ptr[index]);
        printf ("\n");
    }
    fflush (stdout);
}

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    printf ("Parent process %d.\n", (int) getpid ());
    fflush (stdout);
    zmp_pool_t *p =
        example_must (zmp_pool_new (client, 3, &error), "Pool", &error);
    for (int i = 0; i < 5; i++) {
        msgpack_object args[] = { zmp_int (i) };
        msgpack_object array = zmp_array (args, 1);
        zmp_async_t *result = example_must (
            zmp_pool_apply_async (p, "seed.long_time_task", &array,
                                  s_print_lines, NULL, NULL, &error),
            "apply_async", &error);
        zmp_async_destroy (&result);  //  The task and its callback go on
    }
    printf ("Waiting for all subprocesses done...\n");
    fflush (stdout);
    zmp_pool_close (p);
    example_check (zmp_pool_join (p, ZMP_FOREVER, &error), "join", &error);
    printf ("All subprocesses done.\n");
    zmp_pool_destroy (&p);
    zmp_client_destroy (&client);
    return 0;
}
