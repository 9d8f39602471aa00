/*
 * Assignment and gather through the C ABI: dlv_tensor_copy_into (broadcast,
 * cast, overlap, read-only destinations) and dlv_tensor_take (bounds,
 * negative indices, every error status with its message).
 */
#include "check.h"

#define C64 dtype_of(kDLComplex, 64, 1)

static void test_copy_into_values(void) {
  const int64_t s23[2] = {2, 3}, s3[1] = {3};
  dlv_tensor *dst = NULL, *row = NULL, *t = NULL, *tr = NULL;
  REQUIRE_OK(dlv_tensor_zeros(F64, 2, s23, DLV_ORDER_F, &dst));
  REQUIRE_OK(arange_f32(1, s3, &row));
  {
    /* A row broadcasts over the rows of dst and is cast to float64. */
    const double want[6] = {0, 1, 2, 0, 1, 2};
    CHECK_OK(dlv_tensor_copy_into(dst, row));
    CHECK_VALUES(dst, 6, want);
  }
  {
    /* Into a transposed view: dst.T[...] = arange(6).reshape(3, 2). */
    const int64_t s32[2] = {3, 2};
    const double want[6] = {0, 2, 4, 1, 3, 5};
    REQUIRE_OK(arange_f32(2, s32, &t));
    REQUIRE_OK(dlv_tensor_transpose(dst, &tr));
    CHECK_OK(dlv_tensor_copy_into(tr, t));
    CHECK_VALUES(dst, 6, want);
    /* The same handle as source and destination: nothing changes. */
    CHECK_OK(dlv_tensor_copy_into(dst, dst));
    CHECK_VALUES(dst, 6, want);
  }
  {
    /* float64 -> int32 truncates toward zero. */
    const int64_t one[1] = {1}, idx[1] = {0};
    dlv_tensor *x = NULL, *y = NULL;
    REQUIRE_OK(dlv_tensor_zeros(F64, 1, one, DLV_ORDER_C, &x));
    REQUIRE_OK(dlv_tensor_zeros(I32, 1, one, DLV_ORDER_C, &y));
    CHECK_OK(dlv_tensor_set_f64(x, idx, -2.75));
    CHECK_OK(dlv_tensor_copy_into(y, x));
    CHECK_AT(y, idx, -2.0);
    dlv_tensor_free(y);
    dlv_tensor_free(x);
  }
  dlv_tensor_free(tr);
  dlv_tensor_free(t);
  dlv_tensor_free(row);
  dlv_tensor_free(dst);
}

static void test_copy_into_overlap(void) {
  const int64_t n6[1] = {6};
  dlv_tensor *a = NULL, *head = NULL, *tail = NULL, *rev = NULL;
  REQUIRE_OK(arange_f32(1, n6, &a));
  REQUIRE_OK(dlv_tensor_slice(a, 0, 1, DLV_NONE, 1, &tail));
  REQUIRE_OK(dlv_tensor_slice(a, 0, DLV_NONE, -1, 1, &head));
  {
    /* a[1:] = a[:-1] reads every source element before writing. */
    const double want[6] = {0, 0, 1, 2, 3, 4};
    CHECK_OK(dlv_tensor_copy_into(tail, head));
    CHECK_VALUES(a, 6, want);
  }
  {
    /* a[...] = a[::-1] */
    const double want[6] = {4, 3, 2, 1, 0, 0};
    REQUIRE_OK(dlv_tensor_flip(a, 0, &rev));
    CHECK_OK(dlv_tensor_copy_into(a, rev));
    CHECK_VALUES(a, 6, want);
  }
  dlv_tensor_free(rev);
  dlv_tensor_free(head);
  dlv_tensor_free(tail);
  dlv_tensor_free(a);
}

