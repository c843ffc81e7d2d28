import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// A warmed-up room of bots in virtual time and a recording of what the next six seconds delivered
/// to the server and to bot 0. Each benchmark replays the first five seconds into a copy of the warm
/// state unmeasured (a copy shares its buffers with the original until each is written once: that
/// first write allocates), then measures the sixth: one component on real, in-order,
/// authenticated traffic, the same every run.
struct Fixture {
    let warm: VirtualRelay
    let warmBots: [Bot]
    let recording: VirtualRelay.Recording
    /// The times the server's host would have woken in the recording: every 10 ms and at each tick.
    let serverWakes: [TickwireInstant]
    let start: TickwireInstant
    /// Unmeasured seconds replayed first: 5 by default, so that every slot of the connections'
    /// rings (256 packets) and the encoders' rings (32 ticks) has been written once.
    let primingSeconds: Int64
    /// Where the priming seconds end and the measured one begins.
    var measuredFrom: TickwireInstant { start + .seconds(primingSeconds) }

    /// Replays the recording's server inputs and wakes in `range` of time into `server`; at each
    /// wake `update` runs the server's update (a caller may time it, or do something around it).
    func replayServer(
        _ server: inout RelayServerCore, from: TickwireInstant, to end: TickwireInstant, updates: Bool = true,
        update: (inout RelayServerCore, TickwireInstant) -> Void = { $0.update(now: $1) }
    ) {
        var next = recording.toServer.firstIndex { $0.at > from } ?? recording.toServer.count
        let inputs = recording.toServer
        for wake in serverWakes where wake > from && wake <= end {
            while next < inputs.count, inputs[next].at <= wake {
                inputs[next].bytes.withUnsafeBytes { server.receive($0, from: inputs[next].from, now: inputs[next].at) }
                next += 1
            }
            if updates { update(&server, wake) }
            server.outbound.removeAll()
        }
    }

    /// Replays bot 0's inbound in `range`, with its core's update (and its bot's step) every 10 ms;
    /// `between` runs before each datagram and each update (a caller may evict the caches there,
    /// as a swarm's other bots do between two visits to one bot).
    func replayClient(
        _ core: inout RelayClientCore, bot: inout Bot?, from: TickwireInstant, to end: TickwireInstant, updates: Bool = true,
        between: () -> Void = {}
    ) {
        let inputs = recording.toClient
        var next = inputs.firstIndex { $0.at > from } ?? inputs.count
        var now = from
        while now < end {
            now = now + .milliseconds(10)
            while next < inputs.count, inputs[next].at <= now {
                between()
                inputs[next].bytes.withUnsafeBytes { core.receive($0, from: VirtualRelay.serverAddress, now: inputs[next].at) }
                next += 1
            }
            core.events.removeAll(keepingCapacity: true)
            if updates {
                between()
                core.update(now: now)
                if bot != nil { bot!.step(&core, now: now) }
            }
            core.outbound.removeAll()
        }
    }

    nonisolated(unsafe) static let roomOf32: Fixture = make(clients: 32, seconds: 6)
    /// The same room with events (2 a second from each bot, 31 copies of each relayed) and the
    /// loopback's delays, as `bench capacity` loads the relay.
    ///
    /// Primed for 20 s: at 2 events a second a client's receive window (16 slots) takes 8 s to use
    /// each slot once, and a slot's first message allocates its buffer (once per slot and
    /// connection, not per event): with 5 s of priming the second counts 64, one per event.
    nonisolated(unsafe) static let roomOf32WithEvents: Fixture = make(clients: 32, seconds: 21, likeLoopback: true, priming: 20)

    /// `clients` bots in rooms of `roomSize` (one room: all of them).
    static func make(clients: Int, seconds: Int64, roomSize: Int? = nil, likeLoopback: Bool = false, priming: Int64 = 5) -> Fixture {
        // States only by default: a client hands each event it hears to its app as an array of
        // its own (an allocation by design), so the client benchmarks measure states.
        // `likeLoopback`: closer to what a swarm on loopback gives the relay (`bench capacity`):
        // events too (2 a second), and each bot's datagrams 7 ms late each way with 5 ms of
        // jitter, so the members of a room acknowledge different ticks and the room's delta runs
        // are coded against more baselines.
        let behaviour = BotBehaviour(stateRate: 20, eventRate: likeLoopback ? 2 : 0)
        let delay = likeLoopback ? ImpairmentProfile(latency: .milliseconds(7), jitter: .milliseconds(5)) : .perfect
        var relay = try! VirtualRelay(maxClients: clients + 8, seed: 7)
        var bots: [Bot] = []
        for id in 1...clients {
            let room = roomSize.map { "arena-\((id - 1) / $0)" } ?? "arena"
            _ = try! relay.addClient(clientID: UInt64(id), room: room, up: delay, down: delay, timeoutSeconds: 60)
            bots.append(Bot(clientID: UInt64(id), room: room, behaviour: behaviour, seed: UInt64(id), now: relay.now))
        }
        func drive(_ relay: inout VirtualRelay, _ bots: inout [Bot], for duration: Duration) {
            relay.advance(by: duration) { client, now in
                let i = Int(client.clientID) - 1
                if client.core.welcome != nil { bots[i].step(&client.core, now: now) }
                client.actsAt = bots[i].nextActionAt
            }
        }
        relay.keepsHeard = false
        drive(&relay, &bots, for: .seconds(3))
        precondition(relay.server.admittedClientCount == clients, "benchmark fixture: clients were not seated")
        let warm = relay
        let warmBots = bots
        relay.recording = VirtualRelay.Recording(recordedClient: 0)
        drive(&relay, &bots, for: .seconds(seconds))
        let start = warm.now
        var wakes: [TickwireInstant] = []
        var t = start
        var schedule = warm.server.schedule
        let end = start + .seconds(seconds)
        while t < end {
            let next = min(t + .milliseconds(10), schedule.nextDeadline)
            if next == schedule.nextDeadline { _ = schedule.poll(now: next) }
            wakes.append(next)
            t = next
        }
        return Fixture(warm: warm, warmBots: warmBots, recording: relay.recording!, serverWakes: wakes, start: start, primingSeconds: priming)
    }
}
