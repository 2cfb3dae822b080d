// Shared by the quantised linear-layer files: block sizes and the level-1 entry points that
// quant.c dispatches to (the GGUF block formats and the product are described in quant.c).
#ifndef PIGPLAN_CKERNELS_QUANT_INTERNAL_H
#define PIGPLAN_CKERNELS_QUANT_INTERNAL_H

#include "internal.h"

/// Bytes of one weight block, 0 for types these kernels do not take.
static inline size_t pp_q_block_bytes(int type) {
    switch (type) {
    case PP_GGML_Q8_0: return 34;
    case PP_GGML_Q4_0: return 18;
    case PP_GGML_Q4_1: return 20;
    default: return 0;
    }
}

/// Bytes ahead of the current weight block that the decode tiles prefetch: rows are short streams
/// (a few hundred bytes to a few KiB) and the hardware prefetcher starts late on each.
#ifndef PP_Q_PREFETCH
#define PP_Q_PREFETCH 2048
#endif
/// Weight blocks per span of the decode tiles (1024 inputs): a span of one row stays in L1 while
/// every group of 4 tokens passes over it.
#define PP_QKB 32

/// Index of token t's block b among M tokens of nb blocks in the GEMM input order
/// (pp_quantize_q8x_tiles): span b0 = b - b % PP_QKB starts at M b0, the group of 4 tokens from
/// m = t - t % 4 at M b0 + m nbs (nbs the span's blocks), then (b - b0) C + (t - m) with C the
/// group's tokens. A GEMM tile of tokens m ..< m + C reads block j of its span's token m + c at
/// M b0 + m nbs + j C + c: one stream per panel of rows (one Zen 3 core, 8 rows x 4 tokens over
/// 32 blocks: 4-10% faster than four strided ones, the most where the inputs come from L2).
static inline size_t pp_q8x_tile_index(size_t nb, size_t M, size_t t, size_t b) {
    size_t b0 = b - b % PP_QKB, nbs = nb - b0 < PP_QKB ? nb - b0 : PP_QKB, m = t - t % 4;
    size_t C = M - m < 4 ? M - m : 4;
    return M * b0 + m * nbs + (b - b0) * C + (t - m);
}
/// The decode tiles' loop, one per level file (quant_avx2.c, quant_avx512.c): one weight row at
/// a time (rows stream one after another; 2-row tiles measured 15-30% slower at level 1, their
/// accumulators and offsets spill), in spans of PP_QKB blocks that stay in L1 while every group
/// of 4 tokens passes over them (one or two tokens: rows whole). TILE(type, W, nb, x, y, ldy,
/// o, m, b0, b1, C) adds tokens m ..< m + C of row o over blocks [b0, b1), C constant per call.
/// `in` > 0 (pp_matmul_q answers in = 0 itself).
#define PP_Q_ROW_SPANS(TILE, type, W, in, x, y, ldy, M, o0, o1)                                    \
    do {                                                                                          \
        size_t nb_ = (in) / 32, kb_ = (M) <= 2 ? nb_ : PP_QKB;                                    \
        for (size_t o_ = (o0); o_ < (o1); o_++) {                                                 \
            size_t b0_ = 0;                                                                       \
            do {                                                                                  \
                size_t b1_ = nb_ - b0_ < kb_ ? nb_ : b0_ + kb_, m_ = 0;                           \
                for (; m_ + 4 <= (M); m_ += 4) TILE(type, W, nb_, x, y, ldy, o_, m_, b0_, b1_, 4); \
                switch ((M) - m_) {                                                               \
                case 3: TILE(type, W, nb_, x, y, ldy, o_, m_, b0_, b1_, 3); break;                \
                case 2: TILE(type, W, nb_, x, y, ldy, o_, m_, b0_, b1_, 2); break;                \
                case 1: TILE(type, W, nb_, x, y, ldy, o_, m_, b0_, b1_, 1); break;                \
                }                                                                                 \
                b0_ = b1_;                                                                        \
            } while (b0_ < nb_);                                                                  \
        }                                                                                         \
    } while (0)

