import Foundation
import NIOPosix
import Testing
import TickwireClient
import TickwireProtocol
import TickwireSwarm

/// `tickwire serve` as an operator runs it: a real process, stopped with SIGTERM.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ServeSignalTests {
    @Test func sigtermDrainsRefusesJoinsDisconnectsCleanlyAndExitsZero() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: ServeProcess.executable.path), "build the tickwire product first")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let joinKey = "serve-signal-test-join-key"
        try joinKey.write(to: directory.appendingPathComponent("join.key"), atomically: true, encoding: .utf8)

        let serve = try ServeProcess(arguments: [
            "--key", String(repeating: "ab", count: 32), "--bind", "127.0.0.1", "--port", "0", "--workers", "2",
            "--metrics", "127.0.0.1:0", "--join-api-key-file", directory.appendingPathComponent("join.key").path,
            "--drain-timeout", "2",
        ])
        let process = serve.process
        defer { if process.isRunning { process.terminate() } }
        let adminPort = try await serve.adminPort()
        let port = try #require(adminPort, "no admin line in: \(serve.allLines)")
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
            var state = await client.state()
            let waitFrom = ContinuousClock.now
            while state == .connected, ContinuousClock.now - waitFrom < .seconds(3) {
                try await Task.sleep(for: .milliseconds(20))
                state = await client.state()
            }
            #expect(state == .disconnected(.byServer), "told by the server, not timed out: \(state)")
        }
        let messages = serve.allLines.map(ServeProcess.message)
        for phase in ["shutdown requested: draining", "draining: refusing new clients and joins", "drain timed out",
                      "disconnecting the remaining clients", "disconnected all clients"] {
            #expect(messages.contains { $0.hasPrefix(phase) }, "log phase '\(phase)'")
        }
        #expect(!serve.allLines.contains { $0.contains(String(repeating: "ab", count: 32)) }, "the key never appears in the logs")
    }
}
