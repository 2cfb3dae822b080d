// Decode attention over binary16 K/V rows as partial softmaxes (see CKernels.h): the partial
// softmax algebra, and the dispatch to the best path the CPU (and pp_set_simd_level) allows:
// attention_avx512.c, attention_avx2.c, attention_portable.c.
#include "attention_internal.h"

#ifndef PP_GATHER_AHEAD
#define PP_GATHER_AHEAD 24
#endif

// Prefetch tuning of the gathered paths (attention_internal.h).
int pp_gather_ahead = PP_GATHER_AHEAD;
int pp_prefetch_stride = 64;

void pp_partial_init(size_t G, size_t d, float *m, float *l, float *acc) {
    for (size_t g = 0; g < G; g++) { m[g] = -INFINITY; l[g] = 0; }
    memset(acc, 0, G * d * sizeof(float));
}

void pp_partial_merge(size_t G, size_t d, float *m1, float *l1, float *acc1, const float *m2,
                      const float *l2, const float *acc2) {
    for (size_t g = 0; g < G; g++) {
        if (l2[g] == 0 && isinf(m2[g])) continue;
        if (l1[g] == 0 && isinf(m1[g])) {
            m1[g] = m2[g]; l1[g] = l2[g];
            memcpy(acc1 + g * d, acc2 + g * d, d * sizeof(float));
            continue;
        }
        float m = m1[g] > m2[g] ? m1[g] : m2[g];
        float a1 = expf(m1[g] - m), a2 = expf(m2[g] - m);
        l1[g] = l1[g] * a1 + l2[g] * a2;
        for (size_t i = 0; i < d; i++) acc1[g * d + i] = acc1[g * d + i] * a1 + acc2[g * d + i] * a2;
        m1[g] = m;
    }
}

void pp_partial_finish(size_t G, size_t d, const float *l, const float *acc, float *out) {
    for (size_t g = 0; g < G; g++) {
        float inv = l[g] > 0 ? 1.0f / l[g] : 0.0f;
        for (size_t i = 0; i < d; i++) out[g * d + i] = acc[g * d + i] * inv;
    }
}

void pp_set_gather_tuning(int aheadRows, int prefetchStrideBytes) {
#if PP_X86
    pp_gather_ahead = aheadRows < 0 ? 0 : aheadRows;
    pp_prefetch_stride = prefetchStrideBytes < 64 ? 64 : prefetchStrideBytes;
#else
    (void)aheadRows; (void)prefetchStrideBytes;
#endif
}


void pp_attend_range(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                     size_t ld, size_t r0, size_t r1, float *m, float *l, float *acc) {
    if (r1 <= r0 || G == 0) return;
#if PP_X86
    if (pp_use_avx512() && pp_attend_avx512_ok(G, d)) {
        pp_attend_avx512(q, G, d, K, V, ld, NULL, r0, r1 - r0, NULL, NULL, m, l, acc);
        return;
    }
    if (pp_use_avx2() && pp_attend_avx2_ok(d)) {
        pp_attend_avx2(q, G, d, K, V, ld, NULL, r0, r1 - r0, NULL, NULL, m, l, acc);
        return;
    }
#endif
    pp_attend_portable(q, G, d, K, V, ld, NULL, r0, r1 - r0, NULL, NULL, m, l, acc);
}

void pp_attend_gather(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                      size_t ld, const int32_t *idx, const uint8_t *headMask, size_t count,
                      const pp_sampling_correction *correction, float *m, float *l, float *acc) {
    if (count == 0 || G == 0) return;
#if PP_X86
    if (pp_use_avx512() && pp_attend_avx512_ok(G, d)) {
        pp_attend_avx512(q, G, d, K, V, ld, idx, 0, count, headMask, correction, m, l, acc);
        return;
    }
    if (pp_use_avx2() && pp_attend_avx2_ok(d)) {
        pp_attend_avx2(q, G, d, K, V, ld, idx, 0, count, headMask, correction, m, l, acc);
        return;
    }
#endif
    pp_attend_portable(q, G, d, K, V, ld, idx, 0, count, headMask, correction, m, l, acc);
}

void pp_scores_range(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld, size_t r0,
                     size_t r1, float *s, size_t ldS) {
#if PP_X86
    if (pp_use_avx512() && pp_attend_avx512_ok(G, d)) { pp_scores_avx512(q, G, d, K, ld, r0, r1, s, ldS); return; }
    if (pp_use_avx2() && pp_attend_avx2_ok(d)) { pp_scores_avx2(q, G, d, K, ld, r0, r1, s, ldS); return; }
#endif
    pp_scores_portable(q, G, d, K, ld, r0, r1, s, ldS);
}
