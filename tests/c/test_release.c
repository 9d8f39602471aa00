/*
 * dlv_tensor_from_buffer: wrapping caller memory without copying, its flags,
 * every error it returns, and the release callback, which is counted: it
 * runs exactly once, only after the last view of the memory is freed
 * (whatever the order of the frees), with the caller's ctx, and never when
 * from_buffer fails.
 */
#include "check.h"

#define W DLV_FLAG_WRITEABLE
#define C DLV_FLAG_C_CONTIGUOUS
#define F DLV_FLAG_F_CONTIGUOUS
#define O DLV_FLAG_OWNDATA
#define A DLV_FLAG_ALIGNED

/* What a release callback saw. */
typedef struct release_log {
  int calls;
  void *last_ctx;
} release_log;

static release_log g_log;

static void count_release(void *ctx) {
  g_log.calls++;
  g_log.last_ctx = ctx;
}

/* A release that owns the buffer: frees what from_buffer wrapped (valgrind
 * reports a leak if it never runs, an invalid free if it runs twice). */
static void free_release(void *ctx) {
  g_log.calls++;
  g_log.last_ctx = ctx;
  free(ctx);
}

static void reset_log(void) {
  g_log.calls = 0;
  g_log.last_ctx = NULL;
}

static void test_wrap_layouts_and_flags(void) {
  float buf[12];
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL;
  int i;
  for (i = 0; i < 12; i++) buf[i] = (float)i;
  {
    /* C order (NULL strides), zero-copy both ways. */
    const int64_t st[2] = {4, 1}, idx[2] = {1, 2};
    REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 2, shape, NULL, true, NULL, NULL, &t));
    CHECK(dlv_tensor_data(t) == (const void *)buf);
    CHECK_LAYOUT(t, 2, shape, st);
    CHECK_FLAGS(t, W | C | O | A);
    CHECK_I64(dlv_tensor_nbytes(t), 48);
    CHECK_AT(t, idx, 6.0);
    buf[6] = 60.0f;
    CHECK_AT(t, idx, 60.0);
    CHECK_OK(dlv_tensor_set_f64(t, idx, 6.0));
    CHECK_F64(buf[6], 6.0);
    dlv_tensor_free(t);
  }
  {
    /* Explicit F strides. */
    const int64_t st[2] = {1, 3}, idx[2] = {1, 2};
    REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 2, shape, st, true, NULL, NULL, &t));
    CHECK_LAYOUT(t, 2, shape, st);
    CHECK_FLAGS(t, W | F | O | A);
    CHECK_AT(t, idx, 7.0); /* 1 + 2*3 */
    dlv_tensor_free(t);
  }
  {
    /* Negative strides: the data pointer is element 0, the last float. */
    const int64_t n[1] = {12}, st[1] = {-1}, i0[1] = {0}, i11[1] = {11};
    REQUIRE_OK(dlv_tensor_from_buffer(buf + 11, F32, CPU, 1, n, st, true, NULL, NULL, &t));
    CHECK_FLAGS(t, W | O | A);
    CHECK_AT(t, i0, 11.0);
    CHECK_AT(t, i11, 0.0);
    dlv_tensor_free(t);
  }
  {
    /* Zero strides overlap: never writeable, whatever the caller says. */
    const int64_t n[1] = {3}, st[1] = {0}, idx[1] = {2};
    REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 1, n, st, true, NULL, NULL, &t));
    CHECK_FLAGS(t, O | A);
    CHECK_AT(t, idx, 0.0);
    CHECK_ERR(dlv_tensor_set_f64(t, idx, 1.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
    CHECK_ERR(dlv_tensor_set_writeable(t, true), DLV_ERR_READ_ONLY,
              "cannot make tensor writeable: its elements overlap in memory");
    dlv_tensor_free(t);
  }
  {
    /* 0-d: shape and strides may be NULL. */
    REQUIRE_OK(dlv_tensor_from_buffer(buf + 5, F32, CPU, 0, NULL, NULL, true, NULL, NULL, &t));
    CHECK_AT(t, NULL, 5.0);
    CHECK_FLAGS(t, W | C | F | O | A);
    dlv_tensor_free(t);
  }
}

/* writeable = false: the memory is read-only for good (rule 2.4), through
 * every view, and only a copy can be written. The buffer is `const` static
 * data, so a write that slipped through would fault. */
