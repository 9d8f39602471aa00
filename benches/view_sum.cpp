// Strided float32 sum through dlview::View<const float, 2> versus the same
// loop over a raw pointer with the same strides: View's v(i, j) should cost
// what p[i * s0 + j * s1] costs (goal: raw time / View time >= 0.9). Both
// loops add in the same order, so the sums must be bit-identical. Writes
// $DLVIEW_BENCH_DIR/view_sum.json when that is set (make bench).
#include "dlview.hpp"

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

double now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// noinline: each loop is compiled once, for strides known only at run time,
// as a library routine taking a view would be.
template <typename V>
__attribute__((noinline)) float sum_view(const V &v) {
  const int64_t n0 = v.shape(0), n1 = v.shape(1);
  float s = 0;
  for (int64_t i = 0; i < n0; i++)
    for (int64_t j = 0; j < n1; j++) s += v(i, j);
  return s;
}

__attribute__((noinline)) float sum_raw(const float *p, int64_t n0, int64_t n1, int64_t s0, int64_t s1) {
  float s = 0;
  for (int64_t i = 0; i < n0; i++)
    for (int64_t j = 0; j < n1; j++) s += p[i * s0 + j * s1];
  return s;
}

// Best time per element of `reps` runs of `f` over `elements` elements.
template <typename F>
double best_ns_per_element(F &&f, int64_t elements, int reps, float *result) {
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double start = now_ns();
    *result = f();
    double per = (now_ns() - start) / double(elements);
    if (per < best) best = per;
  }
  return best;
}

struct Case {
  std::string name;
  double view_ns;
  double raw_ns;
};

}  // namespace

int main() {
#ifdef DLVIEW_BENCH_QUICK
  const int64_t n = 64;  // make test-asan / test-valgrind: correctness, not timing
  const int reps = 2;
#else
  const int64_t n = 1024;
  const int reps = 15;
#endif
  using dlview::Tensor;
  std::vector<Case> cases;
  int failures = 0;
  try {
    Tensor a = Tensor::empty(dlview::dtype::float32, {n, n});
    {
      dlview::View<float, 2> w = a.view<float, 2>();
      for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) w(i, j) = float((i * 7 + j * 3) % 17) - 8.0f;
    }
    struct Layout {
      const char *name;
      Tensor t;
    };
    Layout layouts[] = {
        {"C order (strides n, 1)", a.retain()},
        {"transposed (strides 1, n)", a.transpose()},
        {"[::-1, ::2] (strides -n, 2)", a.slice(0, DLV_NONE, DLV_NONE, -1).slice(1, DLV_NONE, DLV_NONE, 2)},
        {"broadcast row (strides 0, 1)", a.select(0, 3).broadcast_to({n, n})},
    };
    std::printf("strided float32 sum, %lldx%lld source: View<const float, 2> vs a raw pointer (goal >= 0.9x)\n",
                (long long)n, (long long)n);
    for (Layout &l : layouts) {
      dlview::View<const float, 2> v = l.t.view<const float, 2>();
      const float *p = v.data();
      const int64_t n0 = v.shape(0), n1 = v.shape(1), s0 = v.stride(0), s1 = v.stride(1);
      float by_view = 0, by_raw = 0;
      // Interleaved, so that both see the same machine state.
      double view_ns = 1e30, raw_ns = 1e30;
      for (int round = 0; round < 3; round++) {
        double t = best_ns_per_element([&] { return sum_view(v); }, n0 * n1, reps, &by_view);
        if (t < view_ns) view_ns = t;
        t = best_ns_per_element([&] { return sum_raw(p, n0, n1, s0, s1); }, n0 * n1, reps, &by_raw);
        if (t < raw_ns) raw_ns = t;
      }
      if (by_view != by_raw) {
        std::fprintf(stderr, "%s: View sum %.9g differs from raw sum %.9g\n", l.name, by_view, by_raw);
        failures++;
      }
      double ratio = raw_ns / view_ns;
      std::printf("  %-30s View %6.3f ns/element, raw %6.3f ns/element: %.2fx%s\n", l.name, view_ns, raw_ns, ratio,
                  ratio >= 0.9 ? "" : "   <-- below the 0.9x goal");
      cases.push_back(Case{l.name, view_ns, raw_ns});
    }
    // The dynamic-rank form also compares the index count with ndim() on
    // every access (one predictable branch).
    Tensor t = a.transpose();
    dlview::View<const float> dyn = t.view<const float>();
    float by_dyn = 0, by_raw = 0;
    double dyn_ns = best_ns_per_element([&] { return sum_view(dyn); }, n * n, reps, &by_dyn);
    double raw_ns = best_ns_per_element([&] { return sum_raw(dyn.data(), n, n, dyn.stride(0), dyn.stride(1)); },
                                        n * n, reps, &by_raw);
    if (by_dyn != by_raw) failures++;
    std::printf("  %-30s View %6.3f ns/element, raw %6.3f ns/element: %.2fx%s\n", "transposed, View<const float>",
                dyn_ns, raw_ns, raw_ns / dyn_ns, raw_ns / dyn_ns >= 0.9 ? "" : "   <-- below the 0.9x goal");
    cases.push_back(Case{"transposed, dynamic rank", dyn_ns, raw_ns});
  } catch (const dlview::Error &e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  const char *dir = std::getenv("DLVIEW_BENCH_DIR");
  if (dir != nullptr) {
    std::string path = std::string(dir) + "/view_sum.json";
    FILE *f = std::fopen(path.c_str(), "w");
    if (f == nullptr) {
      std::perror(path.c_str());
      return 1;
    }
    // Seconds per element, as the other benchmarks give seconds per case.
    std::fprintf(f, "{\"bench\": \"view_sum\", \"title\": \"C++: strided float32 sum, View<const float, 2> vs raw "
                    "pointer\", \"goal_ratio\": 0.9, \"cases\": [");
    for (size_t k = 0; k < cases.size(); k++)
      std::fprintf(f, "%s\n {\"name\": \"%s\", \"dlview\": %.4e, \"refs\": {\"raw pointer\": %.4e}}", k ? "," : "",
                   cases[k].name.c_str(), cases[k].view_ns * 1e-9, cases[k].raw_ns * 1e-9);
    std::fprintf(f, "\n]}\n");
    std::fclose(f);
  }
  return failures == 0 ? 0 : 1;
}
