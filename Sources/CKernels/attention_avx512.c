// Decode attention, AVX-512 path (level 2; d a multiple of 16, d <= 256, G <= 8).
//
// The AVX-512 path works on blocks of 16 keys: (1) per key, the G dot products with its K row
// (read once, in address order, for all G heads) left as 16-lane partial sums, which a shuffle
// tree then reduces to one vector of 16 scores per head; (2) per head, a vector online-softmax
// update of the block: optional MagicPIG correction, masking, a running maximum that moves (and
// rescales) only when a score exceeds it, exponentials; (3) the block's V rows accumulated into
// the G outputs a few 16-float chunks at a time, the accumulators in registers (each V row read
// once for all G heads).
#include "attention_internal.h"

#if PP_X86
/// e^x for x <= 0 (lanes below -87 give 0): x = n ln2 + r, |r| <= ln2/2, e^r by its degree-6
/// Taylor polynomial (relative error < 2e-7), scaled by 2^n.
PP_AVX512 static inline __m512 exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}


/// e^x of one scalar x <= 0 (the vector routine above on one lane; no libm call, no vzeroupper).
PP_AVX512 static inline float exp_scalar512(float x) { return _mm512_cvtss_f32(exp512(_mm512_set1_ps(x))); }

/// Lane j of the result is the sum of the 16 lanes of v[slot(j)], slot(j) = 4 (j mod 4) + j / 4:
/// a tree of lane shuffles (45 operations for 16 sums, against about 8 for each single horizontal
/// sum). The scores below store key j's products in v[slot(j)] so the sums come out in key order.
PP_AVX512 static inline __m512 sum16x16(const __m512 *v) {
    __m512 w[8], x[4], y[2];
    for (int k = 0; k < 8; k++) // lanes 0-7: 8 partial sums of v[2k]; 8-15: of v[2k+1]
        w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xEE));
    for (int k = 0; k < 4; k++) // 128-bit lane i: 4 partial sums of v[4k+i]
        x[k] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], 0x88),
                             _mm512_shuffle_f32x4(w[2 * k], w[2 * k + 1], 0xDD));
    for (int k = 0; k < 2; k++) // lane i: 2 sums of v[8k+i], 2 of v[8k+4+i]
        y[k] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * k], x[2 * k + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                             _mm512_shuffle_ps(x[2 * k], x[2 * k + 1], _MM_SHUFFLE(3, 1, 3, 1)));
    // lane i: sums of v[i], v[4+i], v[8+i], v[12+i], i.e. element 4i+r is the sum of v[4r+i]
    return _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_ps(y[0], y[1], _MM_SHUFFLE(3, 1, 3, 1)));
}
static inline size_t sum_slot(size_t j) { return 4 * (j & 3) + (j >> 2); }

