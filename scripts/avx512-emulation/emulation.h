// Forced into every kernel file by scripts/check-avx512-kernels (clang -include): SIMDe's
// portable AVX-512 under the intrinsics' own names, plus the few intrinsics the kernels use that
// SIMDe 0.7.4 (Debian 12) lacks or misdeclares, written here element by element from Intel's
// definitions. The whole library is then built for an AVX2 CPU and reports level 3, so that the
// level-2 and level-3 kernels run (slowly) and can be checked against the portable ones.
#ifndef PIGPLAN_AVX512_EMULATION_H
#define PIGPLAN_AVX512_EMULATION_H
#define PP_EMULATE_AVX512 1
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <immintrin.h>
#include <simde/x86/avx512.h>
#include <math.h>
#include <string.h>

// Declared with the masked form's four arguments in SIMDe 0.7.4.
#undef _mm512_madd_epi16
#define _mm512_madd_epi16(a, b) simde_mm512_madd_epi16(a, b)

static inline simde__m512 pp_emu_cvtepi32_ps(simde__m512i a) {
    int32_t v[16];
    float f[16];
    simde_mm512_storeu_si512(v, a);
    for (int i = 0; i < 16; i++) f[i] = (float)v[i];
    return simde_mm512_loadu_ps(f);
}
#define _mm512_cvtepi32_ps pp_emu_cvtepi32_ps

static inline simde__m512 pp_emu_cvtph_ps(__m256i h) {
    float f[16];
    _mm256_storeu_ps(f, _mm256_cvtph_ps(_mm256_castsi256_si128(h)));
    _mm256_storeu_ps(f + 8, _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1)));
    return simde_mm512_loadu_ps(f);
}
#define _mm512_cvtph_ps pp_emu_cvtph_ps

