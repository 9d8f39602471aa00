/* Built against an installed dlview with `cc $(pkg-config --cflags --libs dlview)`. */
#include <dlview.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  if (strcmp(dlv_version(), DLVIEW_VERSION_STRING) != 0) {
    fprintf(stderr, "header %s but library %s\n", DLVIEW_VERSION_STRING, dlv_version());
    return 1;
  }
  int64_t shape[2] = {2, 3};
  DLDataType f32 = {kDLFloat, 32, 1};
  dlv_tensor *t = NULL, *col = NULL;
  if (dlv_tensor_zeros(f32, 2, shape, DLV_ORDER_C, &t) != DLV_OK) return 1;
  if (dlv_tensor_select(t, 1, 2, &col) != DLV_OK) return 1;
  printf("pkg-config consumer: dlview %s, column view of shape (%lld,) stride %lld\n", dlv_version(),
         (long long)dlv_tensor_shape(col)[0], (long long)dlv_tensor_strides(col)[0]);
  dlv_tensor_free(col);
  dlv_tensor_free(t);
  return 0;
}
