#ifndef TICKWIRE_POLLER_H
#define TICKWIRE_POLLER_H

#include <stdint.h>

/* What one I/O thread waits on: readable sockets, a deadline on the monotonic clock (the clock of
 * CLOCK_MONOTONIC, in nanoseconds) and wake-ups from other threads. Linux: epoll, a timerfd and an
 * eventfd; elsewhere poll(2) over at most TICKWIRE_POLLER_FALLBACK_FDS sockets and a pipe.
 * Functions return 0 or a count on success and -errno on failure. */
typedef struct tickwire_poller tickwire_poller;

#define TICKWIRE_POLLER_NO_DEADLINE 0xFFFFFFFFFFFFFFFFull
#define TICKWIRE_POLLER_FALLBACK_FDS 64

/* NULL when the kernel refuses an epoll, timer or event descriptor (errno says why). */
tickwire_poller *tickwire_poller_create(void);
void tickwire_poller_free(tickwire_poller *poller);

/* Watches `fd` for readability (level-triggered); `token` comes back from wait when it is readable. */
int tickwire_poller_add(tickwire_poller *poller, int fd, uint64_t token);
int tickwire_poller_remove(tickwire_poller *poller, int fd);

/* As add, but the socket is watched for one readiness only: after wait reports it, it is not
 * reported again until tickwire_poller_rearm. For reading a socket at most so often. */
int tickwire_poller_add_once(tickwire_poller *poller, int fd, uint64_t token);
int tickwire_poller_rearm(tickwire_poller *poller, int fd, uint64_t token);

/* Blocks until a watched socket is readable, another thread calls wake, or the monotonic clock
 * reaches `deadline_ns` (TICKWIRE_POLLER_NO_DEADLINE: none). Writes the tokens of readable
 * sockets to `ready` (at most `capacity`) and returns how many; 0 means woken or deadline reached
 * (the caller reads its clock). EINTR is returned as 0. */
int tickwire_poller_wait(tickwire_poller *poller, uint64_t deadline_ns, uint64_t *ready, int capacity);

/* Makes a current or the next wait return. Any thread; never blocks. */
int tickwire_poller_wake(tickwire_poller *poller);

/* The monotonic clock now, in nanoseconds (the clock deadlines are on). */
uint64_t tickwire_monotonic_ns(void);

/* Names the calling thread (Linux shows the first 15 bytes); 0 or -errno. */
int tickwire_name_thread(const char *name);

#endif
