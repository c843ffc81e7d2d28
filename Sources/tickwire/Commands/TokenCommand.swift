import ArgumentParser
import Foundation
import TickwireProtocol
import TickwireRelay
import TickwireServer

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Mint a netcode 1.02 connect token (2048 bytes) for one client.")

    @OptionGroup var key: KeyOptions

    @Option(help: "Client id (unique per player).") var clientID: UInt64
    @Option(name: .customLong("server"), help: "Server address clients connect to; repeat for failover.")
    var servers: [String] = ["127.0.0.1:40000"]
    @Option(name: .customLong("internal-server"),
            help: "Address the server is bound to, when it differs from --server (NAT, containers); repeat to match.")
    var internalServers: [String] = []
    @Option(help: "Room the client joins.") var room: String = "lobby"
    @Option(help: "Protocol id (decimal or 0x hex).") var protocolID = ProtocolID(RelayServerOptions.defaultProtocolID)
    @Option(help: "Seconds until the token expires.") var expireSeconds: UInt64 = 3600
    @Option(help: "Seconds of silence before either side drops the connection.") var timeout: Int32 = 5
    @Option(name: .shortAndLong, help: "Write to this file instead of stdout.") var output: String?
    @Flag(help: "Write base64 text instead of raw bytes.") var base64 = false

    func run() throws {
        let privateKey = try key.resolve()
        let publicAddresses = try servers.map { text in
            guard let a = NetcodeAddress(parsing: text) else { throw ValidationError.address("--server", text) }
            return a
        }
        let internalAddresses = try internalServers.map { text in
            guard let a = NetcodeAddress(parsing: text) else { throw ValidationError.address("--internal-server", text) }
            return a
        }
        guard (1...Netcode.maxServersPerConnect).contains(publicAddresses.count) else {
            throw ValidationError("a token names 1 to 32 servers, got \(publicAddresses.count)")
        }
        guard internalAddresses.isEmpty || internalAddresses.count == publicAddresses.count else {
            throw ValidationError("give one --internal-server per --server (\(publicAddresses.count)), or none")
        }
        guard timeout != 0 else { throw ValidationError("--timeout 0 would time out at once; use seconds > 0 (or negative for none, dev only)") }
        let ticket: RoomTicket
        do { ticket = try RoomTicket(room: room) } catch { throw ValidationError("--room: \(error)") }
        let request = ConnectTokenRequest(
            protocolID: protocolID.value, clientID: clientID, createTimestamp: UInt64(Date().timeIntervalSince1970),
            expireSeconds: expireSeconds, timeoutSeconds: timeout, publicServerAddresses: publicAddresses,
            internalServerAddresses: internalAddresses.isEmpty ? nil : internalAddresses,
            userData: ticket.encodeUserData())
        let bytes = try ConnectTokenMinter.random(request, privateKey: privateKey).encode()
        let data = base64 ? Data((Data(bytes).base64EncodedString() + "\n").utf8) : Data(bytes)
        if let output {
            do { try data.write(to: URL(fileURLWithPath: output)) } catch {
                throw CLIError("cannot write '\(output)': \(error.localizedDescription)")
            }
        } else {
            if !base64 && isatty(STDOUT_FILENO) == 1 {
                throw ValidationError("refusing to write a binary token to a terminal: add --base64 or --output FILE")
            }
            FileHandle.standardOutput.write(data)
        }
    }
}
