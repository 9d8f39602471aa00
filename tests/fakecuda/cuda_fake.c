/*
 * The CUDA code paths of dlview against tests/fakecuda/fakecuda.c, the
 * host-memory stand-in driver named by DLVIEW_CUDA_DRIVER (set by
 * tests/cuda_fake.rs, which builds both). Allocation and free counts, every
 * copy direction for C, F, sliced, negative-stride, transposed and broadcast
 * sources (equal element-wise after a round trip), which driver calls a copy
 * uses, the stream rules (event record + wait), DLPack exchange of device
 * tensors, the errors, and no leaks (dlview storages, fake allocations,
 * events, pushed contexts). C11 that also compiles as C++17.
 */
#include <dlfcn.h>
#include <pthread.h>

#include "check.h"

#define CUDA0 device_of(kDLCUDA, 0)

/* ---- the fake's inspection functions ----------------------------------------- */

static long (*fake_calls)(const char *);
static long (*fake_live_allocations)(void);
static long (*fake_live_events)(void);
static int (*fake_context_depth)(void);
static void *(*fake_stream_create)(void);
static void *(*fake_host_view)(unsigned long long, size_t);
static const char *(*fake_log)(void);
static void (*fake_reset_log)(void);

static void *lookup(void *lib, const char *name) {
  void *p = dlsym(lib, name);
  if (p == NULL) {
    fprintf(stderr, "the fake driver has no %s\n", name);
    exit(2);
  }
  return p;
}
#define BIND(var, name)                 \
  do {                                  \
    void *sym = lookup(lib, name);      \
    memcpy(&var, &sym, sizeof(var));    \
  } while (0)

static void bind_fake(void) {
  const char *path = getenv("DLVIEW_CUDA_DRIVER");
  void *lib = path ? dlopen(path, RTLD_NOW) : NULL;
  if (lib == NULL) {
    fprintf(stderr, "cannot open the fake driver (DLVIEW_CUDA_DRIVER=%s)\n", path ? path : "(unset)");
    exit(2);
  }
  BIND(fake_calls, "fakecuda_calls");
  BIND(fake_live_allocations, "fakecuda_live_allocations");
  BIND(fake_live_events, "fakecuda_live_events");
  BIND(fake_context_depth, "fakecuda_context_depth");
  BIND(fake_stream_create, "fakecuda_stream_create");
  BIND(fake_host_view, "fakecuda_host_view");
  BIND(fake_log, "fakecuda_log");
  BIND(fake_reset_log, "fakecuda_reset_log");
  /* dlview holds its own reference; this one may go (the library stays). */
  dlclose(lib);
}

/* ---- helpers -------------------------------------------------------------------- */

/* Every element of `a` and `b` (same shape, host-readable) is equal. */
static int check_equal(const dlv_tensor *a, const dlv_tensor *b, const char *what, int line) {
  int64_t index[64] = {0};
  int32_t ndim = dlv_tensor_ndim(a), i;
  if (ndim != dlv_tensor_ndim(b) || dlv_tensor_size(a) != dlv_tensor_size(b)) {
    check_fail_begin(__FILE__, line);
    fprintf(stderr, "%s: shapes differ", what);
    check_fail_end();
    return 0;
  }
  for (i = 0; i < ndim; i++) {
    if (dlv_tensor_shape(a)[i] != dlv_tensor_shape(b)[i]) {
      check_fail_begin(__FILE__, line);
      fprintf(stderr, "%s: shapes differ on axis %d", what, (int)i);
      check_fail_end();
      return 0;
    }
  }
  if (dlv_tensor_size(a) == 0) return check_true(1, what, __FILE__, line);
  do {
    double x = -1, y = -2;
    if (dlv_tensor_get_f64(a, index, &x) != DLV_OK || dlv_tensor_get_f64(b, index, &y) != DLV_OK || x != y) {
      check_fail_begin(__FILE__, line);
      fprintf(stderr, "%s: differ at ", what);
      print_dims(ndim, index);
      fprintf(stderr, ": %g vs %g", x, y);
      check_fail_end();
      return 0;
    }
  } while (next_index(ndim, dlv_tensor_shape(a), index));
  return check_true(1, what, __FILE__, line);
}
#define CHECK_EQUAL(a, b) check_equal((a), (b), #a " == " #b, __LINE__)

static int message_has(const char *needle) { return strstr(dlv_last_error(), needle) != NULL; }

/* The views every copy direction is tried with, of a C-order (4, 5, 6) source. */
#define N_VIEWS 8
static const char *view_names[N_VIEWS] = {"C", "F copy", "t[:, ::2, 1:5]", "t[:, :, 2:4] (2-D rows)",
                                          "flip(1)", "t[..., ::-2]", "transpose", "broadcast (1,6)->(3,4,6)"};

