import ArgumentParser
import Foundation

/// The private key, from a flag (`--key` or `--key-file`), else the environment variable: flags
/// come first. When both give a key, the one used and the one ignored are said, never silently.
struct KeyOptions: ParsableArguments {
    static let environmentVariable = "TICKWIRE_PRIVATE_KEY"

    @Option(name: .customLong("key"), help: "Private key as 64 hex characters (or set \(KeyOptions.environmentVariable)).")
    var keyHex: String?

    @Option(name: .customLong("key-file"), help: "File holding the private key as 64 hex characters (wins over \(KeyOptions.environmentVariable)).")
    var keyFile: String?

    /// The key, where it came from, and the sources that also gave one and were ignored.
    struct Resolved {
        var key: [UInt8]
        var source: String
        var ignored: [String]

        /// The start-up line: which source the key came from (never the key).
        var description: String {
            "private key from \(source)" + (ignored.isEmpty ? "" : "; also given by \(ignored.joined(separator: ", ")), ignored (flags come before the environment, which comes before the config file)")
        }
    }

    func resolved(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Resolved {
        if keyHex != nil && keyFile != nil { throw CLIError("give --key or --key-file, not both") }
        let fromEnvironment = environment[Self.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
        let ignored = fromEnvironment == nil ? [] : [Self.environmentVariable]
        if let keyHex { return Resolved(key: try Self.parse(keyHex, source: "--key"), source: "--key", ignored: ignored) }
        if let keyFile {
            return Resolved(key: try Self.read(keyFile, given: "--key-file"), source: "--key-file \(keyFile)", ignored: ignored)
        }
        if let fromEnvironment {
            return Resolved(key: try Self.parse(fromEnvironment, source: Self.environmentVariable), source: Self.environmentVariable, ignored: [])
        }
        throw CLIError(
            "no private key: pass --key HEX, --key-file PATH or set \(Self.environmentVariable); make one with `tickwire keygen`")
    }

    /// The key; when a flag overrode the environment, says so on standard error.
    func resolve() throws -> [UInt8] {
        let resolved = try resolved()
        if !resolved.ignored.isEmpty { FileHandle.standardError.write(Data("tickwire: \(resolved.description)\n".utf8)) }
        return resolved.key
    }

    /// The key in the file at `path`; `given` names where the path came from, for errors.
    static func read(_ path: String, given: String) throws -> [UInt8] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("\(given): cannot read '\(path)'") }
        return try parse(text, source: "\(given) \(path)")
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
