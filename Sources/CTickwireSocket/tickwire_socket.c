#define _GNU_SOURCE
#include "tickwire_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct tickwire_batch {
    int capacity;
    /* Receive slots set up by tickwire_batch_prepare_receive (0: none). */
    int prepared;
    uint8_t *arena;
    size_t stride;
    uint32_t slot_capacity;
#if defined(__linux__)
    struct mmsghdr *headers;
#endif
    struct iovec *vectors;
    struct sockaddr_in6 *addresses;
};

tickwire_batch *tickwire_batch_create(int capacity) {
    if (capacity <= 0 || capacity > 1024) return NULL;
    tickwire_batch *batch = calloc(1, sizeof(*batch));
    if (!batch) return NULL;
    batch->capacity = capacity;
#if defined(__linux__)
    batch->headers = calloc((size_t)capacity, sizeof(struct mmsghdr));
    if (!batch->headers) { tickwire_batch_free(batch); return NULL; }
#endif
    batch->vectors = calloc((size_t)capacity, sizeof(struct iovec));
    batch->addresses = calloc((size_t)capacity, sizeof(struct sockaddr_in6));
    if (!batch->vectors || !batch->addresses) {
        tickwire_batch_free(batch);
        return NULL;
    }
    return batch;
}

void tickwire_batch_free(tickwire_batch *batch) {
    if (!batch) return;
#if defined(__linux__)
    free(batch->headers);
#endif
    free(batch->vectors);
    free(batch->addresses);
    free(batch);
}

/* Fills the sockaddr for a destination; returns its length. */
static socklen_t destination(struct sockaddr_in6 *storage, const tickwire_datagram *d, int map_v4_to_v6) {
    memset(storage, 0, sizeof(*storage));
    if (d->family == 4 && !map_v4_to_v6) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)storage;
        v4->sin_family = AF_INET;
        v4->sin_addr.s_addr = d->address;
        v4->sin_port = d->port;
        return sizeof(struct sockaddr_in);
    }
    storage->sin6_family = AF_INET6;
    storage->sin6_port = d->port;
    if (d->family == 4) {
        storage->sin6_addr.s6_addr[10] = 0xff;
        storage->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&storage->sin6_addr.s6_addr[12], &d->address, 4);
    } else {
        memcpy(storage->sin6_addr.s6_addr, d->address6, 16);
    }
    return sizeof(struct sockaddr_in6);
}

/* Reads a source sockaddr into the datagram (IPv4-mapped IPv6 as IPv4). */
static void source(tickwire_datagram *d, const struct sockaddr_in6 *storage) {
    if (storage->sin6_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)storage;
        d->family = 4;
        d->address = v4->sin_addr.s_addr;
        d->port = v4->sin_port;
        return;
    }
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    d->port = storage->sin6_port;
    if (memcmp(storage->sin6_addr.s6_addr, mapped, 12) == 0) {
        d->family = 4;
        memcpy(&d->address, &storage->sin6_addr.s6_addr[12], 4);
    } else {
        d->family = 6;
        memcpy(d->address6, storage->sin6_addr.s6_addr, 16);
    }
}

#if defined(__linux__)
/* Points message header i at datagram d's bytes and at address slot i (name_length bytes of it). */
static void point_header(tickwire_batch *batch, int i, const tickwire_datagram *d, socklen_t name_length) {
    batch->vectors[i].iov_base = d->bytes;
    batch->vectors[i].iov_len = d->length;
    memset(&batch->headers[i], 0, sizeof(struct mmsghdr));
    batch->headers[i].msg_hdr.msg_iov = &batch->vectors[i];
    batch->headers[i].msg_hdr.msg_iovlen = 1;
    batch->headers[i].msg_hdr.msg_name = &batch->addresses[i];
    batch->headers[i].msg_hdr.msg_namelen = name_length;
}
#endif

