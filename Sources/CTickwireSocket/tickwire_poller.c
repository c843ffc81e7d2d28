#define _GNU_SOURCE
#include "tickwire_poller.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t tickwire_monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

int tickwire_name_thread(const char *name) {
#if defined(__linux__)
    char shown[16];
    strncpy(shown, name, sizeof(shown) - 1);
    shown[sizeof(shown) - 1] = 0;
    return -pthread_setname_np(pthread_self(), shown);
#elif defined(__APPLE__)
    return -pthread_setname_np(name);
#else
    (void)name;
    return 0;
#endif
}

#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>

/* epoll data of the poller's own descriptors; socket tokens are the caller's. */
#define WAKE_TOKEN UINT64_MAX
#define TIMER_TOKEN (UINT64_MAX - 1)
#define EVENTS 64

struct tickwire_poller {
    int epoll;
    int wake;
    int timer;
    /* The deadline the timer is armed for (NO_DEADLINE: disarmed), so an unchanged deadline costs no syscall. */
    uint64_t armed;
    struct epoll_event events[EVENTS];
};

static int control(int epoll, int operation, int fd, uint32_t events, uint64_t token) {
    struct epoll_event event;
    memset(&event, 0, sizeof(event));
    event.events = events;
    event.data.u64 = token;
    return epoll_ctl(epoll, operation, fd, &event) < 0 ? -errno : 0;
}

static int watch(int epoll, int fd, uint64_t token) { return control(epoll, EPOLL_CTL_ADD, fd, EPOLLIN, token); }

tickwire_poller *tickwire_poller_create(void) {
    tickwire_poller *poller = calloc(1, sizeof(*poller));
    if (!poller) return NULL;
    poller->epoll = epoll_create1(EPOLL_CLOEXEC);
    poller->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    poller->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    poller->armed = TICKWIRE_POLLER_NO_DEADLINE;
    if (poller->epoll < 0 || poller->wake < 0 || poller->timer < 0
        || watch(poller->epoll, poller->wake, WAKE_TOKEN) < 0 || watch(poller->epoll, poller->timer, TIMER_TOKEN) < 0) {
        int error = errno;
        tickwire_poller_free(poller);
        errno = error;
        return NULL;
    }
    return poller;
}

void tickwire_poller_free(tickwire_poller *poller) {
    if (!poller) return;
    if (poller->epoll >= 0) close(poller->epoll);
    if (poller->wake >= 0) close(poller->wake);
    if (poller->timer >= 0) close(poller->timer);
    free(poller);
}

int tickwire_poller_add(tickwire_poller *poller, int fd, uint64_t token) {
    if (token >= TIMER_TOKEN) return -EINVAL;
    return watch(poller->epoll, fd, token);
}

