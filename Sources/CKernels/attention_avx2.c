// Decode attention, AVX2 + F16C + FMA path (level 1; d a multiple of 8, d <= 512): a per-key
// kernel for any G, and for G <= 8 the block algorithm of attention_avx512.c in 8 lanes.
#include "attention_internal.h"

#if PP_X86
PP_AVX2 static inline void row_f32_avx2(const uint16_t *p, size_t d, float *out) {
    for (size_t i = 0; i < d; i += 8) _mm256_storeu_ps(out + i, pp_ld8_f16(p + i));
}

PP_AVX2 static inline float dot_avx2(const float *a, const float *b, size_t d) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= d; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i < d; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    return pp_hsum8(_mm256_add_ps(s0, s1));
}

PP_AVX2 static void attend_avx2_per_key(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                                        size_t ld, const int32_t *idx, size_t r0, size_t count,
                                        const uint8_t *headMask, const pp_sampling_correction *corr, float *m,
                                        float *l, float *acc) {
    float kr[PP_MAX_HEAD_DIM], vr[PP_MAX_HEAD_DIM];
    for (size_t j = 0; j < count; j++) {
        int64_t row = idx ? (int64_t)idx[j] : (int64_t)(r0 + j);
        row_f32_avx2(K + (size_t)row * ld, d, kr);
        int haveV = 0;
        for (size_t g = 0; g < G; g++) {
            if (headMask && !((headMask[j] >> g) & 1)) continue;
            float s = dot_avx2(q + g * d, kr, d);
            if (corr) s -= lut_lookup(corr, correction_cos(corr, g, s, row));
            if (!haveV) { row_f32_avx2(V + (size_t)row * ld, d, vr); haveV = 1; }
            float *ag = acc + g * d;
            if (s > m[g]) {
                __m256 scale = _mm256_set1_ps(isinf(m[g]) ? 0.0f : expf(m[g] - s));
                l[g] *= _mm256_cvtss_f32(scale);
                for (size_t i = 0; i < d; i += 8) _mm256_storeu_ps(ag + i, _mm256_mul_ps(_mm256_loadu_ps(ag + i), scale));
                m[g] = s;
            }
            float p = expf(s - m[g]);
            l[g] += p;
            __m256 pv = _mm256_set1_ps(p);
            for (size_t i = 0; i < d; i += 8)
                _mm256_storeu_ps(ag + i, _mm256_fmadd_ps(pv, _mm256_loadu_ps(vr + i), _mm256_loadu_ps(ag + i)));
        }
    }
}

PP_AVX2 void pp_scores_avx2(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld,
                            size_t r0, size_t r1, float *s, size_t ldS) {
    float kr[PP_MAX_HEAD_DIM];
    for (size_t r = r0; r < r1; r++) {
        row_f32_avx2(K + r * ld, d, kr);
        for (size_t g = 0; g < G; g++) s[g * ldS + (r - r0)] = dot_avx2(q + g * d, kr, d);
    }
}

