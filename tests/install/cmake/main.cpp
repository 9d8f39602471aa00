// Built against an installed dlview with CMake's find_package(dlview).
#include <dlview.hpp>
#include <cstdio>

int main() {
  dlview::Tensor t = dlview::Tensor::zeros(dlview::dtype::float64, {3, 4});
  dlview::Tensor back = dlview::Tensor::from_dlpack(t.transpose().to_dlpack());
  std::printf("cmake consumer: transposed round trip shape (%lld, %lld), same memory: %s\n",
              (long long)back.shape()[0], (long long)back.shape()[1], back.data() == t.data() ? "yes" : "no");
  return back.data() == t.data() ? 0 : 1;
}
