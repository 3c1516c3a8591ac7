/*  list_append - CPU-heavy work in two processes, and in one thread
    (seed 001)

        def list_append(count, id, out_list):
            for i in range(count):
                out_list.append(random.random())

        size = 10000000
        procs = 2
        jobs = []
        for i in range(0, procs):
            out_list = list()
            process = multiprocessing.Process(target=list_append,
                                              args=(size, i, out_list))
            jobs.append(process)
        for j in jobs:
            j.start()
        for j in jobs:
            j.join()
        print("List processing complete.")

    The seed then does the same kind of work in one thread (squares of
    range(10000000)). Both are timed here; list_append is
    seed.list_append.
*/
#include "example.h"

#include <stdlib.h>
#include <time.h>

static double
s_time (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + now.tv_nsec / 1e9;
}

//  f(n): list = [x*x for x in range(n)], in this thread
static void
f (int64_t n)
{
    int64_t *list = (int64_t *) malloc ((size_t) n * sizeof (int64_t));
    for (int64_t x = 0; x < n; x++)
        list[x] = x * x;
    free (list);
}

int
main (void)
{
    zmp_client_t *client = example_connect ();
    const int64_t size = 10000000;
    const int procs = 2;
    double start = s_time ();
    zmp_process_t *jobs[2];
    for (int i = 0; i < procs; i++) {
        msgpack_object args[] = { zmp_int (size), zmp_int (i) };
        jobs[i] = example_process (client, "seed.list_append", args, 2);
    }
    for (int i = 0; i < procs; i++) {
        zmp_process_join (jobs[i], ZMP_FOREVER, NULL);
        zmp_process_destroy (&jobs[i]);
    }
    printf ("List processing complete.\n");
    printf ("processes: %.2f s\n", s_time () - start);
    start = s_time ();
    f (size);
    printf ("thread: %.2f s\n", s_time () - start);
    zmp_client_destroy (&client);
    return 0;
}
