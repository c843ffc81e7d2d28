import TickwireProtocol
import TickwireRelay
import TickwireSimulation

// Replays a benchmark's measured second many times so that allocation profilers (valgrind's
// dhat) see the steady state dominate: `AllocProbe server|client|bot`.
let which = CommandLine.arguments.dropFirst().first ?? "server"
// One priming second, then 20 measured ones: what allocates 20 times over is the steady state.
let fixture = CommandLine.arguments.count > 2 ? Fixture.roomOf32 : Fixture.make(clients: 32, seconds: 21)
let end = fixture.start + .seconds(21)
print("recorded", fixture.recording.toServer.count, fixture.recording.toClient.count, "first", fixture.recording.toServer.first?.at ?? .zero, "start", fixture.start, "wakes", fixture.serverWakes.count)
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
