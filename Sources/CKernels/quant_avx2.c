// Quantised linear layers, AVX2 path (level 1): input quantisation, integer tiles of one weight
// row x 4 tokens for 8-bit inputs (pp_matmul_q; levels 2 and 3 have theirs in quant_avx512.c),
// the integer GEMM of quantised rows for prefill chunks with 8-bit inputs, and for exact prefill
// each panel of rows dequantised into the packed GEMM of gemm_internal.h (pp_matmul_q_wide).
// The input quantisation, the panel packing and the packed GEMM serve every level from 1.
#include "gemm_internal.h"
#include "quant_internal.h"

#if PP_X86
/// The 32 4-bit weights of a block as bytes 0..15 in block order (low nibbles are weights
/// 0..15, high nibbles 16..31).
PP_AVX2 static inline __m256i unpack_nibbles(const uint8_t *p) {
    __m128i b = _mm_loadu_si128((const __m128i *)p), mask = _mm_set1_epi8(0x0F);
    __m128i lo = _mm_and_si128(b, mask), hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
}

// Tile of one weight row x C <= 4 tokens over weight blocks [b0, b1): per block pair one
// unsigned x signed byte multiply-add (vpmaddubsw; Q8_0 and Q4_0, whose codes are made signed,
// move the weight's sign onto the input first), a widening add to 8 int32 lanes, and one FMA by
// dw dx into f32 accumulators. Q4_1's offset m times the input block's s goes to scalar sums.
PP_AVX2 static inline __attribute__((always_inline)) void
q_tile(const int type, const uint8_t *W, size_t nb, const pp_q8x_block *x, float *y, size_t ldy,
       size_t o, size_t m, size_t b0, size_t b1, const int C) {
    const size_t bb = type == PP_GGML_Q8_0 ? 34 : (type == PP_GGML_Q4_0 ? 18 : 20);
    const size_t qoff = type == PP_GGML_Q4_1 ? 4 : 2;
    __m256 acc[4];
    float off[4];
    for (int c = 0; c < C; c++) { acc[c] = _mm256_setzero_ps(); off[c] = 0; }
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t b = b0; b < b1; b++) {
        const uint8_t *w = W + (o * nb + b) * bb;
        // Rows are short streams (a few hundred bytes to a few KiB): fetch ahead of the
        // hardware prefetcher, which starts late on each.
        _mm_prefetch((const char *)w + PP_Q_PREFETCH, _MM_HINT_T0);
        const float dw = pp_q_h2f(w);
        __m256i wq;
        float mw;
        if (type == PP_GGML_Q8_0) {
            wq = _mm256_loadu_si256((const __m256i *)(w + 2));
            mw = 0;
        } else if (type == PP_GGML_Q4_0) {
            // Codes made signed (q - 8) and taken as Q8_0's: no offset to carry. With the offset
            // -8 dw sx summed apart, 8B-shaped Q4_0 decode ran at 22 tokens/s against 37-39.
            wq = _mm256_sub_epi8(unpack_nibbles(w + qoff), _mm256_set1_epi8(8));
            mw = 0;
        } else {
            wq = unpack_nibbles(w + qoff);
            mw = pp_q_h2f(w + 2);
        }
        // Signed codes: |w| (unsigned) against x carrying w's sign, for vpmaddubsw.
        const __m256i wu = type == PP_GGML_Q4_1 ? wq : _mm256_sign_epi8(wq, wq);
        for (int c = 0; c < C; c++) {
            const pp_q8x_block *xb = x + (m + c) * nb + b;
            __m256i xq = _mm256_loadu_si256((const __m256i *)xb->q);
            const float dx = xb->d, sx = xb->s;
            __m256i p16 = type == PP_GGML_Q4_1 ? _mm256_maddubs_epi16(wu, xq)
                                               : _mm256_maddubs_epi16(wu, _mm256_sign_epi8(xq, wq));
            __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones));
            acc[c] = _mm256_fmadd_ps(p, _mm256_set1_ps(dw * dx), acc[c]);
            if (type == PP_GGML_Q4_1) off[c] += mw * sx;
        }
    }
    for (int c = 0; c < C; c++) {
        float s = pp_hsum8(acc[c]) + off[c];
        float *dst = y + (m + c) * ldy + o;
        *dst = b0 == 0 ? s : *dst + s;
    }
}

