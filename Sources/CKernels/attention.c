// Decode attention over binary16 K/V rows as partial softmaxes (see CKernels.h).
//
// The AVX-512 path works on blocks of 16 keys: (1) per key, the G dot products with its K row
// (read once, in address order, for all G heads) left as 16-lane partial sums, which a shuffle
// tree then reduces to one vector of 16 scores per head; (2) per head, a vector online-softmax
// update of the block: optional MagicPIG correction, masking, a running maximum that moves (and
// rescales) only when a score exceeds it, exponentials; (3) the block's V rows accumulated into
// the G outputs a few 16-float chunks at a time, the accumulators in registers (each V row read
// once for all G heads).
#include "internal.h"

#if PP_C_SOURCE_ACTIVE

#define PP_MAX_HEAD_DIM 512
#define PP_MAX_GROUP 8
#ifndef PP_GATHER_AHEAD
#define PP_GATHER_AHEAD 24
#endif

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

// ---------------------------------------------------------------------------------------------
// Portable path
// ---------------------------------------------------------------------------------------------
static void attend_scalar(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                          size_t ld, const int32_t *idx, size_t r0, size_t count,
                          const uint8_t *headMask, const pp_sampling_correction *corr, float *m,
                          float *l, float *acc) {
    float kr[PP_MAX_HEAD_DIM], vr[PP_MAX_HEAD_DIM];
    for (size_t j = 0; j < count; j++) {
        int64_t row = idx ? (int64_t)idx[j] : (int64_t)(r0 + j);
        const uint16_t *kp = K + (size_t)row * ld;
        for (size_t i = 0; i < d; i++) kr[i] = pp_h2f(kp[i]);
        int haveV = 0;
        for (size_t g = 0; g < G; g++) {
            if (headMask && !((headMask[j] >> g) & 1)) continue;
            const float *qg = q + g * d;
            float s = 0;
            for (size_t i = 0; i < d; i++) s += qg[i] * kr[i];
            if (corr) s -= lut_lookup(corr, correction_cos(corr, g, s, row));
            if (!haveV) {
                const uint16_t *vp = V + (size_t)row * ld;
                for (size_t i = 0; i < d; i++) vr[i] = pp_h2f(vp[i]);
                haveV = 1;
            }
            float *ag = acc + g * d;
            if (s > m[g]) {
                float scale = isinf(m[g]) ? 0.0f : expf(m[g] - s);
                l[g] *= scale;
                for (size_t i = 0; i < d; i++) ag[i] *= scale;
                m[g] = s;
            }
            float p = expf(s - m[g]);
            l[g] += p;
            for (size_t i = 0; i < d; i++) ag[i] += p * vr[i];
        }
    }
}

