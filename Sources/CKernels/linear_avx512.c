// Linear layers, AVX-512 + F16C + FMA path (level 2): register tiles of 4 output rows x 4 tokens
// keep 16 accumulators in zmm registers; each step of 16 inputs loads 4 weight vectors and 4
// input vectors for 16 FMAs. Transposed weights: outputs in vectors of 16, inputs broadcast.
#include "linear_internal.h"
#include <stdlib.h>

#if PP_X86
PP_AVX512 static inline __m512 ld_w32(const float *p, __mmask16 k) { return _mm512_maskz_loadu_ps(k, p); }
PP_AVX512 static inline __m512 ld_w16(const uint16_t *p, __mmask16 k) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(k, p));
}

// Tile of R rows (1..4) x C tokens (1..4); R and C are compile-time constants after inlining.
#define PP_DEFINE_TILE(NAME, WT, LOADW)                                                            \
    PP_AVX512 static inline void NAME(const WT *W, size_t in, const float *x, size_t ldx, float *y, \
                                      size_t ldy, size_t o, size_t m, int R, int C) {             \
        __m512 acc[4][4];                                                                         \
        for (int r = 0; r < 4; r++)                                                               \
            for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();                          \
        const WT *w0 = W + o * in;                                                                \
        const float *x0 = x + m * ldx;                                                            \
        for (size_t i = 0; i < in; i += 16) {                                                     \
            __mmask16 k = in - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (in - i)) - 1);   \
            __m512 wv[4], xv[4];                                                                  \
            for (int r = 0; r < R; r++) wv[r] = LOADW(w0 + r * in + i, k);                        \
            for (int c = 0; c < C; c++) xv[c] = _mm512_maskz_loadu_ps(k, x0 + c * ldx + i);       \
            for (int r = 0; r < R; r++)                                                           \
                for (int c = 0; c < C; c++) acc[r][c] = _mm512_fmadd_ps(wv[r], xv[c], acc[r][c]); \
        }                                                                                         \
        for (int r = 0; r < R; r++)                                                               \
            for (int c = 0; c < C; c++) y[(m + c) * ldy + o + r] = _mm512_reduce_add_ps(acc[r][c]); \
    }

PP_DEFINE_TILE(tile_f32, float, ld_w32)
PP_DEFINE_TILE(tile_f16, uint16_t, ld_w16)

#define PP_DEFINE_MATMUL(NAME, WT, TILE)                                                          \
    PP_AVX512 void NAME(const WT *W, size_t in, const float *x, size_t ldx, float *y,             \
                        size_t ldy, size_t M, size_t o0, size_t o1) {                             \
        for (size_t o = o0; o < o1; o += 4) {                                                     \
            int R = o1 - o >= 4 ? 4 : (int)(o1 - o);                                              \
            size_t m = 0;                                                                         \
            if (R == 4) {                                                                         \
                for (; m + 4 <= M; m += 4) TILE(W, in, x, ldx, y, ldy, o, m, 4, 4);               \
                for (; m < M; m++) TILE(W, in, x, ldx, y, ldy, o, m, 4, 1);                       \
            } else {                                                                              \
                for (; m < M; m++) TILE(W, in, x, ldx, y, ldy, o, m, R, 1);                       \
            }                                                                                     \
        }                                                                                         \
    }

PP_DEFINE_MATMUL(pp_linear_avx512_f32, float, tile_f32)
PP_DEFINE_MATMUL(pp_linear_avx512_f16, uint16_t, tile_f16)

// Transposed weights (in x out): outputs in vectors of 16, inputs broadcast; no reductions.
// Tile: C tokens (1..4) x 4 vectors of 16 outputs.
PP_AVX512 static inline __attribute__((always_inline)) void
tile_t(const float *Wt, size_t in, size_t out, const float *x, size_t ldx, float *y, size_t ldy,
       size_t o, size_t m, int C, __mmask16 k0, __mmask16 k1, __mmask16 k2, __mmask16 k3) {
    __m512 acc[4][4];
    for (int c = 0; c < 4; c++)
        for (int v = 0; v < 4; v++) acc[c][v] = _mm512_setzero_ps();
    for (size_t i = 0; i < in; i++) {
        const float *w = Wt + i * out + o;
        __m512 w0 = _mm512_maskz_loadu_ps(k0, w), w1 = _mm512_maskz_loadu_ps(k1, w + 16);
        __m512 w2 = _mm512_maskz_loadu_ps(k2, w + 32), w3 = _mm512_maskz_loadu_ps(k3, w + 48);
        for (int c = 0; c < C; c++) {
            __m512 xb = _mm512_set1_ps(x[(m + c) * ldx + i]);
            acc[c][0] = _mm512_fmadd_ps(w0, xb, acc[c][0]);
            acc[c][1] = _mm512_fmadd_ps(w1, xb, acc[c][1]);
            acc[c][2] = _mm512_fmadd_ps(w2, xb, acc[c][2]);
            acc[c][3] = _mm512_fmadd_ps(w3, xb, acc[c][3]);
        }
    }
    for (int c = 0; c < C; c++) {
        float *yr = y + (m + c) * ldy + o;
        _mm512_mask_storeu_ps(yr, k0, acc[c][0]);
        _mm512_mask_storeu_ps(yr + 16, k1, acc[c][1]);
        _mm512_mask_storeu_ps(yr + 32, k2, acc[c][2]);
        _mm512_mask_storeu_ps(yr + 48, k3, acc[c][3]);
    }
}