PP_AVX2 static inline __attribute__((always_inline)) void
matmul_q_avx2_typed(const int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
                    size_t ldy, size_t M, size_t o0, size_t o1) {
    PP_Q_ROW_SPANS(q_tile, type, W, in, x, y, ldy, M, o0, o1);
}

// One to four tokens on Q4_0 / Q4_1 rows (decode batches), two blocks per step. The tile above spends
// about 17 vector operations per 18-byte Q4_0 block, and at that rate its loads of a row stream
// arrive too late (0.55-0.69 of a plain read of the same bytes on one Zen 3 core, where Q8_0's
// 34-byte blocks, about as many operations each, reach 0.8-0.88). Here one ymm holds the codes
// of blocks a and b ([a's 16 bytes | b's 16 bytes]); the input is rearranged once per call to
// match ([x_a 0..15 | x_b 0..15] against the low nibbles, the 16..31 halves against the high),
// so the unsigned codes meet it directly and both blocks' products add up in 16 bits (at most
// 4 x 15 x 127 per lane). The two scales (and Q4_1's minimums) become floats in one conversion;
// the offsets (-8 dw sx for Q4_0, m sx for Q4_1) add up in two lanes of an xmm beside.
typedef struct {
    uint8_t lo[32], hi[32]; // [x_a 0..15 | x_b 0..15], [x_a 16..31 | x_b 16..31]
    float f[4];             // dx_a, dx_b, then s_a, s_b (times -8 for Q4_0)
} q4_pair;

/// Bytes at p as the low 32 bits of an xmm (upper bits zero). An asm load: written as an
/// intrinsic, the compiler narrows it to vpinsrw, which merges into a register that the loop
/// also writes, and the false dependency chains every step to the last one's loads (measured
/// here: half the speed).
PP_AVX2 static inline __m128i q_load32(const uint8_t *p) {
    __m128i v;
    __asm__("vmovd %1, %0" : "=x"(v) : "m"(*(const int32_t *)p));
    return v;
}

PP_AVX2 static inline __attribute__((always_inline)) void
q4_rows(const int type, const int C, const uint8_t *W, size_t nb, const q4_pair *xp, float *y, size_t ldy,
        size_t o0, size_t o1) {
    const size_t bb = type == PP_GGML_Q4_0 ? 18 : 20, qoff = type == PP_GGML_Q4_0 ? 2 : 4, np = nb / 2;
    const __m256i low4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    const __m256i spread = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    for (size_t o = o0; o < o1; o++) {
        const uint8_t *w = W + o * nb * bb;
        __m256 acc[4];
        __m128 off[4];
        for (int c = 0; c < C; c++) { acc[c] = _mm256_setzero_ps(); off[c] = _mm_setzero_ps(); }
        for (size_t k = 0; k < np; k++, w += 2 * bb) {
            _mm_prefetch((const char *)w + PP_Q_PREFETCH, _MM_HINT_T0);
            __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(w + qoff))),
                                                _mm_loadu_si128((const __m128i *)(w + bb + qoff)), 1);
            __m256i lo = _mm256_and_si256(v, low4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low4);
            // [dw_a, dw_b, then Q4_0: dw_a, dw_b; Q4_1: m_a, m_b] as binary16, then floats.
            __m128i h = _mm_insert_epi16(q_load32(w), pp_rd16(w + bb), 1);
            if (type == PP_GGML_Q4_0) {
                h = _mm_unpacklo_epi32(h, h);
            } else {
                h = _mm_insert_epi16(h, pp_rd16(w + 2), 2);
                h = _mm_insert_epi16(h, pp_rd16(w + bb + 2), 3);
            }
            const __m128 f = _mm_cvtph_ps(h);
            for (int c = 0; c < C; c++) { // token c's pairs follow token c - 1's
                const q4_pair *xc = xp + c * np + k;
                __m256i p16 = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)xc->lo)),
                                               _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)xc->hi)));
                __m256 p = _mm256_cvtepi32_ps(_mm256_madd_epi16(p16, ones)); // lanes 0-3: a, 4-7: b
                __m128 t = _mm_mul_ps(f, _mm_loadu_ps(xc->f)); // dw dx (a, b), offsets (a, b)
                off[c] = _mm_add_ps(off[c], t);
                acc[c] = _mm256_fmadd_ps(p, _mm256_permutevar8x32_ps(_mm256_castps128_ps256(t), spread), acc[c]);
            }
        }
        for (int c = 0; c < C; c++) {
            __m128 o2 = _mm_movehl_ps(off[c], off[c]);
            y[c * ldy + o] = pp_hsum8(acc[c]) + _mm_cvtss_f32(_mm_add_ss(o2, _mm_shuffle_ps(o2, o2, 1)));
        }
    }
}

