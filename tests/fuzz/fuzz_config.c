/*  fuzz_config - libFuzzer target: the configuration file a client or a
    worker reads its CURVE keys from ($ZMPOOL_CONFIG), as any bytes
*/
#include "zmp_curve.h"

#include "zmp_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char s_path[64];

//  At exit: the file the runs used
static void
s_remove_file (void)
{
    unlink (s_path);
}


int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_path[0]) {
        snprintf (s_path, sizeof s_path, "/tmp/zmp-fuzz-config-XXXXXX");
        int fd = mkstemp (s_path);
        if (fd < 0)
            abort ();
        close (fd);
        atexit (s_remove_file);
        setenv (ZMP_CONFIG_ENV, s_path, 1);
        unsetenv (ZMP_CURVE_SECRET_ENV);
        unsetenv (ZMP_CURVE_SERVER_ENV);
    }
    FILE *file = fopen (s_path, "w");
    fwrite (data, 1, size, file);
    fclose (file);
    zcert_t *cert;
    char server[ZMP_CURVE_KEY_SIZE];
    zmp_error_t error;
    if (zmp_curve_from_env (&cert, server, &error) == 0)
        zcert_destroy (&cert);
    return 0;
}
