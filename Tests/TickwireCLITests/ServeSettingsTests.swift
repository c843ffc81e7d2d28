import ArgumentParser
import Foundation
import Testing
@testable import tickwire

/// `tickwire serve`'s configuration: flags > TICKWIRE_* environment > config file > defaults.
@Suite final class ServeSettingsTests {
    /// This test's files; removed when the test ends.
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-settings-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: directory) }

    static let fileKeyHex = String(repeating: "44", count: 32)
    static let envKeyHex = String(repeating: "55", count: 32)
    static let flagKeyHex = String(repeating: "66", count: 32)

    func temporary(_ name: String, _ text: String) throws -> String {
        let path = directory.appendingPathComponent("\(UUID().uuidString)-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func settings(flags: [String: [String]] = [:], environment: [String: String] = [:], yaml: String? = nil) async throws -> ServeSettings {
        try await ServeSettings(flags: flags, environment: environment, configFile: try yaml.map { try temporary("c.yaml", $0) })
    }

    @Test func eachSourceBeatsTheOnesBelowIt() async throws {
        let yaml = "port: 41000\ntick-rate: 30\nroom-capacity: 8\n"
        let all = try await settings(flags: ["port": ["43000"]], environment: ["TICKWIRE_PORT": "42000", "TICKWIRE_TICK_RATE": "20"], yaml: yaml)
        #expect(try all.int("port", in: 0...65535) == 43000 && all.source("port") == .flag("port"))
        #expect(try all.int("tick-rate", in: 1...240) == 20 && all.source("tick-rate") == .environment("TICKWIRE_TICK_RATE"))
        #expect(try all.int("room-capacity", in: 1...4096) == 8 && all.source("room-capacity")?.description.hasPrefix("config file") == true)
        #expect(try all.int("state-size", in: 1...1024) == 64 && all.source("state-size") == .defaultValue)
        let fileOnly = try await settings(yaml: yaml)
        #expect(try fileOnly.int("port", in: 0...65535) == 41000)
        let envOverFile = try await settings(environment: ["TICKWIRE_PORT": "42000"], yaml: yaml)
        #expect(try envOverFile.int("port", in: 0...65535) == 42000)
        // Lists: repeated flags, comma-separated in the environment, a YAML list in the file.
        let lists = try await settings(environment: ["TICKWIRE_PUBLIC_ADDRESS": "10.0.0.1:1, 10.0.0.2:2"])
        #expect(lists.list("public-address") == ["10.0.0.1:1", "10.0.0.2:2"])
        let yamlList = try await settings(yaml: "public-address:\n  - 10.0.0.3:3\n  - 10.0.0.4:4\n")
        #expect(yamlList.list("public-address") == ["10.0.0.3:3", "10.0.0.4:4"])
    }

    @Test func jsonFilesWorkToo() async throws {
        let path = try temporary("c.json", #"{"port": 41234, "drain-timeout": 2.5, "ipv6": true, "metrics": "127.0.0.1:9000"}"#)
        let resolved = try await ServeSettings(flags: [:], environment: [:], configFile: path)
        #expect(try resolved.int("port", in: 0...65535) == 41234)
        #expect(try resolved.double("drain-timeout", in: 0...3600) == 2.5)
        #expect(try resolved.bool("ipv6"))
        #expect(resolved.string("metrics") == "127.0.0.1:9000")
    }

    @Test func badValuesNameTheSourceTheOptionAndTheRange() async throws {
        func message(_ body: () throws -> Any?) -> String {
            do { _ = try body(); return "" } catch { return "\(error)" }
        }
        let env = try await settings(environment: ["TICKWIRE_PORT": "abc"])
        #expect(message { try env.int("port", in: 0...65535) } == "TICKWIRE_PORT: port must be an integer in 0...65535, got 'abc'")
        let file = try await settings(yaml: "max-clients: 9000\n")
        #expect(message { try file.int("max-clients", in: 1...4096) }.contains(": max-clients must be an integer in 1...4096, got '9000'"))
        #expect(message { try file.int("max-clients", in: 1...4096) }.hasPrefix("config file "))
        let json = try temporary("c.json", #"{"port": "x"}"#)
        let fromJSON = try await ServeSettings(flags: [:], environment: [:], configFile: json)
        #expect(message { try fromJSON.int("port", in: 0...65535) } == "config file \(json): port must be an integer in 0...65535, got 'x'")
        let flag = try await settings(flags: ["drain-timeout": ["-1"]])
        #expect(message { try flag.double("drain-timeout", in: 0...3600) } == "--drain-timeout: drain-timeout must be a number in 0...3600, got '-1'")
        let interval = try await settings(yaml: "read-interval-ms: 25\n")
        #expect(message { try interval.double("read-interval-ms", in: 0...20) }.contains(": read-interval-ms must be a number in 0...20, got '25'"))
        let priority = try await settings(yaml: "realtime-priority: 100\n")
        #expect(message { try priority.int("realtime-priority", in: 1...99) }.contains(": realtime-priority must be an integer in 1...99, got '100'"))
        #expect(try await settings().int("realtime-priority", in: 1...99) == nil)
        let intervalDefault = try await settings()
        #expect(try intervalDefault.double("read-interval-ms", in: 0...20) == 1)
        await #expect(throws: ValidationError.self) { _ = try await settings(yaml: "prot: 1\n") }
        await #expect(throws: ValidationError.self) { _ = try await ServeSettings(flags: [:], environment: [:], configFile: "/nonexistent/x.yaml") }
        await #expect(throws: ValidationError.self) { _ = try await ServeSettings(flags: [:], environment: [:], configFile: try temporary("c.toml", "")) }
    }

    @Test func theKeyFollowsTheSameOrderAndIsNeverPrinted() async throws {
        let keyFile = try temporary("key", Self.fileKeyHex)
        // Flag (key-file) over environment (key).
        var resolved = try ServeKey.resolve(try await settings(flags: ["key-file": [keyFile]], environment: ["TICKWIRE_PRIVATE_KEY": Self.envKeyHex]))
        #expect(resolved.key == [UInt8](repeating: 0x44, count: 32) && resolved.ignored == ["TICKWIRE_PRIVATE_KEY"])
        // Flag (key) over config file (key-file).
        resolved = try ServeKey.resolve(try await settings(flags: ["key": [Self.flagKeyHex]], yaml: "key-file: \(keyFile)\n"))
        #expect(resolved.key == [UInt8](repeating: 0x66, count: 32) && resolved.ignored.first?.hasPrefix("config file") == true)
        // Environment (key) over config file (key-file).
        resolved = try ServeKey.resolve(try await settings(environment: ["TICKWIRE_PRIVATE_KEY": Self.envKeyHex], yaml: "key-file: \(keyFile)\n"))
        #expect(resolved.key == [UInt8](repeating: 0x55, count: 32) && resolved.source == "TICKWIRE_PRIVATE_KEY")
        // Config file alone.
        resolved = try ServeKey.resolve(try await settings(yaml: "key-file: \(keyFile)\n"))
        #expect(resolved.key == [UInt8](repeating: 0x44, count: 32) && resolved.ignored.isEmpty)
        #expect(resolved.description.hasPrefix("private key from config file ") && !resolved.description.contains(Self.fileKeyHex))
        // Two at one level: refused.
        let both = try await settings(environment: ["TICKWIRE_PRIVATE_KEY": Self.envKeyHex, "TICKWIRE_KEY_FILE": keyFile])
        #expect(throws: ValidationError.self) { try ServeKey.resolve(both) }
        // Never printed.
        let printed = try await settings(flags: ["key": [Self.flagKeyHex]], environment: ["TICKWIRE_PRIVATE_KEY": Self.envKeyHex]).printed()
        #expect(printed.contains("(hidden)") && !printed.contains(Self.flagKeyHex) && !printed.contains(Self.envKeyHex))
        let bad = try await settings(environment: ["TICKWIRE_PRIVATE_KEY": "zz" + Self.envKeyHex.dropFirst(2)])
        #expect(throws: (any Error).self) { try ServeKey.resolve(bad) }
    }
}
