/* DLPack import (RULES.md §5, GitHub issue #3): hand-built
 * DLManagedTensorVersioned / DLManagedTensor with counting deleters, every
 * validation rule, and the promise that the deleter runs exactly once on
 * every failure, before the call returns.
 *
 * Self-contained: builds as C11 and as C++17 (no compound literals, no
 * designated initializers, void* results cast). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "dlview.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* ---- a hand-built producer with counting deleters --------------------- */

/* What the deleter frees. It never reads the managed struct's tensor fields
 * (only manager_ctx), so the version-2 tests may poison all of them. */
typedef struct producer_ctx {
  void *data;       /* element buffer to free, or NULL (fake/borrowed) */
  int64_t *shape;   /* malloc'd copies handed to the importer */
  int64_t *strides;
  void *map;        /* guard-page mapping holding the struct, or NULL */
  size_t map_len;
} producer_ctx;

static int g_versioned_deleted = 0;
static int g_legacy_deleted = 0;

static void release_ctx(producer_ctx *ctx, void *self) {
  void *map = ctx->map;
  size_t map_len = ctx->map_len;
  free(ctx->data);
  free(ctx->shape);
  free(ctx->strides);
  free(ctx);
  if (map) {
    munmap(map, map_len);
  } else {
    free(self);
  }
}

static void versioned_deleter(DLManagedTensorVersioned *self) {
  REQUIRE(self != NULL);
  __atomic_fetch_add(&g_versioned_deleted, 1, __ATOMIC_SEQ_CST);
  release_ctx((producer_ctx *)self->manager_ctx, self);
}

static void legacy_deleter(DLManagedTensor *self) {
  REQUIRE(self != NULL);
  __atomic_fetch_add(&g_legacy_deleted, 1, __ATOMIC_SEQ_CST);
  release_ctx((producer_ctx *)self->manager_ctx, self);
}

static int64_t *copy_dims(const int64_t *dims, int32_t ndim) {
  int64_t *p;
  if (dims == NULL) return NULL;
  p = (int64_t *)malloc(sizeof(int64_t) * (size_t)(ndim > 0 ? ndim : 1));
  REQUIRE(p != NULL);
  if (ndim > 0) memcpy(p, dims, sizeof(int64_t) * (size_t)ndim);
  return p;
}

static DLDataType dtype_of(uint8_t code, uint8_t bits, uint16_t lanes) {
  DLDataType dt;
  dt.code = code;
  dt.bits = bits;
  dt.lanes = lanes;
  return dt;
}

static DLDataType f64_dtype(void) { return dtype_of((uint8_t)kDLFloat, 64, 1); }

static DLDevice cpu_device(void) {
  DLDevice d;
  d.device_type = kDLCPU;
  d.device_id = 0;
  return d;
}

/* A tensor description; `owned` is freed by the deleter (may differ from
 * `data`, e.g. NULL for fake device pointers). */
typedef struct spec {
  void *data;
  void *owned;
  DLDataType dtype;
  DLDevice device;
  int32_t ndim;
  const int64_t *shape;   /* copied: ndim values (if ndim > 0) */
  const int64_t *strides; /* copied, or NULL */
  uint64_t byte_offset;
} spec;

static spec f64_spec(double *data, int32_t ndim, const int64_t *shape, const int64_t *strides) {
  spec s;
  s.data = data;
  s.owned = data;
  s.dtype = f64_dtype();
  s.device = cpu_device();
  s.ndim = ndim;
  s.shape = shape;
  s.strides = strides;
  s.byte_offset = 0;
  return s;
}

static producer_ctx *new_ctx(const spec *s) {
  producer_ctx *ctx = (producer_ctx *)calloc(1, sizeof(producer_ctx));
  REQUIRE(ctx != NULL);
  ctx->data = s->owned;
  ctx->shape = copy_dims(s->shape, s->ndim);
  ctx->strides = copy_dims(s->strides, s->ndim);
  return ctx;
}

static void fill_tensor(DLTensor *t, const spec *s, const producer_ctx *ctx) {
  t->data = s->data;
  t->device = s->device;
  t->ndim = s->ndim;
  t->dtype = s->dtype;
  t->shape = ctx->shape;
  t->strides = ctx->strides;
  t->byte_offset = s->byte_offset;
}

static DLManagedTensorVersioned *make_versioned(const spec *s, uint32_t major, uint32_t minor,
                                                uint64_t flags) {
  DLManagedTensorVersioned *mt = (DLManagedTensorVersioned *)calloc(1, sizeof(*mt));
  producer_ctx *ctx = new_ctx(s);
  REQUIRE(mt != NULL);
  mt->version.major = major;
  mt->version.minor = minor;
  mt->manager_ctx = ctx;
  mt->deleter = versioned_deleter;
  mt->flags = flags;
  fill_tensor(&mt->dl_tensor, s, ctx);
  return mt;
}

