// Driver of scripts/check-avx512-kernels: the linear-layer kernels at every level (0 portable, 1
// AVX2, 2 AVX-512, 3 AVX-512 VNNI + BF16; levels 2 and 3 emulated by SIMDe when the CPU lacks
// them) against a double-precision reference on the same weights and inputs. Shapes have ragged
// edges: odd block counts (a lone last block in the two-block zmm steps), rows not a multiple of
// the 4-row tiles, inputs not a multiple of 16 or 32, 1 to 9 tokens.
#include "CKernels.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    state ^= state << 13, state ^= state >> 7, state ^= state << 17;
    return state;
}
static double unit(void) { return (double)(next() >> 11) / 9007199254740992.0; }
static float gauss(void) { return (float)(sqrt(-2 * log(unit() + 1e-300)) * cos(6.283185307179586 * unit())); }
static uint16_t f2bf(float f) { uint32_t b; memcpy(&b, &f, 4); return (uint16_t)((b + 0x7FFF + (b >> 16 & 1)) >> 16); }
static double bf2d(uint16_t h) { uint32_t b = (uint32_t)h << 16; float f; memcpy(&f, &b, 4); return f; }

static int failures = 0;
static void report(const char *what, int level, double worst, double tol) {
    int ok = worst <= tol;
    failures += !ok;
    printf("  %-34s level %d: worst error %.3g of sum |w x| (tolerance %.3g) %s\n", what, level, worst, tol, ok ? "ok" : "FAILED");
}

/// Quantised weights (random blocks, every code value possible) against 8-bit inputs.
static double check_quant(int type, int level, size_t in, size_t rows, size_t M) {
    size_t bb = type == PP_GGML_Q8_0 ? 34 : (type == PP_GGML_Q4_0 ? 18 : 20), nb = in / 32;
    uint8_t *W = malloc(rows * nb * bb + 1);
    for (size_t i = 0; i < rows * nb * bb; i++) W[i] = (uint8_t)next();
    for (size_t b = 0; b < rows * nb; b++) { // sane scales (and Q4_1 minimums): binary16 of about 0.01
        uint16_t d = pp_f32_to_f16_scalar((float)(0.01 * (0.5 + unit())));
        memcpy(W + b * bb, &d, 2);
        if (type == PP_GGML_Q4_1) { uint16_t mn = pp_f32_to_f16_scalar((float)(-0.05 * unit())); memcpy(W + b * bb + 2, &mn, 2); }
    }
    float *x = malloc(M * in * sizeof(float) + 4), *y = malloc(M * rows * sizeof(float) + 4);
    for (size_t i = 0; i < M * in; i++) x[i] = gauss();
    pp_q8x_block *xq = malloc(M * nb * sizeof(pp_q8x_block) + 4);
    for (size_t m = 0; m < M; m++) pp_quantize_q8x(x + m * in, in, xq + m * nb);
    pp_set_simd_level(level);
    if (pp_matmul_q(type, W, in, xq, y, rows, M, 0, rows) != 0) { printf("pp_matmul_q refused\n"); failures++; }
    pp_set_simd_level(99);
    float *w = malloc(in * sizeof(float) + 4);
    double worst = 0;
    for (size_t o = 0; o < rows; o++) {
        pp_dequantize(type, W + o * nb * bb, w, in);
        for (size_t m = 0; m < M; m++) {
            double s = 0, a = 1e-30;
            for (size_t b = 0; b < nb; b++)
                for (int j = 0; j < 32; j++) {
                    double xv = (double)xq[m * nb + b].d * xq[m * nb + b].q[j];
                    s += (double)w[b * 32 + j] * xv;
                    a += fabs((double)w[b * 32 + j] * xv);
                }
            double e = fabs(y[m * rows + o] - s) / a;
            if (e > worst) worst = e;
        }
    }
    free(W); free(x); free(y); free(xq); free(w);
    return worst;
}

