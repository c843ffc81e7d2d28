import ArgumentParser
import Foundation
import Logging
import TickwireClient
import TickwireCrypto
import TickwireProtocol
import TickwireRelay
import TickwireServer

/// Starts a relay on loopback, connects a few clients in rooms, lets them talk, prints what happened.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a relay and a small demo of connected clients on loopback, then print a summary.")

    @Option(help: "Number of clients.") var clients: Int = 8
    @Option(help: "Number of rooms the clients are spread over.") var rooms: Int = 2
    @Option(help: "How long the clients talk, in seconds.") var seconds: Double = 3
    @Option(help: "Payloads each client sends per second.") var rate: Double = 20
    @Option(help: "UDP port for the relay (0 picks a free one).") var port: Int = 0
    @Option(help: "Log level of the relay.") var logLevel: Logger.Level = .notice

    func validate() throws {
        guard (1...256).contains(clients) else { throw ValidationError("--clients must be 1...256, got \(clients)") }
        guard (1...clients).contains(rooms) else { throw ValidationError("--rooms must be 1...\(clients), got \(rooms)") }
        guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be in (0, 3600], got \(seconds)") }
        guard rate > 0, rate <= 1000 else { throw ValidationError("--rate must be in (0, 1000], got \(rate)") }
    }

    func run() async throws {
        CLILogging.bootstrap(level: logLevel)
        let key = SecureRandom.bytes(32)
        var options = RelayServerOptions(privateKey: key)
        options.bindHost = "127.0.0.1"
        options.bindPort = port
        options.maxClients = max(clients, 1)
        let server = try await RelayServerHost.start(options: options, logger: Logger(label: "tickwire.demo.relay"))
        print("relay listening on \(server.publicAddresses[0]) (\(clients) clients, \(rooms) rooms, \(seconds) s at \(rate) Hz)")

        var connected: [(id: Int, room: String, client: TickwireClient)] = []
        for id in 1...clients {
            let room = "room-\((id - 1) % rooms + 1)"
            let request = ConnectTokenRequest(
                protocolID: options.protocolID, clientID: UInt64(id), createTimestamp: UInt64(Date().timeIntervalSince1970),
                expireSeconds: 300, timeoutSeconds: 5, publicServerAddresses: server.publicAddresses,
                userData: try RoomTicket(room: room).encodeUserData())
            let token = try ConnectTokenMinter.random(request, privateKey: key).encode()
            do {
                connected.append((id, room, try await TickwireClient.connect(token: token)))
            } catch {
                print("client \(id): \(error)")
            }
        }
        print("connected \(connected.count)/\(clients) clients")

        let sendCount = Int((seconds * rate).rounded())
        let results = await withTaskGroup(of: (Int, Int, Int).self) { group in
            for entry in connected {
                group.addTask {
                    let receiver = Task { () -> Int in
                        var count = 0
                        for await _ in entry.client.payloads { count += 1 }
                        return count
                    }
                    var sent = 0
                    for sequence in 0..<sendCount {
                        var payload = ByteWriter(capacity: 32)
                        payload.write(UInt64(entry.id))
                        payload.write(UInt64(sequence))
                        payload.pad(to: 32)
                        if (try? await entry.client.send(payload.bytes)) != nil { sent += 1 }
                        try? await Task.sleep(for: .seconds(1 / rate))
                    }
                    // Let the last relayed payloads arrive, then leave; the stream then ends.
                    try? await Task.sleep(for: .milliseconds(300))
                    await entry.client.disconnect()
                    return (entry.id, sent, await receiver.value)
                }
            }
            var out: [(Int, Int, Int)] = []
            for await result in group { out.append(result) }
            return out.sorted { $0.0 < $1.0 }
        }

        let stats = try await server.stats()
        try await server.shutdown()

        let sentBy = Dictionary(uniqueKeysWithValues: results.map { ($0.0, $0.1) })
        print("")
        print("client  room     sent  received  expected")
        var totalReceived = 0
        var totalExpected = 0
        for (id, sent, received) in results {
            let room = connected.first { $0.id == id }!.room
            let expected = connected.filter { $0.room == room && $0.id != id }.reduce(0) { $0 + (sentBy[$1.id] ?? 0) }
            totalReceived += received
            totalExpected += expected
            print(String(format: "%6d  %-7@ %5d  %8d  %8d", id, room as NSString, sent, received, expected))
        }
        print("")
        print("relay: \(stats.netcode.packetsReceived) packets in, \(stats.netcode.packetsSent) out, "
              + "\(stats.payloadsRelayed) payloads relayed, \(stats.netcode.dropped.total) dropped")
        for (reason, count) in stats.netcode.dropped.nonZero { print("  dropped \(reason): \(count)") }
        let delivery = totalExpected == 0 ? 100 : Double(totalReceived) / Double(totalExpected) * 100
        print(String(format: "delivery: %d of %d relayed payloads arrived (%.1f%%)", totalReceived, totalExpected, delivery))
        guard connected.count == clients else { throw ExitCode(1) }
    }
}
