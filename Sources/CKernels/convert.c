// binary16 array conversions (AVX-512 and AVX2 + F16C paths, scalar tails) and GGUF
// dequantisation (plain C).
#include "internal.h"

// The public scalar conversions are the inline ones of binary16_internal.h.
float pp_f16_to_f32_scalar(uint16_t h) { return pp_h2f(h); }
uint16_t pp_f32_to_f16_scalar(float f) { return pp_f2h(f); }

#if PP_X86
PP_AVX512 static void h2f_avx512(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    for (; i < n; i++) dst[i] = pp_h2f(src[i]);
}
PP_AVX512 static void f2h_avx512(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = pp_f2h(src[i]);
}
PP_AVX2 static void h2f_avx2(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, pp_ld8_f16(src + i));
    for (; i < n; i++) dst[i] = pp_h2f(src[i]);
}
PP_AVX2 static void f2h_avx2(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) dst[i] = pp_f2h(src[i]);
}
#endif

void pp_f16_to_f32(const uint16_t *src, float *dst, size_t n) {
#if PP_X86
    if (pp_use_avx512()) { h2f_avx512(src, dst, n); return; }
    if (pp_use_avx2()) { h2f_avx2(src, dst, n); return; }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = pp_h2f(src[i]);
}

void pp_f32_to_f16(const float *src, uint16_t *dst, size_t n) {
#if PP_X86
    if (pp_use_avx512()) { f2h_avx512(src, dst, n); return; }
    if (pp_use_avx2()) { f2h_avx2(src, dst, n); return; }
#endif
    for (size_t i = 0; i < n; i++) dst[i] = pp_f2h(src[i]);
}

// ---- GGUF block formats (per 32-element block) ----
//   Q4_0: f16 scale d, 16 bytes of nibbles; x = (nibble - 8) * d
//   Q4_1: f16 scale d, f16 minimum m, 16 bytes of nibbles; x = nibble * d + m
//   Q8_0: f16 scale d, 32 int8; x = q * d
// Nibble layout: byte j holds element j (low nibble) and element j + 16 (high nibble).

size_t pp_ggml_block_elements(int type) {
    switch (type) {
    case PP_GGML_F32: case PP_GGML_F16: case PP_GGML_BF16: return 1;
    case PP_GGML_Q4_0: case PP_GGML_Q4_1: case PP_GGML_Q8_0: return 32;
    default: return 0;
    }
}

size_t pp_ggml_block_bytes(int type) {
    switch (type) {
    case PP_GGML_F32: return 4;
    case PP_GGML_F16: case PP_GGML_BF16: return 2;
    case PP_GGML_Q4_0: return 18;
    case PP_GGML_Q4_1: return 20;
    case PP_GGML_Q8_0: return 34;
    default: return 0;
    }
}

int pp_dequantize(int type, const void *src, float *dst, size_t n) {
    size_t be = pp_ggml_block_elements(type);
    if (be == 0 || n % be != 0) return -1;
    const uint8_t *p = (const uint8_t *)src;
    size_t blocks = n / be;
    switch (type) {
    case PP_GGML_F32:
        memcpy(dst, src, n * 4);
        return 0;
    case PP_GGML_F16:
        for (size_t i = 0; i < n; i++) dst[i] = pp_h2f(pp_rd16(p + 2 * i));
        return 0;
    case PP_GGML_BF16:
        for (size_t i = 0; i < n; i++) {
            uint32_t bits = (uint32_t)pp_rd16(p + 2 * i) << 16;
            memcpy(dst + i, &bits, 4);
        }
        return 0;
    case PP_GGML_Q4_0:
        for (size_t b = 0; b < blocks; b++, p += 18, dst += 32) {
            float d = pp_h2f(pp_rd16(p));
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)((p[2 + j] & 0xF) - 8) * d;
                dst[j + 16] = (float)((p[2 + j] >> 4) - 8) * d;
            }
        }
        return 0;
    case PP_GGML_Q4_1:
        for (size_t b = 0; b < blocks; b++, p += 20, dst += 32) {
            float d = pp_h2f(pp_rd16(p)), m = pp_h2f(pp_rd16(p + 2));
            for (int j = 0; j < 16; j++) {
                dst[j] = (float)(p[4 + j] & 0xF) * d + m;
                dst[j + 16] = (float)(p[4 + j] >> 4) * d + m;
            }
        }
        return 0;
    case PP_GGML_Q8_0:
        for (size_t b = 0; b < blocks; b++, p += 34, dst += 32) {
            float d = pp_h2f(pp_rd16(p));
            for (int j = 0; j < 32; j++) dst[j] = (float)(int8_t)p[2 + j] * d;
        }
        return 0;
    default:
        return -1;
    }
}
