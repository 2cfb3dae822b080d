// Linear layers, AVX2 + F16C + FMA path (level 1): dot-product tiles of 3 rows x 4 tokens over
// blocks of 1024 inputs up to 47 tokens (decode batches; binary16 weights at 3 to 8 tokens keep
// their partial sums in vectors and prefetch the next rows), and from PP_PACKED_MIN_TOKENS
// tokens (prefill chunks) the packed GEMM of gemm_internal.h, which needs no horizontal sums.
// Transposed weights: tiles of 2 tokens x 32 outputs. bf16 weights take this path at level 2
// too.
#include "gemm_internal.h"
#include "linear_internal.h"

#if PP_X86
// AVX2 + F16C + FMA: a GEMM over the batch. Register tiles of R <= 3 weight rows x C <= 4
// tokens (12 accumulators, 3 widened weight vectors and 1 input vector: the 16 ymm registers),
// 8 inputs per step; each weight vector is loaded and widened once per tile and used for C
// tokens. Inputs run in blocks of PP_KC so that the 3 rows' block of weights (at most 12 KiB)
// stays in L1 while every group of 4 tokens passes over it: each weight is read from memory
// once per call whatever the batch (the inputs' block comes from L2). Partial sums of later
// blocks are added to y.
#define PP_KC 1024

#define PP_DEFINE_AVX2_GEMM(NAME, WT, LOAD8, LOAD1)                                               \
    PP_AVX2 static inline __attribute__((always_inline)) void NAME##_tile(                        \
        const WT *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy, size_t o,       \
        size_t m, size_t k0, size_t k1, const int R, const int C) {                               \
        __m256 acc[3][4];                                                                         \
        for (int r = 0; r < R; r++)                                                               \
            for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();                          \
        const WT *w0 = W + o * in;                                                                \
        const float *x0 = x + m * ldx;                                                            \
        size_t body = k1 - (k1 - k0) % 8;                                                         \
        for (size_t i = k0; i < body; i += 8) {                                                   \
            __m256 wv[3];                                                                         \
            for (int r = 0; r < R; r++) wv[r] = LOAD8(w0 + r * in + i);                           \
            for (int c = 0; c < C; c++) {                                                         \
                __m256 xv = _mm256_loadu_ps(x0 + c * ldx + i);                                    \
                for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(wv[r], xv, acc[r][c]);    \
            }                                                                                     \
        }                                                                                         \
        for (int r = 0; r < R; r++)                                                               \
            for (int c = 0; c < C; c++) {                                                         \
                float s = pp_hsum8(acc[r][c]);                                                    \
                for (size_t i = body; i < k1; i++) s += LOAD1(w0 + r * in + i) * x0[c * ldx + i]; \
                float *dst = y + (m + c) * ldy + o + r;                                           \
                *dst = k0 == 0 ? s : *dst + s;                                                    \
            }                                                                                     \
    }                                                                                             \
    PP_AVX2 static void NAME(const WT *W, size_t in, const float *x, size_t ldx, float *y,        \
                             size_t ldy, size_t M, size_t o0, size_t o1) {                        \
        /* Row groups outer, so that weights stream row after row (prefetcher-friendly); one */   \
        /* or two tokens: rows whole (nothing to reuse). */                                       \
        size_t kc = M <= 2 || in == 0 ? in : PP_KC;                                               \
        for (size_t o = o0; o < o1; o += 3) {                                                     \
            int R = o1 - o >= 3 ? 3 : (int)(o1 - o);                                              \
            size_t k0 = 0;                                                                        \
            do {                                                                                  \
                size_t k1 = in - k0 < kc ? in : k0 + kc;                                          \
                size_t m = 0;                                                                     \
                if (R == 3) {                                                                     \
                    for (; m + 4 <= M; m += 4) NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 3, 4);\
                    switch (M - m) {                                                              \
                    case 3: NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 3, 3); break;        \
                    case 2: NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 3, 2); break;        \
                    case 1: NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 3, 1); break;        \
                    }                                                                             \
                } else if (R == 2) {                                                              \
                    for (; m + 4 <= M; m += 4) NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 2, 4);\
                    for (; m < M; m++) NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 2, 1);    \
                } else {                                                                          \
                    for (; m + 4 <= M; m += 4) NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 1, 4);\
                    for (; m < M; m++) NAME##_tile(W, in, x, ldx, y, ldy, o, m, k0, k1, 1, 1);    \
                }                                                                                 \
                k0 = k1;                                                                          \
            } while (k0 < in);                                                                    \
        }                                                                                         \
    }

