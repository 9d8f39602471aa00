/*
 * Library calls, creation (empty, zeros, retain, free) and inspection
 * (ndim ... describe) through the C ABI, every error status they return,
 * and the exact messages the rules name.
 */
#include <pthread.h>

#include "check.h"

/* The per-thread message starts empty; this runs first in main(). */
static void test_last_error_starts_empty(void) {
  CHECK(dlv_last_error() != NULL);
  CHECK_STR(dlv_last_error(), "");
}

static void test_version(void) {
  char expected[64];
  snprintf(expected, sizeof expected, "%d.%d.%d", DLVIEW_VERSION_MAJOR, DLVIEW_VERSION_MINOR, DLVIEW_VERSION_PATCH);
  CHECK_STR(dlv_version(), DLVIEW_VERSION_STRING);
  CHECK_STR(dlv_version(), expected);
  CHECK(dlv_version() == dlv_version()); /* static storage */
}

static void test_status_names(void) {
  CHECK_STR(dlv_status_name(DLV_OK), "DLV_OK");
  CHECK_STR(dlv_status_name(DLV_ERR_NULL_ARGUMENT), "DLV_ERR_NULL_ARGUMENT");
  CHECK_STR(dlv_status_name(DLV_ERR_INVALID_ARGUMENT), "DLV_ERR_INVALID_ARGUMENT");
  CHECK_STR(dlv_status_name(DLV_ERR_INDEX), "DLV_ERR_INDEX");
  CHECK_STR(dlv_status_name(DLV_ERR_READ_ONLY), "DLV_ERR_READ_ONLY");
  CHECK_STR(dlv_status_name(DLV_ERR_COPY_REQUIRED), "DLV_ERR_COPY_REQUIRED");
  CHECK_STR(dlv_status_name(DLV_ERR_UNSUPPORTED_DTYPE), "DLV_ERR_UNSUPPORTED_DTYPE");
  CHECK_STR(dlv_status_name(DLV_ERR_UNSUPPORTED_DEVICE), "DLV_ERR_UNSUPPORTED_DEVICE");
  CHECK_STR(dlv_status_name(DLV_ERR_VERSION), "DLV_ERR_VERSION");
  CHECK_STR(dlv_status_name(DLV_ERR_OUT_OF_MEMORY), "DLV_ERR_OUT_OF_MEMORY");
  CHECK_STR(dlv_status_name(DLV_ERR_IO), "DLV_ERR_IO");
  CHECK_STR(dlv_status_name(DLV_ERR_FORMAT), "DLV_ERR_FORMAT");
  CHECK_STR(dlv_status_name(DLV_ERR_DEVICE_UNAVAILABLE), "DLV_ERR_DEVICE_UNAVAILABLE");
  CHECK_STR(dlv_status_name(DLV_ERR_PANIC), "DLV_ERR_PANIC");
  /* The values are ABI: pin them. */
  CHECK_I64(DLV_ERR_DEVICE_UNAVAILABLE, 12);
  CHECK_I64(DLV_ERR_PANIC, 99);
  CHECK_STR(dlv_status_name(13), "DLV_UNKNOWN_STATUS");
  CHECK_STR(dlv_status_name(98), "DLV_UNKNOWN_STATUS");
  CHECK_STR(dlv_status_name(100), "DLV_UNKNOWN_STATUS");
  CHECK_STR(dlv_status_name(UINT32_MAX), "DLV_UNKNOWN_STATUS");
}

/* ---- empty / zeros: layouts and flags -------------------------------------- */

typedef dlv_status (*create_fn)(DLDataType, int32_t, const int64_t *, dlv_order, dlv_tensor **);

static void test_new_c_order(void) {
  static const create_fn makers[2] = {dlv_tensor_empty, dlv_tensor_zeros};
  int m;
  for (m = 0; m < 2; m++) {
    const int64_t shape[2] = {3, 4}, strides[2] = {4, 1};
    const int64_t idx[2] = {2, 3};
    dlv_tensor *t = NULL;
    DLDataType dt;
    DLDevice dev;
    REQUIRE_OK(makers[m](F32, 2, shape, DLV_ORDER_C, &t));
    CHECK_LAYOUT(t, 2, shape, strides);
    CHECK_I64(dlv_tensor_size(t), 12);
    CHECK_I64(dlv_tensor_nbytes(t), 48);
    CHECK_FLAGS(t, DLV_FLAG_WRITEABLE | DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_OWNDATA | DLV_FLAG_ALIGNED);
    dt = dlv_tensor_dtype(t);
    CHECK(dt.code == kDLFloat && dt.bits == 32 && dt.lanes == 1);
    dev = dlv_tensor_device(t);
    CHECK(dev.device_type == kDLCPU && dev.device_id == 0);
    CHECK(dlv_tensor_data(t) != NULL);
    CHECK_I64((uintptr_t)dlv_tensor_data(t) % 64, 0); /* documented: 64-byte aligned */
    CHECK_AT(t, idx, 0.0);                             /* zeros; empty is zero today */
    dlv_tensor_free(t);
  }
}

