/*
 * fakecuda: a host-memory stand-in for the CUDA driver API, so that every
 * CUDA code path of dlview runs in CI without a GPU.
 *
 * dlview loads it instead of libcuda.so.1 when the environment variable
 * DLVIEW_CUDA_DRIVER names it (a testing hook). It implements exactly the
 * entry points dlview resolves, under the names the real driver exports:
 *
 *   - "device" allocations are malloc'd host blocks whose device address is
 *     the host address plus FAKE_TAG, a non-canonical address: dereferencing
 *     a device pointer on the host faults (or is a valgrind error) instead of
 *     silently working. Pinned (cuMemAllocHost) and managed memory are plain
 *     host memory, as they are host-accessible in real CUDA too.
 *   - copies are memcpy after checking that every device byte touched lies in
 *     one live allocation (else CUDA_ERROR_INVALID_VALUE, never a crash);
 *   - a context must be current (pushed) for every memory, stream and event
 *     call, as with the real driver (else CUDA_ERROR_INVALID_CONTEXT);
 *   - streams are the NULL/legacy (0x1)/per-thread (0x2) handles and those
 *     made by fakecuda_stream_create(); events are counted; event records,
 *     stream waits and synchronisations are written to a call log.
 *
 * Configuration (read by cuInit): FAKECUDA_INIT_ERROR=<CUresult> makes cuInit
 * fail with that code; FAKECUDA_DEVICES=<n> (default 1); FAKECUDA_MEMORY=<bytes>
 * of device memory per process (default 1 GiB; more is CUDA_ERROR_OUT_OF_MEMORY).
 *
 * Inspection for tests: the fakecuda_* functions at the end (call counters,
 * live allocations/bytes/events, the log, the context depth of the thread).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef void *CUcontext;
typedef unsigned long long CUdeviceptr;
typedef void *CUstream;
typedef void *CUevent;

typedef struct CUDA_MEMCPY2D_st {
    size_t srcXInBytes;
    size_t srcY;
    unsigned int srcMemoryType;
    const void *srcHost;
    CUdeviceptr srcDevice;
    void *srcArray;
    size_t srcPitch;
    size_t dstXInBytes;
    size_t dstY;
    unsigned int dstMemoryType;
    void *dstHost;
    CUdeviceptr dstDevice;
    void *dstArray;
    size_t dstPitch;
    size_t WidthInBytes;
    size_t Height;
} CUDA_MEMCPY2D;

#define EXPORT __attribute__((visibility("default")))

enum {
    CUDA_SUCCESS = 0,
    CUDA_ERROR_INVALID_VALUE = 1,
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    CUDA_ERROR_NOT_INITIALIZED = 3,
    CUDA_ERROR_NO_DEVICE = 100,
    CUDA_ERROR_INVALID_DEVICE = 101,
    CUDA_ERROR_INVALID_CONTEXT = 201,
    CUDA_ERROR_INVALID_HANDLE = 400,
    CUDA_ERROR_NOT_READY = 600
};

#define FAKE_TAG 0x400000000000ULL
#define MAX_ALLOCS 4096
#define MAX_DEVICES 8
#define MAX_DEPTH 32
#define LOG_SIZE (1 << 16)

enum kind { KIND_DEVICE = 1, KIND_HOST = 2, KIND_MANAGED = 3 };

typedef struct alloc {
    unsigned char *host;
    size_t size;
    int kind;
    int device;
} alloc;

typedef struct event {
    unsigned magic;
    int recorded;
} event;
#define EVENT_MAGIC 0xE7E7E7E7u

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initialised;
static int device_count = 1;
static unsigned long long memory_limit = 1ULL << 30;
static unsigned long long device_bytes;
static alloc allocs[MAX_ALLOCS];
static long live_allocs;
static long live_events;
static int retained[MAX_DEVICES];
static int contexts[MAX_DEVICES]; /* the address of contexts[d] is device d's context */
static long next_stream = 0x5000;
static char log_text[LOG_SIZE];
static size_t log_len;

static __thread int ctx_stack[MAX_DEPTH];
static __thread int ctx_depth;

/* ---- call counters and log ---------------------------------------------- */