/// bf16 or f16 weights against f32 inputs.
static double check_16(int bf, int level, size_t in, size_t rows, size_t M) {
    uint16_t *W = malloc(rows * in * 2 + 2);
    float *x = malloc(M * in * sizeof(float) + 4), *y = malloc(M * rows * sizeof(float) + 4);
    for (size_t i = 0; i < rows * in; i++) { float g = 0.05f * gauss(); W[i] = bf ? f2bf(g) : pp_f32_to_f16_scalar(g); }
    for (size_t i = 0; i < M * in; i++) x[i] = gauss() * (i % 7 == 0 ? 30.0f : 1.0f);
    pp_set_simd_level(level);
    (bf ? pp_matmul_bf16 : pp_matmul_f16)(W, in, x, in, y, rows, M, 0, rows);
    pp_set_simd_level(99);
    double worst = 0;
    for (size_t o = 0; o < rows; o++)
        for (size_t m = 0; m < M; m++) {
            double s = 0, a = 1e-30;
            for (size_t i = 0; i < in; i++) {
                double wv = bf ? bf2d(W[o * in + i]) : pp_f16_to_f32_scalar(W[o * in + i]);
                s += wv * x[m * in + i];
                a += fabs(wv * x[m * in + i]);
            }
            double e = fabs(y[m * rows + o] - s) / a;
            if (e > worst) worst = e;
        }
    free(W); free(x); free(y);
    return worst;
}

int main(void) {
    int top = pp_simd_level_supported();
    printf("check-avx512-kernels: levels 0...%d (%s at the top)\n", top, pp_simd_level_name(top));
    static const size_t qshapes[][3] = {{32, 3, 1}, {64, 5, 3}, {3104, 6, 1}, {96, 5, 1}, {96, 7, 4}, {1024, 9, 5}, {2080, 4, 8}, {3104, 6, 2}, {4096, 5, 9},
                                         /* decode on Q4 rows 8 at a time, with a tail of rows */
                                         {1024, 17, 1}, {96, 16, 2}, {2080, 24, 3}, {3104, 9, 4},
                                         /* prefill chunks (the integer GEMM from 48 tokens): rows not a multiple of 8 */
                                         {96, 13, 48}, {1056, 16, 53}, {2080, 7, 64},
                                         /* token counts with 2 and 3 left after the groups of 4, over several spans */
                                         {2080, 9, 50}, {1088, 8, 51}};
    static const size_t fshapes[][3] = {{16, 3, 1}, {33, 5, 2}, {100, 7, 4}, {1030, 9, 5}, {64, 4, 9}, {4100, 6, 8},
                                         /* a padded row after larger calls: level 3 reuses its bf16 scratch */
                                         {40, 3, 2}};
    const char *names[] = {"Q8_0", "Q4_0", "Q4_1"};
    const int types[] = {PP_GGML_Q8_0, PP_GGML_Q4_0, PP_GGML_Q4_1};
    for (int level = 0; level <= top; level++) {
        for (int t = 0; t < 3; t++) {
            double worst = 0;
            for (size_t s = 0; s < sizeof qshapes / sizeof qshapes[0]; s++) {
                double e = check_quant(types[t], level, qshapes[s][0], qshapes[s][1], qshapes[s][2]);
                if (e > worst) worst = e;
            }
            char what[64];
            snprintf(what, sizeof what, "%s weights x 8-bit inputs", names[t]);
            report(what, level, worst, 1e-5);
        }
        for (int bf = 0; bf <= 1; bf++) {
            double worst = 0;
            for (size_t s = 0; s < sizeof fshapes / sizeof fshapes[0]; s++) {
                double e = check_16(bf, level, fshapes[s][0], fshapes[s][1], fshapes[s][2]);
                if (e > worst) worst = e;
            }
            // Level 3's bf16 path splits each input into two bf16 halves: about 2^-16 of sum |w x|.
            report(bf ? "bf16 weights x f32 inputs" : "f16 weights x f32 inputs", level, worst, bf && level >= 3 ? 3e-5 : 1e-5);
        }
    }
    printf("check-avx512-kernels: %s\n", failures ? "FAILED" : "every level within tolerance");
    return failures ? 1 : 0;
}
