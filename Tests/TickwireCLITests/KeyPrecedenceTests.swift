import ArgumentParser
import Foundation
import Testing
@testable import tickwire

/// Where the private key comes from when several sources give one: flags before the
/// environment, never silently, and two flags at once refused.
@Suite struct KeyPrecedenceTests {
    static let flagKey = String(repeating: "11", count: 32)
    static let fileKey = String(repeating: "22", count: 32)
    static let environmentKey = String(repeating: "33", count: 32)

    func options(_ arguments: [String]) throws -> KeyOptions { try KeyOptions.parse(arguments) }

    func withKeyFile<T>(_ body: (String) throws -> T) throws -> T {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tickwire-key-\(UUID().uuidString)").path
        try Self.fileKey.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try body(path)
    }

    @Test func theFlagWinsOverTheEnvironmentAndSaysSo() throws {
        let environment = [KeyOptions.environmentVariable: Self.environmentKey]
        let resolved = try options(["--key", Self.flagKey]).resolved(environment: environment)
        #expect(resolved.key == [UInt8](repeating: 0x11, count: 32))
        #expect(resolved.description == "private key from --key; also given by TICKWIRE_PRIVATE_KEY, ignored (flags come before the environment, which comes before the config file)")
        #expect(!resolved.description.contains(Self.flagKey) && !resolved.description.contains(Self.environmentKey))
    }

    @Test func theKeyFileWinsOverTheEnvironmentAndSaysSo() throws {
        try withKeyFile { path in
            let resolved = try options(["--key-file", path]).resolved(environment: [KeyOptions.environmentVariable: Self.environmentKey])
            #expect(resolved.key == [UInt8](repeating: 0x22, count: 32))
            #expect(resolved.source == "--key-file \(path)" && resolved.ignored == [KeyOptions.environmentVariable])
        }
    }

    @Test func theEnvironmentAloneIsUsedAndNamed() throws {
        let resolved = try options([]).resolved(environment: [KeyOptions.environmentVariable: Self.environmentKey])
        #expect(resolved.key == [UInt8](repeating: 0x33, count: 32))
        #expect(resolved.description == "private key from TICKWIRE_PRIVATE_KEY")
    }

    @Test func twoFlagsAreRefusedAndNoKeyIsAnError() throws {
        try withKeyFile { path in
            #expect(throws: CLIError.self) { try options(["--key", Self.flagKey, "--key-file", path]).resolved(environment: [:]) }
        }
        #expect(throws: CLIError.self) { try options([]).resolved(environment: [:]) }
        #expect(throws: CLIError.self) { try options(["--key", "abc"]).resolved(environment: [:]) }
    }
}
