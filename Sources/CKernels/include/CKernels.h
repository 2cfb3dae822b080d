// Hot kernels of the pigplan executor: conversions, GGUF dequantisation, linear layers, attention
// (dense, gathered, sampled), SimHash hashing, hash-table build and retrieval, bandwidth probes.
//
// Every kernel has a portable C path and, on x86-64, an AVX-512 (F + BW + VL) + F16C + FMA path
// chosen at run time (__builtin_cpu_supports); the linear layers and attention kernels (most of a
// decode step) also have an AVX2 + F16C + FMA path for CPUs without AVX-512. `pp_set_simd_level` lowers the level for tests that
// compare the paths. Nothing here allocates, threads or prints: callers (Swift) split work across
// threads and own all memory. 16-bit floats travel as raw IEEE binary16 bits (`uint16_t`).
#ifndef PIGPLAN_CKERNELS_H
#define PIGPLAN_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------------------------------------
// Dispatch
// ---------------------------------------------------------------------------------------------

/// Level used by kernels called on this thread: 0: portable C, 1: AVX2 + F16C + FMA (linear
/// layers, SimHash projections and codes, attention and scores, row collection, binary16 arrays;
/// the table build and the bucket walks are portable at every level), 2: AVX-512 + F16C + FMA,
/// 3: level 2 with AVX-512 VNNI and BF16 (8-bit products in one instruction, bf16 dot products).
int pp_simd_level(void);
/// What a level means, for reports ("AVX2 + FMA + F16C"); "unknown" outside 0...3.
const char *pp_simd_level_name(int level);
/// Best level this CPU supports (what every thread uses unless overridden).
int pp_simd_level_supported(void);
/// 1 when these kernels were compiled with optimisation (Package.swift asks for -O2 in every
/// configuration; at -O0 the intrinsics kernels run 10-30x slower).
int pp_kernels_optimized(void);
/// Kernels called from the CALLING THREAD use at most `level` (clamped to what the CPU supports);
/// returns the level now in use. For tests comparing the paths; other threads are unaffected.
int pp_set_simd_level(int level);

/// Atomic fetch-and-add on a shared counter (work distribution from Swift threads).
long pp_atomic_fetch_add(long *counter, long value);

/// A persistent pool of `threads - 1` worker threads; `pp_pool_run` hands items 0..<count to the
/// workers and the calling thread (fn(ctx, item, worker), worker in 0..<threads) and returns when
/// all are done. Workers spin briefly between runs, then sleep. A run that finds the pool busy
/// (concurrent or nested) executes serially on the caller.
typedef struct pp_pool pp_pool;
typedef void (*pp_task_fn)(void *ctx, long item, long worker);
pp_pool *pp_pool_create(int threads);
void pp_pool_destroy(pp_pool *pool);
int pp_pool_threads(const pp_pool *pool);
void pp_pool_run(pp_pool *pool, long count, pp_task_fn fn, void *ctx);

// ---------------------------------------------------------------------------------------------
// Conversions and GGUF dequantisation
// ---------------------------------------------------------------------------------------------

/// binary16 bits -> float (exact).
float pp_f16_to_f32_scalar(uint16_t h);
/// float -> binary16 bits, round to nearest even (overflow to inf, NaN kept).
uint16_t pp_f32_to_f16_scalar(float f);
void pp_f16_to_f32(const uint16_t *src, float *dst, size_t n);
void pp_f32_to_f16(const float *src, uint16_t *dst, size_t n);

/// GGML type ids understood by `pp_dequantize` (values as in the GGUF format).
enum {
    PP_GGML_F32 = 0,
    PP_GGML_F16 = 1,
    PP_GGML_Q4_0 = 2,
    PP_GGML_Q4_1 = 3,
    PP_GGML_Q8_0 = 8,
    PP_GGML_BF16 = 30,
};
/// Elements per block and bytes per block of a type; 0 when unsupported.
size_t pp_ggml_block_elements(int type);
size_t pp_ggml_block_bytes(int type);
/// Dequantises `n` elements (a multiple of the block size) of `type` from `src` into `dst`.
/// Returns 0, or -1 when the type is unsupported or `n` is not a whole number of blocks.
int pp_dequantize(int type, const void *src, float *dst, size_t n);