PP_DEFINE_AVX2_GEMM(matmul_avx2_f32, float, pp_ld8_f32, pp_ld1_f32)
PP_DEFINE_AVX2_GEMM(matmul_avx2_f16, uint16_t, pp_ld8_f16, pp_ld1_f16)
PP_DEFINE_AVX2_GEMM(matmul_avx2_bf16, uint16_t, pp_ld8_bf16, pp_ld1_bf16)

// binary16 GEMM for 3 or more tokens. Same 3-row x 4-token tiles over 1024-input blocks as
// above, but (1) partial sums stay 8-lane vectors in `part` across the blocks, reduced once per
// output at the end of the row group (8 tokens at a time with a transpose-style hadd), not once
// per block with a read-modify-write of y; (2) every token group of every block prefetches the
// next row group's weights (the 3 rows are one contiguous region, so step i of the rows touches
// 3 * i halves into the next region; the requests of later token groups mostly hit lines already
// on their way, and spread the stream over the whole row group: batch 8 in 69 rather than 77 ms
// with the first token group alone prefetching, mean of 4 noisy harness runs; the T0 and T1
// hints could not be told apart, 1.5 or 2 groups ahead was slower). Without (2) the weight
// stream and the FMAs took turns: on this Zen 3 a batch-8 product in L1 runs at ~37 GFMA/s per
// core but cold from DRAM at ~20, the sum of the memory and the compute time, not the max.
// Used for batches of 3 to 8 only: batches of 1 and 2 keep the path above (whole rows, at the
// bandwidth bound), and at 16 and 64 tokens this path was 3-9% slower than the one above (paired
// runs alternating the two in one process; compute dominates there, and the repeated prefetches
// cost load slots), against 3-9% faster at 4 and 8.
PP_AVX2 static inline __attribute__((always_inline)) void
f16v_tile(const uint16_t *w0, size_t in, const float *x0, size_t ldx, __m256 *part, size_t k0,
          size_t k1, const int R, const int C, const uint16_t *pf) {
    __m256 acc[3][4];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) acc[r][c] = k0 == 0 ? _mm256_setzero_ps() : part[r * 64 + c];
    for (size_t i = k0; i < k1; i += 8) {
        __m256 wv[3];
        for (int r = 0; r < R; r++) wv[r] = pp_ld8_f16(w0 + r * in + i);
        if (pf) _mm_prefetch((const char *)(pf + 3 * i), _MM_HINT_T1);
        for (int c = 0; c < C; c++) {
            __m256 xv = _mm256_loadu_ps(x0 + c * ldx + i);
            for (int r = 0; r < R; r++) acc[r][c] = _mm256_fmadd_ps(wv[r], xv, acc[r][c]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) part[r * 64 + c] = acc[r][c];
}

PP_AVX2 static void matmul_avx2_f16v(const uint16_t *W, size_t in, const float *x, size_t ldx,
                                     float *y, size_t ldy, size_t M, size_t o0, size_t o1) {
    __m256 part[3 * 64]; // [row][token of this chunk of <= 64 tokens]
    size_t body = in - in % 8;
    for (size_t o = o0; o < o1; o += 3) {
        int R = o1 - o >= 3 ? 3 : (int)(o1 - o);
        const uint16_t *w0 = W + o * in;
        const uint16_t *pf = o + 6 <= o1 ? w0 + 3 * in : NULL; // the next group, if in this range
        for (size_t mc = 0; mc < M; mc += 64) {
            size_t mn = M - mc < 64 ? M - mc : 64;
            size_t k0 = 0;
            do {
                size_t k1 = body - k0 < PP_KC ? body : k0 + PP_KC;
                size_t m = 0;
                const float *xm = x + mc * ldx;
                if (R == 3) {
                    for (; m + 4 <= mn; m += 4) f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 3, 4, pf);
                    switch (mn - m) {
                    case 3: f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 3, 3, pf); break;
                    case 2: f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 3, 2, pf); break;
                    case 1: f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 3, 1, pf); break;
                    }
                } else if (R == 2) {
                    for (; m + 4 <= mn; m += 4) f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 2, 4, pf);
                    for (; m < mn; m++) f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 2, 1, pf);
                } else {
                    for (; m + 4 <= mn; m += 4) f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 1, 4, pf);
                    for (; m < mn; m++) f16v_tile(w0, in, xm + m * ldx, ldx, part + m, k0, k1, 1, 1, pf);
                }
                k0 = k1;
            } while (k0 < body);
            for (int r = 0; r < R; r++) {
                const uint16_t *wr = w0 + r * in;
                size_t m = 0;
                for (; m + 8 <= mn; m += 8) {
                    float s[8];
                    _mm256_storeu_ps(s, pp_sum8x8(part + r * 64 + m));
                    for (int c = 0; c < 8; c++) {
                        const float *xc = x + (mc + m + c) * ldx;
                        float t = s[c];
                        for (size_t i = body; i < in; i++) t += pp_h2f(wr[i]) * xc[i];
                        y[(mc + m + c) * ldy + o + r] = t;
                    }
                }
                for (; m < mn; m++) {
                    const float *xc = x + (mc + m) * ldx;
                    float t = pp_hsum8(part[r * 64 + m]);
                    for (size_t i = body; i < in; i++) t += pp_h2f(wr[i]) * xc[i];
                    y[(mc + m) * ldy + o + r] = t;
                }
            }
        }
    }
}

