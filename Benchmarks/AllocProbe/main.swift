import TickwireProtocol
import TickwireRelay
import TickwireSimulation

// The benchmarks' replays without the benchmark harness, for finding where an allocation comes
// from: `valgrind --tool=dhat .build/release/AllocProbe server|client|bot [room size]` (from
// Benchmarks/), or what the server costs: `valgrind --tool=callgrind` (32 bots in one room, or in
// rooms of the size given).
// `AllocProbe server|client|bot [room size] [clients] [seconds]`: 32 clients and 21 seconds unless
// given (more clients, for cache behaviour: `valgrind --tool=cachegrind --cache-sim=yes`).
let which = CommandLine.arguments.dropFirst().first ?? "server"
let roomSize = CommandLine.arguments.dropFirst(2).first.flatMap { Int($0) }
let clients = CommandLine.arguments.dropFirst(3).first.flatMap { Int($0) } ?? 32
let seconds = CommandLine.arguments.dropFirst(4).first.flatMap { Int64($0) } ?? 21
// Five priming seconds, then the measured ones: what allocates that many times over is the steady state.
let fixture = Fixture.make(clients: clients, seconds: seconds, roomSize: roomSize)
let end = fixture.start + .seconds(seconds)
if which == "server" {
    var server = fixture.warm.server
    fixture.replayServer(&server, from: fixture.start, to: fixture.measuredFrom)
    fixture.replayServer(&server, from: fixture.measuredFrom, to: end)
} else {
    var core = fixture.warm.clients[0].core
    var bot: Bot? = which == "bot" ? fixture.warmBots[0] : nil
    fixture.replayClient(&core, bot: &bot, from: fixture.start, to: fixture.measuredFrom)
    fixture.replayClient(&core, bot: &bot, from: fixture.measuredFrom, to: end)
}
