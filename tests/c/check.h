/*
 * check.h: the assertions shared by the C test programs in tests/c/.
 *
 * Each program is plain C11 that also compiles as C++17 (so: no designated
 * initializers, no compound literals, casts on malloc). A failed check
 * prints `file:line`, what was expected, what happened and
 * dlv_last_error(), then the program carries on; REQUIRE_* checks return
 * from the current test function instead, for results the rest of the
 * function depends on. RUN() also fails a test whose storages outlive it
 * (dlv_live_storage_count() must return to its value before the test).
 * main() ends with `return check_summary(argv[0]);`.
 */
#ifndef DLVIEW_TESTS_CHECK_H
#define DLVIEW_TESTS_CHECK_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlview.h"

static int check_failed_count = 0;
static int check_passed_count = 0;

/* A failed check: `file:line: FAILED: ` then the caller prints the details
 * to stderr, then check_fail_end() adds dlv_last_error(). */
static inline void check_fail_begin(const char *file, int line) {
  check_failed_count++;
  fprintf(stderr, "%s:%d: FAILED: ", file, line);
}

static inline void check_fail_end(void) {
  fprintf(stderr, "\n    dlv_last_error(): \"%s\"\n", dlv_last_error());
}

static inline int check_true(int ok, const char *expr, const char *file, int line) {
  if (ok) {
    check_passed_count++;
  } else {
    check_fail_begin(file, line);
    fputs(expr, stderr);
    check_fail_end();
  }
  return ok;
}

/* ---- plain values -------------------------------------------------------- */

#define CHECK(cond) check_true((cond) ? 1 : 0, "CHECK(" #cond ")", __FILE__, __LINE__)

static inline int check_i64(int64_t got, int64_t want, const char *expr, const char *file, int line) {
  if (got == want) return check_true(1, expr, file, line);
  check_fail_begin(file, line);
  fprintf(stderr, "%s: got %" PRId64 ", want %" PRId64, expr, got, want);
  check_fail_end();
  return 0;
}
#define CHECK_I64(got, want) check_i64((int64_t)(got), (int64_t)(want), #got " == " #want, __FILE__, __LINE__)

/* Exact comparison: every expected double in these tests is exactly
 * representable, so anything else is a wrong result, not rounding. NaN
 * equals NaN here. */
static inline int check_f64(double got, double want, const char *expr, const char *file, int line) {
  if (got == want || (got != got && want != want)) return check_true(1, expr, file, line);
  check_fail_begin(file, line);
  fprintf(stderr, "%s: got %.17g, want %.17g", expr, got, want);
  check_fail_end();
  return 0;
}
#define CHECK_F64(got, want) check_f64((double)(got), (double)(want), #got " == " #want, __FILE__, __LINE__)

static inline int check_str(const char *got, const char *want, const char *expr, const char *file, int line) {
  if (got != NULL && want != NULL && strcmp(got, want) == 0) return check_true(1, expr, file, line);
  check_fail_begin(file, line);
  fprintf(stderr, "%s:\n    got  \"%s\"\n    want \"%s\"", expr, got ? got : "(NULL)", want ? want : "(NULL)");
  check_fail_end();
  return 0;
}
#define CHECK_STR(got, want) check_str((got), (want), #got " == " #want, __FILE__, __LINE__)

/* ---- statuses and messages ----------------------------------------------- */

static inline int check_status(dlv_status got, dlv_status want, const char *message, const char *expr,
                               const char *file, int line) {
  const char *err = dlv_last_error();
  if (got != want) {
    check_fail_begin(file, line);
    fprintf(stderr, "%s: got %s, want %s", expr, dlv_status_name((uint32_t)got), dlv_status_name((uint32_t)want));
    check_fail_end();
    return 0;
  }
  if (message != NULL && strcmp(err, message) != 0) {
    check_fail_begin(file, line);
    fprintf(stderr, "%s: %s as expected, but the message is wrong:\n    got  \"%s\"\n    want \"%s\"", expr,
            dlv_status_name((uint32_t)got), err, message);
    check_fail_end();
    return 0;
  }
  return check_true(1, expr, file, line);
}