// Many tokens (prefill chunks, batches of 48 and up): the packed GEMM of gemm_internal.h, with
// the outputs in the lanes and the tokens broadcast, so that no horizontal sums are needed. Per
// block of 256 inputs, every token's inputs are packed k-major in groups of 6; per panel of 16
// outputs, the block's weights are widened to f32 and transposed (16 KiB, in L1); a register
// tile of 6 tokens x 16 outputs runs over the block and adds into y. Packing costs about one
// shuffle-port instruction per weight against M / 8 FMAs per weight, so it pays from about 48
// tokens: in paired runs on this Zen 3 (2 x 8B-shaped layers, f16) 48 tokens were 8% faster than
// the 3 x 4 dot-product tiles above, 64 tokens 20% and 256 tokens 29% (66 against 51 GFMA/s),
// while 16-32 tokens were 20-30% slower. The microkernel alone runs at 94% of the FMA peak in L1.
PP_AVX2 static void panel_f32(const pp_panel_source *s, size_t o, int nr, size_t k0, size_t kn, float *P) {
    pp_pack_f32(s->W, s->ldw, o, nr, k0, kn, P);
}
PP_AVX2 static void panel_f16(const pp_panel_source *s, size_t o, int nr, size_t k0, size_t kn, float *P) {
    pp_pack_f16(s->W, s->ldw, o, nr, k0, kn, P);
}
PP_AVX2 static void panel_bf16(const pp_panel_source *s, size_t o, int nr, size_t k0, size_t kn, float *P) {
    pp_pack_bf16(s->W, s->ldw, o, nr, k0, kn, P);
}