static void scores_scalar(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld,
                          size_t r0, size_t r1, float *s, size_t ldS) {
    float kr[PP_MAX_HEAD_DIM];
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *kp = K + r * ld;
        for (size_t i = 0; i < d; i++) kr[i] = pp_h2f(kp[i]);
        for (size_t g = 0; g < G; g++) {
            float a = 0;
            for (size_t i = 0; i < d; i++) a += q[g * d + i] * kr[i];
            s[g * ldS + (r - r0)] = a;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// AVX2 + F16C + FMA path (d a multiple of 8, d <= 512): the portable algorithm with its loops
// over the head dimension in 8-wide vectors (each K and V row still read once for all G heads).
// ---------------------------------------------------------------------------------------------
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

PP_AVX2 static void attend_avx2(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
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

PP_AVX2 static void scores_avx2(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld,
                                size_t r0, size_t r1, float *s, size_t ldS) {
    float kr[PP_MAX_HEAD_DIM];
    for (size_t r = r0; r < r1; r++) {
        row_f32_avx2(K + r * ld, d, kr);
        for (size_t g = 0; g < G; g++) s[g * ldS + (r - r0)] = dot_avx2(q + g * d, kr, d);
    }
}

static inline int avx2_ok(size_t d) { return d % 8 == 0 && d <= PP_MAX_HEAD_DIM; }

// Gathers prefetch the rows `pp_gather_ahead` keys ahead (random rows defeat the hardware
// prefetchers); ranges leave it to the hardware (software prefetch slowed them here).
static int pp_gather_ahead = PP_GATHER_AHEAD;
static int pp_prefetch_stride = 64;
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

/// e^x for x <= 0 (lanes below -87 give about 0), as exp512 below; AVX2 has no scalef, so 2^n is
/// built in the exponent bits (n >= -126 after the clamp, a normal float).
PP_AVX2 static inline __m256 exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/// Largest of the 8 lanes.
PP_AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/// Lane j of the result is the sum of the 8 lanes of v[j] (6 horizontal adds, 2 lane swaps).
PP_AVX2 static inline __m256 sum8x8(const __m256 *v) {
    __m256 a = _mm256_hadd_ps(v[0], v[1]), b = _mm256_hadd_ps(v[2], v[3]);
    __m256 c = _mm256_hadd_ps(v[4], v[5]), e = _mm256_hadd_ps(v[6], v[7]);
    __m256 ab = _mm256_hadd_ps(a, b), ce = _mm256_hadd_ps(c, e); // 128-bit lane i: half sums of v[0..3], v[4..7]
    return _mm256_add_ps(_mm256_permute2f128_ps(ab, ce, 0x20), _mm256_permute2f128_ps(ab, ce, 0x31));
}

/// The AVX-512 block algorithm (below) in 8 lanes, for G <= 8: blocks of 8 keys; per key the G
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
            __m256 s = sum8x8(part[g]);
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
                alpha[g] = isinf(mOld) ? 0.0f : _mm256_cvtss_f32(exp256(_mm256_set1_ps(mOld - mNew)));
                lsum[g] = _mm256_mul_ps(lsum[g], _mm256_set1_ps(alpha[g]));
                m[g] = mNew;
                rescale = 1;
            }
            __m256 p = _mm256_and_ps(exp256(_mm256_sub_ps(s, _mm256_set1_ps(m[g]))), vmask);
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

typedef void (*attend_fn)(const float *, size_t, const uint16_t *, const uint16_t *, size_t,
                          const int32_t *, size_t, size_t, const uint8_t *,
                          const pp_sampling_correction *, float *, float *, float *);

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

/// Level-1 attention: the block kernel for G <= 8, the per-key kernel above for larger groups.
static void attend_avx2_any(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                            size_t ld, const int32_t *idx, size_t r0, size_t count,
                            const uint8_t *headMask, const pp_sampling_correction *corr, float *m,
                            float *l, float *acc) {
    if (G > PP_MAX_GROUP) {
        attend_avx2(q, G, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc);
        return;
    }
    attend2_table[G - 1][head_dim_variant(d)](q, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc);
}
#endif

// ---------------------------------------------------------------------------------------------
// AVX-512 path (d a multiple of 16, d <= 256, G <= 8)
// ---------------------------------------------------------------------------------------------
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

static void attend_avx512(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                          size_t ld, const int32_t *idx, size_t r0, size_t count,
                          const uint8_t *headMask, const pp_sampling_correction *corr, float *m,
                          float *l, float *acc) {
    attend_table[G - 1][head_dim_variant(d)](q, d, K, V, ld, idx, r0, count, headMask, corr, m, l, acc);
}

PP_AVX512 static void scores_avx512(const float *q, size_t G, size_t d, const uint16_t *K,
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

void pp_set_gather_tuning(int aheadRows, int prefetchStrideBytes) {
#if PP_X86
    pp_gather_ahead = aheadRows < 0 ? 0 : aheadRows;
    pp_prefetch_stride = prefetchStrideBytes < 64 ? 64 : prefetchStrideBytes;
#else
    (void)aheadRows; (void)prefetchStrideBytes;
#endif
}

#if PP_X86
static int simd_ok(size_t G, size_t d) { return d % 16 == 0 && d <= 256 && G <= PP_MAX_GROUP; }
#endif

void pp_attend_range(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                     size_t ld, size_t r0, size_t r1, float *m, float *l, float *acc) {
    if (r1 <= r0 || G == 0) return;
#if PP_X86
    if (pp_use_avx512() && simd_ok(G, d)) {
        attend_avx512(q, G, d, K, V, ld, NULL, r0, r1 - r0, NULL, NULL, m, l, acc);
        return;
    }
    if (pp_use_avx2() && avx2_ok(d)) {
        attend_avx2_any(q, G, d, K, V, ld, NULL, r0, r1 - r0, NULL, NULL, m, l, acc);
        return;
    }
#endif
    attend_scalar(q, G, d, K, V, ld, NULL, r0, r1 - r0, NULL, NULL, m, l, acc);
}

void pp_attend_gather(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                      size_t ld, const int32_t *idx, const uint8_t *headMask, size_t count,
                      const pp_sampling_correction *correction, float *m, float *l, float *acc) {
    if (count == 0 || G == 0) return;
#if PP_X86
    if (pp_use_avx512() && simd_ok(G, d)) {
        attend_avx512(q, G, d, K, V, ld, idx, 0, count, headMask, correction, m, l, acc);
        return;
    }
    if (pp_use_avx2() && avx2_ok(d)) {
        attend_avx2_any(q, G, d, K, V, ld, idx, 0, count, headMask, correction, m, l, acc);
        return;
    }
#endif
    attend_scalar(q, G, d, K, V, ld, idx, 0, count, headMask, correction, m, l, acc);
}

void pp_scores_range(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld, size_t r0,
                     size_t r1, float *s, size_t ldS) {
#if PP_X86
    if (pp_use_avx512() && simd_ok(G, d)) { scores_avx512(q, G, d, K, ld, r0, r1, s, ldS); return; }
    if (pp_use_avx2() && avx2_ok(d)) { scores_avx2(q, G, d, K, ld, r0, r1, s, ldS); return; }
#endif
    scores_scalar(q, G, d, K, ld, r0, r1, s, ldS);
}

// ---- top-k selection: quickselect on indices, order (value desc, index asc) ----
static inline int before(const float *s, int32_t a, int32_t b) {
    return s[a] > s[b] || (s[a] == s[b] && a < b);
}

size_t pp_select_top(const float *s, size_t n, size_t k, int32_t *work, int32_t *out) {
    if (k > n) k = n;
    if (k == 0) return 0;
    for (size_t i = 0; i < n; i++) work[i] = (int32_t)i;
    size_t lo = 0, hi = n; // the k-th boundary lies in [lo, hi)
    while (hi - lo > 1) {
        // median of three pivot
        size_t mid = lo + (hi - lo) / 2;
        int32_t a = work[lo], b = work[mid], c = work[hi - 1];
        int32_t piv = before(s, a, b) ? (before(s, b, c) ? b : (before(s, a, c) ? c : a))
                                      : (before(s, a, c) ? a : (before(s, b, c) ? c : b));
        // three-way partition: [lo, lt) before pivot, [lt, gt) == pivot, [gt, hi) after
        size_t lt = lo, i = lo, gt = hi;
        while (i < gt) {
            if (before(s, work[i], piv)) { int32_t t = work[lt]; work[lt] = work[i]; work[i] = t; lt++; i++; }
            else if (work[i] == piv) i++;
            else { gt--; int32_t t = work[gt]; work[gt] = work[i]; work[i] = t; }
        }
        if (k <= lt) hi = lt;
        else if (k <= gt) break;
        else lo = gt;
    }
    memcpy(out, work, k * sizeof(int32_t));
    return k;
}

#endif // PP_C_SOURCE_ACTIVE
