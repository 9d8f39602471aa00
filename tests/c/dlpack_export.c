/* DLPack export (RULES.md §4, GitHub issue #3): what a view looks like once
 * exported (versioned and legacy), the round trip back through import, and
 * the export copy policy (negative strides, read-only views through the
 * legacy ABI, copy = NEVER / IF_NEEDED / ALWAYS).
 *
 * Self-contained: builds as C11 and as C++17 (no compound literals, no
 * designated initializers, void* results cast). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "dlview.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tiny check macros ------------------------------------------------ */

static int g_failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      g_failures++;                                                            \
    }                                                                          \
  } while (0)

#define CHECK_EQ(a, b)                                                        \
  do {                                                                        \
    long long a_ = (long long)(a), b_ = (long long)(b);                       \
    if (a_ != b_) {                                                           \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n",     \
              __FILE__, __LINE__, #a, a_, #b, b_);                            \
      g_failures++;                                                           \
    }                                                                         \
  } while (0)

/* A call must return `expected`; on a mismatch print both and the message. */
#define CHECK_STATUS(call, expected)                                           \
  do {                                                                         \
    dlv_status s_ = (call);                                                    \
    if (s_ != (expected)) {                                                    \
      fprintf(stderr, "%s:%d: %s returned %s (\"%s\"), expected %s\n",         \
              __FILE__, __LINE__, #call, dlv_status_name(s_), dlv_last_error(), \
              dlv_status_name(expected));                                      \
      g_failures++;                                                            \
    }                                                                          \
  } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, DLV_OK)

/* The last error message must contain `needle`. */
#define CHECK_MSG(needle)                                                      \
  do {                                                                         \
    if (!strstr(dlv_last_error(), (needle))) {                                 \
      fprintf(stderr, "%s:%d: message \"%s\" does not contain \"%s\"\n",       \
              __FILE__, __LINE__, dlv_last_error(), (needle));                 \
      g_failures++;                                                            \
    }                                                                          \
  } while (0)

/* Stops the program: later checks would dereference what is missing. */
#define REQUIRE(cond)                                                          \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

/* ---- a counting buffer owner ------------------------------------------- */

static int g_released = 0;

/* The from_buffer release callback: frees the buffer, counts the call. */
static void release_buffer(void *ctx) {
  __atomic_fetch_add(&g_released, 1, __ATOMIC_SEQ_CST);
  free(ctx);
}

static DLDataType f64_dtype(void) {
  DLDataType dt;
  dt.code = (uint8_t)kDLFloat;
  dt.bits = 64;
  dt.lanes = 1;
  return dt;
}

static DLDevice cpu_device(void) {
  DLDevice d;
  d.device_type = kDLCPU;
  d.device_id = 0;
  return d;
}

/* A writeable 4x6 float64 tensor over malloc'd memory holding 0..23,
 * released (and counted) when the last view or export is gone. */
static dlv_tensor *new_base(double **data_out) {
  int64_t shape[2] = {4, 6};
  double *data = (double *)malloc(sizeof(double) * 24);
  dlv_tensor *t = NULL;
  int i;
  REQUIRE(data != NULL);
  for (i = 0; i < 24; i++) data[i] = (double)i;
  CHECK_OK(dlv_tensor_from_buffer(data, f64_dtype(), cpu_device(), 2, shape, NULL, true,
                                  release_buffer, data, &t));
  REQUIRE(t != NULL);
  if (data_out) *data_out = data;
  return t;
}

static double get_at(const dlv_tensor *t, const int64_t *idx) {
  double v = -1.0;
  CHECK_OK(dlv_tensor_get_f64(t, idx, &v));
  return v;
}

/* Element `idx` of a CPU DLTensor, read straight from its memory. */
static double dl_get(const DLTensor *dl, const int64_t *idx) {
  int64_t off = 0;
  int32_t k;
  for (k = 0; k < dl->ndim; k++) off += idx[k] * dl->strides[k];
  return ((const double *)((const char *)dl->data + dl->byte_offset))[off];
}

/* Every element of `dl` equals the same element of `t`. */
static void check_same_values(const DLTensor *dl, const dlv_tensor *t, int line) {
  int64_t idx[64];
  int32_t k;
  REQUIRE(dl->ndim >= 0 && dl->ndim <= 64);
  for (k = 0; k < dl->ndim; k++) {
    if (dl->shape[k] == 0) return;
    idx[k] = 0;
  }
  for (;;) {
    if (dl_get(dl, idx) != get_at(t, idx)) {
      fprintf(stderr, "line %d: element at flat position differs: %g vs %g\n", line,
              dl_get(dl, idx), get_at(t, idx));
      g_failures++;
      return;
    }
    /* Next index, last axis fastest. */
    for (k = dl->ndim - 1; k >= 0; k--) {
      if (++idx[k] < dl->shape[k]) break;
      idx[k] = 0;
    }
    if (k < 0) return;
  }
}

#define LAYOUT_FLAGS (DLV_FLAG_WRITEABLE | DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_F_CONTIGUOUS)

/* The DLPack 1.x export rules (RULES.md §4) for a sharing export of `v`. */
static void check_shared_export(const DLTensor *dl, const dlv_tensor *v, int line) {
  int32_t k, ndim = dlv_tensor_ndim(v);
  int bad = 0;
  bad |= dl->ndim != ndim;
  bad |= dl->byte_offset != 0;
  bad |= dl->device.device_type != dlv_tensor_device(v).device_type;
  bad |= dl->device.device_id != dlv_tensor_device(v).device_id;
  bad |= dl->dtype.code != dlv_tensor_dtype(v).code || dl->dtype.bits != dlv_tensor_dtype(v).bits;
  bad |= dl->dtype.lanes != 1;
  bad |= dl->data != dlv_tensor_data(v);
  bad |= ndim > 0 && (dl->shape == NULL || dl->strides == NULL);
  if (!bad)
    for (k = 0; k < ndim; k++) {
      bad |= dl->shape[k] != dlv_tensor_shape(v)[k];
      bad |= dl->strides[k] != dlv_tensor_strides(v)[k];
    }
  if (bad) {
    fprintf(stderr, "line %d: export does not describe the view as it is\n", line);
    g_failures++;
  }
}

/* `t` is a view of the same memory as `v`, with the same layout and flags. */
static void check_same_view(const dlv_tensor *t, const dlv_tensor *v, uint32_t flag_mask, int line) {
  int32_t k, ndim = dlv_tensor_ndim(v);
  int bad = dlv_tensor_ndim(t) != ndim || dlv_tensor_data(t) != dlv_tensor_data(v);
  bad |= (dlv_tensor_flags(t) & flag_mask) != (dlv_tensor_flags(v) & flag_mask);
  bad |= dlv_tensor_dtype(t).code != dlv_tensor_dtype(v).code;
  bad |= dlv_tensor_device(t).device_type != dlv_tensor_device(v).device_type;
  if (!bad)
    for (k = 0; k < ndim; k++) {
      bad |= dlv_tensor_shape(t)[k] != dlv_tensor_shape(v)[k];
      bad |= dlv_tensor_strides(t)[k] != dlv_tensor_strides(v)[k];
    }
  if (bad) {
    fprintf(stderr, "line %d: import differs from the exported view (flags %u vs %u)\n", line,
            dlv_tensor_flags(t), dlv_tensor_flags(v));
    g_failures++;
  }
}

/* Export `v` (versioned and legacy), check the export, import it back and
 * check the import is the same view; everything is freed again. */
static void round_trip(const dlv_tensor *v, int line) {
  DLManagedTensorVersioned *mt = NULL;
  DLManagedTensor *lmt = NULL;
  dlv_tensor *back = NULL;
  int writeable = (dlv_tensor_flags(v) & DLV_FLAG_WRITEABLE) != 0;

  CHECK_OK(dlv_tensor_to_dlpack(v, NULL, &mt));
  REQUIRE(mt != NULL);
  CHECK_EQ(mt->version.major, 1);
  CHECK_EQ(mt->version.minor, DLPACK_MINOR_VERSION);
  CHECK(mt->deleter != NULL);
  CHECK_EQ((mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY) != 0, !writeable);
  CHECK_EQ(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED, 0);
  check_shared_export(&mt->dl_tensor, v, line);
  if (dlv_tensor_dtype(v).code == kDLFloat && dlv_tensor_dtype(v).bits == 64)
    check_same_values(&mt->dl_tensor, v, line);
  CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
  REQUIRE(back != NULL);
  check_same_view(back, v, LAYOUT_FLAGS | DLV_FLAG_ALIGNED, line);
  dlv_tensor_free(back);

  if (!writeable) return; /* the legacy ABI cannot share a read-only view */
  CHECK_OK(dlv_tensor_to_dlpack_legacy(v, NULL, &lmt));
  REQUIRE(lmt != NULL);
  check_shared_export(&lmt->dl_tensor, v, line);
  {
    dlv_import_options trust;
    memset(&trust, 0, sizeof(trust));
    trust.trust_legacy_writeable = true;
    back = NULL;
    CHECK_OK(dlv_tensor_from_dlpack_legacy(lmt, &trust, &back));
    check_same_view(back, v, LAYOUT_FLAGS, line);
    dlv_tensor_free(back);
  }
  lmt = NULL;
  CHECK_OK(dlv_tensor_to_dlpack_legacy(v, NULL, &lmt));
  back = NULL;
  CHECK_OK(dlv_tensor_from_dlpack_legacy(lmt, NULL, &back));
  check_same_view(back, v, DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_F_CONTIGUOUS, line);
  CHECK(!(dlv_tensor_flags(back) & DLV_FLAG_WRITEABLE));
  dlv_tensor_free(back);
}

#define ROUND_TRIP(v) round_trip(v, __LINE__)

/* ---- the tests ---------------------------------------------------------- */

static void test_round_trips(void) {
  uint64_t live = dlv_live_storage_count();
  int released = g_released;
  double *data = NULL;
  dlv_tensor *base = new_base(&data);
  dlv_tensor *v = NULL, *w = NULL;

  CHECK(dlv_tensor_data(base) == (const void *)data);
  ROUND_TRIP(base); /* C-contiguous, writeable */

  CHECK_OK(dlv_tensor_transpose(base, &v)); /* F-contiguous */
  CHECK(dlv_tensor_flags(v) & DLV_FLAG_F_CONTIGUOUS);
  CHECK(!(dlv_tensor_flags(v) & DLV_FLAG_C_CONTIGUOUS));
  ROUND_TRIP(v);
  dlv_tensor_free(v);

  /* Strided, offset: data folded in, byte_offset 0. */
  CHECK_OK(dlv_tensor_slice(base, 0, 1, 3, 1, &w));
  CHECK_OK(dlv_tensor_slice(w, 1, 1, 6, 2, &v));
  CHECK(dlv_tensor_data(v) == (const void *)(data + 7));
  CHECK(!(dlv_tensor_flags(v) & (DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_F_CONTIGUOUS)));
  ROUND_TRIP(v);
  dlv_tensor_free(v);
  dlv_tensor_free(w);

  /* Size-1 dimension: its stride is kept as it is. */
  CHECK_OK(dlv_tensor_slice(base, 0, 2, 3, 5, &v));
  CHECK_EQ(dlv_tensor_shape(v)[0], 1);
  {
    DLManagedTensorVersioned *mt = NULL;
    CHECK_OK(dlv_tensor_to_dlpack(v, NULL, &mt));
    REQUIRE(mt != NULL);
    CHECK_EQ(mt->dl_tensor.strides[0], dlv_tensor_strides(v)[0]);
    CHECK_EQ(mt->dl_tensor.strides[1], 1);
    CHECK(mt->dl_tensor.data == (void *)(data + 12));
    mt->deleter(mt);
  }
  ROUND_TRIP(v);
  dlv_tensor_free(v);

  /* A negative stride on a size-1 axis is no negative stride at all. */
  {
    DLManagedTensorVersioned *mt = NULL;
    dlv_export_options never;
    memset(&never, 0, sizeof(never));
    never.copy = DLV_COPY_NEVER;
    CHECK_OK(dlv_tensor_slice(base, 0, 2, 3, 1, &w));
    CHECK_OK(dlv_tensor_flip(w, 0, &v));
    CHECK_OK(dlv_tensor_to_dlpack(v, &never, &mt));
    REQUIRE(mt != NULL);
    CHECK_EQ(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED, 0);
    CHECK(mt->dl_tensor.data == (void *)(data + 12));
    mt->deleter(mt);
    dlv_tensor_free(v);
    dlv_tensor_free(w);
  }

  /* Read-only view of writeable memory: READ_ONLY, and the import's memory
   * is read-only (it cannot be made writeable again). */
  CHECK_OK(dlv_tensor_retain(base, &v));
  CHECK_OK(dlv_tensor_set_writeable(v, false));
  ROUND_TRIP(v);
  {
    DLManagedTensorVersioned *mt = NULL;
    dlv_tensor *back = NULL;
    CHECK_OK(dlv_tensor_to_dlpack(v, NULL, &mt));
    REQUIRE(mt != NULL);
    CHECK(mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY);
    CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
    CHECK_STATUS(dlv_tensor_set_writeable(back, true), DLV_ERR_READ_ONLY);
    dlv_tensor_free(back);
  }
  CHECK(dlv_tensor_flags(base) & DLV_FLAG_WRITEABLE); /* other handles keep theirs */
  dlv_tensor_free(v);

  /* Zero strides (broadcast): exported as they are, READ_ONLY. */
  {
    int64_t bshape[3] = {5, 4, 6};
    DLManagedTensorVersioned *mt = NULL;
    dlv_tensor *back = NULL;
    CHECK_OK(dlv_tensor_broadcast_to(base, 3, bshape, &v));
    CHECK_EQ(dlv_tensor_strides(v)[0], 0);
    CHECK(!(dlv_tensor_flags(v) & DLV_FLAG_WRITEABLE));
    CHECK_OK(dlv_tensor_to_dlpack(v, NULL, &mt));
    REQUIRE(mt != NULL);
    CHECK_EQ(mt->dl_tensor.strides[0], 0);
    CHECK_EQ(mt->dl_tensor.strides[1], 6);
    CHECK_EQ(mt->dl_tensor.strides[2], 1);
    CHECK(mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY);
    CHECK_EQ(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED, 0);
    CHECK(mt->dl_tensor.data == (void *)data);
    CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
    REQUIRE(back != NULL);
    CHECK_EQ(dlv_tensor_strides(back)[0], 0);
    CHECK_STATUS(dlv_tensor_set_writeable(back, true), DLV_ERR_READ_ONLY);
    dlv_tensor_free(back);
    ROUND_TRIP(v);
    dlv_tensor_free(v);
  }

  /* Size 0: data NULL, strides still there. */
  CHECK_OK(dlv_tensor_slice(base, 0, 3, 1, 1, &v));
  CHECK_EQ(dlv_tensor_size(v), 0);
  {
    DLManagedTensorVersioned *mt = NULL;
    DLManagedTensor *lmt = NULL;
    CHECK_OK(dlv_tensor_to_dlpack(v, NULL, &mt));
    REQUIRE(mt != NULL);
    CHECK(mt->dl_tensor.data == NULL);
    CHECK(mt->dl_tensor.strides != NULL);
    CHECK_EQ(mt->dl_tensor.shape[0], 0);
    CHECK_EQ(mt->dl_tensor.shape[1], 6);
    CHECK_EQ(mt->dl_tensor.byte_offset, 0);
    mt->deleter(mt);
    CHECK_OK(dlv_tensor_to_dlpack_legacy(v, NULL, &lmt));
    REQUIRE(lmt != NULL);
    CHECK(lmt->dl_tensor.data == NULL);
    lmt->deleter(lmt);
  }
  ROUND_TRIP(v);
  dlv_tensor_free(v);

  /* 0-d: ndim 0, data at the element. */
  CHECK_OK(dlv_tensor_select(base, 0, 2, &w));
  CHECK_OK(dlv_tensor_select(w, 0, 3, &v));
  CHECK_EQ(dlv_tensor_ndim(v), 0);
  {
    DLManagedTensorVersioned *mt = NULL;
    dlv_tensor *back = NULL;
    double x = 0.0;
    CHECK_OK(dlv_tensor_to_dlpack(v, NULL, &mt));
    REQUIRE(mt != NULL);
    CHECK_EQ(mt->dl_tensor.ndim, 0);
    CHECK(mt->dl_tensor.data == (void *)(data + 15));
    CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
    CHECK_OK(dlv_tensor_get_f64(back, NULL, &x));
    CHECK(x == 15.0);
    dlv_tensor_free(back);
  }
  ROUND_TRIP(v);
  dlv_tensor_free(v);
  dlv_tensor_free(w);

  /* Many dimensions: shape and strides no longer fit inline in the export. */
  {
    int k;
    dlv_tensor *cur = NULL;
    CHECK_OK(dlv_tensor_transpose(base, &cur));
    for (k = 2; k < 64; k++) {
      dlv_tensor *next = NULL;
      CHECK_OK(dlv_tensor_expand_dims(cur, k % 2 ? 0 : -1, &next));
      REQUIRE(next != NULL);
      dlv_tensor_free(cur);
      cur = next;
      if (k == 4 || k == 5 || k == 63) ROUND_TRIP(cur); /* ndim 5, 6, 64 */
    }
    CHECK_EQ(dlv_tensor_ndim(cur), 64);
    dlv_tensor_free(cur);
  }

  /* A fresh allocation (zeros) and other dtypes round-trip too. */
  {
    int64_t shape[3] = {2, 3, 4};
    DLDataType dt;
    dt.code = (uint8_t)kDLBfloat;
    dt.bits = 16;
    dt.lanes = 1;
    CHECK_OK(dlv_tensor_zeros(dt, 3, shape, DLV_ORDER_F, &v));
    ROUND_TRIP(v);
    dlv_tensor_free(v);
  }

  CHECK_EQ(g_released, released);
  dlv_tensor_free(base);
  CHECK_EQ(g_released, released + 1);
  CHECK_EQ(dlv_live_storage_count(), live);
}

/* The copy policy of the exporter on a negative-stride view. */
static void test_export_negative_strides(void) {
  uint64_t live = dlv_live_storage_count();
  double *data = NULL;
  dlv_tensor *base = new_base(&data);
  dlv_tensor *flip = NULL;
  dlv_export_options opts;
  DLManagedTensorVersioned *mt = NULL;
  DLManagedTensor *lmt = NULL;

  CHECK_OK(dlv_tensor_flip(base, 1, &flip));
  REQUIRE(flip != NULL);
  CHECK_EQ(dlv_tensor_strides(flip)[1], -1);
  memset(&opts, 0, sizeof(opts));

  /* IF_NEEDED (and NULL options): a compact copy, IS_COPIED. */
  opts.copy = DLV_COPY_IF_NEEDED;
  CHECK_OK(dlv_tensor_to_dlpack(flip, &opts, &mt));
  REQUIRE(mt != NULL);
  CHECK(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED);
  CHECK(!(mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY));
  CHECK(mt->dl_tensor.data != dlv_tensor_data(flip));
  CHECK(mt->dl_tensor.data != (void *)data);
  CHECK_EQ(mt->dl_tensor.strides[0], 6);
  CHECK_EQ(mt->dl_tensor.strides[1], 1);
  CHECK_EQ(mt->dl_tensor.byte_offset, 0);
  check_same_values(&mt->dl_tensor, flip, __LINE__);
  {
    /* The copy is the importer's own: writeable, and detached. */
    dlv_tensor *back = NULL;
    int64_t idx[2] = {0, 0};
    CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
    REQUIRE(back != NULL);
    CHECK(dlv_tensor_flags(back) & DLV_FLAG_WRITEABLE);
    CHECK(get_at(back, idx) == 5.0);
    CHECK_OK(dlv_tensor_set_f64(back, idx, -1.0));
    CHECK(data[5] == 5.0);
    CHECK(!dlv_may_share_memory(back, base));
    dlv_tensor_free(back);
  }
  mt = NULL;
  CHECK_OK(dlv_tensor_to_dlpack(flip, NULL, &mt));
  REQUIRE(mt != NULL);
  CHECK(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED);
  CHECK_EQ(mt->dl_tensor.strides[1], 1);
  mt->deleter(mt);
  CHECK_OK(dlv_tensor_to_dlpack_legacy(flip, NULL, &lmt));
  REQUIRE(lmt != NULL);
  CHECK_EQ(lmt->dl_tensor.strides[1], 1);
  check_same_values(&lmt->dl_tensor, flip, __LINE__);
  lmt->deleter(lmt);

  /* NEVER: refused, with the reason; out untouched. */
  opts.copy = DLV_COPY_NEVER;
  mt = NULL;
  CHECK_STATUS(dlv_tensor_to_dlpack(flip, &opts, &mt), DLV_ERR_COPY_REQUIRED);
  CHECK_MSG("negative strides");
  CHECK(mt == NULL);
  lmt = NULL;
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(flip, &opts, &lmt), DLV_ERR_COPY_REQUIRED);
  CHECK_MSG("negative strides");
  CHECK(lmt == NULL);

  /* allow_negative_strides: as it is, in every mode but ALWAYS. */
  opts.allow_negative_strides = true;
  CHECK_OK(dlv_tensor_to_dlpack(flip, &opts, &mt));
  REQUIRE(mt != NULL);
  CHECK_EQ(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED, 0);
  check_shared_export(&mt->dl_tensor, flip, __LINE__);
  CHECK_EQ(mt->dl_tensor.strides[1], -1);
  CHECK(mt->dl_tensor.data == (void *)(data + 5));
  check_same_values(&mt->dl_tensor, flip, __LINE__);
  {
    dlv_tensor *back = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
    REQUIRE(back != NULL);
    check_same_view(back, flip, LAYOUT_FLAGS, __LINE__);
    dlv_tensor_free(back);
  }
  opts.copy = DLV_COPY_IF_NEEDED;
  mt = NULL;
  CHECK_OK(dlv_tensor_to_dlpack(flip, &opts, &mt));
  REQUIRE(mt != NULL);
  CHECK_EQ(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED, 0);
  CHECK_EQ(mt->dl_tensor.strides[1], -1);
  mt->deleter(mt);
  CHECK_OK(dlv_tensor_to_dlpack_legacy(flip, &opts, &lmt));
  REQUIRE(lmt != NULL);
  CHECK_EQ(lmt->dl_tensor.strides[1], -1);
  CHECK(lmt->dl_tensor.data == (void *)(data + 5));
  lmt->deleter(lmt);

  /* ALWAYS: a copy even with allow_negative_strides. */
  opts.copy = DLV_COPY_ALWAYS;
  mt = NULL;
  CHECK_OK(dlv_tensor_to_dlpack(flip, &opts, &mt));
  REQUIRE(mt != NULL);
  CHECK(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED);
  CHECK(mt->dl_tensor.data != (void *)(data + 5));
  check_same_values(&mt->dl_tensor, flip, __LINE__);
  mt->deleter(mt);

  dlv_tensor_free(flip);
  dlv_tensor_free(base);
  CHECK_EQ(dlv_live_storage_count(), live);
}

