/*
 * The wrappers of dlview.hpp other than View: library-wide calls, names,
 * files, copies, DLPack holders, Python capsules outside Python, CUDA
 * without a driver. Each wrapper is called once on its success path and
 * once on an error path, whose status (and message, where the wrapper
 * writes it) is checked; DLPack holders count deleter calls.
 */
#include "check.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

using dlview::Tensor;

static Tensor arange_3x4() { return arange_tensor({3, 4}); }

static void library_calls() {
  CHECK_STR(dlview::version(), DLVIEW_VERSION_STRING);
  CHECK_STR(dlview::status_name(DLV_ERR_READ_ONLY), "DLV_ERR_READ_ONLY");
  Tensor a = arange_3x4();
  CHECK_THROWS(a.select(1, 5), DLV_ERR_INDEX, "index 5 is out of bounds for axis 1 with size 4");
  CHECK_STR(dlview::last_error(), "index 5 is out of bounds for axis 1 with size 4");
  uint64_t before = dlview::live_storage_count();
  {
    Tensor b = Tensor::empty(dlview::dtype::uint8, {8});
    CHECK_I64(dlview::live_storage_count(), before + 1);
  }
  CHECK_I64(dlview::live_storage_count(), before);
  /* An Error copies without allocating and keeps its parts. */
  dlview::Error e(DLV_ERR_IO, "disk on fire");
  dlview::Error copy = e;
  CHECK_STR(copy.what(), "DLV_ERR_IO: disk on fire");
  CHECK_STR(copy.message(), "disk on fire");
  CHECK_I64(copy.status(), DLV_ERR_IO);
}

static void names_of_dtypes_and_devices() {
  CHECK_STR(dlview::dtype_name(dlview::dtype::bfloat16), "bfloat16");
  CHECK(dlview::dtype_name(DLDataType{kDLFloat, 32, 4}) == NULL);
  CHECK_STR(dlview::dtype_format(dlview::dtype::float32), "f");
  CHECK(dlview::dtype_format(dlview::dtype::bfloat16) == NULL);
  CHECK(dlview::same_dtype(dlview::dtype_from_name("f4"), dlview::dtype::float32));
  CHECK(dlview::same_dtype(dlview::dtype_from_name("complex128"), dlview::dtype::complex128));
  CHECK_THROWS(dlview::dtype_from_name("float33"), DLV_ERR_UNSUPPORTED_DTYPE, NULL);
  CHECK_THROWS(dlview::dtype_from_name(std::string("float32\0junk", 12)), DLV_ERR_INVALID_ARGUMENT,
               "dtype name contains a NUL byte");
  CHECK(dlview::device_name(DLDevice{kDLCUDA, 1}) == "cuda:1");
  CHECK(dlview::device_name(DLDevice{kDLCPU, 0}) == "cpu");
  DLDevice d = dlview::device_from_name("cuda:3");
  CHECK_I64(d.device_type, kDLCUDA);
  CHECK_I64(d.device_id, 3);
  CHECK_THROWS(dlview::device_from_name("tpu"), DLV_ERR_INVALID_ARGUMENT, NULL);
  CHECK_THROWS(dlview::device_from_name(std::string("cpu\0", 4)), DLV_ERR_INVALID_ARGUMENT,
               "device name contains a NUL byte");
}

static std::string scratch_dir() {
  const char *tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != NULL && *tmp ? tmp : "/tmp") + "/dlview-cpp-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == NULL) {
    perror("mkdtemp");
    abort();
  }
  return buf.data();
}