/// Largest of the 8 lanes.
PP_AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// The AVX-512 block algorithm (attention_avx512.c) in 8 lanes, for G <= 8: blocks of 8 keys; per key the G
/// dot products left as 8-lane partial sums, reduced per head by sum8x8; a vector online softmax
/// per head whose running maximum moves only when a score exceeds it; the block's V rows
/// accumulated CG 8-float chunks at a time with G x CG <= 8 accumulators in registers. Inlined
/// into variants with compile-time G and d/8 (CH; 0 = read d).
PP_AVX2 static inline __attribute__((always_inline)) void
attend_avx2_block_core(const float *q, const size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                       size_t ld, const int32_t *idx, size_t r0, size_t count, const uint8_t *headMask,
                       const pp_sampling_correction *corr, float *m, float *l, float *acc,
                       const size_t CH) {
    const size_t chunks = CH ? CH : d / 8;
    const size_t CG = 8 / G < chunks ? 8 / G : chunks;
    enum { CG_MAX = 8 };
    __m256 part[PP_MAX_GROUP][8];
    float pb[PP_MAX_GROUP][8] __attribute__((aligned(32)));
    float alpha[PP_MAX_GROUP];
    __m256 lsum[PP_MAX_GROUP];
    for (size_t g = 0; g < G; g++) lsum[g] = _mm256_setr_ps(l[g], 0, 0, 0, 0, 0, 0, 0);
    const __m256i bitsel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    const size_t rowBytes = d * 2, ahead = pp_gather_ahead;
    if (idx) prefetch_gathered(K, V, ld, idx, 0, ahead < count ? ahead : count, rowBytes); // gathers: the first rows now
    for (size_t j0 = 0; j0 < count; j0 += 8) {
        const size_t bl = count - j0 < 8 ? count - j0 : 8;
        const unsigned live = (1u << bl) - 1;
        int32_t rowArr[8] __attribute__((aligned(32)));
        for (size_t j = 0; j < 8; j++) {
            size_t jj = j < bl ? j : bl - 1; // past the end: repeat the last row (masked)
            rowArr[j] = idx ? idx[j0 + jj] : (int32_t)(r0 + j0 + jj);
        }
        // (1) scores
        size_t j = 0;
        for (; j < bl; j++) {
            if (idx && j0 + j + ahead < count) // gathers: keep `ahead` rows in flight
                prefetch_gathered(K, V, ld, idx, j0 + j + ahead, j0 + j + ahead + 1, rowBytes);
            const uint16_t *kp = K + (size_t)rowArr[j] * ld;
            __m256 s[PP_MAX_GROUP];
            for (size_t g = 0; g < G; g++) s[g] = _mm256_setzero_ps();
            for (size_t c = 0; c < chunks; c++) {
                __m256 kv = pp_ld8_f16(kp + 8 * c);
                for (size_t g = 0; g < G; g++) s[g] = _mm256_fmadd_ps(_mm256_loadu_ps(q + g * d + 8 * c), kv, s[g]);
            }
            for (size_t g = 0; g < G; g++) part[g][j] = s[g];
        }
        for (; j < 8; j++)
            for (size_t g = 0; g < G; g++) part[g][j] = _mm256_setzero_ps();
        // (2) per-head online softmax over the block
        __m256 kn = _mm256_setzero_ps();
        if (corr) {
            __m256i rel = _mm256_sub_epi32(_mm256_load_si256((const __m256i *)rowArr),
                                           _mm256_set1_epi32((int32_t)corr->normOffset));
            __m256 liveMask = _mm256_castsi256_ps(_mm256_cmpeq_epi32(
                _mm256_and_si256(_mm256_set1_epi32((int)live), bitsel), bitsel));
            kn = _mm256_mask_i32gather_ps(_mm256_setzero_ps(), corr->keyNorm, rel, liveMask, 4);
        }
        int rescale = 0;
        for (size_t g = 0; g < G; g++) {
            __m256 s = pp_sum8x8(part[g]);
            unsigned valid = live;
            if (headMask) {
                unsigned bits = 0;
                if (bl == 8) { // the 8 mask bytes at once: byte j has bit g -> bit j
                    __m128i hb = _mm_set1_epi8((char)(1u << g));
                    __m128i mb = _mm_loadl_epi64((const __m128i *)(headMask + j0));
                    bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_and_si128(mb, hb), hb)) & 0xFF;
                } else {
                    for (size_t jj = 0; jj < bl; jj++) bits |= (unsigned)((headMask[j0 + jj] >> g) & 1) << jj;
                }
                valid &= bits;
            }
            alpha[g] = 1.0f;
            if (valid == 0) {
                _mm256_store_ps(pb[g], _mm256_setzero_ps());
                continue;
            }
            if (corr) {
                __m256 den = _mm256_mul_ps(_mm256_set1_ps(corr->queryNorm[g]), kn);
                __m256 num = _mm256_sub_ps(s, _mm256_set1_ps(corr->queryDotMean[g]));
                __m256 pos = _mm256_cmp_ps(den, _mm256_setzero_ps(), _CMP_GT_OQ);
                __m256 cosv = _mm256_and_ps(_mm256_div_ps(num, den), pos);
                float top = (float)(corr->lutSize - 1);
                __m256 x = _mm256_mul_ps(_mm256_add_ps(cosv, _mm256_set1_ps(1.0f)), _mm256_set1_ps(0.5f * top));
                x = _mm256_min_ps(_mm256_max_ps(x, _mm256_setzero_ps()), _mm256_set1_ps(top));
                __m256i i = _mm256_cvttps_epi32(x);
                i = _mm256_min_epi32(i, _mm256_set1_epi32(corr->lutSize - 2));
                __m256 f = _mm256_sub_ps(x, _mm256_cvtepi32_ps(i));
                __m256 lo = _mm256_i32gather_ps(corr->lut, i, 4);
                __m256 hi = _mm256_i32gather_ps(corr->lut, _mm256_add_epi32(i, _mm256_set1_epi32(1)), 4);
                s = _mm256_sub_ps(s, _mm256_fmadd_ps(f, _mm256_sub_ps(hi, lo), lo));
            }
            __m256 vmask = _mm256_castsi256_ps(_mm256_cmpeq_epi32(
                _mm256_and_si256(_mm256_set1_epi32((int)valid), bitsel), bitsel));
            s = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), s, vmask);
            if (_mm256_movemask_ps(_mm256_cmp_ps(s, _mm256_set1_ps(m[g]), _CMP_GT_OQ))) {
                float mOld = m[g], mNew = hmax8(s);
                alpha[g] = isinf(mOld) ? 0.0f : _mm256_cvtss_f32(pp_exp256(_mm256_set1_ps(mOld - mNew)));
                lsum[g] = _mm256_mul_ps(lsum[g], _mm256_set1_ps(alpha[g]));
                m[g] = mNew;
                rescale = 1;
            }
            __m256 p = _mm256_and_ps(pp_exp256(_mm256_sub_ps(s, _mm256_set1_ps(m[g]))), vmask);
            lsum[g] = _mm256_add_ps(lsum[g], p);
            _mm256_store_ps(pb[g], p);
        }
        // (3) V: CG chunks of all G outputs at a time, accumulated over the block's keys
        for (size_t c0 = 0; c0 < chunks; c0 += CG) {
            const size_t cg = chunks - c0 < CG ? chunks - c0 : CG;
            __m256 a[PP_MAX_GROUP][CG_MAX];
            for (size_t g = 0; g < G; g++)
                for (size_t k = 0; k < cg; k++) {
                    a[g][k] = _mm256_loadu_ps(acc + g * d + 8 * (c0 + k));
                    if (rescale) a[g][k] = _mm256_mul_ps(a[g][k], _mm256_set1_ps(alpha[g]));
                }
            for (size_t jv = 0; jv < bl; jv++) {
                const uint16_t *vp = V + (size_t)rowArr[jv] * ld + 8 * c0;
                __m256 vv[CG_MAX];
                for (size_t k = 0; k < cg; k++) vv[k] = pp_ld8_f16(vp + 8 * k);
                for (size_t g = 0; g < G; g++) {
                    __m256 pj = _mm256_broadcast_ss(&pb[g][jv]);
                    for (size_t k = 0; k < cg; k++) a[g][k] = _mm256_fmadd_ps(pj, vv[k], a[g][k]);
                }
            }
            for (size_t g = 0; g < G; g++)
                for (size_t k = 0; k < cg; k++) _mm256_storeu_ps(acc + g * d + 8 * (c0 + k), a[g][k]);
        }
    }
    for (size_t g = 0; g < G; g++) l[g] = pp_hsum8(lsum[g]);
}

