// The few things Vigil needs from C because Swift has no portable way to say them:
// - CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and many framed formats,
//   with the hardware crc32 instruction (SSE4.2) when the CPU has it, a slicing-by-8 table otherwise;
// - a software prefetch hint, for hot loops that know which memory they touch next;
// - handing malloc's free memory back to the kernel, so that a resident-size measurement counts live memory;
// - epoll, which Swift's Glibc module does not export, for the TCP listener;
// - batched UDP receives (recvmmsg) with the kernel's drop counter (SO_RXQ_OVFL), for flow inputs;
// - sendmmsg, which it does not export either, for `vigil generate flows`.
#ifndef VIGIL_NATIVE_H
#define VIGIL_NATIVE_H
#include <stddef.h>
#include <stdint.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#if defined(__linux__)
/// One received datagram: its sender (IPv4 as the IPv4-mapped IPv6 address ::ffff:a.b.c.d) and length.
typedef struct {
    uint8_t address[16];
    uint32_t length;
    uint16_t port;
    /// 1 when the datagram was longer than its slot (the rest was cut off by the kernel).
    uint8_t truncated;
} vigil_datagram_info;

/// Binds a non-blocking UDP socket to `host` (an IPv4 or IPv6 address or a name; "::" takes both
/// families) and `port` (0: any), asking for a receive buffer of `requested_buffer_bytes` and turning on
/// the kernel's drop counter. Returns the descriptor, or -1 with `*error_number` (errno) or `*gai_error`
/// (a getaddrinfo status) set. `*granted_buffer_bytes` is what the kernel gave (capped by net.core.rmem_max
/// unless the process may pass it).
int vigil_udp_bind(const char *host, uint16_t port, int requested_buffer_bytes, int *granted_buffer_bytes,
                   int *error_number, int *gai_error);

/// The local port a socket is bound to, or -1.
int vigil_udp_bound_port(int fd);

/// Receives up to `count` (at most 64) datagrams without blocking, datagram i into
/// `buffers + i * slot_bytes`. Returns how many (0 when none is waiting), or -errno. When one carried the
/// kernel's drop counter, sets `*kernel_drops` to it (the socket's total since it opened, mod 2^32) and
/// `*has_kernel_drops` to 1.
int vigil_udp_receive_batch(int fd, uint8_t *buffers, size_t slot_bytes, vigil_datagram_info *infos, int count,
                            uint32_t *kernel_drops, int *has_kernel_drops);
#endif
#if defined(__linux__)
#include <sys/epoll.h>
#endif

/// Continues a CRC32C over `length` bytes. Start with crc = 0; the result of one call feeds the next,
/// so `vigil_crc32c_update(vigil_crc32c_update(0, a, n), b, m)` equals the CRC of a followed by b.
uint32_t vigil_crc32c_update(uint32_t crc, const void *data, size_t length);

/// The CRC32C of A followed by B, from `crc1` (the CRC32C of A), `crc2` (that of B) and `length2` (B's length
/// in bytes), without the bytes: zlib's crc32_combine. O(log length2): at most 64 multiplications mod P.
uint32_t vigil_crc32c_combine(uint32_t crc1, uint32_t crc2, uint64_t length2);

/// 1 when the hardware path is in use, 0 for the portable table.
int vigil_crc32c_is_hardware_accelerated(void);

/// The portable table path alone, for tests that check both paths agree.
uint32_t vigil_crc32c_portable_update(uint32_t crc, const void *data, size_t length);

/// Hints the CPU to bring the cache line at `address` into cache for a write soon. Never faults, even
/// on an invalid address; a no-op where the compiler has no prefetch builtin. Inlined into Swift callers.
static inline __attribute__((always_inline)) void vigil_prefetch_for_write(const void *address) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(address, 1, 3);
#endif
}

/// Returns malloc's free memory to the kernel where the C library can (glibc's `malloc_trim`); a no-op
/// elsewhere. Slow (walks every arena): call it between measurements, never on a hot path.
static inline void vigil_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

/// Sends up to `count` UDP datagrams (at most 1024) on `fd` with one `sendmmsg(2)` call where the system has
/// it (one `sendto` each elsewhere): datagram i is `lengths[i]` bytes at `payloads[i]`, all to `destination`
/// (a `struct sockaddr_in` or `sockaddr_in6` of `destination_length` bytes). Returns how many were sent
/// (the first ones; fewer than `count` when the socket would block or failed part way), or -1 with errno
/// set when none was.
int vigil_send_datagrams(int fd, void *const *payloads, const uint32_t *lengths, uint32_t count,
                         const void *destination, uint32_t destination_length);

#endif
