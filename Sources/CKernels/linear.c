// Linear layers: y[m][o] = W[o] . x[m]. This file: the portable loops (the reference the other
// levels are tested against) and the dispatch to the best level the CPU (and pp_set_simd_level)
// allows:
// - linear_avx512.c (level 2): register tiles of 4 output rows x 4 tokens;
// - linear_avx2.c (level 1): dot-product tiles of 3 rows x 4 tokens for decode batches, and from
//   PP_PACKED_MIN_TOKENS tokens (prefill chunks) the packed GEMM of gemm_internal.h;
// - bf16 weights: level 3 (AVX-512 BF16) has vdpbf16ps tiles for decode batches
//   (linear_avx512.c); level 2 and prefill chunks use the level-1 path.
#include "linear_internal.h"

static void matmul_scalar_f32(const float *W, size_t in, const float *x, size_t ldx, float *y,
                              size_t ldy, size_t M, size_t o0, size_t o1) {
    for (size_t o = o0; o < o1; o++) {
        const float *w = W + o * in;
        for (size_t m = 0; m < M; m++) {
            const float *xm = x + m * ldx;
            float s = 0;
            for (size_t i = 0; i < in; i++) s += w[i] * xm[i];
            y[m * ldy + o] = s;
        }
    }
}

static void matmul_scalar_f16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y,
                              size_t ldy, size_t M, size_t o0, size_t o1) {
    float row[1024];
    for (size_t o = o0; o < o1; o++) {
        const uint16_t *w = W + o * in;
        for (size_t m = 0; m < M; m++) y[m * ldy + o] = 0;
        for (size_t i0 = 0; i0 < in; i0 += 1024) {
            size_t len = in - i0 < 1024 ? in - i0 : 1024;
            for (size_t i = 0; i < len; i++) row[i] = pp_h2f(w[i0 + i]);
            for (size_t m = 0; m < M; m++) {
                const float *xm = x + m * ldx + i0;
                float s = 0;
                for (size_t i = 0; i < len; i++) s += row[i] * xm[i];
                y[m * ldy + o] += s;
            }
        }
    }
}

static void matmul_scalar_bf16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y,
                               size_t ldy, size_t M, size_t o0, size_t o1) {
    for (size_t o = o0; o < o1; o++) {
        const uint16_t *w = W + o * in;
        for (size_t m = 0; m < M; m++) {
            const float *xm = x + m * ldx;
            float s = 0;
            for (size_t i = 0; i < in; i++) s += pp_ld1_bf16(w + i) * xm[i];
            y[m * ldy + o] = s;
        }
    }
}
void pp_matmul_f32(const float *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
                   size_t M, size_t o0, size_t o1) {
#if PP_X86
    if (pp_use_avx512()) { pp_linear_avx512_f32(W, in, x, ldx, y, ldy, M, o0, o1); return; }
    if (pp_use_avx2()) { pp_linear_avx2_f32(W, in, x, ldx, y, ldy, M, o0, o1); return; }
#endif
    matmul_scalar_f32(W, in, x, ldx, y, ldy, M, o0, o1);
}

void pp_matmul_t_f32(const float *Wt, size_t in, size_t out, const float *x, size_t ldx, float *y,
                     size_t ldy, size_t M, size_t o0, size_t o1) {
#if PP_X86
    if (pp_use_avx512()) { pp_linear_t_avx512(Wt, in, out, x, ldx, y, ldy, M, o0, o1); return; }
    if (pp_use_avx2()) { pp_linear_t_avx2(Wt, in, out, x, ldx, y, ldy, M, o0, o1); return; }
#endif
    pp_matmul_t_rows(Wt, in, out, x, ldx, y, ldy, M, o0, o1);
}

void pp_matmul_f16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
                   size_t M, size_t o0, size_t o1) {
#if PP_X86
    if (pp_use_avx512()) { pp_linear_avx512_f16(W, in, x, ldx, y, ldy, M, o0, o1); return; }
    if (pp_use_avx2()) { pp_linear_avx2_f16(W, in, x, ldx, y, ldy, M, o0, o1); return; }
#endif
    matmul_scalar_f16(W, in, x, ldx, y, ldy, M, o0, o1);
}

void pp_matmul_bf16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
                    size_t M, size_t o0, size_t o1) {
#if PP_X86
    // Level 3 (AVX-512 BF16) has its own tiles below the packed GEMM's size; level 2 and prefill
    // chunks take the level-1 path.
    if (pp_use_avx512x() && M < PP_PACKED_MIN_TOKENS && pp_linear_bf16_avx512x(W, in, x, ldx, y, ldy, M, o0, o1)) return;
    if (pp_use_avx2()) { pp_linear_avx2_bf16(W, in, x, ldx, y, ldy, M, o0, o1); return; }
#endif
    matmul_scalar_bf16(W, in, x, ldx, y, ldy, M, o0, o1);
}
