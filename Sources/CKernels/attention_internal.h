// Shared by the attention kernel files: limits, the MagicPIG correction, prefetching, and the
// per-ISA entry points that attention.c dispatches to. Each path computes the same partial
// softmax (m, l, acc) over keys r0 ..< r0 + count (or the gathered rows idx[0 ..< count]).
#ifndef PIGPLAN_CKERNELS_ATTENTION_INTERNAL_H
#define PIGPLAN_CKERNELS_ATTENTION_INTERNAL_H

#include "internal.h"

#define PP_MAX_HEAD_DIM 512
#define PP_MAX_GROUP 8

static inline float lut_lookup(const pp_sampling_correction *c, float cosv) {
    float x = (cosv + 1.0f) * 0.5f * (float)(c->lutSize - 1);
    if (!(x > 0)) x = 0; // also NaN
    if (x > (float)(c->lutSize - 1)) x = (float)(c->lutSize - 1);
    int i = (int)x;
    if (i > c->lutSize - 2) i = c->lutSize - 2;
    float f = x - (float)i;
    return c->lut[i] + f * (c->lut[i + 1] - c->lut[i]);
}

static inline float correction_cos(const pp_sampling_correction *c, size_t g, float s, int64_t row) {
    float den = c->queryNorm[g] * c->keyNorm[row - c->normOffset];
    return den > 0 ? (s - c->queryDotMean[g]) / den : 0.0f;
}

/// attention_portable.c: any G and d <= PP_MAX_HEAD_DIM.
void pp_attend_portable(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V, size_t ld,
    const int32_t *idx, size_t r0, size_t count, const uint8_t *headMask, const pp_sampling_correction *corr,
    float *m, float *l, float *acc);
void pp_scores_portable(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld, size_t r0, size_t r1,
    float *s, size_t ldS);

#if PP_X86
/// attention_avx2.c (level 1): d a multiple of 8.
static inline int pp_attend_avx2_ok(size_t d) { return d % 8 == 0 && d <= PP_MAX_HEAD_DIM; }
PP_AVX2 void pp_attend_avx2(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V, size_t ld,
    const int32_t *idx, size_t r0, size_t count, const uint8_t *headMask, const pp_sampling_correction *corr,
    float *m, float *l, float *acc);
PP_AVX2 void pp_scores_avx2(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld, size_t r0, size_t r1,
    float *s, size_t ldS);

/// attention_avx512.c (level 2): d a multiple of 16 up to 256, G <= 8.
static inline int pp_attend_avx512_ok(size_t G, size_t d) { return d % 16 == 0 && d <= 256 && G <= PP_MAX_GROUP; }
PP_AVX512 void pp_attend_avx512(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V, size_t ld,
    const int32_t *idx, size_t r0, size_t count, const uint8_t *headMask, const pp_sampling_correction *corr,
    float *m, float *l, float *acc);
PP_AVX512 void pp_scores_avx512(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld, size_t r0, size_t r1,
    float *s, size_t ldS);

/// One kernel variant with compile-time G (the table's row) and head-dimension chunks.
typedef void (*attend_fn)(const float *, size_t, const uint16_t *, const uint16_t *, size_t,
                          const int32_t *, size_t, size_t, const uint8_t *,
                          const pp_sampling_correction *, float *, float *, float *);

// Gathers prefetch the rows `pp_gather_ahead` keys ahead (random rows defeat the hardware
// prefetchers); ranges leave it to the hardware (software prefetch slowed them here).
extern int pp_gather_ahead;
extern int pp_prefetch_stride;
static inline void prefetch_row(const uint16_t *p, size_t bytes) {
    for (size_t o = 0; o < bytes; o += (size_t)pp_prefetch_stride) _mm_prefetch((const char *)p + o, _MM_HINT_T0);
}
/// The K and V rows of gathered keys j0 ..< j1 (idx[j] their row numbers).
static inline void prefetch_gathered(const uint16_t *K, const uint16_t *V, size_t ld, const int32_t *idx,
                                     size_t j0, size_t j1, size_t rowBytes) {
    for (size_t j = j0; j < j1; j++) {
        prefetch_row(K + (size_t)idx[j] * ld, rowBytes);
        prefetch_row(V + (size_t)idx[j] * ld, rowBytes);
    }
}
/// Which compiled variant serves head dimension d: 1 for 64, 2 for 128, 0 (d read at run time).
static inline int head_dim_variant(size_t d) { return d == 64 ? 1 : (d == 128 ? 2 : 0); }
#endif

#endif
