/* Ownership across the C ABI, written to be run under AddressSanitizer
 * (make test-asan) and valgrind (make test-valgrind): every producer tensor
 * here is a separate heap block whose shape, strides and data are heap
 * blocks too, and its deleter frees all of them. So a library that read a
 * descriptor after deleting it, deleted it twice, or never deleted it is a
 * use-after-free, a double free or a leak report, not a silent pass.
 *
 * Covers: valid and invalid imports (versioned and legacy) with the
 * deleter counted, exports deleted and imported on other threads, and
 * from_buffer memory released exactly once on whichever thread drops the
 * last view. Exits non-zero naming the failed check. */
#define _POSIX_C_SOURCE 200809L
#include "dlview.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
#define CHECK(cond)                                                                  \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__,       \
              __LINE__, #cond, dlv_last_error());                                    \
      failures++;                                                                    \
    }                                                                                \
  } while (0)

static atomic_int deletes;

/* ---- a C producer ------------------------------------------------------- */

static void delete_versioned(DLManagedTensorVersioned *mt) {
  atomic_fetch_add(&deletes, 1);
  free(mt->dl_tensor.shape);
  free(mt->dl_tensor.strides);
  free(mt->dl_tensor.data);
  free(mt);
}

static void delete_legacy(DLManagedTensor *mt) {
  atomic_fetch_add(&deletes, 1);
  free(mt->dl_tensor.shape);
  free(mt->dl_tensor.strides);
  free(mt->dl_tensor.data);
  free(mt);
}

/* A float64 tensor of `shape` in C order holding 0, 1, 2, ... */
static DLTensor make_dl(int32_t ndim, const int64_t *shape) {
  DLTensor dl;
  memset(&dl, 0, sizeof dl);
  int64_t size = 1;
  dl.ndim = ndim;
  dl.shape = malloc(sizeof(int64_t) * (size_t)(ndim > 0 ? ndim : 1));
  dl.strides = malloc(sizeof(int64_t) * (size_t)(ndim > 0 ? ndim : 1));
  for (int32_t i = ndim - 1; i >= 0; i--) {
    dl.shape[i] = shape[i];
    dl.strides[i] = size;
    size *= shape[i];
  }
  double *data = malloc(sizeof(double) * (size_t)(size > 0 ? size : 1));
  for (int64_t k = 0; k < size; k++) data[k] = (double)k;
  dl.data = data;
  dl.device.device_type = kDLCPU;
  dl.dtype.code = kDLFloat;
  dl.dtype.bits = 64;
  dl.dtype.lanes = 1;
  return dl;
}

static DLManagedTensorVersioned *make_versioned(int32_t ndim, const int64_t *shape) {
  DLManagedTensorVersioned *mt = calloc(1, sizeof *mt);
  mt->version.major = 1;
  mt->version.minor = 3;
  mt->deleter = delete_versioned;
  mt->dl_tensor = make_dl(ndim, shape);
  return mt;
}

static DLManagedTensor *make_legacy(int32_t ndim, const int64_t *shape) {
  DLManagedTensor *mt = calloc(1, sizeof *mt);
  mt->deleter = delete_legacy;
  mt->dl_tensor = make_dl(ndim, shape);
  return mt;
}

static const int64_t SHAPE[2] = {3, 4};

/* ---- imports ------------------------------------------------------------- */

