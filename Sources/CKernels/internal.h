// Internal helpers shared by the kernel files (not part of the public header).
#ifndef PIGPLAN_CKERNELS_INTERNAL_H
#define PIGPLAN_CKERNELS_INTERNAL_H

#include "CKernels.h"
#include <math.h>
#include <string.h>

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(PP_FORCE_PORTABLE)
#define PP_X86 1
#include <immintrin.h>
/// Functions compiled for AVX-512 (F, BW, VL), F16C and FMA; only called when pp_level >= 2.
#define PP_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))
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
#else
#define PP_X86 0
#endif

extern int pp_level;
extern _Thread_local int pp_thread_level;

/// The calling thread's override (tests) or the CPU's best level.
static inline int pp_use_avx512(void) { return (pp_thread_level >= 0 ? pp_thread_level : pp_level) >= 2; }
/// Level 1 and up: AVX2 + F16C + FMA (linear layers, projections, codes, attention, row
/// collection, binary16 arrays).
static inline int pp_use_avx2(void) { return (pp_thread_level >= 0 ? pp_thread_level : pp_level) >= 1; }

static inline float pp_h2f(uint16_t h) { return pp_f16_to_f32_scalar(h); }
static inline uint16_t pp_f2h(float f) { return pp_f32_to_f16_scalar(f); }

#endif
