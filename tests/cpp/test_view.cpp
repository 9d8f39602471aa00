/*
 * dlview::View<T, N>: typed, strided element access checked once. The
 * oracle is hand-computed layouts: a 3x4 float32 tensor `a` holds k at
 * C-order position k (a[i, j] == 4 * i + j), so every element a view
 * reaches names its own address; transposes, negative-step slices and
 * broadcasts (stride 0) must reach exactly the elements NumPy would.
 * Every refusal is checked with its status and message.
 */
#include "check.hpp"

#include <complex>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

using dlview::Tensor;
using dlview::View;

static Tensor arange_3x4() { return arange_tensor({3, 4}); }

static void c_order_view_reads_and_writes() {
  Tensor a = arange_3x4();
  View<float, 2> v = a.view<float, 2>();
  CHECK(v.data() == a.data());
  CHECK_I64(v.ndim(), 2);
  CHECK_I64(v.shape(0), 3);
  CHECK_I64(v.shape(1), 4);
  CHECK_I64(v.stride(0), 4);
  CHECK_I64(v.stride(1), 1);
  CHECK_I64(v.size(), 12);
  for (int64_t i = 0; i < 3; i++)
    for (int64_t j = 0; j < 4; j++) CHECK_F64(v(i, j), 4 * i + j);
  v(2, 1) = -7.0f;
  CHECK_F64(a.get({2, 1}), -7.0);
  v.at(0, 3) += 100.0f;
  CHECK_F64(a.get({0, 3}), 103.0);
}

static void transposed_view_walks_columns() {
  Tensor a = arange_3x4();
  Tensor t = a.transpose();
  View<const float, 2> v = t.view<const float, 2>();
  CHECK(v.data() == a.data());
  CHECK_I64(v.shape(0), 4);
  CHECK_I64(v.shape(1), 3);
  CHECK_I64(v.stride(0), 1);
  CHECK_I64(v.stride(1), 4);
  for (int64_t j = 0; j < 4; j++)
    for (int64_t i = 0; i < 3; i++) CHECK_F64(v(j, i), 4 * i + j);
}

static void negative_step_slice() {
  Tensor a = arange_3x4();
  Tensor s = a.slice(1, DLV_NONE, DLV_NONE, -2); /* a[:, ::-2]: columns 3, 1 */
  View<float, 2> v = s.view<float, 2>();
  CHECK_I64(v.shape(0), 3);
  CHECK_I64(v.shape(1), 2);
  CHECK_I64(v.stride(0), 4);
  CHECK_I64(v.stride(1), -2);
  CHECK(v.data() == static_cast<const float *>(a.data()) + 3);
  for (int64_t i = 0; i < 3; i++)
    for (int64_t k = 0; k < 2; k++) CHECK_F64(v(i, k), 4 * i + 3 - 2 * k);
  Tensor r = a.slice(0, DLV_NONE, DLV_NONE, -1); /* a[::-1]: rows 2, 1, 0 */
  View<float, 2> w = r.view<float, 2>();
  CHECK_I64(w.stride(0), -4);
  w(0, 0) = 50.0f; /* a[2, 0] */
  CHECK_F64(a.get({2, 0}), 50.0);
}

static void broadcast_view_has_stride_zero_and_is_read_only() {
  Tensor a = arange_3x4();
  Tensor row = a.select(0, 1); /* a[1] = 4, 5, 6, 7 */
  Tensor b = row.broadcast_to({5, 4});
  CHECK_THROWS((b.view<float, 2>()), DLV_ERR_READ_ONLY,
               "cannot view a read-only tensor with writeable elements: use a view of const elements");
  View<const float, 2> v = b.view<const float, 2>();
  CHECK_I64(v.stride(0), 0);
  CHECK_I64(v.stride(1), 1);
  for (int64_t r = 0; r < 5; r++)
    for (int64_t j = 0; j < 4; j++) CHECK_F64(v(r, j), 4 + j);
  CHECK(&v(4, 2) == &v(0, 2));
}

