// Row-wise model operations. Plain C: the compiler vectorises these at -O2 and they are a small
// share of a step.
#include "internal.h"
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>


void pp_rmsnorm(const float *x, const float *w, float *y, size_t rows, size_t n, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        double ss = 0;
        for (size_t i = 0; i < n; i++) ss += (double)xr[i] * xr[i];
        float inv = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
        for (size_t i = 0; i < n; i++) yr[i] = xr[i] * inv * w[i];
    }
}

void pp_rope_table(float *cs, size_t d, double position, double theta) {
    for (size_t i = 0; i < d / 2; i++) {
        double freq = pow(theta, -2.0 * (double)i / (double)d);
        double a = position * freq;
        cs[2 * i] = (float)cos(a);
        cs[2 * i + 1] = (float)sin(a);
    }
}

void pp_rope(float *x, size_t heads, size_t d, const float *cs) {
    for (size_t h = 0; h < heads; h++) {
        float *v = x + h * d;
        for (size_t i = 0; i < d / 2; i++) {
            float c = cs[2 * i], s = cs[2 * i + 1];
            float a = v[2 * i], b = v[2 * i + 1];
            v[2 * i] = a * c - b * s;
            v[2 * i + 1] = a * s + b * c;
        }
    }
}

void pp_silu_mul(float *g, const float *u, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
}

void pp_add(float *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

int pp_advise_huge_pages(void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    return madvise(p, bytes, MADV_HUGEPAGE);
#else
    (void)p; (void)bytes;
    return -1;
#endif
}

void *pp_map_file(const char *path, size_t *bytes) {
    *bytes = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0) {
        if (st.st_size > 0) {
            p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p != MAP_FAILED) *bytes = (size_t)st.st_size;
        } else {
            errno = EINVAL;
        }
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return p == MAP_FAILED ? NULL : p;
}

void pp_unmap_file(void *p, size_t bytes) {
    if (p && bytes) munmap(p, bytes);
}

void pp_release_file_pages(const void *p, size_t bytes) {
#if defined(__linux__) && defined(MADV_DONTNEED)
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), a = (uintptr_t)p, e = a + bytes;
    uintptr_t first = (a + page - 1) / page * page, last = e / page * page;
    if (last > first) madvise((void *)first, last - first, MADV_DONTNEED);
#else
    (void)p; (void)bytes;
#endif
}

void pp_add_f16_row(uint16_t *y, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = pp_f2h(pp_h2f(y[i]) + x[i]);
}

size_t pp_argmax(const float *x, size_t n) {
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

double pp_logsumexp(const float *x, size_t n) {
    if (n == 0) return -INFINITY;
    float m = x[0];
    for (size_t i = 1; i < n; i++) if (x[i] > m) m = x[i];
    if (isinf(m)) return m;
    double s = 0;
    for (size_t i = 0; i < n; i++) s += exp((double)x[i] - m);
    return (double)m + log(s);
}

// ---- random numbers: element i is a function of (seed, i) only ----
static inline uint64_t splitmix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/// A unit-variance, nearly Gaussian value from SplitMix64(seed + (i+1) * gamma): the sum of its
/// four 16-bit quarters as uniforms (Irwin-Hall of order 4, centred and scaled by sqrt(3)).
/// Bounded at +-3.46 sigma; a few times cheaper than Box-Muller, which made synthetic weights of
/// an 8B-shaped model take half a minute to generate.
static inline float gaussian_at(uint64_t seed, uint64_t i) {
    uint64_t z = splitmix(seed + (i + 1) * 0x9E3779B97F4A7C15ull);
    float sum = (float)(z & 0xFFFF) + (float)((z >> 16) & 0xFFFF) + (float)((z >> 32) & 0xFFFF) + (float)(z >> 48);
    // Each quarter is uniform on [0, 65535]: mean 32767.5, variance 65536^2 / 12 (nearly).
    return (sum - 4.0f * 32767.5f) * (1.7320508f / 65536.0f);  // std of the sum = 65536 / sqrt(3)
}

void pp_fill_gaussian_f16(uint16_t *dst, size_t n, uint64_t seed, uint64_t start, float mean, float std) {
    float buf[256];
    for (size_t i0 = 0; i0 < n; i0 += 256) {
        size_t len = n - i0 < 256 ? n - i0 : 256;
        for (size_t i = 0; i < len; i++) buf[i] = mean + std * gaussian_at(seed, start + i0 + i);
        pp_f32_to_f16(buf, dst + i0, len);
    }
}

void pp_fill_gaussian_f32(float *dst, size_t n, uint64_t seed, uint64_t start, float mean, float std) {
    for (size_t i = 0; i < n; i++) dst[i] = mean + std * gaussian_at(seed, start + i);
}

#if PP_X86
PP_AVX512 static double read_sum_avx512(const float *x, size_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
    }
    double s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    for (; i < n; i++) s += x[i];
    return s;
}
#endif

double pp_gather_read_sum(const uint16_t *rows, size_t ld, const int32_t *idx, size_t count, size_t width) {
    // Plain C: sums the binary16 bit patterns as integers (only the reads matter), with the
    // same prefetch distance as the attention kernel (16 rows).
    uint64_t s = 0;
    for (size_t j = 0; j < count; j++) {
        if (j + 16 < count) {
            const char *p = (const char *)(rows + (size_t)idx[j + 16] * ld);
            for (size_t o = 0; o < width * 2; o += 64) __builtin_prefetch(p + o);
        }
        const uint16_t *r = rows + (size_t)idx[j] * ld;
        for (size_t i = 0; i < width; i++) s += r[i];
    }
    return (double)s;
}

double pp_read_sum(const float *x, size_t n) {
#if PP_X86
    if (pp_use_avx512()) return read_sum_avx512(x, n);
#endif
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += x[i + j];
    double s = 0;
    for (int j = 0; j < 8; j++) s += a[j];
    for (; i < n; i++) s += x[i];
    return s;
}
