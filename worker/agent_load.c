/*  agent_load - the host's load, for the agent's HEARTBEAT

    CPU: the share of all cores busy between two readings of the first line
    of /proc/stat (busy is everything but idle and iowait). Memory:
    MemTotal and MemAvailable of /proc/meminfo. Linux only; elsewhere the
    reading fails and the agent reports no load.
*/
#include "worker_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  Busy and total jiffies of all cores, from /proc/stat
static int
s_cpu_times (uint64_t *busy, uint64_t *total)
{
    FILE *file = fopen ("/proc/stat", "r");
    if (!file)
        return -1;
    uint64_t fields[8] = { 0 };
    int found = fscanf (file,
                        "cpu %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                        " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
                        &fields[0], &fields[1], &fields[2], &fields[3],
                        &fields[4], &fields[5], &fields[6], &fields[7]);
    fclose (file);
    if (found < 5)
        return -1;
    *total = 0;
    for (int index = 0; index < 8; index++)
        *total += fields[index];
    *busy = *total - fields[3] - fields[4];  //  Less idle and iowait
    return 0;
}

//  MemTotal and MemAvailable, KiB
static int
s_memory (uint64_t *total_kib, uint64_t *available_kib)
{
    FILE *file = fopen ("/proc/meminfo", "r");
    if (!file)
        return -1;
    char line[256];
    int found = 0;
    while (found < 2 && fgets (line, sizeof line, file)) {
        uint64_t value;
        if (sscanf (line, "MemTotal: %" SCNu64, &value) == 1) {
            *total_kib = value;
            found++;
        } else if (sscanf (line, "MemAvailable: %" SCNu64, &value) == 1) {
            *available_kib = value;
            found++;
        }
    }
    fclose (file);
    return found == 2 ? 0 : -1;
}

int
agent_load_read (agent_load_t *state, zmp_proto_load_t *load)
{
    uint64_t busy, total;
    memset (load, 0, sizeof *load);
    if (s_cpu_times (&busy, &total)
        || s_memory (&load->mem_total_kib, &load->mem_available_kib))
        return -1;
    if (load->mem_available_kib > load->mem_total_kib)
        load->mem_available_kib = load->mem_total_kib;
    if (state->total && total > state->total && busy >= state->busy)
        load->cpu_permille =
            (uint32_t) ((busy - state->busy) * 1000 / (total - state->total));
    if (load->cpu_permille > 1000)
        load->cpu_permille = 1000;
    state->busy = busy;
    state->total = total;
    return 0;
}
