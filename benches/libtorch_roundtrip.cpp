// The C round trip (export, import, free) of dlview against libtorch's own
// DLPack round trip (at::toDLPackVersioned + at::fromDLPackVersioned), in
// the same process, on tensors of rank 1..4. Goal: dlview <= 0.5x libtorch.
// Built and run by benches/libtorch_bench.py (make bench), which needs the
// torch wheel's headers (C++20) and libtorch_cpu.
#include "dlview.h"

#include <ATen/ATen.h>
#include <ATen/DLConvertor.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

void check(dlv_status s, const char *what) {
  if (s != DLV_OK) {
    std::fprintf(stderr, "%s failed: %s: %s\n", what, dlv_status_name(s), dlv_last_error());
    std::exit(1);
  }
}

// Best of `reps` batches of `n` calls, in ns per call.
template <class F> double best_ns(F &&f, int n, int reps) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) f();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / n);
  }
  return best;
}

}  // namespace

int main() {
#ifdef DLVIEW_BENCH_QUICK
  const int n = 1000, reps = 3;
#else
  const int n = 200000, reps = 7;
#endif
  std::printf("%-6s %12s %12s %8s\n", "rank", "dlview ns", "libtorch ns", "ratio");
  int failures = 0;
  for (int ndim = 1; ndim <= 4; ++ndim) {
    std::vector<int64_t> shape(ndim, 4);
    at::Tensor torch_t = at::zeros(shape, at::kFloat);
    dlv_tensor *t = nullptr;
    check(dlv_tensor_zeros(DLDataType{2, 32, 1}, ndim, shape.data(), DLV_ORDER_C, &t), "zeros");
    volatile const void *sink = nullptr;
    double dlv = best_ns(
        [&] {
          DLManagedTensorVersioned *mt = nullptr;
          dlv_tensor *back = nullptr;
          check(dlv_tensor_to_dlpack(t, nullptr, &mt), "export");
          check(dlv_tensor_from_dlpack(mt, nullptr, &back), "import");
          sink = dlv_tensor_data(back);
          dlv_tensor_free(back);
        },
        n, reps);
    double torch = best_ns(
        [&] {
          at::Tensor back = at::fromDLPackVersioned(at::toDLPackVersioned(torch_t));
          sink = back.data_ptr();
        },
        n, reps);
    (void)sink;
    double ratio = dlv / torch;
    std::printf("%-6d %12.1f %12.1f %7.2fx%s\n", ndim, dlv, torch, ratio, ratio <= 0.5 ? "" : "  (goal <= 0.5x)");
    failures += ratio > 0.5;
    dlv_tensor_free(t);
  }
  std::printf("dlview round trip / libtorch round trip: goal <= 0.5x; %d of 4 ranks above it\n", failures);
  return 0;
}
