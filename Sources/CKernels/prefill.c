// Causal attention of a prefill chunk (pp_causal_attention in CKernels.h): one KV head and a
// block of query rows over the cache's binary16 keys and values. This file: the portable path and
// the dispatch; prefill_avx2.c: the blocked path.
//
// AVX2 (level 1 and up): flash-attention style with the packed GEMM of gemm_internal.h. The
// block's n x G query vectors are packed once; per block of keys, S = Q K^T (the keys' rows
// widened and transposed into panels of 16 keys), the causal mask and a running softmax per query
// vector on S's rows (8 lanes at a time), the probabilities packed, then O += P V (V's rows
// widened into panels of 16 dimensions). Each key and value row is widened once per block of
// rows rather than once per query row, and the two products run at the GEMM's rate. Portable:
// every row's G heads walk their keys with pp_attend_range.
#include "prefill_internal.h"
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

int pp_causal_attention(const float *q, size_t ldq, size_t n, size_t G, size_t d, const uint16_t *K,
                        const uint16_t *V, size_t ld, size_t p0, size_t blockKeys, float *out,
                        size_t ldo) {
    if (n == 0 || G == 0 || d == 0) return 0;
    if (blockKeys == 0) return -1;
    // No block is longer than the keys there are (scratch scales with the block: a caller's
    // "one block" of SIZE_MAX keys must not size it).
    if (blockKeys > p0 + n) blockKeys = p0 + n;
#if PP_X86
    if (pp_use_avx2() && pp_causal_avx2(q, ldq, n, G, d, K, V, ld, p0, blockKeys, out, ldo)) return 0;
#endif
    float *ml = malloc(2 * n * G * sizeof(float));
    if (!ml) return -1;
    causal_rows(q, ldq, n, G, d, K, V, ld, p0, blockKeys, out, ldo, ml, ml + n * G);
    free(ml);
    return 0;
}
