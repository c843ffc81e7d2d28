import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import Testing
import TickwireClient
import TickwireProtocol
import TickwireSwarm

/// `tickwire serve` as an operator runs it: a real process, stopped with SIGTERM.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ServeSignalTests {
    /// The `tickwire` binary built beside this test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tickwire")
    }

    final class Lines: @unchecked Sendable {
        let box = NIOLockedValueBox<[String]>([])
        var all: [String] { box.withLockedValue { $0 } }
    }

    @Test func sigtermDrainsRefusesJoinsDisconnectsCleanlyAndExitsZero() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build the tickwire product first")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let joinKey = "serve-signal-test-join-key"
        try joinKey.write(to: directory.appendingPathComponent("join.key"), atomically: true, encoding: .utf8)

        let process = Process()
        process.executableURL = Self.executable
        process.arguments = [
            "serve", "--key", String(repeating: "ab", count: 32), "--bind", "127.0.0.1", "--port", "0", "--workers", "2",
            "--metrics", "127.0.0.1:0", "--join-api-key-file", directory.appendingPathComponent("join.key").path,
            "--drain-timeout", "2", "--log-format", "json",
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["TICKWIRE_PRIVATE_KEY"] = nil
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        let lines = Lines()
        errors.fileHandleForReading.readabilityHandler = { handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            lines.box.withLockedValue { $0 += text.split(separator: "\n").map(String.init) }
        }
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        func message(_ line: String) -> String {
            ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["message"] as? String ?? ""
        }
        var adminPort: Int?
        let started = ContinuousClock.now
        while adminPort == nil, ContinuousClock.now - started < .seconds(20), process.isRunning {
            for line in lines.all {
                let text = message(line)
                if text.hasPrefix("admin at http://127.0.0.1:"), let port = Int(text.dropFirst("admin at http://127.0.0.1:".count).prefix { $0.isNumber }) {
                    adminPort = port
                }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let port = try #require(adminPort, "no admin line in: \(lines.all)")
        let api = try JoinAPIClient(url: "http://127.0.0.1:\(port)", key: joinKey)
        let group = MultiThreadedEventLoopGroup.singleton
        let clients = [
            try await TickwireClient.connect(token: try await api.join(clientID: 1, room: "a", group: group).token),
            try await TickwireClient.connect(token: try await api.join(clientID: 2, room: "b", group: group).token),
        ]

        process.terminate()  // SIGTERM
        var refused = false
        for _ in 0..<50 where !refused {
            do { _ = try await api.join(clientID: 3, room: "a", group: group) } catch {
                refused = error == .refused(status: 503, error: "draining")
            }
            if !refused { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(refused, "joins are refused while draining")
        let stopAt = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < stopAt { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!process.isRunning)
        #expect(process.terminationStatus == 0)
        // The server's disconnect packets may still be queued for a client's loop on a loaded
        // machine: wait for them, well within the 5 s timeout that would say .timedOut instead.
        for client in clients {
            var state = try await client.state()
            let waitFrom = ContinuousClock.now
            while state == .connected, ContinuousClock.now - waitFrom < .seconds(3) {
                try await Task.sleep(for: .milliseconds(20))
                state = try await client.state()
            }
            #expect(state == .disconnected, "told by the server, not timed out: \(state)")
        }
        let messages = lines.all.map(message)
        for phase in ["shutdown requested: draining", "draining: refusing new clients and joins", "drain timed out",
                      "disconnecting the remaining clients", "disconnected all clients"] {
            #expect(messages.contains { $0.hasPrefix(phase) }, "log phase '\(phase)'")
        }
        #expect(!lines.all.contains { $0.contains(String(repeating: "ab", count: 32)) }, "the key never appears in the logs")
    }
}
