/*  fuzz_journal - libFuzzer target: the broker's state-directory journal
    replayed at start

    The input is cut into records at every 0xfe byte; each gets a right
    size and checksum, as the broker writes them (so that the replay's
    checks of what the records say are reached, not only the checksum),
    and the last may be cut short. Opening must replay it or refuse it
    with a reason, and a store that opened must serve and close cleanly.
*/
#include "zmp_store.h"

#include "zmp_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_dir[64];

//  At exit: the directory the runs used
static void
s_remove_dir (void)
{
    char path[128];
    const char *names[] = { "journal", "journal.new", "lock" };
    for (size_t index = 0; index < 3; index++) {
        snprintf (path, sizeof path, "%s/%s", s_dir, names[index]);
        unlink (path);
    }
    rmdir (s_dir);
}


static void
s_reply (void *arg, const char *peer, uint64_t request_id, zframe_t **body_p)
{
    (void) arg;
    (void) peer;
    (void) request_id;
    zframe_destroy (body_p);
}

static void
s_record (FILE *file, const uint8_t *body, size_t size)
{
    uint32_t length = (uint32_t) size;
    uint32_t sum = (uint32_t) crc32 (0, body, (uInt) size);
    unsigned char header[8];
    for (int byte = 0; byte < 4; byte++) {
        header[byte] = (unsigned char) (length >> (8 * byte));
        header[4 + byte] = (unsigned char) (sum >> (8 * byte));
    }
    fwrite (header, 1, 8, file);
    fwrite (body, 1, size, file);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_dir[0]) {
        snprintf (s_dir, sizeof s_dir, "/tmp/zmp-fuzz-journal-XXXXXX");
        if (!mkdtemp (s_dir))
            abort ();
        atexit (s_remove_dir);
    }
    char path[128];
    snprintf (path, sizeof path, "%s/journal", s_dir);
    FILE *file = fopen (path, "w");
    //  The header the broker writes first, then the fuzzer's records
    static const uint8_t magic[] = { 0x92, 0xae, 'z', 'm', 'p', 'o',
                                     'o',  'l',  '-', 'j', 'o', 'u',
                                     'r',  'n',  'a', 'l', 0x01 };
    s_record (file, magic, sizeof magic);
    size_t start = 0;
    for (size_t at = 0; at <= size; at++)
        if (at == size || data[at] == 0xfe) {
            s_record (file, data + start, at - start);
            start = at + 1;
        }
    fclose (file);
    zmp_store_t *store = zmp_store_new (s_reply, NULL, 0, 0);
    zmp_error_t error;
    if (zmp_store_journal_open (store, s_dir, ZMP_STORE_FSYNC_NEVER, 10, 0,
                                &error)
        == 0) {
        //  Past the hold: what nobody attached goes
        zmp_store_expire (store, 1000);
        zmp_store_journal_sync (store, &error);
    }
    zmp_store_destroy (&store);
    unlink (path);
    snprintf (path, sizeof path, "%s/journal.new", s_dir);
    unlink (path);
    return 0;
}
