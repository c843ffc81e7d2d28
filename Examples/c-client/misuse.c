/*
 * Every entry point of tickwire.h called wrongly: NULL, freed and stray handles, NULL buffers,
 * absurd sizes and times, a bad token. Each must return an error code, never crash. The test
 * suite builds and runs this; it prints "misuse ok" and exits 0 when every call did.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "tickwire.h"

static int failures = 0;

static void expect(int got, int want, const char *what) {
    if (got != want) {
        printf("FAIL %s: got %d (%s), want %d\n", what, got, tickwire_error_string(got), want);
        failures++;
    }
}

int main(void) {
    const int H = TICKWIRE_ERROR_INVALID_HANDLE, A = TICKWIRE_ERROR_INVALID_ARGUMENT;
    uint8_t bytes[16] = {0};
    tickwire_event event;
    tickwire_welcome welcome;
    tickwire_link_stats stats;
    uint32_t tick, count;
    double wake;
    uint64_t stray_storage[8] = {0};
    tickwire_client *stray = (tickwire_client *)stray_storage;
    tickwire_client *handles[2] = {NULL, stray};

    for (int i = 0; i < 2; i++) {
        tickwire_client *c = handles[i];
        expect(tickwire_client_free(c), H, "free bad handle");
        expect(tickwire_client_connect(c, bytes, sizeof bytes, 0), H, "connect bad handle");
        expect(tickwire_client_poll(c, 0), H, "poll bad handle");
        expect(tickwire_client_next_wake(c, &wake), H, "next_wake bad handle");
        expect(tickwire_client_state(c), H, "state bad handle");
        expect(tickwire_client_disconnect(c, 0), H, "disconnect bad handle");
        expect(tickwire_client_welcome(c, &welcome), H, "welcome bad handle");
        expect(tickwire_client_send_state(c, bytes, 4), H, "send_state bad handle");
        expect(tickwire_client_send_event(c, bytes, 4), H, "send_event bad handle");
        expect(tickwire_client_send_event_to(c, 7, bytes, 4), H, "send_event_to bad handle");
        expect(tickwire_client_next_event(c, &event, bytes, sizeof bytes), H, "next_event bad handle");
        expect(tickwire_client_snapshot(c, &tick, &count), H, "snapshot bad handle");
        expect(tickwire_client_snapshot_entity(c, 0, NULL, NULL, bytes, sizeof bytes, NULL), H, "snapshot_entity bad handle");
        expect(tickwire_client_link_stats(c, &stats), H, "link_stats bad handle");
    }

    tickwire_client *c = tickwire_client_create();
    expect(c != NULL, 1, "create");
    expect(tickwire_client_state(c), TICKWIRE_STATE_IDLE, "state idle");
    expect(tickwire_client_connect(c, NULL, 2048, 0), A, "connect NULL token");
    expect(tickwire_client_connect(c, bytes, (size_t)-1, 0), A, "connect huge size");
    expect(tickwire_client_connect(c, bytes, sizeof bytes, NAN), A, "connect NaN time");
    expect(tickwire_client_connect(c, bytes, sizeof bytes, -1), A, "connect negative time");
    expect(tickwire_client_connect(c, bytes, sizeof bytes, INFINITY), A, "connect infinite time");
    expect(tickwire_client_connect(c, bytes, sizeof bytes, 0), TICKWIRE_ERROR_INVALID_TOKEN, "connect short token");
    uint8_t garbage[2048];
    memset(garbage, 0x5A, sizeof garbage);
    expect(tickwire_client_connect(c, garbage, sizeof garbage, 0), TICKWIRE_ERROR_INVALID_TOKEN, "connect garbage token");
    expect(tickwire_client_poll(c, NAN), A, "poll NaN");
    expect(tickwire_client_poll(c, 1), TICKWIRE_STATE_IDLE, "poll idle");
    expect(tickwire_client_next_wake(c, NULL), A, "next_wake NULL");
    expect(tickwire_client_next_wake(c, &wake), TICKWIRE_ERROR_NOT_JOINED, "next_wake idle");
    expect(tickwire_client_welcome(c, NULL), A, "welcome NULL");
    expect(tickwire_client_welcome(c, &welcome), TICKWIRE_ERROR_NOT_JOINED, "welcome idle");
    expect(tickwire_client_send_state(c, NULL, 4), A, "send_state NULL");
    expect(tickwire_client_send_state(c, bytes, (size_t)-1), A, "send_state huge");
    expect(tickwire_client_send_state(c, bytes, 4), TICKWIRE_ERROR_NOT_JOINED, "send_state idle");
    expect(tickwire_client_send_event(c, NULL, 1), A, "send_event NULL");
    expect(tickwire_client_send_event(c, bytes, 4), TICKWIRE_ERROR_NOT_JOINED, "send_event idle");
    expect(tickwire_client_send_event_to(c, 1, NULL, 3), A, "send_event_to NULL");
    expect(tickwire_client_next_event(c, NULL, bytes, sizeof bytes), A, "next_event NULL event");
    expect(tickwire_client_next_event(c, &event, NULL, 10), A, "next_event NULL payload");
    expect(tickwire_client_next_event(c, &event, NULL, 0), 0, "next_event none");
    expect(tickwire_client_snapshot(c, NULL, &count), A, "snapshot NULL");
    expect(tickwire_client_snapshot(c, &tick, &count), TICKWIRE_OK, "snapshot none");
    expect((int)count, 0, "no entities");
    expect(tickwire_client_snapshot_entity(c, 0, NULL, NULL, NULL, 10, NULL), A, "snapshot_entity NULL state");
    expect(tickwire_client_snapshot_entity(c, 5, NULL, NULL, bytes, sizeof bytes, NULL), A, "snapshot_entity none");
    expect(tickwire_client_link_stats(c, NULL), A, "link_stats NULL");
    expect(tickwire_client_link_stats(c, &stats), TICKWIRE_OK, "link_stats");
    expect(tickwire_client_disconnect(c, 2), TICKWIRE_OK, "disconnect idle");
    expect(tickwire_client_free(c), TICKWIRE_OK, "free");
    expect(tickwire_client_free(c), H, "free twice");
    expect(tickwire_client_poll(c, 3), H, "poll freed");
    expect(strlen(tickwire_error_string(12345)) > 0, 1, "error string of an unknown code");
    expect(tickwire_protocol_version(), 1, "protocol version");

    if (failures == 0) printf("misuse ok\n");
    return failures == 0 ? 0 : 1;
}
