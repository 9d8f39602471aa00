/*
 * Threads that end inside a dlview call, and calls made while a thread
 * ends (RULES.md §8: no call aborts the process).
 *
 * 1. A foreign forced unwind passing through: a release callback or a
 *    DLPack deleter that calls pthread_exit() while dlview runs it, as
 *    CPython (3.11+) does to a thread that takes the GIL during
 *    interpreter shutdown. Before the fix the panic boundary caught the
 *    forced unwind and glibc aborted ("FATAL: exception not rethrown").
 *    Each scenario runs on its own thread; the thread must end (joined,
 *    with PTHREAD_CANCELED-free NULL result from pthread_exit), the
 *    callback must have run exactly once, and nothing may leak (valgrind).
 * 2. Calls from a pthread_key_create destructor, which runs after the
 *    thread's Rust thread-locals are destroyed: a failing call still
 *    returns its status (the message may be unavailable: never NULL),
 *    and creating and freeing tensors works (no spare block kept).
 */
#include <pthread.h>

#include "check.h"

/* ---- 1. forced unwinds -------------------------------------------------- */

/* Set by each scenario's callback before it ends the thread. */
static int g_release_calls;
static int g_after_exit; /* code after a dlview call that should not run */
static dlv_tensor *g_out; /* a result written before the thread ended */

static void exiting_release(void *ctx) {
  g_release_calls++;
  free(ctx);
  pthread_exit(NULL);
}

/* dlv_tensor_free of the last view of wrapped memory whose release ends the
 * thread (the CPython case: dlv_py_release_object taking the GIL). */
static void *free_with_exiting_release(void *arg) {
  const int64_t shape[1] = {4};
  dlv_tensor *t = NULL;
  float *buf = (float *)calloc(4, sizeof(float));
  (void)arg;
  if (dlv_tensor_from_buffer(buf, F32, CPU, 1, shape, NULL, true, exiting_release, buf, &t) != DLV_OK) {
    free(buf);
    return (void *)1;
  }
  dlv_tensor_free(t);
  g_after_exit = 1;
  return (void *)2;
}

/* A DLPack producer's tensor whose deleter ends the thread. Every part is a
 * separate heap block, freed by the deleter. */
static void exiting_deleter(DLManagedTensorVersioned *mt) {
  g_release_calls++;
  free(mt->dl_tensor.data);
  free(mt->dl_tensor.shape);
  free(mt);
  pthread_exit(NULL);
}

static DLManagedTensorVersioned *exiting_producer(int32_t ndim) {
  DLManagedTensorVersioned *mt = (DLManagedTensorVersioned *)calloc(1, sizeof(*mt));
  mt->version.major = 1;
  mt->version.minor = 1;
  mt->dl_tensor.data = calloc(4, sizeof(float));
  mt->dl_tensor.device = CPU;
  mt->dl_tensor.ndim = ndim;
  mt->dl_tensor.dtype = F32;
  mt->dl_tensor.shape = (int64_t *)malloc(sizeof(int64_t));
  mt->dl_tensor.shape[0] = 4;
  mt->dl_tensor.strides = NULL;
  mt->deleter = exiting_deleter;
  return mt;
}

/* The imported tensor's last view is freed: the deleter ends the thread. */
static void *free_with_exiting_deleter(void *arg) {
  dlv_tensor *t = NULL;
  (void)arg;
  if (dlv_tensor_from_dlpack(exiting_producer(1), NULL, &t) != DLV_OK) return (void *)1;
  dlv_tensor_free(t);
  g_after_exit = 1;
  return (void *)2;
}

/* A refused import runs the deleter before returning: it ends the thread
 * inside dlv_tensor_from_dlpack (ndim 65 is invalid). */
static void *failed_import_with_exiting_deleter(void *arg) {
  dlv_tensor *t = NULL;
  (void)arg;
  (void)dlv_tensor_from_dlpack(exiting_producer(65), NULL, &t);
  g_after_exit = 1;
  return (void *)2;
}

/* A copying import (copy=ALWAYS) releases the producer at once, after the
 * copy is made and handed out: the copy is there for the joining thread. */
static void *copying_import_with_exiting_deleter(void *arg) {
  dlv_import_options opts;
  (void)arg;
  memset(&opts, 0, sizeof opts);
  opts.copy = DLV_COPY_ALWAYS;
  (void)dlv_tensor_from_dlpack(exiting_producer(1), &opts, &g_out);
  g_after_exit = 1;
  return (void *)2;
}

/* A consumer deletes dlview's export, the last reference to wrapped memory
 * whose release ends the thread: inside dlview's own DLPack deleter. */
