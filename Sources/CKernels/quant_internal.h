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

#if PP_X86
/// quant_avx2.c (level 1): pp_matmul_q for a type pp_q_block_bytes takes and `in` a multiple of 32.
PP_AVX2 void pp_quant_avx2(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
/// pp_quantize_q8x, the same bytes.
PP_AVX2 void pp_quantize_q8x_avx2(const float *x, size_t n, pp_q8x_block *out);
/// pp_matmul_q from PP_PACKED_MIN_TOKENS tokens (every level from 1): the integer GEMM with 8
/// rows in the lanes.
PP_AVX2 void pp_quant_gemm_avx2(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
/// pp_matmul_q_wide's packed GEMM (in > 0); 0 when its scratch could not be allocated.
PP_AVX2 int pp_quant_wide_avx2(int type, const void *W, size_t in, const float *x, size_t ldx, float *y,
    size_t ldy, size_t M, size_t o0, size_t o1);
/// quant_avx512.c: the same product with two blocks per zmm, level 2 (vpmaddubsw + vpmaddwd)
/// and level 3 (vpdpbusd).
PP_AVX512 void pp_quant_avx512(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
PP_AVX512X void pp_quant_vnni(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
    size_t M, size_t o0, size_t o1);
#endif

#endif
