#include "internal.h"
#include <stdlib.h>


int pp_level = -1;
_Thread_local int pp_thread_level = -1;

void *pp_thread_scratch(int slot, size_t bytes) {
    static _Thread_local void *buffer[PP_SCRATCH_SLOTS];
    static _Thread_local size_t capacity[PP_SCRATCH_SLOTS];
    if (bytes > capacity[slot]) {
        size_t rounded = (bytes + 63) / 64 * 64;
        void *grown = aligned_alloc(64, rounded);
        if (!grown) return NULL;
        free(buffer[slot]);
        buffer[slot] = grown;
        capacity[slot] = rounded;
    }
    return buffer[slot];
}

int pp_simd_level_supported(void) {
#if PP_X86 && defined(PP_EMULATE_AVX512)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma") ? 3 : 0;
#elif PP_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("f16c") &&
        __builtin_cpu_supports("fma"))
        return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bf16") ? 3 : 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma"))
        return 1;
#endif
    return 0;
}

// Lazily initialised: constructors run before any kernel call.
// PIGPLAN_SIMD_LEVEL=0|1|2|3 caps the level for the whole process (to compare paths or to work around
// a CPU problem); it can only lower what the CPU supports.
__attribute__((constructor)) static void pp_init_level(void) {
    int best = pp_simd_level_supported();
    const char *cap = getenv("PIGPLAN_SIMD_LEVEL");
    if (cap && cap[0] >= '0' && cap[0] <= '3' && cap[1] == 0 && cap[0] - '0' < best) best = cap[0] - '0';
    pp_level = best;
}

int pp_simd_level(void) {
    if (pp_level < 0) pp_level = pp_simd_level_supported();
    return pp_thread_level >= 0 ? pp_thread_level : pp_level;
}

int pp_set_simd_level(int level) {
    int best = pp_simd_level_supported();
    int l = level < best ? (level < 0 ? 0 : level) : best;
    pp_thread_level = l;
    return l;
}

const char *pp_simd_level_name(int level) {
    switch (level) {
    case 0: return "portable C";
    case 1: return "AVX2 + FMA + F16C";
    case 2: return "AVX-512 (F, BW, VL) + FMA + F16C";
    case 3: return "AVX-512 with VNNI and BF16";
    default: return "unknown";
    }
}

long pp_atomic_fetch_add(long *counter, long value) {
    return __atomic_fetch_add(counter, value, __ATOMIC_RELAXED);
}

int pp_kernels_optimized(void) {
#if defined(__OPTIMIZE__)
    return 1;
#else
    return 0;
#endif
}