static void test_new_f_order(void) {
  const int64_t shape[3] = {2, 3, 4}, strides[3] = {1, 2, 6};
  const int64_t idx[3] = {1, 2, 3};
  dlv_tensor *t = NULL;
  void *p = NULL;
  REQUIRE_OK(dlv_tensor_empty(F64, 3, shape, DLV_ORDER_F, &t));
  CHECK_LAYOUT(t, 3, shape, strides);
  CHECK_I64(dlv_tensor_nbytes(t), 24 * 8);
  CHECK_FLAGS(t, DLV_FLAG_WRITEABLE | DLV_FLAG_F_CONTIGUOUS | DLV_FLAG_OWNDATA | DLV_FLAG_ALIGNED);
  /* Element [1][2][3] is at 1*1 + 2*2 + 3*6 = 23 elements from the start. */
  REQUIRE_OK(dlv_tensor_data_mut(t, &p));
  ((double *)p)[23] = 42.5;
  CHECK_AT(t, idx, 42.5);
  dlv_tensor_free(t);
}

static void test_new_special_shapes(void) {
  const int64_t one_d[1] = {5}, unit_stride[1] = {1};
  const int64_t empty_shape[2] = {0, 5}, empty_strides[2] = {5, 1};
  int64_t ones[64];
  const uint32_t all = DLV_FLAG_WRITEABLE | DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_F_CONTIGUOUS | DLV_FLAG_OWNDATA |
                       DLV_FLAG_ALIGNED;
  dlv_tensor *t = NULL;
  void *p = SENTINEL;
  double v = 0.0;
  int i;

  /* 0-d: shape may be NULL, one element, both contiguities. */
  REQUIRE_OK(dlv_tensor_zeros(F32, 0, NULL, DLV_ORDER_C, &t));
  CHECK_I64(dlv_tensor_ndim(t), 0);
  CHECK(dlv_tensor_shape(t) != NULL);
  CHECK(dlv_tensor_strides(t) != NULL);
  CHECK_I64(dlv_tensor_size(t), 1);
  CHECK_I64(dlv_tensor_nbytes(t), 4);
  CHECK_FLAGS(t, all);
  CHECK_OK(dlv_tensor_set_f64(t, NULL, 2.5));
  CHECK_OK(dlv_tensor_get_f64(t, NULL, &v));
  CHECK_F64(v, 2.5);
  dlv_tensor_free(t);

  /* 1-d: both contiguities. */
  REQUIRE_OK(dlv_tensor_empty(I32, 1, one_d, DLV_ORDER_F, &t));
  CHECK_LAYOUT(t, 1, one_d, unit_stride);
  CHECK_FLAGS(t, all);
  dlv_tensor_free(t);

  /* Size 0: both contiguities, no data pointer, size-0 dims count as 1 in
   * the strides (NumPy). data_mut succeeds and gives NULL. */
  REQUIRE_OK(dlv_tensor_zeros(F32, 2, empty_shape, DLV_ORDER_C, &t));
  CHECK_LAYOUT(t, 2, empty_shape, empty_strides);
  CHECK_I64(dlv_tensor_size(t), 0);
  CHECK_I64(dlv_tensor_nbytes(t), 0);
  CHECK(dlv_tensor_data(t) == NULL);
  CHECK_FLAGS(t, all);
  CHECK_OK(dlv_tensor_data_mut(t, &p));
  CHECK(p == NULL);
  dlv_tensor_free(t);

  /* 64 dimensions is the maximum. */
  for (i = 0; i < 64; i++) ones[i] = 1;
  ones[63] = 2;
  REQUIRE_OK(dlv_tensor_empty(U8, 64, ones, DLV_ORDER_C, &t));
  CHECK_I64(dlv_tensor_ndim(t), 64);
  CHECK_I64(dlv_tensor_size(t), 2);
  dlv_tensor_free(t);
}

/* Every supported dtype: itemsize, round trip of the triple, a value written
 * and read back, and how set_f64 casts. */
