// libtorch -> dlview -> libtorch with one data pointer, through the C++
// RAII header. Built twice by tests/python/test_cpp_libtorch.py: with
// DLVIEW_FIRST defined dlview.h comes before ATen's dlpack.h, otherwise
// after, so both include orders are proven to compile and agree.
#ifdef DLVIEW_FIRST
#include "dlview.hpp"
#include <ATen/DLConvertor.h>
#include <ATen/dlpack.h>
#else
#include <ATen/DLConvertor.h>
#include <ATen/dlpack.h>
#include "dlview.hpp"
#endif
#include <torch/torch.h>

#include <cstdio>

#define EXPECT(cond)                                                    \
  do {                                                                  \
    if (!(cond)) {                                                      \
      std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                         \
    }                                                                   \
  } while (0)

int main() {
  const uint64_t live_before = dlv_live_storage_count();
  try {
    at::Tensor src = torch::arange(12, torch::kFloat32).reshape({3, 4});
    void *const ptr = src.data_ptr();

    // libtorch -> dlview: a view of the same memory, writeable.
    dlview::Tensor view = dlview::Tensor::from_dlpack(at::toDLPackVersioned(src));
    EXPECT(view.data() == ptr);
    EXPECT((view.shape() == std::vector<int64_t>{3, 4}));
    EXPECT((view.strides() == std::vector<int64_t>{4, 1}));
    EXPECT(view.writeable());
    EXPECT(view.get({2, 3}) == 11.0);

    // A transposed dlview view -> libtorch: still the same memory.
    dlview::Tensor t = view.transpose();
    at::Tensor back = at::fromDLPackVersioned(t.to_dlpack().release());
    EXPECT(back.data_ptr() == ptr);
    EXPECT((back.sizes().vec() == std::vector<int64_t>{4, 3}));
    EXPECT((back.strides().vec() == std::vector<int64_t>{1, 4}));
    EXPECT(torch::equal(back, src.t()));

    // Writes are visible on both sides.
    back.index_put_({1, 2}, 100.0f);
    EXPECT(view.get({2, 1}) == 100.0);
    view.set({0, 0}, -5.0);
    EXPECT(src.index({0, 0}).item<float>() == -5.0f);

    // A negative-stride view reaches libtorch as a compact copy (RULES §4).
    at::Tensor flipped = at::fromDLPackVersioned(view.flip(1).to_dlpack().release());
    EXPECT(flipped.data_ptr() != ptr);
    EXPECT(torch::equal(flipped, src.flip(1)));

    // libtorch's read-only export arrives read-only and refuses writes.
    dlview::Tensor ro = dlview::Tensor::from_dlpack(at::toDLPackVersionedReadOnly(src));
    EXPECT(!ro.writeable());
    try {
      ro.set({0, 0}, 1.0);
      EXPECT(false);
    } catch (const dlview::Error &e) {
      EXPECT(e.status() == DLV_ERR_READ_ONLY);
    }
  } catch (const std::exception &e) {
    std::fprintf(stderr, "unexpected exception: %s\n", e.what());
    return 1;
  }
  // Every dlview handle and export is gone: every storage was released.
  EXPECT(dlv_live_storage_count() == live_before);
  std::printf("libtorch round trip ok\n");
  return 0;
}
