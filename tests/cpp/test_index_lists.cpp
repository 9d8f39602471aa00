/*
 * Index and axis lists in dlview.hpp are checked against the rank before
 * the library reads them (issue 15, item 12). The C calls read exactly
 * ndim entries and cannot know how long the caller's list is: before the
 * fix, `t.get({0})` on a 2-D tensor passed a 1-entry list and the library
 * read past it.
 *
 * The library is not built with AddressSanitizer, so ASan cannot see what
 * it reads. The definitions below take the library's place for the calls
 * this program makes: each reads the entries the library will read (here,
 * in instrumented code, so `make test-asan` reports an over-read as a
 * stack-buffer-overflow), then forwards to the library's own function.
 */
#include "check.hpp"

#include <dlfcn.h>

#include <vector>

template <typename F>
static F library_function(const char *name) {
  void *f = dlsym(RTLD_NEXT, name);
  if (f == NULL) {
    fprintf(stderr, "dlsym(RTLD_NEXT, %s) failed: %s\n", name, dlerror());
    abort();
  }
  return reinterpret_cast<F>(f);
}

/* Reads the `n` entries the library is about to read. */
template <typename I>
static void touch(const I *list, int32_t n) {
  volatile I sink = 0;
  for (int32_t i = 0; list != NULL && i < n; i++) sink = sink + list[i];
}

extern "C" dlv_status dlv_tensor_get_f64(const dlv_tensor *t, const int64_t *index, double *out) {
  static auto real = library_function<dlv_status (*)(const dlv_tensor *, const int64_t *, double *)>(
      "dlv_tensor_get_f64");
  touch(index, dlv_tensor_ndim(t));
  return real(t, index, out);
}

extern "C" dlv_status dlv_tensor_set_f64(dlv_tensor *t, const int64_t *index, double value) {
  static auto real =
      library_function<dlv_status (*)(dlv_tensor *, const int64_t *, double)>("dlv_tensor_set_f64");
  touch(index, dlv_tensor_ndim(t));
  return real(t, index, value);
}

extern "C" dlv_status dlv_tensor_permute(const dlv_tensor *t, const int32_t *axes, dlv_tensor **out) {
  static auto real =
      library_function<dlv_status (*)(const dlv_tensor *, const int32_t *, dlv_tensor **)>("dlv_tensor_permute");
  touch(axes, dlv_tensor_ndim(t));
  return real(t, axes, out);
}

using dlview::Tensor;

/* A 2x3 float32 tensor holding 3 * i + j at [i, j]. */
static Tensor two_by_three() { return arange_tensor({2, 3}); }

static void get_with_too_few_indices() {
  Tensor t = two_by_three();
  CHECK_THROWS(t.get({0}), DLV_ERR_INDEX, "get() needs one index per dimension: 2 for a 2-d tensor, got 1");
  CHECK_THROWS(t.get({}), DLV_ERR_INDEX, "get() needs one index per dimension: 2 for a 2-d tensor, got 0");
  CHECK_F64(t.get({1, 2}), 5.0);
  CHECK_F64(t.get({-1, -3}), 3.0); /* negative indices count from the end, as in the C call */
}

static void get_with_too_many_indices() {
  Tensor t = two_by_three();
  CHECK_THROWS(t.get({0, 0, 0}), DLV_ERR_INDEX, "get() needs one index per dimension: 2 for a 2-d tensor, got 3");
}

static void set_with_wrong_lengths_writes_nothing() {
  Tensor t = two_by_three();
  CHECK_THROWS(t.set({1}, 99.0), DLV_ERR_INDEX, "set() needs one index per dimension: 2 for a 2-d tensor, got 1");
  CHECK_THROWS(t.set({0, 1, 2}, 99.0), DLV_ERR_INDEX,
               "set() needs one index per dimension: 2 for a 2-d tensor, got 3");
  const double want[6] = {0, 1, 2, 3, 4, 5};
  CHECK_VALUES(t.get(), 6, want);
}

static void zero_d_tensor_takes_an_empty_list() {
  Tensor t = Tensor::zeros(dlview::dtype::float64, {});
  t.set({}, 2.5);
  CHECK_F64(t.get({}), 2.5);
  CHECK_THROWS(t.get({0}), DLV_ERR_INDEX, "get() needs one index per dimension: 0 for a 0-d tensor, got 1");
}

static void permute_needs_one_axis_per_dimension() {
  Tensor t = two_by_three();
  CHECK_THROWS(t.permute({0}), DLV_ERR_INVALID_ARGUMENT, "permute needs one axis per dimension (2), got 1");
  CHECK_THROWS(t.permute({0, 1, 2}), DLV_ERR_INVALID_ARGUMENT, "permute needs one axis per dimension (2), got 3");
  Tensor p = t.permute({1, 0});
  CHECK_F64(p.get({2, 1}), 5.0);
}

static void shape_and_strides_lists_must_agree() {
  Tensor t = two_by_three();
  CHECK_THROWS(t.as_strided({2, 3}, {3}), DLV_ERR_INVALID_ARGUMENT, "shape and strides must have the same length");
  float buf[6] = {0};
  CHECK_THROWS(Tensor::from_buffer(buf, dlview::dtype::float32, {2, 3}, {3}), DLV_ERR_INVALID_ARGUMENT,
               "strides must be empty or have one entry per dimension");
}

int main(int, char **argv) {
  RUN_CPP(get_with_too_few_indices);
  RUN_CPP(get_with_too_many_indices);
  RUN_CPP(set_with_wrong_lengths_writes_nothing);
  RUN_CPP(zero_d_tensor_takes_an_empty_list);
  RUN_CPP(permute_needs_one_axis_per_dimension);
  RUN_CPP(shape_and_strides_lists_must_agree);
  return check_summary(argv[0]);
}