static DLManagedTensor *make_legacy(const spec *s) {
  DLManagedTensor *mt = (DLManagedTensor *)calloc(1, sizeof(*mt));
  producer_ctx *ctx = new_ctx(s);
  REQUIRE(mt != NULL);
  mt->manager_ctx = ctx;
  mt->deleter = legacy_deleter;
  fill_tensor(&mt->dl_tensor, s, ctx);
  return mt;
}

/* n doubles 0, 1, 2, ... (10 * i + j layouts are built by the caller). */
static double *iota(size_t n) {
  size_t i;
  double *p = (double *)malloc(sizeof(double) * (n ? n : 1));
  REQUIRE(p != NULL);
  for (i = 0; i < n; i++) p[i] = (double)i;
  return p;
}

static double get1(const dlv_tensor *t, int64_t i) {
  double v = -1.0;
  CHECK_OK(dlv_tensor_get_f64(t, &i, &v));
  return v;
}

static double get2(const dlv_tensor *t, int64_t i, int64_t j) {
  int64_t idx[2];
  double v = -1.0;
  idx[0] = i;
  idx[1] = j;
  CHECK_OK(dlv_tensor_get_f64(t, idx, &v));
  return v;
}

/* Imports `mt` expecting failure with `status` and a message containing
 * `needle`; the deleter must have run exactly once when the call returns,
 * and `out` must be untouched. */
static void expect_versioned_rejected(DLManagedTensorVersioned *mt, const dlv_import_options *opts,
                                      dlv_status status, const char *needle, int line) {
  dlv_tensor *sentinel = (dlv_tensor *)(uintptr_t)0x5eed;
  dlv_tensor *out = sentinel;
  int before = g_versioned_deleted;
  dlv_status s = dlv_tensor_from_dlpack(mt, opts, &out);
  if (s != status) {
    fprintf(stderr, "line %d: import returned %s (\"%s\"), expected %s\n", line,
            dlv_status_name(s), dlv_last_error(), dlv_status_name(status));
    g_failures++;
  }
  if (!strstr(dlv_last_error(), needle)) {
    fprintf(stderr, "line %d: message \"%s\" does not name \"%s\"\n", line, dlv_last_error(), needle);
    g_failures++;
  }
  if (g_versioned_deleted != before + 1) {
    fprintf(stderr, "line %d: deleter ran %d times, expected once\n", line,
            g_versioned_deleted - before);
    g_failures++;
  }
  if (out != sentinel) {
    fprintf(stderr, "line %d: out was written on failure\n", line);
    g_failures++;
    if (s == DLV_OK) dlv_tensor_free(out);
  }
}

static void expect_legacy_rejected(DLManagedTensor *mt, const dlv_import_options *opts,
                                   dlv_status status, const char *needle, int line) {
  dlv_tensor *sentinel = (dlv_tensor *)(uintptr_t)0x5eed;
  dlv_tensor *out = sentinel;
  int before = g_legacy_deleted;
  dlv_status s = dlv_tensor_from_dlpack_legacy(mt, opts, &out);
  if (s != status) {
    fprintf(stderr, "line %d: legacy import returned %s (\"%s\"), expected %s\n", line,
            dlv_status_name(s), dlv_last_error(), dlv_status_name(status));
    g_failures++;
  }
  if (!strstr(dlv_last_error(), needle)) {
    fprintf(stderr, "line %d: message \"%s\" does not name \"%s\"\n", line, dlv_last_error(), needle);
    g_failures++;
  }
  if (g_legacy_deleted != before + 1) {
    fprintf(stderr, "line %d: legacy deleter ran %d times, expected once\n", line,
            g_legacy_deleted - before);
    g_failures++;
  }
  if (out != sentinel) {
    fprintf(stderr, "line %d: out was written on failure\n", line);
    g_failures++;
    if (s == DLV_OK) dlv_tensor_free(out);
  }
}

#define REJECT_V(mt, opts, status, needle) expect_versioned_rejected(mt, opts, status, needle, __LINE__)
#define REJECT_L(mt, opts, status, needle) expect_legacy_rejected(mt, opts, status, needle, __LINE__)

/* ---- the tests ---------------------------------------------------------- */

