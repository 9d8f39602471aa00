/*
 * dlview without a usable CUDA driver: every CUDA operation fails with
 * DLV_ERR_DEVICE_UNAVAILABLE and a message, and nothing else changes --
 * CUDA tensors made by someone else (here at a fake address, never touched)
 * are still imported, viewed and exported, and copying their elements is
 * still DLV_ERR_UNSUPPORTED_DEVICE. tests/cuda_fake.rs runs this with no
 * driver at all, a missing DLVIEW_CUDA_DRIVER, a driver whose cuInit fails,
 * and a driver with no device.
 *
 * Usage: cuda_unavailable EXPECTED_MESSAGE_PART [zero-devices]
 */
#include "check.h"

#define CUDA0 device_of(kDLCUDA, 0)
#define FAKE_PTR ((void *)(uintptr_t)0x1000)

static const char *expected;
static int zero_devices;

static void check_unavailable(dlv_status s, const char *what, int line) {
  const char *msg = dlv_last_error();
  if (s != DLV_ERR_DEVICE_UNAVAILABLE || strstr(msg, expected) == NULL) {
    check_fail_begin(__FILE__, line);
    fprintf(stderr, "%s: got %s \"%s\", want DLV_ERR_DEVICE_UNAVAILABLE mentioning \"%s\"", what,
            dlv_status_name((uint32_t)s), msg, expected);
    check_fail_end();
  } else {
    check_true(1, what, __FILE__, line);
  }
}
#define CHECK_UNAVAILABLE(call) check_unavailable((call), #call, __LINE__)

static void test_every_cuda_call_is_unavailable(void) {
  int64_t shape[2] = {2, 3};
  int32_t n = -1;
  uint64_t free_bytes = 7, total = 7;
  dlv_tensor *host = NULL, *out = SENTINEL;
  DLDevice kinds[3];
  int k;
  kinds[0] = CUDA0;
  kinds[1] = device_of(kDLCUDAHost, 0);
  kinds[2] = device_of(kDLCUDAManaged, 0);
  if (zero_devices) {
    CHECK_OK(dlv_cuda_device_count(&n));
    CHECK_I64(n, 0);
  } else {
    CHECK_UNAVAILABLE(dlv_cuda_device_count(&n));
    CHECK_I64(n, -1);
  }
  CHECK(!dlv_cuda_available());
  for (k = 0; k < 3; k++) {
    CHECK_UNAVAILABLE(dlv_tensor_empty_on(F32, 2, shape, DLV_ORDER_C, kinds[k], &out));
    CHECK_UNAVAILABLE(dlv_tensor_zeros_on(F32, 2, shape, DLV_ORDER_C, kinds[k], &out));
  }
  CHECK(out == SENTINEL);
  REQUIRE_OK(arange_f32(2, shape, &host));
  CHECK_UNAVAILABLE(dlv_tensor_to_device(host, CUDA0, DLV_ORDER_C, &out));
  CHECK_UNAVAILABLE(dlv_tensor_to_device(host, device_of(kDLCUDAHost, 0), DLV_ORDER_C, &out));
  CHECK(out == SENTINEL);
  CHECK_UNAVAILABLE(dlv_cuda_synchronize(0));
  CHECK_UNAVAILABLE(dlv_cuda_mem_get_info(0, &free_bytes, &total));
  CHECK_I64(free_bytes, 7);
  /* CPU to CPU needs no driver. */
  if (CHECK_OK(dlv_tensor_to_device(host, CPU, DLV_ORDER_F, &out))) {
    CHECK(dlv_tensor_flags(out) & DLV_FLAG_F_CONTIGUOUS);
    dlv_tensor_free(out);
  }
  dlv_tensor_free(host);
}

static void test_stream_wait_has_nothing_to_order(void) {
  /* dlview queued no device work: valid streams succeed with no driver call. */
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, 1));
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, 2));
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, 0x12345));
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, -1));
  CHECK_ERR(dlv_cuda_stream_wait(CUDA0, 0), DLV_ERR_INVALID_ARGUMENT, NULL);
  CHECK_ERR(dlv_cuda_stream_wait(CPU, 2), DLV_ERR_INVALID_ARGUMENT, NULL);
}

static int released;
static void count_release(void *ctx) {
  (void)ctx;
  released++;
}

static void test_device_pass_through(void) {
  int64_t shape[2] = {4, 6}, index[2] = {0, 0};
  dlv_tensor *t = NULL, *cols = NULL, *back = NULL, *copy = SENTINEL;
  DLManagedTensorVersioned *mt = NULL;
  double v = 0;
  REQUIRE_OK(dlv_tensor_from_buffer(FAKE_PTR, F32, CUDA0, 2, shape, NULL, true, count_release, NULL, &t));
  REQUIRE_OK(dlv_tensor_slice(t, 1, 2, 4, 1, &cols));
  CHECK(dlv_tensor_data(cols) == (const void *)((const char *)FAKE_PTR + 8));
  REQUIRE_OK(dlv_tensor_to_dlpack(cols, NULL, &mt));
  CHECK(mt->dl_tensor.data == (void *)((char *)FAKE_PTR + 8));
  CHECK_I64(mt->dl_tensor.device.device_type, kDLCUDA);
  REQUIRE_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
  CHECK(dlv_tensor_data(back) == dlv_tensor_data(cols));
  CHECK_ERR(dlv_tensor_get_f64(back, index, &v), DLV_ERR_UNSUPPORTED_DEVICE,
            "reading an element needs host-accessible memory, but the tensor is on cuda:0");
  CHECK_ERR(dlv_tensor_copy(back, DLV_ORDER_C, &copy), DLV_ERR_UNSUPPORTED_DEVICE,
            "copying elements needs host-accessible memory, but the tensor is on cuda:0");
  CHECK(copy == SENTINEL);
  dlv_tensor_free(back);
  dlv_tensor_free(cols);
  dlv_tensor_free(t);
  CHECK_I64(released, 1);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s EXPECTED_MESSAGE_PART [zero-devices]\n", argv[0]);
    return 2;
  }
  expected = argv[1];
  zero_devices = argc > 2 && strcmp(argv[2], "zero-devices") == 0;
  RUN(test_every_cuda_call_is_unavailable);
  RUN(test_stream_wait_has_nothing_to_order);
  RUN(test_device_pass_through);
  return check_summary(argv[0]);
}
