// Quantised linear layers for decode, AVX-512 (level 2) and AVX-512 VNNI (level 3): the integer
// tiles of quant_avx2.c at twice the width. One zmm holds two weight blocks (64 weights) against
// the two matching input blocks; per token the 64 byte products become 16 int32 lanes (level 2:
// vpmaddubsw then vpmaddwd; level 3: one vpdpbusd), lanes 0-7 from the first block and 8-15 from
// the second, converted and multiplied by the two blocks' dw dx in one FMA. Q4_0 codes are made
// signed (q - 8) and go the way of Q8_0's, so that only Q4_1 carries an offset. Products are exact
// integers at both levels (no pair of Q8_0 products reaches vpmaddubsw's 16-bit saturation:
// 2 x 128 x 127 < 32767), so both equal the portable path up to the order of float additions.
#include "quant_internal.h"

#if PP_X86
/// Two consecutive 32-byte runs (the second zero when `both` is 0) as one zmm.
PP_AVX512 static inline __m512i pair32(const uint8_t *a, const uint8_t *b, int both) {
    __m256i hi = both ? _mm256_loadu_si256((const __m256i *)b) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)), hi, 1);
}

/// Two blocks' 4-bit codes (16 bytes each) as 64 bytes 0..15 in weight order: 128-bit lanes
/// [low nibbles of a, high nibbles of a, low of b, high of b], matching the inputs' layout.
PP_AVX512 static inline __m512i pair_nibbles(const uint8_t *a, const uint8_t *b, int both) {
    __m128i hb = both ? _mm_loadu_si128((const __m128i *)b) : _mm_setzero_si128();
    __m256i t = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)a)), hb, 1);
    __m512i v = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 0, 1, 2, 3, 2, 3), _mm512_castsi256_si512(t));
    __m512i shift = _mm512_mask_blend_epi32((__mmask16)0xF0F0, _mm512_setzero_si512(), _mm512_set1_epi16(4));
    return _mm512_and_si512(_mm512_srlv_epi16(v, shift), _mm512_set1_epi8(0x0F));
}

/// dw dx of the first block in lanes 0-7, of the second in lanes 8-15.
PP_AVX512 static inline __m512 pair_scale(float s0, float s1) {
    return _mm512_mask_blend_ps((__mmask16)0xFF00, _mm512_set1_ps(s0), _mm512_set1_ps(s1));
}

// One weight row x C <= 4 tokens over weight blocks [b0, b1), two blocks per step. DOT(u, s) is
// the level's sum of four unsigned x signed byte products per int32 lane.
#define PP_DEFINE_Q512_TILE(NAME, ATTR, DOT)                                                       \
    ATTR static inline __attribute__((always_inline)) void                                        \
    NAME(const int type, const uint8_t *W, size_t nb, const pp_q8x_block *x, float *y, size_t ldy,\
         size_t o, size_t m, size_t b0, size_t b1, const int C) {                                 \
        const size_t bb = type == PP_GGML_Q8_0 ? 34 : (type == PP_GGML_Q4_0 ? 18 : 20);           \
        const size_t qoff = type == PP_GGML_Q4_1 ? 4 : 2;                                         \
        __m512 acc[4];                                                                            \
        float off[4];                                                                             \
        for (int c = 0; c < C; c++) { acc[c] = _mm512_setzero_ps(); off[c] = 0; }                \
        for (size_t b = b0; b < b1; b += 2) {                                                     \
            const int both = b + 1 < b1;                                                          \
            const uint8_t *w = W + (o * nb + b) * bb, *w1 = w + bb;                               \
            _mm_prefetch((const char *)w + PP_Q_PREFETCH, _MM_HINT_T0);                           \
            _mm_prefetch((const char *)w + PP_Q_PREFETCH + 64, _MM_HINT_T0);                      \
            const float dw0 = pp_q_h2f(w), dw1 = both ? pp_q_h2f(w1) : 0;                               \
            __m512i wq;                                                                           \
            __mmask64 neg = 0;                                                                    \
            float mw0 = 0, mw1 = 0;                                                               \
            if (type != PP_GGML_Q4_1) { /* signed codes (Q4_0: q - 8): |w| against x with w's sign */ \
                __m512i raw = type == PP_GGML_Q8_0                                                \
                                  ? pair32(w + 2, w1 + 2, both)                                   \
                                  : _mm512_sub_epi8(pair_nibbles(w + qoff, w1 + qoff, both), _mm512_set1_epi8(8)); \
                neg = _mm512_movepi8_mask(raw);                                                   \
                wq = _mm512_abs_epi8(raw);                                                        \
            } else {                                                                              \
                wq = pair_nibbles(w + qoff, w1 + qoff, both);                                     \
                mw0 = pp_q_h2f(w + 2);                                                               \
                mw1 = both ? pp_q_h2f(w1 + 2) : 0;                                                   \
            }                                                                                     \
            for (int c = 0; c < C; c++) {                                                         \
                const pp_q8x_block *xb = x + (m + c) * nb + b;                                    \
                __m512i xq = pair32((const uint8_t *)xb->q, (const uint8_t *)xb[1].q, both);      \
                if (type != PP_GGML_Q4_1) xq = _mm512_mask_sub_epi8(xq, neg, _mm512_setzero_si512(), xq); \
                __m512 p = _mm512_cvtepi32_ps(DOT(wq, xq));                                       \
                acc[c] = _mm512_fmadd_ps(p, pair_scale(dw0 * xb->d, both ? dw1 * xb[1].d : 0), acc[c]); \
                if (type == PP_GGML_Q4_1) off[c] += mw0 * xb->s + (both ? mw1 * xb[1].s : 0);     \
            }                                                                                     \
        }                                                                                         \
        for (int c = 0; c < C; c++) {                                                             \
            float s = _mm512_reduce_add_ps(acc[c]) + off[c];                                      \
            float *dst = y + (m + c) * ldy + o;                                                   \
            *dst = b0 == 0 ? s : *dst + s;                                                        \
        }                                                                                         \
    }