/// The kernel body, inlined into variants with compile-time G and d/16 (CH; 0 = read d) so that
/// the loops unroll and the accumulators live in registers.
PP_AVX512 static inline __attribute__((always_inline)) void
attend_avx512_core(const float *q, const size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                   size_t ld, const int32_t *idx, size_t r0, size_t count, const uint8_t *headMask,
                   const pp_sampling_correction *corr, float *m, float *l, float *acc,
                   const size_t CH) {
    const size_t chunks = CH ? CH : d / 16;
    const size_t rowBytes = d * 2;
    const size_t ahead = pp_gather_ahead; // rows prefetched ahead (gathers only)
    // 16-float chunks of the output accumulated together over a block: their G x CG <= 16
    // accumulators stay in registers.
    enum { CG_MAX = 16 };
    const size_t CG = (16 / G < chunks) ? 16 / G : chunks;
    __m512 part[PP_MAX_GROUP][16]; // per head, per key slot: the 16 unreduced lanes of q.k
    float pb[PP_MAX_GROUP][16] __attribute__((aligned(64))); // per head: the block's weights
    float alpha[PP_MAX_GROUP];
    __m512 lsum[PP_MAX_GROUP]; // per head: l as 16 lanes (reduced once at the end)
    for (size_t g = 0; g < G; g++) lsum[g] = _mm512_zextps128_ps512(_mm_set_ss(l[g]));
    const __m512 negInf = _mm512_set1_ps(-INFINITY);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);

    if (idx) // gathers: prefetch the first rows now (ranges stream: the hardware prefetches)
        prefetch_gathered(K, V, ld, idx, 0, ahead < count ? ahead : count, rowBytes);
    for (size_t j0 = 0; j0 < count; j0 += 16) {
        size_t bl = count - j0 < 16 ? count - j0 : 16;
        __mmask16 live = (__mmask16)(bl == 16 ? 0xFFFF : ((1u << bl) - 1));
        // Row numbers of the block.
        __m512i rows = idx ? _mm512_maskz_loadu_epi32(live, idx + j0)
                           : _mm512_add_epi32(_mm512_set1_epi32((int32_t)(r0 + j0)), lane);
        int32_t rowArr[16] __attribute__((aligned(64)));
        _mm512_store_si512((__m512i *)rowArr, rows);
        // (1) scores: one key at a time, its K row read in address order (scoring 4 keys at a
        // time to share the loads of q ran at the same speed in cache but 12-15% slower from
        // DRAM, interleaving 4 rows' lines), all G heads, products left unreduced in part[][]
        size_t j = 0;
        for (; j < bl; j++) {
            if (idx && j0 + j + ahead < count) // gathers: keep `ahead` rows in flight
                prefetch_gathered(K, V, ld, idx, j0 + j + ahead, j0 + j + ahead + 1, rowBytes);
            const uint16_t *kp = K + (size_t)rowArr[j] * ld;
            __m512 s[PP_MAX_GROUP];
            for (size_t g = 0; g < G; g++) s[g] = _mm512_setzero_ps();
            for (size_t c = 0; c < chunks; c++) {
                __m512 kv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(kp + 16 * c)));
                for (size_t g = 0; g < G; g++) s[g] = _mm512_fmadd_ps(_mm512_loadu_ps(q + g * d + 16 * c), kv, s[g]);
            }
            for (size_t g = 0; g < G; g++) part[g][sum_slot(j)] = s[g];
        }
        for (; j < 16; j++) // slots a short block leaves (their lanes are masked)
            for (size_t g = 0; g < G; g++) part[g][sum_slot(j)] = _mm512_setzero_ps();
        // (2) per-head online softmax over the block
        __m128i maskBytes = headMask ? _mm_maskz_loadu_epi8(live, headMask + j0) : _mm_setzero_si128();
        __m512 kn = _mm512_setzero_ps();
        if (corr) {
            __m512i rel = _mm512_sub_epi32(rows, _mm512_set1_epi32((int32_t)corr->normOffset));
            kn = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), live, rel, corr->keyNorm, 4);
        }
        int rescale = 0;
        for (size_t g = 0; g < G; g++) {
            __m512 s = sum16x16(part[g]);
            __mmask16 valid = live;
            if (headMask)
                valid &= _mm_test_epi8_mask(maskBytes, _mm_set1_epi8((char)(1u << g)));
            alpha[g] = 1.0f;
            if (valid == 0) {
                _mm512_store_ps(pb[g], _mm512_setzero_ps());
                continue;
            }
            if (corr) {
                __m512 den = _mm512_mul_ps(_mm512_set1_ps(corr->queryNorm[g]), kn);
                __m512 num = _mm512_sub_ps(s, _mm512_set1_ps(corr->queryDotMean[g]));
                __mmask16 pos = _mm512_cmp_ps_mask(den, _mm512_setzero_ps(), _CMP_GT_OQ);
                __m512 cosv = _mm512_maskz_div_ps(pos, num, den);
                float top = (float)(corr->lutSize - 1);
                __m512 x = _mm512_mul_ps(_mm512_add_ps(cosv, _mm512_set1_ps(1.0f)), _mm512_set1_ps(0.5f * top));
                x = _mm512_min_ps(_mm512_max_ps(x, _mm512_setzero_ps()), _mm512_set1_ps(top));
                __m512i i = _mm512_cvttps_epi32(x);
                i = _mm512_min_epi32(i, _mm512_set1_epi32(corr->lutSize - 2));
                __m512 f = _mm512_sub_ps(x, _mm512_cvtepi32_ps(i));
                __m512 a = _mm512_i32gather_ps(i, corr->lut, 4);
                __m512 b = _mm512_i32gather_ps(_mm512_add_epi32(i, _mm512_set1_epi32(1)), corr->lut, 4);
                s = _mm512_sub_ps(s, _mm512_fmadd_ps(f, _mm512_sub_ps(b, a), a));
            }
            s = _mm512_mask_blend_ps(valid, negInf, s);
            // The running maximum moves (and the state is rescaled) only when a score exceeds it.
            if (_mm512_cmp_ps_mask(s, _mm512_set1_ps(m[g]), _CMP_GT_OQ)) {
                float mOld = m[g], mNew = _mm512_reduce_max_ps(s);
                alpha[g] = isinf(mOld) ? 0.0f : exp_scalar512(mOld - mNew);
                lsum[g] = _mm512_mul_ps(lsum[g], _mm512_set1_ps(alpha[g]));
                m[g] = mNew;
                rescale = 1;
            }
            __m512 p = _mm512_maskz_mov_ps(valid, exp512(_mm512_sub_ps(s, _mm512_set1_ps(m[g]))));
            lsum[g] = _mm512_add_ps(lsum[g], p);
            _mm512_store_ps(pb[g], p);
        }
        // (3) V: CG chunks of all G outputs at a time, accumulated over the block's keys
        for (size_t c0 = 0; c0 < chunks; c0 += CG) {
            const size_t cg = chunks - c0 < CG ? chunks - c0 : CG;
            __m512 a[PP_MAX_GROUP][CG_MAX];
            for (size_t g = 0; g < G; g++)
                for (size_t k = 0; k < cg; k++) {
                    a[g][k] = _mm512_loadu_ps(acc + g * d + 16 * (c0 + k));
                    if (rescale) a[g][k] = _mm512_mul_ps(a[g][k], _mm512_set1_ps(alpha[g]));
                }
            for (size_t jv = 0; jv < bl; jv++) {
                const uint16_t *vp = V + (size_t)rowArr[jv] * ld + 16 * c0;
                __m512 vv[CG_MAX];
                for (size_t k = 0; k < cg; k++)
                    vv[k] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vp + 16 * k)));
                for (size_t g = 0; g < G; g++) {
                    __m512 pj = _mm512_set1_ps(pb[g][jv]);
                    for (size_t k = 0; k < cg; k++) a[g][k] = _mm512_fmadd_ps(pj, vv[k], a[g][k]);
                }
            }
            for (size_t g = 0; g < G; g++)
                for (size_t k = 0; k < cg; k++) _mm512_storeu_ps(acc + g * d + 16 * (c0 + k), a[g][k]);
        }
    }
    for (size_t g = 0; g < G; g++) l[g] = _mm512_reduce_add_ps(lsum[g]);
}