static void valid_imports_delete_once_after_the_last_view(void) {
  int before = atomic_load(&deletes);
  dlv_tensor *t = NULL, *v = NULL;
  CHECK(dlv_tensor_from_dlpack(make_versioned(2, SHAPE), NULL, &t) == DLV_OK);
  CHECK(dlv_tensor_slice(t, 1, 1, DLV_NONE, 2, &v) == DLV_OK);
  dlv_tensor_free(t);
  CHECK(atomic_load(&deletes) == before); /* the view keeps it alive */
  int64_t idx[2] = {2, 1};
  double x = 0;
  CHECK(dlv_tensor_get_f64(v, idx, &x) == DLV_OK && x == 11.0); /* row 2, column 3 */
  dlv_tensor_free(v);
  CHECK(atomic_load(&deletes) == before + 1);

  /* Legacy: read-only unless trusted. */
  CHECK(dlv_tensor_from_dlpack_legacy(make_legacy(2, SHAPE), NULL, &t) == DLV_OK);
  CHECK((dlv_tensor_flags(t) & DLV_FLAG_WRITEABLE) == 0);
  CHECK(dlv_tensor_set_f64(t, idx, 1.0) == DLV_ERR_READ_ONLY);
  dlv_tensor_free(t);
  CHECK(atomic_load(&deletes) == before + 2);

  /* copy=ALWAYS: the producer's tensor is released during the call. */
  dlv_import_options always = {DLV_COPY_ALWAYS, false};
  CHECK(dlv_tensor_from_dlpack(make_versioned(2, SHAPE), &always, &t) == DLV_OK);
  CHECK(atomic_load(&deletes) == before + 3);
  CHECK(dlv_tensor_get_f64(t, idx, &x) == DLV_OK && x == 9.0);
  dlv_tensor_free(t);
}

/* Every failure deletes exactly once, before returning, and never touches
 * the descriptor afterwards (it is freed memory by then). */
static void invalid_imports_delete_exactly_once(void) {
  dlv_tensor *t = (dlv_tensor *)0x1;
  int before = atomic_load(&deletes);
  int expected = before;

  DLManagedTensorVersioned *mt = make_versioned(2, SHAPE);
  mt->version.major = 2;
  CHECK(dlv_tensor_from_dlpack(mt, NULL, &t) == DLV_ERR_VERSION);
  CHECK(atomic_load(&deletes) == ++expected);

  mt = make_versioned(2, SHAPE);
  mt->version.major = 0;
  mt->version.minor = 8;
  CHECK(dlv_tensor_from_dlpack(mt, NULL, &t) == DLV_ERR_VERSION);
  CHECK(strstr(dlv_last_error(), "0.8") != NULL);
  CHECK(atomic_load(&deletes) == ++expected);

  mt = make_versioned(2, SHAPE);
  mt->dl_tensor.ndim = 65;
  CHECK(dlv_tensor_from_dlpack(mt, NULL, &t) == DLV_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&deletes) == ++expected);

  mt = make_versioned(2, SHAPE);
  mt->dl_tensor.dtype.lanes = 4;
  CHECK(dlv_tensor_from_dlpack(mt, NULL, &t) == DLV_ERR_UNSUPPORTED_DTYPE);
  CHECK(atomic_load(&deletes) == ++expected);

  mt = make_versioned(2, SHAPE);
  mt->dl_tensor.shape[1] = -4;
  CHECK(dlv_tensor_from_dlpack(mt, NULL, &t) == DLV_ERR_INVALID_ARGUMENT);
  CHECK(strstr(dlv_last_error(), "-4") != NULL);
  CHECK(atomic_load(&deletes) == ++expected);

  mt = make_versioned(2, SHAPE);
  mt->dl_tensor.strides[0] = INT64_MAX / 2;
  CHECK(dlv_tensor_from_dlpack(mt, NULL, &t) == DLV_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&deletes) == ++expected);

  mt = make_versioned(2, SHAPE);
  mt->dl_tensor.byte_offset = UINT64_MAX;
  CHECK(dlv_tensor_from_dlpack(mt, NULL, &t) == DLV_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&deletes) == ++expected);

  mt = make_versioned(2, SHAPE);
  CHECK(dlv_tensor_from_dlpack(mt, NULL, NULL) == DLV_ERR_NULL_ARGUMENT);
  CHECK(atomic_load(&deletes) == ++expected);

  dlv_import_options bad = {7, false};
  CHECK(dlv_tensor_from_dlpack(make_versioned(2, SHAPE), &bad, &t) == DLV_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&deletes) == ++expected);

  DLManagedTensor *lmt = make_legacy(2, SHAPE);
  lmt->dl_tensor.ndim = -1;
  CHECK(dlv_tensor_from_dlpack_legacy(lmt, NULL, &t) == DLV_ERR_INVALID_ARGUMENT);
  CHECK(atomic_load(&deletes) == ++expected);

  lmt = make_legacy(2, SHAPE);
  lmt->dl_tensor.dtype.code = 99;
  CHECK(dlv_tensor_from_dlpack_legacy(lmt, NULL, &t) == DLV_ERR_UNSUPPORTED_DTYPE);
  CHECK(atomic_load(&deletes) == ++expected);

  CHECK(dlv_tensor_from_dlpack(NULL, NULL, &t) == DLV_ERR_NULL_ARGUMENT);
  CHECK(atomic_load(&deletes) == expected);
  CHECK(t == (dlv_tensor *)0x1); /* never written on failure */
}

