import ArgumentParser
import Foundation

/// `serve`'s private key from its settings: `key` (hex) or `key-file`, each from a flag, the
/// environment (`TICKWIRE_PRIVATE_KEY`, `TICKWIRE_KEY_FILE`) or the config file. The source
/// higher in the order wins; the other is named as ignored; two at the same level are refused.
enum ServeKey {
    static func rank(_ source: ServeSettings.Source) -> Int {
        switch source {
        case .flag: return 0
        case .environment: return 1
        case .file: return 2
        case .defaultValue: return 3
        }
    }

    static func resolve(_ settings: ServeSettings) throws -> KeyOptions.Resolved {
        let hex = settings.value("key")
        let file = settings.value("key-file")
        if let hex, let file, rank(hex.source) == rank(file.source) {
            throw ValidationError("\(hex.source) and \(file.source) both give the private key: give one")
        }
        let useFile: Bool
        switch (hex, file) {
        case (nil, nil):
            throw CLIError("no private key: pass --key HEX or --key-file PATH, set \(KeyOptions.environmentVariable) or TICKWIRE_KEY_FILE, or put key-file in the config file; make one with `tickwire keygen`")
        case (.some, nil): useFile = false
        case (nil, .some): useFile = true
        case (.some(let h), .some(let f)): useFile = rank(f.source) < rank(h.source)
        }
        let ignored = useFile ? hex.map { ["\($0.source)"] } ?? [] : file.map { ["\($0.source)"] } ?? []
        if useFile, let file {
            let given = file.source == .flag("key-file") ? "--key-file" : "\(file.source) key-file"
            return KeyOptions.Resolved(key: try KeyOptions.read(file.text, given: given), source: "\(given) \(file.text)", ignored: ignored)
        }
        let source = hex!.source == .flag("key") ? "--key" : "\(hex!.source)"
        return KeyOptions.Resolved(key: try KeyOptions.parse(hex!.text, source: source), source: source, ignored: ignored)
    }
}
