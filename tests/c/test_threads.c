/*
 * Threads through the C ABI: dlv_set_num_threads / dlv_get_num_threads
 * (every status with its message), and copies, casts and broadcasting
 * assignments that are bit-identical at 1, 2 and 4 threads.
 *
 * With arguments `--expect-env N` the program checks instead that its
 * first dlv_get_num_threads() is N (tests/c_api.rs runs it so with
 * DLVIEW_NUM_THREADS set to valid and invalid values: the variable is read
 * once per process, so each value needs a fresh one).
 */
#include "check.h"

#ifdef __cplusplus
#include "dlview.hpp"
#endif

#define BAD_COUNT(n) "the number of threads must be between 0 (all cores) and 1024, not " #n

static void test_set_and_get(void) {
  CHECK_OK(dlv_set_num_threads(3));
  CHECK_I64(dlv_get_num_threads(), 3);
  CHECK_OK(dlv_set_num_threads(1));
  CHECK_I64(dlv_get_num_threads(), 1);
  CHECK_OK(dlv_set_num_threads(1024));
  CHECK_I64(dlv_get_num_threads(), 1024);
  /* 0: every core this process may run on. */
  CHECK_OK(dlv_set_num_threads(0));
  CHECK(dlv_get_num_threads() >= 1);
  CHECK_OK(dlv_set_num_threads(2));
  CHECK_ERR(dlv_set_num_threads(-1), DLV_ERR_INVALID_ARGUMENT, BAD_COUNT(-1));
  CHECK_ERR(dlv_set_num_threads(1025), DLV_ERR_INVALID_ARGUMENT, BAD_COUNT(1025));
  CHECK_ERR(dlv_set_num_threads(INT32_MIN), DLV_ERR_INVALID_ARGUMENT, BAD_COUNT(-2147483648));
  /* A refused value changes nothing. */
  CHECK_I64(dlv_get_num_threads(), 2);
}

/* The bytes of a compact tensor, copied out (caller frees). */
static unsigned char *bytes_of(const dlv_tensor *t, size_t *n) {
  unsigned char *b;
  *n = dlv_tensor_nbytes(t);
  b = (unsigned char *)malloc(*n);
  if (b != NULL) memcpy(b, dlv_tensor_data(t), *n);
  return b;
}

#define ROWS 384
#define COLS 700

/* The value at flat index `i` of the source (float arithmetic). */
static float value(float i) { return (i - 1234.5f) * 1.0009765625f / 3.0f; }

/* One large result of each kind at the current thread count, all its
 * bytes concatenated into *out (caller frees). */
static void results(unsigned char **out, size_t *len) {
  const int64_t shape[2] = {ROWS, COLS}, tshape[2] = {COLS, ROWS};
  dlv_tensor *a = NULL, *at = NULL, *row = NULL, *bc = NULL, *dst = NULL, *r[4] = {NULL, NULL, NULL, NULL};
  size_t i, total = 0;
  *out = NULL;
  *len = 0;
  REQUIRE_OK(arange_f32(2, shape, &a));
  {
    /* Values with fractions and a sign, so that casts round. */
    float *p = NULL;
    REQUIRE_OK(dlv_tensor_data_mut(a, (void **)&p));
    for (i = 0; i < (size_t)ROWS * COLS; i++) p[i] = value(p[i]);
  }
  REQUIRE_OK(dlv_tensor_transpose(a, &at));
  CHECK_OK(dlv_tensor_copy(at, DLV_ORDER_C, &r[0]));                                  /* transpose */
  CHECK_OK(dlv_tensor_astype(a, dtype_of(kDLFloat, 16, 1), DLV_ORDER_C, &r[1]));      /* f32 -> f16 */
  CHECK_OK(dlv_tensor_astype(at, dtype_of(kDLBfloat, 16, 1), DLV_ORDER_F, &r[2]));    /* -> bf16 */
  /* dst[...] = a[0] (a row broadcast over every row), cast to float64. */
  CHECK_OK(dlv_tensor_select(a, 0, 7, &row));
  CHECK_OK(dlv_tensor_zeros(F64, 2, tshape, DLV_ORDER_C, &dst));
  CHECK_OK(dlv_tensor_transpose(dst, &bc));
  CHECK_OK(dlv_tensor_copy_into(bc, row));
  r[3] = dst;
  dst = NULL;
  for (i = 0; i < 4; i++) total += r[i] != NULL ? dlv_tensor_nbytes(r[i]) : 0;
  *out = (unsigned char *)malloc(total);
  for (i = 0; i < 4 && *out != NULL; i++) {
    size_t n = 0;
    unsigned char *b = r[i] != NULL ? bytes_of(r[i], &n) : NULL;
    if (b != NULL) memcpy(*out + *len, b, n);
    *len += n;
    free(b);
  }
  for (i = 0; i < 4; i++) dlv_tensor_free(r[i]);
  dlv_tensor_free(bc);
  dlv_tensor_free(row);
  dlv_tensor_free(at);
  dlv_tensor_free(a);
}