static void test_dtypes(void) {
  struct case_t {
    uint8_t code, bits;
    double write, read; /* set_f64(write) then get_f64 gives read */
  };
  static const struct case_t cases[] = {
      {kDLBool, 8, 7.0, 1.0},          {kDLInt, 8, -7.9, -7.0},        {kDLInt, 16, 300.5, 300.0},
      {kDLInt, 32, -2.7, -2.0},        {kDLInt, 64, 1e15, 1e15},       {kDLUInt, 8, 255.9, 255.0},
      {kDLUInt, 16, 65535.0, 65535.0}, {kDLUInt, 32, 7.0, 7.0},        {kDLUInt, 64, 9.0, 9.0},
      {kDLFloat, 16, 1.5, 1.5},        {kDLFloat, 32, 0.1, (double)0.1f}, {kDLFloat, 64, 0.1, 0.1},
      {kDLBfloat, 16, 1.5, 1.5},       {kDLFloat8_e3m4, 8, 2.0, 2.0},  {kDLFloat8_e4m3, 8, 2.0, 2.0},
      {kDLFloat8_e4m3b11fnuz, 8, 2.0, 2.0}, {kDLFloat8_e4m3fn, 8, -1.5, -1.5}, {kDLFloat8_e4m3fnuz, 8, 2.0, 2.0},
      {kDLFloat8_e5m2, 8, 1.5, 1.5},   {kDLFloat8_e5m2fnuz, 8, 2.0, 2.0}, {kDLFloat8_e8m0fnu, 8, 4.0, 4.0},
  };
  const int64_t shape[1] = {3}, idx[1] = {1};
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dlv_tensor *t = NULL;
    DLDataType dt;
    double got = -1.0;
    if (!CHECK_OK(dlv_tensor_zeros(dtype_of(cases[i].code, cases[i].bits, 1), 1, shape, DLV_ORDER_C, &t))) {
      fprintf(stderr, "    (dtype code %d bits %d)\n", cases[i].code, cases[i].bits);
      continue;
    }
    dt = dlv_tensor_dtype(t);
    CHECK(dt.code == cases[i].code && dt.bits == cases[i].bits && dt.lanes == 1);
    CHECK_I64(dlv_tensor_nbytes(t), 3 * (cases[i].bits / 8));
    CHECK(dlv_tensor_flags(t) & DLV_FLAG_ALIGNED);
    CHECK_OK(dlv_tensor_set_f64(t, idx, cases[i].write));
    CHECK_OK(dlv_tensor_get_f64(t, idx, &got));
    if (!CHECK_F64(got, cases[i].read)) fprintf(stderr, "    (dtype code %d bits %d)\n", cases[i].code, cases[i].bits);
    dlv_tensor_free(t);
  }
}

/* set_f64 casting, documented on dlv_tensor_set_f64: truncation toward zero,
 * saturation for integers (NaN and infinity refused, as NumPy does);
 * value != 0 for bool. */
static void test_set_f64_casts(void) {
  struct case_t {
    uint8_t code, bits;
    double write, read;
  };
  const double nan = strtod("nan", NULL);
  const struct case_t cases[] = {
      {kDLInt, 32, 2.7, 2.0},   {kDLInt, 32, -2.7, -2.0}, {kDLInt, 8, 300.0, 127.0}, {kDLInt, 8, -300.0, -128.0},
      {kDLUInt, 8, -5.0, 0.0},  {kDLUInt, 8, 300.0, 255.0}, {kDLBool, 8, 0.5, 1.0},
      {kDLBool, 8, 0.0, 0.0},   {kDLBool, 8, -3.0, 1.0},  {kDLBool, 8, nan, 1.0},    {kDLFloat, 32, nan, nan},
      {kDLInt, 32, 1e10, 2147483647.0},
  };
  size_t i;
  for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    dlv_tensor *t = NULL;
    double got = -1.0;
    REQUIRE_OK(dlv_tensor_zeros(dtype_of(cases[i].code, cases[i].bits, 1), 0, NULL, DLV_ORDER_C, &t));
    CHECK_OK(dlv_tensor_set_f64(t, NULL, cases[i].write));
    CHECK_OK(dlv_tensor_get_f64(t, NULL, &got));
    if (!CHECK_F64(got, cases[i].read)) fprintf(stderr, "    (case %d)\n", (int)i);
    dlv_tensor_free(t);
  }
  {
    /* NaN or infinity into an integer: NumPy's ValueError, nothing written. */
    dlv_tensor *t = NULL;
    double got = -1.0;
    REQUIRE_OK(dlv_tensor_zeros(dtype_of(kDLInt, 64, 1), 0, NULL, DLV_ORDER_C, &t));
    CHECK_ERR(dlv_tensor_set_f64(t, NULL, nan), DLV_ERR_INVALID_ARGUMENT, "cannot convert float NaN to integer");
    CHECK_ERR(dlv_tensor_set_f64(t, NULL, -strtod("inf", NULL)), DLV_ERR_INVALID_ARGUMENT,
              "cannot convert float infinity to integer");
    CHECK_OK(dlv_tensor_get_f64(t, NULL, &got));
    CHECK_F64(got, 0.0);
    dlv_tensor_free(t);
  }
}