static void test_copy_into_errors(void) {
  const int64_t s23[2] = {2, 3}, s4[1] = {4}, s3[1] = {3};
  dlv_tensor *dst = NULL, *src = NULL, *wide = NULL, *cplx = NULL, *b = NULL;
  REQUIRE_OK(dlv_tensor_zeros(F32, 2, s23, DLV_ORDER_C, &dst));
  REQUIRE_OK(arange_f32(1, s3, &src));
  REQUIRE_OK(dlv_tensor_zeros(F32, 1, s4, DLV_ORDER_C, &wide));
  REQUIRE_OK(dlv_tensor_zeros(C64, 1, s3, DLV_ORDER_C, &cplx));
  CHECK_ERR(dlv_tensor_copy_into(NULL, src), DLV_ERR_NULL_ARGUMENT, "argument `dst` must not be NULL");
  CHECK_ERR(dlv_tensor_copy_into(dst, NULL), DLV_ERR_NULL_ARGUMENT, "argument `src` must not be NULL");
  CHECK_ERR(dlv_tensor_copy_into(dst, wide), DLV_ERR_INVALID_ARGUMENT,
            "could not broadcast input array from shape (4,) into shape (2, 3)");
  CHECK_ERR(dlv_tensor_copy_into(dst, cplx), DLV_ERR_UNSUPPORTED_DTYPE,
            "casting complex64 to float32 would discard the imaginary part; take the real part explicitly "
            "(or allow it with CastOptions::discard_imaginary)");
  {
    /* Read-only destinations: cleared flag, broadcast view. Nothing is written. */
    const double zeros[6] = {0, 0, 0, 0, 0, 0};
    CHECK_OK(dlv_tensor_set_writeable(dst, false));
    CHECK_ERR(dlv_tensor_copy_into(dst, src), DLV_ERR_READ_ONLY, "assignment destination is read-only");
    CHECK_VALUES(dst, 6, zeros);
    CHECK_OK(dlv_tensor_set_writeable(dst, true));
    REQUIRE_OK(dlv_tensor_broadcast_to(src, 2, s23, &b));
    CHECK_ERR(dlv_tensor_copy_into(b, src), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  }
  {
    /* Device memory is never touched. */
    void *fake = (void *)(uintptr_t)0x7f0000004000u;
    dlv_tensor *gpu = NULL;
    REQUIRE_OK(dlv_tensor_from_buffer(fake, F32, device_of(kDLCUDA, 0), 1, s3, NULL, true, NULL, NULL, &gpu));
    CHECK_ERR(dlv_tensor_copy_into(gpu, src), DLV_ERR_UNSUPPORTED_DEVICE,
              "writing elements needs host-accessible memory, but the tensor is on cuda:0");
    CHECK_ERR(dlv_tensor_copy_into(src, gpu), DLV_ERR_UNSUPPORTED_DEVICE,
              "reading elements needs host-accessible memory, but the tensor is on cuda:0");
    dlv_tensor_free(gpu);
  }
  dlv_tensor_free(b);
  dlv_tensor_free(cplx);
  dlv_tensor_free(wide);
  dlv_tensor_free(src);
  dlv_tensor_free(dst);
}

static void test_take(void) {
  const int64_t s53[2] = {5, 3};
  dlv_tensor *t = NULL, *out = NULL;
  REQUIRE_OK(arange_f32(2, s53, &t));
  {
    /* Rows 4, 0 and -1 (= 4): a new C-contiguous, writeable buffer. */
    const int64_t idx[3] = {4, 0, -1}, s[2] = {3, 3}, st[2] = {3, 1};
    const double want[9] = {12, 13, 14, 0, 1, 2, 12, 13, 14};
    REQUIRE_OK(dlv_tensor_take(t, 0, idx, 3, &out));
    CHECK_LAYOUT(out, 2, s, st);
    CHECK_FLAGS(out, DLV_FLAG_WRITEABLE | DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_OWNDATA | DLV_FLAG_ALIGNED);
    CHECK_VALUES(out, 9, want);
    CHECK(!dlv_may_share_memory(out, t));
    dlv_tensor_free(out);
  }
  {
    /* Columns, axis counted from the end. */
    const int64_t idx[2] = {2, -3}, s[2] = {5, 2};
    const double want[10] = {2, 0, 5, 3, 8, 6, 11, 9, 14, 12};
    REQUIRE_OK(dlv_tensor_take(t, -1, idx, 2, &out));
    CHECK_LAYOUT(out, 2, s, NULL);
    CHECK_VALUES(out, 10, want);
    dlv_tensor_free(out);
  }
  {
    /* No indices: NULL is fine, the axis becomes empty. */
    const int64_t s[2] = {0, 3};
    REQUIRE_OK(dlv_tensor_take(t, 0, NULL, 0, &out));
    CHECK_LAYOUT(out, 2, s, NULL);
    CHECK(dlv_tensor_data(out) == NULL);
    dlv_tensor_free(out);
  }
  {
    const int64_t idx[2] = {0, 7}, neg[1] = {-4};
    CHECK_ERR_NO_OUT(dlv_tensor_take(t, 0, idx, 2, &bad), DLV_ERR_INDEX,
                     "index 7 is out of bounds for axis 0 with size 5");
    CHECK_ERR_NO_OUT(dlv_tensor_take(t, 1, neg, 1, &bad), DLV_ERR_INDEX,
                     "index -4 is out of bounds for axis 1 with size 3");
    CHECK_ERR_NO_OUT(dlv_tensor_take(t, 2, idx, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "axis 2 is out of bounds for tensor of dimension 2");
    CHECK_ERR_NO_OUT(dlv_tensor_take(t, 0, idx, -1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "the number of indices must be >= 0, not -1");
    CHECK_ERR_NO_OUT(dlv_tensor_take(t, 0, NULL, 1, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `indices` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_take(NULL, 0, idx, 1, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_take(t, 0, idx, 1, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  }
  dlv_tensor_free(t);
  {
    void *fake = (void *)(uintptr_t)0x7f0000005000u;
    const int64_t idx[1] = {0};
    REQUIRE_OK(dlv_tensor_from_buffer(fake, F32, device_of(kDLCUDA, 0), 2, s53, NULL, true, NULL, NULL, &t));
    CHECK_ERR_NO_OUT(dlv_tensor_take(t, 0, idx, 1, &bad), DLV_ERR_UNSUPPORTED_DEVICE,
                     "reading elements needs host-accessible memory, but the tensor is on cuda:0");
    dlv_tensor_free(t);
  }
}

int main(int argc, char **argv) {
  (void)argc;
  RUN(test_copy_into_values);
  RUN(test_copy_into_overlap);
  RUN(test_copy_into_errors);
  RUN(test_take);
  return check_summary(argv[0]);
}