static void files() {
  std::string dir = scratch_dir();
  std::string path = dir + "/a.npy";
  {
    Tensor a = arange_3x4();
    Tensor t = a.transpose();
    t.save(path);
    Tensor back = Tensor::load(path);
    CHECK((back.shape() == std::vector<int64_t>{4, 3}));
    CHECK_F64(back.get({3, 2}), 11.0);
    Tensor mapped = Tensor::load(path, dlview::MmapMode::Read);
    CHECK(!mapped.writeable());
    CHECK_THROWS((mapped.view<float, 2>()), DLV_ERR_READ_ONLY, NULL);
    CHECK_F64((mapped.view<const float, 2>()(3, 2)), 11.0);
    mapped.flush(); /* a private map: nothing to write */
  }
  CHECK_THROWS(Tensor::load(dir + "/missing.npy"), DLV_ERR_IO, NULL);
  CHECK_THROWS(Tensor::load(path + std::string("\0x", 2)), DLV_ERR_INVALID_ARGUMENT, "path contains a NUL byte");
  CHECK_THROWS(Tensor::load(path, static_cast<dlview::MmapMode>(77)), DLV_ERR_INVALID_ARGUMENT, NULL);
  {
    Tensor a = arange_3x4();
    CHECK_THROWS(a.save(dir + std::string("/b\0.npy", 7)), DLV_ERR_INVALID_ARGUMENT, "path contains a NUL byte");
    CHECK(access((dir + "/b").c_str(), F_OK) != 0); /* nothing written under the truncated name */
  }

  /* A raw file: created with a shape, written through a View, flushed,
   * then mapped whole. */
  std::string raw = dir + "/raw.bin";
  {
    Tensor m = Tensor::memmap(raw, dlview::dtype::int16, dlview::MmapMode::Create, {2, 3}, 0, dlview::Order::F);
    CHECK((m.strides() == std::vector<int64_t>{1, 2}));
    dlview::View<int16_t, 2> v = m.view<int16_t, 2>();
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 3; j++) v(i, j) = int16_t(10 * i + j);
    m.flush();
  }
  {
    Tensor w = Tensor::memmap_whole(raw, dlview::dtype::int16, dlview::MmapMode::Read, 2);
    CHECK((w.shape() == std::vector<int64_t>{5}));
    const int16_t want[5] = {10, 1, 11, 2, 12}; /* F order, after the first element */
    dlview::View<const int16_t, 1> v = w.view<const int16_t, 1>();
    for (int k = 0; k < 5; k++) CHECK_I64(v(k), want[k]);
  }
  CHECK_THROWS(Tensor::memmap_whole(dir + "/none.bin", dlview::dtype::int16, dlview::MmapMode::Read), DLV_ERR_IO,
               NULL);
  CHECK_THROWS(Tensor::memmap(raw, dlview::dtype::int16, dlview::MmapMode::None, {2}), DLV_ERR_INVALID_ARGUMENT,
               NULL);
  CHECK_THROWS(Tensor::memmap_whole(raw + std::string("\0", 1), dlview::dtype::int16, dlview::MmapMode::Read),
               DLV_ERR_INVALID_ARGUMENT, "path contains a NUL byte");
  unlink(path.c_str());
  unlink(raw.c_str());
  CHECK(rmdir(dir.c_str()) == 0);
}

static void base_take_copy_into() {
  Tensor a = arange_3x4();
  CHECK(!a.base()); /* owns its data */
  Tensor t = a.transpose();
  Tensor b = t.base();
  CHECK(b.data() == a.data());
  CHECK((b.shape() == std::vector<int64_t>{3, 4}));

  Tensor g = a.take({2, -3, 2}, 0); /* rows 2, 0, 2 */
  const double want_rows[12] = {8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11};
  CHECK_VALUES(g.get(), 12, want_rows);
  Tensor none = a.take({}, 1);
  CHECK((none.shape() == std::vector<int64_t>{3, 0}));
  CHECK_THROWS(a.take({4}, 1), DLV_ERR_INDEX, "index 4 is out of bounds for axis 1 with size 4");

  Tensor dst = Tensor::zeros(dlview::dtype::float64, {2, 4});
  Tensor row = a.select(0, 1);
  dlview::copy_into(dst, row); /* broadcast and cast */
  const double want_dst[8] = {4, 5, 6, 7, 4, 5, 6, 7};
  CHECK_VALUES(dst.get(), 8, want_dst);
  Tensor ro = dst.broadcast_to({2, 4});
  CHECK_THROWS(dlview::copy_into(ro, row), DLV_ERR_READ_ONLY, "assignment destination is read-only");
  Tensor wrong = Tensor::zeros(dlview::dtype::float32, {3});
  CHECK_THROWS(dlview::copy_into(dst, wrong), DLV_ERR_INVALID_ARGUMENT, NULL);
}

static void views_and_copies() {
  Tensor a = arange_3x4();
  CHECK(!a.describe().empty());
  Tensor w = a.select(0, 0).sliding_window(0, 2);
  CHECK((w.shape() == std::vector<int64_t>{3, 2}));
  Tensor e = a.expand_dims(0).squeeze();
  CHECK((e.shape() == std::vector<int64_t>{3, 4}));
  CHECK_THROWS(a.transpose().reshape({12}, dlview::CopyMode::Never), DLV_ERR_COPY_REQUIRED, NULL);
  Tensor r = a.transpose().reshape({12});
  CHECK(!dlview::shares_memory(r, a));
  CHECK(dlview::may_share_memory(a.flip(0), a));
  Tensor d = a.astype(dlview::dtype::int8, dlview::Order::F);
  CHECK((d.strides() == std::vector<int64_t>{1, 3}));
  CHECK_THROWS(a.copy(static_cast<dlview::Order>(9)), DLV_ERR_INVALID_ARGUMENT, NULL);
  Tensor c = a.to_device(DLDevice{kDLCPU, 0}); /* a plain copy, no driver */
  CHECK_F64(c.get({2, 3}), 11.0);
  Tensor h = a.retain();
  CHECK(h.data() == a.data());
}

