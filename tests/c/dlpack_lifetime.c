/* DLPack lifetimes (RULES.md §1, §4, §5, GitHub issue #3): an export keeps
 * its memory alive after every handle is freed; deleters and the last
 * handle may run on any thread; imports and exports freed in any order
 * release each owner exactly once (counted). Uses pthreads.
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
#include <pthread.h>

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

/* ---- counting owners ----------------------------------------------------- */

static int g_released = 0;         /* from_buffer release callbacks */
static int g_producer_deleted = 0; /* hand-built producer deleters */

static void release_buffer(void *ctx) {
  __atomic_fetch_add(&g_released, 1, __ATOMIC_SEQ_CST);
  free(ctx);
}

static int released(void) { return __atomic_load_n(&g_released, __ATOMIC_SEQ_CST); }
static int producer_deleted(void) { return __atomic_load_n(&g_producer_deleted, __ATOMIC_SEQ_CST); }

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

/* A writeable 4x6 float64 tensor over malloc'd 0..23 with a counting release. */
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

/* A hand-built versioned producer: one malloc block holding the struct, its
 * shape/strides and 24 doubles 0..23 (as 4x6); the deleter counts and frees. */
typedef struct producer_block {
  DLManagedTensorVersioned mt;
  int64_t shape[2];
  int64_t strides[2];
  double data[24];
} producer_block;

static void producer_deleter(DLManagedTensorVersioned *self) {
  REQUIRE(self != NULL && self->manager_ctx == (void *)self);
  __atomic_fetch_add(&g_producer_deleted, 1, __ATOMIC_SEQ_CST);
  free(self); /* the block starts with the struct */
}

static DLManagedTensorVersioned *new_producer(void) {
  producer_block *b = (producer_block *)calloc(1, sizeof(producer_block));
  int i;
  REQUIRE(b != NULL);
  for (i = 0; i < 24; i++) b->data[i] = (double)i;
  b->shape[0] = 4;
  b->shape[1] = 6;
  b->strides[0] = 6;
  b->strides[1] = 1;
  b->mt.version.major = 1;
  b->mt.version.minor = 3;
  b->mt.manager_ctx = &b->mt;
  b->mt.deleter = producer_deleter;
  b->mt.dl_tensor.data = b->data;
  b->mt.dl_tensor.device = cpu_device();
  b->mt.dl_tensor.ndim = 2;
  b->mt.dl_tensor.dtype = f64_dtype();
  b->mt.dl_tensor.shape = b->shape;
  b->mt.dl_tensor.strides = b->strides;
  return &b->mt;
}

static double get2(const dlv_tensor *t, int64_t i, int64_t j) {
  int64_t idx[2];
  double v = -1.0;
  idx[0] = i;
  idx[1] = j;
  CHECK_OK(dlv_tensor_get_f64(t, idx, &v));
  return v;
}

/* ---- running things on another thread ----------------------------------- */

static void *run_versioned_deleter(void *arg) {
  DLManagedTensorVersioned *mt = (DLManagedTensorVersioned *)arg;
  mt->deleter(mt);
  return NULL;
}

static void *run_legacy_deleter(void *arg) {
  DLManagedTensor *mt = (DLManagedTensor *)arg;
  mt->deleter(mt);
  return NULL;
}

static void *free_handle(void *arg) {
  dlv_tensor_free((dlv_tensor *)arg);
  return NULL;
}

static void on_thread(void *(*fn)(void *), void *arg) {
  pthread_t th;
  REQUIRE(pthread_create(&th, NULL, fn, arg) == 0);
  REQUIRE(pthread_join(th, NULL) == 0);
}

/* ---- the tests ----------------------------------------------------------- */

/* A view exported, every handle freed: the export alone keeps the memory;
 * its deleter, run on another thread, releases it exactly once. */
