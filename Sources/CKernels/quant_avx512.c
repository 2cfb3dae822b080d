// Quantised linear layers, AVX-512 (level 2) and AVX-512 VNNI (level 3): the decode tiles and
// the prefill GEMM (below) of quant_avx2.c at twice the width. Decode tiles: One zmm holds two weight blocks (64 weights) against
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

// Prefill chunks (PP_PACKED_MIN_TOKENS tokens and more): quant_avx2.c's integer GEMM with 16
// rows in the 32-bit lanes of a zmm, two panels of pp_q_pack_panel8 side by side in each 64-byte
// step. Level 2 adds vpmaddubsw products in 16 bits over a block as level 1 does (Q8_0 as two
// nibble planes); level 3 adds four products per int32 lane with vpdpbusd, so Q8_0 codes go in
// whole as the unsigned bytes w + 128 (255 x 127 x 32 per block is far from overflow). Both are
// exact integers until the per-block scaling, like every other level.
#define PP_QZ_ROWS 16
#define PP_QZ_STEP(type, planes) ((type) == PP_GGML_Q8_0 && (planes) ? 128 : 64)

// PLANES: Q8_0 as two nibble planes (level 2); STEP(acc, w, x) adds one step's products of w
// (unsigned) and x (signed) to acc; WIDEN(acc) gives a block's int32 sums.
#define PP_DEFINE_QZ_GEMM(NAME, ATTR, PLANES, STEP, WIDEN)                                          \
    ATTR static inline __attribute__((always_inline)) void                                        \
    NAME##_tile(const int type, const uint8_t *codes, const float *scales, const float *offsets,   \
                size_t nbs, const pp_q8x_block *xs, size_t m, const int C, float *y, size_t ldy,    \
                size_t o, int nr, int first) {                                                    \
        const size_t step = PP_QZ_STEP(type, PLANES);                                             \
        const pp_q8x_block *xg = xs + m * nbs; /* the span's group m ..< m + C */                 \
        const int two = type == PP_GGML_Q8_0 && (PLANES);                                         \
        const __m512i ones = _mm512_set1_epi16(1), sixteen = _mm512_set1_epi16(16);               \
        __m512 facc[4];                                                                           \
        for (int c = 0; c < C; c++) facc[c] = _mm512_setzero_ps();                                \
        for (size_t j = 0; j < nbs; j++) {                                                        \
            const pp_q8x_block *xb[4];                                                            \
            __m512i isum[4], hsum[4];                                                             \
            for (int c = 0; c < C; c++) {                                                         \
                xb[c] = xg + j * C + c;                                                           \
                isum[c] = hsum[c] = _mm512_setzero_si512();                                       \
            }                                                                                     \
            const uint8_t *cw = codes + j * 8 * step;                                             \
            for (int st = 0; st < 8; st++) {                                                      \
                __m512i wl = _mm512_loadu_si512((const void *)(cw + step * st)), wh = wl;          \
                if (two) wh = _mm512_loadu_si512((const void *)(cw + step * st + 64));            \
                for (int c = 0; c < C; c++) {                                                     \
                    int32_t four;                                                                 \
                    memcpy(&four, xb[c]->q + 4 * st, 4);                                          \
                    __m512i xv = _mm512_set1_epi32(four);                                         \
                    isum[c] = STEP(isum[c], wl, xv);                                              \
                    if (two) hsum[c] = STEP(hsum[c], wh, xv);                                     \
                }                                                                                 \
            }                                                                                     \
            __m512 sv = _mm512_loadu_ps(scales + j * PP_QZ_ROWS), mv = _mm512_loadu_ps(offsets + j * PP_QZ_ROWS); \
            for (int c = 0; c < C; c++) {                                                         \
                __m512i s32 = WIDEN(isum[c]);                                                     \
                if (two) s32 = _mm512_add_epi32(s32, _mm512_madd_epi16(hsum[c], sixteen));        \
                facc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s32), _mm512_mul_ps(sv, _mm512_set1_ps(xb[c]->d)), facc[c]); \
                facc[c] = _mm512_fmadd_ps(mv, _mm512_set1_ps(xb[c]->s), facc[c]);                \
            }                                                                                     \
        }                                                                                         \
        (void)ones;                                                                               \
        const __mmask16 k = nr >= PP_QZ_ROWS ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);   \
        for (int c = 0; c < C; c++) {                                                             \
            float *dst = y + (m + c) * ldy + o;                                                   \
            __m512 v = first ? facc[c] : _mm512_add_ps(_mm512_maskz_loadu_ps(k, dst), facc[c]);   \
            _mm512_mask_storeu_ps(dst, k, v);                                                     \
        }                                                                                         \
    }                                                                                             \
    ATTR static inline __attribute__((always_inline)) void                                        \
    NAME##_typed(const int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,     \
                 size_t ldy, size_t M, size_t o0, size_t o1) {                                    \
        const size_t nb = in / 32, ldw = nb * pp_q_block_bytes(type), step = PP_QZ_STEP(type, PLANES); \
        _Alignas(64) uint8_t codes[PP_QKB * 8 * 128];                                             \
        float scales[PP_QKB * PP_QZ_ROWS], offsets[PP_QKB * PP_QZ_ROWS];                          \
        for (size_t b0 = 0; b0 < nb; b0 += PP_QKB) {                                              \
            size_t nbs = nb - b0 < PP_QKB ? nb - b0 : PP_QKB;                                     \
            const pp_q8x_block *xs = x + M * b0; /* the span's inputs (pp_q8x_tile_index) */       \
            for (size_t o = o0; o < o1; o += PP_QZ_ROWS) {                                        \
                int nr = o1 - o < PP_QZ_ROWS ? (int)(o1 - o) : PP_QZ_ROWS, first = b0 == 0;       \
                for (int g = 0; g < 2; g++) {                                                     \
                    int ng = nr - g * PP_QG_ROWS;                                                 \
                    pp_q_pack_panel8(type, W, ldw, o + g * PP_QG_ROWS, ng < 0 ? 0 : ng, b0, nbs,  \
                                     codes + 32 * g, step, (PLANES) ? 64 : 0, scales + g * PP_QG_ROWS, \
                                     offsets + g * PP_QG_ROWS, PP_QZ_ROWS);                       \
                }                                                                                 \
                for (int g = 0; g < 2 && o + PP_QZ_ROWS + (g + 1) * PP_QG_ROWS <= o1; g++)        \
                    pp_q_prefetch_panel(W, ldw, o + PP_QZ_ROWS + g * PP_QG_ROWS, b0 * pp_q_block_bytes(type), \
                                        nbs * pp_q_block_bytes(type));                            \
                size_t m = 0;                                                                     \
                for (; m + 4 <= M; m += 4) NAME##_tile(type, codes, scales, offsets, nbs, xs, m, 4, y, ldy, o, nr, first); \
                switch (M - m) {                                                                  \
                case 3: NAME##_tile(type, codes, scales, offsets, nbs, xs, m, 3, y, ldy, o, nr, first); break; \
                case 2: NAME##_tile(type, codes, scales, offsets, nbs, xs, m, 2, y, ldy, o, nr, first); break; \
                case 1: NAME##_tile(type, codes, scales, offsets, nbs, xs, m, 1, y, ldy, o, nr, first); break; \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
    }

#define PP_QZ_STEP_MADDUBS(acc, w, x) _mm512_add_epi16(acc, _mm512_maddubs_epi16(w, x))
#define PP_QZ_WIDEN_MADDUBS(acc) _mm512_madd_epi16(acc, ones)
#define PP_QZ_STEP_VNNI(acc, w, x) _mm512_dpbusd_epi32(acc, w, x)
#define PP_QZ_WIDEN_VNNI(acc) (acc)

PP_DEFINE_QZ_GEMM(q_gemm_avx512, PP_AVX512, 1, PP_QZ_STEP_MADDUBS, PP_QZ_WIDEN_MADDUBS)
PP_DEFINE_QZ_GEMM(q_gemm_vnni, PP_AVX512X, 0, PP_QZ_STEP_VNNI, PP_QZ_WIDEN_VNNI)

PP_AVX512 void pp_quant_gemm_avx512(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
                                    size_t ldy, size_t M, size_t o0, size_t o1) {
    PP_Q_BY_TYPE(type, q_gemm_avx512_typed, W, in, x, y, ldy, M, o0, o1)
}

PP_AVX512X void pp_quant_gemm_vnni(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
                                   size_t ldy, size_t M, size_t o0, size_t o1) {
    PP_Q_BY_TYPE(type, q_gemm_vnni_typed, W, in, x, y, ldy, M, o0, o1)
}

PP_AVX512 void pp_quant_avx512(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                               size_t M, size_t o0, size_t o1) {
    PP_Q_BY_TYPE(type, matmul_q_avx512, W, in, x, y, ldy, M, o0, o1)
}

PP_AVX512X void pp_quant_vnni(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                              size_t M, size_t o0, size_t o1) {
    PP_Q_BY_TYPE(type, matmul_q_vnni, W, in, x, y, ldy, M, o0, o1)
}
#endif
