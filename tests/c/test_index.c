/*
 * NumPy indexing through the C ABI: dlv_tensor_index and
 * dlv_tensor_index_put. Basic keys give views; index tensors give copies,
 * with NumPy's broadcasting and placement of the advanced axes. Expected
 * values are computed by hand from arange tensors (element k holds k), and
 * every status of both calls is checked with its exact message.
 */
#include <math.h>

#include "check.h"

#define I64 dtype_of(kDLInt, 64, 1)
#define BOOL dtype_of(kDLBool, 8, 1)

static dlv_index idx_int(int64_t i) {
  dlv_index k;
  memset(&k, 0, sizeof k);
  k.kind = DLV_INDEX_INT;
  k.i = i;
  return k;
}

static dlv_index idx_slice(int64_t start, int64_t stop, int64_t step) {
  dlv_index k;
  memset(&k, 0, sizeof k);
  k.kind = DLV_INDEX_SLICE;
  k.start = start;
  k.stop = stop;
  k.step = step;
  return k;
}

static dlv_index idx_all(void) { return idx_slice(DLV_NONE, DLV_NONE, DLV_NONE); }

static dlv_index idx_kind(uint32_t kind) {
  dlv_index k;
  memset(&k, 0, sizeof k);
  k.kind = kind;
  return k;
}

static dlv_index idx_tensor(const dlv_tensor *t) {
  dlv_index k = idx_kind(DLV_INDEX_TENSOR);
  k.tensor = t;
  return k;
}

/* A new C-order tensor of `dtype` holding `values` (cast from double). */
static dlv_tensor *filled(DLDataType dtype, int32_t ndim, const int64_t *shape, const double *values) {
  dlv_tensor *t = NULL, *flat = NULL;
  int64_t n, i;
  if (dlv_tensor_zeros(dtype, ndim, shape, DLV_ORDER_C, &t) != DLV_OK) return NULL;
  n = dlv_tensor_size(t);
  if (dlv_tensor_reshape(t, 1, &n, DLV_COPY_NEVER, &flat) != DLV_OK) {
    dlv_tensor_free(t);
    return NULL;
  }
  for (i = 0; i < n; i++) dlv_tensor_set_f64(flat, &i, values[i]);
  dlv_tensor_free(flat);
  return t;
}

static void test_basic_keys_are_views(void) {
  const int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL, *v = NULL;
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    /* t[1, ::-2] = [7, 5], a writeable view with a negative stride. */
    const dlv_index key[2] = {idx_int(1), idx_slice(DLV_NONE, DLV_NONE, -2)};
    const int64_t want_shape[1] = {2}, want_strides[1] = {-2};
    const double want[2] = {7, 5};
    REQUIRE_OK(dlv_tensor_index(t, key, 2, &v));
    CHECK_LAYOUT(v, 1, want_shape, want_strides);
    CHECK_VALUES(v, 2, want);
    CHECK(dlv_shares_memory(v, t));
    CHECK_FLAGS(v, DLV_FLAG_WRITEABLE | DLV_FLAG_ALIGNED);
    dlv_tensor_free(v);
  }
  {
    /* An empty key (NULL, 0) is a new view of all of t. */
    const int64_t want_strides[2] = {4, 1};
    REQUIRE_OK(dlv_tensor_index(t, NULL, 0, &v));
    CHECK_LAYOUT(v, 2, shape, want_strides);
    CHECK(dlv_tensor_data(v) == dlv_tensor_data(t));
    CHECK(!(dlv_tensor_flags(v) & DLV_FLAG_OWNDATA));
    dlv_tensor_free(v);
  }
  {
    /* t[None, ..., -1] has shape (1, 3) and reads column 3. */
    const dlv_index key[3] = {idx_kind(DLV_INDEX_NEW_AXIS), idx_kind(DLV_INDEX_ELLIPSIS), idx_int(-1)};
    const int64_t want_shape[2] = {1, 3};
    const double want[3] = {3, 7, 11};
    REQUIRE_OK(dlv_tensor_index(t, key, 3, &v));
    CHECK_LAYOUT(v, 2, want_shape, NULL);
    CHECK_I64(dlv_tensor_strides(v)[1], 4);
    CHECK_VALUES(v, 3, want);
    dlv_tensor_free(v);
  }
  {
    /* A 0-d integer tensor places like an integer, but (as in NumPy) the
       result is a copy: t[(int64)2] is row 2. */
    const int64_t none[1] = {0};
    const double two[1] = {2};
    dlv_tensor *i = filled(I64, 0, none, two);
    const dlv_index key[1] = {idx_tensor(i)};
    const double want[4] = {8, 9, 10, 11};
    REQUIRE_OK(dlv_tensor_index(t, key, 1, &v));
    CHECK_LAYOUT(v, 1, shape + 1, NULL);
    CHECK_VALUES(v, 4, want);
    CHECK(!dlv_may_share_memory(v, t));
    dlv_tensor_free(v);
    dlv_tensor_free(i);
  }
  dlv_tensor_free(t);
}

