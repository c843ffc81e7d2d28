import ArgumentParser
import Foundation

/// The private key, from a flag, an environment variable or a file (in that order).
struct KeyOptions: ParsableArguments {
    static let environmentVariable = "TICKWIRE_PRIVATE_KEY"

    @Option(name: .customLong("key"), help: "Private key as 64 hex characters (or set \(KeyOptions.environmentVariable)).")
    var keyHex: String?

    @Option(name: .customLong("key-file"), help: "File holding the private key as 64 hex characters.")
    var keyFile: String?

    func resolve() throws -> [UInt8] {
        if let keyHex { return try Self.parse(keyHex, source: "--key") }
        if let env = ProcessInfo.processInfo.environment[Self.environmentVariable], !env.isEmpty {
            return try Self.parse(env, source: Self.environmentVariable)
        }
        if let keyFile {
            guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
                throw CLIError("cannot read key file '\(keyFile)'")
            }
            return try Self.parse(text, source: keyFile)
        }
        throw CLIError(
            "no private key: pass --key HEX, --key-file PATH or set \(Self.environmentVariable); make one with `tickwire keygen`")
    }

    static func parse(_ text: String, source: String) throws -> [UInt8] {
        let hex = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard hex.count == 64, let bytes = Hex.decode(hex) else {
            throw CLIError(
                "\(source): a private key is 64 hex characters (32 bytes), got \(hex.count) characters\(Hex.decode(hex) == nil && !hex.isEmpty ? " with non-hex text" : ""); make one with `tickwire keygen`")
        }
        return bytes
    }
}

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func decode(_ text: String) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(text.count / 2)
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }
}

/// Parses a protocol id given in decimal or as 0x-prefixed hex.
struct ProtocolID: ExpressibleByArgument {
    var value: UInt64
    init?(argument: String) {
        if argument.lowercased().hasPrefix("0x") {
            guard let v = UInt64(argument.dropFirst(2), radix: 16) else { return nil }
            value = v
        } else {
            guard let v = UInt64(argument) else { return nil }
            value = v
        }
    }
    init(_ value: UInt64) { self.value = value }
    var defaultValueDescription: String { "0x" + String(value, radix: 16) }
}