/// One token's blocks in pairs for q4_rows (np = nb / 2 pairs).
PP_AVX2 static void q4_pairs(const int type, const pp_q8x_block *x, size_t np, q4_pair *xp) {
    const float k = type == PP_GGML_Q4_0 ? -8.0f : 1.0f;
    for (size_t i = 0; i < np; i++) {
        const pp_q8x_block *a = x + 2 * i, *b = a + 1;
        __m256i va = _mm256_loadu_si256((const __m256i *)a->q), vb = _mm256_loadu_si256((const __m256i *)b->q);
        _mm256_storeu_si256((__m256i *)xp[i].lo, _mm256_permute2x128_si256(va, vb, 0x20));
        _mm256_storeu_si256((__m256i *)xp[i].hi, _mm256_permute2x128_si256(va, vb, 0x31));
        xp[i].f[0] = a->d;
        xp[i].f[1] = b->d;
        xp[i].f[2] = k * a->s;
        xp[i].f[3] = k * b->s;
    }
}

/// Bytes of weight rows that stay in L1 while every group of up to 4 tokens passes over them
/// (decode batches of 5 and more).
#define PP_Q4_L1_ROW_BYTES 16384

/// Tokens 0 ..< M on Q4 rows o0 ..< o1 by q4_rows (nb >= 2), the input pairs in the calling
/// thread's scratch; 0 when it cannot grow. Up to 4 tokens the rows stream once; beyond, they
/// go in chunks of about PP_Q4_L1_ROW_BYTES that every group of 4 tokens reads from L1, so each
/// weight pair is fetched from memory once and unpacked once per group.
PP_AVX2 static inline __attribute__((always_inline)) int
q4_decode_typed(const int type, const uint8_t *W, size_t nb, const pp_q8x_block *x, float *y, size_t ldy,
                size_t M, size_t o0, size_t o1) {
    const size_t np = nb / 2, row = nb * (type == PP_GGML_Q4_0 ? 18 : 20);
    q4_pair *xp = (q4_pair *)pp_thread_scratch(PP_SCRATCH_Q4_PAIRS, M * np * sizeof(q4_pair));
    if (!xp) return 0;
    for (size_t m = 0; m < M; m++) q4_pairs(type, x + m * nb, np, xp + m * np);
    size_t chunk = M <= 4 ? o1 - o0 : (PP_Q4_L1_ROW_BYTES / row > 0 ? PP_Q4_L1_ROW_BYTES / row : 1);
    for (size_t c0 = o0; c0 < o1; c0 += chunk) {
        size_t c1 = o1 - c0 < chunk ? o1 : c0 + chunk;
        for (size_t m = 0; m < M; m += 4) {
            const q4_pair *xm = xp + m * np;
            float *ym = y + m * ldy;
            switch (M - m < 4 ? M - m : 4) {
            case 1: q4_rows(type, 1, W, nb, xm, ym, ldy, c0, c1); break;
            case 2: q4_rows(type, 2, W, nb, xm, ym, ldy, c0, c1); break;
            case 3: q4_rows(type, 3, W, nb, xm, ym, ldy, c0, c1); break;
            default: q4_rows(type, 4, W, nb, xm, ym, ldy, c0, c1); break;
            }
        }
    }
    // An odd block count: the last block alone, added by the tile (one block per row and token).
    if (nb % 2)
        for (size_t o = o0; o < o1; o++)
            for (size_t m = 0; m < M; m++) q_tile(type, W, nb, x, y, ldy, o, m, nb - 1, nb, 1);
    return 1;
}

