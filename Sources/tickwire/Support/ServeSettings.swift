import ArgumentParser
import Configuration
import Foundation
import NIOCore
import SystemPackage
import TickwireServer

/// `tickwire serve`'s configuration: every option from, in this order, the command line, the
/// environment (`TICKWIRE_` + the option's name in upper snake case, e.g. `TICKWIRE_MAX_CLIENTS`),
/// a configuration file (`--config tickwire.yaml` or `.json`, keys named like the flags without
/// `--`), and the defaults. Each value remembers where it came from; a bad value is refused naming
/// that source, the option and what it must be. The files are read with swift-configuration.
struct ServeSettings {
    enum Kind { case int, double, string, bool, stringList }

    struct Setting {
        var name: String
        var kind: Kind
        /// The default's text, nil for none.
        var defaultText: String?
        /// Never printed (the key).
        var isSecret = false
        /// The environment variable, `TICKWIRE_` + the name in upper snake case unless given.
        var environmentName: String?

        var environmentVariable: String {
            environmentName ?? "TICKWIRE_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        }
    }

    enum Source: Equatable, CustomStringConvertible {
        case flag(String), environment(String), file(String), defaultValue

        var description: String {
            switch self {
            case .flag(let name): return "--\(name)"
            case .environment(let variable): return variable
            case .file(let path): return "config file \(path)"
            case .defaultValue: return "default"
            }
        }
    }

    struct Value {
        var text: String
        var list: [String]
        var source: Source
    }

    static let settings: [Setting] = [
        Setting(name: "key", kind: .string, defaultText: nil, isSecret: true, environmentName: KeyOptions.environmentVariable),
        Setting(name: "key-file", kind: .string, defaultText: nil),
        Setting(name: "bind", kind: .string, defaultText: "0.0.0.0"),
        Setting(name: "port", kind: .int, defaultText: "40000"),
        Setting(name: "ports", kind: .string, defaultText: nil),
        Setting(name: "workers", kind: .int, defaultText: "\(System.coreCount)"),
        Setting(name: "ipv6", kind: .bool, defaultText: "false"),
        Setting(name: "public-address", kind: .stringList, defaultText: nil),
        Setting(name: "protocol-id", kind: .string, defaultText: "0x" + String(RelayServerOptions.defaultProtocolID, radix: 16)),
        Setting(name: "max-clients", kind: .int, defaultText: "256"),
        Setting(name: "tick-rate", kind: .int, defaultText: "60"),
        Setting(name: "room-capacity", kind: .int, defaultText: "64"),
        Setting(name: "state-size", kind: .int, defaultText: "64"),
        Setting(name: "ack-delay-ms", kind: .double, defaultText: nil),
        Setting(name: "relay-delay-ms", kind: .double, defaultText: nil),
        Setting(name: "read-interval-ms", kind: .double, defaultText: "1"),
        Setting(name: "realtime-priority", kind: .int, defaultText: nil),
        Setting(name: "metrics", kind: .string, defaultText: nil),
        Setting(name: "join-api-key-file", kind: .string, defaultText: nil),
        Setting(name: "join-token-seconds", kind: .int, defaultText: "30"),
        // The URL may carry a password: never printed.
        Setting(name: "directory", kind: .string, defaultText: nil, isSecret: true),
        Setting(name: "relay-id", kind: .string, defaultText: nil),
        Setting(name: "heartbeat-timeout", kind: .double, defaultText: "5"),
        Setting(name: "agones", kind: .bool, defaultText: "false"),
        Setting(name: "agones-idle-shutdown", kind: .double, defaultText: "60"),
        Setting(name: "drain-timeout", kind: .double, defaultText: "30"),
        Setting(name: "admin-tls-cert", kind: .string, defaultText: nil),
        Setting(name: "admin-tls-key", kind: .string, defaultText: nil),
        Setting(name: "log-level", kind: .string, defaultText: "info"),
        Setting(name: "log-format", kind: .string, defaultText: "text"),
    ] + LimitOptions.settings

    private(set) var values: [String: Value] = [:]
    let configFile: String?

    /// Resolves every setting. `flags`: the options given on the command line, as text (lists
    /// for repeatable ones); `environment`: the process's; `configFile`: a YAML or JSON file.
    init(flags: [String: [String]], environment: [String: String], configFile: String?) async throws {
        self.configFile = configFile
        var file: (any ConfigProvider)?
        if let configFile {
            let path = FilePath(configFile)
            do {
                if configFile.hasSuffix(".json") {
                    file = try await FileProvider<JSONSnapshot>(filePath: path)
                } else if configFile.hasSuffix(".yaml") || configFile.hasSuffix(".yml") {
                    file = try await FileProvider<YAMLSnapshot>(filePath: path)
                } else {
                    throw ValidationError("--config \(configFile): name a .yaml, .yml or .json file")
                }
            } catch let error as ValidationError { throw error } catch {
                throw ValidationError("--config \(configFile): cannot read it as \(configFile.hasSuffix(".json") ? "JSON" : "YAML"): \(error)")
            }
            try Self.refuseUnknownKeys(in: configFile)
        }
        for setting in Self.settings {
            if let given = flags[setting.name], !given.isEmpty {
                values[setting.name] = Value(text: given.last!, list: given, source: .flag(setting.name))
            } else if let text = environment[setting.environmentVariable], !text.isEmpty {
                let list = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                values[setting.name] = Value(text: text, list: list, source: .environment(setting.environmentVariable))
            } else if let file, let configFile, let found = try Self.lookup(setting, in: file, path: configFile) {
                values[setting.name] = found
            } else if let text = setting.defaultText {
                values[setting.name] = Value(text: text, list: [text], source: .defaultValue)
            }
        }
    }

