/*
 * A driver for the fuzz targets without libFuzzer, so every build runs them
 * as a test: each seed file, then a bounded number of seeded random
 * mutations of the seeds (deterministic: the same inputs every run).
 * Coverage-guided fuzzing with clang is tests/fuzz/run-libfuzzer.sh.
 *
 *   replay ITERATIONS SEED_FILE...
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 4096

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s ITERATIONS SEED_FILE...\n", argv[0]);
		return 2;
	}
	long iters = atol(argv[1]);
	int nseeds = argc - 2;
	static uint8_t seeds[64][MAX_INPUT];
	size_t lens[64];
	if (nseeds > 64)
		nseeds = 64;
	for (int i = 0; i < nseeds; i++) {
		FILE *f = fopen(argv[i + 2], "rb");
		if (!f) {
			perror(argv[i + 2]);
			return 2;
		}
		lens[i] = fread(seeds[i], 1, MAX_INPUT, f);
		fclose(f);
		LLVMFuzzerTestOneInput(seeds[i], lens[i]);
	}
	uint8_t buf[MAX_INPUT];
	for (long n = 0; n < iters; n++) {
		int s = (int)(next() % (uint64_t)nseeds);
		size_t len = lens[s];
		memcpy(buf, seeds[s], len);
		int edits = 1 + (int)(next() % 8);
		for (int e = 0; e < edits; e++) {
			switch (next() % 4) {
			case 0: if (len) buf[next() % len] = (uint8_t)next(); break;   /* byte */
			case 1: if (len) buf[next() % len] ^= (uint8_t)(1u << (next() % 8)); break;
			case 2: len = len ? next() % len : 0; break;                  /* truncate */
			case 3: if (len < MAX_INPUT) buf[len++] = (uint8_t)next(); break;
			}
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	printf("%d seeds and %ld mutations: no crash\n", nseeds, iters);
	return 0;
}
