/*
 * Copies through the C ABI: dlv_tensor_copy, dlv_tensor_astype, and
 * dlv_tensor_reshape's three copy policies (a view when the layout allows
 * it; COPY_REQUIRED under NEVER, a copy under IF_NEEDED, always a copy under
 * ALWAYS). Copies are new, writeable, OWNDATA buffers that share nothing.
 */
#include "check.h"

#define W DLV_FLAG_WRITEABLE
#define C DLV_FLAG_C_CONTIGUOUS
#define F DLV_FLAG_F_CONTIGUOUS
#define O DLV_FLAG_OWNDATA
#define A DLV_FLAG_ALIGNED

/* `t` is a fresh buffer: its own storage, nothing in common with `src`. */
#define CHECK_DETACHED(t, src)                             \
  do {                                                     \
    CHECK(!dlv_may_share_memory((t), (src)));              \
    CHECK(!dlv_shares_memory((t), (src)));                 \
    CHECK(dlv_tensor_flags(t) & O);                        \
    CHECK(dlv_tensor_flags(t) & W);                        \
    CHECK_I64((uintptr_t)dlv_tensor_data(t) % 64, 0);      \
  } while (0)

static void test_copy_orders(void) {
  const int64_t shape[2] = {3, 4};
  const double c_order[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  dlv_tensor *t = NULL, *tr = NULL, *c = NULL;
  uint64_t live;
  REQUIRE_OK(arange_f32(2, shape, &t));
  live = dlv_live_storage_count();
  {
    const int64_t st[2] = {4, 1};
    REQUIRE_OK(dlv_tensor_copy(t, DLV_ORDER_C, &c));
    CHECK_I64(dlv_live_storage_count(), live + 1);
    CHECK_LAYOUT(c, 2, shape, st);
    CHECK_FLAGS(c, W | C | O | A);
    CHECK_DETACHED(c, t);
    CHECK_VALUES(c, 12, c_order);
    /* Writes do not travel between a copy and its source. */
    {
      const int64_t idx[2] = {1, 1};
      CHECK_OK(dlv_tensor_set_f64(c, idx, -1.0));
      CHECK_AT(t, idx, 5.0);
    }
    dlv_tensor_free(c);
  }
  {
    /* F order: same values, column-major memory. */
    const int64_t st[2] = {1, 3};
    const float *p;
    REQUIRE_OK(dlv_tensor_copy(t, DLV_ORDER_F, &c));
    CHECK_LAYOUT(c, 2, shape, st);
    CHECK_FLAGS(c, W | F | O | A);
    CHECK_VALUES(c, 12, c_order);
    p = (const float *)dlv_tensor_data(c);
    CHECK_F64(p[1], 4.0); /* [1][0] */
    CHECK_F64(p[3], 1.0); /* [0][1] */
    dlv_tensor_free(c);
  }
  REQUIRE_OK(dlv_tensor_transpose(t, &tr));
  {
    /* K keeps the source's axis order: t.T (strides (1, 4)) copies to an
     * F-contiguous (4, 3) buffer with the same memory order as t. */
    const int64_t s[2] = {4, 3}, st_k[2] = {1, 4}, st_c[2] = {3, 1};
    const double tr_values[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
    REQUIRE_OK(dlv_tensor_copy(tr, DLV_ORDER_K, &c));
    CHECK_LAYOUT(c, 2, s, st_k);
    CHECK_FLAGS(c, W | F | O | A);
    CHECK_VALUES(c, 12, tr_values);
    CHECK(memcmp(dlv_tensor_data(c), dlv_tensor_data(t), 48) == 0);
    dlv_tensor_free(c);
    REQUIRE_OK(dlv_tensor_copy(tr, DLV_ORDER_C, &c));
    CHECK_LAYOUT(c, 2, s, st_c);
    CHECK_FLAGS(c, W | C | O | A);
    CHECK_VALUES(c, 12, tr_values);
    dlv_tensor_free(c);
  }
  {
    /* Negative strides are copied into positive ones (K orders by
     * |stride|), values in the view's order. */
    dlv_tensor *fl = NULL;
    const int64_t st[2] = {4, 1};
    const double want[12] = {8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3};
    REQUIRE_OK(dlv_tensor_flip(t, 0, &fl));
    REQUIRE_OK(dlv_tensor_copy(fl, DLV_ORDER_K, &c));
    CHECK_LAYOUT(c, 2, shape, st);
    CHECK_FLAGS(c, W | C | O | A);
    CHECK_VALUES(c, 12, want);
    dlv_tensor_free(c);
    dlv_tensor_free(fl);
  }
  CHECK_I64(dlv_live_storage_count(), live);
  dlv_tensor_free(tr);
  dlv_tensor_free(t);
}

static void test_copy_special(void) {
  const int64_t four[1] = {4}, s34[2] = {3, 4};
  dlv_tensor *t = NULL, *b = NULL, *c = NULL;
  REQUIRE_OK(arange_f32(1, four, &t));
  {
    /* A read-only broadcast copies into a writeable, compact buffer. */
    const int64_t st[2] = {4, 1}, idx[2] = {2, 3};
    const double want[12] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    REQUIRE_OK(dlv_tensor_broadcast_to(t, 2, s34, &b));
    REQUIRE_OK(dlv_tensor_copy(b, DLV_ORDER_C, &c));
    CHECK_LAYOUT(c, 2, s34, st);
    CHECK_FLAGS(c, W | C | O | A);
    CHECK_VALUES(c, 12, want);
    CHECK_OK(dlv_tensor_set_f64(c, idx, 9.0));
    dlv_tensor_free(c);
    dlv_tensor_free(b);
  }
  {
    /* 0-d and size 0. */
    const int64_t empty[2] = {0, 3};
    REQUIRE_OK(dlv_tensor_select(t, 0, 2, &b));
    REQUIRE_OK(dlv_tensor_copy(b, DLV_ORDER_C, &c));
    CHECK_I64(dlv_tensor_ndim(c), 0);
    CHECK_FLAGS(c, W | C | F | O | A);
    CHECK_AT(c, NULL, 2.0);
    CHECK(dlv_tensor_data(c) != dlv_tensor_data(b));
    dlv_tensor_free(c);
    dlv_tensor_free(b);
    REQUIRE_OK(dlv_tensor_zeros(F64, 2, empty, DLV_ORDER_F, &b));
    REQUIRE_OK(dlv_tensor_copy(b, DLV_ORDER_C, &c));
    CHECK_LAYOUT(c, 2, empty, NULL);
    CHECK_I64(dlv_tensor_size(c), 0);
    CHECK(dlv_tensor_data(c) == NULL);
    CHECK_FLAGS(c, W | C | F | O | A);
    dlv_tensor_free(c);
    dlv_tensor_free(b);
  }
  {
    /* Errors. */
    const int64_t unallocatable[1] = {(int64_t)1 << 60};
    dlv_tensor *one = NULL, *huge = NULL;
    CHECK_ERR_NO_OUT(dlv_tensor_copy(t, 3, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "order 3 is not DLV_ORDER_C (0), DLV_ORDER_F (1) or DLV_ORDER_K (2)");
    CHECK_ERR_NO_OUT(dlv_tensor_copy(NULL, DLV_ORDER_C, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_copy(t, DLV_ORDER_C, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    /* A broadcast of one byte to 2^60 elements is a valid view; copying it
     * cannot be allocated. */
    REQUIRE_OK(dlv_tensor_zeros(U8, 0, NULL, DLV_ORDER_C, &one));
    REQUIRE_OK(dlv_tensor_broadcast_to(one, 1, unallocatable, &huge));
    CHECK_ERR_NO_OUT(dlv_tensor_copy(huge, DLV_ORDER_C, &bad), DLV_ERR_OUT_OF_MEMORY,
                     "out of memory: could not allocate 1152921504606846976 bytes");
    CHECK_ERR_NO_OUT(dlv_tensor_astype(huge, I32, DLV_ORDER_C, &bad), DLV_ERR_OUT_OF_MEMORY,
                     "out of memory: could not allocate 4611686018427387904 bytes");
    /* 2^60 float64 elements are 2^63 bytes: more than any offset can hold. */
    CHECK_ERR_NO_OUT(dlv_tensor_astype(huge, F64, DLV_ORDER_C, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "1152921504606846976 elements of float64 do not fit in memory");
    dlv_tensor_free(huge);
    dlv_tensor_free(one);
  }
  dlv_tensor_free(t);
  {
    /* Device memory cannot be copied without a device runtime; sub-byte
     * types cannot be copied element by element. */
    void *fake = (void *)(uintptr_t)0x7f0000002000u;
    unsigned char packed[2] = {0, 0};
    const int64_t n4[1] = {4};
    REQUIRE_OK(dlv_tensor_from_buffer(fake, F32, device_of(kDLCUDA, 0), 1, n4, NULL, true, NULL, NULL, &t));
    CHECK_ERR_NO_OUT(dlv_tensor_copy(t, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DEVICE,
                     "copying elements needs host-accessible memory, but the tensor is on cuda:0");
    CHECK_ERR_NO_OUT(dlv_tensor_astype(t, F64, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DEVICE,
                     "copying elements needs host-accessible memory, but the tensor is on cuda:0");
    dlv_tensor_free(t);
    REQUIRE_OK(
        dlv_tensor_from_buffer(packed, dtype_of(kDLFloat4_e2m1fn, 4, 1), CPU, 1, n4, NULL, true, NULL, NULL, &t));
    CHECK_ERR_NO_OUT(dlv_tensor_copy(t, DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                     "copying is not supported for the packed sub-byte dtype float4_e2m1fn");
    dlv_tensor_free(t);
  }
}

static void test_astype(void) {
  const double nan = strtod("nan", NULL);
  const int64_t n8[1] = {8}, n6[1] = {6};
  dlv_tensor *t = NULL, *c = NULL;
  float *p = NULL;
  REQUIRE_OK(dlv_tensor_zeros(F32, 1, n8, DLV_ORDER_C, &t));
  {
    void *raw = NULL;
    REQUIRE_OK(dlv_tensor_data_mut(t, &raw));
    p = (float *)raw;
  }
  p[0] = -2.7f;
  p[1] = -0.5f;
  p[2] = 0.5f;
  p[3] = 2.7f;
  p[4] = 1e10f;
  p[5] = -1e10f;
  p[6] = (float)nan;
  p[7] = 3.0f;
  {
    /* Float to int truncates toward zero, saturates, NaN gives 0. */
    const double want[8] = {-2, 0, 0, 2, 2147483647.0, -2147483648.0, 0, 3};
    const int32_t *q;
    DLDataType dt;
    REQUIRE_OK(dlv_tensor_astype(t, I32, DLV_ORDER_C, &c));
    dt = dlv_tensor_dtype(c);
    CHECK(dt.code == kDLInt && dt.bits == 32 && dt.lanes == 1);
    CHECK_I64(dlv_tensor_nbytes(c), 32);
    CHECK_FLAGS(c, W | C | F | O | A);
    CHECK_DETACHED(c, t);
    CHECK_VALUES(c, 8, want);
    q = (const int32_t *)dlv_tensor_data(c);
    CHECK_I64(q[3], 2);
    CHECK_I64(q[4], INT32_MAX);
    dlv_tensor_free(c);
  }
  {
    const double want[8] = {0, 0, 0, 2, 255, 0, 0, 3};
    REQUIRE_OK(dlv_tensor_astype(t, U8, DLV_ORDER_C, &c));
    CHECK_VALUES(c, 8, want);
    CHECK_I64(dlv_tensor_nbytes(c), 8);
    dlv_tensor_free(c);
  }
  {
    /* To bool: value != 0 (NaN is true). */
    const double want[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    const unsigned char *q;
    REQUIRE_OK(dlv_tensor_astype(t, dtype_of(kDLBool, 8, 1), DLV_ORDER_C, &c));
    CHECK_VALUES(c, 8, want);
    q = (const unsigned char *)dlv_tensor_data(c);
    CHECK(q[0] == 1 && q[7] == 1);
    dlv_tensor_free(c);
  }
  {
    /* Widening is exact. */
    double want[8];
    int i;
    for (i = 0; i < 8; i++) want[i] = (double)p[i];
    REQUIRE_OK(dlv_tensor_astype(t, F64, DLV_ORDER_C, &c));
    CHECK_VALUES(c, 8, want);
    dlv_tensor_free(c);
  }
  dlv_tensor_free(t);

  /* Rounding to nearest for narrow floats, checked on the bits:
   * float32(1/3) -> float16 0x3555, bfloat16 0x3EAB. */
  REQUIRE_OK(dlv_tensor_zeros(F32, 1, n6, DLV_ORDER_C, &t));
  {
    void *raw = NULL;
    REQUIRE_OK(dlv_tensor_data_mut(t, &raw));
    p = (float *)raw;
  }
  p[0] = 1.0f / 3.0f;
  p[1] = -2.0f;
  p[2] = 65504.0f;
  p[3] = 0.0f;
  p[4] = 1.5f;
  p[5] = -0.25f;
  {
    const uint16_t *q;
    REQUIRE_OK(dlv_tensor_astype(t, dtype_of(kDLFloat, 16, 1), DLV_ORDER_C, &c));
    q = (const uint16_t *)dlv_tensor_data(c);
    CHECK_I64(q[0], 0x3555);
    CHECK_I64(q[1], 0xC000);
    CHECK_I64(q[2], 0x7BFF);
    CHECK_I64(q[3], 0x0000);
    CHECK_I64(q[4], 0x3E00);
    CHECK_I64(q[5], 0xB400);
    CHECK_I64(dlv_tensor_nbytes(c), 12);
    dlv_tensor_free(c);
    REQUIRE_OK(dlv_tensor_astype(t, dtype_of(kDLBfloat, 16, 1), DLV_ORDER_C, &c));
    q = (const uint16_t *)dlv_tensor_data(c);
    CHECK_I64(q[0], 0x3EAB);
    CHECK_I64(q[1], 0xC000);
    CHECK_I64(q[4], 0x3FC0);
    CHECK_I64(q[5], 0xBE80);
    dlv_tensor_free(c);
  }
  {
    /* To complex: the real part, imaginary zero. */
    const float *q;
    REQUIRE_OK(dlv_tensor_astype(t, dtype_of(kDLComplex, 64, 1), DLV_ORDER_C, &c));
    q = (const float *)dlv_tensor_data(c);
    CHECK_I64(dlv_tensor_nbytes(c), 48);
    CHECK_F64(q[8], 1.5);
    CHECK_F64(q[9], 0.0);
    CHECK_F64(q[10], -0.25);
    dlv_tensor_free(c);
  }
  dlv_tensor_free(t);

  {
    /* Large integers through float64 stay exact; int64 -> float32 rounds. */
    const int64_t n2[1] = {2};
    const double want64[2] = {16777217.0, -9007199254740992.0}, want32[2] = {16777216.0, -9007199254740992.0};
    int64_t *q;
    void *raw = NULL;
    REQUIRE_OK(dlv_tensor_zeros(dtype_of(kDLInt, 64, 1), 1, n2, DLV_ORDER_C, &t));
    REQUIRE_OK(dlv_tensor_data_mut(t, &raw));
    q = (int64_t *)raw;
    q[0] = 16777217;
    q[1] = -9007199254740992LL;
    REQUIRE_OK(dlv_tensor_astype(t, F64, DLV_ORDER_C, &c));
    CHECK_VALUES(c, 2, want64);
    dlv_tensor_free(c);
    REQUIRE_OK(dlv_tensor_astype(t, F32, DLV_ORDER_C, &c));
    CHECK_VALUES(c, 2, want32);
    dlv_tensor_free(c);
    dlv_tensor_free(t);
  }
}

static void test_astype_orders_and_errors(void) {
  const int64_t shape[2] = {2, 3};
  const double tr_values[6] = {0, 3, 1, 4, 2, 5};
  dlv_tensor *t = NULL, *tr = NULL, *c = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  REQUIRE_OK(dlv_tensor_transpose(t, &tr)); /* (3, 2), strides (1, 3) */
  {
    const int64_t s[2] = {3, 2}, st_c[2] = {2, 1}, st_f[2] = {1, 3};
    REQUIRE_OK(dlv_tensor_astype(tr, F64, DLV_ORDER_C, &c));
    CHECK_LAYOUT(c, 2, s, st_c);
    CHECK_FLAGS(c, W | C | O | A);
    CHECK_VALUES(c, 6, tr_values);
    dlv_tensor_free(c);
    REQUIRE_OK(dlv_tensor_astype(tr, F64, DLV_ORDER_F, &c));
    CHECK_LAYOUT(c, 2, s, st_f);
    CHECK_FLAGS(c, W | F | O | A);
    CHECK_VALUES(c, 6, tr_values);
    dlv_tensor_free(c);
    REQUIRE_OK(dlv_tensor_astype(tr, I32, DLV_ORDER_K, &c));
    CHECK_LAYOUT(c, 2, s, st_f);
    CHECK_VALUES(c, 6, tr_values);
    dlv_tensor_free(c);
    /* Same dtype: a plain copy. */
    REQUIRE_OK(dlv_tensor_astype(t, F32, DLV_ORDER_C, &c));
    CHECK_DETACHED(c, t);
    CHECK(memcmp(dlv_tensor_data(c), dlv_tensor_data(t), 24) == 0);
    dlv_tensor_free(c);
  }
  CHECK_ERR_NO_OUT(dlv_tensor_astype(t, dtype_of(kDLFloat, 32, 2), DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                   "unsupported dtype (code 2, bits 32, lanes 2): only lanes == 1 is supported");
  CHECK_ERR_NO_OUT(dlv_tensor_astype(t, dtype_of(kDLUInt, 12, 1), DLV_ORDER_C, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                   "unsupported dtype (code 1, bits 12, lanes 1)");
  CHECK_ERR_NO_OUT(dlv_tensor_astype(t, dtype_of(kDLFloat4_e2m1fn, 4, 1), DLV_ORDER_C, &bad),
                   DLV_ERR_UNSUPPORTED_DTYPE, "copying is not supported for the packed sub-byte dtype float4_e2m1fn");
  CHECK_ERR_NO_OUT(dlv_tensor_astype(t, F64, 7, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "order 7 is not DLV_ORDER_C (0), DLV_ORDER_F (1) or DLV_ORDER_K (2)");
  CHECK_ERR_NO_OUT(dlv_tensor_astype(NULL, F64, DLV_ORDER_C, &bad), DLV_ERR_NULL_ARGUMENT,
                   "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_astype(t, F64, DLV_ORDER_C, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  dlv_tensor_free(tr);
  dlv_tensor_free(t);
}

/* ---- reshape ----------------------------------------------------------------- */

static void test_reshape_views(void) {
  const int64_t shape[2] = {3, 4};
  const double c_order[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  dlv_tensor *t = NULL, *v = NULL, *tr = NULL;
  uint64_t live;
  REQUIRE_OK(arange_f32(2, shape, &t));
  live = dlv_live_storage_count();
  {
    /* A compact tensor reshapes as a view under every policy but ALWAYS:
     * same memory, same start. */
    const int64_t s[2] = {2, 6}, st[2] = {6, 1};
    const dlv_copy_mode modes[2] = {DLV_COPY_NEVER, DLV_COPY_IF_NEEDED};
    int m;
    for (m = 0; m < 2; m++) {
      REQUIRE_OK(dlv_tensor_reshape(t, 2, s, modes[m], &v));
      CHECK_LAYOUT(v, 2, s, st);
      CHECK(dlv_tensor_data(v) == dlv_tensor_data(t));
      CHECK(dlv_shares_memory(v, t));
      CHECK_FLAGS(v, W | C | A); /* a view: no OWNDATA */
      CHECK_VALUES(v, 12, c_order);
      CHECK_I64(dlv_live_storage_count(), live);
      dlv_tensor_free(v);
    }
  }
  {
    /* One -1 is inferred. */
    const int64_t flat[1] = {-1}, s12[1] = {12}, st1[1] = {1}, q[2] = {4, -1}, s43[2] = {4, 3}, st43[2] = {3, 1};
    REQUIRE_OK(dlv_tensor_reshape(t, 1, flat, DLV_COPY_NEVER, &v));
    CHECK_LAYOUT(v, 1, s12, st1);
    CHECK_FLAGS(v, W | C | F | A);
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_reshape(t, 2, q, DLV_COPY_NEVER, &v));
    CHECK_LAYOUT(v, 2, s43, st43);
    dlv_tensor_free(v);
  }
  REQUIRE_OK(dlv_tensor_transpose(t, &tr)); /* (4, 3), strides (1, 4) */
  {
    /* Splitting an axis of a transposed view needs no copy. */
    const int64_t s[3] = {2, 2, 3}, st[3] = {2, 1, 4}, idx[3] = {1, 0, 2};
    REQUIRE_OK(dlv_tensor_reshape(tr, 3, s, DLV_COPY_NEVER, &v));
    CHECK_LAYOUT(v, 3, s, st);
    CHECK(dlv_tensor_data(v) == dlv_tensor_data(t));
    CHECK_AT(v, idx, 2 + 8); /* tr[2][2] = t[2][2] */
    dlv_tensor_free(v);
  }
  {
    /* A view of a writeable-cleared source is not writeable either. */
    const int64_t s[1] = {12};
    CHECK_OK(dlv_tensor_set_writeable(t, false));
    REQUIRE_OK(dlv_tensor_reshape(t, 1, s, DLV_COPY_NEVER, &v));
    CHECK(!(dlv_tensor_flags(v) & W));
    dlv_tensor_free(v);
    CHECK_OK(dlv_tensor_set_writeable(t, true));
  }
  {
    /* To and from 0-d. */
    const int64_t one[1] = {1}, ones[3] = {1, 1, 1};
    dlv_tensor *s = NULL, *z = NULL;
    REQUIRE_OK(dlv_tensor_slice(t, 1, 1, 2, 1, &s));  /* (3, 1) */
    REQUIRE_OK(dlv_tensor_select(s, 0, 2, &z));       /* (1,): element 9 */
    CHECK_LAYOUT(z, 1, one, NULL);
    dlv_tensor_free(s);
    REQUIRE_OK(dlv_tensor_reshape(z, 0, NULL, DLV_COPY_NEVER, &s));
    CHECK_I64(dlv_tensor_ndim(s), 0);
    CHECK_AT(s, NULL, 9.0);
    REQUIRE_OK(dlv_tensor_reshape(s, 3, ones, DLV_COPY_NEVER, &v));
    CHECK_LAYOUT(v, 3, ones, NULL);
    CHECK(dlv_tensor_data(v) == elem_addr(dlv_tensor_data(t), 9, 4));
    dlv_tensor_free(v);
    dlv_tensor_free(s);
    dlv_tensor_free(z);
  }
  CHECK_I64(dlv_live_storage_count(), live);
  dlv_tensor_free(tr);
  dlv_tensor_free(t);
}

static void test_reshape_copies(void) {
  const int64_t shape[2] = {3, 4}, flat[1] = {12}, st1[1] = {1};
  const double tr_values[12] = {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11};
  dlv_tensor *t = NULL, *tr = NULL, *v = NULL;
  uint64_t live;
  REQUIRE_OK(arange_f32(2, shape, &t));
  REQUIRE_OK(dlv_tensor_transpose(t, &tr)); /* (4, 3), strides (1, 4) */
  live = dlv_live_storage_count();

  /* NEVER: flattening a transpose needs a copy, so it fails and says why. */
  CHECK_ERR_NO_OUT(dlv_tensor_reshape(tr, 1, flat, DLV_COPY_NEVER, &bad), DLV_ERR_COPY_REQUIRED,
                   "cannot share: a tensor of shape (4, 3) with strides (1, 4) cannot be viewed as shape (12,)");
  CHECK_I64(dlv_live_storage_count(), live);

  /* IF_NEEDED: a new C-order buffer holding the elements in C order of tr. */
  REQUIRE_OK(dlv_tensor_reshape(tr, 1, flat, DLV_COPY_IF_NEEDED, &v));
  CHECK_I64(dlv_live_storage_count(), live + 1);
  CHECK_LAYOUT(v, 1, flat, st1);
  CHECK(dlv_tensor_data(v) != dlv_tensor_data(t));
  CHECK_DETACHED(v, t);
  CHECK_FLAGS(v, W | C | F | O | A);
  CHECK_VALUES(v, 12, tr_values);
  {
    const int64_t i[1] = {0}, ti[2] = {0, 0};
    CHECK_OK(dlv_tensor_set_f64(v, i, 99.0));
    CHECK_AT(t, ti, 0.0);
  }
  dlv_tensor_free(v);

  /* ALWAYS: a copy even when a view was possible. */
  {
    const int64_t s[2] = {6, 2}, st[2] = {2, 1};
    REQUIRE_OK(dlv_tensor_reshape(t, 2, s, DLV_COPY_ALWAYS, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_DETACHED(v, t);
    CHECK_FLAGS(v, W | C | O | A);
    {
      const double want[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
      CHECK_VALUES(v, 12, want);
    }
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_reshape(tr, 1, flat, DLV_COPY_ALWAYS, &v));
    CHECK_DETACHED(v, t);
    CHECK_VALUES(v, 12, tr_values);
    dlv_tensor_free(v);
  }

  /* A read-only broadcast: NEVER fails, IF_NEEDED gives a writeable copy. */
  {
    const int64_t four[1] = {4}, s[2] = {3, 4};
    const double want[12] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    dlv_tensor *row = NULL, *b = NULL;
    REQUIRE_OK(dlv_tensor_reshape(t, 2, shape, DLV_COPY_NEVER, &row));
    dlv_tensor_free(row);
    REQUIRE_OK(dlv_tensor_select(t, 0, 0, &row));
    CHECK_LAYOUT(row, 1, four, NULL);
    REQUIRE_OK(dlv_tensor_broadcast_to(row, 2, s, &b));
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(b, 1, flat, DLV_COPY_NEVER, &bad), DLV_ERR_COPY_REQUIRED,
                     "cannot share: a tensor of shape (3, 4) with strides (0, 1) cannot be viewed as shape (12,)");
    REQUIRE_OK(dlv_tensor_reshape(b, 1, flat, DLV_COPY_IF_NEEDED, &v));
    CHECK_FLAGS(v, W | C | F | O | A);
    CHECK_VALUES(v, 12, want);
    dlv_tensor_free(v);
    dlv_tensor_free(b);
    dlv_tensor_free(row);
  }
  CHECK_I64(dlv_live_storage_count(), live);

  /* Errors. */
  {
    const int64_t bad52[2] = {5, 2}, two_unknown[2] = {-1, -1}, neg[2] = {-2, 6},
                  huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    int64_t dims65[65];
    int i;
    for (i = 0; i < 65; i++) dims65[i] = 1;
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, bad52, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot reshape tensor of size 12 (shape (3, 4)) into shape (5, 2)");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(tr, 2, bad52, DLV_COPY_NEVER, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot reshape tensor of size 12 (shape (4, 3)) into shape (5, 2)");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, bad52, DLV_COPY_ALWAYS, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot reshape tensor of size 12 (shape (3, 4)) into shape (5, 2)");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, two_unknown, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "can only specify one unknown dimension in shape (-1, -1)");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, neg, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "negative dimension -2 in shape (-2, 6)");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, huge, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "shape (1099511627776, 1099511627776) has too many elements");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, shape, 3, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "copy mode 3 is not DLV_COPY_IF_NEEDED (0), DLV_COPY_NEVER (1) or DLV_COPY_ALWAYS (2)");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, shape, UINT32_MAX, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "copy mode 4294967295 is not DLV_COPY_IF_NEEDED (0), DLV_COPY_NEVER (1) or DLV_COPY_ALWAYS (2)");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 65, dims65, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim 65 is out of range 0..=64");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, -1, shape, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim -1 is out of range 0..=64");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 0, NULL, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot reshape tensor of size 12 (shape (3, 4)) into shape ()");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(t, 2, NULL, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `shape` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(NULL, 2, shape, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_reshape(t, 2, shape, DLV_COPY_IF_NEEDED, NULL), DLV_ERR_NULL_ARGUMENT,
              "argument `out` must not be NULL");
  }
  {
    /* -1 next to a zero dimension is ambiguous. */
    const int64_t empty[2] = {3, 0}, ask[2] = {0, -1}, ok[3] = {0, 5, 7};
    dlv_tensor *e = NULL;
    REQUIRE_OK(dlv_tensor_zeros(F32, 2, empty, DLV_ORDER_C, &e));
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(e, 2, ask, DLV_COPY_NEVER, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot reshape tensor of size 0 (shape (3, 0)) into shape (0, -1)");
    REQUIRE_OK(dlv_tensor_reshape(e, 3, ok, DLV_COPY_NEVER, &v));
    CHECK_LAYOUT(v, 3, ok, NULL);
    CHECK_I64(dlv_tensor_size(v), 0);
    dlv_tensor_free(v);
    dlv_tensor_free(e);
  }
  {
    /* Device memory: a view is fine, a copy is not possible. */
    void *fake = (void *)(uintptr_t)0x7f0000003000u;
    dlv_tensor *d = NULL, *dt = NULL;
    REQUIRE_OK(dlv_tensor_from_buffer(fake, F32, device_of(kDLCUDA, 0), 2, shape, NULL, true, NULL, NULL, &d));
    REQUIRE_OK(dlv_tensor_reshape(d, 1, flat, DLV_COPY_NEVER, &v));
    CHECK(dlv_tensor_data(v) == fake);
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_transpose(d, &dt));
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(dt, 1, flat, DLV_COPY_IF_NEEDED, &bad), DLV_ERR_UNSUPPORTED_DEVICE,
                     "copying elements needs host-accessible memory, but the tensor is on cuda:0");
    CHECK_ERR_NO_OUT(dlv_tensor_reshape(d, 1, flat, DLV_COPY_ALWAYS, &bad), DLV_ERR_UNSUPPORTED_DEVICE,
                     "copying elements needs host-accessible memory, but the tensor is on cuda:0");
    dlv_tensor_free(dt);
    dlv_tensor_free(d);
  }
  dlv_tensor_free(tr);
  dlv_tensor_free(t);
}

int main(int argc, char **argv) {
  (void)argc;
  RUN(test_copy_orders);
  RUN(test_copy_special);
  RUN(test_astype);
  RUN(test_astype_orders_and_errors);
  RUN(test_reshape_views);
  RUN(test_reshape_copies);
  return check_summary(argv[0]);
}