static dlv_status make_view(const dlv_tensor *t, int which, dlv_tensor **out) {
  dlv_tensor *a = NULL, *b = NULL, *c = NULL;
  dlv_status s = DLV_OK;
  int64_t bshape[3] = {3, 4, 6};
  switch (which) {
    case 0: return dlv_tensor_retain(t, out);
    case 1: return dlv_tensor_copy(t, DLV_ORDER_F, out);
    case 2:
      s = dlv_tensor_slice(t, 1, DLV_NONE, DLV_NONE, 2, &a);
      if (s == DLV_OK) s = dlv_tensor_slice(a, 2, 1, 5, 1, out);
      dlv_tensor_free(a);
      return s;
    case 3: return dlv_tensor_slice(t, 2, 2, 4, 1, out);
    case 4: return dlv_tensor_flip(t, 1, out);
    case 5: return dlv_tensor_slice(t, -1, DLV_NONE, DLV_NONE, -2, out);
    case 6: return dlv_tensor_transpose(t, out);
    default:
      s = dlv_tensor_select(t, 0, 1, &a);                      /* (5, 6) */
      if (s == DLV_OK) s = dlv_tensor_select(a, 0, 2, &b);     /* (6,) */
      if (s == DLV_OK) s = dlv_tensor_broadcast_to(b, 3, bshape, &c);
      dlv_tensor_free(a);
      dlv_tensor_free(b);
      if (s == DLV_OK) *out = c;
      return s;
  }
}

