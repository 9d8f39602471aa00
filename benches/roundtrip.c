/* DLPack round-trip cost: export a view, import it back, free both.
 * Prints ns per round trip for ndim 1..4 (goal: under 100 ns), then for a
 * CUDA tensor another producer made (dlview passes device memory through
 * untouched, so it should cost the same; the pointer is never
 * dereferenced, so no GPU is needed), and writes them to
 * $DLVIEW_BENCH_DIR/roundtrip.json when that is set (make bench). */
#define _POSIX_C_SOURCE 199309L
#include "dlview.h"
#include <stdint.h>
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

static int foreign_releases = 0;

static void release_foreign(DLManagedTensorVersioned *self) {
  foreign_releases++;
  free(self);
}

/* A 2-D float32 tensor on cuda:0 as another producer (PyTorch, CuPy) would
 * hand it over, imported once; the round trips then start from it. */
static dlv_tensor *import_foreign_cuda(void) {
  static int64_t shape[2] = {8, 4};
  static int64_t strides[2] = {4, 1};
  DLManagedTensorVersioned *mt = calloc(1, sizeof *mt);
  if (mt == NULL) { perror("calloc"); exit(1); }
  mt->version.major = DLPACK_MAJOR_VERSION;
  mt->version.minor = DLPACK_MINOR_VERSION;
  mt->deleter = release_foreign;
  mt->dl_tensor.data = (void *)(uintptr_t)0x7f0000100000u; /* device memory: never read */
  mt->dl_tensor.device = (DLDevice){kDLCUDA, 0};
  mt->dl_tensor.ndim = 2;
  mt->dl_tensor.dtype = (DLDataType){kDLFloat, 32, 1};
  mt->dl_tensor.shape = shape;
  mt->dl_tensor.strides = strides;
  dlv_tensor *t = NULL;
  check(dlv_tensor_from_dlpack(mt, NULL, &t), "import of a CUDA tensor");
  return t;
}

static double time_round_trips(const dlv_tensor *t, int iters) {
  const void *expect = dlv_tensor_data(t);
  for (int i = 0; i < iters / 10; i++) round_trip(t); /* warm up */
  double best = 1e30;
  for (int rep = 0; rep < 5; rep++) {
    double start = now_ns();
    for (int i = 0; i < iters; i++) {
      if (round_trip(t) != expect) { fprintf(stderr, "data pointer changed\n"); exit(1); }
    }
    double per = (now_ns() - start) / iters;
    if (per < best) best = per;
  }
  return best;
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
    double best = time_round_trips(t, iters);
    printf("  ndim %d: %6.1f ns per round trip (best of 5 x %d)%s\n", ndim, best, iters,
           best < 100.0 ? "" : "   <-- above the 100 ns goal");
    results[ndim] = best;
    dlv_tensor_free(t);
  }
  dlv_tensor *cuda = import_foreign_cuda();
  double cuda_best = time_round_trips(cuda, iters);
  printf("  cuda:0 (foreign, ndim 2): %6.1f ns per round trip (CPU ndim 2: %.1f ns)\n", cuda_best, results[2]);
  dlv_tensor_free(cuda);
  if (foreign_releases != 1) {
    fprintf(stderr, "the foreign CUDA tensor was released %d times, not once\n", foreign_releases);
    return 1;
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
    fprintf(f, ",\n {\"name\": \"cuda:0 ndim 2\", \"dlview\": %.4e, \"refs\": {}}", cuda_best * 1e-9);
    fprintf(f, "\n]}\n");
    fclose(f);
  }
  return 0;
}