static void test_invalid_descriptors(void) {
  int64_t shape2[2] = {2, 3}, strides2[2] = {3, 1};
  int64_t shape65[65], strides65[65];
  int64_t neg_shape[2] = {2, -3};
  int64_t one[1] = {2}, huge_stride[1] = {INT64_MAX};
  int64_t three[1] = {3}, half_stride[1] = {INT64_MAX / 2 + 1};
  int64_t too_many[2] = {INT64_MAX, 2}, too_many_strides[2] = {1, 1};
  spec s;
  int i;
  for (i = 0; i < 65; i++) {
    shape65[i] = 1;
    strides65[i] = 1;
  }

  /* ndim out of range, both signs, both ABIs. */
  s = f64_spec(iota(6), -1, NULL, NULL);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "ndim -1");
  s = f64_spec(iota(6), 65, shape65, strides65);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "ndim 65");
  s = f64_spec(iota(6), -1, NULL, NULL);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_INVALID_ARGUMENT, "ndim -1");
  s = f64_spec(iota(6), 65, shape65, strides65);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_INVALID_ARGUMENT, "ndim 65");

  /* NULL shape with ndim > 0. */
  s = f64_spec(iota(6), 2, NULL, strides2);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "NULL shape");
  s = f64_spec(iota(6), 2, NULL, NULL);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_INVALID_ARGUMENT, "NULL shape");

  /* Negative dimension: the message names it and the axis. */
  s = f64_spec(iota(6), 2, neg_shape, strides2);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "negative dimension -3");
  s = f64_spec(iota(6), 2, neg_shape, strides2);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_INVALID_ARGUMENT, "negative dimension -3");

  /* Shape whose element count overflows. */
  s = f64_spec(iota(6), 2, too_many, too_many_strides);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "9223372036854775807");

  /* Unsupported dtypes: unknown code, opaque handle, lanes 2, float4 with 8 bits,
   * float with 8 bits, bool with 16 bits. */
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of(200, 32, 1);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "code 200");
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of((uint8_t)kDLOpaqueHandle, 64, 1);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "code 3");
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of((uint8_t)kDLFloat, 32, 2);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "lanes 2");
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of((uint8_t)kDLFloat4_e2m1fn, 8, 1);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "code 17, bits 8");
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of((uint8_t)kDLFloat, 8, 1);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "bits 8");
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of((uint8_t)kDLBool, 16, 1);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "bits 16");
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of((uint8_t)kDLFloat, 64, 4);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "lanes 4");

  /* Sub-byte types only compact and packed; padded sub-byte refused. */
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.dtype = dtype_of((uint8_t)kDLFloat4_e2m1fn, 4, 1);
  REJECT_V(make_versioned(&s, 1, 3, DLPACK_FLAG_BITMASK_IS_SUBBYTE_TYPE_PADDED), NULL,
           DLV_ERR_UNSUPPORTED_DTYPE, "padded");
  {
    int64_t sub_shape[1] = {6}, sub_strides[1] = {2};
    s = f64_spec(iota(6), 1, sub_shape, sub_strides);
    s.dtype = dtype_of((uint8_t)kDLFloat4_e2m1fn, 4, 1);
    REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_UNSUPPORTED_DTYPE, "compact");
  }

  /* data NULL with size > 0. */
  s = f64_spec(NULL, 2, shape2, strides2);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "NULL data");
  s = f64_spec(NULL, 2, shape2, strides2);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_INVALID_ARGUMENT, "NULL data");

  /* Strides whose extent overflows: the message names the stride. */
  s = f64_spec(iota(2), 1, one, huge_stride);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "9223372036854775807");
  s = f64_spec(iota(2), 1, one, huge_stride);
  REJECT_L(make_legacy(&s), NULL, DLV_ERR_INVALID_ARGUMENT, "9223372036854775807");
  s = f64_spec(iota(3), 1, three, half_stride);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "4611686018427387904");
  {
    int64_t neg_huge[1] = {INT64_MIN + 1};
    s = f64_spec(iota(2), 1, one, neg_huge);
    REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "-9223372036854775807");
  }

  /* byte_offset too large. */
  s = f64_spec(iota(6), 2, shape2, strides2);
  s.byte_offset = UINT64_MAX;
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "18446744073709551615");

  /* NULL out: the deleter still runs. */
  {
    int before = g_versioned_deleted, before_l = g_legacy_deleted;
    s = f64_spec(iota(6), 2, shape2, strides2);
    CHECK_STATUS(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, NULL),
                 DLV_ERR_NULL_ARGUMENT);
    CHECK_MSG("out");
    CHECK_EQ(g_versioned_deleted, before + 1);
    s = f64_spec(iota(6), 2, shape2, strides2);
    CHECK_STATUS(dlv_tensor_from_dlpack_legacy(make_legacy(&s), NULL, NULL), DLV_ERR_NULL_ARGUMENT);
    CHECK_EQ(g_legacy_deleted, before_l + 1);
  }
  /* NULL tensor: nothing to delete, NULL_ARGUMENT. */
  {
    dlv_tensor *out = NULL;
    CHECK_STATUS(dlv_tensor_from_dlpack(NULL, NULL, &out), DLV_ERR_NULL_ARGUMENT);
    CHECK_STATUS(dlv_tensor_from_dlpack_legacy(NULL, NULL, &out), DLV_ERR_NULL_ARGUMENT);
    CHECK(out == NULL);
  }

  /* Invalid copy mode in the options: the deleter still runs. */
  {
    dlv_import_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.copy = 7;
    s = f64_spec(iota(6), 2, shape2, strides2);
    REJECT_V(make_versioned(&s, 1, 3, 0), &opts, DLV_ERR_INVALID_ARGUMENT, "copy mode 7");
    s = f64_spec(iota(6), 2, shape2, strides2);
    REJECT_L(make_legacy(&s), &opts, DLV_ERR_INVALID_ARGUMENT, "copy mode 7");
  }

  /* A failure with a NULL deleter calls nothing and still fails cleanly. */
  {
    DLManagedTensorVersioned mt;
    dlv_tensor *out = NULL;
    memset(&mt, 0, sizeof(mt));
    mt.version.major = 1;
    mt.version.minor = 3;
    mt.dl_tensor.ndim = -5;
    CHECK_STATUS(dlv_tensor_from_dlpack(&mt, NULL, &out), DLV_ERR_INVALID_ARGUMENT);
    CHECK_MSG("-5");
    CHECK(out == NULL);
  }
}

