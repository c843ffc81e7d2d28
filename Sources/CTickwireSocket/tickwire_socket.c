#define _GNU_SOURCE
#include "tickwire_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct tickwire_batch {
    int capacity;
    struct mmsghdr *headers;
    struct iovec *vectors;
    struct sockaddr_in *addresses;
};

tickwire_batch *tickwire_batch_create(int capacity) {
    if (capacity <= 0 || capacity > 1024) return NULL;
    tickwire_batch *batch = calloc(1, sizeof(*batch));
    if (!batch) return NULL;
    batch->capacity = capacity;
    batch->headers = calloc((size_t)capacity, sizeof(struct mmsghdr));
    batch->vectors = calloc((size_t)capacity, sizeof(struct iovec));
    batch->addresses = calloc((size_t)capacity, sizeof(struct sockaddr_in));
    if (!batch->headers || !batch->vectors || !batch->addresses) {
        tickwire_batch_free(batch);
        return NULL;
    }
    return batch;
}

void tickwire_batch_free(tickwire_batch *batch) {
    if (!batch) return;
    free(batch->headers);
    free(batch->vectors);
    free(batch->addresses);
    free(batch);
}

static int prepare(tickwire_batch *batch, tickwire_datagram *datagrams, int count, int sending) {
    if (!batch || !datagrams || count <= 0) return 0;
    if (count > batch->capacity) count = batch->capacity;
    for (int i = 0; i < count; i++) {
        batch->vectors[i].iov_base = datagrams[i].bytes;
        batch->vectors[i].iov_len = datagrams[i].length;
        memset(&batch->addresses[i], 0, sizeof(struct sockaddr_in));
        if (sending) {
            batch->addresses[i].sin_family = AF_INET;
            batch->addresses[i].sin_addr.s_addr = datagrams[i].address;
            batch->addresses[i].sin_port = datagrams[i].port;
        }
        memset(&batch->headers[i], 0, sizeof(struct mmsghdr));
        batch->headers[i].msg_hdr.msg_iov = &batch->vectors[i];
        batch->headers[i].msg_hdr.msg_iovlen = 1;
        batch->headers[i].msg_hdr.msg_name = &batch->addresses[i];
        batch->headers[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
    }
    return count;
}

int tickwire_sendmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count) {
    count = prepare(batch, datagrams, count, 1);
    if (count == 0) return 0;
    int sent = sendmmsg(fd, batch->headers, (unsigned)count, MSG_DONTWAIT);
    if (sent < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    return sent;
}

int tickwire_recvmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count) {
    count = prepare(batch, datagrams, count, 0);
    if (count == 0) return 0;
    int received = recvmmsg(fd, batch->headers, (unsigned)count, MSG_DONTWAIT, NULL);
    if (received < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    for (int i = 0; i < received; i++) {
        datagrams[i].length = batch->headers[i].msg_len;
        datagrams[i].address = batch->addresses[i].sin_addr.s_addr;
        datagrams[i].port = batch->addresses[i].sin_port;
    }
    return received;
}

int tickwire_udp_socket(uint32_t address, uint16_t port, int buffer_bytes) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    if (buffer_bytes > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof(buffer_bytes));
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof(buffer_bytes));
    }
    struct sockaddr_in bound;
    memset(&bound, 0, sizeof(bound));
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = address;
    bound.sin_port = port;
    if (bind(fd, (struct sockaddr *)&bound, sizeof(bound)) < 0) {
        int error = errno;
        close(fd);
        return -error;
    }
    return fd;
}

uint16_t tickwire_udp_port(int fd) {
    struct sockaddr_in bound;
    socklen_t length = sizeof(bound);
    if (getsockname(fd, (struct sockaddr *)&bound, &length) < 0) return 0;
    return bound.sin_port;
}

static int wait_for(int fd, short events, int64_t timeout_ns) {
    struct pollfd entry = {.fd = fd, .events = events, .revents = 0};
    if (timeout_ns < 0) timeout_ns = 0;
    struct timespec timeout = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    int ready = ppoll(&entry, 1, &timeout, NULL);
    if (ready < 0) return errno == EINTR ? 0 : -errno;
    return ready > 0 ? 1 : 0;
}

int tickwire_wait_readable(int fd, int64_t timeout_ns) { return wait_for(fd, POLLIN, timeout_ns); }
int tickwire_wait_writable(int fd, int64_t timeout_ns) { return wait_for(fd, POLLOUT, timeout_ns); }

int tickwire_pin_thread(int core) {
    if (core < 0 || core >= CPU_SETSIZE) return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

int tickwire_available_cores(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return -errno;
    return CPU_COUNT(&set);
}