static void test_read_only_buffer(void) {
  static const float rodata[6] = {1, 2, 3, 4, 5, 6};
  const int64_t shape[2] = {2, 3}, idx[2] = {1, 1};
  dlv_tensor *t = NULL, *v = NULL, *r = NULL, *c = NULL;
  void *p = SENTINEL;
  reset_log();
  REQUIRE_OK(dlv_tensor_from_buffer((void *)rodata, F32, CPU, 2, shape, NULL, false, count_release, (void *)rodata,
                                    &t));
  CHECK_FLAGS(t, C | O | A);
  CHECK_AT(t, idx, 5.0);
  CHECK_ERR(dlv_tensor_set_f64(t, idx, 0.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  CHECK_ERR(dlv_tensor_data_mut(t, &p), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  CHECK(p == SENTINEL);
  CHECK_ERR(dlv_tensor_set_writeable(t, true), DLV_ERR_READ_ONLY,
            "cannot make tensor writeable: its memory is read-only");
  CHECK(!(dlv_tensor_flags(t) & W));
  CHECK_OK(dlv_tensor_set_writeable(t, false));
  /* Views and retained handles inherit it and cannot lift it either. */
  REQUIRE_OK(dlv_tensor_transpose(t, &v));
  CHECK_FLAGS(v, F | A);
  CHECK_ERR(dlv_tensor_set_writeable(v, true), DLV_ERR_READ_ONLY,
            "cannot make tensor writeable: its memory is read-only");
  REQUIRE_OK(dlv_tensor_retain(t, &r));
  CHECK_ERR(dlv_tensor_set_writeable(r, true), DLV_ERR_READ_ONLY,
            "cannot make tensor writeable: its memory is read-only");
  CHECK_ERR(dlv_tensor_set_f64(r, idx, 0.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  /* A copy is a new, writeable buffer. */
  REQUIRE_OK(dlv_tensor_copy(v, DLV_ORDER_K, &c));
  CHECK_FLAGS(c, W | F | O | A);
  CHECK_OK(dlv_tensor_set_f64(c, idx, -5.0));
  CHECK_F64(rodata[4], 5.0);
  dlv_tensor_free(t);
  dlv_tensor_free(v);
  dlv_tensor_free(c);
  CHECK_I64(g_log.calls, 0);
  dlv_tensor_free(r);
  CHECK_I64(g_log.calls, 1);
  CHECK(g_log.last_ctx == (const void *)rodata);
}

/* Frees in several orders; the release runs exactly once, after the last. */
static void test_release_after_last_view(void) {
  const int64_t shape[2] = {3, 4};
  int order;
  for (order = 0; order < 4; order++) {
    float *buf = (float *)malloc(12 * sizeof(float));
    dlv_tensor *t = NULL, *v1 = NULL, *v2 = NULL, *r = NULL;
    uint64_t live = dlv_live_storage_count();
    int i;
    REQUIRE_OK(buf != NULL ? DLV_OK : DLV_ERR_OUT_OF_MEMORY);
    for (i = 0; i < 12; i++) buf[i] = (float)i;
    reset_log();
    REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 2, shape, NULL, true, free_release, buf, &t));
    CHECK_I64(dlv_live_storage_count(), live + 1);
    REQUIRE_OK(dlv_tensor_slice(t, 1, DLV_NONE, DLV_NONE, -1, &v1));
    REQUIRE_OK(dlv_tensor_transpose(v1, &v2));
    REQUIRE_OK(dlv_tensor_retain(v2, &r));
    CHECK_I64(dlv_live_storage_count(), live + 1); /* views share the storage */
    switch (order) {
      case 0: /* root first */
        dlv_tensor_free(t);
        dlv_tensor_free(v1);
        dlv_tensor_free(v2);
        CHECK_I64(g_log.calls, 0);
        {
          /* The last handle still reads the memory: r = t[:, ::-1].T */
          const int64_t idx[2] = {0, 2};
          CHECK_AT(r, idx, 11.0);
        }
        dlv_tensor_free(r);
        break;
      case 1: /* newest first */
        dlv_tensor_free(r);
        dlv_tensor_free(v2);
        dlv_tensor_free(v1);
        CHECK_I64(g_log.calls, 0);
        dlv_tensor_free(t);
        break;
      case 2: /* interleaved, the middle view last */
        dlv_tensor_free(v2);
        dlv_tensor_free(t);
        dlv_tensor_free(r);
        CHECK_I64(g_log.calls, 0);
        dlv_tensor_free(v1);
        break;
      default: /* the retained handle last */
        dlv_tensor_free(v1);
        dlv_tensor_free(t);
        dlv_tensor_free(v2);
        CHECK_I64(g_log.calls, 0);
        dlv_tensor_free(r);
        break;
    }
    if (!CHECK_I64(g_log.calls, 1)) fprintf(stderr, "    (free order %d)\n", order);
    CHECK(g_log.last_ctx == (void *)buf);
    CHECK_I64(dlv_live_storage_count(), live);
  }
}

/* A copy detaches: the memory is released while the copy lives on. Failed
 * view calls change nothing. */
static void test_copies_detach(void) {
  float buf[6] = {0, 1, 2, 3, 4, 5};
  const int64_t shape[2] = {2, 3}, flat[1] = {6}, idx[1] = {5};
  dlv_tensor *t = NULL, *tr = NULL, *c = NULL, *rc = NULL, *a = NULL;
  uint64_t live = dlv_live_storage_count();
  reset_log();
  REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 2, shape, NULL, true, count_release, &g_log, &t));
  REQUIRE_OK(dlv_tensor_transpose(t, &tr));
  REQUIRE_OK(dlv_tensor_copy(tr, DLV_ORDER_C, &c));
  REQUIRE_OK(dlv_tensor_reshape(tr, 1, flat, DLV_COPY_IF_NEEDED, &rc)); /* needs a copy */
  REQUIRE_OK(dlv_tensor_astype(t, F64, DLV_ORDER_C, &a));
  CHECK_I64(dlv_live_storage_count(), live + 4);
  CHECK_ERR_NO_OUT(dlv_tensor_select(t, 0, 2, &bad), DLV_ERR_INDEX, "index 2 is out of bounds for axis 0 with size 2");
  CHECK_ERR_NO_OUT(dlv_tensor_reshape(tr, 1, flat, DLV_COPY_NEVER, &bad), DLV_ERR_COPY_REQUIRED,
                   "cannot share: a tensor of shape (3, 2) with strides (1, 3) cannot be viewed as shape (6,)");
  CHECK_I64(dlv_live_storage_count(), live + 4);
  dlv_tensor_free(tr);
  dlv_tensor_free(t);
  CHECK_I64(g_log.calls, 1);
  CHECK(g_log.last_ctx == (void *)&g_log);
  CHECK_I64(dlv_live_storage_count(), live + 3);
  /* The copies are intact after the memory is gone: tr flattened is
   * 0 3 1 4 2 5. */
  buf[5] = -1.0f;
  CHECK_AT(rc, idx, 5.0);
  {
    const int64_t i_c[2] = {2, 1}, i_a[2] = {1, 2};
    CHECK_AT(c, i_c, 5.0);
    CHECK_AT(a, i_a, 5.0);
  }
  dlv_tensor_free(a);
  dlv_tensor_free(rc);
  dlv_tensor_free(c);
  CHECK_I64(g_log.calls, 1);
  CHECK_I64(dlv_live_storage_count(), live);
}

/* No release on failure: the caller still owns the memory. */
static void test_no_release_on_failure(void) {
  float buf[4] = {0, 1, 2, 3};
  const int64_t ok[2] = {2, 2}, negative[2] = {2, -2}, huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
  const int64_t n2[1] = {2}, n3[1] = {3}, n3x2[2] = {2, 3};
  const int64_t overflow_extent[2] = {(int64_t)1 << 62, 1}, overflow_stride[1] = {(int64_t)1 << 62};
  const int64_t f4_strides[1] = {2};
  int64_t dims65[65];
  uint64_t live = dlv_live_storage_count();
  int i;
  for (i = 0; i < 65; i++) dims65[i] = 1;
  reset_log();
#define FAILS(status, message, ...)                                                                    \
  do {                                                                                                 \
    dlv_tensor *bad = SENTINEL;                                                                        \
    CHECK_ERR(dlv_tensor_from_buffer(__VA_ARGS__, count_release, &g_log, &bad), (status), (message)); \
    CHECK(bad == SENTINEL);                                                                            \
  } while (0)
  FAILS(DLV_ERR_NULL_ARGUMENT, "argument `data` must not be NULL", NULL, F32, CPU, 2, ok, NULL, true);
  FAILS(DLV_ERR_NULL_ARGUMENT, "argument `shape` must not be NULL", buf, F32, CPU, 2, NULL, NULL, true);
  FAILS(DLV_ERR_INVALID_ARGUMENT, "ndim 65 is out of range 0..=64", buf, F32, CPU, 65, dims65, NULL, true);
  FAILS(DLV_ERR_INVALID_ARGUMENT, "ndim -1 is out of range 0..=64", buf, F32, CPU, -1, ok, NULL, true);
  FAILS(DLV_ERR_INVALID_ARGUMENT, "negative dimension -2 at axis 1 in shape (2, -2)", buf, F32, CPU, 2, negative,
        NULL, true);
  FAILS(DLV_ERR_INVALID_ARGUMENT, "negative dimension -2 at axis 1 in shape (2, -2)", buf, F32, CPU, 2, negative, ok,
        true);
  FAILS(DLV_ERR_INVALID_ARGUMENT, "shape (1099511627776, 1099511627776) has too many elements", buf, F32, CPU, 2,
        huge, NULL, false);
  FAILS(DLV_ERR_INVALID_ARGUMENT,
        "layout of shape (2, 3) with strides (4611686018427387904, 1) spans more bytes than fit in isize", buf, F64,
        CPU, 2, n3x2, overflow_extent, true);
  FAILS(DLV_ERR_INVALID_ARGUMENT, "stride * (dim - 1) overflows: the layout's extent does not fit in 64 bits", buf,
        F32, CPU, 1, n3, overflow_stride, true);
  FAILS(DLV_ERR_UNSUPPORTED_DTYPE, "unsupported dtype (code 2, bits 32, lanes 4): only lanes == 1 is supported", buf,
        dtype_of(kDLFloat, 32, 4), CPU, 2, ok, NULL, true);
  FAILS(DLV_ERR_UNSUPPORTED_DTYPE, "unsupported dtype (code 99, bits 8, lanes 1)", buf, dtype_of(99, 8, 1), CPU, 2,
        ok, NULL, true);
  FAILS(DLV_ERR_UNSUPPORTED_DTYPE, "float4_e2m1fn tensors must be compact and packed (C order), but shape (2,) has strides (2,)", buf,
        dtype_of(kDLFloat4_e2m1fn, 4, 1), CPU, 1, n2, f4_strides, true);
#undef FAILS
  CHECK_ERR(dlv_tensor_from_buffer(buf, F32, CPU, 2, ok, NULL, true, count_release, &g_log, NULL),
            DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  CHECK_I64(g_log.calls, 0);
  CHECK_I64(dlv_live_storage_count(), live);
}

/* Without elements, data may be NULL; a NULL release is allowed. */
static void test_empty_and_null_release(void) {
  const int64_t zero[2] = {0, 3}, n2[1] = {2};
  float buf[2] = {1, 2};
  dlv_tensor *t = NULL, *v = NULL;
  uint64_t live = dlv_live_storage_count();
  reset_log();
  REQUIRE_OK(dlv_tensor_from_buffer(NULL, F32, CPU, 2, zero, NULL, true, count_release, &g_log, &t));
  CHECK_I64(dlv_tensor_size(t), 0);
  CHECK(dlv_tensor_data(t) == NULL);
  CHECK_FLAGS(t, W | C | F | O | A);
  REQUIRE_OK(dlv_tensor_transpose(t, &v));
  dlv_tensor_free(t);
  CHECK_I64(g_log.calls, 0);
  dlv_tensor_free(v);
  CHECK_I64(g_log.calls, 1);
  CHECK(g_log.last_ctx == (void *)&g_log);
  REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 1, n2, NULL, true, NULL, &g_log, &t));
  CHECK_I64(dlv_live_storage_count(), live + 1);
  dlv_tensor_free(t);
  CHECK_I64(g_log.calls, 1);
  CHECK_I64(dlv_live_storage_count(), live);
}

int main(int argc, char **argv) {
  (void)argc;
  RUN(test_wrap_layouts_and_flags);
  RUN(test_read_only_buffer);
  RUN(test_release_after_last_view);
  RUN(test_copies_detach);
  RUN(test_no_release_on_failure);
  RUN(test_empty_and_null_release);
  return check_summary(argv[0]);
}