/* Version checks: a major other than 1 is released after reading only the
 * version (and the deleter); every other field is poison. */
static void test_versions(void) {
  int64_t shape[2] = {2, 3}, strides[2] = {3, 1};
  spec s;

  {
    DLManagedTensorVersioned *mt;
    s = f64_spec(iota(6), 2, shape, strides);
    mt = make_versioned(&s, 2, 0, 0);
    mt->flags = 0xdeadbeefdeadbeefULL;
    mt->dl_tensor.ndim = 12345;
    mt->dl_tensor.shape = (int64_t *)(uintptr_t)0x1;
    mt->dl_tensor.strides = (int64_t *)(uintptr_t)0x9;
    mt->dl_tensor.data = (void *)(uintptr_t)0x11;
    mt->dl_tensor.dtype = dtype_of(250, 3, 0);
    mt->dl_tensor.byte_offset = UINT64_MAX;
    mt->dl_tensor.device.device_id = -77;
    REJECT_V(mt, NULL, DLV_ERR_VERSION, "2.0");
  }
  {
    DLManagedTensorVersioned *mt;
    s = f64_spec(iota(6), 2, shape, strides);
    mt = make_versioned(&s, 0, 9, 0);
    mt->dl_tensor.shape = (int64_t *)(uintptr_t)0x1;
    mt->dl_tensor.ndim = 12345;
    REJECT_V(mt, NULL, DLV_ERR_VERSION, "0.9");
  }
  /* Even a NULL out and an invalid copy mode still give VERSION-or-NULL and
   * one deleter call, never a read of the poison. */
  {
    DLManagedTensorVersioned *mt;
    int before = g_versioned_deleted;
    dlv_status st;
    s = f64_spec(iota(6), 2, shape, strides);
    mt = make_versioned(&s, 2, 1, 0);
    mt->dl_tensor.shape = (int64_t *)(uintptr_t)0x1;
    mt->dl_tensor.ndim = 12345;
    st = dlv_tensor_from_dlpack(mt, NULL, NULL);
    CHECK(st == DLV_ERR_NULL_ARGUMENT || st == DLV_ERR_VERSION);
    CHECK_EQ(g_versioned_deleted, before + 1);
  }

  /* The strongest form: everything after the deleter lies in a PROT_NONE
   * page, so any read of flags or dl_tensor faults. */
  {
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)page * 2;
    char *map = (char *)mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    DLManagedTensorVersioned *mt;
    producer_ctx *ctx = (producer_ctx *)calloc(1, sizeof(producer_ctx));
    size_t readable = offsetof(DLManagedTensorVersioned, flags);
    REQUIRE(map != (char *)MAP_FAILED && ctx != NULL);
    CHECK_EQ(readable, 24);
    mt = (DLManagedTensorVersioned *)(map + page - readable);
    memset(mt, 0xA5, sizeof(*mt)); /* garbage everywhere */
    mt->version.major = 2;
    mt->version.minor = 0;
    ctx->map = map;
    ctx->map_len = len;
    mt->manager_ctx = ctx;
    mt->deleter = versioned_deleter;
    REQUIRE(mprotect(map + page, (size_t)page, PROT_NONE) == 0);
    REJECT_V(mt, NULL, DLV_ERR_VERSION, "version 2.0");
  }

  /* Any minor of major 1 is accepted, including one from the future. */
  {
    dlv_tensor *t = NULL;
    int before = g_versioned_deleted;
    s = f64_spec(iota(6), 2, shape, strides);
    CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 99, 0), NULL, &t));
    REQUIRE(t != NULL);
    CHECK_EQ(dlv_tensor_ndim(t), 2);
    CHECK(get2(t, 1, 2) == 5.0);
    CHECK_EQ(g_versioned_deleted, before);
    dlv_tensor_free(t);
    CHECK_EQ(g_versioned_deleted, before + 1);
  }
  {
    dlv_tensor *t = NULL;
    s = f64_spec(iota(6), 2, shape, strides);
    CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 0, 0), NULL, &t));
    dlv_tensor_free(t);
  }
}

