/*  test_zmp_armstrong - the benchmark workload finds what the seed found

    The seed searched four ranges of eight-digit numbers and found exactly
    24678050 and 24678051. Searching all four takes seconds under valgrind,
    so the first range is searched whole and the other three at their ends
    and around the known numbers; there are only three eight-digit
    Armstrong numbers, and zmp_armstrong_is checks the third directly.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "zmp_armstrong.h"


static void
test_armstrong_is_true_for_every_single_digit (void **state)
{
    (void) state;
    for (uint64_t n = 0; n <= 9; n++)
        assert_true (zmp_armstrong_is (n));
}

static void
test_armstrong_is_true_for_known_armstrong_numbers (void **state)
{
    (void) state;
    const uint64_t known[] = { 153,  370,   371,      407,      1634,    8208,
                               9474, 54748, 24678050, 24678051, 88593477 };
    for (size_t index = 0; index < sizeof known / sizeof known[0]; index++)
        assert_true (zmp_armstrong_is (known[index]));
}

static void
test_armstrong_is_false_for_their_neighbours (void **state)
{
    (void) state;
    const uint64_t others[] = { 10,   11,      100,      152,      154,
                                372,  406,     408,      9473,     9475,
                                1000, 9999999, 24678049, 24678052, 99999999 };
    for (size_t index = 0; index < sizeof others / sizeof others[0]; index++)
        assert_false (zmp_armstrong_is (others[index]));
}

static void
test_armstrong_is_answers_near_the_limit (void **state)
{
    (void) state;
    //  The largest 17-digit Armstrong numbers; 18 digits hold none
    assert_true (zmp_armstrong_is (35641594208964132ULL));
    assert_true (zmp_armstrong_is (35875699062250035ULL));
    assert_false (zmp_armstrong_is (ZMP_ARMSTRONG_LIMIT - 1));
}

static void
test_armstrong_find_gives_the_three_digit_ones_in_order (void **state)
{
    (void) state;
    uint64_t found[ZMP_ARMSTRONG_FOUND_MAX];
    assert_int_equal (zmp_armstrong_find (100, 1000, found), 4);
    assert_int_equal (found[0], 153);
    assert_int_equal (found[1], 370);
    assert_int_equal (found[2], 371);
    assert_int_equal (found[3], 407);
}

static void
test_armstrong_find_includes_from_and_excludes_to (void **state)
{
    (void) state;
    uint64_t found[ZMP_ARMSTRONG_FOUND_MAX];
    assert_int_equal (zmp_armstrong_find (153, 370, found), 1);
    assert_int_equal (found[0], 153);
    assert_int_equal (zmp_armstrong_find (154, 371, found), 1);
    assert_int_equal (found[0], 370);
    assert_int_equal (zmp_armstrong_find (0, 10, found), 10);
    assert_int_equal (found[9], 9);
    assert_int_equal (zmp_armstrong_find (408, 408, found), 0);
    assert_int_equal (zmp_armstrong_find (500, 100, found), 0);
}

static void
test_armstrong_find_gives_the_seeds_first_range (void **state)
{
    (void) state;
    uint64_t found[ZMP_ARMSTRONG_FOUND_MAX];
    assert_int_equal (zmp_armstrong_find (20000000, 25000000, found), 2);
    assert_int_equal (found[0], 24678050);
    assert_int_equal (found[1], 24678051);
}

static void
test_armstrong_find_gives_nothing_at_the_other_seed_ranges (void **state)
{
    (void) state;
    //  The ends of [25e6, 30e6), [35e6, 40e6) and [45e6, 50e6)
    const uint64_t ranges[][2] = {
        { 25000000, 25100000 }, { 29900000, 30000000 }, { 35000000, 35100000 },
        { 39900000, 40000000 }, { 45000000, 45100000 }, { 49900000, 50000000 },
    };
    uint64_t found[ZMP_ARMSTRONG_FOUND_MAX];
    for (size_t index = 0; index < 6; index++)
        assert_int_equal (
            zmp_armstrong_find (ranges[index][0], ranges[index][1], found), 0);
}

static void
test_armstrong_find_crosses_a_change_of_digit_count (void **state)
{
    (void) state;
    uint64_t found[ZMP_ARMSTRONG_FOUND_MAX];
    assert_int_equal (zmp_armstrong_find (9000, 100000, found), 4);
    assert_int_equal (found[0], 9474);
    assert_int_equal (found[1], 54748);
    assert_int_equal (found[2], 92727);
    assert_int_equal (found[3], 93084);
}


int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_armstrong_is_true_for_every_single_digit),
        cmocka_unit_test (test_armstrong_is_true_for_known_armstrong_numbers),
        cmocka_unit_test (test_armstrong_is_false_for_their_neighbours),
        cmocka_unit_test (test_armstrong_is_answers_near_the_limit),
        cmocka_unit_test (
            test_armstrong_find_gives_the_three_digit_ones_in_order),
        cmocka_unit_test (test_armstrong_find_includes_from_and_excludes_to),
        cmocka_unit_test (test_armstrong_find_gives_the_seeds_first_range),
        cmocka_unit_test (
            test_armstrong_find_gives_nothing_at_the_other_seed_ranges),
        cmocka_unit_test (test_armstrong_find_crosses_a_change_of_digit_count),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