int tickwire_sendmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count, int map_v4_to_v6) {
    if (!batch || !datagrams || count <= 0) return 0;
    batch->prepared = 0; /* as in tickwire_recvmmsg */
    if (count > batch->capacity) count = batch->capacity;
#if defined(__linux__)
    for (int i = 0; i < count; i++) {
        point_header(batch, i, &datagrams[i], destination(&batch->addresses[i], &datagrams[i], map_v4_to_v6));
    }
    int sent = sendmmsg(fd, batch->headers, (unsigned)count, MSG_DONTWAIT);
    if (sent < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    return sent;
#else
    int sent = 0;
    for (int i = 0; i < count; i++) {
        socklen_t length = destination(&batch->addresses[0], &datagrams[i], map_v4_to_v6);
        if (sendto(fd, datagrams[i].bytes, datagrams[i].length, 0, (struct sockaddr *)&batch->addresses[0], length) < 0) {
            if (sent > 0) return sent;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
        }
        sent++;
    }
    return sent;
#endif
}

int tickwire_recvmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count) {
    if (!batch || !datagrams || count <= 0) return 0;
    batch->prepared = 0; /* the headers are repointed: prepare again before tickwire_recvmmsg_prepared */
    if (count > batch->capacity) count = batch->capacity;
#if defined(__linux__)
    for (int i = 0; i < count; i++) point_header(batch, i, &datagrams[i], sizeof(struct sockaddr_in6));
    int received = recvmmsg(fd, batch->headers, (unsigned)count, MSG_DONTWAIT, NULL);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < received; i++) {
        datagrams[i].length = batch->headers[i].msg_len;
        source(&datagrams[i], &batch->addresses[i]);
    }
    return received;
#else
    int received = 0;
    for (int i = 0; i < count; i++) {
        socklen_t length = sizeof(struct sockaddr_in6);
        ssize_t n = recvfrom(fd, datagrams[i].bytes, datagrams[i].length, MSG_DONTWAIT, (struct sockaddr *)&batch->addresses[0], &length);
        if (n < 0) {
            if (received > 0) return received;
            return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
        }
        datagrams[i].length = (uint32_t)n;
        source(&datagrams[i], &batch->addresses[0]);
        received++;
    }
    return received;
#endif
}

int tickwire_batch_prepare_receive(tickwire_batch *batch, uint8_t *arena, size_t stride, uint32_t capacity, int count) {
    if (!batch || !arena || count <= 0 || count > batch->capacity) return -EINVAL;
    batch->arena = arena;
    batch->stride = stride;
    batch->slot_capacity = capacity;
    batch->prepared = count;
#if defined(__linux__)
    for (int i = 0; i < count; i++) {
        tickwire_datagram slot = {.bytes = arena + (size_t)i * stride, .length = capacity};
        point_header(batch, i, &slot, sizeof(struct sockaddr_in6));
    }
#endif
    return 0;
}

int tickwire_recvmmsg_prepared(int fd, tickwire_batch *batch, tickwire_datagram *datagrams) {
    if (!batch || !datagrams) return 0;
    if (batch->prepared <= 0) return -EINVAL;
#if defined(__linux__)
    /* The kernel reads a header only for each message it tries, and writes msg_len and
     * msg_namelen of each it fills: those are all a call changes. */
    int received = recvmmsg(fd, batch->headers, (unsigned)batch->prepared, MSG_DONTWAIT, NULL);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < received; i++) {
        datagrams[i].bytes = batch->arena + (size_t)i * batch->stride;
        datagrams[i].length = batch->headers[i].msg_len;
        source(&datagrams[i], &batch->addresses[i]);
        batch->headers[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in6);
    }
    return received;
#else
    int prepared = batch->prepared;
    for (int i = 0; i < prepared; i++) {
        datagrams[i].bytes = batch->arena + (size_t)i * batch->stride;
        datagrams[i].length = batch->slot_capacity;
    }
    int received = tickwire_recvmmsg(fd, batch, datagrams, prepared);
    batch->prepared = prepared; /* recvfrom here: no header was repointed */
    return received;
#endif
}

static int configure(int fd, int buffer_bytes, int reuse_address) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    if (buffer_bytes > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
    }
    if (reuse_address) {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    }
    return 0;
}