static void test_null_strides(void) {
  int64_t shape[2] = {2, 3};
  spec s;
  dlv_tensor *t = NULL;
  int before;

  /* Legacy and 1.0/1.1: C-contiguous. */
  s = f64_spec(iota(6), 2, shape, NULL);
  CHECK_OK(dlv_tensor_from_dlpack_legacy(make_legacy(&s), NULL, &t));
  REQUIRE(t != NULL);
  CHECK_EQ(dlv_tensor_strides(t)[0], 3);
  CHECK_EQ(dlv_tensor_strides(t)[1], 1);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_C_CONTIGUOUS);
  CHECK(get2(t, 1, 2) == 5.0);
  CHECK(get2(t, 1, 0) == 3.0);
  dlv_tensor_free(t);

  s = f64_spec(iota(6), 2, shape, NULL);
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 1, 0), NULL, &t));
  REQUIRE(t != NULL);
  CHECK_EQ(dlv_tensor_strides(t)[0], 3);
  CHECK_EQ(dlv_tensor_strides(t)[1], 1);
  CHECK(get2(t, 0, 1) == 1.0);
  dlv_tensor_free(t);

  s = f64_spec(iota(6), 2, shape, NULL);
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 0, 0), NULL, &t));
  dlv_tensor_free(t);

  /* 1.2 and 1.3 (and later minors): invalid. */
  s = f64_spec(iota(6), 2, shape, NULL);
  REJECT_V(make_versioned(&s, 1, 2, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "NULL strides");
  s = f64_spec(iota(6), 2, shape, NULL);
  REJECT_V(make_versioned(&s, 1, 3, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "NULL strides");
  s = f64_spec(iota(6), 2, shape, NULL);
  REJECT_V(make_versioned(&s, 1, 99, 0), NULL, DLV_ERR_INVALID_ARGUMENT, "NULL strides");

  /* 0-d: NULL shape and NULL strides are fine at every version. */
  before = g_versioned_deleted;
  s = f64_spec(iota(1), 0, NULL, NULL);
  s.data = NULL;
  {
    double *one = (double *)malloc(sizeof(double));
    double v = 0.0;
    REQUIRE(one != NULL);
    *one = 42.5;
    free(s.owned);
    s.data = one;
    s.owned = one;
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
    REQUIRE(t != NULL);
    CHECK_EQ(dlv_tensor_ndim(t), 0);
    CHECK_EQ(dlv_tensor_size(t), 1);
    CHECK_OK(dlv_tensor_get_f64(t, NULL, &v));
    CHECK(v == 42.5);
    CHECK(dlv_tensor_flags(t) & DLV_FLAG_C_CONTIGUOUS);
    CHECK(dlv_tensor_flags(t) & DLV_FLAG_F_CONTIGUOUS);
    CHECK(dlv_tensor_data(t) == (const void *)one);
    dlv_tensor_free(t);
    CHECK_EQ(g_versioned_deleted, before + 1);
  }
  /* 0-d: shape and strides are never read, whatever they point at. */
  {
    double *one = (double *)malloc(sizeof(double));
    DLManagedTensorVersioned *mt;
    double v = 0.0;
    REQUIRE(one != NULL);
    *one = 8.0;
    s = f64_spec(one, 0, NULL, NULL);
    mt = make_versioned(&s, 1, 3, 0);
    mt->dl_tensor.shape = (int64_t *)(uintptr_t)0x1;
    mt->dl_tensor.strides = (int64_t *)(uintptr_t)0x1;
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &t));
    REQUIRE(t != NULL);
    CHECK_OK(dlv_tensor_get_f64(t, NULL, &v));
    CHECK(v == 8.0);
    dlv_tensor_free(t);
  }
  {
    double *one = (double *)malloc(sizeof(double));
    double v = 0.0;
    REQUIRE(one != NULL);
    *one = -3.0;
    s = f64_spec(one, 0, NULL, NULL);
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack_legacy(make_legacy(&s), NULL, &t));
    CHECK_OK(dlv_tensor_get_f64(t, NULL, &v));
    CHECK(v == -3.0);
    dlv_tensor_free(t);
  }
}