static int is_compact(const dlv_tensor *t, dlv_order order) {
  uint32_t f = dlv_tensor_flags(t);
  if (order == DLV_ORDER_C) return (f & DLV_FLAG_C_CONTIGUOUS) != 0;
  if (order == DLV_ORDER_F) return (f & DLV_FLAG_F_CONTIGUOUS) != 0;
  return 1;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_device_count(void) {
  int32_t n = -1;
  CHECK_OK(dlv_cuda_device_count(&n));
  CHECK_I64(n, 1);
  CHECK(dlv_cuda_available());
  CHECK_ERR(dlv_cuda_device_count(NULL), DLV_ERR_NULL_ARGUMENT, "argument `out` must not be NULL");
  CHECK_I64(fake_calls("cuInit"), 1);
  CHECK_I64(fake_context_depth(), 0);
}

static void test_allocation_and_free(void) {
  int64_t shape[2] = {3, 4}, strides[2] = {4, 1}, index[2] = {1, 1};
  long allocs = fake_live_allocations(), frees = fake_calls("cuMemFree_v2");
  dlv_tensor *t = NULL, *z = NULL, *host = NULL, *view = NULL;
  double v = 0;
  uint64_t free_bytes = 0, total = 0, free_after = 0;
  const float *p;
  REQUIRE_OK(dlv_cuda_mem_get_info(0, &free_bytes, &total));
  REQUIRE_OK(dlv_tensor_empty_on(F32, 2, shape, DLV_ORDER_C, CUDA0, &t));
  CHECK_I64(fake_live_allocations(), allocs + 1);
  CHECK_OK(dlv_cuda_mem_get_info(0, &free_after, &total));
  CHECK_I64(free_bytes - free_after, 48);
  CHECK_I64(dlv_tensor_device(t).device_type, kDLCUDA);
  CHECK_LAYOUT(t, 2, shape, strides);
  CHECK_FLAGS(t, DLV_FLAG_WRITEABLE | DLV_FLAG_C_CONTIGUOUS | DLV_FLAG_OWNDATA | DLV_FLAG_ALIGNED);
  /* Device memory is never read on the host. */
  CHECK_ERR(dlv_tensor_get_f64(t, index, &v), DLV_ERR_UNSUPPORTED_DEVICE,
            "reading an element needs host-accessible memory, but the tensor is on cuda:0");
  CHECK_ERR(dlv_tensor_set_f64(t, index, 1.0), DLV_ERR_UNSUPPORTED_DEVICE,
            "writing an element needs host-accessible memory, but the tensor is on cuda:0");
  CHECK(fake_host_view((unsigned long long)(uintptr_t)dlv_tensor_data(t), 48) != NULL);
  /* A view keeps the allocation alive after the owner handle is freed. */
  REQUIRE_OK(dlv_tensor_select(t, 0, 2, &view));
  dlv_tensor_free(t);
  CHECK_I64(fake_live_allocations(), allocs + 1);
  dlv_tensor_free(view);
  CHECK_I64(fake_live_allocations(), allocs);
  CHECK_I64(fake_calls("cuMemFree_v2"), frees + 1);

  /* zeros_on clears with cuMemsetD8; the copy back is all zero. */
  REQUIRE_OK(dlv_tensor_zeros_on(F32, 2, shape, DLV_ORDER_F, CUDA0, &z));
  CHECK(dlv_tensor_flags(z) & DLV_FLAG_F_CONTIGUOUS);
  p = (const float *)fake_host_view((unsigned long long)(uintptr_t)dlv_tensor_data(z), 48);
  CHECK(p != NULL && p[0] == 0.0f && p[11] == 0.0f);
  REQUIRE_OK(dlv_tensor_to_device(z, CPU, DLV_ORDER_K, &host));
  {
    double zeros[12] = {0};
    CHECK_VALUES(host, 12, zeros);
  }
  CHECK(dlv_tensor_flags(host) & DLV_FLAG_F_CONTIGUOUS);
  dlv_tensor_free(host);
  dlv_tensor_free(z);
  CHECK_I64(fake_live_allocations(), allocs);
  CHECK_OK(dlv_cuda_mem_get_info(0, &free_after, &total));
  CHECK_I64(free_after, free_bytes);
  CHECK_I64(fake_context_depth(), 0);
}

static void test_empty_tensors_and_bad_arguments(void) {
  int64_t shape[2] = {0, 4}, neg[1] = {-1};
  dlv_tensor *t = NULL, *host = NULL;
  long allocs = fake_live_allocations();
  REQUIRE_OK(dlv_tensor_empty_on(F32, 2, shape, DLV_ORDER_C, CUDA0, &t));
  CHECK(dlv_tensor_data(t) == NULL);
  CHECK_I64(fake_live_allocations(), allocs);
  REQUIRE_OK(dlv_tensor_to_device(t, CPU, DLV_ORDER_C, &host));
  CHECK_I64(dlv_tensor_size(host), 0);
  dlv_tensor_free(host);
  dlv_tensor_free(t);
  CHECK_ERR_NO_OUT(dlv_tensor_empty_on(F32, 1, neg, DLV_ORDER_C, CUDA0, &bad), DLV_ERR_INVALID_ARGUMENT, NULL);
  CHECK_ERR_NO_OUT(dlv_tensor_empty_on(F32, 1, shape, DLV_ORDER_K, CUDA0, &bad), DLV_ERR_INVALID_ARGUMENT, NULL);
  CHECK_ERR_NO_OUT(dlv_tensor_empty_on(F32, 1, shape, DLV_ORDER_C, device_of(kDLROCM, 0), &bad),
                   DLV_ERR_UNSUPPORTED_DEVICE,
                   "allocating CUDA memory is not supported on rocm:0: dlview handles cpu, cuda, cuda_host and "
                   "cuda_managed memory");
  CHECK_ERR_NO_OUT(dlv_tensor_empty_on(F32, 1, shape, DLV_ORDER_C, device_of(kDLCUDA, 1), &bad),
                   DLV_ERR_DEVICE_UNAVAILABLE, "CUDA device 1 does not exist (this machine has 1 CUDA device)");
  CHECK_ERR(dlv_tensor_empty_on(F32, 1, shape, DLV_ORDER_C, CUDA0, NULL), DLV_ERR_NULL_ARGUMENT,
            "argument `out` must not be NULL");
  {
    int64_t huge[1] = {(int64_t)1 << 29}; /* 2 GiB of float32: more than the fake's 1 GiB */
    CHECK_ERR_NO_OUT(dlv_tensor_empty_on(F32, 1, huge, DLV_ORDER_C, CUDA0, &bad), DLV_ERR_OUT_OF_MEMORY, NULL);
    CHECK(message_has("cuMemAlloc") && message_has("CUDA_ERROR_OUT_OF_MEMORY (out of memory)"));
  }
  CHECK_I64(fake_live_allocations(), allocs);
  CHECK_I64(fake_context_depth(), 0);
}

/* Host -> device -> host for every view and order; the device tensor is
 * compact in the order asked for. */
static void test_host_device_round_trips(void) {
  int64_t shape[3] = {4, 5, 6};
  dlv_tensor *t = NULL;
  int which, o;
  long allocs = fake_live_allocations();
  REQUIRE_OK(arange_f32(3, shape, &t));
  for (which = 0; which < N_VIEWS; which++) {
    dlv_tensor *v = NULL;
    if (!CHECK_OK(make_view(t, which, &v))) continue;
    for (o = 0; o < 3; o++) {
      dlv_order order = (dlv_order)o;
      dlv_tensor *d = NULL, *back = NULL;
      if (!CHECK_OK(dlv_tensor_to_device(v, CUDA0, order, &d))) continue;
      CHECK_I64(dlv_tensor_device(d).device_type, kDLCUDA);
      CHECK(is_compact(d, order));
      CHECK(dlv_tensor_flags(d) & DLV_FLAG_WRITEABLE);
      if (CHECK_OK(dlv_tensor_to_device(d, CPU, DLV_ORDER_C, &back))) {
        if (!check_equal(v, back, view_names[which], __LINE__)) fprintf(stderr, "    (order %d)\n", o);
      }
      dlv_tensor_free(back);
      dlv_tensor_free(d);
    }
    dlv_tensor_free(v);
  }
  dlv_tensor_free(t);
  CHECK_I64(fake_live_allocations(), allocs);
  CHECK_I64(fake_context_depth(), 0);
}

/* Strided device sources: device -> host directly, and device -> device
 * (dlv_tensor_copy keeps the device; dlv_tensor_to_device to cuda:0 too). */
static void test_strided_device_sources(void) {
  int64_t shape[3] = {4, 5, 6};
  dlv_tensor *t = NULL, *d = NULL;
  int which, o;
  long allocs = fake_live_allocations();
  REQUIRE_OK(arange_f32(3, shape, &t));
  REQUIRE_OK(dlv_tensor_to_device(t, CUDA0, DLV_ORDER_C, &d));
  for (which = 0; which < N_VIEWS; which++) {
    dlv_tensor *hv = NULL, *dv = NULL;
    if (!CHECK_OK(make_view(t, which, &hv)) || !CHECK_OK(make_view(d, which, &dv))) {
      dlv_tensor_free(hv);
      continue;
    }
    CHECK_I64(dlv_tensor_device(dv).device_type, kDLCUDA);
    for (o = 0; o < 3; o++) {
      dlv_order order = (dlv_order)o;
      dlv_tensor *h = NULL, *dd = NULL, *dd2 = NULL, *back = NULL, *back2 = NULL;
      if (CHECK_OK(dlv_tensor_to_device(dv, CPU, order, &h))) {
        CHECK(is_compact(h, order));
        if (!check_equal(hv, h, view_names[which], __LINE__)) fprintf(stderr, "    (D2H, order %d)\n", o);
      }
      if (CHECK_OK(dlv_tensor_copy(dv, order, &dd))) {
        CHECK_I64(dlv_tensor_device(dd).device_type, kDLCUDA);
        CHECK(is_compact(dd, order));
        if (CHECK_OK(dlv_tensor_to_device(dd, CPU, DLV_ORDER_K, &back)) &&
            !check_equal(hv, back, view_names[which], __LINE__))
          fprintf(stderr, "    (D2D copy, order %d)\n", o);
      }
      if (CHECK_OK(dlv_tensor_to_device(dv, CUDA0, order, &dd2)) &&
          CHECK_OK(dlv_tensor_to_device(dd2, CPU, DLV_ORDER_C, &back2)) &&
          !check_equal(hv, back2, view_names[which], __LINE__))
        fprintf(stderr, "    (to_device cuda:0, order %d)\n", o);
      dlv_tensor_free(h);
      dlv_tensor_free(dd);
      dlv_tensor_free(dd2);
      dlv_tensor_free(back);
      dlv_tensor_free(back2);
    }
    dlv_tensor_free(hv);
    dlv_tensor_free(dv);
  }
  dlv_tensor_free(d);
  dlv_tensor_free(t);
  CHECK_I64(fake_live_allocations(), allocs);
  CHECK_I64(fake_context_depth(), 0);
}


/* A C-order host copy of `t` (NULL after a failed check). */
static dlv_tensor *host_copy(const dlv_tensor *t) {
  dlv_tensor *h = NULL;
  if (!CHECK_OK(dlv_tensor_to_device(t, CPU, DLV_ORDER_C, &h))) return NULL;
  return h;
}

/* `h` and the device tensor `d` hold equal elements, and `d` is on cuda:0. */
static void check_same_on_device(const dlv_tensor *h, const dlv_tensor *d, const char *what, int line) {
  dlv_tensor *back = NULL;
  if (!check_i64(dlv_tensor_device(d).device_type, kDLCUDA, what, __FILE__, line)) return;
  back = host_copy(d);
  if (back != NULL) check_equal(h, back, what, line);
  dlv_tensor_free(back);
}

/* astype, copy_into (into and out of device memory), take, index and
 * index_put of CUDA tensors: staged through the host (D2H, host kernel,
 * H2D), each equal to the same operation on host tensors. The destinations
 * start as arange, so a view's gaps must come back unchanged. */
static void test_host_kernels_on_device_tensors(void) {
  int64_t shape[3] = {4, 5, 6}, n3 = 3;
  dlv_tensor *h = NULL, *d = NULL, *flipped = NULL, *idx = NULL, *scalar = NULL, *dscalar = NULL;
  int which;
  long allocs = fake_live_allocations();
  REQUIRE_OK(arange_f32(3, shape, &h));
  REQUIRE_OK(dlv_tensor_to_device(h, CUDA0, DLV_ORDER_C, &d));
  REQUIRE_OK(dlv_tensor_flip(h, 0, &flipped));
  for (which = 0; which < N_VIEWS; which++) {
    dlv_tensor *hv = NULL, *dv = NULL, *ha = NULL, *da = NULL, *src = NULL;
    dlv_tensor *hdst = NULL, *ddst = NULL, *hdv = NULL, *ddv = NULL, *hback = NULL, *dsrc = NULL;
    if (!CHECK_OK(make_view(h, which, &hv)) || !CHECK_OK(make_view(d, which, &dv))) goto next;
    /* astype */
    if (CHECK_OK(dlv_tensor_astype(hv, F64, DLV_ORDER_K, &ha)) && CHECK_OK(dlv_tensor_astype(dv, F64, DLV_ORDER_K, &da)))
      check_same_on_device(ha, da, view_names[which], __LINE__);
    /* copy_into a float64 view: host -> device, device -> host, device -> device */
    if (which == 1) goto next; /* a copy, not a view of the destination */
    if (!CHECK_OK(make_view(flipped, which, &src))) goto next;
    if (!CHECK_OK(dlv_tensor_astype(h, F64, DLV_ORDER_C, &hdst))) goto next;
    if (!CHECK_OK(dlv_tensor_to_device(hdst, CUDA0, DLV_ORDER_C, &ddst))) goto next;
    if (!CHECK_OK(make_view(hdst, which, &hdv)) || !CHECK_OK(make_view(ddst, which, &ddv))) goto next;
    if (which == 7) { /* a broadcast view is read-only, on the device too */
      CHECK_ERR(dlv_tensor_copy_into(ddv, src), DLV_ERR_READ_ONLY, "assignment destination is read-only");
      goto next;
    }
    CHECK_OK(dlv_tensor_copy_into(hdv, src));
    CHECK_OK(dlv_tensor_copy_into(ddv, src));
    check_same_on_device(hdst, ddst, view_names[which], __LINE__);
    /* the device view as the source: into a host tensor and into another device tensor */
    if (CHECK_OK(dlv_tensor_zeros(F32, 3, shape, DLV_ORDER_C, &hback))) {
      dlv_tensor *target = NULL;
      if (CHECK_OK(make_view(hback, which, &target))) {
        CHECK_OK(dlv_tensor_copy_into(target, ddv));
        CHECK_EQUAL(target, hdv);
      }
      dlv_tensor_free(target);
    }
    if (CHECK_OK(dlv_tensor_zeros_on(F64, 3, shape, DLV_ORDER_C, CUDA0, &dsrc))) {
      dlv_tensor *target = NULL;
      if (CHECK_OK(make_view(dsrc, which, &target))) {
        CHECK_OK(dlv_tensor_copy_into(target, ddv));
        check_same_on_device(hdv, target, view_names[which], __LINE__);
      }
      dlv_tensor_free(target);
    }
  next:
    dlv_tensor_free(hv);
    dlv_tensor_free(dv);
    dlv_tensor_free(ha);
    dlv_tensor_free(da);
    dlv_tensor_free(src);
    dlv_tensor_free(hdst);
    dlv_tensor_free(ddst);
    dlv_tensor_free(hdv);
    dlv_tensor_free(ddv);
    dlv_tensor_free(hback);
    dlv_tensor_free(dsrc);
  }
  /* take, index (t[1, [2, 0, -1]] and t[:, [2, 0, -1], ::2]) and index_put */
  REQUIRE_OK(dlv_tensor_zeros(dtype_of(kDLInt, 64, 1), 1, &n3, DLV_ORDER_C, &idx));
  {
    int64_t i0 = 0, i1 = 1, i2 = 2, all[3] = {2, 0, -1};
    dlv_tensor *ht = NULL, *dt = NULL, *hcopy = NULL, *dcopy = NULL;
    dlv_index k1[2], k2[3];
    int key;
    CHECK_OK(dlv_tensor_set_f64(idx, &i0, 2));
    CHECK_OK(dlv_tensor_set_f64(idx, &i1, 0));
    CHECK_OK(dlv_tensor_set_f64(idx, &i2, -1));
    if (CHECK_OK(dlv_tensor_take(h, 1, all, 3, &ht)) && CHECK_OK(dlv_tensor_take(d, 1, all, 3, &dt)))
      check_same_on_device(ht, dt, "take", __LINE__);
    dlv_tensor_free(ht);
    dlv_tensor_free(dt);
    memset(k1, 0, sizeof k1);
    memset(k2, 0, sizeof k2);
    k1[0].kind = DLV_INDEX_INT;
    k1[0].i = 1;
    k1[1].kind = DLV_INDEX_TENSOR;
    k1[1].tensor = idx;
    k2[0].kind = DLV_INDEX_SLICE;
    k2[0].start = k2[0].stop = DLV_NONE;
    k2[0].step = 1;
    k2[1].kind = DLV_INDEX_TENSOR;
    k2[1].tensor = idx;
    k2[2].kind = DLV_INDEX_SLICE;
    k2[2].start = k2[2].stop = DLV_NONE;
    k2[2].step = 2;
    REQUIRE_OK(dlv_tensor_zeros(F64, 0, NULL, DLV_ORDER_C, &scalar));
    CHECK_OK(dlv_tensor_set_f64(scalar, NULL, -7.5));
    REQUIRE_OK(dlv_tensor_to_device(scalar, CUDA0, DLV_ORDER_C, &dscalar));
    for (key = 0; key < 2; key++) {
      const dlv_index *k = key == 0 ? k1 : k2;
      int32_t nk = key == 0 ? 2 : 3;
      dlv_tensor *hi = NULL, *di = NULL;
      if (CHECK_OK(dlv_tensor_index(h, k, nk, &hi)) && CHECK_OK(dlv_tensor_index(d, k, nk, &di)))
        check_same_on_device(hi, di, "index", __LINE__);
      /* index_put of the gathered values, reversed, and of a scalar (host or device) */
      if (hi != NULL && di != NULL && CHECK_OK(dlv_tensor_copy(h, DLV_ORDER_C, &hcopy)) &&
          CHECK_OK(dlv_tensor_copy(d, DLV_ORDER_C, &dcopy))) {
        dlv_tensor *hr = NULL, *dr = NULL;
        if (CHECK_OK(dlv_tensor_flip(hi, 0, &hr)) && CHECK_OK(dlv_tensor_flip(di, 0, &dr))) {
          CHECK_OK(dlv_tensor_index_put(hcopy, k, nk, hr));
          CHECK_OK(dlv_tensor_index_put(dcopy, k, nk, dr));
          check_same_on_device(hcopy, dcopy, "index_put of a device value", __LINE__);
          CHECK_OK(dlv_tensor_index_put(hcopy, k, nk, scalar));
          CHECK_OK(dlv_tensor_index_put(dcopy, k, nk, dscalar));
          check_same_on_device(hcopy, dcopy, "index_put of a device scalar", __LINE__);
          /* a host value into a device tensor, and a device value into a host one */
          CHECK_OK(dlv_tensor_index_put(hcopy, k, nk, hr));
          CHECK_OK(dlv_tensor_index_put(dcopy, k, nk, hr));
          check_same_on_device(hcopy, dcopy, "index_put of a host value", __LINE__);
          {
            dlv_tensor *h2 = NULL;
            if (CHECK_OK(dlv_tensor_copy(h, DLV_ORDER_C, &h2))) {
              CHECK_OK(dlv_tensor_index_put(h2, k, nk, dr));
              CHECK_OK(dlv_tensor_index_put(hcopy, k, nk, hr));
              CHECK_EQUAL(h2, hcopy);
            }
            dlv_tensor_free(h2);
          }
        }
        dlv_tensor_free(hr);
        dlv_tensor_free(dr);
      }
      dlv_tensor_free(hcopy);
      dlv_tensor_free(dcopy);
      hcopy = dcopy = NULL;
      dlv_tensor_free(hi);
      dlv_tensor_free(di);
    }
    /* a read-only device view refuses index_put before any transfer */
    {
      dlv_tensor *ro = NULL;
      int64_t bshape[4] = {2, 4, 5, 6};
      if (CHECK_OK(dlv_tensor_broadcast_to(d, 4, bshape, &ro))) {
        long dtoh = fake_calls("cuMemcpyDtoH_v2");
        CHECK_ERR(dlv_tensor_index_put(ro, k1, 2, scalar), DLV_ERR_READ_ONLY, "assignment destination is read-only");
        CHECK_I64(fake_calls("cuMemcpyDtoH_v2"), dtoh);
      }
      dlv_tensor_free(ro);
    }
  }
  dlv_tensor_free(idx);
  dlv_tensor_free(scalar);
  dlv_tensor_free(dscalar);
  dlv_tensor_free(flipped);
  dlv_tensor_free(d);
  dlv_tensor_free(h);
  CHECK_I64(fake_live_allocations(), allocs);
  CHECK_I64(fake_context_depth(), 0);
}

/* Which driver calls each kind of copy makes. */
static void test_copy_strategies(void) {
  int64_t shape[2] = {64, 32};
  dlv_tensor *t = NULL, *d = NULL, *cols = NULL, *flip = NULL, *h = NULL, *hs = NULL;
  long htod, dtoh, m2d;
  REQUIRE_OK(arange_f32(2, shape, &t));
  /* A contiguous host source: one cuMemcpyHtoD. */
  htod = fake_calls("cuMemcpyHtoD_v2");
  REQUIRE_OK(dlv_tensor_to_device(t, CUDA0, DLV_ORDER_C, &d));
  CHECK_I64(fake_calls("cuMemcpyHtoD_v2"), htod + 1);
  /* A strided host source: compacted on the host, still one copy. */
  REQUIRE_OK(dlv_tensor_slice(t, 1, 0, 16, 1, &hs));
  htod = fake_calls("cuMemcpyHtoD_v2");
  m2d = fake_calls("cuMemcpy2D_v2");
  REQUIRE_OK(dlv_tensor_to_device(hs, CUDA0, DLV_ORDER_C, &h));
  CHECK_I64(fake_calls("cuMemcpyHtoD_v2"), htod + 1);
  CHECK_I64(fake_calls("cuMemcpy2D_v2"), m2d);
  dlv_tensor_free(h);
  h = NULL;
  /* Device columns [:, 0:16]: one cuMemcpy2D of 64 rows, no staging. */
  REQUIRE_OK(dlv_tensor_slice(d, 1, 0, 16, 1, &cols));
  dtoh = fake_calls("cuMemcpyDtoH_v2");
  m2d = fake_calls("cuMemcpy2D_v2");
  REQUIRE_OK(dlv_tensor_to_device(cols, CPU, DLV_ORDER_C, &h));
  CHECK_I64(fake_calls("cuMemcpy2D_v2"), m2d + 1);
  CHECK_I64(fake_calls("cuMemcpyDtoH_v2"), dtoh);
  CHECK_EQUAL(hs, h);
  dlv_tensor_free(h);
  h = NULL;
  /* Negative strides cannot be a 2-D copy: staged through the host. */
  REQUIRE_OK(dlv_tensor_flip(d, 1, &flip));
  dtoh = fake_calls("cuMemcpyDtoH_v2");
  m2d = fake_calls("cuMemcpy2D_v2");
  REQUIRE_OK(dlv_tensor_to_device(flip, CPU, DLV_ORDER_C, &h));
  CHECK_I64(fake_calls("cuMemcpy2D_v2"), m2d);
  CHECK_I64(fake_calls("cuMemcpyDtoH_v2"), dtoh + 1);
  dlv_tensor_free(h);
  dlv_tensor_free(flip);
  dlv_tensor_free(cols);
  dlv_tensor_free(hs);
  dlv_tensor_free(d);
  dlv_tensor_free(t);
}

static void test_pinned_and_managed_memory(void) {
  int64_t shape[2] = {2, 3}, index[2] = {1, 2};
  DLDevice kinds[2];
  int k;
  long allocs = fake_live_allocations();
  kinds[0] = device_of(kDLCUDAHost, 0);
  kinds[1] = device_of(kDLCUDAManaged, 0);
  for (k = 0; k < 2; k++) {
    dlv_tensor *p = NULL, *d = NULL, *back = NULL, *cpu = NULL;
    double zeros[6] = {0};
    REQUIRE_OK(dlv_tensor_empty_on(F64, 2, shape, DLV_ORDER_C, kinds[k], &p));
    CHECK_I64(dlv_tensor_device(p).device_type, kinds[k].device_type);
    CHECK_I64(fake_live_allocations(), allocs + 1);
    /* Host-readable: elements are read and written directly, and start at 0. */
    CHECK_VALUES(p, 6, zeros);
    CHECK_OK(dlv_tensor_set_f64(p, index, 7.5));
    CHECK_AT(p, index, 7.5);
    /* To the device and back, and into CPU memory. */
    if (CHECK_OK(dlv_tensor_to_device(p, CUDA0, DLV_ORDER_C, &d)) &&
        CHECK_OK(dlv_tensor_to_device(d, kinds[k], DLV_ORDER_C, &back))) {
      CHECK_I64(dlv_tensor_device(back).device_type, kinds[k].device_type);
      CHECK_EQUAL(p, back);
    }
    if (CHECK_OK(dlv_tensor_to_device(p, CPU, DLV_ORDER_F, &cpu))) CHECK_EQUAL(p, cpu);
    dlv_tensor_free(cpu);
    dlv_tensor_free(back);
    dlv_tensor_free(d);
    dlv_tensor_free(p);
    CHECK_I64(fake_live_allocations(), allocs);
  }
  CHECK_I64(fake_calls("cuMemFreeHost"), 2);
}

static void test_stream_rules(void) {
  DLDevice cpu = CPU;
  unsigned long long s = (unsigned long long)(uintptr_t)fake_stream_create();
  char want[64];
  fake_reset_log();
  /* -1: no synchronisation; 1: dlview's own stream, the legacy default. */
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, -1));
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, 1));
  CHECK_STR(fake_log(), "");
  /* 2: the per-thread default stream waits for an event on the legacy one. */
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, 2));
  CHECK_STR(fake_log(), "record 0\nwait 0x2\n");
  /* A stream handle. */
  fake_reset_log();
  CHECK_OK(dlv_cuda_stream_wait(CUDA0, (int64_t)s));
  snprintf(want, sizeof want, "record 0\nwait %#llx\n", s);
  CHECK_STR(fake_log(), want);
  CHECK_I64(fake_live_events(), 0);
  /* Refused. */
  CHECK_ERR(dlv_cuda_stream_wait(CUDA0, 0), DLV_ERR_INVALID_ARGUMENT,
            "stream 0 is ambiguous for cuda:0 (DLPack: it could mean None, 1 or 2); pass 1 (legacy default "
            "stream), 2 (per-thread default stream), a stream handle, or -1 (no synchronisation)");
  CHECK_ERR(dlv_cuda_stream_wait(CUDA0, -7), DLV_ERR_INVALID_ARGUMENT,
            "stream -7 is not a CUDA stream (DLPack: -1, 1, 2 or a stream handle)");
  CHECK_ERR(dlv_cuda_stream_wait(cpu, 1), DLV_ERR_INVALID_ARGUMENT,
            "a tensor on cpu has no streams: stream must be None (-1 in C), not 1");
  CHECK_OK(dlv_cuda_stream_wait(cpu, -1));
  /* A stream the driver does not know: its error, named. */
  CHECK_ERR(dlv_cuda_stream_wait(CUDA0, 0x4fff), DLV_ERR_DEVICE_UNAVAILABLE,
            "cuStreamWaitEvent(stream 0x4fff) on cuda:0 failed: CUDA_ERROR_INVALID_HANDLE (invalid resource handle)");
  CHECK_I64(fake_live_events(), 0);
  fake_reset_log();
  CHECK_OK(dlv_cuda_synchronize(0));
  CHECK_STR(fake_log(), "sync 0\n");
  CHECK_ERR(dlv_cuda_synchronize(3), DLV_ERR_DEVICE_UNAVAILABLE,
            "CUDA device 3 does not exist (this machine has 1 CUDA device)");
  CHECK_I64(fake_context_depth(), 0);
}

