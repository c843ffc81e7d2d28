#ifndef TICKWIRE_H
#define TICKWIRE_H

/*
 * libTickwireC: a Tickwire relay client for any engine that can call C.
 *
 * The same Swift client core the Swift API uses, exported as plain C. A client owns one
 * non-blocking UDP socket and does nothing on its own: the engine calls tickwire_client_poll
 * with the current time from its own loop (each frame, or at tickwire_client_next_wake), and
 * everything happens inside that call. Nothing here starts a thread or blocks.
 *
 * Threading: a client handle must not be used from two threads at once (lock around it, or keep
 * it on one thread). Different handles may be used on different threads at the same time. Every
 * entry point checks its handle against the live ones, so a freed, NULL or stray handle returns
 * TICKWIRE_ERROR_INVALID_HANDLE instead of crashing.
 *
 * Time: `now` is seconds on any monotonic clock the engine likes (it must not go backwards),
 * finite and >= 0.
 *
 * Every function returns TICKWIRE_OK (0) or a positive count on success and a negative
 * tickwire_error on failure; tickwire_error_string names each. No entry point traps on any
 * argument: bad sizes, NULL buffers and bad handles are error codes.
 *
 * The protocol is specified in PROTOCOL.md; this library speaks version tickwire_protocol_version().
 */

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tickwire_client tickwire_client;

enum tickwire_error {
    TICKWIRE_OK = 0,
    TICKWIRE_ERROR_INVALID_HANDLE = -1,    /* NULL, freed or not a client */
    TICKWIRE_ERROR_INVALID_ARGUMENT = -2,  /* a NULL pointer, a bad size or time */
    TICKWIRE_ERROR_INVALID_TOKEN = -3,     /* not a 2048-byte netcode 1.02 connect token */
    TICKWIRE_ERROR_NOT_JOINED = -4,        /* not (or no longer) in a room */
    TICKWIRE_ERROR_TOO_LARGE = -5,         /* over the welcome's state size or event size */
    TICKWIRE_ERROR_QUEUE_FULL = -6,        /* the reliable send queue is full: try later */
    TICKWIRE_ERROR_SOCKET = -7,            /* the UDP socket could not be opened or used */
    TICKWIRE_ERROR_BUFFER_TOO_SMALL = -8,  /* the caller's buffer is too small: see the length */
    TICKWIRE_ERROR_ALREADY_CONNECTING = -9 /* connect was already called on this client */
};

enum tickwire_state {
    TICKWIRE_STATE_IDLE = 0,       /* created, not connecting */
    TICKWIRE_STATE_CONNECTING = 1, /* netcode handshake, or waiting for the welcome */
    TICKWIRE_STATE_JOINED = 2,     /* in a room: send and receive */
    TICKWIRE_STATE_DENIED = 3,     /* the relay refused the room: see tickwire_client_denial */
    TICKWIRE_STATE_ENDED = 4       /* disconnected, timed out, or the token was refused */
};

enum tickwire_event_type {
    TICKWIRE_EVENT_JOINED = 1,      /* the welcome arrived: tickwire_client_welcome has it */
    TICKWIRE_EVENT_DENIED = 2,      /* reason: 1 room full, 2 room not hosted, 3 unsupported protocol */
    TICKWIRE_EVENT_PEER_JOINED = 3, /* client_id, entity_id */
    TICKWIRE_EVENT_PEER_LEFT = 4,   /* client_id; reason: 0 disconnected, 1 timed out, 2 removed */
    TICKWIRE_EVENT_MESSAGE = 5,     /* an event from client_id; its payload */
    TICKWIRE_EVENT_REFUSED = 6,     /* reason: 1 too large, 2 rate limited, 3 room busy, 4 unknown recipient */
    TICKWIRE_EVENT_ENDED = 7        /* the connection ended; reason: netcode's client state (0 disconnected, -1 denied, -2 request timed out, -3 response timed out, -4 connection timed out, -5 invalid token, -6 token expired) */
};

typedef struct {
    int32_t type;          /* enum tickwire_event_type */
    int32_t reason;        /* see the event type */
    uint64_t client_id;
    uint16_t entity_id;
    size_t payload_length; /* bytes of payload (MESSAGE); on BUFFER_TOO_SMALL, the size needed */
} tickwire_event;