int tickwire_poller_remove(tickwire_poller *poller, int fd) {
    return epoll_ctl(poller->epoll, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int tickwire_poller_add_once(tickwire_poller *poller, int fd, uint64_t token) {
    if (token >= TIMER_TOKEN) return -EINVAL;
    return control(poller->epoll, EPOLL_CTL_ADD, fd, EPOLLIN | EPOLLONESHOT, token);
}

int tickwire_poller_rearm(tickwire_poller *poller, int fd, uint64_t token) {
    if (token >= TIMER_TOKEN) return -EINVAL;
    return control(poller->epoll, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLONESHOT, token);
}

static int arm(tickwire_poller *poller, uint64_t deadline_ns) {
    if (deadline_ns == poller->armed) return 0;
    struct itimerspec spec;
    memset(&spec, 0, sizeof(spec));
    if (deadline_ns != TICKWIRE_POLLER_NO_DEADLINE) {
        /* 0 would disarm: a deadline at the clock's origin is long past anyway. */
        uint64_t at = deadline_ns == 0 ? 1 : deadline_ns;
        spec.it_value.tv_sec = (time_t)(at / 1000000000u);
        spec.it_value.tv_nsec = (long)(at % 1000000000u);
    }
    if (timerfd_settime(poller->timer, TFD_TIMER_ABSTIME, &spec, NULL) < 0) return -errno;
    poller->armed = deadline_ns;
    return 0;
}

int tickwire_poller_wait(tickwire_poller *poller, uint64_t deadline_ns, uint64_t *ready, int capacity) {
    int rc = arm(poller, deadline_ns);
    if (rc < 0) return rc;
    int count = epoll_wait(poller->epoll, poller->events, EVENTS, -1);
    if (count < 0) return errno == EINTR ? 0 : -errno;
    int found = 0;
    uint64_t drained;
    for (int i = 0; i < count; i++) {
        uint64_t token = poller->events[i].data.u64;
        if (token == WAKE_TOKEN) {
            while (read(poller->wake, &drained, sizeof(drained)) > 0) {}
        } else if (token == TIMER_TOKEN) {
            while (read(poller->timer, &drained, sizeof(drained)) > 0) {}
            /* Fired: the timer is disarmed until the next arm. */
            poller->armed = TICKWIRE_POLLER_NO_DEADLINE;
        } else if (found < capacity) {
            ready[found++] = token;
        }
    }
    return found;
}

int tickwire_poller_wake(tickwire_poller *poller) {
    uint64_t one = 1;
    if (write(poller->wake, &one, sizeof(one)) < 0 && errno != EAGAIN) return -errno;
    return 0;
}

#else
#include <poll.h>

struct tickwire_poller {
    int pipe[2];
    int count;
    int fds[TICKWIRE_POLLER_FALLBACK_FDS];
    uint64_t tokens[TICKWIRE_POLLER_FALLBACK_FDS];
    /* 0: not reported until rearmed (a socket added once, already reported); 1: watched. */
    char armed[TICKWIRE_POLLER_FALLBACK_FDS];
    char once[TICKWIRE_POLLER_FALLBACK_FDS];
    struct pollfd polled[TICKWIRE_POLLER_FALLBACK_FDS + 1];
};

tickwire_poller *tickwire_poller_create(void) {
    tickwire_poller *poller = calloc(1, sizeof(*poller));
    if (!poller) return NULL;
    if (pipe(poller->pipe) < 0) { free(poller); return NULL; }
    for (int i = 0; i < 2; i++) {
        fcntl(poller->pipe[i], F_SETFL, fcntl(poller->pipe[i], F_GETFL, 0) | O_NONBLOCK);
        fcntl(poller->pipe[i], F_SETFD, FD_CLOEXEC);
    }
    return poller;
}

void tickwire_poller_free(tickwire_poller *poller) {
    if (!poller) return;
    close(poller->pipe[0]);
    close(poller->pipe[1]);
    free(poller);
}

int tickwire_poller_add(tickwire_poller *poller, int fd, uint64_t token) {
    if (poller->count == TICKWIRE_POLLER_FALLBACK_FDS) return -EMFILE;
    poller->fds[poller->count] = fd;
    poller->tokens[poller->count] = token;
    poller->armed[poller->count] = 1;
    poller->once[poller->count] = 0;
    poller->count++;
    return 0;
}

int tickwire_poller_add_once(tickwire_poller *poller, int fd, uint64_t token) {
    int rc = tickwire_poller_add(poller, fd, token);
    if (rc == 0) poller->once[poller->count - 1] = 1;
    return rc;
}

int tickwire_poller_rearm(tickwire_poller *poller, int fd, uint64_t token) {
    for (int i = 0; i < poller->count; i++) {
        if (poller->fds[i] != fd) continue;
        poller->tokens[i] = token;
        poller->armed[i] = 1;
        return 0;
    }
    return -ENOENT;
}

int tickwire_poller_remove(tickwire_poller *poller, int fd) {
    for (int i = 0; i < poller->count; i++) {
        if (poller->fds[i] != fd) continue;
        poller->count--;
        poller->fds[i] = poller->fds[poller->count];
        poller->tokens[i] = poller->tokens[poller->count];
        poller->armed[i] = poller->armed[poller->count];
        poller->once[i] = poller->once[poller->count];
        return 0;
    }
    return -ENOENT;
}

int tickwire_poller_wait(tickwire_poller *poller, uint64_t deadline_ns, uint64_t *ready, int capacity) {
    int timeout = -1;
    if (deadline_ns != TICKWIRE_POLLER_NO_DEADLINE) {
        uint64_t now = tickwire_monotonic_ns();
        /* poll(2) takes milliseconds: round up so the deadline has passed on return. */
        timeout = deadline_ns <= now ? 0 : (int)((deadline_ns - now + 999999u) / 1000000u);
    }
    /* A socket not armed is polled for nothing (a negative fd is skipped by poll). */
    for (int i = 0; i < poller->count; i++) {
        poller->polled[i] = (struct pollfd){ .fd = poller->armed[i] ? poller->fds[i] : -1, .events = POLLIN };
    }
    poller->polled[poller->count] = (struct pollfd){ .fd = poller->pipe[0], .events = POLLIN };
    int count = poll(poller->polled, (nfds_t)poller->count + 1, timeout);
    if (count < 0) return errno == EINTR ? 0 : -errno;
    char drained[64];
    if (poller->polled[poller->count].revents) while (read(poller->pipe[0], drained, sizeof(drained)) > 0) {}
    int found = 0;
    for (int i = 0; i < poller->count && found < capacity; i++) {
        if (!poller->polled[i].revents) continue;
        ready[found++] = poller->tokens[i];
        if (poller->once[i]) poller->armed[i] = 0;
    }
    return found;
}

int tickwire_poller_wake(tickwire_poller *poller) {
    char one = 1;
    if (write(poller->pipe[1], &one, 1) < 0 && errno != EAGAIN) return -errno;
    return 0;
}
#endif