/// Tile of C <= 2 tokens x 32 outputs (4 vectors): 8 accumulators, 4 weight vectors and a
/// broadcast fit the 16 ymm registers (3 tokens spilled: 48 against 76 GFLOP/s here). C is a
/// compile-time constant so that the accumulators stay in registers.
PP_AVX2 static inline __attribute__((always_inline)) void
tile_t_avx2(const float *Wt, size_t in, size_t out, const float *x, size_t ldx, float *y,
            size_t ldy, size_t o, size_t m, const int C) {
    __m256 acc[2][4];
    for (int c = 0; c < C; c++)
        for (int v = 0; v < 4; v++) acc[c][v] = _mm256_setzero_ps();
    for (size_t i = 0; i < in; i++) {
        const float *w = Wt + i * out + o;
        __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
        __m256 w2 = _mm256_loadu_ps(w + 16), w3 = _mm256_loadu_ps(w + 24);
        for (int c = 0; c < C; c++) {
            __m256 xb = _mm256_broadcast_ss(x + (m + c) * ldx + i);
            acc[c][0] = _mm256_fmadd_ps(w0, xb, acc[c][0]);
            acc[c][1] = _mm256_fmadd_ps(w1, xb, acc[c][1]);
            acc[c][2] = _mm256_fmadd_ps(w2, xb, acc[c][2]);
            acc[c][3] = _mm256_fmadd_ps(w3, xb, acc[c][3]);
        }
    }
    for (int c = 0; c < C; c++)
        for (int v = 0; v < 4; v++) _mm256_storeu_ps(y + (m + c) * ldy + o + 8 * v, acc[c][v]);
}

PP_AVX2 void pp_linear_t_avx2(const float *Wt, size_t in, size_t out, const float *x,
                              size_t ldx, float *y, size_t ldy, size_t M, size_t o0, size_t o1) {
    size_t o = o0;
    for (; o + 32 <= o1; o += 32) {
        size_t m = 0;
        for (; m + 2 <= M; m += 2) tile_t_avx2(Wt, in, out, x, ldx, y, ldy, o, m, 2);
        for (; m < M; m++) tile_t_avx2(Wt, in, out, x, ldx, y, ldy, o, m, 1);
    }
    pp_matmul_t_rows(Wt, in, out, x, ldx, y, ldy, M, o, o1); // the last o1 - o < 32 outputs
}

PP_AVX2 void pp_linear_avx2_f32(const float *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
                                size_t M, size_t o0, size_t o1) {
    if (M >= PP_PACKED_MIN_TOKENS && in > 0 &&
        pp_packed_gemm(panel_f32, (pp_panel_source){W, in, 0, NULL}, in, x, ldx, y, ldy, M, o0, o1))
        return;
    matmul_avx2_f32(W, in, x, ldx, y, ldy, M, o0, o1);
}

PP_AVX2 void pp_linear_avx2_f16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y,
                                size_t ldy, size_t M, size_t o0, size_t o1) {
    if (M >= PP_PACKED_MIN_TOKENS && in > 0 &&
        pp_packed_gemm(panel_f16, (pp_panel_source){W, in, 0, NULL}, in, x, ldx, y, ldy, M, o0, o1))
        return;
    if (M >= 3 && M <= 8) matmul_avx2_f16v(W, in, x, ldx, y, ldy, M, o0, o1);
    else matmul_avx2_f16(W, in, x, ldx, y, ldy, M, o0, o1);
}

PP_AVX2 void pp_linear_avx2_bf16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y,
                                 size_t ldy, size_t M, size_t o0, size_t o1) {
    if (M >= PP_PACKED_MIN_TOKENS && in > 0 &&
        pp_packed_gemm(panel_bf16, (pp_panel_source){W, in, 0, NULL}, in, x, ldx, y, ldy, M, o0, o1))
        return;
    matmul_avx2_bf16(W, in, x, ldx, y, ldy, M, o0, o1);
}
#endif