typedef struct {
    uint16_t protocol_version;
    uint16_t entity_id;       /* this client's entity */
    uint16_t tick_rate;       /* snapshots per second */
    uint16_t max_state_size;  /* largest state, bytes */
    uint16_t room_capacity;
    uint16_t max_event_bytes; /* largest event payload, bytes */
} tickwire_welcome;

typedef struct {
    double rtt_ms;
    double rtt_jitter_ms;
    double packet_loss_percent;
    double sent_kbps;
    double received_kbps;
    uint64_t packets_sent;
    uint64_t packets_received;
    uint64_t packets_lost;
    uint64_t snapshots_decoded;
} tickwire_link_stats;

/* The protocol version this library speaks (PROTOCOL.md section 10). */
uint16_t tickwire_protocol_version(void);
/* A constant, NUL-terminated English description of a return code. */
const char *tickwire_error_string(int32_t code);

/* A new client (idle), or NULL when out of memory. Free it with tickwire_client_free. */
tickwire_client *tickwire_client_create(void);
/* Frees the client and closes its socket (without a disconnect: call tickwire_client_disconnect
 * first for a clean leave). The handle is invalid afterwards. */
int32_t tickwire_client_free(tickwire_client *client);

/* Opens the socket and starts connecting with a 2048-byte connect token (from the join API,
 * base64-decoded). */
int32_t tickwire_client_connect(tickwire_client *client, const uint8_t *token, size_t token_length, double now);
/* Reads every datagram waiting, runs the client's timers and sends what is due. Returns the
 * state (enum tickwire_state) or an error. */
int32_t tickwire_client_poll(tickwire_client *client, double now);
/* When the client next has something to do without new input (seconds on the caller's clock;
 * poll then or on the next frame, whichever is first). TICKWIRE_ERROR_NOT_JOINED once it has
 * ended or before connect. */
int32_t tickwire_client_next_wake(tickwire_client *client, double *wake);
/* The state (enum tickwire_state), or an error. */
int32_t tickwire_client_state(tickwire_client *client);
/* Sends 10 disconnect packets now and ends the connection. */
int32_t tickwire_client_disconnect(tickwire_client *client, double now);

/* The relay's welcome (once joined). */
int32_t tickwire_client_welcome(tickwire_client *client, tickwire_welcome *welcome);
/* The entity state (at most max_state_size bytes), unreliably, on the next poll. */
int32_t tickwire_client_send_state(tickwire_client *client, const uint8_t *state, size_t length);
/* An event (at most max_event_bytes), reliably and in order, to every other member of the room. */
int32_t tickwire_client_send_event(tickwire_client *client, const uint8_t *payload, size_t length);
/* An event, reliably and in order, to one member of the room. */
int32_t tickwire_client_send_event_to(tickwire_client *client, uint64_t client_id, const uint8_t *payload, size_t length);

/* Takes the oldest event not yet read: returns 1 and fills `event` (and `payload`, up to
 * `capacity` bytes), or 0 when there is none. If the payload does not fit, returns
 * TICKWIRE_ERROR_BUFFER_TOO_SMALL with event->payload_length set to the size needed and keeps
 * the event for the next call. `payload` may be NULL when `capacity` is 0. */
int32_t tickwire_client_next_event(tickwire_client *client, tickwire_event *event, uint8_t *payload, size_t capacity);

/* The newest snapshot: its tick and how many entities it holds (other members, not this
 * client). Returns 0 with entity_count 0 before the first snapshot. */
int32_t tickwire_client_snapshot(tickwire_client *client, uint32_t *tick, uint32_t *entity_count);
/* Entity `index` (0 ... entity_count - 1) of the newest snapshot: its id, its owner's client id
 * and its state (copied into `state`, up to `capacity` bytes; `*state_length` is its length,
 * also on BUFFER_TOO_SMALL). */
int32_t tickwire_client_snapshot_entity(tickwire_client *client, uint32_t index, uint16_t *entity_id,
                                        uint64_t *client_id, uint8_t *state, size_t capacity, size_t *state_length);

/* The link as the client measures it. */
int32_t tickwire_client_link_stats(tickwire_client *client, tickwire_link_stats *stats);

#ifdef __cplusplus
}
#endif

#endif
