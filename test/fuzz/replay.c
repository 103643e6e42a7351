/*
 * replay.c: feed files to LLVMFuzzerTestOneInput without libFuzzer,
 * so `make check` (bats) replays the fuzz corpus with the normal
 * compiler and sanitizers.  Usage: replay FILE...; prints a count.
 */
#include <err.h>
#include <stdint.h>
#include <stdio.h>
#include <sysexits.h>

#include "buf.h"
#include "banned.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char *argv[])
{
	struct buf	 b = { 0 };
	int		 i;

	for (i = 1; i < argc; i++) {
		buf_reset(&b);
		if (buf_readfile(&b, argv[i]) == -1)
			err(EX_NOINPUT, "%s", argv[i]);
		(void)LLVMFuzzerTestOneInput((const uint8_t *)b.data, b.len);
	}
	buf_free(&b);
	printf("replayed %d inputs\n", argc - 1);
	return 0;
}
