import TickwireProtocol
import TickwireRelay
import TickwireSimulation

// The benchmarks' replays without the benchmark harness, for finding where an allocation comes
// from: `valgrind --tool=dhat .build/release/AllocProbe server|client|bot` (from Benchmarks/).
let which = CommandLine.arguments.dropFirst().first ?? "server"
// Five priming seconds, then 16 measured ones: what allocates 16 times over is the steady state.
let fixture = Fixture.make(clients: 32, seconds: 21)
let end = fixture.start + .seconds(21)
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
