/* An allocator that fails on demand, for the allocation-failure tests.
 *
 * failing_alloc.c defines the malloc family in the test executable; the
 * dynamic linker then binds libpmdeflate.so's (Rust's System allocator)
 * and libz's calls to it too. Every call is counted; once armed with
 * fa_arm(n, persistent), the n-th allocation from then on returns NULL
 * (and with `persistent`, every later one too, until fa_disarm()). Live
 * blocks are counted, so that a test can check that everything allocated
 * was freed. */
#ifndef PMD_TEST_FAILING_ALLOC_H
#define PMD_TEST_FAILING_ALLOC_H

/* Fail the n-th allocation call from now (n >= 1); with `persistent`,
   every later one too. */
void fa_arm(unsigned long n, int persistent);
/* Stop failing. */
void fa_disarm(void);
/* Allocation calls (malloc, calloc, realloc, aligned) since the last
   fa_arm or fa_reset_calls. */
unsigned long fa_calls(void);
void fa_reset_calls(void);
/* Allocations made to fail since the last fa_arm. */
unsigned long fa_failures(void);
/* Blocks allocated and not yet freed. */
long fa_live(void);

#endif
