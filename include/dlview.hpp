/*
 * dlview.hpp: a header-only C++17 RAII wrapper over the dlview C ABI.
 *
 * - dlview::Tensor owns one dlv_tensor* handle (move-only; retain() gives
 *   another handle to the same view). Every C call has a wrapper: a method
 *   of Tensor, or a free function in namespace dlview (dlview::cuda for the
 *   CUDA calls).
 * - dlview::View<T, N> is typed element access without a C call per
 *   element: `auto v = t.view<float, 2>();` checks dtype, rank, host access
 *   and writeability once, then `v(i, j)` is an inline strided load/store and
 *   `v.at(i, j)` the bounds-checked form (in the spirit of nanobind's
 *   nb::ndarray views).
 * - Owning DLPack pointers come back in RAII holders
 *   (dlview::ManagedTensorVersioned, dlview::ManagedTensor) that call the
 *   deleter once, unless release() hands the pointer on.
 * - Every failure throws dlview::Error (a std::runtime_error) carrying the
 *   dlv_status; every index or axis list is checked against the rank before
 *   the library reads it.
 *
 * Strides are in elements, as in the C ABI. Requires C++17; no std::span.
 */
#ifndef DLVIEW_HPP
#define DLVIEW_HPP

#include "dlview.h"

#include <array>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace dlview {

/// A failed dlview call: status() is the code, what() is
/// "DLV_ERR_<NAME>: <message>" and message() the message alone.
class Error : public std::runtime_error {
 public:
  Error(dlv_status status, const std::string &message)
      : std::runtime_error(std::string(dlv_status_name(status)) + ": " + message),
        status_(status),
        prefix_(std::char_traits<char>::length(dlv_status_name(status)) + 2) {}
  dlv_status status() const noexcept { return status_; }
  /// The message without the status name (dlv_last_error() for failures of
  /// the library itself).
  const char *message() const noexcept { return what() + prefix_; }

