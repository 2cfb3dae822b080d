// Linear layers on GGUF block-quantised weights (Q8_0, Q4_0, Q4_1) read as stored: the inputs
// are quantised to 8 bits per block of 32 (pp_quantize_q8x) and each weight block meets each
// input block in an integer dot product, scaled once per block pair:
//   Q8_0: w = q d                 -> dw dx sum(qw qx)
//   Q4_0: w = (q - 8) d           -> dw dx sum(qw qx) - 8 dw (dx sum qx)
//   Q4_1: w = q d + m             -> dw dx sum(qw qx) + m (dx sum qx)
// where dx sum qx is kept with each input block (its field s).
#include "gemm_internal.h"

size_t pp_q8x_row_bytes(size_t n) { return n / 32 * sizeof(pp_q8x_block); }

void pp_quantize_q8x(const float *x, size_t n, void *dst) {
    pp_q8x_block *out = (pp_q8x_block *)dst;
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

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/// Bytes of one weight block, 0 for types these kernels do not take.
static size_t block_bytes(int type) {
    switch (type) {
    case PP_GGML_Q8_0: return 34;
    case PP_GGML_Q4_0: return 18;
    case PP_GGML_Q4_1: return 20;
    default: return 0;
    }
}

/// One weight block . one input block (portable).
static float dot_block(int type, const uint8_t *w, const pp_q8x_block *x) {
    int isum = 0;
    float dw = pp_h2f(rd16(w));
    switch (type) {
    case PP_GGML_Q8_0:
        for (int j = 0; j < 32; j++) isum += (int8_t)w[2 + j] * x->q[j];
        return dw * x->d * (float)isum;
    case PP_GGML_Q4_0:
        for (int j = 0; j < 16; j++) isum += (w[2 + j] & 0xF) * x->q[j] + (w[2 + j] >> 4) * x->q[j + 16];
        return dw * x->d * (float)isum - 8 * dw * x->s;
    default: // Q4_1
        for (int j = 0; j < 16; j++) isum += (w[4 + j] & 0xF) * x->q[j] + (w[4 + j] >> 4) * x->q[j + 16];
        return dw * x->d * (float)isum + pp_h2f(rd16(w + 2)) * x->s;
    }
}

static void matmul_q_portable(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
                              size_t ldy, size_t M, size_t o0, size_t o1) {
    size_t nb = in / 32, bb = block_bytes(type);
    for (size_t o = o0; o < o1; o++)
        for (size_t m = 0; m < M; m++) {
            const uint8_t *w = W + o * nb * bb;
            const pp_q8x_block *xm = x + m * nb;
            float s = 0;
            for (size_t b = 0; b < nb; b++) s += dot_block(type, w + b * bb, xm + b);
            y[m * ldy + o] = s;
        }
}

#if PP_X86
/// The 32 4-bit weights of a block as bytes 0..15 in block order (low nibbles are weights
/// 0..15, high nibbles 16..31).
PP_AVX2 static inline __m256i unpack_nibbles(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p), mask = _mm_set1_epi8(0x0F);
    __m128i lo = _mm_and_si128(b, mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}
PP_AVX2 static inline float h2f_fast(const uint8_t *p) { return _cvtsh_ss(rd16(p)); }

// Tile of one weight row x C <= 4 tokens over weight blocks [b0, b1): per block pair one
// unsigned x signed byte multiply-add (vpmaddubsw; Q8_0 moves the weight's sign onto the input
// first), a widening add to 8 int32 lanes, and one FMA by dw dx into f32 accumulators. The
// Q4 offsets (-8 dw or m) times the input block's s go to scalar sums.
#ifndef PP_Q_PREFETCH
#define PP_Q_PREFETCH 2048
#endif
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
        } else {
            wq = unpack_nibbles(w + qoff);
            mw = type == PP_GGML_Q4_1 ? h2f_fast(w + 2) : -8 * dw;
        }
        for (int c = 0; c < C; c++) {
            const pp_q8x_block *xb = x + (m + c) * nb + b;
            __m256i xq = _mm256_loadu_si256((const __m256i *)xb->q);
            const float dx = xb->d, sx = xb->s;
            __m256i p16 = type == PP_GGML_Q8_0
                              ? _mm256_maddubs_epi16(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xq, wq))
                              : _mm256_maddubs_epi16(wq, xq);
            __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
            acc[c] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * dx), acc[c]);
            if (type != PP_GGML_Q8_0) off[c] += mw * sx;
        }
    }
    for (int c = 0; c < C; c++) {
        float s = pp_hsum8(acc[c]) + off[c];
        float *dst = y + (m + c) * ldy + o;
        *dst = b0 == 0 ? s : *dst + s;
    }
}

/// One weight row at a time (rows stream one after another; 2-row tiles measured 15-30% slower
/// here, their accumulators and offsets spill), in spans of 32 weight blocks (1024 inputs) that
/// stay in L1 while every group of 4 tokens passes over them (one or two tokens: rows whole).
#define PP_QKB 32
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
#endif

#if PP_X86
/// A panel of quantised rows: each row's span dequantised into src->rows, then transposed.
PP_AVX2 static void panel_q(const pp_panel_source *s, size_t o, int nr, size_t k0, size_t kn, float *P) {
    size_t bb = block_bytes(s->type);
    const uint8_t *W = (const uint8_t *)s->W;
    for (int r = 0; r < nr; r++)
        pp_dequantize(s->type, W + (o + r) * s->ldw + k0 / 32 * bb, s->rows + r * PP_GEMM_KP, kn);
    pp_pack_f32(s->rows, PP_GEMM_KP, 0, nr, 0, kn, P);
}
#endif

int pp_matmul_q_wide(int type, const void *W, size_t in, const float *x, size_t ldx, float *y,
                     size_t ldy, size_t M, size_t o0, size_t o1) {
    if (block_bytes(type) == 0 || in % 32 != 0) return -1;
#if PP_X86
    pp_panel_source src = {W, in / 32 * block_bytes(type), type, NULL};
    if (pp_use_avx2() && in > 0 && pp_packed_gemm(panel_q, src, in, x, ldx, y, ldy, M, o0, o1)) return 0;
#endif
    (void)W; (void)x; (void)ldx; (void)y; (void)ldy; (void)M; (void)o0; (void)o1;
    return 1;
}

int pp_matmul_q(int type, const void *W, size_t in, const void *xq, float *y, size_t ldy, size_t M,
                size_t o0, size_t o1) {
    if (block_bytes(type) == 0 || in % 32 != 0) return -1;
    const uint8_t *w = (const uint8_t *)W;
    const pp_q8x_block *x = (const pp_q8x_block *)xq;
#if PP_X86
    // The AVX2 tiles also serve AVX-512 CPUs (no separate AVX-512 path yet).
    if (pp_use_avx2()) {
        switch (type) {
        case PP_GGML_Q8_0: matmul_q8_0_avx2(w, in, x, y, ldy, M, o0, o1); return 0;
        case PP_GGML_Q4_0: matmul_q4_0_avx2(w, in, x, y, ldy, M, o0, o1); return 0;
        default: matmul_q4_1_avx2(w, in, x, y, ldy, M, o0, o1); return 0;
        }
    }
#endif
    matmul_q_portable(type, w, in, x, y, ldy, M, o0, o1);
    return 0;
}
