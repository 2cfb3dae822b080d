// The packed GEMM shared by the linear layers (linear.c) and prefill attention (prefill.c), AVX2:
// outputs in the 8 lanes of two vectors (a panel of 16), tokens broadcast from a packed copy of
// their inputs, so that no horizontal sums are needed. A register tile is 6 tokens x 16 outputs:
// 12 accumulators, 2 panel vectors and a broadcast (94% of the FMA peak in L1 on Zen 3).
#ifndef PIGPLAN_CKERNELS_GEMM_INTERNAL_H
#define PIGPLAN_CKERNELS_GEMM_INTERNAL_H
#include "internal.h"
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
    PP_AVX2 static void NAME(const WT *W, size_t ldw, size_t o, int nr, size_t k0, size_t kn,     \
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
/// 6 tokens: xp[group][k][6] with kp >= kn elements per group (zero beyond kn and mn).
static inline void pp_pack_tokens(const float *x, size_t ldx, size_t mn, size_t k0, size_t kn,
                                  size_t kp, float *xp) {
    size_t groups = (mn + 5) / 6;
    for (size_t g = 0; g < groups; g++)
        for (int c = 0; c < 6; c++) {
            size_t m = g * 6 + c;
            float *dst = xp + g * 6 * kp + c;
            const float *src = m < mn ? x + m * ldx + k0 : NULL;
            for (size_t k = 0; k < kp; k++) dst[6 * k] = src && k < kn ? src[k] : 0.0f;
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
#endif
#endif
