// Decode attention, portable path: one key at a time, each K and V row widened once for all G
// heads, an online softmax per head.
#include "attention_internal.h"

void pp_attend_portable(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
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

void pp_scores_portable(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld,
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