#define PP_DOT_MADDUBS(u, s) _mm512_madd_epi16(_mm512_maddubs_epi16(u, s), _mm512_set1_epi16(1))
#define PP_DOT_VNNI(u, s) _mm512_dpbusd_epi32(_mm512_setzero_si512(), u, s)

PP_DEFINE_Q512_TILE(q_tile_avx512, PP_AVX512, PP_DOT_MADDUBS)
PP_DEFINE_Q512_TILE(q_tile_vnni, PP_AVX512X, PP_DOT_VNNI)

// The loop of quant_avx2.c (PP_Q_ROW_SPANS) around each level's tile.
#define PP_DEFINE_Q512_MATMUL(NAME, ATTR, TILE)                                                    \
    ATTR static inline __attribute__((always_inline)) void                                        \
    NAME(const int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,\
         size_t M, size_t o0, size_t o1) {                                                        \
        PP_Q_ROW_SPANS(TILE, type, W, in, x, y, ldy, M, o0, o1);                                  \
    }

PP_DEFINE_Q512_MATMUL(matmul_q_avx512, PP_AVX512, q_tile_avx512)
PP_DEFINE_Q512_MATMUL(matmul_q_vnni, PP_AVX512X, q_tile_vnni)

// One instantiation per weight type, so that each inner loop is compiled for its block layout.
PP_AVX512 void pp_quant_avx512(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                               size_t M, size_t o0, size_t o1) {
    switch (type) {
    case PP_GGML_Q8_0: matmul_q_avx512(PP_GGML_Q8_0, W, in, x, y, ldy, M, o0, o1); return;
    case PP_GGML_Q4_0: matmul_q_avx512(PP_GGML_Q4_0, W, in, x, y, ldy, M, o0, o1); return;
    default: matmul_q_avx512(PP_GGML_Q4_1, W, in, x, y, ldy, M, o0, o1); return;
    }
}

PP_AVX512X void pp_quant_vnni(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                              size_t M, size_t o0, size_t o1) {
    switch (type) {
    case PP_GGML_Q8_0: matmul_q_vnni(PP_GGML_Q8_0, W, in, x, y, ldy, M, o0, o1); return;
    case PP_GGML_Q4_0: matmul_q_vnni(PP_GGML_Q4_0, W, in, x, y, ldy, M, o0, o1); return;
    default: matmul_q_vnni(PP_GGML_Q4_1, W, in, x, y, ldy, M, o0, o1); return;
    }
}
#endif
