#ifndef TICKWIRE_SOCKET_H
#define TICKWIRE_SOCKET_H

#include <stddef.h>
#include <stdint.h>

/* Batched UDP I/O for Linux (recvmmsg/sendmmsg), for the capacity benchmark's ceiling loop, and
 * thread pinning.
 * Each call moves up to `count` datagrams; addresses are IPv4 (address and port in network order).
 * Returns the number of datagrams moved, 0 when the socket would block, -errno on error. */

typedef struct {
    void *bytes;          /* the datagram, or the buffer to receive into */
    uint32_t length;      /* bytes to send, or the buffer's capacity; set to the received length */
    uint32_t address;     /* IPv4 destination / source, network order */
    uint16_t port;        /* destination / source port, network order */
} tickwire_datagram;

/* Scratch for up to `capacity` datagrams per call: allocated once, reused for every call. */
typedef struct tickwire_batch tickwire_batch;
tickwire_batch *tickwire_batch_create(int capacity);
void tickwire_batch_free(tickwire_batch *batch);

int tickwire_sendmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count);
int tickwire_recvmmsg(int fd, tickwire_batch *batch, tickwire_datagram *datagrams, int count);

/* A non-blocking IPv4 UDP socket bound to address:port (network order; port 0 picks one), with
 * the given buffer sizes (0: the system's). Returns the fd or -errno. */
int tickwire_udp_socket(uint32_t address, uint16_t port, int buffer_bytes);
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

#endif
