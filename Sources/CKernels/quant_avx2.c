// Quantised linear layers, AVX2 path (level 1): integer tiles of one weight row x 4 tokens for
// 8-bit inputs (pp_matmul_q; levels 2 and 3 have theirs in quant_avx512.c), and for prefill
// chunks each panel of rows dequantised into the packed GEMM of gemm_internal.h
// (pp_matmul_q_wide, at every level from 1).
#include "gemm_internal.h"
#include "quant_internal.h"

#if PP_X86
/// The 32 4-bit weights of a block as bytes 0..15 in block order (low nibbles are weights
/// 0..15, high nibbles 16..31).
PP_AVX2 static inline __m256i unpack_nibbles(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p), mask = _mm_set1_epi8(0x0F);
    __m128i lo = _mm_and_si128(b, mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}
PP_AVX2 static inline float h2f_fast(const uint8_t *p) { return _cvtsh_ss(pp_rd16(p)); }

// Tile of one weight row x C <= 4 tokens over weight blocks [b0, b1): per block pair one
// unsigned x signed byte multiply-add (vpmaddubsw; Q8_0 and Q4_0, whose codes are made signed,
// move the weight's sign onto the input first), a widening add to 8 int32 lanes, and one FMA by
// dw dx into f32 accumulators. Q4_1's offset m times the input block's s goes to scalar sums.
PP_AVX2 static inline __attribute__((always_inline)) void
q_tile(const int type, const uint8_t *W, size_t nb, const pp_q8x_block *x, float *y, size_t ldy,
       size_t o, size_t m, size_t b0, size_t b1, const int C) {
    const size_t bb = type == PP_GGML_Q8_0 ? 34 : (type == PP_GGML_Q4_0 ? 18 : 20);
    const size_t qoff = type == PP_GGML_Q4_1 ? 4 : 2;
    __m256 acc[4];
    float off[4];
    for (int c = 0; c < C; c++) { acc[c] = _mm256_setzero_ps(); off[c] = 0; }
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t b = b0; b < b1; b++) {
        const uint8_t *w = W + (o * nb + b) * bb;
        // Rows are short streams (a few hundred bytes to a few KiB): fetch ahead of the
        // hardware prefetcher, which starts late on each.
        _mm_prefetch((const char *)w + PP_Q_PREFETCH, _MM_HINT_T0);
        const float dw = h2f_fast(w);
        __m256i wq;
        float mw;
        if (type == PP_GGML_Q8_0) {
            wq = _mm256_loadu_si256((const __m256i *)(w + 2));
            mw = 0;
        } else if (type == PP_GGML_Q4_0) {
            // Codes made signed (q - 8) and taken as Q8_0's: no offset to carry. With the offset
            // -8 dw sx summed apart, 8B-shaped Q4_0 decode ran at 22 tokens/s against 37-39.
            wq = _mm256_sub_epi8(unpack_nibbles(w + qoff), _mm256_set1_epi8(8));
            mw = 0;
        } else {
            wq = unpack_nibbles(w + qoff);
            mw = h2f_fast(w + 2);
        }
        // Signed codes: |w| (unsigned) against x carrying w's sign, for vpmaddubsw.
        const __m256i wu = type == PP_GGML_Q4_1 ? wq : _mm256_sign_epi8(wq, wq);
        for (int c = 0; c < C; c++) {
            const pp_q8x_block *xb = x + (m + c) * nb + b;
            __m256i xq = _mm256_loadu_si256((const __m256i *)xb->q);
            const float dx = xb->d, sx = xb->s;
            __m256i p16 = type == PP_GGML_Q4_1 ? _mm256_maddubs_epi16(wu, xq)
                                               : _mm256_maddubs_epi16(wu, _mm256_sign_epi8(xq, wq));
            __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
            acc[c] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * dx), acc[c]);
            if (type == PP_GGML_Q4_1) off[c] += mw * sx;
        }
    }
    for (int c = 0; c < C; c++) {
        float s = pp_hsum8(acc[c]) + off[c];
        float *dst = y + (m + c) * ldy + o;
        *dst = b0 == 0 ? s : *dst + s;
    }
}

