// SimHash tables and two-hit retrieval (MagicPIG).
#include "internal.h"


#define PP_MAX_HEAD_DIM_LSH 512

#if PP_X86
/// Bit j set when byte j of p[0..64) is non-zero.
PP_AVX512 static inline uint64_t collect_nonzero64(const uint8_t *p) {
    __m512i v = _mm512_loadu_si512((const void *)p);
    return (uint64_t)_mm512_test_epi8_mask(v, v);
}
/// The same with two 32-byte AVX2 compares.
PP_AVX2 static inline uint64_t collect_nonzero64_avx2(const uint8_t *p) {
    const __m256i zero = _mm256_setzero_si256();
    uint32_t lo = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)p), zero));
    uint32_t hi = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(p + 32)), zero));
    return ~((uint64_t)hi << 32 | lo);
}
#endif

void pp_sum_keys(const uint16_t *K, size_t ld, size_t d, size_t r0, size_t r1, double *sum) {
    float row[PP_MAX_HEAD_DIM_LSH];
    for (size_t r = r0; r < r1; r++) {
        pp_f16_to_f32(K + r * ld, row, d);
        for (size_t j = 0; j < d; j++) sum[j] += row[j];
    }
}

void pp_center_keys(const uint16_t *K, size_t ld, size_t d, size_t r0, size_t r1, const float *mu,
                    float *out, float *norm) {
    for (size_t r = r0; r < r1; r++) {
        float *o = out + (r - r0) * d;
        pp_f16_to_f32(K + r * ld, o, d);
        float ss = 0;
        for (size_t j = 0; j < d; j++) {
            o[j] -= mu[j];
            ss += o[j] * o[j];
        }
        norm[r - r0] = sqrtf(ss);
    }
}

#if PP_X86
/// Bits i0 ..< i1 - i0 of the sign string: bit j set when p[i0 + j] > 0 (i1 - i0 <= 64).
PP_AVX512 static inline uint64_t sign_word_avx512(const float *p, size_t i0, size_t i1) {
    uint64_t word = 0;
    for (size_t i = i0; i < i1; i += 16) {
        __mmask16 live = i1 - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (i1 - i)) - 1);
        __mmask16 pos = _mm512_mask_cmp_ps_mask(live, _mm512_maskz_loadu_ps(live, p + i), _mm512_setzero_ps(), _CMP_GT_OQ);
        word |= (uint64_t)pos << (i - i0);
    }
    return word;
}
PP_AVX2 static inline uint64_t sign_word_avx2(const float *p, size_t i0, size_t i1) {
    uint64_t word = 0;
    size_t i = i0;
    for (; i + 8 <= i1; i += 8) {
        int pos = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(p + i), _mm256_setzero_ps(), _CMP_GT_OQ));
        word |= (uint64_t)(unsigned)pos << (i - i0);
    }
    for (; i < i1; i++) word |= (uint64_t)(p[i] > 0) << (i - i0);
    return word;
}
#endif

