import Foundation
import NIOConcurrencyHelpers

/// `tickwire serve` as a real process (the binary built beside the test bundle), its JSON log
/// lines collected from stderr, for the tests that run it as an operator would.
final class ServeProcess: @unchecked Sendable {
    /// The `tickwire` binary built beside this test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("tickwire")
    }

    let process = Process()
    private let lines = NIOLockedValueBox<[String]>([])

    /// Starts `tickwire serve ARGUMENTS` (with `--log-format json` added) without the private key
    /// of the test's own environment.
    init(arguments: [String]) throws {
        process.executableURL = Self.executable
        process.arguments = ["serve"] + arguments + ["--log-format", "json"]
        var environment = ProcessInfo.processInfo.environment
        environment["TICKWIRE_PRIVATE_KEY"] = nil
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        errors.fileHandleForReading.readabilityHandler = { [lines] handle in
            let text = String(decoding: handle.availableData, as: UTF8.self)
            lines.withLockedValue { $0 += text.split(separator: "\n").map(String.init) }
        }
        try process.run()
    }

    /// Every log line so far.
    var allLines: [String] { lines.withLockedValue { $0 } }

    /// The `message` of a JSON log line.
    static func message(_ line: String) -> String {
        ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["message"] as? String ?? ""
    }

    /// The admin port, once the process has logged where it serves (nil after 20 s or an exit).
    func adminPort() async throws -> Int? {
        let prefix = "admin at http://127.0.0.1:"
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(20), process.isRunning {
            for line in allLines {
                let text = Self.message(line)
                if text.hasPrefix(prefix), let port = Int(text.dropFirst(prefix.count).prefix { $0.isNumber }) { return port }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }
}
