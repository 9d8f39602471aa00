/*
 * dlview.hpp: a header-only C++17 RAII wrapper over the dlview C ABI.
 *
 * dlview::Tensor owns one dlv_tensor* handle (move-only; retain() gives
 * another handle to the same view). Every failing call throws
 * dlview::Error, which carries the dlv_status and the library's message.
 * Strides are in elements, as in the C ABI.
 */
#ifndef DLVIEW_HPP
#define DLVIEW_HPP

#include "dlview.h"

#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dlview {

/// A failed dlview call: what() is dlv_last_error(), status() the code.
class Error : public std::runtime_error {
 public:
  Error(dlv_status status, const char *message)
      : std::runtime_error(std::string(dlv_status_name(status)) + ": " + message), status_(status) {}
  dlv_status status() const noexcept { return status_; }

 private:
  dlv_status status_;
};

/// Throws dlview::Error unless `status` is DLV_OK.
inline void check(dlv_status status) {
  if (status != DLV_OK) throw Error(status, dlv_last_error());
}

enum class CopyMode : dlv_copy_mode {
  IfNeeded = DLV_COPY_IF_NEEDED,
  Never = DLV_COPY_NEVER,
  Always = DLV_COPY_ALWAYS,
};

enum class Order : dlv_order { C = DLV_ORDER_C, F = DLV_ORDER_F, K = DLV_ORDER_K };

/// Common element types.
namespace dtype {
inline constexpr DLDataType float16{kDLFloat, 16, 1};
inline constexpr DLDataType float32{kDLFloat, 32, 1};
inline constexpr DLDataType float64{kDLFloat, 64, 1};
inline constexpr DLDataType bfloat16{kDLBfloat, 16, 1};
inline constexpr DLDataType int8{kDLInt, 8, 1};
inline constexpr DLDataType int32{kDLInt, 32, 1};
inline constexpr DLDataType int64{kDLInt, 64, 1};
inline constexpr DLDataType uint8{kDLUInt, 8, 1};
inline constexpr DLDataType boolean{kDLBool, 8, 1};
}  // namespace dtype