// ---------------------------------------------------------------------------------------------
// Linear layers
// ---------------------------------------------------------------------------------------------

/// y[m*ldy + o] = sum_i W[o*in + i] * x[m*ldx + i] for o in [o0, o1), m in [0, M).
/// W is row-major (out x in), f32 or binary16; x and y are f32.
void pp_matmul_f32(const float *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
                   size_t M, size_t o0, size_t o1);
void pp_matmul_f16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
                   size_t M, size_t o0, size_t o1);
/// The same with bfloat16 weights (the upper 16 bits of an f32).
void pp_matmul_bf16(const uint16_t *W, size_t in, const float *x, size_t ldx, float *y, size_t ldy,
                    size_t M, size_t o0, size_t o1);
/// The same product with TRANSPOSED weights Wt (in x out, row-major):
/// y[m*ldy + o] = sum_i Wt[i*out + o] * x[m*ldx + i]. Faster when `in` is small (SimHash
/// projections: in = d), as it needs no horizontal reductions.
void pp_matmul_t_f32(const float *Wt, size_t in, size_t out, const float *x, size_t ldx, float *y,
                     size_t ldy, size_t M, size_t o0, size_t o1);

/// Linear layers on GGUF block-quantised weights kept as stored (Q8_0, Q4_0 or Q4_1; `in` a
/// multiple of 32; row o of W is in / 32 blocks). The inputs are first quantised to 8 bits per
/// block of 32 (`pp_quantize_q8x`: d = max|x| / 127, q = round(x / d), s = d sum q), M rows of
/// pp_q8x_row_bytes(in) bytes each; then
///   y[m*ldy + o] = sum over blocks of (weight block o) . (input block m) for o in [o0, o1).
/// Returns 0, or -1 for another type or `in` not a multiple of 32.
typedef struct {
    float d;
    float s;
    int8_t q[32];
} pp_q8x_block;
size_t pp_q8x_row_bytes(size_t n);
void pp_quantize_q8x(const float *x, size_t n, void *dst);
int pp_matmul_q(int type, const void *W, size_t in, const void *xq, float *y, size_t ldy, size_t M,
                size_t o0, size_t o1);
/// Tokens from which the linear layers use the packed GEMM (prefill chunks; pp_matmul_f32/f16/bf16
/// switch by themselves, pp_matmul_q_wide is the caller's choice).
#define PP_PACKED_MIN_TOKENS 48
/// The same product on inputs in the order the integer GEMM of prefill chunks reads them (M x in
/// / 32 blocks, as many bytes as M rows): spans of 32 blocks (1024 inputs; the last may be
/// shorter), within a span tokens in groups of 4 from token 0 (the last group holds M % 4 when
/// that is not 0), within a group block by block, the group's tokens side by side. Every panel of
/// weight rows then reads one sequential stream of inputs. pp_quantize_q8x_tiles quantises
/// tokens m0 ..< m1 of the M (m0 a multiple of 4: threads can share the work) into that order, the
/// same bytes per block as pp_quantize_q8x; pp_matmul_q_tiles returns as pp_matmul_q.
/// pp_matmul_q rearranges its inputs so from PP_PACKED_MIN_TOKENS tokens; quantising straight
/// into this order saves that pass once per call (and once per thread's piece of the rows).
void pp_quantize_q8x_tiles(const float *x, size_t ldx, size_t n, size_t M, size_t m0, size_t m1, void *dst);
int pp_matmul_q_tiles(int type, const void *W, size_t in, const void *xt, float *y, size_t ldy, size_t M,
                      size_t o0, size_t o1);