static void test_placement_of_advanced_axes(void) {
  const int64_t shape[4] = {2, 3, 4, 5};
  const int64_t ishape[1] = {2};
  const double ivals[2] = {0, 1};
  dlv_tensor *t = NULL, *i = filled(I64, 1, ishape, ivals), *v = NULL;
  REQUIRE_OK(arange_f32(4, shape, &t));
  {
    /* Adjacent: t[:, i, i] has shape (2, 2, 5); [a, b, c] = t[a, i[b], i[b], c]. */
    const dlv_index key[3] = {idx_all(), idx_tensor(i), idx_tensor(i)};
    const int64_t want_shape[3] = {2, 2, 5};
    const int64_t at[3] = {1, 1, 4};
    REQUIRE_OK(dlv_tensor_index(t, key, 3, &v));
    CHECK_LAYOUT(v, 3, want_shape, NULL);
    CHECK_AT(v, at, 60 + 20 + 5 + 4);
    CHECK(!dlv_may_share_memory(v, t));
    CHECK_FLAGS(v, DLV_FLAG_WRITEABLE | DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_OWNDATA | DLV_FLAG_ALIGNED);
    dlv_tensor_free(v);
  }
  {
    /* Separated by a slice: t[:, i, :, i] has shape (2, 2, 4): B first. */
    const dlv_index key[4] = {idx_all(), idx_tensor(i), idx_all(), idx_tensor(i)};
    const int64_t want_shape[3] = {2, 2, 4};
    const int64_t at[3] = {1, 0, 3}; /* t[0, 1, 3, 1] */
    REQUIRE_OK(dlv_tensor_index(t, key, 4, &v));
    CHECK_LAYOUT(v, 3, want_shape, NULL);
    CHECK_AT(v, at, 20 + 15 + 1);
    dlv_tensor_free(v);
  }
  {
    /* An integer counts as advanced: t[1, :, i] is separated, shape (2, 3, 5). */
    const dlv_index key[3] = {idx_int(1), idx_all(), idx_tensor(i)};
    const int64_t want_shape[3] = {2, 3, 5};
    const int64_t at[3] = {1, 2, 3}; /* t[1, 2, 1, 3] */
    REQUIRE_OK(dlv_tensor_index(t, key, 3, &v));
    CHECK_LAYOUT(v, 3, want_shape, NULL);
    CHECK_AT(v, at, 60 + 40 + 5 + 3);
    dlv_tensor_free(v);
  }
  {
    /* ... and adjacent in t[:, 1, i]: shape (2, 2, 5). */
    const dlv_index key[3] = {idx_all(), idx_int(1), idx_tensor(i)};
    const int64_t want_shape[3] = {2, 2, 5};
    REQUIRE_OK(dlv_tensor_index(t, key, 3, &v));
    CHECK_LAYOUT(v, 3, want_shape, NULL);
    dlv_tensor_free(v);
  }
  dlv_tensor_free(i);
  dlv_tensor_free(t);
}