 private:
  // Copying an exception must not throw, so the message is a suffix of
  // what() rather than a std::string of its own.
  dlv_status status_;
  size_t prefix_;
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

/// How a file is mapped (NumPy's mmap_mode); see the DLV_MMAP_* constants.
enum class MmapMode : dlv_mmap_mode {
  None = DLV_MMAP_NONE,
  Read = DLV_MMAP_READ,
  ReadWrite = DLV_MMAP_READ_WRITE,
  CopyOnWrite = DLV_MMAP_COPY_ON_WRITE,
  Create = DLV_MMAP_CREATE,
};

/// Common element types.
namespace dtype {
inline constexpr DLDataType float16{kDLFloat, 16, 1};
inline constexpr DLDataType float32{kDLFloat, 32, 1};
inline constexpr DLDataType float64{kDLFloat, 64, 1};
inline constexpr DLDataType bfloat16{kDLBfloat, 16, 1};
inline constexpr DLDataType int8{kDLInt, 8, 1};
inline constexpr DLDataType int16{kDLInt, 16, 1};
inline constexpr DLDataType int32{kDLInt, 32, 1};
inline constexpr DLDataType int64{kDLInt, 64, 1};
inline constexpr DLDataType uint8{kDLUInt, 8, 1};
inline constexpr DLDataType uint16{kDLUInt, 16, 1};
inline constexpr DLDataType uint32{kDLUInt, 32, 1};
inline constexpr DLDataType uint64{kDLUInt, 64, 1};
inline constexpr DLDataType boolean{kDLBool, 8, 1};
inline constexpr DLDataType complex64{kDLComplex, 64, 1};
inline constexpr DLDataType complex128{kDLComplex, 128, 1};
}  // namespace dtype

/// Same element type (DLDataType has no operator==, and defining one for
/// a type of the global namespace could clash with another library's).
inline constexpr bool same_dtype(DLDataType a, DLDataType b) noexcept {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

/// Element types with no C++ arithmetic type: the raw bits of an IEEE
/// binary16 (float16) or bfloat16 element, so that View<float16_bits, N>
/// reads and writes them without conversion.
struct float16_bits {
  uint16_t bits;
};
struct bfloat16_bits {
  uint16_t bits;
};

namespace detail {
template <typename T>
inline constexpr bool dependent_false = false;

template <typename T>
inline constexpr bool is_character =
    std::is_same_v<T, char> || std::is_same_v<T, wchar_t> || std::is_same_v<T, char16_t> ||
    std::is_same_v<T, char32_t>
#if defined(__cpp_char8_t)
    || std::is_same_v<T, char8_t>
#endif
    ;
}  // namespace detail

/// The DLPack type of elements of C++ type T (cv-qualifiers ignored):
/// bool, the signed and unsigned integers of 8 to 64 bits, float, double,
/// std::complex<float|double>, float16_bits, bfloat16_bits. Any other T
/// (plain char included: use int8_t or uint8_t) does not compile.
template <typename T>
constexpr DLDataType dtype_of() noexcept {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    static_assert(sizeof(bool) == 1, "DLPack bool elements are one byte");
    return dtype::boolean;
  } else if constexpr (std::is_integral_v<U> && !detail::is_character<U>) {
    return DLDataType{static_cast<uint8_t>(std::is_signed_v<U> ? kDLInt : kDLUInt),
                      static_cast<uint8_t>(8 * sizeof(U)), 1};
  } else if constexpr (std::is_same_v<U, float>) {
    return dtype::float32;
  } else if constexpr (std::is_same_v<U, double>) {
    return dtype::float64;
  } else if constexpr (std::is_same_v<U, std::complex<float>>) {
    return dtype::complex64;
  } else if constexpr (std::is_same_v<U, std::complex<double>>) {
    return dtype::complex128;
  } else if constexpr (std::is_same_v<U, float16_bits>) {
    return dtype::float16;
  } else if constexpr (std::is_same_v<U, bfloat16_bits>) {
    return dtype::bfloat16;
  } else {
    static_assert(detail::dependent_false<T>, "dlview::dtype_of<T>: T has no DLPack element type");
    return DLDataType{0, 0, 0};
  }
}

// ---- library-wide calls ----------------------------------------------------

/// The library version, "MAJOR.MINOR.PATCH" (may differ from the header's
/// DLVIEW_VERSION_STRING when another build of libdlview is loaded).
inline const char *version() noexcept { return dlv_version(); }
/// The message of the last failed call on this thread ("" if none).
inline const char *last_error() noexcept { return dlv_last_error(); }
/// "DLV_ERR_INDEX", ...; "DLV_UNKNOWN_STATUS" for other values.
inline const char *status_name(dlv_status status) noexcept { return dlv_status_name(status); }
/// Storages alive in the process (for leak tests).
inline uint64_t live_storage_count() noexcept { return dlv_live_storage_count(); }

namespace detail {
[[noreturn]] inline void fail(dlv_status status, const std::string &message) { throw Error(status, message); }

/// A C string for the library, refusing embedded NUL bytes (C would
/// silently stop at the first one: "victim\0.npy" would name "victim").
inline const char *c_string(const std::string &s, const char *what) {
  if (s.find('\0') != std::string::npos) fail(DLV_ERR_INVALID_ARGUMENT, std::string(what) + " contains a NUL byte");
  return s.c_str();
}

inline std::string dtype_text(DLDataType d) {
  const char *name = dlv_dtype_name(d);
  if (name != nullptr) return name;
  return "dtype(code=" + std::to_string(d.code) + ", bits=" + std::to_string(d.bits) +
         ", lanes=" + std::to_string(d.lanes) + ")";
}

// The failure paths of checks made on every element access stay out of
// line, so that the check itself is one compare the loop keeps in registers.
#if defined(__GNUC__)
#define DLVIEW_COLD __attribute__((noinline, cold))
#else
#define DLVIEW_COLD
#endif

[[noreturn]] DLVIEW_COLD inline void length_mismatch(size_t got, int32_t ndim, const char *what) {
  fail(DLV_ERR_INDEX, std::string(what) + " needs one index per dimension: " + std::to_string(ndim) + " for a " +
                          std::to_string(ndim) + "-d tensor, got " + std::to_string(got));
}

/// An index list must have one entry per dimension: the C calls read
/// exactly ndim entries and cannot know how long the caller's list is.
inline void check_length(size_t got, int32_t ndim, const char *what) {
  if (got != static_cast<size_t>(ndim < 0 ? 0 : ndim)) length_mismatch(got, ndim, what);
}

template <typename I>
[[noreturn]] DLVIEW_COLD inline void out_of_bounds(int32_t axis, I index, int64_t size) {
  fail(DLV_ERR_INDEX, "index " + std::to_string(index) + " is out of bounds for axis " + std::to_string(axis) +
                          " with size " + std::to_string(size));
}

template <typename I>
inline void check_bound(int32_t axis, I index, int64_t size) {
  static_assert(std::is_integral_v<I> && !std::is_same_v<I, bool>, "indices must be integers");
  bool inside;
  if constexpr (std::is_signed_v<I>) {
    inside = index >= 0 && static_cast<int64_t>(index) < size;
  } else {
    inside = static_cast<uint64_t>(index) < static_cast<uint64_t>(size);
  }
  if (!inside) out_of_bounds(axis, index, size);
}

/// Per-axis sizes and strides: inline arrays for a fixed rank, vectors for
/// the dynamic rank (N == -1).
template <int32_t N>
struct Dims {
  std::array<int64_t, static_cast<size_t>(N)> shape{};
  std::array<int64_t, static_cast<size_t>(N)> strides{};
  Dims() = default;
  Dims(const int64_t *sh, const int64_t *st, int32_t) {
    for (int32_t k = 0; k < N; k++) {
      shape[static_cast<size_t>(k)] = sh[k];
      strides[static_cast<size_t>(k)] = st[k];
    }
  }
  static constexpr int32_t ndim() noexcept { return N; }
};
template <>
struct Dims<-1> {
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;
  Dims() = default;
  Dims(const int64_t *sh, const int64_t *st, int32_t n)
      : shape(n > 0 ? std::vector<int64_t>(sh, sh + n) : std::vector<int64_t>{}),
        strides(n > 0 ? std::vector<int64_t>(st, st + n) : std::vector<int64_t>{}) {}
  int32_t ndim() const noexcept { return static_cast<int32_t>(shape.size()); }
};
}  // namespace detail

/// The rank of a View whose number of dimensions is known only at run time.
inline constexpr int32_t dynamic_rank = -1;

class Tensor;

/// Typed element access to a host-accessible tensor: `T` is the element
/// type (const T for read-only access), `N` the number of dimensions
/// (dynamic_rank: known at run time). Made by Tensor::view<T, N>(), which
/// checks everything once; afterwards `v(i, j)` costs what a raw strided
/// pointer access costs. A View does not own memory: it is valid while a
/// Tensor sharing the storage is alive (like std::string_view). Copying it
/// is cheap and copies share elements.
template <typename T, int32_t N = dynamic_rank>
class View {
  static_assert(N >= 0 || N == dynamic_rank, "View<T, N>: N is a rank >= 0 or dynamic_rank");

