import Foundation

/// Reads the output of iputils `ping` (Linux) into a one-link trace. Each echo request is a
/// packet each way: a reply with `time=` delivered both ways after half the round trip (delay
/// kind `rtt_half`); a request with no reply lost both ways at the same instant (ping cannot tell
/// which way it was lost, so the trace keeps the round trip's loss where it happened).
///
/// Send times come from `ping -D` timestamps (`[1700000000.123456]`, the reply's arrival, less
/// the round trip) when the log has them, else from `icmp_seq` × `interval`.
public enum PingLogImport {
    public static func trace(from text: String, source: String, interval: Double) throws(TraceError) -> NetworkTrace {
        guard interval > 0, interval <= 60 else { throw .invalid("--interval must be in (0, 60] seconds, got \(interval)") }
        var replies: [(seq: Int, rttMicros: Int64, at: Double?, size: Int)] = []
        var transmitted: Int?
        var size = 64
        for line in text.split(separator: "\n") {
            if let range = line.range(of: " packets transmitted") {
                transmitted = Int(line[..<range.lowerBound].split(separator: " ").last ?? "")
                continue
            }
            guard let seqRange = line.range(of: "icmp_seq="), let timeRange = line.range(of: "time=") else { continue }
            let seq = Int(line[seqRange.upperBound...].prefix { $0.isNumber })
            let rtt = Double(line[timeRange.upperBound...].prefix { $0.isNumber || $0 == "." })
            guard let seq, let rtt, rtt >= 0, rtt < 600_000 else { continue }
            if let bytes = Int(line.prefix { $0.isNumber }), bytes > 0 { size = bytes }
            var at: Double?
            if line.hasPrefix("["), let close = line.firstIndex(of: "]"),
               let stamp = Double(line[line.index(after: line.startIndex)..<close]), stamp.isFinite, stamp >= 0, stamp < 1e11 {
                at = stamp
            }
            replies.append((seq, Int64(rtt * 1000), at, size))
        }
        guard let firstSeq = replies.map(\.seq).min(), let lastSeq = replies.map(\.seq).max() else {
            throw .invalid("\(source): no replies with icmp_seq= and time= (is it the output of ping?)")
        }
        guard lastSeq - firstSeq < 1_000_000, (transmitted ?? 0) < 1_000_000 else {
            throw .invalid("\(source): more than a million echoes; split the log")
        }
        // Sequences run from the first seen to the last sent (the summary's count when given).
        let end = max(lastSeq, transmitted.map { firstSeq + $0 - 1 } ?? lastSeq)
        let bySeq = Dictionary(replies.map { ($0.seq, $0) }, uniquingKeysWith: { first, _ in first })
        // With timestamps, sequence k was sent at the first reply's send time + the mean spacing.
        var origin: Double?
        var spacing = interval
        let stamped = replies.filter { $0.at != nil }.sorted { $0.seq < $1.seq }
        if let first = stamped.first, let last = stamped.last, last.seq > first.seq {
            spacing = ((last.at! - Double(last.rttMicros) / 1e6) - (first.at! - Double(first.rttMicros) / 1e6)) / Double(last.seq - first.seq)
            origin = first.at! - Double(first.rttMicros) / 1e6 - Double(first.seq - firstSeq) * spacing
        }
        var link = NetworkTrace.Link()
        for seq in firstSeq...end {
            let reply = bySeq[seq]
            var sent = Double(seq - firstSeq) * spacing
            if let origin, let reply, let at = reply.at { sent = at - Double(reply.rttMicros) / 1e6 - origin }
            let bounded = sent.isFinite ? min(max(sent, 0), 8.6e4 * 365) : 0
            let micros = max(link.up.last?.sentMicros ?? 0, Int64((bounded * 1e6).rounded()))
            let half = reply.map { $0.rttMicros / 2 }
            link.up.append(.init(sentMicros: micros, delayMicros: half, size: reply?.size ?? size))
            let downSent = max(link.down.last?.sentMicros ?? 0, micros + (half ?? 0))
            link.down.append(.init(sentMicros: downSent, delayMicros: half, size: reply?.size ?? size))
        }
        return NetworkTrace(
            source: source, delay: .rttHalf,
            note: "imported from ping output: \(end - firstSeq + 1) echoes, \(replies.count) replies; a lost echo is lost both ways",
            links: [link])
    }
}