static void test_byte_offset(void) {
  double *data = iota(10);
  int64_t shape[1] = {4}, strides[1] = {2};
  spec s = f64_spec(data, 1, shape, strides);
  dlv_tensor *t = NULL;
  int64_t i;

  s.byte_offset = 2 * sizeof(double);
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
  REQUIRE(t != NULL);
  CHECK(dlv_tensor_data(t) == (const void *)(data + 2));
  for (i = 0; i < 4; i++) CHECK(get1(t, i) == (double)(2 + 2 * i));
  dlv_tensor_free(t);

  /* Legacy too, and an offset that is not a multiple of the itemsize. */
  {
    unsigned char *bytes = (unsigned char *)malloc(17);
    int64_t shape1[1] = {4}, strides1[1] = {1};
    int k;
    REQUIRE(bytes != NULL);
    for (k = 0; k < 17; k++) bytes[k] = (unsigned char)k;
    s = f64_spec(NULL, 1, shape1, strides1);
    s.data = bytes;
    s.owned = bytes;
    s.dtype = dtype_of((uint8_t)kDLUInt, 8, 1);
    s.byte_offset = 13;
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack_legacy(make_legacy(&s), NULL, &t));
    REQUIRE(t != NULL);
    CHECK(dlv_tensor_data(t) == (const void *)(bytes + 13));
    for (i = 0; i < 4; i++) CHECK(get1(t, i) == (double)(13 + i));
    dlv_tensor_free(t);
  }
}

static void test_size_zero(void) {
  int64_t shape[2] = {0, 3}, strides[2] = {3, 1};
  spec s;
  dlv_tensor *t = NULL;
  int before = g_versioned_deleted;

  /* data NULL is fine when there are no elements. */
  s = f64_spec(NULL, 2, shape, strides);
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
  REQUIRE(t != NULL);
  CHECK_EQ(dlv_tensor_size(t), 0);
  CHECK(dlv_tensor_data(t) == NULL);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_C_CONTIGUOUS);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_F_CONTIGUOUS);
  dlv_tensor_free(t);
  CHECK_EQ(g_versioned_deleted, before + 1);

  /* A size-0 tensor with a non-NULL pointer and absurd strides. */
  {
    int64_t wild[2] = {INT64_MAX, -5};
    s = f64_spec(iota(1), 2, shape, wild);
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
    CHECK_EQ(dlv_tensor_size(t), 0);
    CHECK(dlv_tensor_data(t) == NULL);
    dlv_tensor_free(t);
  }
}

/* A NULL deleter: the producer keeps ownership; nothing is ever called. */
static void test_null_deleter(void) {
  double data[6] = {0, 1, 2, 3, 4, 5};
  int64_t shape[2] = {2, 3}, strides[2] = {3, 1};
  DLManagedTensorVersioned mt;
  DLManagedTensor lmt;
  dlv_tensor *t = NULL, *view = NULL;
  uint64_t live = dlv_live_storage_count();

  memset(&mt, 0, sizeof(mt));
  mt.version.major = 1;
  mt.version.minor = 3;
  mt.dl_tensor.data = data;
  mt.dl_tensor.device = cpu_device();
  mt.dl_tensor.ndim = 2;
  mt.dl_tensor.dtype = f64_dtype();
  mt.dl_tensor.shape = shape;
  mt.dl_tensor.strides = strides;
  CHECK_OK(dlv_tensor_from_dlpack(&mt, NULL, &t));
  REQUIRE(t != NULL);
  CHECK(dlv_tensor_data(t) == (const void *)data);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE);
  {
    int64_t idx[2] = {1, 0};
    CHECK_OK(dlv_tensor_set_f64(t, idx, 9.0));
    CHECK(data[3] == 9.0);
  }
  CHECK_OK(dlv_tensor_slice(t, 1, 1, DLV_NONE, 1, &view));
  dlv_tensor_free(t);
  CHECK(get2(view, 1, 1) == 5.0);
  dlv_tensor_free(view);
  CHECK_EQ(dlv_live_storage_count(), live);

  memset(&lmt, 0, sizeof(lmt));
  lmt.dl_tensor = mt.dl_tensor;
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack_legacy(&lmt, NULL, &t));
  CHECK(get2(t, 0, 2) == 2.0);
  dlv_tensor_free(t);
  CHECK_EQ(dlv_live_storage_count(), live);
}