static void test_dlpack_exchange_of_device_tensors(void) {
  int64_t shape[2] = {4, 6};
  dlv_tensor *t = NULL, *d = NULL, *back = NULL, *flip = NULL, *copy = NULL, *host = NULL;
  DLManagedTensorVersioned *mt = NULL;
  dlv_export_options always;
  dlv_import_options import_always;
  long allocs;
  REQUIRE_OK(arange_f32(2, shape, &t));
  REQUIRE_OK(dlv_tensor_to_device(t, CUDA0, DLV_ORDER_C, &d));
  allocs = fake_live_allocations();
  /* Zero-copy: same device pointer, device kept. */
  REQUIRE_OK(dlv_tensor_to_dlpack(d, NULL, &mt));
  CHECK(mt->dl_tensor.data == dlv_tensor_data(d));
  CHECK_I64(mt->dl_tensor.device.device_type, kDLCUDA);
  CHECK_I64(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED, 0);
  REQUIRE_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
  CHECK(dlv_tensor_data(back) == dlv_tensor_data(d));
  CHECK_I64(fake_live_allocations(), allocs);
  dlv_tensor_free(back);
  back = NULL;
  /* Negative strides are copied away on the device (IS_COPIED). */
  REQUIRE_OK(dlv_tensor_flip(d, 0, &flip));
  REQUIRE_OK(dlv_tensor_to_dlpack(flip, NULL, &mt));
  CHECK(mt->flags & DLPACK_FLAG_BITMASK_IS_COPIED);
  CHECK_I64(mt->dl_tensor.device.device_type, kDLCUDA);
  CHECK(mt->dl_tensor.strides[0] > 0 && mt->dl_tensor.strides[1] > 0);
  CHECK_I64(fake_live_allocations(), allocs + 1);
  REQUIRE_OK(dlv_tensor_from_dlpack(mt, NULL, &back));
  if (CHECK_OK(dlv_tensor_to_device(back, CPU, DLV_ORDER_C, &host))) {
    dlv_tensor *hflip = NULL;
    if (CHECK_OK(dlv_tensor_flip(t, 0, &hflip))) CHECK_EQUAL(hflip, host);
    dlv_tensor_free(hflip);
  }
  dlv_tensor_free(host);
  dlv_tensor_free(back);
  /* copy=ALWAYS on export and on import: device copies. */
  always.copy = DLV_COPY_ALWAYS;
  always.allow_negative_strides = false;
  REQUIRE_OK(dlv_tensor_to_dlpack(d, &always, &mt));
  CHECK(mt->dl_tensor.data != dlv_tensor_data(d));
  import_always.copy = DLV_COPY_ALWAYS;
  import_always.trust_legacy_writeable = false;
  REQUIRE_OK(dlv_tensor_from_dlpack(mt, &import_always, &copy));
  CHECK_I64(dlv_tensor_device(copy).device_type, kDLCUDA);
  CHECK_I64(fake_live_allocations(), allocs + 1);
  dlv_tensor_free(copy);
  dlv_tensor_free(flip);
  dlv_tensor_free(d);
  dlv_tensor_free(t);
  CHECK_I64(fake_live_allocations(), allocs - 1);
  CHECK_I64(fake_context_depth(), 0);
}