PP_AVX2 void pp_quant_avx2(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy,
                           size_t M, size_t o0, size_t o1) {
    const size_t nb = in / 32;
    if (M >= 1 && type != PP_GGML_Q8_0 && nb >= 2) {
        if (type == PP_GGML_Q4_0 ? q4_decode_typed(PP_GGML_Q4_0, W, nb, x, y, ldy, M, o0, o1)
                                 : q4_decode_typed(PP_GGML_Q4_1, W, nb, x, y, ldy, M, o0, o1))
            return;
    }
    PP_Q_BY_TYPE(type, matmul_q_avx2_typed, W, in, x, y, ldy, M, o0, o1)
}

/// pp_quantize_q8x with 8 lanes: the same operations as the portable loop (the largest |x|, d =
/// amax / 127, q = x (1 / d) rounded to nearest even, clamped), so the same bytes.
PP_AVX2 void pp_quantize_q8x_avx2(const float *x, size_t n, pp_q8x_block *out) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (size_t b = 0; b < n / 32; b++, x += 32, out++) {
        __m256 v[4], amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
        }
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
        const float d = _mm_cvtss_f32(m4) / 127, id = d > 0 ? 1 / d : 0;
        __m256i q[4];
        for (int k = 0; k < 4; k++) {
            __m256i r = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], _mm256_set1_ps(id)));
            q[k] = _mm256_max_epi32(_mm256_min_epi32(r, _mm256_set1_epi32(127)), _mm256_set1_epi32(-127));
        }
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        // int32 -> int16 -> int8 packs work per 128-bit lane: restore the order with one permute.
        __m256i p16a = _mm256_packs_epi32(q[0], q[1]), p16b = _mm256_packs_epi32(q[2], q[3]);
        __m256i p8 = _mm256_packs_epi16(p16a, p16b);
        p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256((__m256i *)out->q, p8);
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
        out->d = d;
        out->s = d * (float)_mm_cvtsi128_si32(s4);
    }
}

// Prefill chunks on quantised rows against 8-bit inputs: a GEMM with 8 output rows in the lanes.
// Per span of PP_QKB blocks, each panel of 8 rows is repacked so that 32-bit lane r of step s
// holds row r's codes 4s..4s+3 of a block, and a token's 4 matching input bytes are broadcast to
// every lane. Codes reach vpmaddubsw (unsigned weight x signed input) as nibbles 0..15: eight
// steps (one block) of at most 2 x 15 x 127 each stay below 32767, so a block's products add up
// in 16 bits and widen once (vpmaddwd). Q4_0 / Q4_1 codes are nibbles already; a Q8_0 code w
// becomes w + 128 = 16 h + l, two nibble planes whose sums are widened with weights 16 and 1.
// The offsets (-8 dw for Q4_0, m for Q4_1, -128 dw for Q8_0) meet the input block's s = dx sum
// qx in one more FMA, and each block's sum is scaled by the rows' dw times the token's dx. On
// Zen 3 vpsignb, vpmaddubsw and vpmaddwd share two pipes; Q8_0 as |w| against x carrying w's
// sign, widened every step, took three of them per step and the planes take two: on one core
// (M = 256 tokens, 4096 x 4096) 43 -> 46 G multiply-adds/s, and packing with an 8 x 8 transpose
// instead of byte copies took Q4_0 from 62 to 70.
/// Bytes of one packed block step: one code plane, two for Q8_0.
#define PP_QG_STEP(type) ((type) == PP_GGML_Q8_0 ? 64 : 32)