static void fortran_order_and_three_dims() {
  Tensor f = Tensor::zeros(dlview::dtype::int32, {2, 3}, dlview::Order::F);
  View<int32_t, 2> v = f.view<int32_t, 2>();
  CHECK_I64(v.stride(0), 1);
  CHECK_I64(v.stride(1), 2);
  v(1, 2) = 9;
  CHECK_I64(static_cast<const int32_t *>(f.data())[1 + 2 * 2], 9);

  Tensor c = Tensor::zeros(dlview::dtype::float64, {2, 3, 4});
  Tensor p = c.permute({2, 0, 1}); /* shape (4, 2, 3), strides (1, 12, 4) */
  View<double, 3> w = p.view<double, 3>();
  CHECK_I64(w.stride(0), 1);
  CHECK_I64(w.stride(1), 12);
  CHECK_I64(w.stride(2), 4);
  w(3, 1, 2) = 1.5; /* c[1, 2, 3] */
  CHECK_F64(c.get({1, 2, 3}), 1.5);
}

static void zero_d_and_empty_views() {
  Tensor s = Tensor::zeros(dlview::dtype::float64, {});
  View<double, 0> v = s.view<double, 0>();
  CHECK_I64(v.size(), 1);
  v() = 4.25;
  CHECK_F64(s.get({}), 4.25);
  CHECK_F64(v.at(), 4.25);

  Tensor e = Tensor::zeros(dlview::dtype::float32, {0, 3});
  View<float, 2> w = e.view<float, 2>();
  CHECK_I64(w.size(), 0);
  CHECK_I64(w.shape(0), 0);
  CHECK_I64(w.shape(1), 3);
  CHECK_THROWS(w.at(0, 0), DLV_ERR_INDEX, "index 0 is out of bounds for axis 0 with size 0");
}

static void at_checks_every_index() {
  Tensor a = arange_3x4();
  View<float, 2> v = a.view<float, 2>();
  CHECK_THROWS(v.at(3, 0), DLV_ERR_INDEX, "index 3 is out of bounds for axis 0 with size 3");
  CHECK_THROWS(v.at(0, 4), DLV_ERR_INDEX, "index 4 is out of bounds for axis 1 with size 4");
  /* No wrap-around: at() is operator() with checks, and operator() does
   * not count from the end. */
  CHECK_THROWS(v.at(0, -1), DLV_ERR_INDEX, "index -1 is out of bounds for axis 1 with size 4");
  CHECK_THROWS(v.at(size_t(0), size_t(18446744073709551615ull)), DLV_ERR_INDEX,
               "index 18446744073709551615 is out of bounds for axis 1 with size 4");
  CHECK_F64(v.at(size_t(2), 3u), 11.0);
  CHECK_F64(v.at(int8_t(1), int16_t(1)), 5.0);
}

static void shape_and_stride_check_the_axis() {
  Tensor a = arange_3x4();
  View<float, 2> v = a.view<float, 2>();
  CHECK_THROWS(v.shape(2), DLV_ERR_INVALID_ARGUMENT, "axis 2 is out of bounds for array of dimension 2");
  CHECK_THROWS(v.stride(-1), DLV_ERR_INVALID_ARGUMENT, "axis -1 is out of bounds for array of dimension 2");
}

static void dynamic_rank() {
  Tensor a = arange_3x4();
  Tensor t = a.transpose();
  View<const float> v = t.view<const float>();
  CHECK_I64(v.ndim(), 2);
  CHECK_I64(v.shape(0), 4);
  CHECK_I64(v.stride(1), 4);
  CHECK_F64(v(3, 2), 11.0);
  CHECK_F64(v.at(1, 2), 9.0);
  CHECK_THROWS(v(1), DLV_ERR_INDEX, "View::operator() needs one index per dimension: 2 for a 2-d tensor, got 1");
  CHECK_THROWS(v.at(1, 2, 0), DLV_ERR_INDEX, "View::at needs one index per dimension: 2 for a 2-d tensor, got 3");
  CHECK_THROWS(v.at(4, 0), DLV_ERR_INDEX, "index 4 is out of bounds for axis 0 with size 4");
  View<const float> copy = v; /* copies share elements */
  CHECK(&copy(1, 1) == &v(1, 1));
}

static void mutable_view_converts_to_const() {
  Tensor a = arange_3x4();
  View<float, 2> v = a.view<float, 2>();
  View<const float, 2> c = v;
  CHECK(&c(1, 2) == &v(1, 2));
  static_assert(!std::is_convertible_v<View<const float, 2>, View<float, 2>>, "const views stay const");
  const Tensor &ca = a;
  View<const float, 2> d = ca.view<const float, 2>();
  CHECK_F64(d(2, 3), 11.0);
}

