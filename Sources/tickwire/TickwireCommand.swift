import ArgumentParser

@main
struct TickwireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickwire",
        abstract: "A UDP realtime game-state relay, wire-compatible with netcode 1.02.",
        subcommands: [ServeCommand.self, KeygenCommand.self, TokenCommand.self, DemoCommand.self, BenchCommand.self, ScenarioCommand.self, TraceCommand.self, SwarmCommand.self, FloodCommand.self]
    )
}