static void test_bit_identical(void) {
  unsigned char *one = NULL, *two = NULL, *four = NULL;
  size_t n1 = 0, n2 = 0, n4 = 0;
  CHECK_OK(dlv_set_num_threads(1));
  results(&one, &n1);
  CHECK_OK(dlv_set_num_threads(2));
  results(&two, &n2);
  CHECK_OK(dlv_set_num_threads(4));
  results(&four, &n4);
  CHECK(n1 > 0);
  CHECK_I64(n2, n1);
  CHECK_I64(n4, n1);
  CHECK(one != NULL && two != NULL && memcmp(one, two, n1) == 0);
  CHECK(one != NULL && four != NULL && memcmp(one, four, n1) == 0);
  {
    /* A large cast refused before any work (complex to real) writes
     * nothing, on any number of threads. */
    const int64_t shape[1] = {1 << 18};
    dlv_tensor *z = NULL;
    if (check_status(dlv_tensor_zeros(dtype_of(kDLComplex, 64, 1), 1, shape, DLV_ORDER_C, &z), DLV_OK, NULL,
                     "zeros", __FILE__, __LINE__)) {
      CHECK_ERR_NO_OUT(dlv_tensor_astype(z, F32, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                       "casting complex64 to float32 would discard the imaginary part; take the real part "
                       "explicitly (or allow it with CastOptions::discard_imaginary)");
    }
    dlv_tensor_free(z);
  }
  {
    /* Spot values: the transpose's [0][1] is a[1][0], its [1][0] is a[0][1];
     * every row of the assignment is a[7]. */
    const float *t = (const float *)one;
    const double *b = (const double *)(one + n1 - (size_t)ROWS * COLS * 8);
    CHECK_F64(t[1], value(COLS));
    CHECK_F64(t[ROWS], value(1));
    CHECK_F64(b[0], value(7 * COLS));
    CHECK_F64(b[ROWS + 1], value(7 * COLS + 1));
  }
  free(one);
  free(two);
  free(four);
  CHECK_OK(dlv_set_num_threads(0));
}

#ifdef __cplusplus
/* The C++ wrappers (this file is also built as C++17). */
static void test_cpp_wrappers(void) {
  dlview::set_num_threads(3);
  CHECK_I64(dlview::get_num_threads(), 3);
  try {
    dlview::set_num_threads(-2);
    CHECK(!"set_num_threads(-2) did not throw");
  } catch (const dlview::Error &e) {
    CHECK_I64(e.status(), DLV_ERR_INVALID_ARGUMENT);
    CHECK_STR(e.what(), "DLV_ERR_INVALID_ARGUMENT: " BAD_COUNT(-2));
  }
  CHECK_I64(dlview::get_num_threads(), 3);
  dlview::set_num_threads(0);
}
#endif

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--expect-env") == 0) {
    /* The first call decides from DLVIEW_NUM_THREADS; a setter overrides it. */
    CHECK_I64(dlv_get_num_threads(), atoi(argv[2]));
    CHECK_OK(dlv_set_num_threads(1));
    CHECK_I64(dlv_get_num_threads(), 1);
    return check_summary(argv[0]);
  }
  RUN(test_set_and_get);
  RUN(test_bit_identical);
#ifdef __cplusplus
  RUN(test_cpp_wrappers);
#endif
  return check_summary(argv[0]);
}
