/* DLPack round-trip cost: export a view, import it back, free both.
 * Prints ns per round trip for ndim 1..4 (goal: under 100 ns), and writes
 * them to $DLVIEW_BENCH_DIR/roundtrip.json when that is set (make bench). */
#define _POSIX_C_SOURCE 199309L
#include "dlview.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void check(dlv_status s, const char *what) {
  if (s != DLV_OK) {
    fprintf(stderr, "%s failed: %s: %s\n", what, dlv_status_name(s), dlv_last_error());
    exit(1);
  }
}

/* One round trip; returns the imported tensor's data pointer so the
 * compiler cannot drop the work. */
static const void *round_trip(const dlv_tensor *t) {
  DLManagedTensorVersioned *mt = NULL;
  dlv_tensor *back = NULL;
  check(dlv_tensor_to_dlpack(t, NULL, &mt), "export");
  check(dlv_tensor_from_dlpack(mt, NULL, &back), "import");
  const void *p = dlv_tensor_data(back);
  dlv_tensor_free(back);
  return p;
}

int main(void) {
#ifdef DLVIEW_BENCH_QUICK
  const int iters = 1000; /* make test-asan / test-valgrind: correctness, not timing */
#else
  const int iters = 2000000;
#endif
  DLDataType f32 = {kDLFloat, 32, 1};
  int64_t shape[4] = {8, 4, 2, 2};
  double results[5] = {0};
  printf("DLPack export + import + free (versioned, C ABI)\n");
  for (int ndim = 1; ndim <= 4; ndim++) {
    dlv_tensor *t = NULL;
    check(dlv_tensor_zeros(f32, ndim, shape, DLV_ORDER_C, &t), "zeros");
    const void *expect = dlv_tensor_data(t);
    for (int i = 0; i < iters / 10; i++) round_trip(t); /* warm up */
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
      double start = now_ns();
      for (int i = 0; i < iters; i++) {
        if (round_trip(t) != expect) { fprintf(stderr, "data pointer changed\n"); return 1; }
      }
      double per = (now_ns() - start) / iters;
      if (per < best) best = per;
    }
    printf("  ndim %d: %6.1f ns per round trip (best of 5 x %d)%s\n", ndim, best, iters,
           best < 100.0 ? "" : "   <-- above the 100 ns goal");
    results[ndim] = best;
    dlv_tensor_free(t);
  }
  const char *dir = getenv("DLVIEW_BENCH_DIR");
  if (dir != NULL) {
    char path[4096];
    snprintf(path, sizeof path, "%s/roundtrip.json", dir);
    FILE *f = fopen(path, "w");
    if (f == NULL) { perror(path); return 1; }
    fprintf(f, "{\"bench\": \"roundtrip\", \"title\": \"C ABI: DLPack export + import + free\", \"goal\": 1e-7, \"cases\": [");
    for (int ndim = 1; ndim <= 4; ndim++)
      fprintf(f, "%s\n {\"name\": \"ndim %d\", \"dlview\": %.4e, \"refs\": {}}", ndim > 1 ? "," : "", ndim, results[ndim] * 1e-9);
    fprintf(f, "\n]}\n");
    fclose(f);
  }
  return 0;
}
