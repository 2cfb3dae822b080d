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

void pp_quantize_q8x_tiles(const float *x, size_t ldx, size_t n, size_t M, size_t m0, size_t m1, void *dst) {
    pp_q8x_block *out = (pp_q8x_block *)dst, row[PP_QKB];
    size_t nb = n / 32;
    for (size_t t = m0; t < m1; t++)
        for (size_t b0 = 0; b0 < nb; b0 += PP_QKB) {
            size_t nbs = nb - b0 < PP_QKB ? nb - b0 : PP_QKB;
            pp_quantize_q8x(x + t * ldx + b0 * 32, nbs * 32, row);
            for (size_t j = 0; j < nbs; j++) out[pp_q8x_tile_index(nb, M, t, b0 + j)] = row[j];
        }
}

#if PP_X86
/// Rows of quantised inputs (pp_quantize_q8x) in the GEMM order, in the calling thread's scratch;
/// NULL when it cannot grow.
static const pp_q8x_block *rows_to_tiles(const pp_q8x_block *x, size_t nb, size_t M) {
    pp_q8x_block *xt = (pp_q8x_block *)pp_thread_scratch(PP_SCRATCH_Q8X_TILES, M * nb * sizeof(pp_q8x_block));
    if (!xt)
        return NULL;
    for (size_t t = 0; t < M; t++)
        for (size_t b = 0; b < nb; b++) xt[pp_q8x_tile_index(nb, M, t, b)] = x[t * nb + b];
    return xt;
}
#endif

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

/// The portable product on inputs as rows (tiled = 0) or in the GEMM order (tiled = 1).
static void matmul_q_portable(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, int tiled, float *y,
                              size_t ldy, size_t M, size_t o0, size_t o1) {
    size_t nb = in / 32, bb = pp_q_block_bytes(type);
    for (size_t o = o0; o < o1; o++)
        for (size_t m = 0; m < M; m++) {
            const uint8_t *w = W + o * nb * bb;
            float s = 0;
            for (size_t b = 0; b < nb; b++)
                s += dot_block(type, w + b * bb, x + (tiled ? pp_q8x_tile_index(nb, M, m, b) : m * nb + b));
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

/// What pp_matmul_q and pp_matmul_q_tiles check first: -1 for a type these kernels do not take or
/// `in` not a multiple of 32; 1 when there are no input blocks (the outputs zeroed here: every
/// level's loops assume at least one); 0 to go on.
static int start_product(int type, size_t in, float *y, size_t ldy, size_t M, size_t o0, size_t o1) {
    if (pp_q_block_bytes(type) == 0 || in % 32 != 0) return -1;
    if (in > 0) return 0;
    for (size_t m = 0; m < M; m++)
        for (size_t o = o0; o < o1; o++) y[m * ldy + o] = 0;
    return 1;
}

/// The integer GEMM of the widest level on inputs in the GEMM order; 0 when this CPU has none.
static int gemm_tiles(int type, const uint8_t *w, size_t in, const pp_q8x_block *xt, float *y, size_t ldy,
                      size_t M, size_t o0, size_t o1) {
#if PP_X86
    if (pp_use_avx512x()) { pp_quant_gemm_vnni(type, w, in, xt, y, ldy, M, o0, o1); return 1; }
    if (pp_use_avx512()) { pp_quant_gemm_avx512(type, w, in, xt, y, ldy, M, o0, o1); return 1; }
    if (pp_use_avx2()) { pp_quant_gemm_avx2(type, w, in, xt, y, ldy, M, o0, o1); return 1; }
#endif
    (void)type; (void)w; (void)in; (void)xt; (void)y; (void)ldy; (void)M; (void)o0; (void)o1;
    return 0;
}

int pp_matmul_q_tiles(int type, const void *W, size_t in, const void *xt, float *y, size_t ldy, size_t M,
                      size_t o0, size_t o1) {
    int start = start_product(type, in, y, ldy, M, o0, o1);
    if (start) return start < 0 ? -1 : 0;
    const uint8_t *w = (const uint8_t *)W;
    const pp_q8x_block *x = (const pp_q8x_block *)xt;
    if (!gemm_tiles(type, w, in, x, y, ldy, M, o0, o1)) matmul_q_portable(type, w, in, x, 1, y, ldy, M, o0, o1);
    return 0;
}

int pp_matmul_q(int type, const void *W, size_t in, const void *xq, float *y, size_t ldy, size_t M,
                size_t o0, size_t o1) {
    int start = start_product(type, in, y, ldy, M, o0, o1);
    if (start) return start < 0 ? -1 : 0;
    const uint8_t *w = (const uint8_t *)W;
    const pp_q8x_block *x = (const pp_q8x_block *)xq;
#if PP_X86
    if (M >= PP_PACKED_MIN_TOKENS && pp_use_avx2()) { // prefill chunks: the integer GEMM, inputs rearranged
        const pp_q8x_block *xt = rows_to_tiles(x, in / 32, M);
        if (xt && gemm_tiles(type, w, in, xt, y, ldy, M, o0, o1)) return 0;
    }
    if (pp_use_avx512x()) { pp_quant_vnni(type, w, in, x, y, ldy, M, o0, o1); return 0; }
    if (pp_use_avx512()) { pp_quant_avx512(type, w, in, x, y, ldy, M, o0, o1); return 0; }
    if (pp_use_avx2()) { pp_quant_avx2(type, w, in, x, y, ldy, M, o0, o1); return 0; }
#endif
    matmul_q_portable(type, w, in, x, 0, y, ldy, M, o0, o1);
    return 0;
}
