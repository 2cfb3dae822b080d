// Shared by the linear-layer files: the per-level entry points that linear.c dispatches to, and
// the portable transposed product that linear.c and linear_avx2.c (for its last outputs) share.
// Every entry computes y[m][o] = W[o] . x[m] for tokens m < M and outputs o0 <= o < o1 with the
// arguments of pp_matmul_* (CKernels.h); the _t_ ones take transposed weights Wt (in x out).
#ifndef PIGPLAN_CKERNELS_LINEAR_INTERNAL_H
#define PIGPLAN_CKERNELS_LINEAR_INTERNAL_H

#include "internal.h"

/// Transposed weights Wt (in x out), outputs o0 ..< o1: each input row scaled into a row of
/// outputs, so that the inner loop runs over contiguous memory (and vectorises). Inline so that
/// each caller compiles it for its own level (linear_avx2.c's tail then fuses multiply-adds, as
/// it did when both lived in one file).
static inline void pp_matmul_t_rows(const float *Wt, size_t in, size_t out, const float *x, size_t ldx,
                                    float *y, size_t ldy, size_t M, size_t o0, size_t o1) {
    for (size_t m = 0; m < M; m++) {
        float *yr = y + m * ldy;
        for (size_t o = o0; o < o1; o++) yr[o] = 0;
        for (size_t i = 0; i < in; i++) {
            const float xi = x[m * ldx + i], *w = Wt + i * out;
            for (size_t o = o0; o < o1; o++) yr[o] += w[o] * xi;
        }
    }
}

#if PP_X86
/// linear_avx2.c (level 1): dot-product tiles up to PP_PACKED_MIN_TOKENS - 1 tokens, the packed
/// GEMM of gemm_internal.h from there (bf16 also serves level 2).
PP_AVX2 void pp_linear_avx2_f32(const float *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
PP_AVX2 void pp_linear_avx2_f16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
PP_AVX2 void pp_linear_avx2_bf16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
PP_AVX2 void pp_linear_t_avx2(const float *Wt, size_t in, size_t out, const float *x, size_t ldx, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);

/// linear_avx512.c (level 2): register tiles of 4 rows x 4 tokens; transposed: 4 x 16 outputs.
PP_AVX512 void pp_linear_avx512_f32(const float *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
PP_AVX512 void pp_linear_avx512_f16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
/// bf16 weights at level 3 (vdpbf16ps, inputs split into two bf16 halves; linear_avx512.c says
/// the rounding); 0 when its scratch could not be allocated.
PP_AVX512X int pp_linear_bf16_avx512x(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
PP_AVX512 void pp_linear_t_avx512(const float *Wt, size_t in, size_t out, const float *x, size_t ldx, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
#endif

#endif
