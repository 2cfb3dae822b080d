// Shared by the prefill attention files: the level-1 entry point that prefill.c dispatches to.
#ifndef PIGPLAN_CKERNELS_PREFILL_INTERNAL_H
#define PIGPLAN_CKERNELS_PREFILL_INTERNAL_H

#include "internal.h"

#if PP_X86
/// prefill_avx2.c (level 1 and up): pp_causal_attention's arguments, blockKeys >= 1 and at most
/// the keys there are. Returns 0 when its scratch cannot be allocated (the caller then walks
/// rows).
PP_AVX2 int pp_causal_avx2(const float *q, size_t ldq, size_t n, size_t G, size_t d, const uint16_t *K,
    const uint16_t *V, size_t ld, size_t p0, size_t KB, float *out, size_t ldo);
#endif

#endif
