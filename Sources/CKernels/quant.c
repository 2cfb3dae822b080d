// Linear layers on GGUF block-quantised weights (Q8_0, Q4_0, Q4_1) read as stored: the inputs
// are quantised to 8 bits per block of 32 (pp_quantize_q8x) and each weight block meets each
// input block in an integer dot product, scaled once per block pair:
//   Q8_0: w = q d                 -> dw dx sum(qw qx)
//   Q4_0: w = (q - 8) d           -> dw dx sum(qw qx) - 8 dw (dx sum qx)
//   Q4_1: w = q d + m             -> dw dx sum(qw qx) + m (dx sum qx)
// where dx sum qx is kept with each input block (its field s). The SIMD tiles compute Q4_0 as
// dw dx sum((qw - 8) qx) instead, the same integer, with no offset to carry.
// This file: input quantisation, the portable product and the dispatch; quant_avx2.c holds the
// AVX2 tiles, the integer GEMM and the packed GEMM for prefill chunks, quant_avx512.c the tiles
// and the integer GEMM of levels 2 and 3.
#include "quant_internal.h"

size_t pp_q8x_row_bytes(size_t n) { return n / 32 * sizeof(pp_q8x_block); }

void pp_quantize_q8x(const float *x, size_t n, void *dst) {
    pp_q8x_block *out = (pp_q8x_block *)dst;
#if PP_X86
    if (pp_use_avx2()) { pp_quantize_q8x_avx2(x, n, out); return; }
#endif
    for (size_t b = 0; b < n / 32; b++, x += 32, out++) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127, id = d > 0 ? 1 / d : 0;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            int q = (int)lrintf(x[j] * id);
            q = q > 127 ? 127 : (q < -127 ? -127 : q);
            out->q[j] = (int8_t)q;
            sum += q;
        }
        out->d = d;
        out->s = d * (float)sum;
    }
}

const pp_q8x_block *pp_q8x_tiles(const pp_q8x_block *x, size_t nbx, size_t M, size_t b0, size_t nbs) {
    pp_q8x_block *xi = (pp_q8x_block *)pp_thread_scratch(PP_SCRATCH_Q8X_TILES, M * nbs * sizeof(pp_q8x_block));
    if (!xi) return NULL;
    for (size_t m = 0; m < M; m += 4) {
        size_t C = M - m < 4 ? M - m : 4;
        pp_q8x_block *dst = xi + m * nbs;
        for (size_t j = 0; j < nbs; j++)
            for (size_t c = 0; c < C; c++) dst[j * C + c] = x[(m + c) * nbx + b0 + j];
    }
    return xi;
}

/// One weight block . one input block (portable).
static float dot_block(int type, const uint8_t *w, const pp_q8x_block *x) {
    int isum = 0;
    float dw = pp_h2f(pp_rd16(w));
    switch (type) {
    case PP_GGML_Q8_0:
        for (int j = 0; j < 32; j++) isum += (int8_t)w[2 + j] * x->q[j];
        return dw * x->d * (float)isum;
    case PP_GGML_Q4_0:
        for (int j = 0; j < 16; j++) isum += (w[2 + j] & 0xF) * x->q[j] + (w[2 + j] >> 4) * x->q[j + 16];
        return dw * x->d * (float)isum - 8 * dw * x->s;
    default: // Q4_1
        for (int j = 0; j < 16; j++) isum += (w[4 + j] & 0xF) * x->q[j] + (w[4 + j] >> 4) * x->q[j + 16];
        return dw * x->d * (float)isum + pp_h2f(pp_rd16(w + 2)) * x->s;
    }
}

static void matmul_q_portable(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
                              size_t ldy, size_t M, size_t o0, size_t o1) {
    size_t nb = in / 32, bb = pp_q_block_bytes(type);
    for (size_t o = o0; o < o1; o++)
        for (size_t m = 0; m < M; m++) {
            const uint8_t *w = W + o * nb * bb;
            const pp_q8x_block *xm = x + m * nb;
            float s = 0;
            for (size_t b = 0; b < nb; b++) s += dot_block(type, w + b * bb, xm + b);
            y[m * ldy + o] = s;
        }
}

int pp_matmul_q_wide(int type, const void *W, size_t in, const float *x, size_t ldx, float *y,
                     size_t ldy, size_t M, size_t o0, size_t o1) {
    if (pp_q_block_bytes(type) == 0 || in % 32 != 0) return -1;
#if PP_X86
    if (pp_use_avx2() && in > 0 && pp_quant_wide_avx2(type, W, in, x, ldx, y, ldy, M, o0, o1)) return 0;
#endif
    (void)W; (void)x; (void)ldx; (void)y; (void)ldy; (void)M; (void)o0; (void)o1;
    return 1;
}

int pp_matmul_q(int type, const void *W, size_t in, const void *xq, float *y, size_t ldy, size_t M,
                size_t o0, size_t o1) {
    if (pp_q_block_bytes(type) == 0 || in % 32 != 0) return -1;
    const uint8_t *w = (const uint8_t *)W;
    const pp_q8x_block *x = (const pp_q8x_block *)xq;
    if (in == 0) { // no blocks: every level's loops assume at least one
        for (size_t m = 0; m < M; m++)
            for (size_t o = o0; o < o1; o++) y[m * ldy + o] = 0;
        return 0;
    }
#if PP_X86
    if (M >= PP_PACKED_MIN_TOKENS) { // prefill chunks: the integer GEMM of the widest level
        if (pp_use_avx512x()) { pp_quant_gemm_vnni(type, w, in, x, y, ldy, M, o0, o1); return 0; }
        if (pp_use_avx512()) { pp_quant_gemm_avx512(type, w, in, x, y, ldy, M, o0, o1); return 0; }
        if (pp_use_avx2()) { pp_quant_gemm_avx2(type, w, in, x, y, ldy, M, o0, o1); return 0; }
    }
    if (pp_use_avx512x()) { pp_quant_vnni(type, w, in, x, y, ldy, M, o0, o1); return 0; }
    if (pp_use_avx512()) { pp_quant_avx512(type, w, in, x, y, ldy, M, o0, o1); return 0; }
    if (pp_use_avx2()) { pp_quant_avx2(type, w, in, x, y, ldy, M, o0, o1); return 0; }
#endif
    matmul_q_portable(type, w, in, x, y, ldy, M, o0, o1);
    return 0;
}