/* A tensor labelled cuda:0 whose memory the driver does not know (a
 * mislabelled foreign tensor) fails cleanly instead of being read. */
static void test_foreign_pointer_is_refused(void) {
  float host[4] = {1, 2, 3, 4};
  int64_t shape[1] = {4};
  dlv_tensor *t = NULL;
  REQUIRE_OK(dlv_tensor_from_buffer(host, F32, CUDA0, 1, shape, NULL, true, NULL, NULL, &t));
  CHECK_ERR_NO_OUT(dlv_tensor_to_device(t, CPU, DLV_ORDER_C, &bad), DLV_ERR_DEVICE_UNAVAILABLE, NULL);
  CHECK(message_has("cuPointerGetAttribute") && message_has("CUDA_ERROR_INVALID_VALUE"));
  CHECK_ERR_NO_OUT(dlv_tensor_copy(t, DLV_ORDER_C, &bad), DLV_ERR_DEVICE_UNAVAILABLE, NULL);
  dlv_tensor_free(t);
  CHECK_I64(fake_context_depth(), 0);
}

/* Device memory may be freed on another thread (the context is pushed there). */
static void *free_on_thread(void *arg) {
  dlv_tensor_free((dlv_tensor *)arg);
  return NULL;
}

static void test_free_on_another_thread(void) {
  int64_t shape[1] = {1000};
  dlv_tensor *t = NULL;
  pthread_t th;
  long allocs = fake_live_allocations();
  REQUIRE_OK(dlv_tensor_zeros_on(F32, 1, shape, DLV_ORDER_C, CUDA0, &t));
  CHECK(pthread_create(&th, NULL, free_on_thread, t) == 0);
  CHECK(pthread_join(th, NULL) == 0);
  CHECK_I64(fake_live_allocations(), allocs);
}