/* ---- threads ------------------------------------------------------------- */

typedef struct {
  DLManagedTensorVersioned *export_in;
  dlv_tensor *view_in;
  dlv_tensor *import_out;
} handoff;

static void *other_thread(void *arg) {
  handoff *h = arg;
  /* Import another thread's export, and drop another thread's last view. */
  CHECK(dlv_tensor_from_dlpack(h->export_in, NULL, &h->import_out) == DLV_OK);
  dlv_tensor_free(h->view_in);
  return NULL;
}

static void *delete_on_this_thread(void *arg) {
  DLManagedTensor *mt = arg;
  mt->deleter(mt);
  return NULL;
}

static atomic_int released;
static void release_buffer(void *ctx) {
  atomic_fetch_add(&released, 1);
  free(ctx);
}

static void exports_and_releases_cross_threads(void) {
  double *mem = malloc(sizeof(double) * 12);
  for (int k = 0; k < 12; k++) mem[k] = k;
  dlv_tensor *t = NULL, *v = NULL;
  DLDataType f64 = {kDLFloat, 64, 1};
  DLDevice cpu = {kDLCPU, 0};
  CHECK(dlv_tensor_from_buffer(mem, f64, cpu, 2, SHAPE, NULL, true, release_buffer, mem, &t) == DLV_OK);
  CHECK(dlv_tensor_transpose(t, &v) == DLV_OK);
  handoff h = {NULL, v, NULL};
  CHECK(dlv_tensor_to_dlpack(t, NULL, &h.export_in) == DLV_OK);
  dlv_tensor_free(t); /* the export and the view keep the memory alive */
  pthread_t th;
  CHECK(pthread_create(&th, NULL, other_thread, &h) == 0);
  pthread_join(th, NULL);
  CHECK(atomic_load(&released) == 0);
  int64_t idx[2] = {2, 3};
  double x = 0;
  CHECK(dlv_tensor_get_f64(h.import_out, idx, &x) == DLV_OK && x == 11.0);
  dlv_tensor_free(h.import_out);
  CHECK(atomic_load(&released) == 1);

  /* A legacy export deleted on another thread. */
  dlv_tensor *z = NULL;
  CHECK(dlv_tensor_zeros(f64, 2, SHAPE, DLV_ORDER_C, &z) == DLV_OK);
  DLManagedTensor *lmt = NULL;
  CHECK(dlv_tensor_to_dlpack_legacy(z, NULL, &lmt) == DLV_OK);
  dlv_tensor_free(z);
  pthread_t th2;
  CHECK(pthread_create(&th2, NULL, delete_on_this_thread, lmt) == 0);
  pthread_join(th2, NULL);
}

int main(void) {
  uint64_t live = dlv_live_storage_count();
  valid_imports_delete_once_after_the_last_view();
  invalid_imports_delete_exactly_once();
  exports_and_releases_cross_threads();
  CHECK(dlv_live_storage_count() == live);
  if (failures) {
    fprintf(stderr, "ownership: %d check(s) failed\n", failures);
    return 1;
  }
  printf("ownership: all checks passed\n");
  return 0;
}