/// v[r] (row r's 8 dwords) -> v[s] (dword s of every row): the 8 x 8 transpose of 32-bit lanes.
PP_AVX2 static inline void q_transpose8(__m256i *v) {
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(v[i], v[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(v[i], v[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
        v[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
    }
}

PP_AVX2 void pp_q_pack_panel8(int type, const uint8_t *W, size_t ldw, size_t o, int nr, size_t b0, size_t nbs,
                              uint8_t *codes, size_t step, size_t hplane, float *scales, float *offsets,
                              size_t sstride) {
    const size_t bb = pp_q_block_bytes(type), qoff = type == PP_GGML_Q4_1 ? 4 : 2;
    const int planes = type == PP_GGML_Q8_0 && hplane > 0;
    const __m256i low4 = _mm256_set1_epi8(0x0F), bias = _mm256_set1_epi8((char)0x80);
    for (size_t j = 0; j < nbs; j++) {
        __m256i lo[8], hi[8];
        for (int r = 0; r < PP_QG_ROWS; r++) {
            float dw = 0, mw = 0;
            lo[r] = hi[r] = _mm256_setzero_si256();
            if (r < nr) {
                const uint8_t *blk = W + (o + r) * ldw + (b0 + j) * bb;
                dw = pp_q_h2f(blk);
                if (type == PP_GGML_Q8_0) {
                    __m256i u = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(blk + 2)), bias);
                    lo[r] = planes ? _mm256_and_si256(u, low4) : u;
                    hi[r] = _mm256_and_si256(_mm256_srli_epi16(u, 4), low4);
                    mw = -128 * dw;
                } else {
                    lo[r] = unpack_nibbles(blk + qoff);
                    mw = type == PP_GGML_Q4_1 ? pp_q_h2f(blk + 2) : -8 * dw;
                }
            }
            scales[j * sstride + r] = dw;
            offsets[j * sstride + r] = mw;
        }
        q_transpose8(lo);
        for (int st = 0; st < 8; st++) _mm256_storeu_si256((__m256i *)(codes + (j * 8 + st) * step), lo[st]);
        if (planes) {
            q_transpose8(hi);
            for (int st = 0; st < 8; st++) _mm256_storeu_si256((__m256i *)(codes + (j * 8 + st) * step + hplane), hi[st]);
        }
    }
}

PP_AVX2 static inline __attribute__((always_inline)) void
q_gemm_tile(const int type, const uint8_t *codes, const float *scales, const float *offsets, size_t nbs,
            const pp_q8x_block *xs, size_t m, const int C, float *y, size_t ldy, size_t o, int nr, int first) {
    const pp_q8x_block *xg = xs + m * nbs; // this span's group of tokens m ..< m + C (pp_q8x_tile_index)
    const size_t step = PP_QG_STEP(type);
    __m256 facc[4];
    for (int c = 0; c < C; c++) facc[c] = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi16(16);
    for (size_t j = 0; j < nbs; j++) {
        const pp_q8x_block *xb[4];
        __m256i isum[4], hsum[4]; // 16-bit lanes over the block: the l plane (Q4: the codes), the h plane
        for (int c = 0; c < C; c++) {
            xb[c] = xg + j * C + c;
            isum[c] = hsum[c] = _mm256_setzero_si256();
        }
        const uint8_t *cw = codes + j * 8 * step;
        for (int st = 0; st < 8; st++) {
            __m256i wl = _mm256_loadu_si256((const __m256i *)(cw + step * st)), wh = wl;
            if (type == PP_GGML_Q8_0) wh = _mm256_loadu_si256((const __m256i *)(cw + step * st + 32));
            for (int c = 0; c < C; c++) {
                int32_t four;
                memcpy(&four, xb[c]->q + 4 * st, 4);
                __m256i xv = _mm256_set1_epi32(four);
                isum[c] = _mm256_add_epi16(isum[c], _mm256_maddubs_epi16(wl, xv));
                if (type == PP_GGML_Q8_0) hsum[c] = _mm256_add_epi16(hsum[c], _mm256_maddubs_epi16(wh, xv));
            }
        }
        __m256 sv = _mm256_loadu_ps(scales + j * PP_QG_ROWS), mv = _mm256_loadu_ps(offsets + j * PP_QG_ROWS);
        for (int c = 0; c < C; c++) {
            __m256i s32 = _mm256_madd_epi16(isum[c], ones);
            if (type == PP_GGML_Q8_0) s32 = _mm256_add_epi32(s32, _mm256_madd_epi16(hsum[c], sixteen));
            facc[c] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s32), _mm256_mul_ps(sv, _mm256_set1_ps(xb[c]->d)), facc[c]);
            facc[c] = _mm256_fmadd_ps(mv, _mm256_set1_ps(xb[c]->s), facc[c]);
        }
    }
    for (int c = 0; c < C; c++) {
        float *dst = y + (m + c) * ldy + o;
        if (nr == PP_QG_ROWS) {
            _mm256_storeu_ps(dst, first ? facc[c] : _mm256_add_ps(_mm256_loadu_ps(dst), facc[c]));
        } else {
            float lanes[8];
            _mm256_storeu_ps(lanes, facc[c]);
            for (int r = 0; r < nr; r++) dst[r] = first ? lanes[r] : dst[r] + lanes[r];
        }
    }
}