int tickwire_udp_socket(uint32_t address, uint16_t port, int buffer_bytes) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return -errno;
    int rc = configure(fd, buffer_bytes, 0);
    struct sockaddr_in bound;
    memset(&bound, 0, sizeof(bound));
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = address;
    bound.sin_port = port;
    if (rc < 0 || bind(fd, (struct sockaddr *)&bound, sizeof(bound)) < 0) {
        int error = rc < 0 ? -rc : errno;
        close(fd);
        return -error;
    }
    return fd;
}

int tickwire_udp_bind(const char *host, uint16_t port, int buffer_bytes, int reuse_address) {
    struct sockaddr_in6 storage;
    memset(&storage, 0, sizeof(storage));
    socklen_t length;
    int family;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&storage;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        family = AF_INET;
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        length = sizeof(struct sockaddr_in);
    } else if (inet_pton(AF_INET6, host, &storage.sin6_addr) == 1) {
        family = AF_INET6;
        storage.sin6_family = AF_INET6;
        storage.sin6_port = htons(port);
        length = sizeof(struct sockaddr_in6);
    } else {
        return -EINVAL;
    }
    int fd = socket(family, SOCK_DGRAM, 0);
    if (fd < 0) return -errno;
    int rc = configure(fd, buffer_bytes, reuse_address);
    if (rc == 0 && family == AF_INET6) {
        int zero = 0;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (rc < 0 || bind(fd, (struct sockaddr *)&storage, length) < 0) {
        int error = rc < 0 ? -rc : errno;
        close(fd);
        return -error;
    }
    return fd;
}

uint16_t tickwire_udp_port(int fd) {
    struct sockaddr_in6 bound;
    socklen_t length = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &length) < 0) return 0;
    return bound.sin6_port; /* sin_port and sin6_port share their offset */
}

static int wait_for(int fd, short events, int64_t timeout_ns) {
    struct pollfd entry = {.fd = fd, .events = events, .revents = 0};
    if (timeout_ns < 0) timeout_ns = 0;
#if defined(__linux__)
    struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    int ready = ppoll(&entry, 1, &timeout, NULL);
#else
    int ready = poll(&entry, 1, (int)((timeout_ns + 999999) / 1000000));
#endif
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    return ready > 0 ? 1 : 0;
}

int tickwire_wait_readable(int fd, int64_t timeout_ns) { return wait_for(fd, POLLIN, timeout_ns); }
int tickwire_wait_writable(int fd, int64_t timeout_ns) { return wait_for(fd, POLLOUT, timeout_ns); }

int tickwire_pin_thread(int core) {
#if defined(__linux__)
    if (core < 0 || core >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
#else
    (void)core;
    return -ENOTSUP;
#endif
}

int tickwire_set_fifo_priority(int priority) {
#if defined(__linux__)
    if (priority < sched_get_priority_min(SCHED_FIFO) || priority > sched_get_priority_max(SCHED_FIFO)) return -EINVAL;
    struct sched_param parameter = { .sched_priority = priority };
    int failed = pthread_setschedparam(pthread_self(), SCHED_FIFO, &parameter);
    return failed == 0 ? 0 : -failed;
#else
    (void)priority;
    return -ENOTSUP;
#endif
}

int tickwire_scheduling(int *priority) {
    int policy = 0;
    struct sched_param parameter;
    int failed = pthread_getschedparam(pthread_self(), &policy, &parameter);
    if (failed != 0) return -failed;
    if (priority) *priority = parameter.sched_priority;
    return policy;
}

int tickwire_available_cores(void) {
#if defined(__linux__)
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -errno;
    return CPU_COUNT(&set);
#else
    return -ENOTSUP;
#endif
}

void tickwire_datagram_set_destination(tickwire_datagram *datagram, int family, uint64_t high, uint64_t low, uint16_t port) {
    if (family == 4) {
        datagram->family = 4;
        datagram->address = htonl((uint32_t)low);
    } else if (family == 6) {
        datagram->family = 6;
        for (int i = 0; i < 8; i++) {
            datagram->address6[i] = (uint8_t)(high >> (56 - 8 * i));
            datagram->address6[8 + i] = (uint8_t)(low >> (56 - 8 * i));
        }
    } else {
        return;
    }
    datagram->port = htons(port);
}
