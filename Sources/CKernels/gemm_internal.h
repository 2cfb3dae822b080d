// The packed GEMM shared by the linear layers (linear_avx2.c, quant_avx2.c) and prefill attention
// (prefill_avx2.c), AVX2: outputs in the 8 lanes of two vectors (a panel of 16), tokens broadcast
// from a packed copy of their inputs, so that no horizontal sums are needed. A register tile is
// 6 tokens x 16 outputs: 12 accumulators, 2 panel vectors and a broadcast (94% of the FMA peak in
// L1 on Zen 3).
#ifndef PIGPLAN_CKERNELS_GEMM_INTERNAL_H
#define PIGPLAN_CKERNELS_GEMM_INTERNAL_H
#include "internal.h"
#include <stdlib.h>
#if PP_X86

/// Transposes 8 x 8 floats in r[0..8) (row j becomes lane j).
#define PP_TRANSPOSE8(r) do {                                                                    \
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);             \
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);             \
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);             \
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);             \
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);           \
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);           \
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);           \
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);           \
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20); r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);   \
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20); r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);   \
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31); r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);   \
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31); r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);   \
} while (0)

/// P[k][16] from rows o ..< o + nr of W (row stride ldw; nr <= 16, missing rows are zero) and
/// their elements k0 ..< k0 + kn, zero-padded to a multiple of 8: the rows become the lanes.
#define PP_DEFINE_PACK(NAME, WT, LOAD8, LOAD1)                                                    \
    PP_AVX2 static inline void NAME(const WT *W, size_t ldw, size_t o, int nr, size_t k0, size_t kn,     \
                             float *P) {                                                          \
        size_t kb = kn - kn % 8;                                                                  \
        for (int h = 0; h < 2; h++)                                                               \
            for (size_t k = 0; k < kb; k += 8) {                                                  \
                __m256 r[8];                                                                      \
                for (int j = 0; j < 8; j++) {                                                     \
                    int row = h * 8 + j;                                                          \
                    r[j] = row < nr ? LOAD8(W + (o + row) * ldw + k0 + k) : _mm256_setzero_ps();  \
                }                                                                                 \
                PP_TRANSPOSE8(r);                                                                 \
                for (int j = 0; j < 8; j++) _mm256_store_ps(P + (k + j) * 16 + h * 8, r[j]);      \
            }                                                                                     \
        for (size_t k = kb; k < (kn + 7) / 8 * 8; k++)                                            \
            for (int row = 0; row < 16; row++)                                                    \
                P[k * 16 + row] = row < nr && k < kn ? LOAD1(W + (o + row) * ldw + k0 + k) : 0.0f; \
    }
PP_DEFINE_PACK(pp_pack_f32, float, pp_ld8_f32, pp_ld1_f32)
PP_DEFINE_PACK(pp_pack_f16, uint16_t, pp_ld8_f16, pp_ld1_f16)
PP_DEFINE_PACK(pp_pack_bf16, uint16_t, pp_ld8_bf16, pp_ld1_bf16)

/// y[c][0 ..< nr] (+)= sum_k P[k][.] xp[k][c] for the C <= 6 tokens of a group.
PP_AVX2 static inline __attribute__((always_inline)) void
packed_tile(const float *P, const float *xp, size_t kp, float *y, size_t ldy, int first, const int C,
            int nr) {
    __m256 a0[6], a1[6];
    for (int c = 0; c < C; c++) a0[c] = a1[c] = _mm256_setzero_ps();
    for (size_t k = 0; k < kp; k++) {
        __m256 w0 = _mm256_load_ps(P + 16 * k), w1 = _mm256_load_ps(P + 16 * k + 8);
        for (int c = 0; c < C; c++) {
            __m256 b = _mm256_broadcast_ss(xp + 6 * k + c);
            a0[c] = _mm256_fmadd_ps(w0, b, a0[c]);
            a1[c] = _mm256_fmadd_ps(w1, b, a1[c]);
        }
    }
    for (int c = 0; c < C; c++) {
        float *yc = y + c * ldy;
        if (nr == 16) {
            if (!first) {
                a0[c] = _mm256_add_ps(a0[c], _mm256_loadu_ps(yc));
                a1[c] = _mm256_add_ps(a1[c], _mm256_loadu_ps(yc + 8));
            }
            _mm256_storeu_ps(yc, a0[c]);
            _mm256_storeu_ps(yc + 8, a1[c]);
        } else {
            float t[16];
            _mm256_storeu_ps(t, a0[c]);
            _mm256_storeu_ps(t + 8, a1[c]);
            for (int r = 0; r < nr; r++) yc[r] = first ? t[r] : yc[r] + t[r];
        }
    }
}