/* Complex elements can be written (real part) but not read as one double. */
static void test_complex_elements(void) {
  const int64_t shape[1] = {2}, idx[1] = {1};
  dlv_tensor *t = NULL;
  const float *p;
  double got = -1.0;
  REQUIRE_OK(dlv_tensor_zeros(dtype_of(kDLComplex, 64, 1), 1, shape, DLV_ORDER_C, &t));
  CHECK_I64(dlv_tensor_nbytes(t), 16);
  CHECK_OK(dlv_tensor_set_f64(t, idx, 1.5));
  p = (const float *)dlv_tensor_data(t);
  CHECK_F64(p[2], 1.5);
  CHECK_F64(p[3], 0.0);
  CHECK_ERR(dlv_tensor_get_f64(t, idx, &got), DLV_ERR_UNSUPPORTED_DTYPE,
            "a complex64 element has no single f64 value (read it as two parts)");
  CHECK_F64(got, -1.0);
  dlv_tensor_free(t);
}

/* ---- empty / zeros: every error ------------------------------------------- */

static void test_new_errors(void) {
  static const create_fn makers[2] = {dlv_tensor_empty, dlv_tensor_zeros};
  const int64_t ok[2] = {3, 4}, negative[2] = {2, -1};
  const int64_t huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
  const int64_t huge_with_zero[3] = {0, (int64_t)1 << 40, (int64_t)1 << 40};
  const int64_t too_many_bytes[1] = {(int64_t)1 << 62};
  const int64_t unallocatable[1] = {(int64_t)1 << 60};
  int64_t dims65[65];
  int m, i;
  for (i = 0; i < 65; i++) dims65[i] = 1;
  for (m = 0; m < 2; m++) {
    create_fn make = makers[m];
    CHECK_ERR(make(F32, 2, ok, DLV_ORDER_C, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    /* out is checked before anything else. */
    CHECK_ERR(make(dtype_of(99, 1, 1), 65, NULL, 99, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    CHECK_ERR_NO_OUT(make(F32, 2, NULL, DLV_ORDER_C, &bad), DLV_ERR_NULL_ARGUMENT, "argument `shape` must not be NULL");
    CHECK_ERR_NO_OUT(make(F32, 65, dims65, DLV_ORDER_C, &bad), DLV_ERR_INVALID_ARGUMENT, "ndim 65 is out of range 0..=64");
    CHECK_ERR_NO_OUT(make(F32, -1, ok, DLV_ORDER_C, &bad), DLV_ERR_INVALID_ARGUMENT, "ndim -1 is out of range 0..=64");
    CHECK_ERR_NO_OUT(make(F32, INT32_MIN, ok, DLV_ORDER_C, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim -2147483648 is out of range 0..=64");
    CHECK_ERR_NO_OUT(make(F32, 2, negative, DLV_ORDER_C, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "negative dimension -1 at axis 1 in shape (2, -1)");
    CHECK_ERR_NO_OUT(make(F32, 2, huge, DLV_ORDER_C, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "shape (1099511627776, 1099511627776) has too many elements");
    /* A zero dimension does not hide an absurd shape (NumPy agrees). */
    CHECK_ERR_NO_OUT(make(F32, 3, huge_with_zero, DLV_ORDER_F, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "shape (0, 1099511627776, 1099511627776) has too many elements");
    /* The element count fits, the byte count does not. */
    CHECK_ERR_NO_OUT(make(F64, 1, too_many_bytes, DLV_ORDER_C, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "4611686018427387904 elements of float64 do not fit in memory");
    /* Fits in isize, but no machine has 2^60 bytes. */
    CHECK_ERR_NO_OUT(make(U8, 1, unallocatable, DLV_ORDER_C, &bad), DLV_ERR_OUT_OF_MEMORY,
                     "out of memory: could not allocate 1152921504606846976 bytes");
    CHECK_ERR_NO_OUT(make(F32, 2, ok, 3, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "order 3 is not DLV_ORDER_C (0), DLV_ORDER_F (1) or DLV_ORDER_K (2)");
    CHECK_ERR_NO_OUT(make(F32, 2, ok, UINT32_MAX, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "order 4294967295 is not DLV_ORDER_C (0), DLV_ORDER_F (1) or DLV_ORDER_K (2)");
    CHECK_ERR_NO_OUT(make(F32, 2, ok, DLV_ORDER_K, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "order K is only meaningful for copies; new tensors take C or F");
    CHECK_ERR_NO_OUT(make(dtype_of(kDLFloat, 32, 4), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "unsupported dtype (code 2, bits 32, lanes 4): only lanes == 1 is supported");
    CHECK_ERR_NO_OUT(make(dtype_of(kDLFloat, 32, 0), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "unsupported dtype (code 2, bits 32, lanes 0): only lanes == 1 is supported");
    CHECK_ERR_NO_OUT(make(dtype_of(kDLFloat, 8, 1), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "unsupported dtype (code 2, bits 8, lanes 1)");
    CHECK_ERR_NO_OUT(make(dtype_of(kDLOpaqueHandle, 64, 1), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "unsupported dtype (code 3, bits 64, lanes 1)");
    CHECK_ERR_NO_OUT(make(dtype_of(18, 8, 1), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "unsupported dtype (code 18, bits 8, lanes 1)");
    CHECK_ERR_NO_OUT(make(dtype_of(kDLInt, 24, 1), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "unsupported dtype (code 0, bits 24, lanes 1)");
    CHECK_ERR_NO_OUT(make(dtype_of(kDLBool, 1, 1), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "unsupported dtype (code 6, bits 1, lanes 1)");
    /* Packed sub-byte floats exist only for exchange. */
    CHECK_ERR_NO_OUT(make(dtype_of(kDLFloat4_e2m1fn, 4, 1), 2, ok, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "creating a tensor is not supported for the packed sub-byte dtype float4_e2m1fn");
  }
}

/* ---- retain / free ------------------------------------------------------- */

static void test_retain(void) {
  const int64_t shape[2] = {2, 3}, idx[2] = {1, 2};
  dlv_tensor *t = NULL, *r = NULL, *v = NULL, *rv = NULL;
  uint64_t live = dlv_live_storage_count();
  void *p = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  CHECK_I64(dlv_live_storage_count(), live + 1);
  REQUIRE_OK(dlv_tensor_retain(t, &r));
  CHECK(r != t);
  CHECK_I64(dlv_live_storage_count(), live + 1); /* same storage */
  CHECK(dlv_tensor_data(r) == dlv_tensor_data(t));
  CHECK_LAYOUT(r, 2, dlv_tensor_shape(t), dlv_tensor_strides(t));
  CHECK_I64(dlv_tensor_flags(r), dlv_tensor_flags(t));
  CHECK(dlv_shares_memory(t, r));

  /* Each handle has its own WRITEABLE flag. */
  CHECK_OK(dlv_tensor_set_writeable(r, false));
  CHECK(!(dlv_tensor_flags(r) & DLV_FLAG_WRITEABLE));
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE);
  CHECK_ERR(dlv_tensor_data_mut(r, &p), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  CHECK(p == NULL);
  CHECK_OK(dlv_tensor_set_writeable(r, true));

  /* A retained view is still a view (not OWNDATA). */
  REQUIRE_OK(dlv_tensor_transpose(t, &v));
  REQUIRE_OK(dlv_tensor_retain(v, &rv));
  CHECK_FLAGS(rv, DLV_FLAG_WRITEABLE | DLV_FLAG_F_CONTIGUOUS | DLV_FLAG_ALIGNED);

  /* The retained handle keeps the memory alive after the original is gone. */
  dlv_tensor_free(t);
  dlv_tensor_free(v);
  CHECK_I64(dlv_live_storage_count(), live + 1);
  CHECK_AT(r, idx, 5.0);
  CHECK_OK(dlv_tensor_set_f64(r, idx, 9.0));
  {
    const int64_t tidx[2] = {2, 1};
    CHECK_AT(rv, tidx, 9.0);
  }
  dlv_tensor_free(r);
  dlv_tensor_free(rv);
  CHECK_I64(dlv_live_storage_count(), live);

  CHECK_ERR(dlv_tensor_retain(NULL, &r), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  REQUIRE_OK(dlv_tensor_zeros(F32, 0, NULL, DLV_ORDER_C, &t));
  CHECK_ERR(dlv_tensor_retain(t, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  CHECK_ERR_NO_OUT(dlv_tensor_retain(NULL, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  dlv_tensor_free(t);
  dlv_tensor_free(NULL); /* accepted and ignored */
}

/* ---- inspection ----------------------------------------------------------- */

static void test_inspection_of_null(void) {
  DLDataType dt = dlv_tensor_dtype(NULL);
  DLDevice dev = dlv_tensor_device(NULL);
  char buf[8] = "xxxxxxx";
  CHECK_I64(dlv_tensor_ndim(NULL), 0);
  CHECK(dlv_tensor_shape(NULL) == NULL);
  CHECK(dlv_tensor_strides(NULL) == NULL);
  CHECK(dt.code == 0 && dt.bits == 0 && dt.lanes == 0);
  CHECK(dev.device_type == 0 && dev.device_id == 0);
  CHECK_I64(dlv_tensor_size(NULL), 0);
  CHECK_I64(dlv_tensor_nbytes(NULL), 0);
  CHECK_I64(dlv_tensor_flags(NULL), 0);
  CHECK(dlv_tensor_data(NULL) == NULL);
  CHECK(!dlv_shares_memory(NULL, NULL));
  CHECK(!dlv_may_share_memory(NULL, NULL));
  /* describe: length 0, and the buffer holds the empty string. */
  CHECK_I64(dlv_tensor_describe(NULL, buf, sizeof buf), 0);
  CHECK_STR(buf, "");
  CHECK_I64(dlv_tensor_describe(NULL, NULL, 0), 0);
}

static void test_data_mut(void) {
  const int64_t shape[1] = {4}, idx[1] = {3};
  dlv_tensor *t = NULL, *b = NULL;
  void *p = SENTINEL;
  REQUIRE_OK(dlv_tensor_zeros(F32, 1, shape, DLV_ORDER_C, &t));
  CHECK_OK(dlv_tensor_data_mut(t, &p));
  CHECK(p == dlv_tensor_data(t));
  ((float *)p)[3] = 7.0f;
  CHECK_AT(t, idx, 7.0);

  p = SENTINEL;
  CHECK_ERR(dlv_tensor_data_mut(NULL, &p), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK(p == SENTINEL);
  CHECK_ERR(dlv_tensor_data_mut(t, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  CHECK_ERR(dlv_tensor_data_mut(NULL, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");

  /* Read-only through set_writeable(false), and through a broadcast. */
  CHECK_OK(dlv_tensor_set_writeable(t, false));
  CHECK_ERR(dlv_tensor_data_mut(t, &p), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  CHECK(p == SENTINEL);
  CHECK_OK(dlv_tensor_set_writeable(t, true));
  {
    const int64_t to[2] = {2, 4};
    REQUIRE_OK(dlv_tensor_broadcast_to(t, 2, to, &b));
    CHECK_ERR(dlv_tensor_data_mut(b, &p), DLV_ERR_READ_ONLY, "assignment destination is read-only");
    CHECK(p == SENTINEL);
  }
  dlv_tensor_free(b);
  dlv_tensor_free(t);
}

static void test_set_writeable(void) {
  const int64_t shape[2] = {2, 2}, idx[2] = {0, 1}, bshape[3] = {3, 2, 2};
  dlv_tensor *t = NULL, *v = NULL, *b = NULL;
  REQUIRE_OK(dlv_tensor_zeros(F64, 2, shape, DLV_ORDER_C, &t));
  /* Clearing always works, and is idempotent; views made afterwards
   * inherit the cleared flag. */
  CHECK_OK(dlv_tensor_set_writeable(t, false));
  CHECK_OK(dlv_tensor_set_writeable(t, false));
  CHECK_FLAGS(t, DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_OWNDATA | DLV_FLAG_ALIGNED);
  CHECK_ERR(dlv_tensor_set_f64(t, idx, 1.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  CHECK_AT(t, idx, 0.0);
  REQUIRE_OK(dlv_tensor_transpose(t, &v));
  CHECK(!(dlv_tensor_flags(v) & DLV_FLAG_WRITEABLE));
  /* Owned memory may be made writeable again, through any handle. */
  CHECK_OK(dlv_tensor_set_writeable(v, true));
  CHECK_OK(dlv_tensor_set_f64(v, idx, 3.0));
  CHECK_OK(dlv_tensor_set_writeable(t, true));
  CHECK_FLAGS(t, DLV_FLAG_WRITEABLE | DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_OWNDATA | DLV_FLAG_ALIGNED);
  {
    const int64_t tidx[2] = {1, 0};
    CHECK_AT(t, tidx, 3.0);
  }
  /* Overlapping views cannot be made writeable; clearing still works. */
  REQUIRE_OK(dlv_tensor_broadcast_to(t, 3, bshape, &b));
  CHECK_ERR(dlv_tensor_set_writeable(b, true), DLV_ERR_READ_ONLY,
            "cannot make tensor writeable: its elements overlap in memory");
  CHECK(!(dlv_tensor_flags(b) & DLV_FLAG_WRITEABLE));
  CHECK_OK(dlv_tensor_set_writeable(b, false));
  CHECK_ERR(dlv_tensor_set_writeable(NULL, true), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_set_writeable(NULL, false), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  dlv_tensor_free(b);
  dlv_tensor_free(v);
  dlv_tensor_free(t);
}

static void test_get_set_f64(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL;
  double got = -1.0;
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    const int64_t i0[2] = {2, 3}, i1[2] = {-1, -1}, i2[2] = {-3, 1}, i3[2] = {1, -4};
    CHECK_AT(t, i0, 11.0);
    CHECK_AT(t, i1, 11.0); /* negative indices count from the end */
    CHECK_AT(t, i2, 1.0);
    CHECK_AT(t, i3, 4.0);
    CHECK_OK(dlv_tensor_set_f64(t, i1, -6.5));
    CHECK_AT(t, i0, -6.5);
    CHECK_F64(((const float *)dlv_tensor_data(t))[11], -6.5);
  }
  {
    /* Out of range never clamps or wraps; the message names axis, index, size. */
    const int64_t a[2] = {0, 4}, b[2] = {3, 0}, c[2] = {-4, 0}, d[2] = {0, -5}, e[2] = {INT64_MIN, 0},
                  f[2] = {0, INT64_MAX};
    CHECK_ERR(dlv_tensor_get_f64(t, a, &got), DLV_ERR_INDEX, "index 4 is out of bounds for axis 1 with size 4");
    CHECK_ERR(dlv_tensor_get_f64(t, b, &got), DLV_ERR_INDEX, "index 3 is out of bounds for axis 0 with size 3");
    CHECK_ERR(dlv_tensor_get_f64(t, c, &got), DLV_ERR_INDEX, "index -4 is out of bounds for axis 0 with size 3");
    CHECK_ERR(dlv_tensor_get_f64(t, d, &got), DLV_ERR_INDEX, "index -5 is out of bounds for axis 1 with size 4");
    CHECK_ERR(dlv_tensor_get_f64(t, e, &got), DLV_ERR_INDEX,
              "index -9223372036854775808 is out of bounds for axis 0 with size 3");
    CHECK_ERR(dlv_tensor_get_f64(t, f, &got), DLV_ERR_INDEX,
              "index 9223372036854775807 is out of bounds for axis 1 with size 4");
    CHECK_F64(got, -1.0); /* out-parameter untouched */
    CHECK_ERR(dlv_tensor_set_f64(t, a, 1.0), DLV_ERR_INDEX, "index 4 is out of bounds for axis 1 with size 4");
    CHECK_ERR(dlv_tensor_set_f64(t, c, 1.0), DLV_ERR_INDEX, "index -4 is out of bounds for axis 0 with size 3");
  }
  {
    const int64_t i[2] = {0, 0};
    CHECK_ERR(dlv_tensor_get_f64(NULL, i, &got), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_get_f64(t, i, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    CHECK_ERR(dlv_tensor_get_f64(t, NULL, &got), DLV_ERR_NULL_ARGUMENT, "argument `index` must not be NULL");
    CHECK_ERR(dlv_tensor_set_f64(NULL, i, 1.0), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_set_f64(t, NULL, 1.0), DLV_ERR_NULL_ARGUMENT, "argument `index` must not be NULL");
    CHECK_F64(got, -1.0);
    /* Read-only checks come before the index is looked at. */
    CHECK_OK(dlv_tensor_set_writeable(t, false));
    CHECK_ERR(dlv_tensor_set_f64(t, i, 1.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
    CHECK_AT(t, i, 0.0);
  }
  dlv_tensor_free(t);
}

/* describe: the exact text for a root tensor and a view, and snprintf's
 * contract (truncation, NUL, full length returned, NULL buffer). */
static void test_describe(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *v = NULL;
  char want[1024], got[1024], small[16];
  size_t n, full;
  REQUIRE_OK(dlv_tensor_zeros(F32, 2, shape, DLV_ORDER_C, &t));
  snprintf(want, sizeof want,
           "shape:    (3, 4)\n"
           "strides:  (4, 1) elements, (16, 4) bytes\n"
           "dtype:    float32 (itemsize 4)\n"
           "device:   cpu\n"
           "data:     0x%" PRIxPTR "\n"
           "flags:    WRITEABLE | C_CONTIGUOUS | OWNDATA | ALIGNED\n"
           "nbytes:   48\n"
           "base:     none (owns its data)\n",
           (uintptr_t)dlv_tensor_data(t));
  full = dlv_tensor_describe(t, got, sizeof got);
  CHECK_STR(got, want);
  CHECK_I64(full, strlen(want));

  /* Asking for the size first. */
  CHECK_I64(dlv_tensor_describe(t, NULL, 0), full);
  CHECK_I64(dlv_tensor_describe(t, NULL, 100), full); /* NULL buffer: nothing written */
  /* len 0 with a buffer writes nothing at all. */
  memset(small, 'x', sizeof small);
  CHECK_I64(dlv_tensor_describe(t, small, 0), full);
  CHECK(small[0] == 'x');
  /* len 1: just the NUL. */
  CHECK_I64(dlv_tensor_describe(t, small, 1), full);
  CHECK(small[0] == '\0' && small[1] == 'x');
  /* Truncation: len - 1 bytes and a NUL, nothing past len. */
  memset(small, 'x', sizeof small);
  CHECK_I64(dlv_tensor_describe(t, small, 11), full);
  CHECK_STR(small, "shape:    ");
  CHECK(small[10] == '\0' && small[11] == 'x');
  /* Exactly the length: still room only for full - 1 bytes. */
  {
    char *exact = (char *)malloc(full + 1);
    REQUIRE_OK(exact != NULL ? DLV_OK : DLV_ERR_OUT_OF_MEMORY);
    memset(exact, 'x', full + 1);
    CHECK_I64(dlv_tensor_describe(t, exact, full), full);
    CHECK(exact[full - 1] == '\0' && exact[full] == 'x');
    CHECK(strncmp(exact, want, full - 1) == 0);
    CHECK_I64(dlv_tensor_describe(t, exact, full + 1), full);
    CHECK_STR(exact, want);
    free(exact);
  }

  /* A negative-stride view of it: byte strides, no contiguity, its base. */
  REQUIRE_OK(dlv_tensor_slice(t, 1, DLV_NONE, DLV_NONE, -2, &v));
  snprintf(want, sizeof want,
           "shape:    (3, 2)\n"
           "strides:  (4, -2) elements, (16, -8) bytes\n"
           "dtype:    float32 (itemsize 4)\n"
           "device:   cpu\n"
           "data:     0x%" PRIxPTR "\n"
           "flags:    WRITEABLE | ALIGNED\n"
           "nbytes:   24\n"
           "base:     view of a float32 tensor of shape (3, 4) at 0x%" PRIxPTR "\n",
           (uintptr_t)dlv_tensor_data(v), (uintptr_t)dlv_tensor_data(t));
  n = dlv_tensor_describe(v, got, sizeof got);
  CHECK_STR(got, want);
  CHECK_I64(n, strlen(want));
  CHECK(dlv_tensor_data(v) == elem_addr(dlv_tensor_data(t), 3, 4));
  dlv_tensor_free(v);
  dlv_tensor_free(t);

  /* No elements: data prints as 0x0; no flags prints as "none". */
  {
    const int64_t zero[1] = {0};
    REQUIRE_OK(dlv_tensor_zeros(U8, 1, zero, DLV_ORDER_C, &t));
    CHECK_OK(dlv_tensor_set_writeable(t, false));
    n = dlv_tensor_describe(t, got, sizeof got);
    CHECK_STR(got,
              "shape:    (0,)\n"
              "strides:  (1,) elements, (1,) bytes\n"
              "dtype:    uint8 (itemsize 1)\n"
              "device:   cpu\n"
              "data:     0x0\n"
              "flags:    C_CONTIGUOUS | F_CONTIGUOUS | OWNDATA | ALIGNED\n"
              "nbytes:   0\n"
              "base:     none (owns its data)\n");
    CHECK_I64(n, strlen(got));
    dlv_tensor_free(t);
  }
}

/* dlv_last_error is per thread: a failure on another thread does not
 * change this thread's message. */
static void *fail_on_other_thread(void *arg) {
  dlv_status *result = (dlv_status *)arg;
  *result = dlv_tensor_empty(F32, 66, NULL, DLV_ORDER_C, NULL);
  if (strcmp(dlv_last_error(), "argument `out` must not be NULL") != 0) *result = DLV_OK;
  return NULL;
}

static void test_last_error_is_per_thread(void) {
  pthread_t thread;
  dlv_status other = DLV_OK;
  dlv_tensor *t = NULL;
  CHECK_ERR(dlv_tensor_empty(F32, 70, NULL, DLV_ORDER_C, &t), DLV_ERR_INVALID_ARGUMENT,
            "ndim 70 is out of range 0..=64");
  REQUIRE_OK(pthread_create(&thread, NULL, fail_on_other_thread, &other) == 0 ? DLV_OK : DLV_ERR_PANIC);
  pthread_join(thread, NULL);
  CHECK_I64(other, DLV_ERR_NULL_ARGUMENT);
  CHECK_STR(dlv_last_error(), "ndim 70 is out of range 0..=64");
}

int main(int argc, char **argv) {
  (void)argc;
  RUN(test_last_error_starts_empty);
  RUN(test_version);
  RUN(test_status_names);
  RUN(test_new_c_order);
  RUN(test_new_f_order);
  RUN(test_new_special_shapes);
  RUN(test_dtypes);
  RUN(test_set_f64_casts);
  RUN(test_complex_elements);
  RUN(test_new_errors);
  RUN(test_retain);
  RUN(test_inspection_of_null);
  RUN(test_data_mut);
  RUN(test_set_writeable);
  RUN(test_get_set_f64);
  RUN(test_describe);
  RUN(test_last_error_is_per_thread);
  return check_summary(argv[0]);
}