/* ---- DLPack holders ------------------------------------------------------ */

static int versioned_deletes = 0;
static int legacy_deletes = 0;
static int64_t foreign_shape[1] = {3};
static int64_t foreign_strides[1] = {1};
static float foreign_data[3] = {1, 2, 3};

static void delete_versioned(DLManagedTensorVersioned *self) {
  versioned_deletes++;
  delete self;
}
static void delete_legacy(DLManagedTensor *self) {
  legacy_deletes++;
  delete self;
}

/* foreign_data as a 1-D float32 CPU tensor, as another producer made it. */
static DLTensor foreign_tensor(int64_t *strides) {
  DLTensor t = {};
  t.data = foreign_data;
  t.device = DLDevice{kDLCPU, 0};
  t.ndim = 1;
  t.dtype = dlview::dtype::float32;
  t.shape = foreign_shape;
  t.strides = strides;
  return t;
}

static DLManagedTensorVersioned *foreign_versioned(uint32_t major) {
  DLManagedTensorVersioned *mt = new DLManagedTensorVersioned();
  mt->version.major = major;
  mt->version.minor = DLPACK_MINOR_VERSION;
  mt->deleter = delete_versioned;
  mt->dl_tensor = foreign_tensor(foreign_strides); /* versions from 1.2 on need strides */
  return mt;
}

static DLManagedTensor *foreign_legacy() {
  DLManagedTensor *mt = new DLManagedTensor();
  mt->deleter = delete_legacy;
  mt->dl_tensor = foreign_tensor(NULL);
  return mt;
}

static void holders_call_the_deleter_once() {
  versioned_deletes = legacy_deletes = 0;
  {
    dlview::ManagedTensorVersioned h(foreign_versioned(1));
    CHECK(static_cast<bool>(h));
    CHECK_I64(h->dl_tensor.ndim, 1);
    dlview::ManagedTensorVersioned moved = std::move(h);
    CHECK(!h);
    CHECK_I64(versioned_deletes, 0);
  }
  CHECK_I64(versioned_deletes, 1);
  {
    dlview::ManagedTensorVersioned h(foreign_versioned(1));
    h = dlview::ManagedTensorVersioned(foreign_versioned(1)); /* the first one goes */
    CHECK_I64(versioned_deletes, 2);
    h.reset();
    CHECK_I64(versioned_deletes, 3);
    h.reset(); /* empty: nothing */
    CHECK_I64(versioned_deletes, 3);
  }
  {
    dlview::ManagedTensorVersioned h(foreign_versioned(1));
    DLManagedTensorVersioned *raw = h.release();
    CHECK(!h);
    CHECK_I64(versioned_deletes, 3);
    raw->deleter(raw);
    CHECK_I64(versioned_deletes, 4);
  }
  {
    dlview::ManagedTensor h(foreign_legacy());
    dlview::ManagedTensor other;
    other = std::move(h);
  }
  CHECK_I64(legacy_deletes, 1);
}

static void import_takes_ownership_even_on_failure() {
  versioned_deletes = legacy_deletes = 0;
  {
    Tensor t = Tensor::from_dlpack(dlview::ManagedTensorVersioned(foreign_versioned(1)));
    CHECK_F64(t.get({2}), 3.0);
    CHECK_I64(versioned_deletes, 0);
  }
  CHECK_I64(versioned_deletes, 1);
  CHECK_THROWS(Tensor::from_dlpack(dlview::ManagedTensorVersioned(foreign_versioned(2))), DLV_ERR_VERSION, NULL);
  CHECK_I64(versioned_deletes, 2);
  CHECK_THROWS(Tensor::from_dlpack(foreign_versioned(9)), DLV_ERR_VERSION, NULL);
  CHECK_I64(versioned_deletes, 3);
  {
    Tensor t = Tensor::from_dlpack_legacy(dlview::ManagedTensor(foreign_legacy()));
    CHECK(!t.writeable()); /* legacy imports are read-only by default */
  }
  CHECK_I64(legacy_deletes, 1);
  CHECK_THROWS(Tensor::from_dlpack(static_cast<DLManagedTensorVersioned *>(NULL)), DLV_ERR_NULL_ARGUMENT, NULL);
}