#define PP_AVX2_VARIANT(GG, CH)                                                                    \
    PP_AVX2 static void attend2_g##GG##_c##CH(                                                     \
        const float *q, size_t d, const uint16_t *K, const uint16_t *V, size_t ld,                 \
        const int32_t *idx, size_t r0, size_t count, const uint8_t *headMask,                      \
        const pp_sampling_correction *corr, float *m, float *l, float *acc) {                      \
        attend_avx2_block_core(q, GG, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc, CH); \
    }
#define PP_AVX2_VARIANTS(GG) PP_AVX2_VARIANT(GG, 0) PP_AVX2_VARIANT(GG, 8) PP_AVX2_VARIANT(GG, 16)
PP_AVX2_VARIANTS(1)
PP_AVX2_VARIANTS(2)
PP_AVX2_VARIANTS(3)
PP_AVX2_VARIANTS(4)
PP_AVX2_VARIANTS(5)
PP_AVX2_VARIANTS(6)
PP_AVX2_VARIANTS(7)
PP_AVX2_VARIANTS(8)

static const attend_fn attend2_table[8][3] = {
#define PP_ROW(GG) {attend2_g##GG##_c0, attend2_g##GG##_c8, attend2_g##GG##_c16}
    PP_ROW(1), PP_ROW(2), PP_ROW(3), PP_ROW(4), PP_ROW(5), PP_ROW(6), PP_ROW(7), PP_ROW(8),
#undef PP_ROW
};

/// Level-1 attention: the block kernel for G <= 8, the per-key kernel for larger groups.
PP_AVX2 void pp_attend_avx2(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                            size_t ld, const int32_t *idx, size_t r0, size_t count,
                            const uint8_t *headMask, const pp_sampling_correction *corr, float *m,
                            float *l, float *acc) {
    if (G > PP_MAX_GROUP) {
        attend_avx2_per_key(q, G, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc);
        return;
    }
    attend2_table[G - 1][head_dim_variant(d)](q, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc);
}
#endif
