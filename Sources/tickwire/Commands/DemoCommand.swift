import ArgumentParser
import Foundation
import Logging
import TickwireClient
import TickwireCrypto
import TickwireProtocol
import TickwireRelay
import TickwireReliability
import TickwireServer

/// Starts a relay on loopback, connects a few clients in rooms, lets them exchange reliable
/// events and unreliable state (which comes back as delta snapshots), and prints what happened.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a relay and a small demo of connected clients on loopback, then print a summary.")

    @Option(help: "Number of clients.") var clients: Int = 8
    @Option(help: "Number of rooms the clients are spread over.") var rooms: Int = 2
    @Option(help: "How long the clients talk, in seconds.") var seconds: Double = 3
    @Option(help: "Reliable events (and state updates) each client sends per second.") var rate: Double = 20
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
        let results = await withTaskGroup(of: DemoResult.self) { group in
            for entry in connected {
                group.addTask {
                    let receiver = Task { () -> (events: Int, outOfOrder: Int) in
                        var events = 0, outOfOrder = 0
                        var nextFrom: [UInt64: UInt64] = [:]
                        for await event in entry.client.events {
                            switch event {
                            case .event(let from, let payload):
                                events += 1
                                // Each payload carries the sender's sequence: check exactly-once, in order.
                                let sequence = payload.count >= 16 ? payload[8..<16].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) } : 0
                                if sequence != nextFrom[from, default: 0] { outOfOrder += 1 }
                                nextFrom[from] = sequence + 1
                            default: break
                            }
                        }
                        return (events, outOfOrder)
                    }
                    var sent = 0
                    for sequence in 0..<sendCount {
                        var payload = ByteWriter(capacity: 32)
                        payload.write(UInt64(entry.id))
                        payload.write(UInt64(sequence))
                        payload.pad(to: 32)
                        if (try? await entry.client.sendEvent(payload.bytes)) != nil { sent += 1 }
                        try? await entry.client.sendState(Array(payload.bytes[0..<16]))
                        try? await Task.sleep(for: .seconds(1 / rate))
                    }
                    // Let the last events arrive, then leave; the stream then ends.
                    try? await Task.sleep(for: .milliseconds(500))
                    let stats = try? await entry.client.stats()
                    await entry.client.disconnect()
                    let received = await receiver.value
                    return DemoResult(id: entry.id, sent: sent, events: received.events, snapshots: stats?.snapshots.decoded ?? 0,
                                      outOfOrder: received.outOfOrder, link: stats?.link ?? TickwireClientStats.Link())
                }
            }
            var out: [DemoResult] = []
            for await result in group { out.append(result) }
            return out.sorted { $0.id < $1.id }
        }

        let stats = try await server.stats()
        try await server.shutdown()

        let sentBy = Dictionary(uniqueKeysWithValues: results.map { ($0.id, $0.sent) })
        print("")
        print("client  room     sent  events  expected  snapshots  rtt ms  resends")
        var totalReceived = 0
        var totalExpected = 0
        var disorder = 0
        for result in results {
            let room = connected.first { $0.id == result.id }!.room
            let expected = connected.filter { $0.room == room && $0.id != result.id }.reduce(0) { $0 + (sentBy[$1.id] ?? 0) }
            totalReceived += result.events
            totalExpected += expected
            disorder += result.outOfOrder
            print(String(format: "%6d  %-7@ %5d  %6d  %8d  %9llu  %6.1f  %7llu", result.id, room as NSString, result.sent, result.events,
                         expected, result.snapshots, result.link.rttMilliseconds, result.link.reliableResends))
        }
        print("")
        print("relay: \(stats.netcode.packetsReceived) packets in, \(stats.netcode.packetsSent) out, "
              + "\(stats.relay.eventsRelayed) events relayed, \(stats.relay.statesReceived) states received, "
              + "\(stats.netcode.dropped.total) packets dropped")
        let perSnapshot = stats.snapshots.snapshots == 0 ? 0 : Double(stats.snapshots.bytes) / Double(stats.snapshots.snapshots)
        print(String(format: "ticks: %llu at %d Hz, %llu late, %llu skipped, longest %.2f ms; snapshots: %llu sent, %.0f bytes each on average",
                     stats.ticks, stats.tickRate, stats.lateTicks, stats.skippedTicks,
                     Double(stats.maxTickDuration.nanosecondsClamped) / 1e6, stats.snapshots.snapshots, perSnapshot))
        for (reason, count) in stats.netcode.dropped.nonZero { print("  dropped \(reason): \(count)") }
        let delivery = totalExpected == 0 ? 100 : Double(totalReceived) / Double(totalExpected) * 100
        print(String(format: "delivery: %d of %d reliable events arrived (%.1f%%), %d out of order", totalReceived, totalExpected, delivery, disorder))
        guard connected.count == clients, totalReceived == totalExpected, disorder == 0 else { throw ExitCode(1) }
    }
}

private struct DemoResult: Sendable {
    var id: Int
    var sent: Int
    var events: Int
    var snapshots: UInt64
    var outOfOrder: Int
    var link: TickwireClientStats.Link
}