 public:
  using element_type = T;
  using value_type = std::remove_cv_t<T>;
  static constexpr int32_t rank = N;

  /// A view of nothing (data() is nullptr): assign a real one before use.
  View() noexcept = default;
  /// A view of non-const elements converts to one of const elements.
  template <typename U, typename = std::enable_if_t<std::is_same_v<const U, T> && !std::is_const_v<U>>>
  View(const View<U, N> &other) : data_(other.data_), dims_(other.dims_) {}

  /// Address of element [0, ..., 0] (nullptr when there are no elements).
  T *data() const noexcept { return data_; }
  int32_t ndim() const noexcept { return dims_.ndim(); }
  /// Size of `axis` (0 <= axis < ndim, else DLV_ERR_INVALID_ARGUMENT).
  int64_t shape(int32_t axis) const { return dims_.shape[checked_axis(axis)]; }
  /// Stride of `axis` in elements (may be negative or zero).
  int64_t stride(int32_t axis) const { return dims_.strides[checked_axis(axis)]; }
  /// Number of elements.
  int64_t size() const noexcept {
    int64_t n = 1;
    for (int64_t s : dims_.shape) n *= s;
    return n;
  }

  /// Element [idx...]: one index per dimension, each in [0, shape(k)) (not
  /// checked; negative indices do not wrap). A fixed-rank view checks the
  /// number of indices at compile time, a dynamic one at run time.
  template <typename... Idx>
  T &operator()(Idx... idx) const {
    static_assert((std::is_integral_v<Idx> && ...), "indices must be integers");
    if constexpr (N == dynamic_rank) {
      detail::check_length(sizeof...(Idx), ndim(), "View::operator()");
    } else {
      static_assert(sizeof...(Idx) == static_cast<size_t>(N), "View<T, N>: give exactly N indices");
    }
    return data_[offset(std::index_sequence_for<Idx...>{}, idx...)];
  }

  /// As operator(), with every index checked: DLV_ERR_INDEX ("index 5 is out
  /// of bounds for axis 1 with size 3", as NumPy says) when one is outside
  /// [0, shape(k)), or when the count differs from ndim().
  template <typename... Idx>
  T &at(Idx... idx) const {
    static_assert((std::is_integral_v<Idx> && ...), "indices must be integers");
    if constexpr (N == dynamic_rank) {
      detail::check_length(sizeof...(Idx), ndim(), "View::at");
    } else {
      static_assert(sizeof...(Idx) == static_cast<size_t>(N), "View<T, N>: give exactly N indices");
    }
    check_bounds(std::index_sequence_for<Idx...>{}, idx...);
    return data_[offset(std::index_sequence_for<Idx...>{}, idx...)];
  }

