/*
 * A Tickwire client in plain C: connects with a token, sends its state at 20 Hz and a numbered
 * event every 25 ms, prints every event it receives and the entities it sees, then leaves.
 *
 *   c-client TOKEN_FILE [--events N] [--expect N] [--seconds S]
 *
 * TOKEN_FILE holds a 2048-byte connect token (from the join API, base64-decoded, or
 * `tickwire token --output FILE`). It stops once it sent N events (default 100), received
 * --expect events (default 0) and saw at least one other entity, or after S seconds
 * (default 20). Output, one fact per line:
 *   joined entity=E tick_rate=R          the relay seated us
 *   event from=ID payload=TEXT           an event from another member (printable payloads)
 *   entity id=E client=ID state_bytes=N  an entity of the newest snapshot (once a second)
 *   done sent=N received=M entities_seen=K rtt_ms=X
 * Exit status 0 when every event went out and everything expected arrived, 1 otherwise.
 *
 * Build: gcc -o c-client main.c -I ../../Sources/CTickwire/include -L ../../.build/debug -lTickwireC
 *        (the library's run path finds the Swift runtime; add -Wl,-rpath to find the library).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tickwire.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double when) {
    double left = when - now_seconds();
    if (left <= 0) return;
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s TOKEN_FILE [--events N] [--expect N] [--seconds S]\n", argv[0]);
        return 2;
    }
    int events_to_send = 100, expect = 0;
    double seconds = 20;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--events") == 0) events_to_send = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--expect") == 0) expect = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }

    uint8_t token[2048];
    FILE *file = fopen(argv[1], "rb");
    if (!file || fread(token, 1, sizeof token, file) != sizeof token) {
        fprintf(stderr, "cannot read 2048 bytes from %s\n", argv[1]);
        return 2;
    }
    fclose(file);

    tickwire_client *client = tickwire_client_create();
    double start = now_seconds();
    int result = tickwire_client_connect(client, token, sizeof token, start);
    if (result < 0) {
        fprintf(stderr, "connect: %s\n", tickwire_error_string(result));
        return 1;
    }

    int sent = 0, received = 0, entities_seen = 0, joined = 0;
    double next_state = start, next_event = start, next_print = start;
    uint32_t state_counter = 0;
    uint8_t payload[2048];
    while (now_seconds() - start < seconds) {
        double now = now_seconds();
        int state = tickwire_client_poll(client, now);
        if (state == TICKWIRE_STATE_DENIED || state == TICKWIRE_STATE_ENDED) break;

        tickwire_event event;
        int got;
        while ((got = tickwire_client_next_event(client, &event, payload, sizeof payload - 1)) == 1) {
            if (event.type == TICKWIRE_EVENT_JOINED) {
                tickwire_welcome welcome;
                tickwire_client_welcome(client, &welcome);
                printf("joined entity=%u tick_rate=%u\n", welcome.entity_id, welcome.tick_rate);
                joined = 1;
            } else if (event.type == TICKWIRE_EVENT_MESSAGE) {
                payload[event.payload_length] = 0;
                printf("event from=%llu payload=%s\n", (unsigned long long)event.client_id, (char *)payload);
                received++;
            } else if (event.type == TICKWIRE_EVENT_PEER_JOINED) {
                printf("peer joined client=%llu entity=%u\n", (unsigned long long)event.client_id, event.entity_id);
            }
        }
        if (got < 0) fprintf(stderr, "next_event: %s\n", tickwire_error_string(got));

        if (joined && now >= next_state) {
            /* 20 Hz: "C" then a counter, as an engine would send a position. */
            uint8_t bytes[16] = {'C'};
            memcpy(bytes + 4, &state_counter, sizeof state_counter);
            state_counter++;
            tickwire_client_send_state(client, bytes, sizeof bytes);
            next_state += 0.05;
        }
        if (joined && sent < events_to_send && now >= next_event) {
            char text[32];
            int length = snprintf(text, sizeof text, "c:%d", sent);
            if (tickwire_client_send_event(client, (const uint8_t *)text, (size_t)length) == TICKWIRE_OK) sent++;
            next_event += 0.025;
        }
        if (joined && now >= next_print) {
            uint32_t tick, count;
            tickwire_client_snapshot(client, &tick, &count);
            for (uint32_t i = 0; i < count; i++) {
                uint16_t entity;
                uint64_t owner;
                uint8_t bytes[1024];
                size_t length;
                if (tickwire_client_snapshot_entity(client, i, &entity, &owner, bytes, sizeof bytes, &length) == TICKWIRE_OK) {
                    printf("entity id=%u client=%llu state_bytes=%zu\n", entity, (unsigned long long)owner, length);
                }
            }
            if (count > (uint32_t)entities_seen) entities_seen = (int)count;
            next_print += 1.0;
        }
        fflush(stdout);
        if (sent == events_to_send && received >= expect && entities_seen > 0) break;

        /* Sleep until the client or the game next has work, at most a 10 ms frame. */
        double wake = now + 0.01;
        double client_wake;
        if (tickwire_client_next_wake(client, &client_wake) == TICKWIRE_OK && client_wake < wake) wake = client_wake;
        if (joined && next_state < wake) wake = next_state;
        sleep_until(wake);
    }

    /* Let the last events leave and be acked before leaving. */
    double linger = now_seconds() + 0.5;
    while (now_seconds() < linger) {
        tickwire_client_poll(client, now_seconds());
        sleep_until(now_seconds() + 0.01);
    }
    tickwire_link_stats stats;
    tickwire_client_link_stats(client, &stats);
    printf("done sent=%d received=%d entities_seen=%d rtt_ms=%.1f\n", sent, received, entities_seen, stats.rtt_ms);
    tickwire_client_disconnect(client, now_seconds());
    tickwire_client_free(client);
    /* A freed handle is an error code, not a crash. */
    if (tickwire_client_poll(client, now_seconds()) != TICKWIRE_ERROR_INVALID_HANDLE) return 1;
    return (sent == events_to_send && received >= expect && entities_seen > 0) ? 0 : 1;
}