static void test_index_tensors_broadcast(void) {
  const int64_t shape[2] = {3, 4};
  const int64_t rshape[2] = {2, 1}, cshape[1] = {2};
  const double rvals[2] = {0, 2}, cvals[2] = {1, -1};
  dlv_tensor *t = NULL, *v = NULL;
  /* Any integer dtype: rows int32, columns uint8 (-1 cannot be uint8: int8). */
  dlv_tensor *rows = filled(I32, 2, rshape, rvals);
  dlv_tensor *cols = filled(dtype_of(kDLInt, 8, 1), 1, cshape, cvals);
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    /* t[[[0], [2]], [1, -1]] = [[1, 3], [9, 11]] */
    const dlv_index key[2] = {idx_tensor(rows), idx_tensor(cols)};
    const int64_t want_shape[2] = {2, 2};
    const double want[4] = {1, 3, 9, 11};
    REQUIRE_OK(dlv_tensor_index(t, key, 2, &v));
    CHECK_LAYOUT(v, 2, want_shape, NULL);
    CHECK_VALUES(v, 4, want);
    dlv_tensor_free(v);
  }
  {
    /* Repeated indices read repeatedly: t[[2, 2, 0], ::3] */
    const int64_t s[1] = {3};
    const double vals[3] = {2, 2, 0};
    dlv_tensor *r = filled(dtype_of(kDLUInt, 16, 1), 1, s, vals);
    const dlv_index key[2] = {idx_tensor(r), idx_slice(DLV_NONE, DLV_NONE, 3)};
    const double want[6] = {8, 11, 8, 11, 0, 3};
    REQUIRE_OK(dlv_tensor_index(t, key, 2, &v));
    CHECK_VALUES(v, 6, want);
    dlv_tensor_free(v);
    dlv_tensor_free(r);
  }
  dlv_tensor_free(rows);
  dlv_tensor_free(cols);
  dlv_tensor_free(t);
}

static void test_masks_and_boolean_scalars(void) {
  const int64_t shape[2] = {2, 3};
  const double mvals[6] = {1, 0, 1, 0, 0, 1};
  const int64_t rshape[1] = {2};
  const double rvals[2] = {0, 1};
  const int64_t none[1] = {0};
  const double yes[1] = {1}, no[1] = {0};
  dlv_tensor *t = NULL, *v = NULL;
  dlv_tensor *mask = filled(BOOL, 2, shape, mvals);
  dlv_tensor *rows = filled(BOOL, 1, rshape, rvals);
  dlv_tensor *t_true = filled(BOOL, 0, none, yes), *t_false = filled(BOOL, 0, none, no);
  REQUIRE_OK(arange_f32(2, shape, &t));
  {
    const dlv_index key[1] = {idx_tensor(mask)};
    const double want[3] = {0, 2, 5};
    REQUIRE_OK(dlv_tensor_index(t, key, 1, &v));
    CHECK_VALUES(v, 3, want);
    dlv_tensor_free(v);
  }
  {
    /* A 1-D mask over the rows keeps the other axis: t[[False, True]] has shape (1, 3). */
    const dlv_index key[1] = {idx_tensor(rows)};
    const int64_t want_shape[2] = {1, 3};
    const double want[3] = {3, 4, 5};
    REQUIRE_OK(dlv_tensor_index(t, key, 1, &v));
    CHECK_LAYOUT(v, 2, want_shape, NULL);
    CHECK_VALUES(v, 3, want);
    dlv_tensor_free(v);
  }
  {
    /* t[True] has shape (1, 2, 3); t[False] (0, 2, 3). */
    const dlv_index key_t[1] = {idx_tensor(t_true)}, key_f[1] = {idx_tensor(t_false)};
    const int64_t want_t[3] = {1, 2, 3}, want_f[3] = {0, 2, 3};
    REQUIRE_OK(dlv_tensor_index(t, key_t, 1, &v));
    CHECK_LAYOUT(v, 3, want_t, NULL);
    dlv_tensor_free(v);
    REQUIRE_OK(dlv_tensor_index(t, key_f, 1, &v));
    CHECK_LAYOUT(v, 3, want_f, NULL);
    dlv_tensor_free(v);
  }
  {
    /* A mask of the wrong shape. */
    const dlv_index key[2] = {idx_all(), idx_tensor(rows)};
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, key, 2, &bad), DLV_ERR_INDEX,
                     "boolean index did not match indexed tensor along axis 1; size of axis is 3 but size of "
                     "corresponding boolean axis is 2");
  }
  dlv_tensor_free(mask);
  dlv_tensor_free(rows);
  dlv_tensor_free(t_true);
  dlv_tensor_free(t_false);
  dlv_tensor_free(t);
}