/// Owner of one dlv_tensor handle. Views are new Tensors sharing memory.
class Tensor {
 public:
  Tensor() noexcept = default;
  /// Takes ownership of a handle from the C API.
  explicit Tensor(dlv_tensor *handle) noexcept : handle_(handle) {}
  ~Tensor() { dlv_tensor_free(handle_); }
  Tensor(Tensor &&other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Tensor &operator=(Tensor &&other) noexcept {
    if (this != &other) {
      dlv_tensor_free(handle_);
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  Tensor(const Tensor &) = delete;
  Tensor &operator=(const Tensor &) = delete;

  // ---- creation ----
  static Tensor empty(DLDataType dtype, const std::vector<int64_t> &shape, Order order = Order::C) {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_empty(dtype, rank(shape), shape.data(), static_cast<dlv_order>(order), out);
    });
  }
  static Tensor zeros(DLDataType dtype, const std::vector<int64_t> &shape, Order order = Order::C) {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_zeros(dtype, rank(shape), shape.data(), static_cast<dlv_order>(order), out);
    });
  }
  /// On `device`: kDLCPU, or through the CUDA driver kDLCUDA (device
  /// memory, contents unspecified), kDLCUDAHost (pinned) or kDLCUDAManaged.
  static Tensor empty_on(DLDataType dtype, const std::vector<int64_t> &shape, DLDevice device,
                         Order order = Order::C) {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_empty_on(dtype, rank(shape), shape.data(), static_cast<dlv_order>(order), device, out);
    });
  }
  static Tensor zeros_on(DLDataType dtype, const std::vector<int64_t> &shape, DLDevice device,
                         Order order = Order::C) {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_zeros_on(dtype, rank(shape), shape.data(), static_cast<dlv_order>(order), device, out);
    });
  }
  /// Wraps caller memory; `release(ctx)` runs once when the last view and
  /// export is gone (not if this throws). `strides` empty means C order.
  static Tensor from_buffer(void *data, DLDataType dtype, const std::vector<int64_t> &shape,
                            const std::vector<int64_t> &strides = {}, bool writeable = true,
                            void (*release)(void *) = nullptr, void *ctx = nullptr,
                            DLDevice device = DLDevice{kDLCPU, 0}) {
    if (!strides.empty() && strides.size() != shape.size())
      throw Error(DLV_ERR_INVALID_ARGUMENT, "strides must be empty or have one entry per dimension");
    return make([&](dlv_tensor **out) {
      return dlv_tensor_from_buffer(data, dtype, device, rank(shape), shape.data(),
                                    strides.empty() ? nullptr : strides.data(), writeable, release, ctx, out);
    });
  }
  /// Imports a DLPack tensor; always takes ownership of `mt` (see the C API).
  static Tensor from_dlpack(DLManagedTensorVersioned *mt, const dlv_import_options *opts = nullptr) {
    return make([&](dlv_tensor **out) { return dlv_tensor_from_dlpack(mt, opts, out); });
  }
  static Tensor from_dlpack_legacy(DLManagedTensor *mt, const dlv_import_options *opts = nullptr) {
    return make([&](dlv_tensor **out) { return dlv_tensor_from_dlpack_legacy(mt, opts, out); });
  }

  /// Another handle to the same view.
  Tensor retain() const {
    return make([&](dlv_tensor **out) { return dlv_tensor_retain(handle_, out); });
  }
  dlv_tensor *get() const noexcept { return handle_; }
  /// Gives up ownership of the handle (the caller frees it).
  dlv_tensor *release() noexcept { return std::exchange(handle_, nullptr); }
  explicit operator bool() const noexcept { return handle_ != nullptr; }

  // ---- inspection ----
  int32_t ndim() const noexcept { return dlv_tensor_ndim(handle_); }
  std::vector<int64_t> shape() const { return dims(dlv_tensor_shape(handle_)); }
  std::vector<int64_t> strides() const { return dims(dlv_tensor_strides(handle_)); }
  DLDataType dtype() const noexcept { return dlv_tensor_dtype(handle_); }
  DLDevice device() const noexcept { return dlv_tensor_device(handle_); }
  int64_t size() const noexcept { return dlv_tensor_size(handle_); }
  uint64_t nbytes() const noexcept { return dlv_tensor_nbytes(handle_); }
  uint32_t flags() const noexcept { return dlv_tensor_flags(handle_); }
  bool writeable() const noexcept { return (flags() & DLV_FLAG_WRITEABLE) != 0; }
  const void *data() const noexcept { return dlv_tensor_data(handle_); }
  void *data_mut() {
    void *p = nullptr;
    check(dlv_tensor_data_mut(handle_, &p));
    return p;
  }
  void set_writeable(bool writeable) { check(dlv_tensor_set_writeable(handle_, writeable)); }
  double get(std::initializer_list<int64_t> index) const {
    double v = 0;
    check(dlv_tensor_get_f64(handle_, index.begin(), &v));
    return v;
  }
  void set(std::initializer_list<int64_t> index, double value) {
    check(dlv_tensor_set_f64(handle_, index.begin(), value));
  }
  std::string describe() const {
    std::string text(dlv_tensor_describe(handle_, nullptr, 0), '\0');
    dlv_tensor_describe(handle_, &text[0], text.size() + 1);
    return text;
  }

  // ---- views ----
  Tensor slice(int32_t axis, int64_t start = DLV_NONE, int64_t stop = DLV_NONE, int64_t step = 1) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_slice(handle_, axis, start, stop, step, out); });
  }
  Tensor select(int32_t axis, int64_t index) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_select(handle_, axis, index, out); });
  }
  Tensor permute(const std::vector<int32_t> &axes) const {
    if (axes.size() != static_cast<size_t>(ndim()))
      throw Error(DLV_ERR_INVALID_ARGUMENT, "permute needs one axis per dimension");
    return make([&](dlv_tensor **out) { return dlv_tensor_permute(handle_, axes.data(), out); });
  }
  Tensor transpose() const {
    return make([&](dlv_tensor **out) { return dlv_tensor_transpose(handle_, out); });
  }
  Tensor flip(int32_t axis) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_flip(handle_, axis, out); });
  }
  Tensor reshape(const std::vector<int64_t> &shape, CopyMode copy = CopyMode::IfNeeded) const {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_reshape(handle_, rank(shape), shape.data(), static_cast<dlv_copy_mode>(copy), out);
    });
  }
  Tensor squeeze(int32_t axis = DLV_ALL_AXES) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_squeeze(handle_, axis, out); });
  }
  Tensor expand_dims(int32_t axis) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_expand_dims(handle_, axis, out); });
  }
  Tensor broadcast_to(const std::vector<int64_t> &shape) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_broadcast_to(handle_, rank(shape), shape.data(), out); });
  }
  Tensor as_strided(const std::vector<int64_t> &shape, const std::vector<int64_t> &strides) const {
    if (shape.size() != strides.size())
      throw Error(DLV_ERR_INVALID_ARGUMENT, "shape and strides must have the same length");
    return make([&](dlv_tensor **out) {
      return dlv_tensor_as_strided(handle_, rank(shape), shape.data(), strides.data(), out);
    });
  }
  Tensor sliding_window(int32_t axis, int64_t window) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_sliding_window(handle_, axis, window, out); });
  }

  // ---- copies ----
  Tensor copy(Order order = Order::C) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_copy(handle_, static_cast<dlv_order>(order), out); });
  }
  Tensor astype(DLDataType dtype, Order order = Order::C) const {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_astype(handle_, dtype, static_cast<dlv_order>(order), out);
    });
  }

  /// A compact copy on `device` (host <-> CUDA device, device <-> device),
  /// through the CUDA driver; see dlv_tensor_to_device.
  Tensor to_device(DLDevice device, Order order = Order::K) const {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_to_device(handle_, device, static_cast<dlv_order>(order), out);
    });
  }

  // ---- DLPack ----
  /// Exports this view; the caller owns the result (call its deleter once).
  DLManagedTensorVersioned *to_dlpack(const dlv_export_options *opts = nullptr) const {
    DLManagedTensorVersioned *mt = nullptr;
    check(dlv_tensor_to_dlpack(handle_, opts, &mt));
    return mt;
  }
  DLManagedTensor *to_dlpack_legacy(const dlv_export_options *opts = nullptr) const {
    DLManagedTensor *mt = nullptr;
    check(dlv_tensor_to_dlpack_legacy(handle_, opts, &mt));
    return mt;
  }

 private:
  template <typename F>
  static Tensor make(F &&call) {
    dlv_tensor *out = nullptr;
    check(call(&out));
    return Tensor(out);
  }
  static int32_t rank(const std::vector<int64_t> &shape) {
    // Larger ranks are rejected by the library with its own message.
    return shape.size() > 1000 ? 1000 : static_cast<int32_t>(shape.size());
  }
  std::vector<int64_t> dims(const int64_t *p) const {
    int32_t n = ndim();
    return n > 0 && p ? std::vector<int64_t>(p, p + n) : std::vector<int64_t>{};
  }

  dlv_tensor *handle_ = nullptr;
};

