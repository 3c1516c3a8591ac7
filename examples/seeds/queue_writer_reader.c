/*  queue_writer_reader - one process writes, one reads forever, and is
    terminated (seed 002)

        def write(q):
            print('Process to write: %s' % os.getpid())
            for value in ['A', 'B', 'C']:
                print('Put %s to queue...' % value)
                q.put(value)
                time.sleep(random.random())

        def read(q):
            print('Process to read: %s' % os.getpid())
            while True:
                value = q.get(True)
                print('Get %s from queue.' % value)

        q = Queue()
        pw = Process(target=write, args=(q,))
        pr = Process(target=read, args=(q,))
        pw.start()
        pr.start()
        pw.join()
        pr.terminate()
        print('all done')

    The two processes' lines interleave as they run. write and read are
    seed.write (it takes the values to put) and seed.read.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_error_t error;
    zmp_queue_t *q =
        example_must (zmp_queue_new (client, 0, &error), "Queue", &error);
    msgpack_object write_args[] = { zmp_queue_handle (q), zmp_str ("A"),
                                    zmp_str ("B"), zmp_str ("C") };
    msgpack_object read_args[] = { zmp_queue_handle (q) };
    zmp_process_t *pw = example_process (client, "seed.write", write_args, 4);
    zmp_process_t *pr = example_process (client, "seed.read", read_args, 1);
    zmp_process_join (pw, ZMP_FOREVER, NULL);
    //  pr is in an endless loop: it cannot be joined, only terminated
    example_check (zmp_process_terminate (pr, &error), "terminate", &error);
    zmp_process_join (pr, ZMP_FOREVER, NULL);
    printf ("all done\n");
    zmp_process_destroy (&pw);
    zmp_process_destroy (&pr);
    zmp_queue_destroy (&q);
    zmp_client_destroy (&client);
    return 0;
}