/// Lanes of the 16 outputs from o that are below o1.
static inline __mmask16 tail_mask(size_t o, size_t o1) {
    if (o >= o1) return 0;
    return o1 - o >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (o1 - o)) - 1);
}

PP_AVX512 void pp_linear_t_avx512(const float *Wt, size_t in, size_t out, const float *x, size_t ldx,
                                  float *y, size_t ldy, size_t M, size_t o0, size_t o1) {
    for (size_t o = o0; o < o1; o += 64) {
        __mmask16 k0 = tail_mask(o, o1), k1 = tail_mask(o + 16, o1);
        __mmask16 k2 = tail_mask(o + 32, o1), k3 = tail_mask(o + 48, o1);
        size_t m = 0;
        for (; m + 4 <= M; m += 4) tile_t(Wt, in, out, x, ldx, y, ldy, o, m, 4, k0, k1, k2, k3);
        for (; m < M; m++) tile_t(Wt, in, out, x, ldx, y, ldy, o, m, 1, k0, k1, k2, k3);
    }
}

// bf16 weights at level 3 (AVX-512 BF16): vdpbf16ps multiplies 32 bf16 pairs and adds each
// adjacent pair of products into 16 f32 lanes. Weights are used as stored; each input is split
// into two bf16 values, hi = bf16(x) (round to nearest even) and lo = bf16(x - hi), so that
// |x - hi - lo| <= 2^-17 |x|, and each weight meets both: bf16 x bf16 products are exact in f32,
// the sums round as FMAs would (the instruction flushes denormal inputs and results to zero,
// values below 1.2e-38 that these layers never carry). The result is the f32 dot product to
// about 2^-16 of sum |w x|, where plain bf16 inputs (one instruction per 32 weights, twice the
// rate) would be 2^-9: a rounding of the activations the exact path does not make.
// Inputs are split once per call (M x in, padded to 32) into the thread's scratch buffer, then
// tiles of 4 rows x 4 tokens as at level 2.
/// x[0 ..< n] split into hi and lo, written up to np >= n (zeros beyond n), so that the tiles
/// read whole vectors from a scratch buffer that is reused.
PP_AVX512X static inline void split_bf16(const float *x, size_t n, size_t np, uint16_t *hi, uint16_t *lo) {
    for (size_t i = 0; i < np; i += 16) {
        __mmask16 k = i >= n ? 0 : (n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1));
        __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __m256bh h = _mm512_cvtneps_pbh(v);
        __m512 hv = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(PP_BH256(h)), 16));
        __m256bh l = _mm512_cvtneps_pbh(_mm512_sub_ps(v, hv));
        _mm256_storeu_si256((__m256i *)(hi + i), PP_BH256(h));
        _mm256_storeu_si256((__m256i *)(lo + i), PP_BH256(l));
    }
}

PP_AVX512X static inline __attribute__((always_inline)) void
tile_bf16(const uint16_t *W, size_t in, size_t ldp, const uint16_t *hi, const uint16_t *lo, float *y,
          size_t ldy, size_t o, size_t m, int R, int C) {
    __m512 acc[4][4];
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) acc[r][c] = _mm512_setzero_ps();
    const uint16_t *w0 = W + o * in;
    for (size_t i = 0; i < in; i += 32) {
        __mmask32 k = in - i >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (in - i)) - 1);
        __m512bh wv[4], xh[4], xl[4];
        for (int r = 0; r < R; r++) wv[r] = PP_BH512(_mm512_maskz_loadu_epi16(k, w0 + r * in + i));
        for (int c = 0; c < C; c++) {
            xh[c] = PP_BH512(_mm512_loadu_si512(hi + (m + c) * ldp + i));
            xl[c] = PP_BH512(_mm512_loadu_si512(lo + (m + c) * ldp + i));
        }
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++)
                acc[r][c] = _mm512_dpbf16_ps(_mm512_dpbf16_ps(acc[r][c], wv[r], xl[c]), wv[r], xh[c]);
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) y[(m + c) * ldy + o + r] = _mm512_reduce_add_ps(acc[r][c]);
}

PP_AVX512X int pp_linear_bf16_avx512x(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y,
                                      size_t ldy, size_t M, size_t o0, size_t o1) {
    // Rows of the split inputs padded to 32 (zeros), so that the tiles read whole vectors.
    size_t ldp = (in + 31) / 32 * 32;
    // Scratch of the calling thread (decode calls this once per projection and step: no
    // allocation once it has its size).
    uint16_t *hi = (uint16_t *)pp_thread_scratch(PP_SCRATCH_BF16_SPLIT, (2 * M * ldp + 1) * sizeof(uint16_t));
    if (!hi) return 0;
    uint16_t *lo = hi + M * ldp;
    for (size_t m = 0; m < M; m++) split_bf16(x + m * ldx, in, ldp, hi + m * ldp, lo + m * ldp);
    for (size_t o = o0; o < o1; o += 4) {
        int R = o1 - o >= 4 ? 4 : (int)(o1 - o);
        size_t m = 0;
        if (R == 4) {
            for (; m + 4 <= M; m += 4) tile_bf16(W, in, ldp, hi, lo, y, ldy, o, m, 4, 4);
            for (; m < M; m++) tile_bf16(W, in, ldp, hi, lo, y, ldy, o, m, 4, 1);
        } else {
            for (; m < M; m++) tile_bf16(W, in, ldp, hi, lo, y, ldy, o, m, R, 1);
        }
    }
    return 1;
}
#endif