/// True if some element address is common to both (see dlv_shares_memory).
inline bool shares_memory(const Tensor &a, const Tensor &b) noexcept {
  return dlv_shares_memory(a.get(), b.get());
}
/// True if the byte ranges overlap (see dlv_may_share_memory).
inline bool may_share_memory(const Tensor &a, const Tensor &b) noexcept {
  return dlv_may_share_memory(a.get(), b.get());
}

/// CUDA as dlview sees it (the driver is loaded at run time).
namespace cuda {
/// Number of CUDA devices; throws (DLV_ERR_DEVICE_UNAVAILABLE) without a driver.
inline int32_t device_count() {
  int32_t n = 0;
  check(dlv_cuda_device_count(&n));
  return n;
}
/// A driver with at least one device is loaded.
inline bool available() noexcept { return dlv_cuda_available(); }
/// Makes a consumer's `stream` (1 legacy, 2 per-thread, a handle, -1 none)
/// wait for the work dlview queued on `device`; see dlv_cuda_stream_wait.
inline void stream_wait(DLDevice device, int64_t stream) { check(dlv_cuda_stream_wait(device, stream)); }
/// Waits until dlview's work on device `device_id` is done.
inline void synchronize(int32_t device_id = 0) { check(dlv_cuda_synchronize(device_id)); }
}  // namespace cuda

}  // namespace dlview

#endif  // DLVIEW_HPP