 private:
  friend class Tensor;
  template <typename, int32_t>
  friend class View;

  View(T *data, const int64_t *shape, const int64_t *strides, int32_t ndim)
      : data_(data), dims_(shape, strides, ndim) {}

  size_t checked_axis(int32_t axis) const {
    if (axis < 0 || axis >= ndim())
      detail::fail(DLV_ERR_INVALID_ARGUMENT, "axis " + std::to_string(axis) + " is out of bounds for array of dimension " +
                                                 std::to_string(ndim()));
    return static_cast<size_t>(axis);
  }
  template <size_t... K, typename... Idx>
  int64_t offset(std::index_sequence<K...>, Idx... idx) const noexcept {
    return (int64_t{0} + ... + (static_cast<int64_t>(idx) * dims_.strides[K]));
  }
  template <size_t... K, typename... Idx>
  void check_bounds(std::index_sequence<K...>, Idx... idx) const {
    (detail::check_bound(static_cast<int32_t>(K), idx, dims_.shape[K]), ...);
  }

  T *data_ = nullptr;
  detail::Dims<N> dims_;
};

/// Owner of a DLPack tensor pointer (DLManagedTensorVersioned or the
/// legacy DLManagedTensor): its deleter runs once, when the holder dies or
/// is reset, unless release() handed the pointer on (to a consumer that
/// takes ownership, such as at::fromDLPackVersioned or
/// Tensor::from_dlpack). Move-only.
template <typename M>
class Managed {
 public:
  Managed() noexcept = default;
  /// Takes ownership of `mt` (may be nullptr).
  explicit Managed(M *mt) noexcept : mt_(mt) {}
  ~Managed() { reset(); }
  Managed(Managed &&other) noexcept : mt_(std::exchange(other.mt_, nullptr)) {}
  Managed &operator=(Managed &&other) noexcept {
    if (this != &other) reset(std::exchange(other.mt_, nullptr));
    return *this;
  }
  Managed(const Managed &) = delete;
  Managed &operator=(const Managed &) = delete;

  M *get() const noexcept { return mt_; }
  M *operator->() const noexcept { return mt_; }
  M &operator*() const noexcept { return *mt_; }
  explicit operator bool() const noexcept { return mt_ != nullptr; }
  /// Gives up ownership: the caller (or whoever it passes the pointer to)
  /// must call the deleter once.
  M *release() noexcept { return std::exchange(mt_, nullptr); }
  /// Calls the deleter of the held tensor (if any; a NULL deleter means the
  /// producer keeps ownership), then holds `mt`.
  void reset(M *mt = nullptr) noexcept {
    M *old = std::exchange(mt_, mt);
    if (old != nullptr && old->deleter != nullptr) old->deleter(old);
  }

