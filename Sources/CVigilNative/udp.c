// UDP receiving for flow inputs: binding with a large receive buffer and kernel drop counting, and
// batched receives (recvmmsg), which Swift's Glibc module does not export.
#define _GNU_SOURCE
#include "CVigilNative.h"
#if defined(__linux__)
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int vigil_udp_bind(const char *host, uint16_t port, int requested_buffer_bytes, int *granted_buffer_bytes,
                   int *error_number, int *gai_error) {
    *error_number = 0;
    *gai_error = 0;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char service[8];
    snprintf(service, sizeof service, "%u", (unsigned)port);
    struct addrinfo *found = NULL;
    int status = getaddrinfo(host, service, &hints, &found);
    if (status != 0) {
        *gai_error = status;
        return -1;
    }
    int fd = socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *error_number = errno;
        freeaddrinfo(found);
        return -1;
    }
    if (found->ai_family == AF_INET6) {
        int zero = 0;  // "::" takes IPv4 senders too.
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    }
    // SO_RCVBUFFORCE passes net.core.rmem_max when privileged; otherwise SO_RCVBUF is capped by it.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &requested_buffer_bytes, sizeof requested_buffer_bytes) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &requested_buffer_bytes, sizeof requested_buffer_bytes);
    }
    int granted = 0;
    socklen_t length = sizeof granted;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &length);
    // The kernel reports twice what was set (its bookkeeping overhead).
    *granted_buffer_bytes = granted / 2;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
    if (bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
        *error_number = errno;
        close(fd);
        freeaddrinfo(found);
        return -1;
    }
    freeaddrinfo(found);
    return fd;
}

int vigil_udp_bound_port(int fd) {
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    if (getsockname(fd, (struct sockaddr *)&address, &length) != 0) return -1;
    if (address.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&address)->sin_port);
    if (address.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&address)->sin6_port);
    return -1;
}

int vigil_udp_receive_batch(int fd, uint8_t *buffers, size_t slot_bytes, vigil_datagram_info *infos, int count,
                            uint32_t *kernel_drops, int *has_kernel_drops) {
    enum { maximum = 64 };
    if (count > maximum) count = maximum;
    struct mmsghdr messages[maximum];
    struct iovec vectors[maximum];
    struct sockaddr_storage addresses[maximum];
    // Room for the SO_RXQ_OVFL control message (a u32) per datagram.
    char controls[maximum][CMSG_SPACE(sizeof(uint32_t))];
    memset(messages, 0, sizeof(messages[0]) * (size_t)count);
    for (int i = 0; i < count; i++) {
        vectors[i].iov_base = buffers + (size_t)i * slot_bytes;
        vectors[i].iov_len = slot_bytes;
        messages[i].msg_hdr.msg_iov = &vectors[i];
        messages[i].msg_hdr.msg_iovlen = 1;
        messages[i].msg_hdr.msg_name = &addresses[i];
        messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
        messages[i].msg_hdr.msg_control = controls[i];
        messages[i].msg_hdr.msg_controllen = sizeof controls[i];
    }
    int received = recvmmsg(fd, messages, (unsigned)count, MSG_DONTWAIT, NULL);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    *has_kernel_drops = 0;
    for (int i = 0; i < received; i++) {
        vigil_datagram_info *info = &infos[i];
        memset(info, 0, sizeof *info);
        info->length = messages[i].msg_len;
        info->truncated = (messages[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        struct sockaddr_storage *address = &addresses[i];
        if (address->ss_family == AF_INET) {
            struct sockaddr_in *v4 = (struct sockaddr_in *)address;
            info->address[10] = 0xff;
            info->address[11] = 0xff;
            memcpy(&info->address[12], &v4->sin_addr, 4);
            info->port = ntohs(v4->sin_port);
        } else if (address->ss_family == AF_INET6) {
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)address;
            memcpy(info->address, &v6->sin6_addr, 16);
            info->port = ntohs(v6->sin6_port);
        }
        for (struct cmsghdr *control = CMSG_FIRSTHDR(&messages[i].msg_hdr); control != NULL;
             control = CMSG_NXTHDR(&messages[i].msg_hdr, control)) {
            if (control->cmsg_level == SOL_SOCKET && control->cmsg_type == SO_RXQ_OVFL) {
                memcpy(kernel_drops, CMSG_DATA(control), sizeof(uint32_t));
                *has_kernel_drops = 1;
            }
        }
    }
    return received;
}
#endif
