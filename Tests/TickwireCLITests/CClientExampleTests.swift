import Foundation
import NIOPosix
import Testing
import TickwireClient
import TickwireProtocol
import TickwireRelay
import TickwireSwarm

/// Examples/c-client, built with gcc against tickwire.h and libTickwireC.so, joins a real
/// `tickwire serve` with a Swift client in the same room: 100 events each way, exactly once and
/// in order, and the Swift client's entity in the C client's snapshots.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct CClientExampleTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let joinKey = "c-client-test-join-key-0123456789"

    /// Compiles the example with gcc; the library is the one built beside this test bundle
    /// (tools/test.sh builds the TickwireC product before the tests).
    static func buildExample(into folder: URL, source: String = "main.c") throws -> URL {
        let libraryFolder = ServeProcess.executable.deletingLastPathComponent()
        try #require(FileManager.default.fileExists(atPath: libraryFolder.appendingPathComponent("libTickwireC.so").path),
                     "libTickwireC.so is not built: run `swift build --product TickwireC` (tools/test.sh does)")
        let binary = folder.appendingPathComponent(String(source.dropLast(2)))
        let gcc = Process()
        gcc.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        gcc.arguments = [
            "gcc", "-std=c11", "-D_POSIX_C_SOURCE=200809L", "-Wall", "-Wextra", "-Werror", "-o", binary.path,
            repository.appendingPathComponent("Examples/c-client/\(source)").path,
            "-I", repository.appendingPathComponent("Sources/CTickwire/include").path,
            "-L", libraryFolder.path, "-lTickwireC", "-lm", "-Wl,-rpath,\(libraryFolder.path)",
        ]
        try gcc.run()
        gcc.waitUntilExit()
        try #require(gcc.terminationStatus == 0, "gcc failed to build Examples/c-client/\(source)")
        return binary
    }

    /// Every entry point called with NULL, freed and stray handles, bad sizes, times and tokens
    /// returns its error code (Examples/c-client/misuse.c checks each and says which failed).
    @Test func everyEntryPointIsTotal() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-c-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let misuse = Process()
        misuse.executableURL = try Self.buildExample(into: folder, source: "misuse.c")
        let output = Pipe()
        misuse.standardOutput = output
        try misuse.run()
        misuse.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(misuse.terminationReason == .exit && misuse.terminationStatus == 0, "\(text)")
        #expect(text.contains("misuse ok"))
    }

    @Test func theCExampleExchangesEventsWithASwiftClientThroughServe() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-c-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let example = try Self.buildExample(into: folder)

        let keyFile = folder.appendingPathComponent("join.key")
        try Self.joinKey.write(to: keyFile, atomically: true, encoding: .utf8)
        let serve = try ServeProcess(arguments: [
            "--key", String(repeating: "ab", count: 32), "--bind", "127.0.0.1", "--port", "0", "--workers", "1",
            "--metrics", "127.0.0.1:0", "--join-api-key-file", keyFile.path, "--drain-timeout", "0",
        ])
        defer { serve.process.terminate() }
        let admin = try #require(try await serve.adminPort(), "serve did not start")
        let api = try JoinAPIClient(url: "http://127.0.0.1:\(admin)", key: Self.joinKey)
        let group = MultiThreadedEventLoopGroup.singleton

        let swift = try await TickwireClient.connect(token: try await api.join(clientID: 1, room: "c-room", group: group).token)
        let cToken = try await api.join(clientID: 2, room: "c-room", group: group).token
        let tokenFile = folder.appendingPathComponent("c.token")
        try Data(cToken).write(to: tokenFile)

        let c = Process()
        c.executableURL = example
        c.arguments = [tokenFile.path, "--events", "100", "--expect", "100", "--seconds", "30"]
        let output = Pipe()
        c.standardOutput = output
        try c.run()

        // The Swift side: a state at 20 Hz, 100 events once the C client is in the room, and
        // every event it hears from the C client.
        var heard: [String] = []
        let listener = Task {
            var texts: [String] = []
            for await event in swift.events {
                if case .event(let from, let payload) = event, from == 2 { texts.append(String(decoding: payload, as: UTF8.self)) }
                if texts.count == 100 { break }
            }
            return texts
        }
        var sent = 0
        let started = ContinuousClock.now
        while c.isRunning, ContinuousClock.now - started < .seconds(30) {
            try await swift.sendState(Array("SWIFT-STATE-\(sent)".utf8))
            if let snapshot = await swift.latestSnapshot(), snapshot.entity(clientID: 2) != nil {
                // The C client is seated: five events per 50 ms (under the relay's event rate).
                for _ in 0..<5 where sent < 100 {
                    try await swift.sendEvent(Array("s:\(sent)".utf8))
                    sent += 1
                }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        c.waitUntilExit()
        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n").map(String.init)
        let timeout = Task { try await Task.sleep(for: .seconds(5)); listener.cancel() }
        heard = await listener.value
        timeout.cancel()
        await swift.disconnect()

        #expect(c.terminationStatus == 0, "the C client failed:\n\(lines.suffix(5).joined(separator: "\n"))")
        #expect(sent == 100)
        // Both ways: exactly once, in order.
        let fromSwift = lines.filter { $0.hasPrefix("event from=1 ") }.map { String($0.dropFirst("event from=1 payload=".count)) }
        #expect(fromSwift == (0..<100).map { "s:\($0)" })
        #expect(heard == (0..<100).map { "c:\($0)" })
        // The Swift client's entity, with its state, in the C client's snapshots.
        #expect(lines.contains { $0.hasPrefix("entity id=") && $0.contains(" client=1 ") && !$0.hasSuffix("state_bytes=0") })
        #expect(lines.contains { $0.hasPrefix("joined entity=") })
    }
}
