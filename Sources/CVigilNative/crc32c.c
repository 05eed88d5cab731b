// CRC32C with a hardware path (x86-64 SSE4.2 `crc32`) chosen once at first use, and a portable
// slicing-by-8 path. Both produce identical results; the table path is also what tests compare against.
#include "CVigilNative.h"
#include <pthread.h>
#include <string.h>

// Tables are built on first use, once, whichever threads ask first (pthread_once: the first caller builds,
// the others wait, and all see the finished table).

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = i;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        table[0][i] = crc;
    }
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t crc = table[0][i];
        for (int s = 1; s < 8; s++) {
            crc = table[0][crc & 0xFF] ^ (crc >> 8);
            table[s][i] = crc;
        }
    }
}

static uint32_t crc32c_portable(uint32_t crc, const uint8_t *p, size_t n) {
    pthread_once(&table_once, build_table);
    crc = ~crc;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        word ^= crc;
        crc = table[7][word & 0xFF] ^ table[6][(word >> 8) & 0xFF] ^ table[5][(word >> 16) & 0xFF] ^
              table[4][(word >> 24) & 0xFF] ^ table[3][(word >> 32) & 0xFF] ^ table[2][(word >> 40) & 0xFF] ^
              table[1][(word >> 48) & 0xFF] ^ table[0][word >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of three cycles and a throughput of one per cycle, so one dependent
// chain runs at a third of what the unit can do. Long buffers are cut into three lanes checksummed at once,
// then joined: the CRC of A followed by B is the CRC of A "shifted" over |B| zero bytes, xor the CRC of B
// (from a zero start). Shifting over a fixed length is a linear map on the 32 CRC bits, applied here with
// four 256-entry tables built once (Mark Adler's construction, as in his public-domain crc32c.c).
#define LONG_LANE 8192
#define SHORT_LANE 256

static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

// The product of a 32x32 matrix over GF(2) (columns as words) and a vector.
static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    while (vector) {
        if (vector & 1) sum ^= *matrix;
        vector >>= 1;
        matrix++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

// The operator that feeds `length` zero bytes (a power of two) through the CRC register.
static void zeros_operator(uint32_t *even, size_t length) {
    uint32_t odd[32];
    odd[0] = 0x82F63B78u;  // one zero bit
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd);  // two zero bits
    gf2_square(odd, even);  // four
    do {                    // eight (one byte), sixteen, ... until `length` bytes
        gf2_square(even, odd);
        length >>= 1;
        if (length == 0) return;
        gf2_square(odd, even);
        length >>= 1;
    } while (length);
    memcpy(even, odd, sizeof odd);
}

static void build_shift_table(uint32_t table[4][256], size_t length) {
    uint32_t op[32];
    zeros_operator(op, length);
    for (uint32_t n = 0; n < 256; n++) {
        table[0][n] = gf2_times(op, n);
        table[1][n] = gf2_times(op, n << 8);
        table[2][n] = gf2_times(op, n << 16);
        table[3][n] = gf2_times(op, n << 24);
    }
}

static void build_shift_tables(void) {
    build_shift_table(shift_long, LONG_LANE);
    build_shift_table(shift_short, SHORT_LANE);
}

static inline uint32_t shift(uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^ table[2][(crc >> 16) & 0xFF] ^ table[3][crc >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hardware(uint32_t crc, const uint8_t *p, size_t n) {
    pthread_once(&shift_once, build_shift_tables);
    uint64_t c0 = (uint32_t)~crc;
    // Three lanes of LONG_LANE bytes while there is room, then of SHORT_LANE bytes, then one chain.
    static const size_t lanes[2] = {LONG_LANE, SHORT_LANE};
    for (int size = 0; size < 2; size++) {
        const size_t lane = lanes[size];
        while (n >= 3 * lane) {
            uint64_t c1 = 0, c2 = 0;
            const uint8_t *end = p + lane;
            do {
                uint64_t w0, w1, w2;
                memcpy(&w0, p, 8);
                memcpy(&w1, p + lane, 8);
                memcpy(&w2, p + 2 * lane, 8);
                c0 = __builtin_ia32_crc32di(c0, w0);
                c1 = __builtin_ia32_crc32di(c1, w1);
                c2 = __builtin_ia32_crc32di(c2, w2);
                p += 8;
            } while (p < end);
            uint32_t (*table)[256] = size == 0 ? shift_long : shift_short;
            c0 = shift(table, (uint32_t)c0) ^ (uint32_t)c1;
            c0 = shift(table, (uint32_t)c0) ^ (uint32_t)c2;
            p += 2 * lane;
            n -= 3 * lane;
        }
    }
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c0 = __builtin_ia32_crc32di(c0, word);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c0;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

typedef uint32_t (*crc_fn)(uint32_t, const uint8_t *, size_t);
static crc_fn chosen = 0;

static crc_fn choose(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) return crc32c_hardware;
#endif
    return crc32c_portable;
}

uint32_t vigil_crc32c_update(uint32_t crc, const void *data, size_t length) {
    crc_fn fn = __atomic_load_n(&chosen, __ATOMIC_ACQUIRE);
    if (!fn) {
        fn = choose();
        __atomic_store_n(&chosen, fn, __ATOMIC_RELEASE);
    }
    return fn(crc, (const uint8_t *)data, length);
}

int vigil_crc32c_is_hardware_accelerated(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
    return 0;
#endif
}

// Combining: the CRC of A followed by B is the CRC of A "shifted" over |B| bytes, xor the CRC of B. The CRC
// register is a polynomial over GF(2) modulo P (reflected: bit 31 is the coefficient of x^0), and shifting it
// over n bytes multiplies it by x^(8n) mod P. That power is a product of powers x^(2^k) taken from a table,
// one per set bit of 8n, so combining costs O(log n) 32-bit multiplications (zlib's crc32_combine).
#define CRC32C_ONE 0x80000000u  // the polynomial 1 (x^0)

// x^(2^k) mod P for k < 67: a byte count below 2^64 is a bit count below 2^67.
static uint32_t power_table[67];
static pthread_once_t power_once = PTHREAD_ONCE_INIT;

// The product a × b mod P: b times each power of x whose coefficient in a is 1.
static uint32_t multiply_mod_p(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (int degree = 0; degree < 32; degree++) {
        if (a & (CRC32C_ONE >> degree)) product ^= b;
        b = (b >> 1) ^ (0x82F63B78u & (0u - (b & 1u)));  // b × x
    }
    return product;
}

static void build_power_table(void) {
    uint32_t power = CRC32C_ONE >> 1;  // x^1
    for (int k = 0; k < 67; k++) {
        power_table[k] = power;
        power = multiply_mod_p(power, power);
    }
}

uint32_t vigil_crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t length2) {
    pthread_once(&power_once, build_power_table);
    uint32_t shift = CRC32C_ONE;  // x^(8 × length2), built from the set bits of length2
    for (int k = 3; length2 != 0; k++, length2 >>= 1) {
        if (length2 & 1) shift = multiply_mod_p(power_table[k], shift);
    }
    return multiply_mod_p(shift, crc1) ^ crc2;
}

// Exposed for tests: the portable path, so both paths can be checked against each other.
uint32_t vigil_crc32c_portable_update(uint32_t crc, const void *data, size_t length) {
    return crc32c_portable(crc, (const uint8_t *)data, length);
}
