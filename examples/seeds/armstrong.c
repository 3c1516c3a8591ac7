/*  armstrong - the Armstrong numbers, with threads and with processes
    (seed 000)

        def findArmstrong(a, b):
            print a, b
            res = [k for k in range(a, b) if isArmstrong(k)]
            print '%s ~ %s: %s' % (a, b, res)

        findByThread((20000000, 25000000), (25000000, 30000000),
                     (35000000, 40000000), (45000000, 50000000))
        findByProcess(...)   # the same four ranges, one Process each

    In Python the threads take 49 s and the processes 18: the GIL lets one
    thread run at a time. C has no GIL: here threads and processes both
    use every core, and take about as long as each other. The processes
    run seed.find_armstrong on the workers; zmpool bench armstrong times
    the same search carefully.
*/
#include "example.h"

#include <pthread.h>
#include <time.h>

static const int64_t s_ranges[4][2] = { { 20000000, 25000000 },
                                        { 25000000, 30000000 },
                                        { 35000000, 40000000 },
                                        { 45000000, 50000000 } };

static bool
isArmstrong (int64_t n)
{
    int64_t a[20], k = 0, sum = 0;
    for (int64_t t = n; t > 0; t /= 10)
        a[k++] = t % 10;
    for (int64_t index = 0; index < k; index++) {
        int64_t power = 1;
        for (int64_t times = 0; times < k; times++)
            power *= a[index];
        sum += power;
    }
    return sum == n;
}

static void *
findArmstrong (void *arg)
{
    const int64_t *range = (const int64_t *) arg;
    printf ("%lld %lld\n", (long long) range[0], (long long) range[1]);
    char res[256] = "";
    size_t used = 0;
    for (int64_t k = range[0]; k < range[1]; k++)
        if (isArmstrong (k) && used + 24 < sizeof res)
            used += (size_t) snprintf (res + used, sizeof res - used, "%s%lld",
                                       used ? ", " : "", (long long) k);
    printf ("%lld ~ %lld: [%s]\n", (long long) range[0], (long long) range[1],
            res);
    return NULL;
}

static void
findByThread (void)
{
    pthread_t workers[4];
    for (int index = 0; index < 4; index++)
        pthread_create (&workers[index], NULL, findArmstrong,
                        (void *) s_ranges[index]);
    for (int index = 0; index < 4; index++)
        pthread_join (workers[index], NULL);
}

static void
findByProcess (zmp_client_t *client)
{
    zmp_process_t *workers[4];
    for (int index = 0; index < 4; index++) {
        msgpack_object args[] = { zmp_int (s_ranges[index][0]),
                                  zmp_int (s_ranges[index][1]) };
        workers[index] =
            example_process (client, "seed.find_armstrong", args, 2);
    }
    for (int index = 0; index < 4; index++) {
        zmp_process_join (workers[index], ZMP_FOREVER, NULL);
        zmp_process_destroy (&workers[index]);
    }
}

static double
s_time (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (double) now.tv_sec + now.tv_nsec / 1e9;
}

int
main (void)
{
    zmp_client_t *client = example_connect ();
    double start = s_time ();
    findByThread ();
    printf ("threads: %.2f s\n", s_time () - start);
    fflush (stdout);
    start = s_time ();
    findByProcess (client);
    printf ("processes: %.2f s\n", s_time () - start);
    zmp_client_destroy (&client);
    return 0;
}