    /// A key in the file that names no option is a mistake worth stopping for (a typo would
    /// otherwise be silently ignored).
    private static func refuseUnknownKeys(in path: String) throws {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        var keys: [String] = []
        if path.hasSuffix(".json") {
            if let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] { keys = Array(object.keys) }
        } else {
            keys = text.split(separator: "\n").compactMap { line -> String? in
                guard let first = line.first, first != " ", first != "#", first != "-", let colon = line.firstIndex(of: ":") else { return nil }
                return String(line[..<colon]).trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            }
        }
        let known = Set(settings.map(\.name))
        if let unknown = keys.sorted().first(where: { !known.contains($0) }) {
            throw ValidationError("config file \(path): '\(unknown)' is not an option of `tickwire serve` (see --help; keys are the flags' names without --)")
        }
    }

    private static func lookup(_ setting: Setting, in file: any ConfigProvider, path: String) throws -> Value? {
        let key = AbsoluteConfigKey([setting.name])
        func fetch(_ type: ConfigType) throws -> ConfigContent? { try file.value(forKey: key, type: type).value?.content }
        do {
            let content: ConfigContent?
            switch setting.kind {
            // A value of another type is read as text, so that the option's own check refuses
            // it with its range.
            case .int: content = try (try? fetch(.int)) ?? (try? fetch(.double)) ?? fetch(.string)
            case .double: content = try (try? fetch(.double)) ?? (try? fetch(.int)) ?? fetch(.string)
            case .bool: content = try (try? fetch(.bool)) ?? fetch(.string)
            case .string: content = try (try? fetch(.string)) ?? (try? fetch(.int)) ?? fetch(.double)
            case .stringList: content = try (try? fetch(.stringArray)) ?? fetch(.string)
            }
            guard let content else { return nil }
            let list: [String]
            switch content {
            case .string(let text): list = [text]
            case .int(let number): list = [String(number)]
            case .double(let number): list = [number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)]
            case .bool(let flag): list = [String(flag)]
            case .stringArray(let texts): list = texts
            default: throw ValidationError("config file \(path): \(setting.name) has a value of the wrong type")
            }
            return Value(text: list.last ?? "", list: list, source: .file(path))
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError("config file \(path): \(setting.name) must be \(Self.describe(setting.kind)): \(error)")
        }
    }

    static func describe(_ kind: Kind) -> String {
        switch kind {
        case .int: return "an integer"
        case .double: return "a number"
        case .string: return "a string"
        case .bool: return "true or false"
        case .stringList: return "a list of strings"
        }
    }

    func value(_ name: String) -> Value? { values[name] }
    func source(_ name: String) -> Source? { values[name]?.source }

    private func refuse(_ name: String, _ value: Value, _ expected: String) -> ValidationError {
        let shown = Self.settings.first { $0.name == name }?.isSecret == true ? "(hidden)" : "'\(value.text)'"
        return ValidationError("\(value.source): \(name) must be \(expected), got \(shown)")
    }

    func string(_ name: String) -> String? { values[name]?.text }
    func list(_ name: String) -> [String] { values[name]?.list ?? [] }

    func int(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let value = values[name] else { return nil }
        guard let number = Int(value.text.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            throw refuse(name, value, "an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    func double(_ name: String, in range: ClosedRange<Double>) throws -> Double? {
        guard let value = values[name] else { return nil }
        guard let number = Double(value.text.trimmingCharacters(in: .whitespaces)), number.isFinite, range.contains(number) else {
            throw refuse(name, value, "a number in \(Self.format(range.lowerBound))...\(Self.format(range.upperBound))")
        }
        return number
    }

    func bool(_ name: String) throws -> Bool {
        guard let value = values[name] else { return false }
        switch value.text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw refuse(name, value, "true or false")
        }
    }

    /// A value parsed by `parse`, refused with `expected` when it returns nil.
    func parsed<T>(_ name: String, _ expected: String, _ parse: (String) -> T?) throws -> T? {
        guard let value = values[name] else { return nil }
        guard let result = parse(value.text) else { throw refuse(name, value, expected) }
        return result
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() && abs(number) < 1e15 ? String(Int(number)) : String(number)
    }

    /// The effective configuration, one line per set option with its source; secrets hidden.
    func printed() -> String {
        var lines = ["# tickwire serve: effective configuration (flags > environment > config file > defaults)"]
        for setting in Self.settings {
            guard let value = values[setting.name] else { continue }
            let shown = setting.isSecret ? "(hidden)" : (setting.kind == .stringList ? value.list.joined(separator: ",") : value.text)
            lines.append("\(setting.name.padding(toLength: 22, withPad: " ", startingAt: 0)) \(shown.padding(toLength: 24, withPad: " ", startingAt: 0)) # \(value.source)")
        }
        return lines.joined(separator: "\n")
    }
}