#define MAX_NAMES 64
static const char *names[MAX_NAMES];
static long counts[MAX_NAMES];

static void count(const char *name) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_NAMES; i++) {
        if (names[i] == NULL) {
            names[i] = name;
            counts[i] = 1;
            break;
        }
        if (strcmp(names[i], name) == 0) {
            counts[i]++;
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

static void logf_locked(const char *fmt, unsigned long long a) {
    if (log_len + 64 < LOG_SIZE) {
        int n = snprintf(log_text + log_len, LOG_SIZE - log_len, fmt, a);
        if (n > 0)
            log_len += (size_t)n;
    }
}

static void log_event(const char *fmt, unsigned long long a) {
    pthread_mutex_lock(&lock);
    logf_locked(fmt, a);
    pthread_mutex_unlock(&lock);
}

/* ---- helpers -------------------------------------------------------------- */

static int current_device(void) { return ctx_depth > 0 ? ctx_stack[ctx_depth - 1] : -1; }

static CUresult need_context(void) {
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    return current_device() >= 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

static unsigned long long device_address(const alloc *a) {
    return a->kind == KIND_DEVICE ? (unsigned long long)(uintptr_t)a->host + FAKE_TAG
                                  : (unsigned long long)(uintptr_t)a->host;
}

/* The allocation holding the device address range [p, p + n), or NULL. Locked by the caller. */
static alloc *find(unsigned long long p, size_t n) {
    for (int i = 0; i < MAX_ALLOCS; i++) {
        alloc *a = &allocs[i];
        if (a->host == NULL)
            continue;
        unsigned long long base = device_address(a);
        if (p >= base && p - base <= a->size && n <= a->size - (p - base))
            return a;
    }
    return NULL;
}

/* A host pointer for device range [p, p + n), or NULL. */
static unsigned char *device_bytes_at(unsigned long long p, size_t n) {
    pthread_mutex_lock(&lock);
    alloc *a = find(p, n);
    unsigned char *h = a ? a->host + (p - device_address(a)) : NULL;
    pthread_mutex_unlock(&lock);
    return h;
}

static int valid_stream(CUstream s) {
    uintptr_t v = (uintptr_t)s;
    return v <= 2 || (v >= 0x5000 && v < (uintptr_t)next_stream);
}

static CUresult add_alloc(unsigned char *host, size_t size, int kind) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_ALLOCS; i++) {
        if (allocs[i].host == NULL) {
            allocs[i].host = host;
            allocs[i].size = size;
            allocs[i].kind = kind;
            allocs[i].device = current_device();
            live_allocs++;
            if (kind == KIND_DEVICE)
                device_bytes += size;
            pthread_mutex_unlock(&lock);
            return CUDA_SUCCESS;
        }
    }
    pthread_mutex_unlock(&lock);
    return CUDA_ERROR_OUT_OF_MEMORY;
}

static CUresult remove_alloc(unsigned long long p, int kind) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_ALLOCS; i++) {
        alloc *a = &allocs[i];
        if (a->host != NULL && a->kind == kind && device_address(a) == p) {
            free(a->host);
            if (kind == KIND_DEVICE)
                device_bytes -= a->size;
            a->host = NULL;
            live_allocs--;
            pthread_mutex_unlock(&lock);
            return CUDA_SUCCESS;
        }
    }
    pthread_mutex_unlock(&lock);
    return CUDA_ERROR_INVALID_VALUE;
}

static CUresult new_block(size_t size, int kind, unsigned char **out) {
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    if (size == 0)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    int too_big = kind == KIND_DEVICE && size > memory_limit - device_bytes;
    pthread_mutex_unlock(&lock);
    if (too_big)
        return CUDA_ERROR_OUT_OF_MEMORY;
    unsigned char *p = (unsigned char *)malloc(size);
    if (p == NULL)
        return CUDA_ERROR_OUT_OF_MEMORY;
    /* Fresh device memory is garbage, as on a GPU. */
    memset(p, 0xA5, size);
    r = add_alloc(p, size, kind);
    if (r != CUDA_SUCCESS) {
        free(p);
        return r;
    }
    *out = p;
    return CUDA_SUCCESS;
}