/// The same product for many tokens (prefill chunks) with f32 inputs x (row stride ldx): each
/// panel of weight rows is dequantised exactly and multiplied in f32 by the packed GEMM, so the
/// inputs are not rounded to 8 bits. Returns 0; -1 for a type these kernels do not take or `in`
/// not a multiple of 32; 1 when this CPU has no such path (below AVX2) or its scratch could not
/// be allocated: then quantise the inputs and use pp_matmul_q.
int pp_matmul_q_wide(int type, const void *W, size_t in, const float *x, size_t ldx, float *y,
                     size_t ldy, size_t M, size_t o0, size_t o1);

// ---------------------------------------------------------------------------------------------
// Small model operations (row-wise)
// ---------------------------------------------------------------------------------------------

/// y = x / sqrt(mean(x^2) + eps) * w for each of `rows` rows of width `n`.
void pp_rmsnorm(const float *x, const float *w, float *y, size_t rows, size_t n, float eps);
/// Rotary embedding on adjacent pairs: for pair i of each head,
///   (a, b) <- (a cos - b sin, a sin + b cos), angle = position * base^(-2i/d).
/// `cs` holds cos/sin interleaved for this row's position: cs[2i] = cos, cs[2i+1] = sin (d/2 pairs).
void pp_rope(float *x, size_t heads, size_t d, const float *cs);
/// Fills cs (2 * d/2 floats) for `position` with base `theta`.
void pp_rope_table(float *cs, size_t d, double position, double theta);
/// g <- silu(g) * u = g / (1 + exp(-g)) * u, elementwise.
void pp_silu_mul(float *g, const float *u, size_t n);
/// y += x.
void pp_add(float *y, const float *x, size_t n);
/// Binary16 row y += x (f32), rounded to nearest even.
void pp_add_f16_row(uint16_t *y, const float *x, size_t n);
/// Index of the largest element (the first on ties).
size_t pp_argmax(const float *x, size_t n);
/// log(sum exp(x)) computed stably.
double pp_logsumexp(const float *x, size_t n);

// ---------------------------------------------------------------------------------------------
// Attention
//
// One work unit is one (sequence, KV head): G query heads share the unit's K and V rows. Queries
// are f32 and already scaled by 1/sqrt(d); K and V rows are binary16 with a row stride `ld`
// (elements). A unit's result is a *partial softmax* per query head g:
//   m_g = max_i s_gi,  l_g = sum_i exp(s_gi - m_g),  acc_g = sum_i exp(s_gi - m_g) v_i,
// so that two partials over disjoint key sets merge exactly (`pp_partial_merge`) and the output
// is acc_g / l_g. An empty partial has m = -inf, l = 0, acc = 0.
// ---------------------------------------------------------------------------------------------

/// Per-key importance correction of MagicPIG: s_gi = q_g.k_i - log(u_gi + 1e-4), where u is the
/// two-hit sampling probability at the angle between q_g and the centred key k_i - mu:
///   cos = (q_g.k_i - q_g.mu) / (|q_g| |k_i - mu|).
/// log(u + 1e-4) is read from `lut`, a table over cos in [-1, 1] with `lutSize` equally spaced
/// points, linearly interpolated.
typedef struct {
    const float *lut;
    int32_t lutSize;
    /// |k_i - mu| indexed by (i - normOffset).
    const float *keyNorm;
    int64_t normOffset;
    /// G values: q_g.mu and |q_g| (of the scaled query; cos is scale-free).
    const float *queryDotMean;
    const float *queryNorm;
} pp_sampling_correction;

/// Sets a partial of G heads to empty.
void pp_partial_init(size_t G, size_t d, float *m, float *l, float *acc);
/// Merges partial 2 into partial 1 (log-sum-exp): m = max(m1, m2),
///   l = l1 e^(m1-m) + l2 e^(m2-m), acc = acc1 e^(m1-m) + acc2 e^(m2-m).
void pp_partial_merge(size_t G, size_t d, float *m1, float *l1, float *acc1,
                      const float *m2, const float *l2, const float *acc2);