static void test_index_put(void) {
  const int64_t three[1] = {3};
  const double ivals[3] = {0, 2, 0}, vals[3] = {7, 8, 9};
  dlv_tensor *t = NULL, *i = filled(I64, 1, three, ivals), *value = filled(I32, 1, three, vals);
  REQUIRE_OK(dlv_tensor_zeros(F32, 1, three, DLV_ORDER_C, &t));
  {
    /* Repeated indices: the last write wins; int32 values cast to float32. */
    const dlv_index key[1] = {idx_tensor(i)};
    const double want[3] = {9, 0, 8};
    CHECK_OK(dlv_tensor_index_put(t, key, 1, value));
    CHECK_VALUES(t, 3, want);
  }
  {
    /* The value may be t itself: t[[2, 0, 0]] = t reads before writing. */
    const double rvals[3] = {2, 0, 0};
    dlv_tensor *r = filled(I64, 1, three, rvals);
    const dlv_index key[1] = {idx_tensor(r)};
    const double want[3] = {8, 0, 9};
    CHECK_OK(dlv_tensor_index_put(t, key, 1, t));
    CHECK_VALUES(t, 3, want);
    dlv_tensor_free(r);
  }
  dlv_tensor_free(t);
  {
    /* Broadcast: t[:, [1, 3]] = 2.5 on a 3x4 tensor; t[mask] = -1; t[1] = [..]. */
    const int64_t shape[2] = {3, 4}, two[1] = {2}, none[1] = {0}, four[1] = {4};
    const double cvals[2] = {1, 3}, s[1] = {2.5}, m1[1] = {-1}, row[4] = {10, 11, 12, 13};
    const double mvals[12] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    dlv_tensor *cols = filled(I64, 1, two, cvals), *scalar = filled(F64, 0, none, s);
    dlv_tensor *mask = filled(BOOL, 2, shape, mvals), *minus = filled(F64, 0, none, m1);
    dlv_tensor *rowv = filled(F64, 1, four, row);
    const dlv_index key[2] = {idx_all(), idx_tensor(cols)};
    const dlv_index mkey[1] = {idx_tensor(mask)};
    const dlv_index rkey[1] = {idx_int(1)};
    const double want[12] = {-1, 2.5, 0, 2.5, 10, 11, 12, 13, 0, 2.5, 0, -1};
    REQUIRE_OK(dlv_tensor_zeros(F64, 2, shape, DLV_ORDER_C, &t));
    CHECK_OK(dlv_tensor_index_put(t, key, 2, scalar));
    CHECK_OK(dlv_tensor_index_put(t, mkey, 1, minus));
    CHECK_OK(dlv_tensor_index_put(t, rkey, 1, rowv));
    CHECK_VALUES(t, 12, want);
    /* A value that does not broadcast; nothing is written. */
    CHECK_ERR(dlv_tensor_index_put(t, key, 2, rowv), DLV_ERR_INVALID_ARGUMENT,
              "shape mismatch: value array of shape (4,) could not be broadcast to indexing result of shape (3, 2)");
    CHECK_VALUES(t, 12, want);
    dlv_tensor_free(cols);
    dlv_tensor_free(scalar);
    dlv_tensor_free(mask);
    dlv_tensor_free(minus);
    dlv_tensor_free(rowv);
    dlv_tensor_free(t);
  }
  dlv_tensor_free(i);
  dlv_tensor_free(value);
}

