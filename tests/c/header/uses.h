/*
 * Included by the header tests after dlview.h (and, in some, the DLPack
 * stand-in): the DLPack types have DLPack's layout whichever header defined
 * them, and dlview's declarations are usable with them.
 */
#ifndef DLVIEW_TESTS_HEADER_USES_H
#define DLVIEW_TESTS_HEADER_USES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define LAYOUT_ASSERT(cond) static_assert(cond, #cond)
#else
#define LAYOUT_ASSERT(cond) _Static_assert(cond, #cond)
#endif

LAYOUT_ASSERT(sizeof(DLDataType) == 4);
LAYOUT_ASSERT(offsetof(DLDataType, bits) == 1 && offsetof(DLDataType, lanes) == 2);
LAYOUT_ASSERT(sizeof(DLDevice) == 8 && sizeof(DLDeviceType) == 4);
LAYOUT_ASSERT(sizeof(DLPackVersion) == 8);
LAYOUT_ASSERT(kDLCPU == 1 && kDLCUDA == 2 && kDLCUDAHost == 3 && kDLCUDAManaged == 13);
LAYOUT_ASSERT(kDLInt == 0 && kDLFloat == 2 && kDLBfloat == 4 && kDLBool == 6 && kDLFloat4_e2m1fn == 17);
LAYOUT_ASSERT(DLPACK_FLAG_BITMASK_READ_ONLY == 1 && DLPACK_FLAG_BITMASK_IS_COPIED == 2);
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
LAYOUT_ASSERT(offsetof(DLTensor, device) == 8 && offsetof(DLTensor, ndim) == 16);
LAYOUT_ASSERT(offsetof(DLTensor, dtype) == 20 && offsetof(DLTensor, shape) == 24);
LAYOUT_ASSERT(offsetof(DLTensor, strides) == 32 && offsetof(DLTensor, byte_offset) == 40);
LAYOUT_ASSERT(sizeof(DLTensor) == 48);
LAYOUT_ASSERT(offsetof(DLManagedTensor, manager_ctx) == 48 && offsetof(DLManagedTensor, deleter) == 56);
LAYOUT_ASSERT(sizeof(DLManagedTensor) == 64);
LAYOUT_ASSERT(offsetof(DLManagedTensorVersioned, manager_ctx) == 8);
LAYOUT_ASSERT(offsetof(DLManagedTensorVersioned, deleter) == 16);
LAYOUT_ASSERT(offsetof(DLManagedTensorVersioned, flags) == 24);
LAYOUT_ASSERT(offsetof(DLManagedTensorVersioned, dl_tensor) == 32);
LAYOUT_ASSERT(sizeof(DLManagedTensorVersioned) == 80);
#endif
LAYOUT_ASSERT(DLV_OK == 0 && DLV_ERR_PANIC == 99 && DLV_FLAG_ALIGNED == 16);
LAYOUT_ASSERT(DLV_NONE == INT64_MIN && DLV_ALL_AXES == INT32_MIN);

/* Not static: -Wunused must not fire, and the compiler must see real
 * calls through the declarations. */
dlv_status header_test_use(DLManagedTensorVersioned *mt, dlv_tensor **out);
dlv_status header_test_use(DLManagedTensorVersioned *mt, dlv_tensor **out) {
  DLDataType dt;
  DLDevice dev;
  int64_t shape[1] = {4};
  dlv_tensor *t = NULL;
  dlv_status s;
  dt.code = kDLFloat;
  dt.bits = 32;
  dt.lanes = 1;
  dev.device_type = kDLCPU;
  dev.device_id = 0;
  s = dlv_tensor_from_buffer(mt->dl_tensor.data, mt->dl_tensor.dtype, mt->dl_tensor.device, mt->dl_tensor.ndim,
                             mt->dl_tensor.shape, mt->dl_tensor.strides, (mt->flags & DLPACK_FLAG_BITMASK_READ_ONLY) == 0,
                             NULL, NULL, &t);
  dlv_tensor_free(t);
  if (s != DLV_OK) return s;
  (void)dev;
  return dlv_tensor_empty(dt, 1, shape, DLV_ORDER_C, out);
}

#endif /* DLVIEW_TESTS_HEADER_USES_H */