/// out_g = acc_g / l_g (zeros when l_g = 0).
void pp_partial_finish(size_t G, size_t d, const float *l, const float *acc, float *out);

/// Accumulates keys [r0, r1) of K/V into the partial (m, l, acc) of the G queries.
void pp_attend_range(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                     size_t ld, size_t r0, size_t r1, float *m, float *l, float *acc);

/// Causal attention of a prefill chunk for one KV head: query rows r = 0 ..< n (row r's G query
/// vectors of d floats, scaled, at q + r * ldq, contiguous) at positions p0 + r; row r sees keys
/// 0 ... p0 + r of K and V (binary16 rows of stride ld). Writes softmax(q K^T) V to out + r * ldo
/// (G x d floats per row). Keys are taken in blocks of `blockKeys`. Returns 0, or -1 when
/// blockKeys is 0 or scratch memory cannot be had.
int pp_causal_attention(const float *q, size_t ldq, size_t n, size_t G, size_t d, const uint16_t *K,
                        const uint16_t *V, size_t ld, size_t p0, size_t blockKeys, float *out,
                        size_t ldo);

/// Accumulates the gathered rows idx[0..count) into the partial. `headMask` (nullable) gives per
/// row the bit set of query heads that use the row (bit g: head g); rows are read once for all G
/// heads. `correction` (nullable) adds the MagicPIG -log(u + 1e-4) term.
void pp_attend_gather(const float *q, size_t G, size_t d, const uint16_t *K, const uint16_t *V,
                      size_t ld, const int32_t *idx, const uint8_t *headMask, size_t count,
                      const pp_sampling_correction *correction, float *m, float *l, float *acc);

/// Tuning of the gather kernel: rows prefetched ahead and bytes between prefetches in a row.
void pp_set_gather_tuning(int aheadRows, int prefetchStrideBytes);

/// Raw scores s[g * ldS + (i - r0)] = q_g . k_i for keys [r0, r1) (TopK / Quest oracles).
void pp_scores_range(const float *q, size_t G, size_t d, const uint16_t *K, size_t ld, size_t r0,
                     size_t r1, float *s, size_t ldS);

/// Writes to `out` the indices (0..n-1) of the k largest values of s (any order); `work` is
/// scratch of n int32. Ties are broken by lower index. Returns k (clamped to n).
size_t pp_select_top(const float *s, size_t n, size_t k, int32_t *work, int32_t *out);

// ---------------------------------------------------------------------------------------------
// SimHash tables (MagicPIG)
// ---------------------------------------------------------------------------------------------

/// Centres keys rows [r0, r1) of K (binary16, stride ld): out[(i-r0)*d + j] = k_ij - mu_j, and
/// norm[i-r0] = |k_i - mu|.
void pp_center_keys(const uint16_t *K, size_t ld, size_t d, size_t r0, size_t r1, const float *mu,
                    float *out, float *norm);
/// mu_j += sum over rows [r0, r1) of k_ij (double accumulators, caller divides).
void pp_sum_keys(const uint16_t *K, size_t ld, size_t d, size_t r0, size_t r1, double *sum);

/// Packs sign bits of projections into codes: proj is rows x (K*L) (row-major), bit b of table t
/// of row r is (proj[r*K*L + t*K + b] > 0). codes[t * ldCodes + r] receives table t's code.
void pp_pack_codes(const float *proj, size_t rows, size_t K, size_t L, uint16_t *codes,
                   size_t ldCodes);

/// Counting sort of one table: codes[0..n) in [0, 2^K) -> offsets[0..2^K] (bucket b holds
/// entries offsets[b]..offsets[b+1]) and entries[] = indexBase + i in ascending i per bucket.
void pp_build_table(const uint16_t *codes, size_t n, size_t K, int32_t indexBase, int32_t *offsets,
                    int32_t *entries);

