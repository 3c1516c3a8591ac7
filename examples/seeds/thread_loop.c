/*  thread_loop - a thread, for comparison (seed 002)

        def loop():
            print 'thread %s is running...' % threading.current_thread().name
            n = 0
            while n < 5:
                n = n + 1
                print 'thread %s >>> %s' % (threading.current_thread().name, n)
                time.sleep(1)
            print 'thread %s ended.' % threading.current_thread().name

        print 'thread %s is running...' % threading.current_thread().name
        t = threading.Thread(target=loop, name='LoopThread')
        t.start()
        t.join()
        print 'thread %s ended.' % threading.current_thread().name

    Threads share one process's memory and need nothing of zmpool: this is
    plain POSIX threads, as a C program on one host would use them. The
    thread sleeps a tenth of the seed's second.
*/
#include "example.h"

#include <pthread.h>

static void *
loop (void *arg)
{
    const char *name = (const char *) arg;
    printf ("thread %s is running...\n", name);
    for (int n = 1; n <= 5; n++) {
        printf ("thread %s >>> %d\n", name, n);
        fflush (stdout);
        example_sleep (0.1);
    }
    printf ("thread %s ended.\n", name);
    return NULL;
}

int
main (void)
{
    printf ("thread %s is running...\n", "MainThread");
    pthread_t t;
    pthread_create (&t, NULL, loop, (void *) "LoopThread");
    pthread_join (t, NULL);
    printf ("thread %s ended.\n", "MainThread");
    return 0;
}