static void test_read_only_and_flags(void) {
  int64_t shape[2] = {2, 3}, strides[2] = {3, 1};
  int64_t idx[2] = {1, 1};
  spec s;
  dlv_tensor *t = NULL, *view = NULL;
  void *p = NULL;
  double *data;

  /* READ_ONLY: the import and its views cannot be made writeable. */
  s = f64_spec(iota(6), 2, shape, strides);
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, DLPACK_FLAG_BITMASK_READ_ONLY), NULL, &t));
  REQUIRE(t != NULL);
  CHECK(!(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE));
  CHECK_STATUS(dlv_tensor_set_writeable(t, true), DLV_ERR_READ_ONLY);
  CHECK(!(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE));
  CHECK_STATUS(dlv_tensor_set_f64(t, idx, 1.0), DLV_ERR_READ_ONLY);
  CHECK_STATUS(dlv_tensor_data_mut(t, &p), DLV_ERR_READ_ONLY);
  CHECK(p == NULL);
  CHECK_OK(dlv_tensor_set_writeable(t, false));
  CHECK_OK(dlv_tensor_slice(t, 0, 1, 2, 1, &view));
  CHECK_STATUS(dlv_tensor_set_writeable(view, true), DLV_ERR_READ_ONLY);
  CHECK(get2(t, 1, 1) == 4.0);
  dlv_tensor_free(view);
  dlv_tensor_free(t);

  /* No flag: writeable, and writes reach the producer's memory. */
  data = iota(6);
  s = f64_spec(data, 2, shape, strides);
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
  REQUIRE(t != NULL);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE);
  CHECK_OK(dlv_tensor_set_f64(t, idx, 40.0));
  CHECK(data[4] == 40.0);
  dlv_tensor_free(t);

  /* IS_COPIED is accepted (and writeable). */
  s = f64_spec(iota(6), 2, shape, strides);
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, DLPACK_FLAG_BITMASK_IS_COPIED), NULL, &t));
  REQUIRE(t != NULL);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE);
  CHECK(get2(t, 1, 2) == 5.0);
  dlv_tensor_free(t);

  /* Unknown future flag bits are ignored. */
  s = f64_spec(iota(6), 2, shape, strides);
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 1ULL << 40), NULL, &t));
  dlv_tensor_free(t);

  /* Legacy: read-only by default ... */
  data = iota(6);
  s = f64_spec(data, 2, shape, strides);
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack_legacy(make_legacy(&s), NULL, &t));
  REQUIRE(t != NULL);
  CHECK(!(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE));
  CHECK_STATUS(dlv_tensor_set_writeable(t, true), DLV_ERR_READ_ONLY);
  CHECK_STATUS(dlv_tensor_set_f64(t, idx, 1.0), DLV_ERR_READ_ONLY);
  CHECK(data[4] == 4.0);
  dlv_tensor_free(t);

  /* ... writeable when trusted. */
  {
    dlv_import_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.trust_legacy_writeable = true;
    data = iota(6);
    s = f64_spec(data, 2, shape, strides);
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack_legacy(make_legacy(&s), &opts, &t));
    REQUIRE(t != NULL);
    CHECK(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE);
    CHECK_OK(dlv_tensor_set_f64(t, idx, -4.0));
    CHECK(data[4] == -4.0);
    CHECK_OK(dlv_tensor_data_mut(t, &p));
    CHECK(p == (void *)data);
    dlv_tensor_free(t);
  }

  /* Zero strides without READ_ONLY: imported, but overlapping, so read-only. */
  {
    int64_t bshape[2] = {4, 3}, bstrides[2] = {0, 1};
    s = f64_spec(iota(3), 2, bshape, bstrides);
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
    REQUIRE(t != NULL);
    CHECK(!(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE));
    CHECK_STATUS(dlv_tensor_set_writeable(t, true), DLV_ERR_READ_ONLY);
    CHECK(get2(t, 3, 2) == 2.0);
    dlv_tensor_free(t);
  }

  /* Fortran order and negative strides come in as they are. */
  {
    int64_t fstrides[2] = {1, 2};
    double *d = iota(6);
    s = f64_spec(d, 2, shape, fstrides);
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
    REQUIRE(t != NULL);
    CHECK(dlv_tensor_flags(t) & DLV_FLAG_F_CONTIGUOUS);
    CHECK(!(dlv_tensor_flags(t) & DLV_FLAG_C_CONTIGUOUS));
    CHECK(get2(t, 1, 2) == 5.0);
    CHECK(get2(t, 0, 1) == 2.0);
    dlv_tensor_free(t);
  }
  {
    int64_t nstrides[2] = {-3, 1};
    double *d = iota(6);
    s = f64_spec(d, 2, shape, nstrides);
    s.owned = d;
    s.data = d + 3; /* element [0, 0] is the second row */
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
    REQUIRE(t != NULL);
    CHECK(get2(t, 0, 0) == 3.0);
    CHECK(get2(t, 1, 2) == 2.0);
    CHECK(!(dlv_tensor_flags(t) & DLV_FLAG_C_CONTIGUOUS));
    dlv_tensor_free(t);
  }
}