static void test_export_copy_always_and_legacy_read_only(void) {
  uint64_t live = dlv_live_storage_count();
  double *data = NULL;
  dlv_tensor *base = new_base(&data);
  dlv_tensor *ro = NULL, *view = NULL;
  dlv_export_options opts;
  DLManagedTensorVersioned *mt = NULL;
  DLManagedTensor *lmt = NULL;

  memset(&opts, 0, sizeof(opts));

  /* ALWAYS on a compact view: IS_COPIED, another buffer, same values. */
  opts.copy = DLV_COPY_ALWAYS;
  CHECK_OK(dlv_tensor_transpose(base, &view));
  CHECK_OK(dlv_tensor_to_dlpack(view, &opts, &mt));
  REQUIRE(mt != NULL);
  CHECK(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED);
  CHECK(!(mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY));
  CHECK(mt->dl_tensor.data != (void *)data);
  CHECK_EQ(mt->dl_tensor.byte_offset, 0);
  CHECK(mt->dl_tensor.strides != NULL);
  check_same_values(&mt->dl_tensor, view, __LINE__);
  ((double *)mt->dl_tensor.data)[0] = 99.0; /* ours to write */
  CHECK(data[0] == 0.0);
  mt->deleter(mt);
  CHECK_OK(dlv_tensor_to_dlpack_legacy(view, &opts, &lmt));
  REQUIRE(lmt != NULL);
  CHECK(lmt->dl_tensor.data != (void *)data);
  check_same_values(&lmt->dl_tensor, view, __LINE__);
  lmt->deleter(lmt);
  dlv_tensor_free(view);

  /* ALWAYS on a read-only view: the copy is writeable. */
  CHECK_OK(dlv_tensor_retain(base, &ro));
  CHECK_OK(dlv_tensor_set_writeable(ro, false));
  mt = NULL;
  CHECK_OK(dlv_tensor_to_dlpack(ro, &opts, &mt));
  REQUIRE(mt != NULL);
  CHECK(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED);
  CHECK(!(mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY));
  mt->deleter(mt);

  /* Legacy export of a read-only view: NEVER refuses ... */
  opts.copy = DLV_COPY_NEVER;
  lmt = NULL;
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(ro, &opts, &lmt), DLV_ERR_COPY_REQUIRED);
  CHECK_MSG("read-only");
  CHECK(lmt == NULL);
  /* ... while the versioned ABI shares it, marked READ_ONLY. */
  mt = NULL;
  CHECK_OK(dlv_tensor_to_dlpack(ro, &opts, &mt));
  REQUIRE(mt != NULL);
  CHECK(mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY);
  CHECK(mt->dl_tensor.data == (void *)data);
  mt->deleter(mt);

  /* IF_NEEDED gives a writeable copy. */
  opts.copy = DLV_COPY_IF_NEEDED;
  CHECK_OK(dlv_tensor_to_dlpack_legacy(ro, &opts, &lmt));
  REQUIRE(lmt != NULL);
  CHECK(lmt->dl_tensor.data != (void *)data);
  check_same_values(&lmt->dl_tensor, ro, __LINE__);
  {
    dlv_import_options trust;
    dlv_tensor *back = NULL;
    int64_t idx[2] = {1, 1};
    memset(&trust, 0, sizeof(trust));
    trust.trust_legacy_writeable = true;
    CHECK_OK(dlv_tensor_from_dlpack_legacy(lmt, &trust, &back));
    REQUIRE(back != NULL);
    CHECK_OK(dlv_tensor_set_f64(back, idx, -7.0));
    CHECK(data[7] == 7.0);
    dlv_tensor_free(back);
  }
  /* NULL options are IF_NEEDED. */
  lmt = NULL;
  CHECK_OK(dlv_tensor_to_dlpack_legacy(ro, NULL, &lmt));
  REQUIRE(lmt != NULL);
  CHECK(lmt->dl_tensor.data != (void *)data);
  lmt->deleter(lmt);

  /* A broadcast view is read-only too: legacy copies it compactly. */
  {
    int64_t bshape[2] = {3, 6};
    dlv_tensor *row = NULL, *b = NULL;
    CHECK_OK(dlv_tensor_select(base, 0, 1, &row));
    CHECK_OK(dlv_tensor_broadcast_to(row, 2, bshape, &b));
    lmt = NULL;
    CHECK_OK(dlv_tensor_to_dlpack_legacy(b, NULL, &lmt));
    REQUIRE(lmt != NULL);
    /* Compact (which order is the copy's choice), no zero strides left. */
    CHECK((lmt->dl_tensor.strides[0] == 6 && lmt->dl_tensor.strides[1] == 1) ||
          (lmt->dl_tensor.strides[0] == 1 && lmt->dl_tensor.strides[1] == 3));
    CHECK(lmt->dl_tensor.data != (void *)(data + 6));
    check_same_values(&lmt->dl_tensor, b, __LINE__);
    lmt->deleter(lmt);
    dlv_tensor_free(b);
    dlv_tensor_free(row);
  }

  dlv_tensor_free(ro);
  dlv_tensor_free(base);
  CHECK_EQ(dlv_live_storage_count(), live);
}

