// The C++ face of dlview: RAII handles, typed element access, views,
// errors as exceptions, and a DLPack round trip that keeps one data pointer.
#include "dlview.hpp"

#include <cstdio>

int main() {
  using dlview::Tensor;
  try {
    Tensor a = Tensor::zeros(dlview::dtype::float32, {2, 3});
    // Checked once (float32, 2-d, host memory, writeable); then v(i, j) is a
    // plain strided store, no call into the library.
    dlview::View<float, 2> v = a.view<float, 2>();
    for (int64_t i = 0; i < v.shape(0); i++)
      for (int64_t j = 0; j < v.shape(1); j++) v(i, j) = float(10 * i + j);

    Tensor t = a.transpose();                    // a view: same memory
    Tensor r = a.slice(1, DLV_NONE, DLV_NONE, -1);  // reversed columns
    std::printf("a.T[2, 1] = %g, a[:, ::-1][0, 0] = %g, shares memory: %s\n", t.get({2, 1}), r.get({0, 0}),
                dlview::shares_memory(a, t) ? "yes" : "no");

    // Export and import again: one data pointer, no copy.
    Tensor back = Tensor::from_dlpack(a.to_dlpack());
    std::printf("round trip keeps the data pointer: %s\n", back.data() == a.data() ? "yes" : "no");

    // A broadcast view is read-only; writing throws dlview::Error.
    Tensor b = a.select(0, 0).broadcast_to({4, 3});
    try {
      b.set({0, 0}, 1.0);
    } catch (const dlview::Error &e) {
      std::printf("write to broadcast view refused: %s\n", e.what());
    }
    // Out-of-range index: the message names axis, index and size.
    try {
      a.select(1, 5);
    } catch (const dlview::Error &e) {
      std::printf("%s\n", e.what());
    }

    // NumPy indexing: a[[1, 0], [2, 2]] gathers a[1, 2] and a[0, 2];
    // a[:, [0, 2]] = 7 writes two columns (broadcast and cast from int32).
    Tensor rows = Tensor::zeros(dlview::dtype::int64, {2});
    Tensor cols = Tensor::zeros(dlview::dtype::int64, {2});
    rows.set({0}, 1);
    cols.set({0}, 2);
    cols.set({1}, 2);
    Tensor picked = a.index({Tensor::by(rows), Tensor::by(cols)});
    std::printf("a[[1, 0], [2, 2]] = [%g, %g]\n", picked.get({0}), picked.get({1}));
    Tensor seven = Tensor::zeros(dlview::dtype::int32, {});
    seven.set({}, 7);
    cols.set({0}, 0);
    a.index_put({Tensor::all(), Tensor::by(cols)}, seven);
    Tensor col0 = a.index({Tensor::ellipsis(), Tensor::at(0)});  // a view of column 0
    std::printf("after a[:, [0, 2]] = 7: a[1] = [%g, %g, %g], column 0 = [%g, %g]\n", a.get({1, 0}),
                a.get({1, 1}), a.get({1, 2}), col0.get({0}), col0.get({1}));
    if (picked.get({0}) != 12 || picked.get({1}) != 2 || a.get({1, 0}) != 7 || a.get({1, 1}) != 11 ||
        a.get({0, 2}) != 7 || !dlview::shares_memory(col0, a)) {
      std::fprintf(stderr, "indexing gave unexpected values\n");
      return 1;
    }
    try {
      a.index({Tensor::at(0), Tensor::at(5)});
    } catch (const dlview::Error &e) {
      std::printf("%s\n", e.what());
    }
  } catch (const dlview::Error &e) {
    std::fprintf(stderr, "unexpected: %s\n", e.what());
    return 1;
  }
  return 0;
}
