import Benchmark
import TickwireProtocol
import TickwireRelay
import TickwireSimulation

/// The hot paths on a recorded second of a warm 32-bot room (see `Fixture`): each benchmark copies
/// the warm state, replays priming seconds outside the measurement, then measures the next.
///
/// Mallocs are the figure that matters (CPU time is printed beside it; real CPU figures come from
/// `tickwire bench capacity`). Each count includes what the harness itself allocates around a
/// measured region, which `harness-empty-region` shows: `tools/benchmarks.sh` fails when any
/// benchmark counts more than that floor. The steady state allocates nothing.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.mallocCountTotal, .cpuTotal],
        warmupIterations: 1,
        maxDuration: .seconds(3),
        maxIterations: 10)
    let fixture = Fixture.roomOf32
    let second = (from: fixture.measuredFrom, to: fixture.measuredFrom + .seconds(1))
    let datagramsToServer = fixture.recording.toServer.filter { $0.at > second.from && $0.at <= second.to }.count
    let datagramsToClient = fixture.recording.toClient.filter { $0.at > second.from && $0.at <= second.to }.count

    // What the harness itself allocates around a measured region: the floor of every figure below.
    Benchmark("harness-empty-region") { benchmark in
        benchmark.startMeasurement()
        benchmark.stopMeasurement()
    }

    // The server's second as its host runs it: the \(datagramsToServer) datagrams it received (the
    // receive path), and an update at every wake, 60 of them ticks that encode and write a snapshot
    // for each of the 32 clients. (Receives alone, without the updates that drain what they queue,
    // are not a state the server runs in.)
    Benchmark("server-second-32-clients") { benchmark in
        blackHole(fixture.measureServerSecond(benchmark).counters.ticks)
    }

    // The same second of a room whose bots also send events (2 a second each), as `bench capacity`
    // loads the relay: each event is read in place and framed once for its 31 recipients.
    Benchmark("server-second-32-clients-events") { benchmark in
        blackHole(Fixture.roomOf32WithEvents.measureServerSecond(benchmark).counters.eventsRelayed)
    }

    // Bot 0's client core receiving and decoding the \(datagramsToClient) datagrams the server sent it in the second.
    Benchmark("client-receive-decode") { benchmark in
        var core = fixture.warm.clients[0].core
        var noBot: Bot?
        fixture.replayClient(&core, bot: &noBot, from: fixture.start, to: second.from)
        benchmark.startMeasurement()
        fixture.replayClient(&core, bot: &noBot, from: second.from, to: second.to, updates: false)
        benchmark.stopMeasurement()
        blackHole(core.decoder.counters.decoded)
    }

    // Bot 0 as the swarm runs it: 100 updates (every 10 ms) of its inbound, its core and its bot logic.
    Benchmark("bot-updates") { benchmark in
        var core = fixture.warm.clients[0].core
        var bot: Bot? = fixture.warmBots[0]
        fixture.replayClient(&core, bot: &bot, from: fixture.start, to: second.from)
        benchmark.startMeasurement()
        fixture.replayClient(&core, bot: &bot, from: second.from, to: second.to)
        benchmark.stopMeasurement()
        blackHole(bot?.eventsReceived)
    }
}

extension Fixture {
    /// Replays the priming seconds into a copy of the warm server, then measures the next second
    /// (its receives and its updates); returns the server for `blackHole`.
    func measureServerSecond(_ benchmark: Benchmark) -> RelayServerCore {
        var server = warm.server
        replayServer(&server, from: start, to: measuredFrom)
        benchmark.startMeasurement()
        replayServer(&server, from: measuredFrom, to: measuredFrom + .seconds(1))
        benchmark.stopMeasurement()
        return server
    }
}