static void test_export_arguments(void) {
  double *data = NULL;
  dlv_tensor *base = new_base(&data);
  dlv_export_options opts;
  DLManagedTensorVersioned *mt = NULL;
  DLManagedTensor *lmt = NULL;

  memset(&opts, 0, sizeof(opts));
  opts.copy = 9;
  CHECK_STATUS(dlv_tensor_to_dlpack(base, &opts, &mt), DLV_ERR_INVALID_ARGUMENT);
  CHECK_MSG("copy mode 9");
  CHECK(mt == NULL);
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(base, &opts, &lmt), DLV_ERR_INVALID_ARGUMENT);
  CHECK_MSG("copy mode 9");
  CHECK(lmt == NULL);
  CHECK_STATUS(dlv_tensor_to_dlpack(base, NULL, NULL), DLV_ERR_NULL_ARGUMENT);
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(base, NULL, NULL), DLV_ERR_NULL_ARGUMENT);
  CHECK_STATUS(dlv_tensor_to_dlpack(NULL, NULL, &mt), DLV_ERR_NULL_ARGUMENT);
  CHECK_MSG("`t`");
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(NULL, NULL, &lmt), DLV_ERR_NULL_ARGUMENT);
  CHECK(mt == NULL && lmt == NULL);
  dlv_tensor_free(base);
}