 private:
  M *mt_ = nullptr;
};
using ManagedTensorVersioned = Managed<DLManagedTensorVersioned>;
using ManagedTensor = Managed<DLManagedTensor>;

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
      detail::fail(DLV_ERR_INVALID_ARGUMENT, "strides must be empty or have one entry per dimension");
    return make([&](dlv_tensor **out) {
      return dlv_tensor_from_buffer(data, dtype, device, rank(shape), shape.data(),
                                    strides.empty() ? nullptr : strides.data(), writeable, release, ctx, out);
    });
  }
  /// Imports a DLPack tensor; always takes ownership of `mt` (see the C API:
  /// on failure its deleter has run before this throws).
  static Tensor from_dlpack(DLManagedTensorVersioned *mt, const dlv_import_options *opts = nullptr) {
    return make([&](dlv_tensor **out) { return dlv_tensor_from_dlpack(mt, opts, out); });
  }
  static Tensor from_dlpack(ManagedTensorVersioned &&mt, const dlv_import_options *opts = nullptr) {
    return from_dlpack(mt.release(), opts);
  }
  static Tensor from_dlpack_legacy(DLManagedTensor *mt, const dlv_import_options *opts = nullptr) {
    return make([&](dlv_tensor **out) { return dlv_tensor_from_dlpack_legacy(mt, opts, out); });
  }
  static Tensor from_dlpack_legacy(ManagedTensor &&mt, const dlv_import_options *opts = nullptr) {
    return from_dlpack_legacy(mt.release(), opts);
  }
  /// Consumes a DLPack capsule (a borrowed PyObject*, GIL held); see
  /// dlv_py_tensor_from_capsule. Outside Python: DLV_ERR_INVALID_ARGUMENT.
  static Tensor from_capsule(void *capsule, const dlv_import_options *opts = nullptr) {
    return make([&](dlv_tensor **out) { return dlv_py_tensor_from_capsule(capsule, opts, out); });
  }
  /// The tensor of any Python object with __dlpack__ (a borrowed PyObject*,
  /// GIL held), through its type's DLPack C exchange API when it has one;
  /// see dlv_py_tensor_from_object (the Python error is set on failure too).
  static Tensor from_object(void *obj, const dlv_import_options *opts = nullptr) {
    return make([&](dlv_tensor **out) { return dlv_py_tensor_from_object(obj, opts, out); });
  }

  // ---- files ----
  /// Loads a .npy file (read into memory, or memory-mapped); see dlv_npy_load.
  static Tensor load(const std::string &path, MmapMode mode = MmapMode::None) {
    const char *p = detail::c_string(path, "path");
    return make([&](dlv_tensor **out) { return dlv_npy_load(p, static_cast<dlv_mmap_mode>(mode), out); });
  }
  /// Maps a raw file as a tensor of `shape` whose element [0, ..., 0] is at
  /// byte `offset` (numpy.memmap); see dlv_memmap.
  static Tensor memmap(const std::string &path, DLDataType dtype, MmapMode mode, const std::vector<int64_t> &shape,
                       uint64_t offset = 0, Order order = Order::C) {
    const char *p = detail::c_string(path, "path");
    return make([&](dlv_tensor **out) {
      return dlv_memmap(p, dtype, static_cast<dlv_mmap_mode>(mode), offset, rank(shape), shape.data(),
                        static_cast<dlv_order>(order), out);
    });
  }
  /// Maps the whole file after `offset` as a 1-D tensor (dlv_memmap with
  /// ndim -1). A name of its own: an overload would take memmap(p, d, m, {4})
  /// for an offset.
  static Tensor memmap_whole(const std::string &path, DLDataType dtype, MmapMode mode, uint64_t offset = 0) {
    const char *p = detail::c_string(path, "path");
    return make([&](dlv_tensor **out) {
      return dlv_memmap(p, dtype, static_cast<dlv_mmap_mode>(mode), offset, -1, nullptr, DLV_ORDER_C, out);
    });
  }
  /// Writes this tensor to a .npy file; see dlv_npy_save.
  void save(const std::string &path) const { check(dlv_npy_save(handle_, detail::c_string(path, "path"))); }
  /// Writes a shared mapping's changes back to its file (msync).
  void flush() const { check(dlv_tensor_flush(handle_)); }

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
  /// The tensor this view derives from (NumPy's base), or an empty Tensor
  /// when this one owns its data.
  Tensor base() const {
    return make([&](dlv_tensor **out) { return dlv_tensor_base(handle_, out); });
  }
  const void *data() const noexcept { return dlv_tensor_data(handle_); }
  void *data_mut() {
    void *p = nullptr;
    check(dlv_tensor_data_mut(handle_, &p));
    return p;
  }
  void set_writeable(bool writeable) { check(dlv_tensor_set_writeable(handle_, writeable)); }
  /// Element `index` (one entry per dimension, negative counts from the
  /// end) as a double: one C call per element; View is the fast path.
  /// A list of another length: DLV_ERR_INDEX.
  double get(std::initializer_list<int64_t> index) const { return get(index.begin(), index.size()); }
  double get(const std::vector<int64_t> &index) const { return get(index.data(), index.size()); }
  void set(std::initializer_list<int64_t> index, double value) { set(index.begin(), index.size(), value); }
  void set(const std::vector<int64_t> &index, double value) { set(index.data(), index.size(), value); }
  std::string describe() const {
    std::string text(dlv_tensor_describe(handle_, nullptr, 0), '\0');
    dlv_tensor_describe(handle_, text.data(), text.size() + 1);
    return text;
  }

  /// Typed element access: checks once that the dtype is dtype_of<T>()
  /// (else DLV_ERR_UNSUPPORTED_DTYPE), that there are N dimensions (unless
  /// N is dynamic_rank; else DLV_ERR_INVALID_ARGUMENT), that the host can
  /// read the memory (cpu, cuda_host, cuda_managed; else
  /// DLV_ERR_UNSUPPORTED_DEVICE), that data and strides are aligned for T
  /// (else DLV_ERR_INVALID_ARGUMENT) and, for non-const T, that the view is
  /// writeable (else DLV_ERR_READ_ONLY: ask for View<const T, N>). The View
  /// is valid while this tensor's storage lives; a temporary Tensor would
  /// leave it dangling, so that does not compile.
  template <typename T, int32_t N = dynamic_rank>
  View<T, N> view() & {
    return make_view<T, N>();
  }
  template <typename T, int32_t N = dynamic_rank>
  View<T, N> view() const & {
    static_assert(std::is_const_v<T>, "a const Tensor gives views of const elements: view<const T, N>()");
    return make_view<T, N>();
  }
  template <typename T, int32_t N = dynamic_rank>
  View<T, N> view() && {
    static_assert(detail::dependent_false<T>,
                  "view() of a temporary Tensor would dangle: keep the Tensor in a variable first");
    return View<T, N>();
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
      detail::fail(DLV_ERR_INVALID_ARGUMENT, "permute needs one axis per dimension (" + std::to_string(ndim()) +
                                                 "), got " + std::to_string(axes.size()));
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
      detail::fail(DLV_ERR_INVALID_ARGUMENT, "shape and strides must have the same length");
    return make([&](dlv_tensor **out) {
      return dlv_tensor_as_strided(handle_, rank(shape), shape.data(), strides.data(), out);
    });
  }
  Tensor sliding_window(int32_t axis, int64_t window) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_sliding_window(handle_, axis, window, out); });
  }

  // ---- indexing ----
  // NumPy indexing (dlv_tensor_index / dlv_tensor_index_put) goes here when
  // the C ABI has it: keys as a list checked like get()'s.

  // ---- copies ----
  Tensor copy(Order order = Order::C) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_copy(handle_, static_cast<dlv_order>(order), out); });
  }
  Tensor astype(DLDataType dtype, Order order = Order::C) const {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_astype(handle_, dtype, static_cast<dlv_order>(order), out);
    });
  }
  /// Gather: entries `indices` (negative count from the end) along `axis`
  /// into a new tensor (NumPy's take).
  Tensor take(const std::vector<int64_t> &indices, int32_t axis) const {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_take(handle_, axis, indices.data(), static_cast<int64_t>(indices.size()), out);
    });
  }

  /// A compact copy on `device` (host <-> CUDA device, device <-> device),
  /// through the CUDA driver; see dlv_tensor_to_device.
  Tensor to_device(DLDevice device, Order order = Order::K) const {
    return make([&](dlv_tensor **out) {
      return dlv_tensor_to_device(handle_, device, static_cast<dlv_order>(order), out);
    });
  }

  // ---- NumPy indexing (dlv_tensor_index / dlv_tensor_index_put) ----
  // t.index({Tensor::at(1), Tensor::all(), Tensor::by(rows)}) is NumPy's
  // t[1, :, rows]. Keys borrow their index tensors for the call only.
  static dlv_index at(int64_t i) { return key_item(DLV_INDEX_INT, i, nullptr); }
  static dlv_index range(int64_t start = DLV_NONE, int64_t stop = DLV_NONE, int64_t step = DLV_NONE) {
    dlv_index k = key_item(DLV_INDEX_SLICE, 0, nullptr);
    k.start = start;
    k.stop = stop;
    k.step = step;
    return k;
  }
  static dlv_index all() { return range(); }
  static dlv_index new_axis() { return key_item(DLV_INDEX_NEW_AXIS, 0, nullptr); }
  static dlv_index ellipsis() { return key_item(DLV_INDEX_ELLIPSIS, 0, nullptr); }
  /// An integer index tensor or a bool mask (a 0-d bool is NumPy's t[True]).
  static dlv_index by(const Tensor &indices) { return key_item(DLV_INDEX_TENSOR, 0, indices.get()); }
  /// t[key]: a view for ints, ranges, new axes and ellipses; a new tensor
  /// as soon as the key holds an index tensor.
  Tensor index(const std::vector<dlv_index> &key) const {
    return make([&](dlv_tensor **out) { return dlv_tensor_index(handle_, key.data(), key_count(key), out); });
  }
  /// t[key] = value: broadcast and cast; the last of repeated indices wins.
  void index_put(const std::vector<dlv_index> &key, const Tensor &value) {
    check(dlv_tensor_index_put(handle_, key.data(), key_count(key), value.get()));
  }

  // ---- DLPack ----
  /// Exports this view; the holder calls the deleter unless release() hands
  /// the pointer to a consumer (at::fromDLPackVersioned(t.to_dlpack().release())).
  ManagedTensorVersioned to_dlpack(const dlv_export_options *opts = nullptr) const {
    DLManagedTensorVersioned *mt = nullptr;
    check(dlv_tensor_to_dlpack(handle_, opts, &mt));
    return ManagedTensorVersioned(mt);
  }
  ManagedTensor to_dlpack_legacy(const dlv_export_options *opts = nullptr) const {
    DLManagedTensor *mt = nullptr;
    check(dlv_tensor_to_dlpack_legacy(handle_, opts, &mt));
    return ManagedTensor(mt);
  }
  /// Exports this view as a new DLPack capsule (a new PyObject* reference;
  /// GIL held); see dlv_py_tensor_to_capsule.
  void *to_capsule(bool versioned = true, const dlv_export_options *opts = nullptr) const {
    void *capsule = nullptr;
    check(dlv_py_tensor_to_capsule(handle_, opts, versioned, &capsule));
    return capsule;
  }
  /// This view as a new object of `like`'s framework (an instance or a
  /// type, e.g. torch.Tensor; a new PyObject* reference; GIL held); see
  /// dlv_py_tensor_to_object.
  void *to_object(void *like, const dlv_export_options *opts = nullptr) const {
    void *obj = nullptr;
    check(dlv_py_tensor_to_object(handle_, like, opts, &obj));
    return obj;
  }

 private:
  template <typename F>
  static Tensor make(F &&call) {
    dlv_tensor *out = nullptr;
    check(call(&out));
    return Tensor(out);
  }
  static dlv_index key_item(uint32_t kind, int64_t i, const dlv_tensor *t) {
    dlv_index k{};
    k.kind = kind;
    k.i = i;
    k.tensor = t;
    return k;
  }
  static int32_t key_count(const std::vector<dlv_index> &key) {
    // Never more than the vector holds; the library refuses long keys itself.
    return key.size() > 1000 ? 1000 : static_cast<int32_t>(key.size());
  }
  static int32_t rank(const std::vector<int64_t> &shape) {
    // Larger ranks are rejected by the library with its own message.
    return shape.size() > 1000 ? 1000 : static_cast<int32_t>(shape.size());
  }
  std::vector<int64_t> dims(const int64_t *p) const {
    int32_t n = ndim();
    return n > 0 && p ? std::vector<int64_t>(p, p + n) : std::vector<int64_t>{};
  }
  double get(const int64_t *index, size_t n) const {
    detail::check_length(n, ndim(), "get()");
    double v = 0;
    check(dlv_tensor_get_f64(handle_, index, &v));
    return v;
  }
  void set(const int64_t *index, size_t n, double value) {
    detail::check_length(n, ndim(), "set()");
    check(dlv_tensor_set_f64(handle_, index, value));
  }

  template <typename T, int32_t N>
  View<T, N> make_view() const {
    using E = std::remove_cv_t<T>;
    constexpr DLDataType want = dtype_of<E>();
    if (handle_ == nullptr) detail::fail(DLV_ERR_NULL_ARGUMENT, "view() of an empty Tensor");
    const DLDataType have = dtype();
    if (!same_dtype(have, want))
      detail::fail(DLV_ERR_UNSUPPORTED_DTYPE,
                   "cannot view a " + detail::dtype_text(have) + " tensor as " + detail::dtype_text(want));
    const int32_t n = ndim();
    if (N != dynamic_rank && n != N)
      detail::fail(DLV_ERR_INVALID_ARGUMENT,
                   "cannot view a " + std::to_string(n) + "-d tensor as " + std::to_string(N) + "-d");
    const DLDevice dev = device();
    if (dev.device_type != kDLCPU && dev.device_type != kDLCUDAHost && dev.device_type != kDLCUDAManaged) {
      char name[64];
      dlv_device_name(dev, name, sizeof name);
      detail::fail(DLV_ERR_UNSUPPORTED_DEVICE, std::string("cannot view memory on ") + name +
                                                   " from the host (cpu, cuda_host and cuda_managed can be viewed)");
    }
    const uint32_t f = flags();
    if ((f & DLV_FLAG_ALIGNED) == 0)
      detail::fail(DLV_ERR_INVALID_ARGUMENT, "cannot view a " + detail::dtype_text(have) +
                                                 " tensor whose data or strides are not multiples of its alignment");
    T *p;
    if constexpr (std::is_const_v<T>) {
      p = static_cast<T *>(dlv_tensor_data(handle_));
    } else {
      if ((f & DLV_FLAG_WRITEABLE) == 0)
        detail::fail(DLV_ERR_READ_ONLY,
                     "cannot view a read-only tensor with writeable elements: use a view of const elements");
      void *q = nullptr;
      check(dlv_tensor_data_mut(handle_, &q));
      p = static_cast<T *>(q);
    }
    return View<T, N>(p, dlv_tensor_shape(handle_), dlv_tensor_strides(handle_), n);
  }

  dlv_tensor *handle_ = nullptr;
};

