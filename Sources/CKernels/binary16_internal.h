// The lowest internal header: scalar IEEE binary16 <-> f32 conversions as static inline
// functions. It includes only the C library, so that every kernel file (and internal.h, which
// includes it) can widen and narrow single values without a call into another file; convert.c's
// public pp_f16_to_f32_scalar / pp_f32_to_f16_scalar and the array conversions' tails use these.
#ifndef PIGPLAN_CKERNELS_BINARY16_INTERNAL_H
#define PIGPLAN_CKERNELS_BINARY16_INTERNAL_H

#include <stdint.h>
#include <string.h>

/// binary16 bits -> float (exact: subnormals normalised, infinities and NaN payloads kept).
static inline float pp_h2f(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F;
    uint32_t man = h & 0x3FF;
    uint32_t bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { // subnormal: normalise
            int e = -1;
            do { man <<= 1; e++; } while ((man & 0x400) == 0);
            man &= 0x3FF;
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | (man << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// float -> binary16 bits, rounded to nearest even (overflow to infinity, NaN stays NaN).
static inline uint16_t pp_f2h(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) // inf or NaN
        return sign | 0x7C00 | (absx > 0x7F800000u ? 0x200 : 0);
    if (absx >= 0x477FF000u) // rounds to >= 65520: overflow
        return sign | 0x7C00;
    int32_t e = (int32_t)(absx >> 23) - 127 + 15;
    uint32_t man = absx & 0x7FFFFF;
    if (e <= 0) { // subnormal or zero in half
        if (e < -10) return sign;
        man |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++; // may carry into exponent: fine
    return sign | (uint16_t)half;
}

/// A little-endian 16-bit field of a GGUF block (scales, minimums).
static inline uint16_t pp_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

#endif
