/* Map a .npy file without copying it and print what it holds.
 *
 *   npy_map FILE.npy   maps FILE.npy read-only and describes it
 *   npy_map            first writes a small Fortran-order file with
 *                      dlv_npy_save, then maps that one (and removes it)
 *
 * The mapping is private copy-on-write: nothing done to the tensor (or to
 * a DLPack export of it) can change the file. It is unmapped when the last
 * handle and export are gone, so a slice outlives the handle it came from. */
#define _POSIX_C_SOURCE 200809L
#include "dlview.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fail(const char *what, dlv_status s) {
  fprintf(stderr, "%s failed: %s: %s\n", what, dlv_status_name(s), dlv_last_error());
  return 1;
}

/* Writes a 3x4 float32 tensor in Fortran order to a new temporary file;
 * returns 0 and the file's path in `path` on success. */
static int write_demo_file(char *path, size_t len) {
  const char *dir = getenv("TMPDIR");
  snprintf(path, len, "%s/dlview_npy_map_XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  close(fd);

  DLDataType f32 = {kDLFloat, 32, 1};
  int64_t shape[2] = {3, 4};
  dlv_tensor *t = NULL;
  dlv_status s = dlv_tensor_zeros(f32, 2, shape, DLV_ORDER_F, &t);
  if (s != DLV_OK) return fail("dlv_tensor_zeros", s);
  for (int64_t i = 0; i < 3; i++) {
    for (int64_t j = 0; j < 4; j++) {
      int64_t index[2] = {i, j};
      dlv_tensor_set_f64(t, index, (double)(10 * i + j));
    }
  }
  s = dlv_npy_save(t, path); /* fortran_order: True, like numpy.save */
  dlv_tensor_free(t);
  if (s != DLV_OK) {
    remove(path);
    return fail("dlv_npy_save", s);
  }
  printf("wrote %s\n", path);
  return 0;
}

int main(int argc, char **argv) {
  char tmp[4096];
  const char *path = argc > 1 ? argv[1] : NULL;
  if (path == NULL) {
    if (write_demo_file(tmp, sizeof tmp) != 0) return 1;
    path = tmp;
  }

  dlv_tensor *t = NULL;
  dlv_status s = dlv_npy_load(path, DLV_MMAP_READ, &t);
  if (s != DLV_OK) {
    if (path == tmp) remove(tmp);
    return fail("dlv_npy_load", s);
  }

  char text[1024];
  dlv_tensor_describe(t, text, sizeof text);
  printf("== %s (mapped read-only)\n%s", path, text);

  /* A view of the first row: it keeps the mapping alive after `t` is freed. */
  dlv_tensor *row = NULL;
  if (dlv_tensor_ndim(t) > 0 && dlv_tensor_shape(t)[0] > 0 &&
      dlv_tensor_select(t, 0, 0, &row) == DLV_OK) {
    dlv_tensor_free(t);
    t = NULL;
    dlv_tensor_describe(row, text, sizeof text);
    printf("== first entry along axis 0 (a view; the file stays mapped)\n%s", text);
    if (dlv_tensor_ndim(row) == 1) {
      printf("values:");
      int64_t n = dlv_tensor_shape(row)[0];
      for (int64_t j = 0; j < n && j < 8; j++) {
        double v = 0.0;
        if (dlv_tensor_get_f64(row, &j, &v) != DLV_OK) break; /* e.g. complex */
        printf(" %g", v);
      }
      printf("%s\n", n > 8 ? " ..." : "");
    }
  }
  dlv_tensor_free(row);
  dlv_tensor_free(t); /* NULL is fine; the file is unmapped here */

  if (path == tmp) remove(tmp);
  return 0;
}