/// `dst[...] = src`: broadcasts and casts `src` into `dst`'s elements; see
/// dlv_tensor_copy_into.
inline void copy_into(Tensor &dst, const Tensor &src) { check(dlv_tensor_copy_into(dst.get(), src.get())); }

/// True if some element address is common to both (see dlv_shares_memory).
inline bool shares_memory(const Tensor &a, const Tensor &b) noexcept {
  return dlv_shares_memory(a.get(), b.get());
}
/// True if the byte ranges overlap (see dlv_may_share_memory).
inline bool may_share_memory(const Tensor &a, const Tensor &b) noexcept {
  return dlv_may_share_memory(a.get(), b.get());
}

// ---- names of element types and devices ----

/// The canonical name of `dtype` ("float32", "bfloat16", ...), or nullptr
/// when dlview does not support it.
inline const char *dtype_name(DLDataType dtype) noexcept { return dlv_dtype_name(dtype); }
/// The buffer-protocol (PEP 3118) format of one element of `dtype` ("f",
/// "Zd", "e"), or nullptr when it has none (bfloat16, float8, sub-byte).
inline const char *dtype_format(DLDataType dtype) noexcept { return dlv_dtype_format(dtype); }
/// An element type by name (canonical or a NumPy alias such as "f4").
inline DLDataType dtype_from_name(const std::string &name) {
  DLDataType d{0, 0, 0};
  check(dlv_dtype_from_name(detail::c_string(name, "dtype name"), &d));
  return d;
}
/// "cpu", "cuda:0", ...
inline std::string device_name(DLDevice device) {
  std::string text(dlv_device_name(device, nullptr, 0), '\0');
  dlv_device_name(device, text.data(), text.size() + 1);
  return text;
}
/// A device by name ("cpu", "cuda", "cuda:1", ...).
inline DLDevice device_from_name(const std::string &name) {
  DLDevice d{kDLCPU, 0};
  check(dlv_device_from_name(detail::c_string(name, "device name"), &d));
  return d;
}

