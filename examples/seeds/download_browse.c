/*  download_browse - two processes at once; the slower one sets the time
    (seed 002)

        def download():
            print('start download at: ', ctime())
            sleep(4)
            print('download done at:', ctime())

        def browse():
            print('start browse at: ', ctime())
            sleep(6)
            print("browse done at: ", ctime())

        p1 = Process(target=download, args=())
        p2 = Process(target=browse, args=())
        for p in (p1, p2): p.start()
        for p in (p1, p2): p.join()
        print('all done')

    download and browse are seed.download and seed.browse; they sleep a
    tenth of the seed's time.
*/
#include "example.h"

int
main (void)
{
    zmp_client_t *client = example_connect ();
    zmp_process_t *p[2] = {
        example_process (client, "seed.download", NULL, 0),
        example_process (client, "seed.browse", NULL, 0),
    };
    for (int i = 0; i < 2; i++) {
        zmp_process_join (p[i], ZMP_FOREVER, NULL);
        zmp_process_destroy (&p[i]);
    }
    printf ("all done\n");
    zmp_client_destroy (&client);
    return 0;
}
