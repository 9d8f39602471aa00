/* DLPack exchange from C: what is shared, what is copied, and who frees what.
 *
 *   1. Wrap your own buffer (dlview calls your release callback once, at the end).
 *   2. Export a view as a versioned DLPack tensor: zero-copy, same pointer.
 *   3. Import it back: ownership passes to dlview, which calls the deleter.
 *   4. Negative strides are copied on export by default (PyTorch/JAX reject
 *      them), refused under DLV_COPY_NEVER, kept with allow_negative_strides.
 *   5. A read-only view cannot go out through the legacy ABI without a copy.
 */
#include "dlview.h"
#include <stdio.h>
#include <stdlib.h>

static int released = 0;
static void release_buffer(void *ctx) {
  free(ctx);
  released++;
}

#define TRY(call)                                                             \
  do {                                                                        \
    dlv_status s_ = (call);                                                   \
    if (s_ != DLV_OK) {                                                       \
      fprintf(stderr, "%s failed: %s: %s\n", #call, dlv_status_name(s_), dlv_last_error()); \
      return 1;                                                               \
    }                                                                         \
  } while (0)

static void show(const char *what, const DLManagedTensorVersioned *mt) {
  const DLTensor *t = &mt->dl_tensor;
  printf("  %-28s data=%p strides=(%lld, %lld) flags=%s%s\n", what, t->data, (long long)t->strides[0],
         (long long)t->strides[1], (mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY) ? "READ_ONLY " : "",
         (mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED) ? "IS_COPIED" : "");
}

int main(void) {
  /* 1. A caller-owned 3x4 float buffer, wrapped without copying. */
  float *buf = (float *)malloc(12 * sizeof(float));
  for (int i = 0; i < 12; i++) buf[i] = (float)i;
  int64_t shape[2] = {3, 4};
  DLDataType f32 = {kDLFloat, 32, 1};
  DLDevice cpu = {kDLCPU, 0};
  dlv_tensor *a = NULL;
  TRY(dlv_tensor_from_buffer(buf, f32, cpu, 2, shape, NULL, true, release_buffer, buf, &a));
  printf("buffer at %p wrapped as a 3x4 tensor\n", (void *)buf);

  /* 2. Export: the consumer sees our pointer, no copy. */
  DLManagedTensorVersioned *mt = NULL;
  TRY(dlv_tensor_to_dlpack(a, NULL, &mt));
  show("export of a:", mt);

  /* 3. Import: dlview owns mt now and calls its deleter when done. */
  dlv_tensor *b = NULL;
  TRY(dlv_tensor_from_dlpack(mt, NULL, &b));
  printf("  imported back: same memory = %s\n", dlv_tensor_data(b) == (const void *)buf ? "yes" : "no");

  /* 4. A reversed view has a negative stride. */
  dlv_tensor *rev = NULL;
  TRY(dlv_tensor_flip(a, 1, &rev));
  DLManagedTensorVersioned *copied = NULL, *as_is = NULL, *refused = NULL;
  TRY(dlv_tensor_to_dlpack(rev, NULL, &copied)); /* DLV_COPY_IF_NEEDED */
  show("a[:, ::-1], default:", copied);
  dlv_export_options keep = {DLV_COPY_IF_NEEDED, true};
  TRY(dlv_tensor_to_dlpack(rev, &keep, &as_is));
  show("a[:, ::-1], allow_negative:", as_is);
  dlv_export_options never = {DLV_COPY_NEVER, false};
  dlv_status s = dlv_tensor_to_dlpack(rev, &never, &refused);
  printf("  a[:, ::-1], DLV_COPY_NEVER:  %s: %s\n", dlv_status_name(s), dlv_last_error());
  copied->deleter(copied); /* exports are ours to release, exactly once */
  as_is->deleter(as_is);

  /* 5. Read-only views and the legacy ABI, which cannot say "read-only". */
  dlv_tensor *ro = NULL;
  TRY(dlv_tensor_retain(a, &ro));
  TRY(dlv_tensor_set_writeable(ro, false));
  DLManagedTensor *legacy = NULL;
  s = dlv_tensor_to_dlpack_legacy(ro, &never, &legacy);
  printf("  read-only view, legacy, NEVER: %s: %s\n", dlv_status_name(s), dlv_last_error());
  TRY(dlv_tensor_to_dlpack_legacy(ro, NULL, &legacy));
  printf("  read-only view, legacy, default: a writeable copy at %p\n", legacy->dl_tensor.data);
  legacy->deleter(legacy);

  /* Free handles in any order; the buffer is released once, at the end. */
  dlv_tensor_free(a);
  dlv_tensor_free(rev);
  dlv_tensor_free(ro);
  printf("after freeing a, rev, ro: released %d time(s) (b still views the buffer)\n", released);
  dlv_tensor_free(b);
  printf("after freeing b: released %d time(s)\n", released);
  return released == 1 ? 0 : 1;
}
