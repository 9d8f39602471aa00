/*
 * Views through the C ABI: slice, select, permute, transpose, flip, squeeze,
 * expand_dims, broadcast_to, as_strided, sliding_window, and
 * shares_memory / may_share_memory. Each view is checked against a
 * hand-computed shape, strides (elements), data pointer, flags (NumPy's
 * rules) and values, and every error status is provoked.
 *
 * Most tests start from arange_f32: element k (in C order) holds k, so a
 * view's values are exactly the element offsets it reaches.
 */
#include "check.h"

#define W DLV_FLAG_WRITEABLE
#define C DLV_FLAG_C_CONTIGUOUS
#define F DLV_FLAG_F_CONTIGUOUS
#define A DLV_FLAG_ALIGNED

/* `v`'s first element is `offset` float32 elements after `t`'s. */
#define CHECK_START(v, t, offset) CHECK(dlv_tensor_data(v) == elem_addr(dlv_tensor_data(t), (offset), 4))

static void test_slice(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *v = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    /* t[:, 1:3] */
    const int64_t s[2] = {3, 2}, st[2] = {4, 1};
    const double want[6] = {1, 2, 5, 6, 9, 10};
    REQUIRE_OK(dlv_tensor_slice(t, 1, 1, 3, 1, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 1);
    CHECK_FLAGS(v, W | A);
    CHECK_VALUES(v, 6, want);
    dlv_tensor_free(v);
  }
  {
    /* t[:, ::-1]: negative stride, starts at the last column. */
    const int64_t s[2] = {3, 4}, st[2] = {4, -1};
    const double want[12] = {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8};
    REQUIRE_OK(dlv_tensor_slice(t, -1, DLV_NONE, DLV_NONE, -1, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 3);
    CHECK_FLAGS(v, W | A);
    CHECK_VALUES(v, 12, want);
    dlv_tensor_free(v);
  }
  {
    /* t[::-2]: rows 2 and 0. */
    const int64_t s[2] = {2, 4}, st[2] = {-8, 1};
    const double want[8] = {8, 9, 10, 11, 0, 1, 2, 3};
    REQUIRE_OK(dlv_tensor_slice(t, 0, DLV_NONE, DLV_NONE, -2, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 8);
    CHECK_FLAGS(v, W | A);
    CHECK_VALUES(v, 8, want);
    dlv_tensor_free(v);
  }
  {
    /* t[:, -3::2]: columns 1 and 3. */
    const int64_t s[2] = {3, 2}, st[2] = {4, 2};
    const double want[6] = {1, 3, 5, 7, 9, 11};
    REQUIRE_OK(dlv_tensor_slice(t, 1, -3, DLV_NONE, 2, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 1);
    CHECK_VALUES(v, 6, want);
    dlv_tensor_free(v);
  }
  {
    /* t[3:0:-1] along axis 1: columns 3, 2, 1. */
    const int64_t s[2] = {3, 3}, st[2] = {4, -1};
    const double want[9] = {3, 2, 1, 7, 6, 5, 11, 10, 9};
    REQUIRE_OK(dlv_tensor_slice(t, 1, 3, 0, -1, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 3);
    CHECK_VALUES(v, 9, want);
    dlv_tensor_free(v);
  }
  {
    /* t[0:2]: still C-contiguous, but a view (no OWNDATA). */
    const int64_t s[2] = {2, 4}, st[2] = {4, 1};
    REQUIRE_OK(dlv_tensor_slice(t, 0, 0, 2, 1, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 0);
    CHECK_FLAGS(v, W | C | A);
    dlv_tensor_free(v);
  }
  {
    /* Out-of-range bounds clamp, as in Python: t[-100:100]. */
    const int64_t st[2] = {4, 1};
    REQUIRE_OK(dlv_tensor_slice(t, 0, -100, 100, 1, &v));
    CHECK_LAYOUT(v, 2, shape, st);
    CHECK_START(v, t, 0);
    CHECK_FLAGS(v, W | C | A);
    dlv_tensor_free(v);
    /* t[100:] along axis 0 is empty; t[::-1] from -100 is empty too. */
    REQUIRE_OK(dlv_tensor_slice(t, 0, 100, DLV_NONE, 1, &v));
    CHECK_I64(dlv_tensor_shape(v)[0], 0);
    CHECK(dlv_tensor_data(v) == NULL);
    CHECK_FLAGS(v, W | C | F | A);
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_slice(t, 0, -100, DLV_NONE, -1, &v));
    CHECK_I64(dlv_tensor_size(v), 0);
    dlv_tensor_free(v);
  }
  {
    /* t[:, 2:2]: empty, both contiguities, no data pointer. */
    const int64_t s[2] = {3, 0};
    REQUIRE_OK(dlv_tensor_slice(t, 1, 2, 2, 1, &v));
    CHECK_LAYOUT(v, 2, s, NULL);
    CHECK_I64(dlv_tensor_size(v), 0);
    CHECK(dlv_tensor_data(v) == NULL);
    CHECK_FLAGS(v, W | C | F | A);
    dlv_tensor_free(v);
  }
  {
    /* Extreme steps: one element each, stride = step (size-1 dims ignore
     * their stride for contiguity and alignment). */
    const int64_t s[2] = {3, 1}, st_max[2] = {4, INT64_MAX}, st_min[2] = {4, INT64_MIN};
    const double first[3] = {0, 4, 8}, last[3] = {3, 7, 11};
    dlv_tensor *w = NULL;
    REQUIRE_OK(dlv_tensor_slice(t, 1, DLV_NONE, DLV_NONE, INT64_MAX, &v));
    CHECK_LAYOUT(v, 2, s, st_max);
    CHECK_FLAGS(v, W | A);
    CHECK_VALUES(v, 3, first);
    /* Another slice of that axis would need stride INT64_MAX * 2. */
    CHECK_ERR_NO_OUT(dlv_tensor_slice(v, 1, DLV_NONE, DLV_NONE, 2, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "stride * step overflows: the layout's extent does not fit in 64 bits");
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_slice(t, 1, DLV_NONE, DLV_NONE, INT64_MIN, &v));
    CHECK_LAYOUT(v, 2, s, st_min);
    CHECK_START(v, t, 3);
    CHECK_VALUES(v, 3, last);
    /* Flipping it would need stride -INT64_MIN. */
    CHECK_ERR_NO_OUT(dlv_tensor_flip(v, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "negated stride overflows: the layout's extent does not fit in 64 bits");
    CHECK_ERR_NO_OUT(dlv_tensor_slice(v, 1, DLV_NONE, DLV_NONE, -1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "stride * step overflows: the layout's extent does not fit in 64 bits");
    /* The other axis still slices. */
    REQUIRE_OK(dlv_tensor_slice(v, 0, 1, DLV_NONE, 1, &w));
    CHECK_VALUES(w, 2, last + 1);
    dlv_tensor_free(w);
    dlv_tensor_free(v);
  }
  /* Errors. */
  CHECK_ERR_NO_OUT(dlv_tensor_slice(t, 2, 0, 1, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis 2 is out of bounds for tensor of dimension 2");
  CHECK_ERR_NO_OUT(dlv_tensor_slice(t, -3, 0, 1, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis -3 is out of bounds for tensor of dimension 2");
  CHECK_ERR_NO_OUT(dlv_tensor_slice(t, INT32_MIN, 0, 1, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis -2147483648 is out of bounds for tensor of dimension 2");
  CHECK_ERR_NO_OUT(dlv_tensor_slice(t, 0, 0, 1, 0, &bad), DLV_ERR_INVALID_ARGUMENT, "slice step cannot be zero");
  CHECK_ERR_NO_OUT(dlv_tensor_slice(NULL, 0, 0, 1, 1, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_slice(t, 0, 0, 1, 1, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  CHECK_ERR(dlv_tensor_slice(NULL, 0, 0, 1, 0, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  dlv_tensor_free(t);
  {
    dlv_tensor *s = NULL;
    REQUIRE_OK(dlv_tensor_zeros(F32, 0, NULL, DLV_ORDER_C, &s));
    CHECK_ERR_NO_OUT(dlv_tensor_slice(s, 0, 0, 1, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "axis 0 is out of bounds for tensor of dimension 0");
    dlv_tensor_free(s);
  }
}

static void test_select(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *v = NULL, *tt = NULL, *s = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    const int64_t s1[1] = {4}, st[1] = {1};
    const double want[4] = {4, 5, 6, 7};
    REQUIRE_OK(dlv_tensor_select(t, 0, 1, &v));
    CHECK_LAYOUT(v, 1, s1, st);
    CHECK_START(v, t, 4);
    CHECK_FLAGS(v, W | C | F | A);
    CHECK_VALUES(v, 4, want);
    /* Selecting again gives a 0-d view. */
    REQUIRE_OK(dlv_tensor_select(v, 0, -2, &s));
    CHECK_I64(dlv_tensor_ndim(s), 0);
    CHECK_I64(dlv_tensor_size(s), 1);
    CHECK_START(s, t, 6);
    CHECK_FLAGS(s, W | C | F | A);
    CHECK_AT(s, NULL, 6.0);
    dlv_tensor_free(s);
    dlv_tensor_free(v);
  }
  {
    /* t[:, -1]: the last column. */
    const int64_t s1[1] = {3}, st[1] = {4};
    const double want[3] = {3, 7, 11};
    REQUIRE_OK(dlv_tensor_select(t, -1, -1, &v));
    CHECK_LAYOUT(v, 1, s1, st);
    CHECK_START(v, t, 3);
    CHECK_FLAGS(v, W | A);
    CHECK_VALUES(v, 3, want);
    dlv_tensor_free(v);
  }
  /* The rules' example: index 5 on an axis 1 of size 3 (t.T is 4 x 3). */
  REQUIRE_OK(dlv_tensor_transpose(t, &tt));
  CHECK_ERR_NO_OUT(dlv_tensor_select(tt, 1, 5, &bad), DLV_ERR_INDEX, "index 5 is out of bounds for axis 1 with size 3");
  CHECK_ERR_NO_OUT(dlv_tensor_select(tt, -1, -4, &bad), DLV_ERR_INDEX,
                   "index -4 is out of bounds for axis 1 with size 3");
  CHECK_ERR_NO_OUT(dlv_tensor_select(t, 0, 3, &bad), DLV_ERR_INDEX, "index 3 is out of bounds for axis 0 with size 3");
  CHECK_ERR_NO_OUT(dlv_tensor_select(t, 0, INT64_MIN, &bad), DLV_ERR_INDEX,
                   "index -9223372036854775808 is out of bounds for axis 0 with size 3");
  CHECK_ERR_NO_OUT(dlv_tensor_select(t, 2, 0, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis 2 is out of bounds for tensor of dimension 2");
  CHECK_ERR_NO_OUT(dlv_tensor_select(NULL, 0, 0, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_select(t, 0, 0, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  {
    /* Nothing to select on an empty axis. */
    REQUIRE_OK(dlv_tensor_slice(t, 1, 0, 0, 1, &v));
    CHECK_ERR_NO_OUT(dlv_tensor_select(v, 1, 0, &bad), DLV_ERR_INDEX, "index 0 is out of bounds for axis 1 with size 0");
    dlv_tensor_free(v);
  }
  dlv_tensor_free(tt);
  dlv_tensor_free(t);
}

static void test_permute_and_transpose(void) {
  const int64_t shape[3] = {2, 3, 4};
  dlv_tensor *t = NULL, *v = NULL, *w = NULL;
  REQUIRE_OK(arange_f32(3, shape, &t));
  {
    /* Result axis k is source axis axes[k]: (2,3,4) strides (12,4,1) ->
     * shape (4,2,3) strides (1,12,4); [k][i][j] holds 12i + 4j + k. */
    const int32_t axes[3] = {2, 0, 1}, neg_axes[3] = {-1, 0, -2};
    const int64_t s[3] = {4, 2, 3}, st[3] = {1, 12, 4};
    const int64_t idx[3] = {3, 1, 2};
    REQUIRE_OK(dlv_tensor_permute(t, axes, &v));
    CHECK_LAYOUT(v, 3, s, st);
    CHECK_START(v, t, 0);
    CHECK_FLAGS(v, W | A);
    CHECK_AT(v, idx, 12 + 8 + 3);
    REQUIRE_OK(dlv_tensor_permute(t, neg_axes, &w));
    CHECK_LAYOUT(w, 3, s, st);
    dlv_tensor_free(w);
    dlv_tensor_free(v);
  }
  {
    /* The identity permutation is a C-contiguous view. */
    const int32_t axes[3] = {0, 1, 2};
    const int64_t st[3] = {12, 4, 1};
    REQUIRE_OK(dlv_tensor_permute(t, axes, &v));
    CHECK_LAYOUT(v, 3, shape, st);
    CHECK_FLAGS(v, W | C | A);
    dlv_tensor_free(v);
  }
  {
    /* transpose reverses every axis: a C tensor becomes F-contiguous, and
     * back again. */
    const int64_t s[3] = {4, 3, 2}, st[3] = {1, 4, 12}, st2[3] = {12, 4, 1};
    const int64_t idx[3] = {3, 2, 1};
    REQUIRE_OK(dlv_tensor_transpose(t, &v));
    CHECK_LAYOUT(v, 3, s, st);
    CHECK_START(v, t, 0);
    CHECK_FLAGS(v, W | F | A);
    CHECK_AT(v, idx, 12 + 8 + 3);
    REQUIRE_OK(dlv_tensor_transpose(v, &w));
    CHECK_LAYOUT(w, 3, shape, st2);
    CHECK_FLAGS(w, W | C | A);
    dlv_tensor_free(w);
    dlv_tensor_free(v);
  }
  {
    const int32_t repeated[3] = {0, 0, 1}, repeated_neg[3] = {0, -3, 1}, out_of_range[3] = {0, 1, 3};
    CHECK_ERR_NO_OUT(dlv_tensor_permute(t, repeated, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "repeated axis 0 in permutation (0, 0, 1)");
    CHECK_ERR_NO_OUT(dlv_tensor_permute(t, repeated_neg, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "repeated axis -3 in permutation (0, -3, 1)");
    CHECK_ERR_NO_OUT(dlv_tensor_permute(t, out_of_range, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "axis 3 is out of bounds for tensor of dimension 3");
    CHECK_ERR_NO_OUT(dlv_tensor_permute(t, NULL, &bad), DLV_ERR_NULL_ARGUMENT, "argument `axes` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_permute(NULL, repeated, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_permute(t, out_of_range, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_transpose(NULL, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_transpose(t, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  }
  dlv_tensor_free(t);
  {
    /* 0-d: axes may be NULL; transpose is the identity. */
    REQUIRE_OK(dlv_tensor_zeros(F32, 0, NULL, DLV_ORDER_C, &t));
    REQUIRE_OK(dlv_tensor_permute(t, NULL, &v));
    CHECK_I64(dlv_tensor_ndim(v), 0);
    REQUIRE_OK(dlv_tensor_transpose(t, &w));
    CHECK_I64(dlv_tensor_ndim(w), 0);
    CHECK(dlv_tensor_data(w) == dlv_tensor_data(t));
    dlv_tensor_free(w);
    dlv_tensor_free(v);
    dlv_tensor_free(t);
  }
}

static void test_flip(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *v = NULL, *w = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    const int64_t st[2] = {-4, 1};
    const double want[12] = {8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3};
    REQUIRE_OK(dlv_tensor_flip(t, 0, &v));
    CHECK_LAYOUT(v, 2, shape, st);
    CHECK_START(v, t, 8);
    CHECK_FLAGS(v, W | A);
    CHECK_VALUES(v, 12, want);
    /* Flipping back restores the layout; it is still a view. */
    REQUIRE_OK(dlv_tensor_flip(v, -2, &w));
    {
      const int64_t st2[2] = {4, 1};
      CHECK_LAYOUT(w, 2, shape, st2);
    }
    CHECK_START(w, t, 0);
    CHECK_FLAGS(w, W | C | A);
    dlv_tensor_free(w);
    dlv_tensor_free(v);
  }
  {
    const int64_t st[2] = {4, -1};
    REQUIRE_OK(dlv_tensor_flip(t, -1, &v));
    CHECK_LAYOUT(v, 2, shape, st);
    CHECK_START(v, t, 3);
    dlv_tensor_free(v);
  }
  {
    /* An empty axis flips without moving the start. */
    REQUIRE_OK(dlv_tensor_slice(t, 1, 0, 0, 1, &w));
    REQUIRE_OK(dlv_tensor_flip(w, 1, &v));
    CHECK_I64(dlv_tensor_size(v), 0);
    CHECK_FLAGS(v, W | C | F | A);
    dlv_tensor_free(v);
    dlv_tensor_free(w);
  }
  CHECK_ERR_NO_OUT(dlv_tensor_flip(t, 2, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis 2 is out of bounds for tensor of dimension 2");
  CHECK_ERR_NO_OUT(dlv_tensor_flip(t, -3, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis -3 is out of bounds for tensor of dimension 2");
  CHECK_ERR_NO_OUT(dlv_tensor_flip(NULL, 0, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_flip(t, 0, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  dlv_tensor_free(t);
}

static void test_squeeze_and_expand_dims(void) {
  const int64_t shape[3] = {1, 3, 1};
  dlv_tensor *t = NULL, *v = NULL;
  REQUIRE_OK(arange_f32(3, shape, &t));
  {
    const int64_t s[1] = {3}, st[1] = {1};
    REQUIRE_OK(dlv_tensor_squeeze(t, DLV_ALL_AXES, &v));
    CHECK_LAYOUT(v, 1, s, st);
    CHECK_START(v, t, 0);
    CHECK_FLAGS(v, W | C | F | A);
    dlv_tensor_free(v);
  }
  {
    const int64_t s[2] = {3, 1}, s2[2] = {1, 3};
    REQUIRE_OK(dlv_tensor_squeeze(t, 0, &v));
    CHECK_LAYOUT(v, 2, s, NULL);
    CHECK_I64(dlv_tensor_strides(v)[0], 1);
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_squeeze(t, -1, &v));
    CHECK_LAYOUT(v, 2, s2, NULL);
    CHECK_I64(dlv_tensor_strides(v)[1], 1);
    dlv_tensor_free(v);
  }
  CHECK_ERR_NO_OUT(dlv_tensor_squeeze(t, 1, &bad), DLV_ERR_INVALID_ARGUMENT, "cannot squeeze axis 1: its size is 3, not 1");
  CHECK_ERR_NO_OUT(dlv_tensor_squeeze(t, 3, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis 3 is out of bounds for tensor of dimension 3");
  CHECK_ERR_NO_OUT(dlv_tensor_squeeze(t, -4, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis -4 is out of bounds for tensor of dimension 3");
  CHECK_ERR_NO_OUT(dlv_tensor_squeeze(NULL, 0, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_squeeze(t, 0, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  {
    /* Squeezing every axis of a (1, 1) tensor leaves a 0-d view. */
    const int64_t unit[2] = {1, 1};
    dlv_tensor *u = NULL;
    REQUIRE_OK(dlv_tensor_zeros(F32, 2, unit, DLV_ORDER_C, &u));
    REQUIRE_OK(dlv_tensor_squeeze(u, DLV_ALL_AXES, &v));
    CHECK_I64(dlv_tensor_ndim(v), 0);
    CHECK_I64(dlv_tensor_size(v), 1);
    dlv_tensor_free(v);
    dlv_tensor_free(u);
  }
  dlv_tensor_free(t);

  {
    const int64_t s2[2] = {3, 4};
    REQUIRE_OK(arange_f32(2, s2, &t));
  }
  {
    /* A new size-1 axis anywhere in -(ndim+1)..=ndim; the other strides are
     * unchanged (the stride of a size-1 axis is not part of the contract). */
    const int64_t front[3] = {1, 3, 4}, mid[3] = {3, 1, 4}, back[3] = {3, 4, 1};
    const int32_t at_front[2] = {0, -3}, at_mid[2] = {1, -2}, at_back[2] = {2, -1};
    int k;
    for (k = 0; k < 2; k++) {
      REQUIRE_OK(dlv_tensor_expand_dims(t, at_front[k], &v));
      CHECK_LAYOUT(v, 3, front, NULL);
      CHECK(dlv_tensor_strides(v)[1] == 4 && dlv_tensor_strides(v)[2] == 1);
      CHECK_START(v, t, 0);
      CHECK_FLAGS(v, W | C | A);
      dlv_tensor_free(v);
      REQUIRE_OK(dlv_tensor_expand_dims(t, at_mid[k], &v));
      CHECK_LAYOUT(v, 3, mid, NULL);
      CHECK(dlv_tensor_strides(v)[0] == 4 && dlv_tensor_strides(v)[2] == 1);
      CHECK_FLAGS(v, W | C | A);
      dlv_tensor_free(v);
      REQUIRE_OK(dlv_tensor_expand_dims(t, at_back[k], &v));
      CHECK_LAYOUT(v, 3, back, NULL);
      CHECK(dlv_tensor_strides(v)[0] == 4 && dlv_tensor_strides(v)[1] == 1);
      CHECK_FLAGS(v, W | C | A);
      {
        const int64_t idx[3] = {2, 1, 0};
        CHECK_AT(v, idx, 9.0);
      }
      dlv_tensor_free(v);
    }
  }
  CHECK_ERR_NO_OUT(dlv_tensor_expand_dims(t, 3, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis 3 is out of bounds for tensor of dimension 3");
  CHECK_ERR_NO_OUT(dlv_tensor_expand_dims(t, -4, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis -4 is out of bounds for tensor of dimension 3");
  CHECK_ERR_NO_OUT(dlv_tensor_expand_dims(NULL, 0, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_expand_dims(t, 0, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  dlv_tensor_free(t);
  {
    /* 64 dimensions cannot grow a 65th (expand_dims, sliding_window). */
    int64_t ones[64];
    int i;
    for (i = 0; i < 64; i++) ones[i] = 1;
    REQUIRE_OK(dlv_tensor_zeros(U8, 64, ones, DLV_ORDER_C, &t));
    CHECK_ERR_NO_OUT(dlv_tensor_expand_dims(t, 0, &bad), DLV_ERR_INVALID_ARGUMENT, "ndim 65 exceeds the maximum of 64");
    CHECK_ERR_NO_OUT(dlv_tensor_sliding_window(t, 0, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim 65 exceeds the maximum of 64");
    dlv_tensor_free(t);
  }
}

static void test_broadcast_to(void) {
  const int64_t four[1] = {4};
  dlv_tensor *t = NULL, *b = NULL;
  REQUIRE_OK(arange_f32(1, four, &t));
  {
    /* (4,) -> (3, 4): a new leading axis of stride 0; read-only. */
    const int64_t s[2] = {3, 4}, st[2] = {0, 1}, idx[2] = {2, 1};
    const double want[12] = {0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3};
    REQUIRE_OK(dlv_tensor_broadcast_to(t, 2, s, &b));
    CHECK_LAYOUT(b, 2, s, st);
    CHECK_START(b, t, 0);
    CHECK_FLAGS(b, A);
    CHECK_VALUES(b, 12, want);
    CHECK_ERR(dlv_tensor_set_f64(b, idx, 1.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
    CHECK_ERR(dlv_tensor_set_writeable(b, true), DLV_ERR_READ_ONLY,
              "cannot make tensor writeable: its elements overlap in memory");
    /* The source stays writeable, and its writes show through. */
    {
      const int64_t i1[1] = {1};
      CHECK_OK(dlv_tensor_set_f64(t, i1, 40.0));
      CHECK_AT(b, idx, 40.0);
    }
    /* Broadcasting the broadcast again. */
    {
      const int64_t s3[3] = {2, 3, 4}, st3[3] = {0, 0, 1};
      dlv_tensor *bb = NULL;
      REQUIRE_OK(dlv_tensor_broadcast_to(b, 3, s3, &bb));
      CHECK_LAYOUT(bb, 3, s3, st3);
      CHECK_FLAGS(bb, A);
      dlv_tensor_free(bb);
    }
    dlv_tensor_free(b);
  }
  {
    /* (3, 1) -> (2, 3, 4): size-1 axes and new axes get stride 0. */
    const int64_t col[2] = {3, 1}, s[3] = {2, 3, 4}, st[3] = {0, 1, 0}, idx[3] = {1, 2, 3};
    dlv_tensor *c = NULL;
    REQUIRE_OK(dlv_tensor_slice(t, 0, 0, 3, 1, &c)); /* t[:3, None] */
    {
      dlv_tensor *c2 = NULL;
      REQUIRE_OK(dlv_tensor_expand_dims(c, 1, &c2));
      dlv_tensor_free(c);
      c = c2;
    }
    CHECK_LAYOUT(c, 2, col, NULL);
    REQUIRE_OK(dlv_tensor_broadcast_to(c, 3, s, &b));
    CHECK_LAYOUT(b, 3, s, st);
    CHECK_AT(b, idx, 2.0);
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(c, 1, four, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot broadcast shape (3, 1) to shape (4,)");
    dlv_tensor_free(b);
    dlv_tensor_free(c);
  }
  {
    /* To its own shape: same strides, still read-only (as NumPy). */
    const int64_t st[1] = {1};
    REQUIRE_OK(dlv_tensor_broadcast_to(t, 1, four, &b));
    CHECK_LAYOUT(b, 1, four, st);
    CHECK_FLAGS(b, C | F | A);
    dlv_tensor_free(b);
  }
  {
    const int64_t bad44[2] = {4, 4}, three[1] = {3}, neg[2] = {-1, 4}, big[2] = {(int64_t)1 << 40, (int64_t)1 << 40};
    const int64_t s34[2] = {3, 4};
    int64_t dims65[65];
    int i;
    dlv_tensor *m = NULL;
    for (i = 0; i < 65; i++) dims65[i] = 1;
    dims65[64] = 4;
    REQUIRE_OK(arange_f32(2, s34, &m));
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(m, 2, bad44, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot broadcast shape (3, 4) to shape (4, 4)");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(m, 1, four, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot broadcast shape (3, 4) to shape (4,)");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(t, 1, three, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "cannot broadcast shape (4,) to shape (3,)");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(t, 2, neg, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "negative dimension -1 at axis 0 in shape (-1, 4)");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(t, 2, big, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "shape (1099511627776, 1099511627776) has too many elements");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(t, 65, dims65, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim 65 is out of range 0..=64");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(t, -1, four, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim -1 is out of range 0..=64");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(t, 1, NULL, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `shape` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_broadcast_to(NULL, 1, four, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_broadcast_to(t, 1, four, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    dlv_tensor_free(m);
  }
  dlv_tensor_free(t);
}

static void test_as_strided_owned(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *v = NULL, *row = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    /* A 2x2 window of the top-left corner: writeable, not contiguous. */
    const int64_t s[2] = {2, 2}, st[2] = {4, 1}, idx[2] = {1, 1};
    const double want[4] = {0, 1, 4, 5};
    REQUIRE_OK(dlv_tensor_as_strided(t, 2, s, st, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 0);
    CHECK_FLAGS(v, W | A);
    CHECK_VALUES(v, 4, want);
    CHECK_OK(dlv_tensor_set_f64(v, idx, 50.0));
    {
      const int64_t tidx[2] = {1, 1};
      CHECK_AT(t, tidx, 50.0);
      CHECK_OK(dlv_tensor_set_f64(t, tidx, 5.0));
    }
    dlv_tensor_free(v);
  }
  {
    /* Overlapping elements ([i][j] is element i + j): read-only. */
    const int64_t s[2] = {3, 3}, st[2] = {1, 1}, idx[2] = {0, 0};
    const double want[9] = {0, 1, 2, 1, 2, 3, 2, 3, 4};
    REQUIRE_OK(dlv_tensor_as_strided(t, 2, s, st, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_FLAGS(v, A);
    CHECK_VALUES(v, 9, want);
    CHECK_ERR(dlv_tensor_set_f64(v, idx, 1.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
    CHECK_ERR(dlv_tensor_set_writeable(v, true), DLV_ERR_READ_ONLY,
              "cannot make tensor writeable: its elements overlap in memory");
    dlv_tensor_free(v);
  }
  {
    /* The whole storage, exactly. */
    const int64_t s[1] = {12}, st[1] = {1};
    REQUIRE_OK(dlv_tensor_as_strided(t, 1, s, st, &v));
    CHECK_FLAGS(v, W | C | F | A);
    dlv_tensor_free(v);
  }
  /* From row 1 (element 4), a view may reach back into the rest of the
   * storage it knows: elements 4 and 0. */
  REQUIRE_OK(dlv_tensor_select(t, 0, 1, &row));
  {
    const int64_t s[1] = {2}, st[1] = {-4};
    const double want[2] = {4, 0};
    REQUIRE_OK(dlv_tensor_as_strided(row, 1, s, st, &v));
    CHECK_START(v, t, 4);
    CHECK_VALUES(v, 2, want);
    CHECK_FLAGS(v, W | A);
    dlv_tensor_free(v);
  }
  {
    const int64_t s13[1] = {13}, st1[1] = {1}, s2[1] = {2}, stm1[1] = {-1}, s3[1] = {3}, stm4[1] = {-4};
    const int64_t huge_stride[1] = {(int64_t)1 << 62}, huge[2] = {(int64_t)1 << 40, (int64_t)1 << 40},
                  st11[2] = {1, 1}, neg[1] = {-2}, zero[1] = {0};
    int64_t dims65[65];
    int i;
    for (i = 0; i < 65; i++) dims65[i] = 1;
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, s13, st1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (13,) with strides (1,) reaches bytes [0, 52) from the view's "
                     "start, outside [0, 48) owned by its storage");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, s2, stm1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (2,) with strides (-1,) reaches bytes [-4, 4) from the view's "
                     "start, outside [0, 48) owned by its storage");
    /* Row 1 starts 16 bytes into the storage. */
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(row, 1, s3, stm4, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (3,) with strides (-4,) reaches bytes [-32, 4) from the view's "
                     "start, outside [-16, 32) owned by its storage");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(row, 1, s13, st1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (13,) with strides (1,) reaches bytes [0, 52) from the view's "
                     "start, outside [-16, 32) owned by its storage");
    /* Overflowing layouts. */
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, s3, huge_stride, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "stride * (dim - 1) overflows: the layout's extent does not fit in 64 bits");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, s2, huge_stride, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "layout of shape (2,) with strides (4611686018427387904,) spans more bytes than fit in isize");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 2, huge, st11, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "shape (1099511627776, 1099511627776) has too many elements");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, neg, st1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "negative dimension -2 at axis 0 in shape (-2,)");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 65, dims65, dims65, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim 65 is out of range 0..=64");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, -1, s2, st1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim -1 is out of range 0..=64");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, NULL, st1, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `shape` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, s2, NULL, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `strides` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(NULL, 1, s2, st1, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_as_strided(t, 1, s2, st1, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    /* No elements: nothing to check against, any strides do. */
    REQUIRE_OK(dlv_tensor_as_strided(t, 1, zero, huge_stride, &v));
    CHECK_I64(dlv_tensor_size(v), 0);
    CHECK(dlv_tensor_data(v) == NULL);
    dlv_tensor_free(v);
    /* 0-d: the first element itself. */
    REQUIRE_OK(dlv_tensor_as_strided(row, 0, NULL, NULL, &v));
    CHECK_AT(v, NULL, 4.0);
    dlv_tensor_free(v);
  }
  dlv_tensor_free(row);
  dlv_tensor_free(t);
  {
    /* A storage with no bytes holds no element. */
    const int64_t zero[1] = {0}, one[1] = {1};
    REQUIRE_OK(dlv_tensor_zeros(F32, 1, zero, DLV_ORDER_C, &t));
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, one, one, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (1,) with strides (1,) reaches bytes [0, 4) from the view's "
                     "start, outside [0, 0) owned by its storage");
    dlv_tensor_free(t);
  }
}

/* Wrapped memory has no known extent: as_strided stays inside the view it
 * starts from, even where the caller's buffer is larger. */
static void test_as_strided_foreign(void) {
  float buf[12];
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *row = NULL, *v = NULL;
  int i;
  for (i = 0; i < 12; i++) buf[i] = (float)i;
  REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 2, shape, NULL, true, NULL, NULL, &t));
  {
    const int64_t s12[1] = {12}, st1[1] = {1};
    REQUIRE_OK(dlv_tensor_as_strided(t, 1, s12, st1, &v));
    CHECK(dlv_tensor_data(v) == (const void *)buf);
    CHECK_FLAGS(v, W | C | F | A);
    dlv_tensor_free(v);
  }
  {
    const int64_t s13[1] = {13}, st1[1] = {1}, s2[1] = {2}, stm4[1] = {-4}, s4[1] = {4};
    const double want[4] = {4, 5, 6, 7};
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(t, 1, s13, st1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (13,) with strides (1,) reaches bytes [0, 52) from the view's "
                     "start, outside [0, 48) owned by the source view (the storage's extent is unknown)");
    REQUIRE_OK(dlv_tensor_slice(t, 0, 1, 2, 1, &row)); /* t[1:2], elements 4..7 */
    /* Elements 4 and 0 are in buf, but not in the view's extent. */
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(row, 1, s2, stm4, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (2,) with strides (-4,) reaches bytes [-16, 4) from the view's "
                     "start, outside [0, 16) owned by the source view (the storage's extent is unknown)");
    CHECK_ERR_NO_OUT(dlv_tensor_as_strided(row, 1, s13, st1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "as_strided layout of shape (13,) with strides (1,) reaches bytes [0, 52) from the view's "
                     "start, outside [0, 16) owned by the source view (the storage's extent is unknown)");
    REQUIRE_OK(dlv_tensor_as_strided(row, 1, s4, st1, &v));
    CHECK_VALUES(v, 4, want);
    dlv_tensor_free(v);
    dlv_tensor_free(row);
  }
  dlv_tensor_free(t);
}

static void test_sliding_window(void) {
  const int64_t six[1] = {6};
  dlv_tensor *t = NULL, *v = NULL;
  REQUIRE_OK(arange_f32(1, six, &t));
  {
    /* Windows of 3 over 0..5: [i][j] is element i + j. */
    const int64_t s[2] = {4, 3}, st[2] = {1, 1}, idx[2] = {1, 1};
    const double want[12] = {0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5};
    REQUIRE_OK(dlv_tensor_sliding_window(t, 0, 3, &v));
    CHECK_LAYOUT(v, 2, s, st);
    CHECK_START(v, t, 0);
    CHECK_FLAGS(v, A);
    CHECK_VALUES(v, 12, want);
    CHECK_ERR(dlv_tensor_set_f64(v, idx, 1.0), DLV_ERR_READ_ONLY, "assignment destination is read-only");
    CHECK_ERR(dlv_tensor_set_writeable(v, true), DLV_ERR_READ_ONLY,
              "cannot make tensor writeable: its elements overlap in memory");
    dlv_tensor_free(v);
  }
  {
    /* One window of everything, and windows of 0 (no elements). */
    const int64_t s[2] = {1, 6}, s0[2] = {7, 0};
    REQUIRE_OK(dlv_tensor_sliding_window(t, -1, 6, &v));
    CHECK_LAYOUT(v, 2, s, NULL);
    CHECK(!(dlv_tensor_flags(v) & W));
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_sliding_window(t, 0, 0, &v));
    CHECK_LAYOUT(v, 2, s0, NULL);
    CHECK_I64(dlv_tensor_size(v), 0);
    dlv_tensor_free(v);
  }
  CHECK_ERR_NO_OUT(dlv_tensor_sliding_window(t, 0, 7, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "window 7 does not fit axis 0 of size 6");
  CHECK_ERR_NO_OUT(dlv_tensor_sliding_window(t, 0, -1, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "window -1 does not fit axis 0 of size 6");
  CHECK_ERR_NO_OUT(dlv_tensor_sliding_window(t, 1, 2, &bad), DLV_ERR_INVALID_ARGUMENT,
                   "axis 1 is out of bounds for tensor of dimension 1");
  CHECK_ERR_NO_OUT(dlv_tensor_sliding_window(NULL, 0, 2, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
  CHECK_ERR(dlv_tensor_sliding_window(t, 0, 2, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  dlv_tensor_free(t);
  {
    /* Along axis 1 of a 3x4: shape (3, 3, 2), strides (4, 1, 1). */
    const int64_t s34[2] = {3, 4}, s[3] = {3, 3, 2}, st[3] = {4, 1, 1}, idx[3] = {2, 1, 1};
    REQUIRE_OK(arange_f32(2, s34, &t));
    REQUIRE_OK(dlv_tensor_sliding_window(t, 1, 2, &v));
    CHECK_LAYOUT(v, 3, s, st);
    CHECK_AT(v, idx, 8 + 1 + 1);
    dlv_tensor_free(v);
    dlv_tensor_free(t);
  }
}

/* Writes through one view are seen through every other. */
static void test_writes_are_shared(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *tr = NULL, *fl = NULL, *col = NULL, *as = NULL;
  void *p = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  REQUIRE_OK(dlv_tensor_transpose(t, &tr));
  REQUIRE_OK(dlv_tensor_flip(t, 1, &fl));
  REQUIRE_OK(dlv_tensor_select(t, 1, 2, &col));
  {
    const int64_t s[1] = {3}, st[1] = {4};
    REQUIRE_OK(dlv_tensor_as_strided(t, 1, s, st, &as)); /* column 0 */
  }
  {
    /* t.T[3][2] is t[2][3], which is t[:, ::-1][2][0]. */
    const int64_t i_tr[2] = {3, 2}, i_t[2] = {2, 3}, i_fl[2] = {2, 0};
    CHECK_OK(dlv_tensor_set_f64(tr, i_tr, 100.0));
    CHECK_AT(t, i_t, 100.0);
    CHECK_AT(fl, i_fl, 100.0);
  }
  {
    /* A raw write through the column's data pointer lands on t[0][2]. */
    const int64_t i_t[2] = {0, 2}, i_fl[2] = {0, 1}, i_tr[2] = {2, 0};
    REQUIRE_OK(dlv_tensor_data_mut(col, &p));
    CHECK(p == elem_addr(dlv_tensor_data(t), 2, 4));
    *(float *)p = -1.0f;
    CHECK_AT(t, i_t, -1.0);
    CHECK_AT(fl, i_fl, -1.0);
    CHECK_AT(tr, i_tr, -1.0);
  }
  {
    /* col[2] is t[2][2]; as_strided[1] is t[1][0]. */
    const int64_t i_col[1] = {2}, i_as[1] = {1}, i_t1[2] = {2, 2}, i_t2[2] = {1, 0};
    CHECK_OK(dlv_tensor_set_f64(col, i_col, 7.5));
    CHECK_AT(t, i_t1, 7.5);
    CHECK_OK(dlv_tensor_set_f64(as, i_as, 8.5));
    CHECK_AT(t, i_t2, 8.5);
    CHECK_AT(tr, i_t2, 1.0); /* t.T[1][0] is t[0][1], untouched */
  }
  /* Views of views point at the root as their base. */
  {
    dlv_tensor *vv = NULL;
    char text[1024], want[128];
    REQUIRE_OK(dlv_tensor_transpose(fl, &vv));
    dlv_tensor_describe(vv, text, sizeof text);
    snprintf(want, sizeof want, "base:     view of a float32 tensor of shape (3, 4) at 0x%" PRIxPTR "\n",
             (uintptr_t)dlv_tensor_data(t));
    CHECK(strstr(text, want) != NULL);
    dlv_tensor_free(vv);
  }
  dlv_tensor_free(as);
  dlv_tensor_free(col);
  dlv_tensor_free(fl);
  dlv_tensor_free(tr);
  dlv_tensor_free(t);
}

static void test_shares_memory(void) {
  const int64_t shape[2] = {4, 6};
  dlv_tensor *t = NULL, *u = NULL, *even = NULL, *odd = NULL, *even2 = NULL, *row0 = NULL, *row1 = NULL, *tr = NULL,
             *empty = NULL, *every3 = NULL, *from3 = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  REQUIRE_OK(arange_f32(2, shape, &u));
  REQUIRE_OK(dlv_tensor_slice(t, 1, 0, DLV_NONE, 2, &even));
  REQUIRE_OK(dlv_tensor_slice(t, 1, 1, DLV_NONE, 2, &odd));
  REQUIRE_OK(dlv_tensor_retain(even, &even2));
  REQUIRE_OK(dlv_tensor_select(t, 0, 0, &row0));
  REQUIRE_OK(dlv_tensor_select(t, 0, 1, &row1));
  REQUIRE_OK(dlv_tensor_transpose(t, &tr));
  REQUIRE_OK(dlv_tensor_slice(t, 0, 2, 2, 1, &empty));
  REQUIRE_OK(dlv_tensor_slice(t, 1, 0, DLV_NONE, 3, &every3)); /* columns 0, 3 */
  REQUIRE_OK(dlv_tensor_slice(t, 1, 3, DLV_NONE, 1, &from3));   /* columns 3, 4, 5 */

  /* Interleaved: the byte ranges overlap, no element is common. */
  CHECK(dlv_may_share_memory(even, odd));
  CHECK(!dlv_shares_memory(even, odd));
  CHECK(dlv_may_share_memory(odd, even));
  CHECK(!dlv_shares_memory(odd, even));
  /* Interleaved but meeting in column 3. */
  CHECK(dlv_may_share_memory(every3, from3));
  CHECK(dlv_shares_memory(every3, from3));
  CHECK(dlv_shares_memory(every3, odd));  /* column 3 is odd */
  CHECK(dlv_shares_memory(every3, even)); /* column 0 is even */
  /* The same view, a view and its root, a transpose. */
  CHECK(dlv_shares_memory(even, even2) && dlv_may_share_memory(even, even2));
  CHECK(dlv_shares_memory(t, even) && dlv_may_share_memory(t, even));
  CHECK(dlv_shares_memory(t, tr) && dlv_shares_memory(tr, odd));
  CHECK(dlv_shares_memory(t, t));
  /* Adjacent rows: disjoint ranges. */
  CHECK(!dlv_may_share_memory(row0, row1));
  CHECK(!dlv_shares_memory(row0, row1));
  CHECK(dlv_shares_memory(row0, odd) && dlv_shares_memory(row1, even));
  /* Different buffers, no elements, NULL. */
  CHECK(!dlv_may_share_memory(t, u) && !dlv_shares_memory(t, u));
  CHECK(!dlv_may_share_memory(t, empty) && !dlv_shares_memory(empty, t));
  CHECK(!dlv_may_share_memory(t, NULL) && !dlv_shares_memory(NULL, t));

  dlv_tensor_free(from3);
  dlv_tensor_free(every3);
  dlv_tensor_free(empty);
  dlv_tensor_free(tr);
  dlv_tensor_free(row1);
  dlv_tensor_free(row0);
  dlv_tensor_free(even2);
  dlv_tensor_free(odd);
  dlv_tensor_free(even);
  dlv_tensor_free(u);
  dlv_tensor_free(t);

  {
    /* Byte-level: a uint8 view of the bytes of a float32 buffer shares with
     * the float whose byte it covers, not with its neighbours. */
    float buf[4] = {0, 0, 0, 0};
    const int64_t n4[1] = {4}, n1[1] = {1};
    dlv_tensor *f = NULL, *b = NULL, *f0 = NULL, *f1 = NULL;
    REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, CPU, 1, n4, NULL, true, NULL, NULL, &f));
    REQUIRE_OK(dlv_tensor_from_buffer((unsigned char *)buf + 5, U8, CPU, 1, n1, NULL, true, NULL, NULL, &b));
    REQUIRE_OK(dlv_tensor_select(f, 0, 0, &f0));
    REQUIRE_OK(dlv_tensor_select(f, 0, 1, &f1));
    CHECK(dlv_shares_memory(b, f1) && dlv_shares_memory(f1, b));
    CHECK(!dlv_shares_memory(b, f0) && !dlv_may_share_memory(b, f0));
    CHECK(dlv_shares_memory(b, f));
    dlv_tensor_free(f1);
    dlv_tensor_free(f0);
    dlv_tensor_free(b);
    dlv_tensor_free(f);
  }
}

/* ALIGNED follows the data pointer and the byte strides (NumPy). */
static void test_aligned_flag(void) {
  double storage[8];
  const int64_t n3[1] = {3}, one[1] = {1}, st2[1] = {2};
  dlv_tensor *t = NULL, *v = NULL;
  unsigned char *bytes = (unsigned char *)storage;
  /* float64 at a 4-byte offset: not aligned. */
  REQUIRE_OK(dlv_tensor_from_buffer(bytes + 4, F64, CPU, 1, n3, NULL, true, NULL, NULL, &t));
  CHECK_FLAGS(t, W | C | F | DLV_FLAG_OWNDATA);
  /* Elements are still read correctly (unaligned access). */
  memset(storage, 0, sizeof storage);
  {
    double x = 6.25;
    const int64_t idx[1] = {1};
    memcpy(bytes + 12, &x, sizeof x);
    CHECK_AT(t, idx, 6.25);
  }
  dlv_tensor_free(t);
  /* complex64 is aligned like one float32: a 4-byte offset is aligned. */
  REQUIRE_OK(dlv_tensor_from_buffer(bytes + 4, dtype_of(kDLComplex, 64, 1), CPU, 1, n3, NULL, true, NULL, NULL, &t));
  CHECK_FLAGS(t, W | C | F | DLV_FLAG_OWNDATA | A);
  dlv_tensor_free(t);
  /* Misaligned but only one element: the data pointer still decides. */
  REQUIRE_OK(dlv_tensor_from_buffer(bytes + 1, F32, CPU, 1, one, NULL, true, NULL, NULL, &t));
  CHECK(!(dlv_tensor_flags(t) & A));
  dlv_tensor_free(t);
  /* A uint8 view is always aligned; a float32 view with stride 2 elements
   * (8 bytes) of aligned memory is aligned. */
  REQUIRE_OK(dlv_tensor_from_buffer(bytes + 1, U8, CPU, 1, n3, NULL, true, NULL, NULL, &t));
  CHECK(dlv_tensor_flags(t) & A);
  dlv_tensor_free(t);
  REQUIRE_OK(dlv_tensor_from_buffer(storage, F32, CPU, 1, n3, st2, true, NULL, NULL, &t));
  CHECK_FLAGS(t, W | DLV_FLAG_OWNDATA | A);
  /* Its slice from element 1 starts 8 bytes in: still aligned. */
  REQUIRE_OK(dlv_tensor_slice(t, 0, 1, DLV_NONE, 1, &v));
  CHECK_FLAGS(v, W | A);
  dlv_tensor_free(v);
  dlv_tensor_free(t);
}

/* Packed sub-byte types are exchange-only: wrapping works, views and element
 * access are refused. */
static void test_sub_byte_views(void) {
  unsigned char packed[2] = {0x21, 0x43};
  const int64_t n4[1] = {4}, idx[1] = {0};
  dlv_tensor *t = NULL;
  double got = 0.0;
  REQUIRE_OK(dlv_tensor_from_buffer(packed, dtype_of(kDLFloat4_e2m1fn, 4, 1), CPU, 1, n4, NULL, true, NULL, NULL, &t));
  CHECK_I64(dlv_tensor_nbytes(t), 2);
  CHECK_FLAGS(t, W | C | F | DLV_FLAG_OWNDATA | A);
  CHECK_ERR_NO_OUT(dlv_tensor_slice(t, 0, 0, 2, 1, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                   "taking a view is not supported for the packed sub-byte dtype float4_e2m1fn");
  CHECK_ERR_NO_OUT(dlv_tensor_transpose(t, &bad), DLV_ERR_UNSUPPORTED_DTYPE,
                   "taking a view is not supported for the packed sub-byte dtype float4_e2m1fn");
  CHECK_ERR(dlv_tensor_get_f64(t, idx, &got), DLV_ERR_UNSUPPORTED_DTYPE,
            "reading an element is not supported for the packed sub-byte dtype float4_e2m1fn");
  CHECK_ERR(dlv_tensor_set_f64(t, idx, 1.0), DLV_ERR_UNSUPPORTED_DTYPE,
            "writing an element is not supported for the packed sub-byte dtype float4_e2m1fn");
  CHECK(packed[0] == 0x21 && packed[1] == 0x43);
  dlv_tensor_free(t);
}

/* Views of memory on a device are computed without touching it. */
static void test_device_views(void) {
  void *fake = (void *)(uintptr_t)0x7f0000001000u; /* never dereferenced */
  const int64_t shape[2] = {3, 4}, idx[2] = {0, 0};
  dlv_tensor *t = NULL, *v = NULL, *host = NULL;
  DLDevice dev;
  double got = -1.0;
  REQUIRE_OK(dlv_tensor_from_buffer(fake, F32, device_of(kDLCUDA, 1), 2, shape, NULL, true, NULL, NULL, &t));
  dev = dlv_tensor_device(t);
  CHECK(dev.device_type == kDLCUDA && dev.device_id == 1);
  CHECK(dlv_tensor_data(t) == fake);
  REQUIRE_OK(dlv_tensor_slice(t, 1, DLV_NONE, DLV_NONE, -1, &v));
  CHECK(dlv_tensor_data(v) == elem_addr(fake, 3, 4));
  dev = dlv_tensor_device(v);
  CHECK(dev.device_type == kDLCUDA && dev.device_id == 1);
  CHECK_ERR(dlv_tensor_get_f64(v, idx, &got), DLV_ERR_UNSUPPORTED_DEVICE,
            "reading an element needs host-accessible memory, but the tensor is on cuda:1");
  CHECK_ERR(dlv_tensor_set_f64(v, idx, 1.0), DLV_ERR_UNSUPPORTED_DEVICE,
            "writing an element needs host-accessible memory, but the tensor is on cuda:1");
  CHECK_F64(got, -1.0);
  {
    char text[1024];
    dlv_tensor_describe(t, text, sizeof text);
    CHECK(strstr(text, "device:   cuda:1\n") != NULL);
  }
  /* Same addresses on another device are other memory. */
  REQUIRE_OK(dlv_tensor_from_buffer(fake, F32, CPU, 2, shape, NULL, false, NULL, NULL, &host));
  CHECK(dlv_may_share_memory(t, v) && dlv_shares_memory(t, v));
  CHECK(!dlv_may_share_memory(t, host) && !dlv_shares_memory(host, t));
  dlv_tensor_free(host);
  dlv_tensor_free(v);
  dlv_tensor_free(t);
  /* Pinned host memory is host-accessible. */
  {
    float buf[2] = {1.5f, 2.5f};
    const int64_t n2[1] = {2}, i1[1] = {1};
    REQUIRE_OK(dlv_tensor_from_buffer(buf, F32, device_of(kDLCUDAHost, 0), 1, n2, NULL, true, NULL, NULL, &t));
    CHECK_AT(t, i1, 2.5);
    dlv_tensor_free(t);
  }
}

int main(int argc, char **argv) {
  (void)argc;
  RUN(test_slice);
  RUN(test_select);
  RUN(test_permute_and_transpose);
  RUN(test_flip);
  RUN(test_squeeze_and_expand_dims);
  RUN(test_broadcast_to);
  RUN(test_as_strided_owned);
  RUN(test_as_strided_foreign);
  RUN(test_sliding_window);
  RUN(test_writes_are_shared);
  RUN(test_shares_memory);
  RUN(test_aligned_flag);
  RUN(test_sub_byte_views);
  RUN(test_device_views);
  return check_summary(argv[0]);
}
