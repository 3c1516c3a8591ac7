/*  lock_print - a Lock around printing (seeds 001 and 003)

        def f(l, i):
            l.acquire()
            try:
                print('hello world', i)
            finally:
                l.release()

        lock = Lock()
        for num in range(10):
            Process(target=f, args=(lock, num)).start()

    The ten processes share one screen; the lock keeps their lines whole.
    Their order is whoever gets the lock first. f is seed.locked_print.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_lock_t *lock =
        example_must (zmp_lock_new (client, &error), "Lock", &error);
    zmp_process_t *processes[10];
    for (int num = 0; num < 10; num++) {
        msgpack_object args[] = { zmp_lock_handle (lock), zmp_int (num) };
        processes[num] = example_process (client, "seed.locked_print", args, 2);
    }
    //  Python joins non-daemon processes at exit; C says so
    for (int num = 0; num < 10; num++) {
        zmp_process_join (processes[num], ZMP_FOREVER, NULL);
        zmp_process_destroy (&processes[num]);
    }
    zmp_lock_destroy (&lock);
    zmp_client_destroy (&client);
    return 0;
}