/* Thousands of exchanges leave nothing behind. */
static void test_no_leaks_after_many_exchanges(void) {
  int64_t shape[2] = {16, 16};
  dlv_tensor *host = NULL;
  int i;
  long allocs = fake_live_allocations(), events = fake_live_events();
  uint64_t storages = dlv_live_storage_count();
  REQUIRE_OK(arange_f32(2, shape, &host));
  for (i = 0; i < 2000; i++) {
    dlv_tensor *d = NULL, *view = NULL, *back = NULL;
    DLManagedTensorVersioned *mt = NULL;
    if (dlv_tensor_to_device(host, CUDA0, DLV_ORDER_C, &d) != DLV_OK ||
        dlv_tensor_to_dlpack(d, NULL, &mt) != DLV_OK || dlv_cuda_stream_wait(CUDA0, 2) != DLV_OK ||
        dlv_tensor_from_dlpack(mt, NULL, &view) != DLV_OK || dlv_tensor_to_device(view, CPU, DLV_ORDER_C, &back) != DLV_OK) {
      CHECK(0 && "exchange failed");
      dlv_tensor_free(d);
      dlv_tensor_free(view);
      break;
    }
    dlv_tensor_free(back);
    dlv_tensor_free(view);
    dlv_tensor_free(d);
  }
  dlv_tensor_free(host);
  CHECK_I64(fake_live_allocations(), allocs);
  CHECK_I64(fake_live_events(), events);
  CHECK_I64(dlv_live_storage_count(), storages);
  CHECK_I64(fake_context_depth(), 0);
}

int main(int argc, char **argv) {
  (void)argc;
  bind_fake();
  RUN(test_device_count);
  RUN(test_allocation_and_free);
  RUN(test_empty_tensors_and_bad_arguments);
  RUN(test_host_device_round_trips);
  RUN(test_strided_device_sources);
  RUN(test_copy_strategies);
  RUN(test_host_kernels_on_device_tensors);
  RUN(test_pinned_and_managed_memory);
  RUN(test_stream_rules);
  RUN(test_dlpack_exchange_of_device_tensors);
  RUN(test_foreign_pointer_is_refused);
  RUN(test_free_on_another_thread);
  RUN(test_no_leaks_after_many_exchanges);
  CHECK_I64(fake_live_allocations(), 0);
  return check_summary(argv[0]);
}