static void test_export_outlives_handles(void) {
  uint64_t live = dlv_live_storage_count();
  int rel = released();
  double *data = NULL;
  dlv_tensor *base = new_base(&data);
  dlv_tensor *rows = NULL, *view = NULL;
  DLManagedTensorVersioned *mt = NULL;
  DLManagedTensor *lmt = NULL;
  const double *p;

  CHECK_OK(dlv_tensor_slice(base, 0, 1, 3, 1, &rows));
  CHECK_OK(dlv_tensor_transpose(rows, &view));
  CHECK_OK(dlv_tensor_to_dlpack(view, NULL, &mt));
  CHECK_OK(dlv_tensor_to_dlpack_legacy(rows, NULL, &lmt));
  REQUIRE(mt != NULL && lmt != NULL);
  dlv_tensor_free(view);
  dlv_tensor_free(base);
  dlv_tensor_free(rows);
  CHECK_EQ(released(), rel);
  CHECK_EQ(dlv_live_storage_count(), live + 1);

  /* Still readable: element [j, i] of the transposed rows 1..2. */
  p = (const double *)mt->dl_tensor.data;
  CHECK(p == data + 6);
  CHECK_EQ(mt->dl_tensor.shape[0], 6);
  CHECK_EQ(mt->dl_tensor.shape[1], 2);
  CHECK(p[5 * mt->dl_tensor.strides[0] + 1 * mt->dl_tensor.strides[1]] == 17.0);
  CHECK(((const double *)lmt->dl_tensor.data)[7] == 13.0);

  on_thread(run_versioned_deleter, mt);
  CHECK_EQ(released(), rel); /* the legacy export still holds it */
  on_thread(run_legacy_deleter, lmt);
  CHECK_EQ(released(), rel + 1);
  CHECK_EQ(dlv_live_storage_count(), live);
}

/* Many exports of one storage, their deleters racing on several threads. */
static void test_concurrent_deleters(void) {
  enum { N = 8 };
  uint64_t live = dlv_live_storage_count();
  int rel = released();
  dlv_tensor *base = new_base(NULL);
  DLManagedTensorVersioned *mts[N];
  pthread_t th[N];
  int i;

  for (i = 0; i < N; i++) {
    mts[i] = NULL;
    CHECK_OK(dlv_tensor_to_dlpack(base, NULL, &mts[i]));
    REQUIRE(mts[i] != NULL);
  }
  dlv_tensor_free(base);
  for (i = 0; i < N; i++) REQUIRE(pthread_create(&th[i], NULL, run_versioned_deleter, mts[i]) == 0);
  for (i = 0; i < N; i++) REQUIRE(pthread_join(th[i], NULL) == 0);
  CHECK_EQ(released(), rel + 1);
  CHECK_EQ(dlv_live_storage_count(), live);
}

/* Export, import back, and free the two sides in every order. */
static void test_import_free_orders(void) {
  uint64_t live = dlv_live_storage_count();
  int rel = released();
  int order;

  for (order = 0; order < 3; order++) {
    dlv_tensor *base = new_base(NULL);
    dlv_tensor *back = NULL, *sub = NULL;
    DLManagedTensorVersioned *mt = NULL;
    CHECK_OK(dlv_tensor_to_dlpack(base, NULL, &mt));
    CHECK_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
    REQUIRE(back != NULL);
    CHECK_OK(dlv_tensor_select(back, 1, 4, &sub));
    REQUIRE(sub != NULL);
    switch (order) {
      case 0: /* producer handle first */
        dlv_tensor_free(base);
        CHECK(get2(back, 3, 5) == 23.0);
        dlv_tensor_free(back);
        CHECK_EQ(released(), rel);
        dlv_tensor_free(sub);
        break;
      case 1: /* import first */
        dlv_tensor_free(back);
        dlv_tensor_free(sub);
        CHECK_EQ(released(), rel);
        CHECK(get2(base, 3, 5) == 23.0);
        dlv_tensor_free(base);
        break;
      default: /* interleaved, the last on another thread */
        dlv_tensor_free(back);
        dlv_tensor_free(base);
        CHECK_EQ(released(), rel);
        {
          int64_t i = 2;
          double v = 0.0;
          CHECK_OK(dlv_tensor_get_f64(sub, &i, &v));
          CHECK(v == 16.0);
        }
        on_thread(free_handle, sub);
        break;
    }
    CHECK_EQ(released(), rel + 1);
    rel = released();
  }

  /* The same through the legacy ABI (a foreign import, not a reclaim). */
  for (order = 0; order < 2; order++) {
    dlv_tensor *base = new_base(NULL);
    dlv_tensor *back = NULL;
    DLManagedTensor *lmt = NULL;
    uint64_t with_base = dlv_live_storage_count();
    CHECK_OK(dlv_tensor_to_dlpack_legacy(base, NULL, &lmt));
    CHECK_OK(dlv_tensor_from_dlpack_legacy(lmt, NULL, &back));
    REQUIRE(back != NULL);
    CHECK(dlv_tensor_data(back) == dlv_tensor_data(base));
    CHECK(dlv_live_storage_count() >= with_base);
    if (order == 0) {
      dlv_tensor_free(base);
      CHECK_EQ(released(), rel);
      CHECK(get2(back, 2, 2) == 14.0);
      on_thread(free_handle, back);
    } else {
      dlv_tensor_free(back);
      CHECK_EQ(released(), rel);
      dlv_tensor_free(base);
    }
    CHECK_EQ(released(), rel + 1);
    rel = released();
  }
  CHECK_EQ(dlv_live_storage_count(), live);
}

