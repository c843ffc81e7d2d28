import TickwireProtocol
import TickwireRelay
import TickwireSimulation
#if canImport(Glibc)
import Glibc
#endif

enum ThreadCPU {
    /// The calling thread's CPU time in µs.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e6 + Double(ts.tv_nsec) / 1e3
    }
}

// The benchmarks' replays without the benchmark harness, for finding where an allocation comes
// from: `valgrind --tool=dhat .build/release/AllocProbe server|client|bot [room size]` (from
// Benchmarks/), or what the server costs: `valgrind --tool=callgrind` (32 bots in one room, or in
// rooms of the size given).
// `AllocProbe server|client|bot [room size] [clients] [seconds]`: 32 clients and 21 seconds unless
// given (more clients, for cache behaviour: `valgrind --tool=cachegrind --cache-sim=yes`).
// `AllocProbe tick [room size] [clients] [seconds]`: the CPU time of each tick's update, natively.
// `TICKWIRE_LIKE_LOOPBACK=1`: the fixture's bots send events too and their datagrams are late and
// jittered, as a swarm's are on loopback (see `Fixture.make`).

/// The update `tick` measures, as a function of its own, so a profiler can collect it alone:
/// `valgrind --tool=callgrind --cache-sim=yes --collect-atstart=no --toggle-collect='*measuredUpdate*'`
/// gives the instructions and the cache lines first touched per client per tick (with
/// `TICKWIRE_POLLUTE_KB` above the simulated last-level cache, every line the tick touches is cold).
/// Strip the binary's DWARF first (`objcopy --strip-debug`): valgrind 3.19 cannot read Swift's and aborts.
@inline(never)
func measuredUpdate(_ server: inout RelayServerCore, now: TickwireInstant) {
    server.update(now: now)
}

/// The client-side replay the `client` and `bot` modes measure, as a function of its own for
/// `--toggle-collect='*measuredClientReplay*'` (bot 0's receive, decode, update and bot step).
/// With `TICKWIRE_POLLUTE_KB`, the caches are overwritten before each datagram and each update,
/// so `--cache-sim=yes` counts the lines one visit to a bot touches, as a swarm's bots find them.
@inline(never)
func measuredClientReplay(_ fixture: Fixture, _ core: inout RelayClientCore, bot: inout Bot?, from: TickwireInstant, to end: TickwireInstant) {
    fixture.replayClient(&core, bot: &bot, from: from, to: end, between: pollute)
}

/// The server's measured second in `server` mode (receives and updates), as a function of its own
/// for `--toggle-collect='*measuredServerReplay*'`: with callgrind, the callers of `malloc` inside
/// it are where a steady-state allocation comes from.
@inline(never)
func measuredServerReplay(_ fixture: Fixture, _ server: inout RelayServerCore, from: TickwireInstant, to end: TickwireInstant) {
    fixture.replayServer(&server, from: from, to: end)
}

/// Writes `TICKWIRE_POLLUTE_KB` of memory, a byte per cache line (nothing when unset), a new value
/// each time. Constants only: a global `var` would have each call check exclusive access in the
/// runtime, whose own cache misses would count inside the measured region.
let polluteBytes = (Int(getenv("TICKWIRE_POLLUTE_KB").map { String(cString: $0) } ?? "0") ?? 0) * 1024
nonisolated(unsafe) let pollution = {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(polluteBytes, 1), alignment: 64)
    buffer.initializeMemory(as: UInt8.self, repeating: 0)
    return buffer
}()
func pollute() {
    guard polluteBytes > 0 else { return }
    let round = pollution[0] &+ 1
    var i = 0
    while i < polluteBytes { pollution[i] = round; i += 64 }
}

let which = CommandLine.arguments.dropFirst().first ?? "server"
let roomSize = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) }
let clients = CommandLine.arguments.dropFirst(3).first.flatMap { Int($0) } ?? 32
let seconds = CommandLine.arguments.dropFirst(4).first.flatMap { Int64($0) } ?? 21
// Five priming seconds, then the measured ones: what allocates that many times over is the steady state.
let fixture = Fixture.make(clients: clients, seconds: seconds, roomSize: roomSize, likeLoopback: getenv("TICKWIRE_LIKE_LOOPBACK") != nil)
let end = fixture.start + .seconds(seconds)
if which == "tick" {
    // The update of each tick, in thread CPU time, over the measured seconds (no kernel, no
    // other tenant: what the core's own work costs per tick, for A/B comparisons of it).
    var server = fixture.warm.server
    fixture.replayServer(&server, from: fixture.start, to: fixture.measuredFrom)
    var durations: [Double] = []
    // TICKWIRE_POLLUTE_KB: bytes written between updates, standing in for what the kernel's sends
    // and receives (and other tenants) leave in the caches between a real relay's ticks. Past the
    // last-level cache (65536 here, where it is 32 MB) the update costs what `bench capacity`'s
    // `tick update CPU` reads live; within it (2048) the same as with nothing written.
    fixture.replayServer(&server, from: fixture.measuredFrom, to: end) { server, wake in
        pollute()
        let ticks = server.counters.ticks
        let started = ThreadCPU.now()
        measuredUpdate(&server, now: wake)
        let took = ThreadCPU.now() - started
        if server.counters.ticks != ticks { durations.append(took) }
    }
    durations.sort()
    func at(_ q: Double) -> Double { durations.isEmpty ? 0 : durations[min(durations.count - 1, Int(Double(durations.count) * q))] }
    let mean = durations.reduce(0, +) / Double(max(1, durations.count))
    print(String(format: "ticks %d  update CPU per tick: mean %.1f µs, p50 %.1f µs, p99 %.1f µs; %.2f µs per client", durations.count, mean, at(0.5), at(0.99), mean / Double(clients)))
} else if which == "server" {
    var server = fixture.warm.server
    fixture.replayServer(&server, from: fixture.start, to: fixture.measuredFrom)
    measuredServerReplay(fixture, &server, from: fixture.measuredFrom, to: end)
} else {
    var core = fixture.warm.clients[0].core
    var bot: Bot? = which == "bot" ? fixture.warmBots[0] : nil
    fixture.replayClient(&core, bot: &bot, from: fixture.start, to: fixture.measuredFrom)
    measuredClientReplay(fixture, &core, bot: &bot, from: fixture.measuredFrom, to: end)
}