#undef _mm512_cvtps_ph
#define _mm512_cvtps_ph(a, rounding) pp_emu_cvtps_ph(a)
static inline __m256i pp_emu_cvtps_ph(simde__m512 a) {
    float f[16];
    simde_mm512_storeu_ps(f, a);
    __m128i lo = _mm256_cvtps_ph(_mm256_loadu_ps(f), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m128i hi = _mm256_cvtps_ph(_mm256_loadu_ps(f + 8), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

// Masked loads read only the selected lanes (the kernels rely on it at row ends).
static inline simde__m512 pp_emu_maskz_loadu_ps(simde__mmask16 k, const void *p) {
    float f[16] = {0};
    for (int i = 0; i < 16; i++)
        if (k >> i & 1) memcpy(f + i, (const float *)p + i, 4);
    return simde_mm512_loadu_ps(f);
}
#define _mm512_maskz_loadu_ps pp_emu_maskz_loadu_ps

static inline __m256i pp_emu_maskz_loadu_epi16(simde__mmask16 k, const void *p) {
    uint16_t h[16] = {0};
    for (int i = 0; i < 16; i++)
        if (k >> i & 1) memcpy(h + i, (const uint16_t *)p + i, 2);
    return _mm256_loadu_si256((const __m256i *)h);
}
#define _mm256_maskz_loadu_epi16 pp_emu_maskz_loadu_epi16

static inline void pp_emu_mask_storeu_ps(void *p, simde__mmask16 k, simde__m512 a) {
    float f[16];
    simde_mm512_storeu_ps(f, a);
    for (int i = 0; i < 16; i++)
        if (k >> i & 1) memcpy((float *)p + i, f + i, 4);
}
#define _mm512_mask_storeu_ps pp_emu_mask_storeu_ps

// The order of a compiler's reduction sequence: halves, then quarters, and so on.
static inline float pp_emu_reduce_add_ps(simde__m512 a) {
    float f[16];
    simde_mm512_storeu_ps(f, a);
    for (int w = 8; w >= 1; w /= 2)
        for (int i = 0; i < w; i++) f[i] += f[i + w];
    return f[0];
}
#define _mm512_reduce_add_ps pp_emu_reduce_add_ps

#undef _mm512_mask_cmp_ps_mask
#define _mm512_mask_cmp_ps_mask(k, a, b, p) ((simde__mmask16)((k) & simde_mm512_cmp_ps_mask(a, b, p)))

// AVX-512 BF16, from Intel's descriptions of VCVTNEPS2BF16 and VDPBF16PS: inputs with a zero
// exponent read as zero, round to nearest even, NaNs quieted; the dot product adds the odd
// pair's product, then the even pair's, to each f32 lane, flushing denormal results to zero.
// The bf16 vector types are integer vectors here (the kernels cast with PP_BH512 / PP_BH256).
#define __m512bh simde__m512i
#define __m256bh __m256i
static inline uint16_t pp_emu_f2bf(float f) {
    uint32_t b;
    memcpy(&b, &f, 4);
    if ((b & 0x7F800000u) == 0) return (uint16_t)(b >> 16 & 0x8000);
    if ((b & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)(b >> 16 | 0x40);
    return (uint16_t)((b + 0x7FFFu + (b >> 16 & 1)) >> 16);
}
static inline float pp_emu_bf2f(uint16_t h) {
    uint32_t b = (uint32_t)h << 16;
    if ((b & 0x7F800000u) == 0) b &= 0x80000000u;
    float f;
    memcpy(&f, &b, 4);
    return f;
}
static inline __m256i pp_emu_cvtneps_pbh(simde__m512 a) {
    float f[16];
    uint16_t h[16];
    simde_mm512_storeu_ps(f, a);
    for (int i = 0; i < 16; i++) h[i] = pp_emu_f2bf(f[i]);
    return _mm256_loadu_si256((const __m256i *)h);
}
#define _mm512_cvtneps_pbh pp_emu_cvtneps_pbh
static inline simde__m512 pp_emu_dpbf16_ps(simde__m512 acc, simde__m512i a, simde__m512i b) {
    float s[16];
    uint16_t x[32], y[32];
    simde_mm512_storeu_ps(s, acc);
    simde_mm512_storeu_si512(x, a);
    simde_mm512_storeu_si512(y, b);
    for (int i = 0; i < 16; i++) {
        float t = fmaf(pp_emu_bf2f(x[2 * i + 1]), pp_emu_bf2f(y[2 * i + 1]), s[i]);
        if (fabsf(t) < 1.17549435e-38f) t = copysignf(0.0f, t);
        t = fmaf(pp_emu_bf2f(x[2 * i]), pp_emu_bf2f(y[2 * i]), t);
        if (fabsf(t) < 1.17549435e-38f) t = copysignf(0.0f, t);
        s[i] = t;
    }
    return simde_mm512_loadu_ps(s);
}
#undef _mm512_dpbf16_ps
#define _mm512_dpbf16_ps pp_emu_dpbf16_ps

static inline simde__m512i pp_emu_cvtepu16_epi32(__m256i a) {
    uint16_t h[16];
    int32_t v[16];
    _mm256_storeu_si256((__m256i *)h, a);
    for (int i = 0; i < 16; i++) v[i] = h[i];
    return simde_mm512_loadu_si512(v);
}
#undef _mm512_cvtepu16_epi32
#define _mm512_cvtepu16_epi32 pp_emu_cvtepu16_epi32

static inline simde__m512i pp_emu_maskz_loadu_epi16_512(simde__mmask32 k, const void *p) {
    uint16_t h[32] = {0};
    for (int i = 0; i < 32; i++)
        if (k >> i & 1) memcpy(h + i, (const uint16_t *)p + i, 2);
    return simde_mm512_loadu_si512(h);
}
#undef _mm512_maskz_loadu_epi16
#define _mm512_maskz_loadu_epi16 pp_emu_maskz_loadu_epi16_512
#endif