static void test_read_only(void) {
  const int64_t shape[1] = {4}, none[1] = {0}, two[1] = {2};
  const double one[1] = {1}, ivals[2] = {0, 1};
  dlv_tensor *t = NULL, *v = NULL, *x = filled(F64, 0, none, one), *i = filled(I64, 1, two, ivals);
  const dlv_index key[1] = {idx_int(0)};
  const dlv_index akey[1] = {idx_tensor(i)};
  REQUIRE_OK(arange_f32(1, shape, &t));
  CHECK_OK(dlv_tensor_set_writeable(t, false));
  CHECK_ERR(dlv_tensor_index_put(t, key, 1, x), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  CHECK_ERR(dlv_tensor_index_put(t, akey, 1, x), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  /* A view of a read-only tensor is read-only; a gathered copy is writeable. */
  REQUIRE_OK(dlv_tensor_index(t, NULL, 0, &v));
  CHECK(!(dlv_tensor_flags(v) & DLV_FLAG_WRITEABLE));
  dlv_tensor_free(v);
  REQUIRE_OK(dlv_tensor_index(t, akey, 1, &v));
  CHECK(dlv_tensor_flags(v) & DLV_FLAG_WRITEABLE);
  dlv_tensor_free(v);
  dlv_tensor_free(x);
  dlv_tensor_free(i);
  dlv_tensor_free(t);
}

static void test_nan_into_integers(void) {
  const int64_t shape[1] = {2}, none[1] = {0};
  const double nan_v[1] = {NAN}, inf_v[1] = {-INFINITY};
  const int64_t at[1] = {0};
  dlv_tensor *t = NULL, *nan = filled(F64, 0, none, nan_v), *inf = filled(F32, 0, none, inf_v);
  const dlv_index key[1] = {idx_int(0)};
  REQUIRE_OK(dlv_tensor_zeros(I32, 1, shape, DLV_ORDER_C, &t));
  CHECK_ERR(dlv_tensor_index_put(t, key, 1, nan), DLV_ERR_INVALID_ARGUMENT, "cannot convert float NaN to integer");
  CHECK_ERR(dlv_tensor_index_put(t, NULL, 0, inf), DLV_ERR_INVALID_ARGUMENT,
            "cannot convert float infinity to integer");
  CHECK_ERR(dlv_tensor_set_f64(t, at, nan_v[0]), DLV_ERR_INVALID_ARGUMENT, "cannot convert float NaN to integer");
  CHECK_AT(t, at, 0);
  dlv_tensor_free(nan);
  dlv_tensor_free(inf);
  dlv_tensor_free(t);
}

static void test_statuses(void) {
  const int64_t shape[2] = {2, 3}, two[1] = {2}, three[1] = {3};
  const double ivals[3] = {0, 7, 1};
  dlv_tensor *t = NULL, *f = NULL;
  dlv_tensor *i2 = filled(I64, 1, two, ivals), *i3 = filled(I64, 1, three, ivals);
  REQUIRE_OK(arange_f32(2, shape, &t));
  REQUIRE_OK(dlv_tensor_zeros(F32, 1, two, DLV_ORDER_C, &f));
  {
    const dlv_index key[1] = {idx_int(0)};
    CHECK_ERR_NO_OUT(dlv_tensor_index(NULL, key, 1, &bad), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_index(t, key, 1, NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, NULL, 1, &bad), DLV_ERR_NULL_ARGUMENT, "argument `key` must not be NULL");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, key, -1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "the number of key items must be >= 0, not -1");
    CHECK_ERR(dlv_tensor_index_put(NULL, key, 1, f), DLV_ERR_NULL_ARGUMENT, "argument `t` must not be NULL");
    CHECK_ERR(dlv_tensor_index_put(t, key, 1, NULL), DLV_ERR_NULL_ARGUMENT, "argument `value` must not be NULL");
    CHECK_ERR(dlv_tensor_index_put(t, NULL, 2, f), DLV_ERR_NULL_ARGUMENT, "argument `key` must not be NULL");
  }
  {
    const dlv_index key[1] = {idx_kind(9)};
    const dlv_index null_tensor[1] = {idx_tensor(NULL)};
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, key, 1, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "key item 0 has kind 9, which is not DLV_INDEX_INT (0), DLV_INDEX_SLICE (1), "
                     "DLV_INDEX_NEW_AXIS (2), DLV_INDEX_ELLIPSIS (3) or DLV_INDEX_TENSOR (4)");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, null_tensor, 1, &bad), DLV_ERR_NULL_ARGUMENT,
                     "argument `key[].tensor` must not be NULL");
  }
  {
    const dlv_index key[1] = {idx_tensor(f)};
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, key, 1, &bad), DLV_ERR_INDEX,
                     "arrays used as indices must be of integer (or boolean) type, not float32");
  }
  {
    const dlv_index ints[2] = {idx_int(0), idx_int(5)};
    const dlv_index neg[2] = {idx_int(-3), idx_int(0)};
    const dlv_index arr[1] = {idx_tensor(i2)};
    const dlv_index three_ints[3] = {idx_int(0), idx_int(0), idx_int(0)};
    const dlv_index ellipses[2] = {idx_kind(DLV_INDEX_ELLIPSIS), idx_kind(DLV_INDEX_ELLIPSIS)};
    const dlv_index step0[1] = {idx_slice(0, 2, 0)};
    const dlv_index mismatch[2] = {idx_tensor(i2), idx_tensor(i3)};
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, ints, 2, &bad), DLV_ERR_INDEX,
                     "index 5 is out of bounds for axis 1 with size 3");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, neg, 2, &bad), DLV_ERR_INDEX,
                     "index -3 is out of bounds for axis 0 with size 2");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, arr, 1, &bad), DLV_ERR_INDEX,
                     "index 7 is out of bounds for axis 0 with size 2");
    CHECK_ERR(dlv_tensor_index_put(t, arr, 1, f), DLV_ERR_INDEX, "index 7 is out of bounds for axis 0 with size 2");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, three_ints, 3, &bad), DLV_ERR_INDEX,
                     "too many indices for tensor: tensor is 2-dimensional, but 3 were indexed");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, ellipses, 2, &bad), DLV_ERR_INDEX,
                     "an index can only have a single ellipsis ('...')");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, step0, 1, &bad), DLV_ERR_INVALID_ARGUMENT, "slice step cannot be zero");
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, mismatch, 2, &bad), DLV_ERR_INDEX,
                     "shape mismatch: indexing arrays could not be broadcast together with shapes (2,) (3,)");
  }
  {
    /* 63 new axes on a 2-d tensor exceed the 64 dimensions of a view. */
    dlv_index many[63];
    int k;
    for (k = 0; k < 63; k++) many[k] = idx_kind(DLV_INDEX_NEW_AXIS);
    CHECK_ERR_NO_OUT(dlv_tensor_index(t, many, 63, &bad), DLV_ERR_INVALID_ARGUMENT,
                     "ndim 65 exceeds the maximum of 64");
    CHECK_ERR(dlv_tensor_index_put(t, many, 63, f), DLV_ERR_INVALID_ARGUMENT, "ndim 65 exceeds the maximum of 64");
  }
  {
    /* The tensor was never written by the failed calls. */
    const double want[6] = {0, 1, 2, 3, 4, 5};
    CHECK_VALUES(t, 6, want);
  }
  dlv_tensor_free(i2);
  dlv_tensor_free(i3);
  dlv_tensor_free(f);
  dlv_tensor_free(t);
}

int main(int argc, char **argv) {
  (void)argc;
  RUN(test_basic_keys_are_views);
  RUN(test_placement_of_advanced_axes);
  RUN(test_index_tensors_broadcast);
  RUN(test_masks_and_boolean_scalars);
  RUN(test_index_put);
  RUN(test_read_only);
  RUN(test_nan_into_integers);
  RUN(test_statuses);
  return check_summary(argv[0]);
}
