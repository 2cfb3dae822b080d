// Causal attention of a prefill chunk (pp_causal_attention in CKernels.h): one KV head and a
// block of query rows over the cache's binary16 keys and values.
//
// AVX2 (level 1 and up): flash-attention style with the packed GEMM of gemm_internal.h. The
// block's n x G query vectors are packed once; per block of keys, S = Q K^T (the keys' rows
// widened and transposed into panels of 16 keys), the causal mask and a running softmax per query
// vector on S's rows (8 lanes at a time), the probabilities packed, then O += P V (V's rows
// widened into panels of 16 dimensions). Each key and value row is widened once per block of
// rows rather than once per query row, and the two products run at the GEMM's rate. Portable:
// every row's G heads walk their keys with pp_attend_range.
#include "gemm_internal.h"
#include <stdlib.h>

static void causal_rows(const float *q, size_t ldq, size_t n, size_t G, size_t d, const uint16_t *K,
                        const uint16_t *V, size_t ld, size_t p0, size_t blockKeys, float *out,
                        size_t ldo, float *m, float *l) {
    for (size_t r = 0; r < n; r++) pp_partial_init(G, d, m + r * G, l + r * G, out + r * ldo);
    size_t end = p0 + n;
    for (size_t k0 = 0; k0 < end; k0 += blockKeys) {
        size_t k1 = end - k0 < blockKeys ? end : k0 + blockKeys;
        // Row r sees keys up to its own position p0 + r.
        for (size_t r = k0 > p0 ? k0 - p0 : 0; r < n; r++) {
            size_t stop = p0 + r + 1 < k1 ? p0 + r + 1 : k1;
            pp_attend_range(q + r * ldq, G, d, K, V, ld, k0, stop, m + r * G, l + r * G, out + r * ldo);
        }
    }
    for (size_t r = 0; r < n; r++) pp_partial_finish(G, d, l + r * G, out + r * ldo, out + r * ldo);
}

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
PP_AVX2 static int causal_blocked(const float *q, size_t ldq, size_t n, size_t G, size_t d,
                                  const uint16_t *K, const uint16_t *V, size_t ld, size_t p0,
                                  size_t KB, float *out, size_t ldo) {
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

int pp_causal_attention(const float *q, size_t ldq, size_t n, size_t G, size_t d, const uint16_t *K,
                        const uint16_t *V, size_t ld, size_t p0, size_t blockKeys, float *out,
                        size_t ldo) {
    if (n == 0 || G == 0 || d == 0) return 0;
    if (blockKeys == 0) return -1;
    // No block is longer than the keys there are (scratch scales with the block: a caller's
    // "one block" of SIZE_MAX keys must not size it).
    if (blockKeys > p0 + n) blockKeys = p0 + n;
#if PP_X86
    if (pp_use_avx2() && causal_blocked(q, ldq, n, G, d, K, V, ld, p0, blockKeys, out, ldo)) return 0;
#endif
    float *ml = malloc(2 * n * G * sizeof(float));
    if (!ml) return -1;
    causal_rows(q, ldq, n, G, d, K, V, ld, p0, blockKeys, out, ldo, ml, ml + n * G);
    free(ml);
    return 0;
}