/* A packed sub-byte type: accepted compact, exchange only. */
static void test_sub_byte(void) {
  int64_t shape[1] = {6}, strides[1] = {1};
  unsigned char *bytes = (unsigned char *)calloc(3, 1);
  spec s = f64_spec(NULL, 1, shape, strides);
  dlv_tensor *t = NULL;
  DLManagedTensorVersioned *back = NULL;
  int64_t i = 0;
  double v;
  REQUIRE(bytes != NULL);
  s.data = bytes;
  s.owned = bytes;
  s.dtype = dtype_of((uint8_t)kDLFloat4_e2m1fn, 4, 1);
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), NULL, &t));
  REQUIRE(t != NULL);
  CHECK_EQ(dlv_tensor_nbytes(t), 3);
  CHECK_STATUS(dlv_tensor_get_f64(t, &i, &v), DLV_ERR_UNSUPPORTED_DTYPE);
  CHECK_OK(dlv_tensor_to_dlpack(t, NULL, &back));
  REQUIRE(back != NULL);
  CHECK_EQ(back->dl_tensor.dtype.code, kDLFloat4_e2m1fn);
  CHECK_EQ(back->dl_tensor.dtype.bits, 4);
  CHECK(back->dl_tensor.data == (void *)bytes);
  dlv_tensor_free(t);
  back->deleter(back);

  /* Importing it with copy = ALWAYS needs element access: refused, released. */
  {
    dlv_import_options opts;
    int before = g_versioned_deleted;
    memset(&opts, 0, sizeof(opts));
    opts.copy = DLV_COPY_ALWAYS;
    bytes = (unsigned char *)calloc(3, 1);
    REQUIRE(bytes != NULL);
    s.data = bytes;
    s.owned = bytes;
    REJECT_V(make_versioned(&s, 1, 3, 0), &opts, DLV_ERR_UNSUPPORTED_DTYPE, "float4_e2m1fn");
    CHECK_EQ(g_versioned_deleted, before + 1);
  }
}

/* copy = ALWAYS on import: a private copy, the producer released at once. */
static void test_import_copy_always(void) {
  int64_t shape[2] = {2, 3}, strides[2] = {1, 2};
  dlv_import_options opts;
  spec s;
  dlv_tensor *t = NULL;
  double *data = iota(6);
  int before = g_versioned_deleted;

  memset(&opts, 0, sizeof(opts));
  opts.copy = DLV_COPY_ALWAYS;
  s = f64_spec(data, 2, shape, strides);
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, DLPACK_FLAG_BITMASK_READ_ONLY), &opts, &t));
  REQUIRE(t != NULL);
  CHECK_EQ(g_versioned_deleted, before + 1); /* `data` is freed now */
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE);
  CHECK(get2(t, 1, 2) == 5.0);
  CHECK(get2(t, 0, 1) == 2.0);
  dlv_tensor_free(t);

  opts.copy = DLV_COPY_NEVER;
  data = iota(6);
  s = f64_spec(data, 2, shape, strides);
  t = NULL;
  CHECK_OK(dlv_tensor_from_dlpack(make_versioned(&s, 1, 3, 0), &opts, &t));
  CHECK(dlv_tensor_data(t) == (const void *)data);
  dlv_tensor_free(t);
}

int main(void) {
  test_invalid_descriptors();
  test_versions();
  test_null_strides();
  test_byte_offset();
  test_size_zero();
  test_null_deleter();
  test_read_only_and_flags();
  test_sub_byte();
  test_import_copy_always();
  if (g_failures) {
    fprintf(stderr, "dlpack_import: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("dlpack_import: all checks passed\n");
  return 0;
}