void pp_pack_codes(const float *proj, size_t rows, size_t K, size_t L, uint16_t *codes,
                   size_t ldCodes) {
    const size_t n = K * L, words = (n + 63) / 64;
    uint64_t bits[(4096 * 16 + 63) / 64 + 1];
#if PP_X86
    const int level = pp_use_avx512() ? 2 : pp_use_avx2() ? 1 : 0;
#endif
    // Codes of up to 32 rows are made row by row into `group`, then transposed out as one run per
    // table: writing each row's L codes straight into L rows of `codes` (a stride of a whole span)
    // cost 4x the rest of the work here. A single row writes directly.
    enum { GROUP_CODES = 8192 };
    uint16_t group[GROUP_CODES];
    const int direct = rows == 1 || L > GROUP_CODES;
    const size_t R = direct ? 1 : (32 * L <= GROUP_CODES ? 32 : GROUP_CODES / L);
    for (size_t r0 = 0; r0 < rows; r0 += R) {
        const size_t rr = rows - r0 < R ? rows - r0 : R;
        for (size_t r = r0; r < r0 + rr; r++) {
            const float *p = proj + r * n;
            // Sign bits of all K L projections as one bit string (bit i: projection i > 0) ...
            for (size_t w = 0; w < words; w++) {
                size_t i0 = w * 64, i1 = i0 + 64 < n ? i0 + 64 : n;
#if PP_X86
                if (level == 2) { bits[w] = sign_word_avx512(p, i0, i1); continue; }
                if (level == 1) { bits[w] = sign_word_avx2(p, i0, i1); continue; }
#endif
                uint64_t word = 0;
                for (size_t i = i0; i < i1; i++) word |= (uint64_t)(p[i] > 0) << (i - i0);
                bits[w] = word;
            }
            bits[words] = 0;
            // ... then table t's code is bits [t K, t K + K).
            const uint64_t mask = ((uint64_t)1 << K) - 1;
            uint16_t *out = direct ? NULL : group + (r - r0) * L;
            for (size_t t = 0; t < L; t++) {
                size_t b = t * K, w = b >> 6, o = b & 63;
                uint64_t v = bits[w] >> o;
                if (o + K > 64) v |= bits[w + 1] << (64 - o);
                if (direct) codes[t * ldCodes + r] = (uint16_t)(v & mask);
                else out[t] = (uint16_t)(v & mask);
            }
        }
        if (!direct) // transpose the group out: one run of rr codes per table
            for (size_t t = 0; t < L; t++) {
                uint16_t *dst = codes + t * ldCodes + r0;
                for (size_t r = 0; r < rr; r++) dst[r] = group[r * L + t];
            }
    }
}

void pp_build_table(const uint16_t *codes, size_t n, size_t K, int32_t indexBase, int32_t *offsets,
                    int32_t *entries) {
    size_t buckets = (size_t)1 << K;
    memset(offsets, 0, (buckets + 1) * sizeof(int32_t));
    for (size_t i = 0; i < n; i++) offsets[codes[i] + 1]++;
    for (size_t b = 0; b < buckets; b++) offsets[b + 1] += offsets[b];
    // Scatter with a moving cursor per bucket; offsets[b] is restored afterwards.
    for (size_t i = 0; i < n; i++) entries[offsets[codes[i]]++] = indexBase + (int32_t)i;
    for (size_t b = buckets; b > 0; b--) offsets[b] = offsets[b - 1];
    offsets[0] = 0;
}

size_t pp_collect_mask(uint8_t *headMask, size_t n, int32_t indexBase, int32_t *idxOut,
                       uint8_t *maskOut) {
    size_t count = 0;
    size_t i = 0;
#if PP_X86
    const int wide = pp_use_avx512(), avx2 = pp_use_avx2();
    if (wide || avx2) {
        // Skip 64 zero bytes at a time (sampled keys are a few percent of the span).
        for (; i + 64 <= n; i += 64) {
            uint64_t nz = wide ? collect_nonzero64(headMask + i) : collect_nonzero64_avx2(headMask + i);
            while (nz) {
                size_t j = i + (size_t)__builtin_ctzll(nz);
                nz &= nz - 1;
                idxOut[count] = indexBase + (int32_t)j;
                maskOut[count++] = headMask[j];
                headMask[j] = 0;
            }
        }
    }
#endif
    for (; i < n; i++) {
        if (headMask[i]) {
            idxOut[count] = indexBase + (int32_t)i;
            maskOut[count++] = headMask[i];
            headMask[i] = 0;
        }
    }
    return count;
}

/// Bucket walks ahead of the current one whose entries are being prefetched; bucket bounds are
/// prefetched twice as far ahead. The walks are latency-bound: each bucket is a random spot in
/// a table of tens of megabytes, so the misses of many buckets must overlap.
#ifndef PP_RETRIEVE_AHEAD
#define PP_RETRIEVE_AHEAD 8
#endif

