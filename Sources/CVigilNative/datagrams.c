// Batched UDP sends: sendmmsg(2) takes an array of struct mmsghdr, which Swift's Glibc module does not
// export (it needs _GNU_SOURCE); the array lives on this function's stack, so a send allocates nothing.
#define _GNU_SOURCE
#include "CVigilNative.h"
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

int vigil_send_datagrams(int fd, void *const *payloads, const uint32_t *lengths, uint32_t count,
                         const void *destination, uint32_t destination_length) {
    if (count > 1024) {
        errno = EINVAL;
        return -1;
    }
#if defined(__linux__)
    struct mmsghdr messages[count > 0 ? count : 1];
    struct iovec vectors[count > 0 ? count : 1];
    for (uint32_t i = 0; i < count; i++) {
        vectors[i].iov_base = payloads[i];
        vectors[i].iov_len = lengths[i];
        memset(&messages[i], 0, sizeof messages[i]);
        messages[i].msg_hdr.msg_name = (void *)destination;
        messages[i].msg_hdr.msg_namelen = destination_length;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
    }
    return sendmmsg(fd, messages, count, 0);
#else
    uint32_t sent = 0;
    for (; sent < count; sent++) {
        if (sendto(fd, payloads[sent], lengths[sent], 0, destination, destination_length) < 0) {
            return sent > 0 ? (int)sent : -1;
        }
    }
    return (int)sent;
#endif
}