/* The call succeeds. */
#define CHECK_OK(call) check_status((call), DLV_OK, NULL, #call, __FILE__, __LINE__)
/* The call succeeds, or the current (void) test function stops here. */
#define REQUIRE_OK(call)                                                        \
  do {                                                                          \
    if (!check_status((call), DLV_OK, NULL, #call, __FILE__, __LINE__)) return; \
  } while (0)
/* The call fails with exactly `status` and dlv_last_error() == `message`. */
#define CHECK_ERR(call, status, message) check_status((call), (status), (message), #call, __FILE__, __LINE__)

/* A pointer no call may write: out-parameters are set to it before a call
 * that must fail, and must still hold it afterwards. */
static char check_sentinel_byte;
#define SENTINEL ((dlv_tensor *)(void *)&check_sentinel_byte)

/* `call` writes its handle through `&bad` (a dlv_tensor* the macro declares)
 * and must fail with `status` and `message`, leaving `bad` untouched. */
#define CHECK_ERR_NO_OUT(call, status, message)                               \
  do {                                                                        \
    dlv_tensor *bad = SENTINEL;                                               \
    check_status((call), (status), (message), #call, __FILE__, __LINE__);     \
    check_true(bad == SENTINEL, "out-parameter untouched after a failure: " #call, __FILE__, __LINE__); \
    if (bad != SENTINEL) dlv_tensor_free(bad);                                \
  } while (0)

/* ---- tensors ------------------------------------------------------------- */

static inline DLDataType dtype_of(uint8_t code, uint8_t bits, uint16_t lanes) {
  DLDataType d;
  d.code = code;
  d.bits = bits;
  d.lanes = lanes;
  return d;
}
#define F32 dtype_of(kDLFloat, 32, 1)
#define F64 dtype_of(kDLFloat, 64, 1)
#define I32 dtype_of(kDLInt, 32, 1)
#define U8 dtype_of(kDLUInt, 8, 1)

static inline DLDevice device_of(DLDeviceType type, int32_t id) {
  DLDevice d;
  d.device_type = type;
  d.device_id = id;
  return d;
}
#define CPU device_of(kDLCPU, 0)

static inline void print_flags(uint32_t flags) {
  fprintf(stderr, "%s%s%s%s%s(%u)", (flags & DLV_FLAG_WRITEABLE) ? "WRITEABLE " : "",
           (flags & DLV_FLAG_C_CONTIGUOUS) ? "C_CONTIGUOUS " : "",
           (flags & DLV_FLAG_F_CONTIGUOUS) ? "F_CONTIGUOUS " : "", (flags & DLV_FLAG_OWNDATA) ? "OWNDATA " : "",
           (flags & DLV_FLAG_ALIGNED) ? "ALIGNED " : "", (unsigned)flags);
}

static inline int check_flags(const dlv_tensor *t, uint32_t want, const char *expr, const char *file, int line) {
  uint32_t got = dlv_tensor_flags(t);
  if (got == want) return check_true(1, expr, file, line);
  check_fail_begin(file, line);
  fprintf(stderr, "flags of %s: got ", expr);
  print_flags(got);
  fprintf(stderr, ", want ");
  print_flags(want);
  check_fail_end();
  return 0;
}
/* dlv_tensor_flags(t) is exactly `want` (an OR of DLV_FLAG_*). */
#define CHECK_FLAGS(t, want) check_flags((t), (uint32_t)(want), #t, __FILE__, __LINE__)

static inline void print_dims(int32_t n, const int64_t *dims) {
  int32_t i;
  fputc('(', stderr);
  for (i = 0; i < n; i++) fprintf(stderr, i ? ", %" PRId64 : "%" PRId64, dims[i]);
  fputc(')', stderr);
}

static inline int check_layout(const dlv_tensor *t, int32_t ndim, const int64_t *shape, const int64_t *strides,
                               const char *expr, const char *file, int line) {
  int32_t got_ndim = dlv_tensor_ndim(t);
  const int64_t *got_shape = dlv_tensor_shape(t);
  const int64_t *got_strides = dlv_tensor_strides(t);
  int ok = t != NULL && got_ndim == ndim && got_shape != NULL && got_strides != NULL;
  int32_t i;
  for (i = 0; ok && i < ndim; i++) {
    ok = got_shape[i] == shape[i] && (strides == NULL || got_strides[i] == strides[i]);
  }
  if (ok) return check_true(1, expr, file, line);
  check_fail_begin(file, line);
  if (t == NULL || got_shape == NULL || got_strides == NULL) {
    fprintf(stderr, "layout of %s: NULL handle, shape or strides", expr);
  } else {
    fprintf(stderr, "layout of %s: got shape ", expr);
    print_dims(got_ndim, got_shape);
    fprintf(stderr, " strides ");
    print_dims(got_ndim, got_strides);
    fprintf(stderr, ", want shape ");
    print_dims(ndim, shape);
    fprintf(stderr, " strides ");
    if (strides != NULL) {
      print_dims(ndim, strides);
    } else {
      fprintf(stderr, "(any)");
    }
  }
  check_fail_end();
  return 0;
}
/* Exact ndim, shape and strides (strides NULL: not compared). */
#define CHECK_LAYOUT(t, ndim, shape, strides) check_layout((t), (ndim), (shape), (strides), #t, __FILE__, __LINE__)

/* Address `elements` elements of `itemsize` bytes after `base`. */
static inline const void *elem_addr(const void *base, int64_t elements, size_t itemsize) {
  return (const void *)((const char *)base + elements * (int64_t)itemsize);
}

/* Advances a C-order multi-index; returns 0 once every index was visited. */
static inline int next_index(int32_t ndim, const int64_t *shape, int64_t *index) {
  int32_t axis;
  for (axis = ndim - 1; axis >= 0; axis--) {
    if (++index[axis] < shape[axis]) return 1;
    index[axis] = 0;
  }
  return 0;
}

static inline int check_values(const dlv_tensor *t, int64_t n, const double *want, const char *expr,
                               const char *file, int line) {
  int64_t index[64];
  int32_t ndim = dlv_tensor_ndim(t), i;
  const int64_t *shape = dlv_tensor_shape(t);
  int64_t k = 0;
  if (dlv_tensor_size(t) != n) {
    check_fail_begin(file, line);
    fprintf(stderr, "%s has %" PRId64 " elements, want %" PRId64, expr, dlv_tensor_size(t), n);
    check_fail_end();
    return 0;
  }
  if (n == 0) return check_true(1, expr, file, line);
  for (i = 0; i < ndim; i++) index[i] = 0;
  do {
    double got = -12345.0;
    dlv_status s = dlv_tensor_get_f64(t, index, &got);
    if (s != DLV_OK || !(got == want[k] || (got != got && want[k] != want[k]))) {
      check_fail_begin(file, line);
      fprintf(stderr, "%s at C-order element %" PRId64 " ", expr, k);
      print_dims(ndim, index);
      fprintf(stderr, ": %s, got %.17g, want %.17g", dlv_status_name((uint32_t)s), got, want[k]);
      check_fail_end();
      return 0;
    }
    k++;
  } while (next_index(ndim, shape, index));
  return check_true(1, expr, file, line);
}
/* The `n` elements of `t`, read with dlv_tensor_get_f64 in C order, are `want`. */
#define CHECK_VALUES(t, n, want) check_values((t), (n), (want), #t, __FILE__, __LINE__)

/* One element (`index` has ndim entries). */
static inline int check_at(const dlv_tensor *t, const int64_t *index, double want, const char *expr,
                           const char *file, int line) {
  double got = -12345.0;
  dlv_status s = dlv_tensor_get_f64(t, index, &got);
  if (s == DLV_OK && got == want) return check_true(1, expr, file, line);
  check_fail_begin(file, line);
  fprintf(stderr, "%s: %s, got %.17g, want %.17g", expr, dlv_status_name((uint32_t)s), got, want);
  check_fail_end();
  return 0;
}
#define CHECK_AT(t, index, want) check_at((t), (index), (want), #t "[" #index "]", __FILE__, __LINE__)

/* A new C-order float32 tensor whose element at C-order position k holds k
 * (so a view's values are the element offsets it reaches). */
static inline dlv_status arange_f32(int32_t ndim, const int64_t *shape, dlv_tensor **out) {
  dlv_tensor *t = NULL;
  void *p = NULL;
  int64_t i, n;
  dlv_status s = dlv_tensor_zeros(F32, ndim, shape, DLV_ORDER_C, &t);
  if (s != DLV_OK) return s;
  s = dlv_tensor_data_mut(t, &p);
  if (s != DLV_OK) {
    dlv_tensor_free(t);
    return s;
  }
  n = dlv_tensor_size(t);
  for (i = 0; i < n; i++) ((float *)p)[i] = (float)i;
  *out = t;
  return DLV_OK;
}

/* ---- running -------------------------------------------------------------- */

static inline void run_test(const char *name, void (*test)(void)) {
  int failed_before = check_failed_count;
  uint64_t live_before = dlv_live_storage_count();
  uint64_t live_after;
  test();
  live_after = dlv_live_storage_count();
  if (live_after != live_before) {
    check_fail_begin(__FILE__, __LINE__);
    fprintf(stderr, "%s left storages alive: dlv_live_storage_count() went from %" PRIu64 " to %" PRIu64, name,
            live_before, live_after);
    check_fail_end();
  }
  fprintf(stderr, "%s %s\n", check_failed_count == failed_before ? "ok  " : "FAIL", name);
}
/* Runs one test function and checks that it freed every storage it made. */
#define RUN(test) run_test(#test, test)

static inline int check_summary(const char *program) {
  fprintf(stderr, "%s: %d checks passed, %d failed\n", program, check_passed_count, check_failed_count);
  return check_failed_count == 0 ? 0 : 1;
}

#endif /* DLVIEW_TESTS_CHECK_H */
