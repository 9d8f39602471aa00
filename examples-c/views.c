/*
 * views.c: zero-copy views of one tensor with dlview's C API.
 *
 * Makes a 3x4 float32 tensor, takes views of it (a slice with a negative
 * step, the transpose, a broadcast), prints each view's description and
 * elements, shows that a write through one view is seen through another,
 * and that writing to a read-only (broadcast) view is refused.
 *
 * Build (from the repository root, after `cargo build --release`):
 *   cc -std=c11 -Iinclude examples-c/views.c -Ltarget/release \
 *      -Wl,-rpath,$PWD/target/release -ldlview -o views
 * or just run `make demo`.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dlview.h"

/* Every fallible dlview call returns a dlv_status; on failure,
 * dlv_last_error() says what went wrong. */
static int ok(dlv_status status, const char *what) {
  if (status == DLV_OK) return 1;
  fprintf(stderr, "%s failed: %s: %s\n", what, dlv_status_name(status), dlv_last_error());
  return 0;
}

/* Prints dlv_tensor_describe's text, sized with a first call (like snprintf). */
static int print_description(const char *title, const dlv_tensor *t) {
  size_t len = dlv_tensor_describe(t, NULL, 0);
  char *text = (char *)malloc(len + 1);
  if (text == NULL) return 0;
  dlv_tensor_describe(t, text, len + 1);
  printf("\n== %s\n%s", title, text);
  free(text);
  return 1;
}

/* Prints the elements of a 2-d tensor, one row per line. */
static int print_table(const dlv_tensor *t) {
  const int64_t *shape = dlv_tensor_shape(t);
  int64_t index[2];
  if (dlv_tensor_ndim(t) != 2) return 0;
  for (index[0] = 0; index[0] < shape[0]; index[0]++) {
    printf("   ");
    for (index[1] = 0; index[1] < shape[1]; index[1]++) {
      double value = 0.0;
      if (!ok(dlv_tensor_get_f64(t, index, &value), "dlv_tensor_get_f64")) return 0;
      printf(" %5.1f", value);
    }
    printf("\n");
  }
  return 1;
}

int main(void) {
  const int64_t shape[2] = {3, 4};
  const int64_t broadcast_shape[2] = {3, 4};
  dlv_tensor *t = NULL, *reversed = NULL, *transposed = NULL, *row = NULL, *broadcast = NULL;
  DLDataType float32;
  float *data = NULL;
  void *writable = NULL;
  double seen = 0.0;
  dlv_status status;
  int64_t i, j;
  int exit_code = 1;

  float32.code = kDLFloat;
  float32.bits = 32;
  float32.lanes = 1;

  printf("dlview %s\n", dlv_version());

  /* A new 3x4 float32 tensor in C (row-major) order, owned by us. */
  if (!ok(dlv_tensor_empty(float32, 2, shape, DLV_ORDER_C, &t), "dlv_tensor_empty")) goto done;
  /* Fill it through its data pointer: element [i][j] holds 10*i + j. */
  if (!ok(dlv_tensor_data_mut(t, &writable), "dlv_tensor_data_mut")) goto done;
  data = (float *)writable;
  for (i = 0; i < 3; i++) {
    for (j = 0; j < 4; j++) data[i * 4 + j] = (float)(10 * i + j);
  }
  if (!print_description("t: a new 3x4 tensor", t) || !print_table(t)) goto done;

  /* t[:, ::-1]: every column, last to first. A view: negative stride, and
   * its data pointer is t's last column. DLV_NONE is an omitted bound. */
  if (!ok(dlv_tensor_slice(t, 1, DLV_NONE, DLV_NONE, -1, &reversed), "dlv_tensor_slice")) goto done;
  if (!print_description("t[:, ::-1]: columns reversed (a view)", reversed) || !print_table(reversed)) goto done;

  /* t.T: the strides swap, nothing moves. */
  if (!ok(dlv_tensor_transpose(t, &transposed), "dlv_tensor_transpose")) goto done;
  if (!print_description("t.T: transposed (a view)", transposed) || !print_table(transposed)) goto done;

  /* Row 1 broadcast to 3x4: stride 0 repeats it, so the view is read-only. */
  if (!ok(dlv_tensor_select(t, 0, 1, &row), "dlv_tensor_select")) goto done;
  if (!ok(dlv_tensor_broadcast_to(row, 2, broadcast_shape, &broadcast), "dlv_tensor_broadcast_to")) goto done;
  if (!print_description("t[1] broadcast to (3, 4) (a read-only view)", broadcast) || !print_table(broadcast)) goto done;

  /* All of these share t's memory: a write through one is seen by all. */
  {
    const int64_t at_transposed[2] = {3, 0}; /* t.T[3][0] is t[0][3] ... */
    const int64_t at_reversed[2] = {0, 0};   /* ... which is t[:, ::-1][0][0] */
    if (!ok(dlv_tensor_set_f64(transposed, at_transposed, 99.0), "dlv_tensor_set_f64")) goto done;
    if (!ok(dlv_tensor_get_f64(reversed, at_reversed, &seen), "dlv_tensor_get_f64")) goto done;
    printf("\nwrote 99 through t.T[3][0]; t[:, ::-1][0][0] now reads %.1f, t's memory holds %.1f\n", seen,
           (double)data[3]);
    if (seen != 99.0 || data[3] != 99.0f) {
      fprintf(stderr, "the write was not seen through the other view\n");
      goto done;
    }
  }

  /* Writing to the broadcast view is refused, not silently repeated. */
  {
    const int64_t at[2] = {2, 2};
    status = dlv_tensor_set_f64(broadcast, at, -1.0);
    printf("writing to the broadcast view: %s: %s\n", dlv_status_name(status), dlv_last_error());
    if (status != DLV_ERR_READ_ONLY) {
      fprintf(stderr, "expected DLV_ERR_READ_ONLY\n");
      goto done;
    }
  }
  exit_code = 0;

done:
  /* Every handle is ours to free, in any order; the memory goes with the
   * last one. dlv_tensor_free(NULL) is a no-op. */
  dlv_tensor_free(broadcast);
  dlv_tensor_free(row);
  dlv_tensor_free(transposed);
  dlv_tensor_free(reversed);
  dlv_tensor_free(t);
  return exit_code;
}