static void wrong_dtype() {
  Tensor a = arange_3x4();
  CHECK_THROWS((a.view<double, 2>()), DLV_ERR_UNSUPPORTED_DTYPE, "cannot view a float32 tensor as float64");
  CHECK_THROWS((a.view<int32_t, 2>()), DLV_ERR_UNSUPPORTED_DTYPE, "cannot view a float32 tensor as int32");
  Tensor i = Tensor::zeros(dlview::dtype::int32, {2});
  CHECK_THROWS((i.view<uint32_t, 1>()), DLV_ERR_UNSUPPORTED_DTYPE, "cannot view a int32 tensor as uint32");
  CHECK_THROWS((i.view<const int64_t, 1>()), DLV_ERR_UNSUPPORTED_DTYPE, "cannot view a int32 tensor as int64");
  Tensor h = Tensor::zeros(dlview::dtype::float16, {2});
  CHECK_THROWS((h.view<dlview::bfloat16_bits, 1>()), DLV_ERR_UNSUPPORTED_DTYPE,
               "cannot view a float16 tensor as bfloat16");
}

static void wrong_ndim() {
  Tensor a = arange_3x4();
  CHECK_THROWS((a.view<float, 3>()), DLV_ERR_INVALID_ARGUMENT, "cannot view a 2-d tensor as 3-d");
  CHECK_THROWS((a.view<const float, 1>()), DLV_ERR_INVALID_ARGUMENT, "cannot view a 2-d tensor as 1-d");
  CHECK_THROWS((a.view<float, 0>()), DLV_ERR_INVALID_ARGUMENT, "cannot view a 2-d tensor as 0-d");
}

static void device_memory_is_refused_host_kinds_are_viewed() {
  /* from_buffer never touches non-CPU memory, so host memory labelled as
   * each device kind stands in for it (no driver needed). */
  float host[4] = {1, 2, 3, 4};
  DLDevice cuda = {kDLCUDA, 0};
  Tensor d = Tensor::from_buffer(host, dlview::dtype::float32, {4}, {}, true, nullptr, nullptr, cuda);
  CHECK_THROWS((d.view<const float, 1>()), DLV_ERR_UNSUPPORTED_DEVICE,
               "cannot view memory on cuda:0 from the host (cpu, cuda_host and cuda_managed can be viewed)");
  DLDevice rocm = {kDLROCM, 1};
  Tensor r = Tensor::from_buffer(host, dlview::dtype::float32, {4}, {}, true, nullptr, nullptr, rocm);
  CHECK_THROWS((r.view<float, 1>()), DLV_ERR_UNSUPPORTED_DEVICE,
               "cannot view memory on rocm:1 from the host (cpu, cuda_host and cuda_managed can be viewed)");
  const DLDeviceType host_kinds[2] = {kDLCUDAHost, kDLCUDAManaged};
  for (DLDeviceType kind : host_kinds) {
    DLDevice dev = {kind, 0};
    Tensor t = Tensor::from_buffer(host, dlview::dtype::float32, {4}, {}, true, nullptr, nullptr, dev);
    View<float, 1> v = t.view<float, 1>();
    CHECK_F64(v(3), 4.0);
    v(0) = 10.0f;
    CHECK_F64(host[0], 10.0);
    host[0] = 1.0f;
  }
}

static void misaligned_memory_is_refused() {
  alignas(8) unsigned char bytes[20] = {0};
  Tensor t = Tensor::from_buffer(bytes + 1, dlview::dtype::float32, {4});
  CHECK_THROWS((t.view<const float, 1>()), DLV_ERR_INVALID_ARGUMENT,
               "cannot view a float32 tensor whose data or strides are not multiples of its alignment");
  Tensor u = Tensor::from_buffer(bytes + 1, dlview::dtype::uint8, {4});
  View<uint8_t, 1> v = u.view<uint8_t, 1>(); /* bytes need no alignment */
  v(0) = 7;
  CHECK_I64(bytes[1], 7);
}

static void read_only_memory() {
  float host[3] = {1, 2, 3};
  Tensor t = Tensor::from_buffer(host, dlview::dtype::float32, {3}, {}, /*writeable=*/false);
  CHECK_THROWS((t.view<float, 1>()), DLV_ERR_READ_ONLY,
               "cannot view a read-only tensor with writeable elements: use a view of const elements");
  CHECK_THROWS((t.view<float>()), DLV_ERR_READ_ONLY,
               "cannot view a read-only tensor with writeable elements: use a view of const elements");
  View<const float, 1> v = t.view<const float, 1>();
  CHECK_F64(v(2), 3.0);
  /* A writeable tensor made read-only by its handle's flag is refused too. */
  Tensor a = arange_3x4();
  a.set_writeable(false);
  CHECK_THROWS((a.view<float, 2>()), DLV_ERR_READ_ONLY, NULL);
}