/* dlview.h declares the DLPack 1.3 layout (tests/dlpark_compat.rs checks
 * dlpark's Rust types against the same numbers). */
static void test_abi_layout(void) {
  if (sizeof(void *) != 8) return;
  CHECK_EQ(sizeof(DLDevice), 8);
  CHECK_EQ(sizeof(DLDataType), 4);
  CHECK_EQ(sizeof(DLTensor), 48);
  CHECK_EQ(offsetof(DLTensor, ndim), 16);
  CHECK_EQ(offsetof(DLTensor, dtype), 20);
  CHECK_EQ(offsetof(DLTensor, shape), 24);
  CHECK_EQ(offsetof(DLTensor, byte_offset), 40);
  CHECK_EQ(sizeof(DLManagedTensor), 64);
  CHECK_EQ(offsetof(DLManagedTensor, deleter), 56);
  CHECK_EQ(sizeof(DLManagedTensorVersioned), 80);
  CHECK_EQ(offsetof(DLManagedTensorVersioned, manager_ctx), 8);
  CHECK_EQ(offsetof(DLManagedTensorVersioned, deleter), 16);
  CHECK_EQ(offsetof(DLManagedTensorVersioned, flags), 24);
  CHECK_EQ(offsetof(DLManagedTensorVersioned, dl_tensor), 32);
}

int main(void) {
  uint64_t live = dlv_live_storage_count();
  test_abi_layout();
  test_round_trips();
  test_export_negative_strides();
  test_export_copy_always_and_legacy_read_only();
  test_export_arguments();
  CHECK_EQ(dlv_live_storage_count(), live);
  if (g_failures) {
    fprintf(stderr, "dlpack_export: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("dlpack_export: all checks passed\n");
  return 0;
}
