// Internal helpers shared by the kernel files (not part of the public header): the ISA level
// macros and the per-thread level, the 8-lane AVX2 helpers and the scalar element loaders.
// Scalar binary16 conversions come from binary16_internal.h, which depends on nothing.
#ifndef PIGPLAN_CKERNELS_INTERNAL_H
#define PIGPLAN_CKERNELS_INTERNAL_H

#include "CKernels.h"
#include "binary16_internal.h"
#include <math.h>
#include <string.h>

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(PP_FORCE_PORTABLE)
#define PP_X86 1
#include <immintrin.h>
#if defined(PP_EMULATE_AVX512)
// scripts/check-avx512-kernels: every file built for an AVX2 CPU with the AVX-512 intrinsics
// supplied by SIMDe (scripts/avx512-emulation/emulation.h, forced in first), to check levels 2
// and 3 against the portable kernels on machines without AVX-512. Never the package build.
#define PP_AVX512
#define PP_AVX512X
#define PP_BH512(v) (v)
#define PP_BH256(v) (v)
#else
/// Integer vectors read as bf16 vectors and back (plain vector casts; the identity under
/// emulation, where the bf16 types are integer vectors).
#define PP_BH512(v) ((__m512bh)(v))
#define PP_BH256(v) ((__m256i)(v))
/// Functions compiled for AVX-512 (F, BW, VL), F16C and FMA; only called when pp_level >= 2.
#define PP_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))
/// Level 3: AVX-512 with VNNI (vpdpbusd) and BF16 (vdpbf16ps); only called when pp_level >= 3.
#define PP_AVX512X __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512bf16,f16c,fma")))
#endif
/// Functions compiled for AVX2, F16C and FMA; only called when pp_level >= 1.
#define PP_AVX2 __attribute__((target("avx2,f16c,fma")))

/// Sum of the 8 lanes.
PP_AVX2 static inline float pp_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}
/// 8 binary16 values widened to floats.
PP_AVX2 static inline __m256 pp_ld8_f16(const uint16_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
/// 8 floats, and 8 bfloat16 values widened (the upper halves of floats).
PP_AVX2 static inline __m256 pp_ld8_f32(const float *p) { return _mm256_loadu_ps(p); }
PP_AVX2 static inline __m256 pp_ld8_bf16(const uint16_t *p) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
/// e^x for x <= 0 (lanes below -87 give about 0), as exp512 in attention_avx512.c; AVX2 has no scalef, so 2^n is
/// built in the exponent bits (n >= -126 after the clamp, a normal float).
PP_AVX2 static inline __m256 pp_exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/// Lane j of the result is the sum of the 8 lanes of v[j] (6 horizontal adds, 2 lane swaps).
PP_AVX2 static inline __m256 pp_sum8x8(const __m256 *v) {
    __m256 a = _mm256_hadd_ps(v[0], v[1]), b = _mm256_hadd_ps(v[2], v[3]);
    __m256 c = _mm256_hadd_ps(v[4], v[5]), e = _mm256_hadd_ps(v[6], v[7]);
    __m256 ab = _mm256_hadd_ps(a, b), ce = _mm256_hadd_ps(c, e); // 128-bit lane i: half sums of v[0..3], v[4..7]
    return _mm256_add_ps(_mm256_permute2f128_ps(ab, ce, 0x20), _mm256_permute2f128_ps(ab, ce, 0x31));
}

#else
#define PP_X86 0
#endif

extern int pp_level;
extern _Thread_local int pp_thread_level;

/// Per-thread scratch that kernels reuse from call to call: one buffer per slot, grown to at least
/// `bytes` (64-byte aligned), never shrunk, so that a thread allocates only while its largest
/// call is still ahead. NULL when it cannot grow (the caller then takes a path without it).
enum { PP_SCRATCH_BF16_SPLIT, PP_SCRATCH_Q8X_TILES, PP_SCRATCH_Q4_PAIRS, PP_SCRATCH_SLOTS };
void *pp_thread_scratch(int slot, size_t bytes);

/// The calling thread's override (tests) or the CPU's best level.
static inline int pp_use_avx512x(void) { return (pp_thread_level >= 0 ? pp_thread_level : pp_level) >= 3; }
static inline int pp_use_avx512(void) { return (pp_thread_level >= 0 ? pp_thread_level : pp_level) >= 2; }
/// Level 1 and up: AVX2 + F16C + FMA (linear layers, projections, codes, attention, row
/// collection, binary16 arrays).
static inline int pp_use_avx2(void) { return (pp_thread_level >= 0 ? pp_thread_level : pp_level) >= 1; }

/// One weight as a float, by storage type: the scalar twins of pp_ld8_f32/f16/bf16.
static inline float pp_ld1_f32(const float *p) { return *p; }
static inline float pp_ld1_f16(const uint16_t *p) { return pp_h2f(*p); }
static inline float pp_ld1_bf16(const uint16_t *p) {
    uint32_t bits = (uint32_t)*p << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

#endif
