import ArgumentParser
import Logging
import TickwireProtocol
import TickwireServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a relay server until SIGINT/SIGTERM, then disconnect every client cleanly.")

    @OptionGroup var key: KeyOptions
    @Option(help: "Address to bind.") var bind: String = "0.0.0.0"
    @Option(help: "UDP port.") var port: Int = 40000
    @Flag(help: "Bind [::] dual-stack (IPv6 and IPv4) instead of --bind.") var ipv6 = false
    @Option(name: .customLong("public-address"),
            help: "Address tokens name for this server (repeatable). Default: the bind address, or 127.0.0.1:PORT for a wildcard bind.")
    var publicAddresses: [String] = []
    @Option(help: "Protocol id (decimal or 0x hex); must match the tokens.") var protocolID = ProtocolID(RelayServerOptions.defaultProtocolID)
    @Option(help: "Client slots (1...4096).") var maxClients: Int = 256
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel: Logger.Level = .info

    func run() async throws {
        CLILogging.bootstrap(level: logLevel)
        var options = RelayServerOptions(privateKey: try key.resolve())
        options.bindHost = ipv6 ? "::" : bind
        options.bindPort = port
        options.protocolID = protocolID.value
        options.maxClients = maxClients
        options.publicAddresses = try publicAddresses.map { text in
            guard let a = NetcodeAddress(parsing: text) else { throw ValidationError.address("--public-address", text) }
            return a
        }
        do { try options.validate() } catch { throw ValidationError(error.description) }
        let logger = Logger(label: "tickwire.serve")
        let host: RelayServerHost
        do {
            host = try await RelayServerHost.start(options: options, logger: logger)
        } catch {
            throw CLIError("cannot bind \(options.bindHost):\(port): \(error) (is another server on this port? try --port)")
        }
        let signal = await SignalWaiter.wait()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        try await host.shutdown()
        let stats = try? await host.stats()
        if let stats {
            logger.info("stopped", metadata: [
                "packets_in": "\(stats.netcode.packetsReceived)", "packets_out": "\(stats.netcode.packetsSent)",
                "dropped": "\(stats.netcode.dropped.total)",
            ])
        }
    }
}