/// `F(T, ...)` for the weight type `type` with T a compile-time constant (one instantiation per
/// block layout, each inner loop compiled for its own), then return: the level files' entry
/// points each call it from a function carrying their own target attribute.
#define PP_Q_BY_TYPE(type, F, ...)                                                                 \
    switch (type) {                                                                               \
    case PP_GGML_Q8_0: F(PP_GGML_Q8_0, __VA_ARGS__); return;                                      \
    case PP_GGML_Q4_0: F(PP_GGML_Q4_0, __VA_ARGS__); return;                                      \
    default: F(PP_GGML_Q4_1, __VA_ARGS__); return;                                                \
    }

#if PP_X86
/// A block's binary16 scale (or Q4_1 minimum) as a float, by F16C.
PP_AVX2 static inline float pp_q_h2f(const uint8_t *p) { return _cvtsh_ss(pp_rd16(p)); }
/// quant_avx2.c (level 1): pp_matmul_q for a type pp_q_block_bytes takes and `in` a multiple of 32.
PP_AVX2 void pp_quant_avx2(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
/// pp_quantize_q8x, the same bytes.
PP_AVX2 void pp_quantize_q8x_avx2(const float *x, size_t n, pp_q8x_block *out);
/// pp_matmul_q_tiles at level 1 (prefill chunks): the integer GEMM with 8 rows in the lanes, for
/// Q8_0, Q4_0 and Q4_1; x in the GEMM order (pp_q8x_tile_index).
PP_AVX2 void pp_quant_gemm_avx2(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
/// Rows per panel of the integer prefill GEMM's packing (one 32-bit lane each in a ymm).
#define PP_QG_ROWS 8
/// The integer prefill GEMM's panel packing (quant_avx2.c, for every level from 1): rows
/// o ..< o + nr of W (row stride ldw; nr <= 8, missing rows zero), blocks b0 ..< b0 + nbs. For
/// block j and step st (the block's codes 4 st .. 4 st + 3), 32-bit lane r of the 32 bytes at
/// codes + (j * 8 + st) * step holds row r's four codes: nibbles 0..15 (Q4_0, Q4_1), for Q8_0
/// with hplane > 0 the l plane of w + 128 = 16 h + l there and the h plane hplane bytes further,
/// with hplane = 0 the bytes w + 128. scales[j * sstride + r] = dw; offsets likewise: the term
/// that meets the input block's s = dx sum qx (-8 dw for Q4_0, m for Q4_1, -128 dw for Q8_0).
PP_AVX2 void pp_q_pack_panel8(int type, const uint8_t *W, size_t ldw, size_t o, int nr, size_t b0, size_t nbs,
                              uint8_t *codes, size_t step, size_t hplane, float *scales, float *offsets,
                              size_t sstride);
/// Asks for the bytes [off, off + n) of rows o ..< o + 8 of W (row stride ldw) in L2, ahead of
/// their packing: while a panel's tiles run, the next panel's eight short row streams arrive.
static inline void pp_q_prefetch_panel(const uint8_t *W, size_t ldw, size_t o, size_t off, size_t n) {
    for (int r = 0; r < PP_QG_ROWS; r++)
        for (size_t k = 0; k < n; k += 64) _mm_prefetch((const char *)(W + (o + r) * ldw + off + k), _MM_HINT_T1);
}
/// pp_matmul_q_wide's packed GEMM (in > 0); 0 when its scratch could not be allocated.
PP_AVX2 int pp_quant_wide_avx2(int type, const void *W, size_t in, const float *x, size_t ldx, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
/// quant_avx512.c: the same product with two blocks per zmm, level 2 (vpmaddubsw + vpmaddwd)
/// and level 3 (vpdpbusd).
PP_AVX512 void pp_quant_avx512(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
PP_AVX512X void pp_quant_vnni(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
/// The integer prefill GEMM with 16 rows in the lanes of a zmm: level 2 (vpmaddubsw, Q8_0 as
/// two nibble planes) and level 3 (vpdpbusd, Q8_0 codes as the bytes w + 128); x in the GEMM
/// order (pp_q8x_tile_index).
PP_AVX512 void pp_quant_gemm_avx512(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
PP_AVX512X void pp_quant_gemm_vnni(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
#endif

#endif