/// One weight row at a time (rows stream one after another; 2-row tiles measured 15-30% slower
/// here, their accumulators and offsets spill), in spans of PP_QKB weight blocks that stay in L1
/// while every group of 4 tokens passes over them (one or two tokens: rows whole).
PP_AVX2 static inline __attribute__((always_inline)) void
matmul_q_avx2_typed(const int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
                    size_t ldy, size_t M, size_t o0, size_t o1) {
    size_t nb = in / 32, kb = M <= 2 ? nb : PP_QKB;
    if (nb == 0) {
        for (size_t m = 0; m < M; m++)
            for (size_t o = o0; o < o1; o++) y[m * ldy + o] = 0;
        return;
    }
    for (size_t o = o0; o < o1; o++) {
        size_t b0 = 0;
        do {
            size_t b1 = nb - b0 < kb ? nb : b0 + kb, m = 0;
            for (; m + 4 <= M; m += 4) q_tile(type, W, nb, x, y, ldy, o, m, b0, b1, 4);
            switch (M - m) {
            case 3: q_tile(type, W, nb, x, y, ldy, o, m, b0, b1, 3); break;
            case 2: q_tile(type, W, nb, x, y, ldy, o, m, b0, b1, 2); break;
            case 1: q_tile(type, W, nb, x, y, ldy, o, m, b0, b1, 1); break;
            }
            b0 = b1;
        } while (b0 < nb);
    }
}

PP_AVX2 static void matmul_q8_0_avx2(const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                                     size_t M, size_t o0, size_t o1) {
    matmul_q_avx2_typed(PP_GGML_Q8_0, W, in, x, y, ldy, M, o0, o1);
}
PP_AVX2 static void matmul_q4_0_avx2(const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                                     size_t M, size_t o0, size_t o1) {
    matmul_q_avx2_typed(PP_GGML_Q4_0, W, in, x, y, ldy, M, o0, o1);
}
PP_AVX2 static void matmul_q4_1_avx2(const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                                     size_t M, size_t o0, size_t o1) {
    matmul_q_avx2_typed(PP_GGML_Q4_1, W, in, x, y, ldy, M, o0, o1);
}

PP_AVX2 void pp_quant_avx2(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                           size_t M, size_t o0, size_t o1) {
    switch (type) {
    case PP_GGML_Q8_0: matmul_q8_0_avx2(W, in, x, y, ldy, M, o0, o1); return;
    case PP_GGML_Q4_0: matmul_q4_0_avx2(W, in, x, y, ldy, M, o0, o1); return;
    default: matmul_q4_1_avx2(W, in, x, y, ldy, M, o0, o1); return;
    }
}

/// A panel of quantised rows: each row's span dequantised into src->rows, then transposed.
PP_AVX2 static void panel_q(const pp_panel_source *s, size_t o, int nr, size_t k0, size_t kn, float *P) {
    size_t bb = pp_q_block_bytes(s->type);
    const uint8_t *W = (const uint8_t *)s->W;
    for (int r = 0; r < nr; r++)
        pp_dequantize(s->type, W + (o + r) * s->ldw + k0 / 32 * bb, s->rows + r * PP_GEMM_KP, kn);
    pp_pack_f32(s->rows, PP_GEMM_KP, 0, nr, 0, kn, P);
}

PP_AVX2 int pp_quant_wide_avx2(int type, const void *W, size_t in, const float *x, size_t ldx, float *y,
                               size_t ldy, size_t M, size_t o0, size_t o1) {
    pp_panel_source src = {W, in / 32 * pp_q_block_bytes(type), type, NULL};
    return pp_packed_gemm(panel_q, src, in, x, ldx, y, ldy, M, o0, o1);
}
#endif