#define PP_ATTEND_VARIANT(GG, CH)                                                                  \
    PP_AVX512 static void attend_g##GG##_c##CH(                                                    \
        const float *q, size_t d, const uint16_t *K, const uint16_t *V, size_t ld,                 \
        const int32_t *idx, size_t r0, size_t count, const uint8_t *headMask,                      \
        const pp_sampling_correction *corr, float *m, float *l, float *acc) {                      \
        attend_avx512_core(q, GG, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc, CH);     \
    }
#define PP_ATTEND_VARIANTS(GG) PP_ATTEND_VARIANT(GG, 0) PP_ATTEND_VARIANT(GG, 4) PP_ATTEND_VARIANT(GG, 8)
PP_ATTEND_VARIANTS(1)
PP_ATTEND_VARIANTS(2)
PP_ATTEND_VARIANTS(3)
PP_ATTEND_VARIANTS(4)
PP_ATTEND_VARIANTS(5)
PP_ATTEND_VARIANTS(6)
PP_ATTEND_VARIANTS(7)
PP_ATTEND_VARIANTS(8)

static const attend_fn attend_table[8][3] = {
#define PP_ROW(GG) {attend_g##GG##_c0, attend_g##GG##_c4, attend_g##GG##_c8}
    PP_ROW(1), PP_ROW(2), PP_ROW(3), PP_ROW(4), PP_ROW(5), PP_ROW(6), PP_ROW(7), PP_ROW(8),
#undef PP_ROW
};

PP_AVX512 void pp_attend_avx512(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                                size_t ld, const int32_t *idx, size_t r0, size_t count,
                                const uint8_t *headMask, const pp_sampling_correction *corr, float *m,
                                float *l, float *acc) {
    attend_table[G - 1][head_dim_variant(d)](q, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc);
}

PP_AVX512 void pp_scores_avx512(const float *q, size_t G, size_t d, const uint16_t *K,
                                size_t ld, size_t r0, size_t r1, float *s, size_t ldS) {
    const size_t chunks = d / 16;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *kp = K + r * ld;
        __m512 a[PP_MAX_GROUP];
        for (size_t g = 0; g < G; g++) a[g] = _mm512_setzero_ps();
        for (size_t c = 0; c < chunks; c++) {
            __m512 kv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(kp + 16 * c)));
            for (size_t g = 0; g < G; g++) a[g] = _mm512_fmadd_ps(_mm512_loadu_ps(q + g * d + 16 * c), kv, a[g]);
        }
        for (size_t g = 0; g < G; g++) s[g * ldS + (r - r0)] = _mm512_reduce_add_ps(a[g]);
    }
}
#endif
