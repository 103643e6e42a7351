/*
 * rnd.h: the unit tests' random numbers, xorshift64 from the seed the
 * test defines as RND_SEED before it includes this: a run repeats.
 */
#include <stdint.h>

static uint64_t rng = RND_SEED;

/* 0 to n - 1 */
static unsigned
rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}