static void exports_come_back_in_holders() {
  Tensor a = arange_3x4();
  const uint64_t live = dlview::live_storage_count();
  {
    dlview::ManagedTensorVersioned mt = a.transpose().to_dlpack();
    CHECK(mt->dl_tensor.data == a.data());
    CHECK_I64(mt->dl_tensor.strides[0], 1);
    CHECK_I64(mt->dl_tensor.strides[1], 4);
    Tensor back = Tensor::from_dlpack(std::move(mt));
    CHECK(!mt);
    CHECK(back.data() == a.data());
  }
  {
    /* An export nobody imports is released by its holder. */
    dlview::ManagedTensor legacy = a.to_dlpack_legacy();
    CHECK(legacy->dl_tensor.data == a.data());
  }
  CHECK_I64(dlview::live_storage_count(), live);
  dlv_export_options never = {DLV_COPY_NEVER, false};
  CHECK_THROWS(a.flip(0).to_dlpack(&never), DLV_ERR_COPY_REQUIRED, NULL);
  Tensor ro = a.broadcast_to({3, 4});
  CHECK_THROWS(ro.to_dlpack_legacy(&never), DLV_ERR_COPY_REQUIRED, NULL);
}

static void capsules_outside_python() {
  Tensor a = arange_3x4();
  CHECK_THROWS(a.to_capsule(), DLV_ERR_INVALID_ARGUMENT, NULL);
  CHECK_THROWS(a.to_capsule(false), DLV_ERR_INVALID_ARGUMENT, NULL);
  CHECK_THROWS(Tensor::from_capsule(NULL), DLV_ERR_NULL_ARGUMENT, NULL);
  void *fake = reinterpret_cast<void *>(uintptr_t(0x1000)); /* never dereferenced: no Python */
  CHECK_THROWS(Tensor::from_capsule(fake), DLV_ERR_INVALID_ARGUMENT, NULL);
  const uint64_t live = dlview::live_storage_count();
  dlview::py::release_object(fake); /* callbacks do nothing outside Python */
  dlview::py::release_object(NULL);
  dlview::py::capsule_destructor(fake);
  dlview::py::capsule_destructor(NULL);
  CHECK_I64(dlview::live_storage_count(), live);
}

/* main() points DLVIEW_CUDA_DRIVER at a missing library. */
static void cuda_without_a_driver() {
  CHECK(!dlview::cuda::available());
  CHECK_THROWS(dlview::cuda::device_count(), DLV_ERR_DEVICE_UNAVAILABLE, NULL);
  CHECK_THROWS(dlview::cuda::synchronize(0), DLV_ERR_DEVICE_UNAVAILABLE, NULL);
  CHECK_THROWS(dlview::cuda::mem_get_info(0), DLV_ERR_DEVICE_UNAVAILABLE, NULL);
  dlview::cuda::stream_wait(DLDevice{kDLCPU, 0}, -1); /* nothing to order */
  CHECK_THROWS(dlview::cuda::stream_wait(DLDevice{kDLCUDA, 0}, 0), DLV_ERR_INVALID_ARGUMENT, NULL);
  CHECK_THROWS(Tensor::empty_on(dlview::dtype::float32, {2}, DLDevice{kDLCUDA, 0}), DLV_ERR_DEVICE_UNAVAILABLE,
               NULL);
  CHECK_THROWS(Tensor::zeros_on(dlview::dtype::float32, {2}, DLDevice{kDLCUDAHost, 0}), DLV_ERR_DEVICE_UNAVAILABLE,
               NULL);
  Tensor cpu = Tensor::zeros_on(dlview::dtype::float32, {2}, DLDevice{kDLCPU, 0});
  CHECK_THROWS(cpu.to_device(DLDevice{kDLCUDA, 0}), DLV_ERR_DEVICE_UNAVAILABLE, NULL);
  CHECK_THROWS(Tensor::empty_on(dlview::dtype::float32, {2}, DLDevice{kDLVulkan, 0}), DLV_ERR_UNSUPPORTED_DEVICE,
               NULL);
}

int main(int, char **argv) {
  setenv("DLVIEW_CUDA_DRIVER", "/nonexistent/libcuda.so.1", 1);
  RUN_CPP(library_calls);
  RUN_CPP(names_of_dtypes_and_devices);
  RUN_CPP(files);
  RUN_CPP(base_take_copy_into);
  RUN_CPP(views_and_copies);
  RUN_CPP(holders_call_the_deleter_once);
  RUN_CPP(import_takes_ownership_even_on_failure);
  RUN_CPP(exports_come_back_in_holders);
  RUN_CPP(capsules_outside_python);
  RUN_CPP(cuda_without_a_driver);
  return check_summary(argv[0]);
}
