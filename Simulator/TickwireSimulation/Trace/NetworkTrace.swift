import Foundation

/// A recorded network: for each link and direction, every packet's send time, its fate (delivered
/// after a delay, or lost) and its size. Stored as JSON lines (docs: README "Network traces"):
///
///     {"tickwire_trace": 1, "source": "…", "delay": "one_way", "links": 2, "note": "…"}
///     {"link": 0, "dir": "up", "t_us": 0, "delay_us": 21500, "size": 64}
///     {"link": 0, "dir": "down", "t_us": 16667, "lost": true, "size": 180}
///
/// `t_us` is the send time in microseconds from the start of the recording, non-decreasing per
/// link and direction. `delay` says how the delays were measured: `one_way` (both ends' clocks),
/// `one_way_estimated` (one-way variation measured, its base taken as half the smallest RTT), or
/// `rtt_half` (half of each round trip).
public struct NetworkTrace: Sendable, Equatable {
    public static let formatVersion = 1

    public enum DelayKind: String, Sendable, Equatable, CaseIterable {
        case oneWay = "one_way"
        case oneWayEstimated = "one_way_estimated"
        case rttHalf = "rtt_half"
    }

    public enum Direction: String, Sendable, Equatable, CaseIterable {
        case up, down
    }

    public struct Packet: Sendable, Equatable {
        /// Send time from the start of the recording.
        public var sentMicros: Int64
        /// nil: lost.
        public var delayMicros: Int64?
        public var size: Int

        public init(sentMicros: Int64, delayMicros: Int64?, size: Int) {
            self.sentMicros = sentMicros
            self.delayMicros = delayMicros
            self.size = size
        }
    }

    public struct Link: Sendable, Equatable {
        public var up: [Packet] = []
        public var down: [Packet] = []
        public init(up: [Packet] = [], down: [Packet] = []) {
            self.up = up
            self.down = down
        }

        public subscript(direction: Direction) -> [Packet] {
            get { direction == .up ? up : down }
            set { if direction == .up { up = newValue } else { down = newValue } }
        }
    }

    /// Where the trace came from (a recorder run, an import of a named file).
    public var source: String
    public var delay: DelayKind
    public var note: String?
    public var links: [Link]

    public init(source: String, delay: DelayKind, note: String? = nil, links: [Link]) {
        self.source = source
        self.delay = delay
        self.note = note
        self.links = links
    }

    // MARK: Reading and writing

    public static func load(path: String) throws(TraceError) -> NetworkTrace {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable("cannot read trace file \(path): \(error.localizedDescription)")
        }
        return try parse(String(decoding: data, as: UTF8.self), source: path)
    }

    /// Reads the JSON-lines text; errors name `source`, the line and the field.
    public static func parse(_ text: String, source name: String) throws(TraceError) -> NetworkTrace {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().filter {
            !$0.element.trimmingCharacters(in: .whitespaces).isEmpty
        }.makeIterator()
        func object(_ line: Substring, _ number: Int) throws(TraceError) -> [String: Any] {
            guard let value = try? JSONSerialization.jsonObject(with: Data(line.utf8)), let object = value as? [String: Any] else {
                throw .invalid("\(name):\(number): not a JSON object")
            }
            return object
        }
        guard let (headerIndex, headerLine) = lines.next() else { throw .invalid("\(name): empty (a header line first)") }
        let header = try object(headerLine, headerIndex + 1)
        guard let version = header["tickwire_trace"] as? Int else {
            throw .invalid("\(name):\(headerIndex + 1): the first line must hold \"tickwire_trace\": \(formatVersion)")
        }
        guard version == formatVersion else {
            throw .invalid("\(name):\(headerIndex + 1): trace format \(version); this build reads \(formatVersion)")
        }
        guard let delayText = header["delay"] as? String, let delay = DelayKind(rawValue: delayText) else {
            throw .invalid("\(name):\(headerIndex + 1): delay must be one of \(DelayKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let count = header["links"] as? Int, (1...100_000).contains(count) else {
            throw .invalid("\(name):\(headerIndex + 1): links must be 1...100000")
        }
        var trace = NetworkTrace(
            source: header["source"] as? String ?? name, delay: delay, note: header["note"] as? String,
            links: Array(repeating: Link(), count: count))
        while let (index, line) = lines.next() {
            let where_ = "\(name):\(index + 1)"
            let entry = try object(line, index + 1)
            guard let link = entry["link"] as? Int, trace.links.indices.contains(link) else {
                throw .invalid("\(where_): link must be 0...\(count - 1)")
            }
            guard let dirText = entry["dir"] as? String, let direction = Direction(rawValue: dirText) else {
                throw .invalid("\(where_): dir must be \"up\" or \"down\"")
            }
            guard let sent = Self.integer(entry["t_us"], in: 0...(86_400 * 1_000_000)) else {
                throw .invalid("\(where_): t_us must be a whole number of microseconds, 0...86400000000")
            }
            if let previous = trace.links[link][direction].last, previous.sentMicros > sent {
                throw .invalid("\(where_): t_us goes backwards (\(sent) after \(previous.sentMicros)) on link \(link) \(dirText)")
            }
            guard let size = entry["size"] as? Int, (0...65_535).contains(size) else { throw .invalid("\(where_): size must be 0...65535") }
            let lost = entry["lost"] as? Bool ?? false
            var delayMicros: Int64?
            if !lost {
                guard let value = Self.integer(entry["delay_us"], in: 0...600_000_000) else {
                    throw .invalid("\(where_): give delay_us (0...600000000) or \"lost\": true")
                }
                delayMicros = value
            }
            trace.links[link][direction].append(Packet(sentMicros: sent, delayMicros: delayMicros, size: size))
        }
        return trace
    }

    /// A JSON number that is a whole number within `range` (checked before any conversion, so no
    /// value in a file can trap).
    private static func integer(_ value: Any?, in range: ClosedRange<Int64>) -> Int64? {
        guard let number = value as? NSNumber else { return nil }
        let double = number.doubleValue
        guard double.isFinite, double >= Double(range.lowerBound), double <= Double(range.upperBound), double.rounded() == double else { return nil }
        return Int64(double)
    }

    /// The JSON-lines text (`parse` reads it back to an equal trace).
    public func encoded() -> String {
        func json(_ object: [String: Any]) -> String {
            String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
        }
        var header: [String: Any] = ["tickwire_trace": Self.formatVersion, "source": source, "delay": delay.rawValue, "links": links.count]
        if let note { header["note"] = note }
        var out = json(header) + "\n"
        for (index, link) in links.enumerated() {
            for direction in Direction.allCases {
                for packet in link[direction] {
                    var entry: [String: Any] = ["link": index, "dir": direction.rawValue, "t_us": packet.sentMicros, "size": packet.size]
                    if let delay = packet.delayMicros { entry["delay_us"] = delay } else { entry["lost"] = true }
                    out += json(entry) + "\n"
                }
            }
        }
        return out
    }
}

public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .unreadable(let why), .invalid(let why): why
        }
    }
}