static void *export_deleter_with_exiting_release(void *arg) {
  const int64_t shape[1] = {4};
  dlv_tensor *t = NULL;
  DLManagedTensorVersioned *mt = NULL;
  float *buf = (float *)calloc(4, sizeof(float));
  (void)arg;
  if (dlv_tensor_from_buffer(buf, F32, CPU, 1, shape, NULL, true, exiting_release, buf, &t) != DLV_OK) {
    free(buf);
    return (void *)1;
  }
  if (dlv_tensor_to_dlpack(t, NULL, &mt) != DLV_OK) return (void *)1;
  dlv_tensor_free(t);
  mt->deleter(mt);
  g_after_exit = 1;
  return (void *)2;
}

static void run_exiting(void *(*body)(void *), const char *name) {
  pthread_t th;
  void *result = (void *)3;
  uint64_t live = dlv_live_storage_count();
  g_release_calls = 0;
  g_after_exit = 0;
  g_out = NULL;
  if (!CHECK(pthread_create(&th, NULL, body, NULL) == 0)) return;
  CHECK(pthread_join(th, &result) == 0);
  if (result != NULL) fprintf(stderr, "scenario %s: thread result %p\n", name, result);
  CHECK(result == NULL);         /* the thread ended in pthread_exit(NULL) */
  CHECK_I64(g_release_calls, 1); /* the callback ran, once */
  CHECK_I64(g_after_exit, 0);    /* and the call never returned */
  dlv_tensor_free(g_out);
  if (!CHECK_I64(dlv_live_storage_count(), live)) fprintf(stderr, "scenario %s leaked a storage\n", name);
}

static void test_forced_unwind_through_dlview(void) {
  run_exiting(free_with_exiting_release, "free, release callback");
  run_exiting(free_with_exiting_deleter, "free, DLPack deleter");
  run_exiting(failed_import_with_exiting_deleter, "refused import, DLPack deleter");
  run_exiting(copying_import_with_exiting_deleter, "copying import, DLPack deleter");
  run_exiting(export_deleter_with_exiting_release, "export deleter, release callback");
}

/* ---- 2. calls from a thread-exit destructor ----------------------------- */

typedef struct destructor_log {
  int ran;
  dlv_status failing; /* a call that fails */
  int message_ok;     /* dlv_last_error() is a string */
  dlv_status created; /* a tensor made and freed */
  int released;       /* a wrapped buffer's release ran */
} destructor_log;

static destructor_log g_dlog;
static pthread_key_t g_key;

static void counting_release(void *ctx) {
  (void)ctx;
  g_dlog.released++;
}

static void exit_destructor(void *value) {
  const int64_t shape[2] = {2, 3};
  dlv_tensor *t = NULL;
  dlv_tensor *w = NULL;
  float buf[4];
  (void)value;
  g_dlog.ran = 1;
  g_dlog.failing = dlv_tensor_empty(F32, 2, shape, DLV_ORDER_C, NULL);
  g_dlog.message_ok = dlv_last_error() != NULL;
  g_dlog.created = dlv_tensor_zeros(F32, 2, shape, DLV_ORDER_C, &t);
  if (g_dlog.created == DLV_OK) dlv_tensor_free(t);
  if (dlv_tensor_from_buffer(buf, F32, CPU, 1, shape, NULL, true, counting_release, NULL, &w) == DLV_OK) {
    dlv_tensor_free(w);
  }
}

static void *thread_with_exit_destructor(void *arg) {
  const int64_t shape[1] = {3};
  dlv_tensor *t = NULL;
  (void)arg;
  /* Use the thread-locals first (last error, spare handle), so they exist
   * and are destroyed before the key's destructor runs. */
  (void)dlv_tensor_empty(F32, 1, shape, DLV_ORDER_C, NULL);
  if (dlv_tensor_zeros(F32, 1, shape, DLV_ORDER_C, &t) == DLV_OK) dlv_tensor_free(t);
  pthread_setspecific(g_key, (void *)1);
  return NULL;
}

static void test_calls_from_thread_exit_destructor(void) {
  pthread_t th;
  uint64_t live = dlv_live_storage_count();
  memset(&g_dlog, 0, sizeof g_dlog);
  if (!CHECK(pthread_key_create(&g_key, exit_destructor) == 0)) return;
  CHECK(pthread_create(&th, NULL, thread_with_exit_destructor, NULL) == 0);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK_I64(g_dlog.ran, 1);
  CHECK_I64(g_dlog.failing, DLV_ERR_NULL_ARGUMENT);
  CHECK_I64(g_dlog.message_ok, 1);
  CHECK_I64(g_dlog.created, DLV_OK);
  CHECK_I64(g_dlog.released, 1);
  CHECK_I64(dlv_live_storage_count(), live);
  pthread_key_delete(g_key);
}

int main(int argc, char **argv) {
  (void)argc;
  (void)SENTINEL; /* check.h's, unused here */
  test_forced_unwind_through_dlview();
  test_calls_from_thread_exit_destructor();
  return check_summary(argv[0]);
}