PP_AVX2 static inline __attribute__((always_inline)) void
q_gemm_typed(const int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y, size_t ldy, size_t M,
             size_t o0, size_t o1) {
    const size_t nb = in / 32, ldw = nb * pp_q_block_bytes(type);
    _Alignas(32) uint8_t codes[PP_QKB * 8 * 64];
    float scales[PP_QKB * PP_QG_ROWS], offsets[PP_QKB * PP_QG_ROWS];
    for (size_t b0 = 0; b0 < nb; b0 += PP_QKB) {
        size_t nbs = nb - b0 < PP_QKB ? nb - b0 : PP_QKB;
        const pp_q8x_block *xs = x + M * b0; // the span's inputs (pp_q8x_tile_index)
        for (size_t o = o0; o < o1; o += PP_QG_ROWS) {
            int nr = o1 - o < PP_QG_ROWS ? (int)(o1 - o) : PP_QG_ROWS, first = b0 == 0;
            pp_q_pack_panel8(type, W, ldw, o, nr, b0, nbs, codes, PP_QG_STEP(type), 32, scales, offsets, PP_QG_ROWS);
            if (o + 2 * PP_QG_ROWS <= o1) pp_q_prefetch_panel(W, ldw, o + PP_QG_ROWS, b0 * pp_q_block_bytes(type), nbs * pp_q_block_bytes(type));
            size_t m = 0;
            for (; m + 4 <= M; m += 4) q_gemm_tile(type, codes, scales, offsets, nbs, xs, m, 4, y, ldy, o, nr, first);
            switch (M - m) {
            case 3: q_gemm_tile(type, codes, scales, offsets, nbs, xs, m, 3, y, ldy, o, nr, first); break;
            case 2: q_gemm_tile(type, codes, scales, offsets, nbs, xs, m, 2, y, ldy, o, nr, first); break;
            case 1: q_gemm_tile(type, codes, scales, offsets, nbs, xs, m, 1, y, ldy, o, nr, first); break;
            }
        }
    }
}

PP_AVX2 void pp_quant_gemm_avx2(int type, const uint8_t *W, size_t in, const pp_q8x_block *x, float *y,
                                size_t ldy, size_t M, size_t o0, size_t o1) {
    PP_Q_BY_TYPE(type, q_gemm_typed, W, in, x, y, ldy, M, o0, o1)
}

/// A panel of quantised rows: each row's span dequantised into src->rows, then transposed.
PP_AVX2 static void panel_q(const pp_panel_source *s, size_t o, int nr, size_t k0, size_t kn, float *P) {
    size_t bb = pp_q_block_bytes(s->type);
    const uint8_t *W = (const uint8_t *)s->W;
    for (int r = 0; r < nr; r++)
        pp_dequantize(s->type, W + (o + r) * s->ldw + k0 / 32 * bb, s->rows + r * PP_GEMM_KP, kn);
    pp_pack_f32(s->rows, PP_GEMM_KP, 0, nr, 0, kn, P);
}

PP_AVX2 int pp_quant_wide_avx2(int type, const void *W, size_t in, const float *x, size_t ldx, float *y,
                               size_t ldy, size_t M, size_t o0, size_t o1) {
    pp_panel_source src = {W, in / 32 * pp_q_block_bytes(type), type, NULL};
    return pp_packed_gemm(panel_q, src, in, x, ldx, y, ldy, M, o0, o1);
}
#endif
