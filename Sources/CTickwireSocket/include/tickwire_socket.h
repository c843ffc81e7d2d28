#ifndef TICKWIRE_SOCKET_H
#define TICKWIRE_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "tickwire_poller.h"

/* Batched UDP I/O (recvmmsg/sendmmsg on Linux, a loop of sendto/recvfrom elsewhere) for the
 * relay's send path and the capacity benchmark, and thread pinning. Nothing here allocates after
 * tickwire_batch_create. Functions that move datagrams return how many moved, 0 when the socket
 * would block, -errno on error. */

typedef struct {
    void *bytes;          /* the datagram, or the buffer to receive into */
    uint32_t length;      /* bytes to send, or the buffer's capacity; set to the received length */
    uint8_t family;       /* 4 or 6 */
    uint32_t address;     /* IPv4, network order */
    uint8_t address6[16]; /* IPv6, network order */
    uint16_t port;        /* network order */
} tickwire_datagram;

/* Sets where `datagram` goes, from a netcode address: family 4 (`low` holds the IPv4 address,
 * first octet highest) or 6 (`high` then `low` are the 16 bytes, most significant first), and the
 * port in host order. Any other family leaves the datagram unchanged. */
void tickwire_datagram_set_destination(tickwire_datagram *datagram, int family, uint64_t high, uint64_t low, uint16_t port);

/* Scratch for up to `capacity` datagrams per call: allocated once, reused for every call. */
typedef struct tickwire_batch tickwire_batch;
tickwire_batch *tickwire_batch_create(int capacity);
void tickwire_batch_free(tickwire_batch *batch);

/* Sends up to `count` datagrams. With map_v4_to_v6, IPv4 destinations are sent as IPv4-mapped
 * IPv6 (for a dual-stack socket bound to [::]). */
int tickwire_sendmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count, int map_v4_to_v6);
/* Receives up to `count` datagrams; IPv4-mapped IPv6 sources are reported as IPv4. */
int tickwire_recvmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count);
/* Points the batch's `count` receive slots at `stride`-spaced buffers of `capacity` bytes in
 * `arena`, once, for tickwire_recvmmsg_prepared: 0, or -EINVAL (count above the batch's capacity). */
int tickwire_batch_prepare_receive(tickwire_batch *batch, uint8_t *arena, size_t stride, uint32_t capacity, int count);
/* tickwire_recvmmsg into the slots tickwire_batch_prepare_receive set up: each call restores only
 * what the previous one changed, instead of rewriting every slot's message header. Fills
 * datagrams[i] (bytes, length, source) for each datagram read. */
int tickwire_recvmmsg_prepared(int fd, tickwire_batch *batch, tickwire_datagram *datagrams);

/* A non-blocking IPv4 UDP socket bound to address:port (network order; port 0 picks one), with
 * the given buffer sizes (0: the system's). Returns the fd or -errno. */
int tickwire_udp_socket(uint32_t address, uint16_t port, int buffer_bytes);
/* A non-blocking UDP socket bound to a numeric host ("0.0.0.0", "::", "127.0.0.1") and a port in
 * host order; an IPv6 socket also takes IPv4 (dual stack). SO_REUSEADDR when reuse_address.
 * Returns the fd or -errno (-EINVAL for a host that is not a numeric address). */
int tickwire_udp_bind(const char *host, uint16_t port, int buffer_bytes, int reuse_address);
/* The port (network order) the socket is bound to, or 0. */
uint16_t tickwire_udp_port(int fd);
/* Waits up to timeout_ns for the socket to become readable; 1 readable, 0 timeout, -errno. */
int tickwire_wait_readable(int fd, int64_t timeout_ns);
/* Waits up to timeout_ns for the socket to become writable; 1 writable, 0 timeout, -errno. */
int tickwire_wait_writable(int fd, int64_t timeout_ns);

/* Pins the calling thread to one core: 0 on success, -errno otherwise. */
int tickwire_pin_thread(int core);
/* The number of cores the calling thread may run on, or -errno. */
int tickwire_available_cores(void);
/* Runs the calling thread under SCHED_FIFO at `priority` (1...99): 0 on success, -errno otherwise
 * (-EPERM without CAP_SYS_NICE or an RLIMIT_RTPRIO that allows it). */
int tickwire_set_fifo_priority(int priority);
/* The calling thread's scheduling policy (SCHED_OTHER 0, SCHED_FIFO 1, ...) and priority, or -errno. */
int tickwire_scheduling(int *priority);

#endif
