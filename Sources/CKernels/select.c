// Top-k selection for the oracle TopK baseline (see CKernels.h).
#include "internal.h"

// Quickselect on indices, ordered by (value descending, index ascending).
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
