// Causal attention of a prefill chunk, AVX2 + F16C + FMA path (level 1 and up): per block of keys,
// S = Q K^T and O += P V as packed GEMMs (gemm_internal.h) with a masked running softmax between
// (prefill.c describes the algorithm).
#include "gemm_internal.h"
#include "prefill_internal.h"
#include <stdlib.h>

#if PP_X86
/// P[j][0 ..< 16) = V[k0 + j][o ..< o + nr) widened, j < kn; zero beyond kn (up to kp) and nr.
PP_AVX2 static void pack_values(const uint16_t *V, size_t ld, size_t k0, size_t kn, size_t kp,
                                size_t o, int nr, float *P) {
    for (size_t j = 0; j < kp; j++) {
        float *dst = P + j * 16;
        const uint16_t *src = V + (k0 + j) * ld + o;
        if (j < kn && nr == 16) {
            _mm256_store_ps(dst, pp_ld8_f16(src));
            _mm256_store_ps(dst + 8, pp_ld8_f16(src + 8));
        } else {
            for (int c = 0; c < 16; c++) dst[c] = j < kn && c < nr ? pp_h2f(src[c]) : 0.0f;
        }
    }
}

/// Returns 0 when its scratch cannot be allocated (the caller then walks rows).
PP_AVX2 int pp_causal_avx2(const float *q, size_t ldq, size_t n, size_t G, size_t d, const uint16_t *K,
                           const uint16_t *V, size_t ld, size_t p0, size_t KB, float *out, size_t ldo) {
    size_t NQ = n * G, dp = (d + 7) / 8 * 8, groups = (NQ + 5) / 6, KBp = (KB + 7) / 8 * 8;
    size_t panel = (dp > KBp ? dp : KBp) * 16;
    size_t floats = panel + groups * 6 * dp + 8 + NQ * KBp + groups * 6 * KBp + NQ * d + NQ * d + 2 * NQ;
    float *P = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
    if (!P) return 0;
    float *Qx = P + panel, *S = Qx + groups * 6 * dp + 8 /* pack slack */, *Px = S + NQ * KBp, *O = Px + groups * 6 * KBp;
    float *Qc = O + NQ * d, *mx = Qc + NQ * d, *lx = mx + NQ;
    // Query vector i = r G + g, contiguous, then packed (elements: the d dimensions).
    for (size_t i = 0; i < NQ; i++) memcpy(Qc + i * d, q + (i / G) * ldq + (i % G) * d, d * sizeof(float));
    pp_pack_tokens(Qc, d, NQ, 0, d, dp, Qx);
    memset(O, 0, NQ * d * sizeof(float));
    for (size_t i = 0; i < NQ; i++) { mx[i] = -INFINITY; lx[i] = 0; }
    size_t end = p0 + n;
    for (size_t k0 = 0; k0 < end; k0 += KB) {
        size_t kn = end - k0 < KB ? end - k0 : KB, kp = (kn + 7) / 8 * 8;
        // S[i][j] = q_i . k_(k0 + j)
        for (size_t j0 = 0; j0 < kn; j0 += 16) {
            int nr = kn - j0 >= 16 ? 16 : (int)(kn - j0);
            pp_pack_f16(K, ld, k0 + j0, nr, 0, d, P); // key rows become the lanes of P[dim][16]
            pp_packed_panel(P, Qx, dp, NQ, S + j0, KBp, 1, nr);
        }
        // Causal mask and running softmax; the probabilities packed as the next product's tokens.
        for (size_t i = 0; i < NQ; i++) {
            size_t r = i / G, seen = p0 + r + 1 > k0 ? p0 + r + 1 - k0 : 0;
            size_t valid = seen < kn ? seen : kn;
            float *pi = Px + (i / 6) * 6 * kp + i % 6, *si = S + i * KBp;
            if (valid == 0) {
                for (size_t j = 0; j < kp; j++) pi[6 * j] = 0;
                continue;
            }
            float bm = -INFINITY;
            for (size_t j = 0; j < valid; j++) bm = si[j] > bm ? si[j] : bm;
            float mnew = mx[i] > bm ? mx[i] : bm;
            __m256 mv = _mm256_set1_ps(mnew), sum = _mm256_setzero_ps();
            size_t j = 0;
            for (; j + 8 <= valid; j += 8) {
                __m256 e = pp_exp256(_mm256_sub_ps(_mm256_loadu_ps(si + j), mv));
                sum = _mm256_add_ps(sum, e);
                _mm256_storeu_ps(si + j, e);
            }
            float tail = 0;
            for (; j < valid; j++) { si[j] = expf(si[j] - mnew); tail += si[j]; }
            for (j = 0; j < kp; j++) pi[6 * j] = j < valid ? si[j] : 0.0f;
            float alpha = isinf(mx[i]) ? 0.0f : expf(mx[i] - mnew);
            lx[i] = lx[i] * alpha + pp_hsum8(sum) + tail;
            mx[i] = mnew;
            if (alpha != 1.0f) {
                float *oi = O + i * d;
                for (size_t c = 0; c < d; c++) oi[c] *= alpha;
            }
        }
        // O[i] += sum_j P[i][j] v_(k0 + j), 16 dimensions per panel.
        for (size_t o = 0; o < d; o += 16) {
            int nr = d - o >= 16 ? 16 : (int)(d - o);
            pack_values(V, ld, k0, kn, kp, o, nr, P);
            pp_packed_panel(P, Px, kp, NQ, O + o, d, 0, nr);
        }
    }
    for (size_t i = 0; i < NQ; i++) {
        float inv = lx[i] > 0 ? 1.0f / lx[i] : 0.0f, *dst = out + (i / G) * ldo + (i % G) * d;
        for (size_t c = 0; c < d; c++) dst[c] = O[i * d + c] * inv;
    }
    free(P);
    return 1;
}
#endif
