import Foundation
import Logging

/// One JSON object per line on standard error: `timestamp` (ISO 8601, UTC, milliseconds),
/// `level`, `label`, `message`, `source`, and `metadata` (an object of strings), for log
/// collectors. `--log-format json`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    /// Where each line goes (standard error; tests capture it).
    var output: @Sendable (Data) -> Void = JSONLogHandler.standardError

    private static let lock = NSLock()

    static let standardError: @Sendable (Data) -> Void = { data in
        lock.lock()
        defer { lock.unlock() }
        FileHandle.standardError.write(data)
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        var object: [String: Any] = [
            "timestamp": Self.timestamp(Date()), "level": "\(event.level)", "label": label,
            "message": "\(event.message)", "source": event.source,
        ]
        if !merged.isEmpty { object["metadata"] = merged.mapValues(Self.flatten) }
        guard var data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else { return }
        data.append(0x0A)
        output(data)
    }

    static func flatten(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let value): return value.description
        case .array(let values): return values.map(flatten)
        case .dictionary(let values): return values.mapValues(flatten)
        }
    }

    static func timestamp(_ date: Date) -> String {
        var time = timespec()
        time.tv_sec = Int(date.timeIntervalSince1970)
        var parts = tm()
        gmtime_r(&time.tv_sec, &parts)
        let millis = Int((date.timeIntervalSince1970 - Double(time.tv_sec)) * 1000)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }
}