/// Tokens 0 ..< mn (rows of x, stride ldx), elements k0 ..< k0 + kn, packed k-major in groups of
/// 6 tokens: xp[group][k][6] with kp >= kn elements per group (zero beyond kn and mn). Whole
/// groups go 8 elements at a time through an 8 x 8 transpose (rows 6 and 7 zero) and 8-lane
/// stores 6 floats apart, each overwriting the previous one's 2 spare lanes: xp needs 2 floats
/// of slack at its end.
PP_AVX2 static inline void pp_pack_tokens(const float *x, size_t ldx, size_t mn, size_t k0, size_t kn,
                                          size_t kp, float *xp) {
    size_t groups = (mn + 5) / 6, k8 = kn - kn % 8;
    for (size_t g = 0; g < groups; g++) {
        float *dst = xp + g * 6 * kp;
        const float *src = x + g * 6 * ldx + k0;
        size_t done = g * 6 + 6 <= mn ? k8 : 0; // elements the transposes write (whole groups)
        for (size_t k = 0; k < done; k += 8) {
            __m256 r[8];
            for (int c = 0; c < 6; c++) r[c] = _mm256_loadu_ps(src + c * ldx + k);
            r[6] = r[7] = _mm256_setzero_ps();
            PP_TRANSPOSE8(r);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + 6 * (k + j), r[j]);
        }
        for (size_t k = done; k < kp; k++)
            for (size_t c = 0; c < 6; c++) dst[6 * k + c] = g * 6 + c < mn && k < kn ? src[c * ldx + k] : 0.0f;
    }
}

/// y[m][0 ..< nr] (+)= sum_k P[k][.] x[m][k] for the mn tokens packed in xp (kp elements each;
/// y row stride ldy): `first` stores, otherwise adds.
PP_AVX2 static inline void pp_packed_panel(const float *P, const float *xp, size_t kp, size_t mn,
                                           float *y, size_t ldy, int first, int nr) {
    for (size_t g = 0; g * 6 < mn; g++) {
        const float *xg = xp + g * 6 * kp;
        float *yg = y + g * 6 * ldy;
        switch (mn - g * 6 >= 6 ? 6 : mn - g * 6) {
        case 6: packed_tile(P, xg, kp, yg, ldy, first, 6, nr); break;
        case 5: packed_tile(P, xg, kp, yg, ldy, first, 5, nr); break;
        case 4: packed_tile(P, xg, kp, yg, ldy, first, 4, nr); break;
        case 3: packed_tile(P, xg, kp, yg, ldy, first, 3, nr); break;
        case 2: packed_tile(P, xg, kp, yg, ldy, first, 2, nr); break;
        default: packed_tile(P, xg, kp, yg, ldy, first, 1, nr); break;
        }
    }
}

/// Inputs per block (a multiple of 32, the GGUF block) and tokens per pass (44 groups of 6, so that
/// a 256-token prefill chunk is one pass): a block's panel is 16 KiB (L1) and the packed inputs
/// 264 KiB (L2).
#define PP_GEMM_KP 256
#define PP_GEMM_MP 264

/// Where a panel's rows come from: W with row stride ldw (element type per caller), a GGUF type
/// for quantised rows, and `rows`, PP_GEMM_KP x 16 floats of scratch for rows widened first.
typedef struct {
    const void *W;
    size_t ldw;
    int type;
    float *rows;
} pp_panel_source;
/// Fills P[k][16] from rows o ..< o + nr, elements k0 ..< k0 + kn (see PP_DEFINE_PACK).
typedef void (*pp_pack_panel)(const pp_panel_source *src, size_t o, int nr, size_t k0, size_t kn, float *P);

/// y[m][o] = W[o] . x[m] for m < M, o in [o0, o1): per block of PP_GEMM_KP inputs the tokens are
/// packed (pp_pack_tokens), then every panel of 16 outputs is packed by `pack` and run over them
/// (pp_packed_panel), adding into y after the first block. Returns 0 when its scratch (about 290
/// KiB) cannot be allocated; the caller then uses another path.
PP_AVX2 static inline int pp_packed_gemm(pp_pack_panel pack, pp_panel_source src, size_t in, const float *x,
                                         size_t ldx, float *y, size_t ldy, size_t M, size_t o0, size_t o1) {
    float *P = aligned_alloc(64, (2 * PP_GEMM_KP * 16 + PP_GEMM_MP * PP_GEMM_KP + 16) * sizeof(float));
    if (!P) return 0;
    float *xp = P + PP_GEMM_KP * 16;
    src.rows = xp + PP_GEMM_MP * PP_GEMM_KP + 16; /* after xp's slack */
    for (size_t m0 = 0; m0 < M; m0 += PP_GEMM_MP) {
        size_t mn = M - m0 < PP_GEMM_MP ? M - m0 : PP_GEMM_MP;
        for (size_t k0 = 0; k0 < in; k0 += PP_GEMM_KP) {
            size_t kn = in - k0 < PP_GEMM_KP ? in - k0 : PP_GEMM_KP, kp = (kn + 7) / 8 * 8;
            pp_pack_tokens(x + m0 * ldx, ldx, mn, k0, kn, kp, xp);
            for (size_t o = o0; o < o1; o += 16) {
                int nr = o1 - o >= 16 ? 16 : (int)(o1 - o);
                pack(&src, o, nr, k0, kn, P);
                pp_packed_panel(P, xp, kp, mn, y + m0 * ldy + o, ldy, k0 == 0, nr);
            }
        }
    }
    free(P);
    return 1;
}
#endif
#endif