/* A foreign tensor: its deleter runs once, when the last view dies, on
 * whatever thread that is -- also when the last reference is an export. */
static void test_foreign_lifetime(void) {
  uint64_t live = dlv_live_storage_count();
  int del = producer_deleted();
  dlv_tensor *t = NULL, *view = NULL;
  DLManagedTensorVersioned *mt = NULL;
  DLManagedTensor *lmt = NULL;

  CHECK_OK(dlv_tensor_from_dlpack(new_producer(), NULL, &t));
  REQUIRE(t != NULL);
  CHECK_OK(dlv_tensor_slice(t, 1, 2, 4, 1, &view));
  dlv_tensor_free(t);
  CHECK_EQ(producer_deleted(), del);
  CHECK(get2(view, 3, 1) == 21.0);
  on_thread(free_handle, view);
  CHECK_EQ(producer_deleted(), del + 1);

  /* Re-exported: the producer's memory lives until our export's deleter. */
  t = NULL;
  view = NULL;
  CHECK_OK(dlv_tensor_from_dlpack(new_producer(), NULL, &t));
  REQUIRE(t != NULL);
  CHECK_OK(dlv_tensor_flip(t, 0, &view));
  {
    dlv_export_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.allow_negative_strides = true;
    CHECK_OK(dlv_tensor_to_dlpack(view, &opts, &mt));
  }
  CHECK_OK(dlv_tensor_to_dlpack_legacy(t, NULL, &lmt));
  REQUIRE(mt != NULL && lmt != NULL);
  dlv_tensor_free(view);
  dlv_tensor_free(t);
  CHECK_EQ(producer_deleted(), del + 1);
  CHECK(((const double *)mt->dl_tensor.data)[0] == 18.0);
  CHECK(((const double *)mt->dl_tensor.data)[mt->dl_tensor.strides[0]] == 12.0);
  on_thread(run_legacy_deleter, lmt);
  CHECK_EQ(producer_deleted(), del + 1);
  on_thread(run_versioned_deleter, mt);
  CHECK_EQ(producer_deleted(), del + 2);

  /* Imported with copy = ALWAYS: released before the call returns. */
  {
    dlv_import_options opts;
    memset(&opts, 0, sizeof(opts));
    opts.copy = DLV_COPY_ALWAYS;
    t = NULL;
    CHECK_OK(dlv_tensor_from_dlpack(new_producer(), &opts, &t));
    CHECK_EQ(producer_deleted(), del + 3);
    CHECK(get2(t, 3, 5) == 23.0);
    dlv_tensor_free(t);
  }
  CHECK_EQ(dlv_live_storage_count(), live);
}

int main(void) {
  uint64_t live = dlv_live_storage_count();
  test_export_outlives_handles();
  test_concurrent_deleters();
  test_import_free_orders();
  test_foreign_lifetime();
  CHECK_EQ(dlv_live_storage_count(), live);
  if (g_failures) {
    fprintf(stderr, "dlpack_lifetime: %d check(s) failed\n", g_failures);
    return 1;
  }
  printf("dlpack_lifetime: all checks passed\n");
  return 0;
}