size_t pp_lsh_retrieve(const uint16_t *qcodes, size_t G, size_t K, size_t L, const int32_t *offsets,
                       const int32_t *entries, size_t ldEntries, size_t n, int32_t indexBase,
                       pp_retrieval_scratch *scratch, int32_t *idxOut, uint8_t *maskOut,
                       int32_t *sampledPerHead) {
    const size_t stride = ((size_t)1 << K) + 1, W = G * L, D = PP_RETRIEVE_AHEAD;
    for (size_t g = 0; g < G; g++) sampledPerHead[g] = 0;
    uint32_t *stamp = scratch->stamp;
    uint8_t *hm = scratch->headMask;
    // Walk w = g L + t is head g's bucket in table t; ring buffers of the bounds of walks ahead.
    const int32_t *start[PP_RETRIEVE_AHEAD + 1];
    int32_t len[PP_RETRIEVE_AHEAD + 1];
#define PP_BOUNDS(w) (offsets + ((w) % L) * stride + qcodes[w])
#define PP_LOCATE(w)                                                                               \
    do {                                                                                           \
        const int32_t *o = PP_BOUNDS(w);                                                           \
        const int32_t *st = entries + ((w) % L) * ldEntries + o[0];                                \
        start[(w) % (D + 1)] = st;                                                                 \
        len[(w) % (D + 1)] = o[1] - o[0];                                                          \
        /* at most 16 lines: huge buckets (small K) would only evict useful data */             \
        const int32_t lines = o[1] - o[0] < 256 ? o[1] - o[0] : 256;                               \
        for (int32_t x = 0; x < lines; x += 16) __builtin_prefetch(st + x);                        \
        if (lines > 0) __builtin_prefetch(st + lines - 1);                                         \
    } while (0)
    for (size_t w = 0; w < 2 * D && w < W; w++) __builtin_prefetch(PP_BOUNDS(w));
    for (size_t w = 0; w < D && w < W; w++) PP_LOCATE(w);
    uint32_t first = 0, second = 0;
    int32_t sampled = 0;
    uint8_t bit = 0;
    for (size_t w = 0; w < W; w++) {
        if (w + 2 * D < W) __builtin_prefetch(PP_BOUNDS(w + 2 * D));
        if (w + D < W) PP_LOCATE(w + D);
        if (w % L == 0) { // a new head: a new epoch
            if (w > 0) sampledPerHead[w / L - 1] = sampled;
            // stamp[i] = epoch << 1 | emitted: (epoch, seen once) or (epoch, emitted).
            if (scratch->epoch >= 0x7FFFFFFEu) {
                memset(stamp, 0, scratch->capacity * sizeof(uint32_t));
                scratch->epoch = 0;
            }
            uint32_t e = ++scratch->epoch;
            first = e << 1;
            second = first | 1;
            sampled = 0;
            bit = (uint8_t)(1u << (w / L));
        }
        const int32_t *bucket = start[w % (D + 1)];
        const int32_t count = len[w % (D + 1)];
        for (int32_t x = 0; x < count; x++) {
            size_t i = (size_t)(bucket[x] - indexBase);
            // Branch-free: seen once -> emit (second hit); unseen this epoch -> seen once;
            // already emitted -> unchanged.
            uint32_t v = stamp[i];
            uint32_t hit2 = v == first;
            stamp[i] = hit2 ? second : (v == second ? second : first);
            hm[i] |= (uint8_t)(bit & (uint8_t)(0u - hit2));
            sampled += (int32_t)hit2;
        }
    }
#undef PP_LOCATE
#undef PP_BOUNDS
    if (W > 0) sampledPerHead[G - 1] = sampled;
    return pp_collect_mask(hm, n, indexBase, idxOut, maskOut);
}