static void empty_tensor_has_no_view() {
  Tensor none;
  CHECK_THROWS((none.view<float, 1>()), DLV_ERR_NULL_ARGUMENT, "view() of an empty Tensor");
}

/* Each element type reads and writes the bytes the dtype says. */
template <typename T>
static void round_trip_type(DLDataType want, T value) {
  CHECK(dlview::same_dtype(dlview::dtype_of<T>(), want));
  CHECK(dlview::same_dtype(dlview::dtype_of<const T>(), want));
  Tensor t = Tensor::zeros(want, {2, 2});
  View<T, 2> v = t.view<T, 2>();
  v(1, 0) = value;
  Tensor c = t.copy(); /* through the library's own copy kernel */
  View<const T, 2> w = c.view<const T, 2>();
  CHECK(std::memcmp(&w(1, 0), &value, sizeof(T)) == 0);
  CHECK_I64(static_cast<const unsigned char *>(c.data())[0], 0);
}

static void every_element_type() {
  round_trip_type<bool>(dlview::dtype::boolean, true);
  round_trip_type<int8_t>(dlview::dtype::int8, int8_t(-5));
  round_trip_type<int16_t>(dlview::dtype::int16, int16_t(-300));
  round_trip_type<int32_t>(dlview::dtype::int32, -70000);
  round_trip_type<int64_t>(dlview::dtype::int64, -(int64_t(1) << 40));
  round_trip_type<long long>(dlview::dtype::int64, -3ll);
  round_trip_type<uint8_t>(dlview::dtype::uint8, uint8_t(200));
  round_trip_type<uint16_t>(dlview::dtype::uint16, uint16_t(60000));
  round_trip_type<uint32_t>(dlview::dtype::uint32, 4000000000u);
  round_trip_type<uint64_t>(dlview::dtype::uint64, uint64_t(1) << 63);
  round_trip_type<float>(dlview::dtype::float32, 1.5f);
  round_trip_type<double>(dlview::dtype::float64, -2.25);
  round_trip_type<std::complex<float>>(dlview::dtype::complex64, std::complex<float>(1.5f, -2.0f));
  round_trip_type<std::complex<double>>(dlview::dtype::complex128, std::complex<double>(-0.5, 8.0));
  round_trip_type<dlview::float16_bits>(dlview::dtype::float16, dlview::float16_bits{0x3C00});
  round_trip_type<dlview::bfloat16_bits>(dlview::dtype::bfloat16, dlview::bfloat16_bits{0x3F80});

  /* The half types hold raw bits: 1.0 is 0x3C00 in float16, 0x3F80 in bfloat16. */
  Tensor h = Tensor::zeros(dlview::dtype::float16, {1});
  h.set({0}, 1.0);
  CHECK_I64((h.view<const dlview::float16_bits, 1>()(0).bits), 0x3C00);
  Tensor b = Tensor::zeros(dlview::dtype::bfloat16, {1});
  b.set({0}, -2.0);
  CHECK_I64((b.view<const dlview::bfloat16_bits, 1>()(0).bits), 0xC000);
}

int main(int, char **argv) {
  RUN_CPP(c_order_view_reads_and_writes);
  RUN_CPP(transposed_view_walks_columns);
  RUN_CPP(negative_step_slice);
  RUN_CPP(broadcast_view_has_stride_zero_and_is_read_only);
  RUN_CPP(fortran_order_and_three_dims);
  RUN_CPP(zero_d_and_empty_views);
  RUN_CPP(at_checks_every_index);
  RUN_CPP(shape_and_stride_check_the_axis);
  RUN_CPP(dynamic_rank);
  RUN_CPP(mutable_view_converts_to_const);
  RUN_CPP(wrong_dtype);
  RUN_CPP(wrong_ndim);
  RUN_CPP(device_memory_is_refused_host_kinds_are_viewed);
  RUN_CPP(misaligned_memory_is_refused);
  RUN_CPP(read_only_memory);
  RUN_CPP(empty_tensor_has_no_view);
  RUN_CPP(every_element_type);
  return check_summary(argv[0]);
}
