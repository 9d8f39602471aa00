/*
 * check.hpp: tests/c/check.h for the C++ test programs in tests/cpp/, plus
 * what C++ needs on top: CHECK_THROWS for dlview::Error, and RUN_CPP, which
 * also fails a test that lets any exception escape.
 */
#ifndef DLVIEW_TESTS_CHECK_HPP
#define DLVIEW_TESTS_CHECK_HPP

#include "check.h"
#include "dlview.hpp"

#include <exception>
#include <string>
#include <vector>

/* A C-order float32 tensor holding k at C-order position k (check.h's
 * arange_f32), so the element a view reaches names its own offset. */
static inline dlview::Tensor arange_tensor(const std::vector<int64_t> &shape) {
  dlv_tensor *t = NULL;
  dlview::check(arange_f32(static_cast<int32_t>(shape.size()), shape.data(), &t));
  return dlview::Tensor(t);
}

/* check.h's SENTINEL is for C out-parameters; C++ tests may not need it. */
static inline const void *check_sentinel_address() { return &check_sentinel_byte; }

/* `body()` throws dlview::Error with `status` and message() == `message`
 * (NULL: any message). */
template <typename F>
int check_throws(F &&body, dlv_status status, const char *message, const char *expr, const char *file, int line) {
  try {
    body();
  } catch (const dlview::Error &e) {
    if (e.status() != status) {
      check_fail_begin(file, line);
      fprintf(stderr, "%s: threw %s (\"%s\"), want %s", expr, dlv_status_name(e.status()), e.message(),
              dlv_status_name(status));
      check_fail_end();
      return 0;
    }
    if (message != NULL && std::string(e.message()) != message) {
      check_fail_begin(file, line);
      fprintf(stderr, "%s: %s as expected, but the message is wrong:\n    got  \"%s\"\n    want \"%s\"", expr,
              dlv_status_name(status), e.message(), message);
      check_fail_end();
      return 0;
    }
    std::string what = e.what();
    std::string want_what = std::string(dlv_status_name(status)) + ": " + e.message();
    return check_true(what == want_what, "what() is \"<status name>: <message>\"", file, line);
  } catch (const std::exception &e) {
    check_fail_begin(file, line);
    fprintf(stderr, "%s: threw a non-dlview exception: %s", expr, e.what());
    check_fail_end();
    return 0;
  }
  check_fail_begin(file, line);
  fprintf(stderr, "%s: did not throw, want %s", expr, dlv_status_name(status));
  check_fail_end();
  return 0;
}
#define CHECK_THROWS(expr, status, message) \
  check_throws([&]() { (void)(expr); }, (status), (message), #expr, __FILE__, __LINE__)

/* Runs `test`; an exception escaping it is a failed check. */
template <void (*Test)()>
void run_guarded() {
  try {
    Test();
  } catch (const std::exception &e) {
    check_fail_begin(__FILE__, __LINE__);
    fprintf(stderr, "unexpected exception: %s", e.what());
    check_fail_end();
  }
}
/* As RUN(test) of check.h (storages freed), with exceptions caught. */
#define RUN_CPP(test) run_test(#test, run_guarded<test>)

#endif /* DLVIEW_TESTS_CHECK_HPP */