/// Scratch of one retrieval worker: `stamp` (n uint32) and `headMask` (n uint8), zeroed once
/// at allocation; `epoch` starts at 0. Retrieval leaves them reusable without clearing.
typedef struct {
    uint32_t *stamp;
    uint8_t *headMask;
    uint32_t epoch;
    size_t capacity;
} pp_retrieval_scratch;

/// MagicPIG retrieval for one unit: for each query head g (codes qcodes[g*L + t]) walk its bucket
/// in each of the L tables (offsets: L x (2^K+1), entries: L x ldEntries, entries hold indexBase +
/// local index for the n hashed keys) and emit a key at its SECOND hit. Writes the union of the
/// G heads' sampled keys in ascending order to idxOut (absolute indices = indexBase + local) with
/// their head bit sets in maskOut, and per head the sampled count in sampledPerHead[g].
/// Returns the union size. n <= scratch->capacity.
size_t pp_lsh_retrieve(const uint16_t *qcodes, size_t G, size_t K, size_t L, const int32_t *offsets,
                       const int32_t *entries, size_t ldEntries, size_t n, int32_t indexBase,
                       pp_retrieval_scratch *scratch, int32_t *idxOut, uint8_t *maskOut,
                       int32_t *sampledPerHead);

/// Collects rows whose headMask byte (n bytes, local indices) is non-zero in ascending order,
/// writing idxOut = indexBase + i and maskOut, and clears headMask. Returns the count.
size_t pp_collect_mask(uint8_t *headMask, size_t n, int32_t indexBase, int32_t *idxOut,
                       uint8_t *maskOut);

// ---------------------------------------------------------------------------------------------
// Random numbers and bandwidth
// ---------------------------------------------------------------------------------------------

/// dst[i] = mean + std * z(seed, start + i) as binary16 / f32, where z(seed, j) ~ N(0,1) is Box-Muller
/// on the two 32-bit halves of SplitMix64's output for counter j: element j depends only on
/// (seed, j), so chunks filled in parallel equal one call.
void pp_fill_gaussian_f16(uint16_t *dst, size_t n, uint64_t seed, uint64_t start, float mean, float std);
void pp_fill_gaussian_f32(float *dst, size_t n, uint64_t seed, uint64_t start, float mean, float std);

/// Asks the kernel to back [p, p + bytes) with transparent huge pages (Linux MADV_HUGEPAGE):
/// random row gathers over gigabytes of KV cache otherwise miss the TLB on nearly every row.
/// Returns 0 on success, -1 where unsupported. p should be 2 MiB aligned.
int pp_advise_huge_pages(void *p, size_t bytes);

/// The file at `path` mapped read-only and private (model files: their pages stay the OS's page
/// cache, shared with other readers). NULL where it cannot be mapped (errno set; an empty file
/// too): the caller reads the file another way. *bytes receives the file's size.
void *pp_map_file(const char *path, size_t *bytes);
/// Undoes pp_map_file.
void pp_unmap_file(void *p, size_t bytes);
/// Drops the whole pages inside [p, p + bytes) of a pp_map_file mapping from this process's
/// resident set (Linux MADV_DONTNEED; a no-op elsewhere). Nothing is lost: a page touched again
/// is read from the file again. Weights copied out of the file are released so, so that a model
/// is not held twice. Never call it on memory that is not a read-only file mapping.
void pp_release_file_pages(const void *p, size_t bytes);

/// Reads rows idx[0..count) of `width` binary16 elements (stride ld) and returns a checksum: the
/// random-row read ceiling the sampled-attention kernel is compared with.
double pp_gather_read_sum(const uint16_t *rows, size_t ld, const int32_t *idx, size_t count, size_t width);

/// Sum of n floats read sequentially (a STREAM-like read probe; the result defeats elimination).
double pp_read_sum(const float *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif
