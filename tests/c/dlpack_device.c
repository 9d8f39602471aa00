/* DLPack device pass-through (RULES.md §5 "Devices", GitHub issue #3): a
 * CUDA tensor at a fake address is imported, viewed, exported and imported
 * again without its memory ever being touched; whatever would need to read
 * or copy the elements fails with DLV_ERR_UNSUPPORTED_DEVICE.
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

/* ---- a fake CUDA producer ------------------------------------------------- */

/* Device memory is never touched: the "pointer" is a number no one may read. */
#define FAKE_CUDA_PTR ((char *)(uintptr_t)0x1000)

static int g_deleted = 0;

typedef struct cuda_block {
  DLManagedTensorVersioned mt;
  int64_t shape[2];
  int64_t strides[2];
} cuda_block;

static void cuda_deleter(DLManagedTensorVersioned *self) {
  REQUIRE(self != NULL);
  __atomic_fetch_add(&g_deleted, 1, __ATOMIC_SEQ_CST);
  free(self->manager_ctx); /* the block; the device pointer is fake */
}

static DLDevice cuda_device(int32_t id) {
  DLDevice d;
  d.device_type = kDLCUDA;
  d.device_id = id;
  return d;
}

/* A 4x6 float32 tensor "on cuda:1" at FAKE_CUDA_PTR. */
static DLManagedTensorVersioned *new_cuda_tensor(uint64_t flags) {
  cuda_block *b = (cuda_block *)calloc(1, sizeof(cuda_block));
  REQUIRE(b != NULL);
  b->shape[0] = 4;
  b->shape[1] = 6;
  b->strides[0] = 6;
  b->strides[1] = 1;
  b->mt.version.major = 1;
  b->mt.version.minor = 3;
  b->mt.manager_ctx = b;
  b->mt.deleter = cuda_deleter;
  b->mt.flags = flags;
  b->mt.dl_tensor.data = FAKE_CUDA_PTR;
  b->mt.dl_tensor.device = cuda_device(1);
  b->mt.dl_tensor.ndim = 2;
  b->mt.dl_tensor.dtype.code = (uint8_t)kDLFloat;
  b->mt.dl_tensor.dtype.bits = 32;
  b->mt.dl_tensor.dtype.lanes = 1;
  b->mt.dl_tensor.shape = b->shape;
  b->mt.dl_tensor.strides = b->strides;
  return &b->mt;
}

/* ---- the tests -------------------------------------------------------------- */

static void check_cuda(const DLTensor *dl, const char *data, int line) {
  if (dl->device.device_type != kDLCUDA || dl->device.device_id != 1 || dl->data != (void *)data ||
      dl->byte_offset != 0) {
    fprintf(stderr, "line %d: export is not cuda:1 at %p (device %d:%d, data %p, offset %llu)\n",
            line, (void *)data, (int)dl->device.device_type, (int)dl->device.device_id, dl->data,
            (unsigned long long)dl->byte_offset);
    g_failures++;
  }
}

static void test_cuda_pass_through(void) {
  uint64_t live = dlv_live_storage_count();
  int del = g_deleted;
  dlv_tensor *t = NULL, *cols = NULL, *tr = NULL, *back = NULL, *flip = NULL, *copy = NULL;
  DLManagedTensorVersioned *mt = NULL;
  DLManagedTensor *lmt = NULL;
  int64_t idx[2] = {0, 0};
  double v = 0.0;
  dlv_export_options opts;

  /* Imported as a view: same device, same pointer, nothing read. */
  CHECK_OK(dlv_tensor_from_dlpack(new_cuda_tensor(0), NULL, &t));
  REQUIRE(t != NULL);
  CHECK_EQ(dlv_tensor_device(t).device_type, kDLCUDA);
  CHECK_EQ(dlv_tensor_device(t).device_id, 1);
  CHECK(dlv_tensor_data(t) == (const void *)FAKE_CUDA_PTR);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE);
  CHECK(dlv_tensor_flags(t) & DLV_FLAG_C_CONTIGUOUS);

  /* Views are pointer arithmetic: columns 2..5 step 1, then transposed. */
  CHECK_OK(dlv_tensor_slice(t, 1, 2, 5, 1, &cols));
  REQUIRE(cols != NULL);
  CHECK(dlv_tensor_data(cols) == (const void *)(FAKE_CUDA_PTR + 2 * 4));
  CHECK_OK(dlv_tensor_transpose(cols, &tr));
  REQUIRE(tr != NULL);
  CHECK_EQ(dlv_tensor_shape(tr)[0], 3);
  CHECK_EQ(dlv_tensor_shape(tr)[1], 4);
  CHECK_EQ(dlv_tensor_strides(tr)[0], 1);
  CHECK_EQ(dlv_tensor_strides(tr)[1], 6);

  /* Exported again: same device, pointer right, strides as they are. */
  CHECK_OK(dlv_tensor_to_dlpack(tr, NULL, &mt));
  REQUIRE(mt != NULL);
  check_cuda(&mt->dl_tensor, FAKE_CUDA_PTR + 8, __LINE__);
  CHECK_EQ(mt->flags & (DLPACK_FLAG_BITMASK_IS_COPIED | DLPACK_FLAG_BITMASK_READ_ONLY), 0);
  CHECK_EQ(mt->dl_tensor.shape[0], 3);
  CHECK_EQ(mt->dl_tensor.shape[1], 4);
  CHECK_EQ(mt->dl_tensor.strides[0], 1);
  CHECK_EQ(mt->dl_tensor.strides[1], 6);
  CHECK_EQ(mt->dl_tensor.dtype.bits, 32);

  /* Re-imported: still cuda:1, same view. */
  CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
  REQUIRE(back != NULL);
  CHECK_EQ(dlv_tensor_device(back).device_type, kDLCUDA);
  CHECK_EQ(dlv_tensor_device(back).device_id, 1);
  CHECK(dlv_tensor_data(back) == (const void *)(FAKE_CUDA_PTR + 8));
  CHECK_EQ(dlv_tensor_strides(back)[1], 6);

  /* Element access and copies need a device runtime. */
  CHECK_STATUS(dlv_tensor_get_f64(back, idx, &v), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK_MSG("cuda");
  CHECK_STATUS(dlv_tensor_get_f64(t, idx, &v), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK_STATUS(dlv_tensor_set_f64(t, idx, 1.0), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK_STATUS(dlv_tensor_copy(t, DLV_ORDER_C, &copy), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK_STATUS(dlv_tensor_copy(back, DLV_ORDER_K, &copy), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK(copy == NULL);

  /* A flipped view: IF_NEEDED would have to copy device memory. */
  CHECK_OK(dlv_tensor_flip(tr, 1, &flip));
  REQUIRE(flip != NULL);
  CHECK(dlv_tensor_data(flip) == (const void *)(FAKE_CUDA_PTR + 8 + 3 * 6 * 4));
  memset(&opts, 0, sizeof(opts));
  mt = NULL;
  CHECK_STATUS(dlv_tensor_to_dlpack(flip, &opts, &mt), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK(mt == NULL);
  CHECK_STATUS(dlv_tensor_to_dlpack(flip, NULL, &mt), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(flip, NULL, &lmt), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK(lmt == NULL);
  opts.copy = DLV_COPY_NEVER;
  CHECK_STATUS(dlv_tensor_to_dlpack(flip, &opts, &mt), DLV_ERR_COPY_REQUIRED);
  CHECK_MSG("negative strides");
  opts.copy = DLV_COPY_ALWAYS;
  CHECK_STATUS(dlv_tensor_to_dlpack(t, &opts, &mt), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK(mt == NULL);

  /* ... while allow_negative_strides exports it as it is. */
  opts.copy = DLV_COPY_IF_NEEDED;
  opts.allow_negative_strides = true;
  CHECK_OK(dlv_tensor_to_dlpack(flip, &opts, &mt));
  REQUIRE(mt != NULL);
  check_cuda(&mt->dl_tensor, FAKE_CUDA_PTR + 8 + 72, __LINE__);
  CHECK_EQ(mt->dl_tensor.strides[0], 1);
  CHECK_EQ(mt->dl_tensor.strides[1], -6);
  CHECK_EQ(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED, 0);
  CHECK_OK(dlv_tensor_to_dlpack_legacy(flip, &opts, &lmt));
  REQUIRE(lmt != NULL);
  CHECK(lmt->dl_tensor.data == (void *)(FAKE_CUDA_PTR + 80));
  CHECK_EQ(lmt->dl_tensor.device.device_type, kDLCUDA);

  /* Nothing is released while anything is alive; once, at the end. */
  dlv_tensor_free(flip);
  dlv_tensor_free(back);
  dlv_tensor_free(tr);
  dlv_tensor_free(cols);
  dlv_tensor_free(t);
  CHECK_EQ(g_deleted, del);
  lmt->deleter(lmt);
  CHECK_EQ(g_deleted, del);
  mt->deleter(mt);
  CHECK_EQ(g_deleted, del + 1);
  CHECK_EQ(dlv_live_storage_count(), live);
}

static void test_cuda_import_options(void) {
  int del = g_deleted;
  dlv_import_options opts;
  dlv_tensor *t = NULL;
  DLManagedTensor *lmt = NULL;
  dlv_export_options never;

  /* copy = ALWAYS on import cannot copy device memory: the producer's
   * tensor is released all the same. */
  memset(&opts, 0, sizeof(opts));
  opts.copy = DLV_COPY_ALWAYS;
  CHECK_STATUS(dlv_tensor_from_dlpack(new_cuda_tensor(0), &opts, &t), DLV_ERR_UNSUPPORTED_DEVICE);
  CHECK(t == NULL);
  CHECK_EQ(g_deleted, del + 1);

  /* READ_ONLY device memory: a legacy export would need a copy. */
  CHECK_OK(dlv_tensor_from_dlpack(new_cuda_tensor(DLPACK_FLAG_BITMASK_READ_ONLY), NULL, &t));
  REQUIRE(t != NULL);
  CHECK(!(dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE));
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(t, NULL, &lmt), DLV_ERR_UNSUPPORTED_DEVICE);
  memset(&never, 0, sizeof(never));
  never.copy = DLV_COPY_NEVER;
  CHECK_STATUS(dlv_tensor_to_dlpack_legacy(t, &never, &lmt), DLV_ERR_COPY_REQUIRED);
  CHECK_MSG("read-only");
  CHECK(lmt == NULL);
  dlv_tensor_free(t);
  CHECK_EQ(g_deleted, del + 2);
}

int main(void) {
  test_cuda_pass_through();
  test_cuda_import_options();
  if (g_failures) {
    fprintf(stderr, "dlpack_device: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("dlpack_device: all checks passed\n");
  return 0;
}
