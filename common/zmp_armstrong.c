/*  zmp_armstrong - Armstrong numbers

    The powers d^k of the ten digits are computed once per digit count,
    not per number: the search itself stays the seed's (split, sum,
    compare), only without recomputing the same ten powers each time.
*/
#include "zmp_armstrong.h"

#include <assert.h>

typedef struct {
    int digits;          //  Digit count the table is for, 0 before use
    uint64_t power[10];  //  power[d] = d^digits
} s_powers_t;

static void
s_powers_set (s_powers_t *powers, int digits)
{
    powers->digits = digits;
    for (int digit = 0; digit < 10; digit++) {
        uint64_t value = 1;
        for (int k = 0; k < digits; k++)
            value *= (uint64_t) digit;
        powers->power[digit] = digits ? value : 0;
    }
}

static bool
s_is_armstrong (uint64_t n, s_powers_t *powers)
{
    uint8_t digit[20];
    int count = 0;
    for (uint64_t rest = n; rest > 0; rest /= 10)
        digit[count++] = (uint8_t) (rest % 10);
    if (count != powers->digits)
        s_powers_set (powers, count);
    uint64_t sum = 0;
    for (int index = 0; index < count; index++)
        sum += powers->power[digit[index]];
    return sum == n;
}

//  --------------------------------------------------------------------------
//  True if n is an Armstrong number.

bool
zmp_armstrong_is (uint64_t n)
{
    assert (n < ZMP_ARMSTRONG_LIMIT);
    s_powers_t powers = { -1, { 0 } };
    return s_is_armstrong (n, &powers);
}

//  --------------------------------------------------------------------------
//  Find the Armstrong numbers in a range.

size_t
zmp_armstrong_find (uint64_t from, uint64_t to, uint64_t *found)
{
    assert (to <= ZMP_ARMSTRONG_LIMIT && found);
    s_powers_t powers = { -1, { 0 } };
    size_t count = 0;
    for (uint64_t n = from; n < to; n++)
        if (s_is_armstrong (n, &powers)) {
            assert (count < ZMP_ARMSTRONG_FOUND_MAX);
            found[count++] = n;
        }
    return count;
}