/// The Python callbacks of the C ABI. As function pointers (for
/// Tensor::from_buffer's `release`, or PyCapsule_New) pass the C functions
/// themselves: these are for calling them from C++.
namespace py {
/// Drops the Python reference `ctx` (taking the GIL; leaked while the
/// interpreter finalizes; nothing outside Python); see dlv_py_release_object.
inline void release_object(void *ctx) noexcept { dlv_py_release_object(ctx); }
/// Runs an unconsumed DLPack capsule's deleter; see dlv_py_capsule_destructor.
inline void capsule_destructor(void *capsule) noexcept { dlv_py_capsule_destructor(capsule); }
/// The current work stream of `like`'s framework on `device` (NULL on the
/// CPU; GIL held); see dlv_py_current_work_stream.
inline void *current_work_stream(void *like, DLDevice device) {
  void *stream = nullptr;
  check(dlv_py_current_work_stream(like, device, &stream));
  return stream;
}
}  // namespace py

// ---- threads ----
// dlv_set_num_threads / dlv_get_num_threads get their wrappers here (as
// dlview::set_num_threads / get_num_threads) when the C ABI has them.

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
/// Free and total memory of a device in bytes (cuMemGetInfo).
struct MemInfo {
  uint64_t free_bytes;
  uint64_t total_bytes;
};
inline MemInfo mem_get_info(int32_t device_id = 0) {
  MemInfo info{0, 0};
  check(dlv_cuda_mem_get_info(device_id, &info.free_bytes, &info.total_bytes));
  return info;
}
}  // namespace cuda

/// Threads used by large copies and casts: `n`, or all cores for 0 (see
/// dlv_set_num_threads); throws DLV_ERR_INVALID_ARGUMENT outside 0..1024.
inline void set_num_threads(int32_t n) { check(dlv_set_num_threads(n)); }
/// The number of threads large copies use (see dlv_get_num_threads).
inline int32_t get_num_threads() noexcept { return dlv_get_num_threads(); }

}  // namespace dlview

#undef DLVIEW_COLD

#endif  // DLVIEW_HPP