/* ---- initialisation, devices, contexts ------------------------------------ */

EXPORT CUresult cuInit(unsigned int flags) {
    count("cuInit");
    if (flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    const char *err = getenv("FAKECUDA_INIT_ERROR");
    if (err != NULL && *err)
        return (CUresult)atoi(err);
    const char *n = getenv("FAKECUDA_DEVICES");
    if (n != NULL && *n) {
        device_count = atoi(n);
        if (device_count < 0)
            device_count = 0;
        if (device_count > MAX_DEVICES)
            device_count = MAX_DEVICES;
    }
    const char *m = getenv("FAKECUDA_MEMORY");
    if (m != NULL && *m)
        memory_limit = strtoull(m, NULL, 10);
    initialised = 1;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetCount(int *n) {
    count("cuDeviceGetCount");
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (n == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    *n = device_count;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice *d, int ordinal) {
    count("cuDeviceGet");
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (d == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    if (ordinal < 0 || ordinal >= device_count)
        return CUDA_ERROR_INVALID_DEVICE;
    *d = ordinal;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRetain(CUcontext *ctx, CUdevice d) {
    count("cuDevicePrimaryCtxRetain");
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (ctx == NULL || d < 0 || d >= device_count)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    retained[d]++;
    pthread_mutex_unlock(&lock);
    *ctx = &contexts[d];
    return CUDA_SUCCESS;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) {
    count("cuDevicePrimaryCtxRelease_v2");
    if (d < 0 || d >= device_count || retained[d] == 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    pthread_mutex_lock(&lock);
    retained[d]--;
    pthread_mutex_unlock(&lock);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPushCurrent_v2(CUcontext ctx) {
    count("cuCtxPushCurrent_v2");
    int *c = (int *)ctx;
    if (c < &contexts[0] || c >= &contexts[device_count] || retained[c - contexts] == 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (ctx_depth == MAX_DEPTH)
        return CUDA_ERROR_INVALID_VALUE;
    ctx_stack[ctx_depth++] = (int)(c - contexts);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPopCurrent_v2(CUcontext *ctx) {
    count("cuCtxPopCurrent_v2");
    if (ctx_depth == 0)
        return CUDA_ERROR_INVALID_CONTEXT;
    int d = ctx_stack[--ctx_depth];
    if (ctx != NULL)
        *ctx = &contexts[d];
    return CUDA_SUCCESS;
}

/* ---- memory ----------------------------------------------------------------- */

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t size) {
    count("cuMemAlloc_v2");
    if (p == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned char *h = NULL;
    CUresult r = new_block(size, KIND_DEVICE, &h);
    if (r == CUDA_SUCCESS)
        *p = (CUdeviceptr)(uintptr_t)h + FAKE_TAG;
    return r;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr p) {
    count("cuMemFree_v2");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    r = remove_alloc(p, KIND_DEVICE);
    return r == CUDA_SUCCESS ? r : remove_alloc(p, KIND_MANAGED);
}

EXPORT CUresult cuMemAllocHost_v2(void **p, size_t size) {
    count("cuMemAllocHost_v2");
    if (p == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    unsigned char *h = NULL;
    CUresult r = new_block(size, KIND_HOST, &h);
    if (r == CUDA_SUCCESS)
        *p = h;
    return r;
}

EXPORT CUresult cuMemFreeHost(void *p) {
    count("cuMemFreeHost");
    CUresult r = need_context();
    return r != CUDA_SUCCESS ? r : remove_alloc((CUdeviceptr)(uintptr_t)p, KIND_HOST);
}

EXPORT CUresult cuMemAllocManaged(CUdeviceptr *p, size_t size, unsigned int flags) {
    count("cuMemAllocManaged");
    if (p == NULL || (flags != 1 && flags != 2))
        return CUDA_ERROR_INVALID_VALUE;
    unsigned char *h = NULL;
    CUresult r = new_block(size, KIND_MANAGED, &h);
    if (r == CUDA_SUCCESS)
        *p = (CUdeviceptr)(uintptr_t)h;
    return r;
}

EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total) {
    count("cuMemGetInfo_v2");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    if (free_bytes == NULL || total == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    *total = (size_t)memory_limit;
    *free_bytes = (size_t)(memory_limit - device_bytes);
    pthread_mutex_unlock(&lock);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n) {
    count("cuMemcpyHtoD_v2");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    unsigned char *d = device_bytes_at(dst, n);
    if (d == NULL || (src == NULL && n > 0))
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(d, src, n);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n) {
    count("cuMemcpyDtoH_v2");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    unsigned char *s = device_bytes_at(src, n);
    if (s == NULL || (dst == NULL && n > 0))
        return CUDA_ERROR_INVALID_VALUE;
    memcpy(dst, s, n);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n) {
    count("cuMemcpyDtoD_v2");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    unsigned char *d = device_bytes_at(dst, n), *s = device_bytes_at(src, n);
    if (d == NULL || s == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    memmove(d, s, n);
    return CUDA_SUCCESS;
}

/* One row of a 2-D copy operand: a host pointer, or device bytes checked. */
static unsigned char *row(unsigned int type, const void *host, CUdeviceptr dev, size_t off, size_t n) {
    if (type == 1)
        return host == NULL ? NULL : (unsigned char *)host + off;
    if (type == 2)
        return device_bytes_at(dev + off, n);
    return NULL; /* arrays and unified addressing are not used by dlview */
}

EXPORT CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *m) {
    count("cuMemcpy2D_v2");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    if (m == NULL || m->srcPitch < m->WidthInBytes + m->srcXInBytes ||
        m->dstPitch < m->WidthInBytes + m->dstXInBytes)
        return CUDA_ERROR_INVALID_VALUE;
    for (size_t y = 0; y < m->Height; y++) {
        size_t so = m->srcXInBytes + (m->srcY + y) * m->srcPitch;
        size_t dof = m->dstXInBytes + (m->dstY + y) * m->dstPitch;
        unsigned char *s = row(m->srcMemoryType, m->srcHost, m->srcDevice, so, m->WidthInBytes);
        unsigned char *d = row(m->dstMemoryType, m->dstHost, m->dstDevice, dof, m->WidthInBytes);
        if (s == NULL || d == NULL)
            return CUDA_ERROR_INVALID_VALUE;
        memmove(d, s, m->WidthInBytes);
    }
    return CUDA_SUCCESS;
}

EXPORT CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t n) {
    count("cuMemsetD8_v2");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    unsigned char *d = device_bytes_at(dst, n);
    if (d == NULL)
        return CUDA_ERROR_INVALID_VALUE;
    memset(d, value, n);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuPointerGetAttribute(void *data, int attribute, CUdeviceptr p) {
    count("cuPointerGetAttribute");
    if (!initialised)
        return CUDA_ERROR_NOT_INITIALIZED;
    if (data == NULL || attribute != 9 /* CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL */)
        return CUDA_ERROR_INVALID_VALUE;
    pthread_mutex_lock(&lock);
    alloc *a = find(p, 0);
    int device = a ? a->device : -1;
    pthread_mutex_unlock(&lock);
    if (device < 0)
        return CUDA_ERROR_INVALID_VALUE;
    *(int *)data = device;
    return CUDA_SUCCESS;
}

/* ---- streams and events ------------------------------------------------------ */

EXPORT CUresult cuStreamSynchronize(CUstream s) {
    count("cuStreamSynchronize");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    if (!valid_stream(s))
        return CUDA_ERROR_INVALID_HANDLE;
    log_event("sync %#llx\n", (unsigned long long)(uintptr_t)s);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventCreate(CUevent *e, unsigned int flags) {
    count("cuEventCreate");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    if (e == NULL || flags > 0xF)
        return CUDA_ERROR_INVALID_VALUE;
    event *ev = (event *)calloc(1, sizeof(event));
    if (ev == NULL)
        return CUDA_ERROR_OUT_OF_MEMORY;
    ev->magic = EVENT_MAGIC;
    pthread_mutex_lock(&lock);
    live_events++;
    pthread_mutex_unlock(&lock);
    *e = ev;
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventRecord(CUevent e, CUstream s) {
    count("cuEventRecord");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    event *ev = (event *)e;
    if (ev == NULL || ev->magic != EVENT_MAGIC || !valid_stream(s))
        return CUDA_ERROR_INVALID_HANDLE;
    ev->recorded = 1;
    log_event("record %#llx\n", (unsigned long long)(uintptr_t)s);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamWaitEvent(CUstream s, CUevent e, unsigned int flags) {
    count("cuStreamWaitEvent");
    CUresult r = need_context();
    if (r != CUDA_SUCCESS)
        return r;
    event *ev = (event *)e;
    if (ev == NULL || ev->magic != EVENT_MAGIC || !valid_stream(s) || flags != 0)
        return CUDA_ERROR_INVALID_HANDLE;
    if (!ev->recorded)
        return CUDA_ERROR_INVALID_VALUE;
    log_event("wait %#llx\n", (unsigned long long)(uintptr_t)s);
    return CUDA_SUCCESS;
}

EXPORT CUresult cuEventDestroy_v2(CUevent e) {
    count("cuEventDestroy_v2");
    event *ev = (event *)e;
    if (ev == NULL || ev->magic != EVENT_MAGIC)
        return CUDA_ERROR_INVALID_HANDLE;
    ev->magic = 0;
    free(ev);
    pthread_mutex_lock(&lock);
    live_events--;
    pthread_mutex_unlock(&lock);
    return CUDA_SUCCESS;
}

/* ---- errors ----------------------------------------------------------------- */

static const struct {
    CUresult code;
    const char *name;
    const char *text;
} errors[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_READY, "CUDA_ERROR_NOT_READY", "device not ready"},
};

EXPORT CUresult cuGetErrorName(CUresult code, const char **s) {
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        if (errors[i].code == code) {
            *s = errors[i].name;
            return CUDA_SUCCESS;
        }
    }
    *s = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult code, const char **s) {
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        if (errors[i].code == code) {
            *s = errors[i].text;
            return CUDA_SUCCESS;
        }
    }
    *s = NULL;
    return CUDA_ERROR_INVALID_VALUE;
}

/* ---- inspection for tests ------------------------------------------------------ */

/* How many times the entry point `name` was called. */
EXPORT long fakecuda_calls(const char *name) {
    long n = 0;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < MAX_NAMES && names[i] != NULL; i++)
        if (strcmp(names[i], name) == 0)
            n = counts[i];
    pthread_mutex_unlock(&lock);
    return n;
}

/* Live allocations of every kind, and live device-memory bytes. */
EXPORT long fakecuda_live_allocations(void) {
    pthread_mutex_lock(&lock);
    long n = live_allocs;
    pthread_mutex_unlock(&lock);
    return n;
}

EXPORT unsigned long long fakecuda_live_device_bytes(void) {
    pthread_mutex_lock(&lock);
    unsigned long long n = device_bytes;
    pthread_mutex_unlock(&lock);
    return n;
}

EXPORT long fakecuda_live_events(void) {
    pthread_mutex_lock(&lock);
    long n = live_events;
    pthread_mutex_unlock(&lock);
    return n;
}

/* Contexts pushed and not yet popped on the calling thread. */
EXPORT int fakecuda_context_depth(void) { return ctx_depth; }

/* A new stream handle (an opaque value accepted by the stream calls). */
EXPORT void *fakecuda_stream_create(void) {
    pthread_mutex_lock(&lock);
    void *s = (void *)(uintptr_t)next_stream++;
    pthread_mutex_unlock(&lock);
    return s;
}

/* The host bytes behind a device address range, or NULL (tests read and
 * write device memory through this). */
EXPORT void *fakecuda_host_view(unsigned long long device_address, size_t n) {
    return device_bytes_at(device_address, n);
}

/* The log of records, waits and syncs ("record 0x0\nwait 0x5000\n"), and its reset. */
EXPORT const char *fakecuda_log(void) { return log_text; }

EXPORT void fakecuda_reset_log(void) {
    pthread_mutex_lock(&lock);
    log_len = 0;
    log_text[0] = '\0';
    pthread_mutex_unlock(&lock);
}
