/*  zmp_armstrong - the seeds' benchmark workload: Armstrong numbers

    An Armstrong (narcissistic) number equals the sum of its decimal digits,
    each raised to the number of digits: 153 = 1^3 + 5^3 + 3^3. The search
    is the seed's, one number at a time, split into digits and summed, so
    that every mode of `zmpool bench armstrong` does the same work.
*/
#ifndef ZMP_ARMSTRONG_H_INCLUDED
#define ZMP_ARMSTRONG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Searches stop below 10^18, where the digit sums still fit in 64 bits
#define ZMP_ARMSTRONG_LIMIT 1000000000000000000ULL

//  No range below the limit holds more Armstrong numbers than this
#define ZMP_ARMSTRONG_FOUND_MAX 64

//  True if n is an Armstrong number. n must be below ZMP_ARMSTRONG_LIMIT.
bool zmp_armstrong_is (uint64_t n);

//  Find the Armstrong numbers in [from, to), to <= ZMP_ARMSTRONG_LIMIT;
//  store them, ascending, in found (room for ZMP_ARMSTRONG_FOUND_MAX).
//  Returns how many.
size_t zmp_armstrong_find (uint64_t from, uint64_t to, uint64_t *found);

#endif
