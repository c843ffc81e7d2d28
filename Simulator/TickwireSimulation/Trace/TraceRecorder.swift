import TickwireProtocol
import TickwireReliability

/// Turns what one client observed of its link (`PacketLog`) into a trace link.
///
/// * Up: every packet that asked for an ack; acked → delivered after half its ack round trip,
///   never acked and sent more than a second before the log ended → lost (later ones are left
///   out: their fate is not known).
/// * Down: every packet accepted, in sequence order; a missing sequence is a lost packet, its
///   send time between its neighbours'. The delay is one-way where snapshots carry the server's
///   send time: (arrival − server time) less its smallest value over the run, plus half the
///   smallest round trip (the clocks' offset is not known, so the base is estimated; the
///   variation is measured). A packet without a snapshot takes the previous packet's delay.
public enum TraceRecorder {
    public static let note = "recorded by tickwire swarm: down delays one-way from snapshot server times (base: half the smallest RTT); up delays half of each packet's ack round trip"

    public static func link(from log: PacketLog, start: TickwireInstant, end: TickwireInstant) -> NetworkTrace.Link {
        func micros(_ instant: TickwireInstant) -> Int64 { Int64(instant.nanoseconds / 1000) - Int64(start.nanoseconds / 1000) }
        var link = NetworkTrace.Link()
        var minRTT = Int64.max
        for packet in log.sent where packet.at >= start {
            if let acked = packet.ackedAt {
                let rtt = micros(acked) - micros(packet.at)
                minRTT = min(minRTT, rtt)
                link.up.append(.init(sentMicros: micros(packet.at), delayMicros: max(0, rtt / 2), size: packet.bytes))
            } else if end - packet.at > .seconds(1) {
                link.up.append(.init(sentMicros: micros(packet.at), delayMicros: nil, size: packet.bytes))
            }
        }
        if minRTT == .max { minRTT = 0 }

        // Down: unwrap the sequences (they wrap at 65536) in arrival order, then sort.
        var unwrapped: [(sequence: Int64, packet: PacketLog.Received)] = []
        var last: Int64?
        for packet in log.received where packet.at >= start {
            let sequence: Int64
            if let last {
                let delta = Int64(Int16(bitPattern: packet.sequence &- UInt16(truncatingIfNeeded: last)))
                sequence = last + delta
            } else {
                sequence = Int64(packet.sequence)
            }
            last = max(last ?? sequence, sequence)
            unwrapped.append((sequence, packet))
        }
        unwrapped.sort { $0.sequence < $1.sequence }
        let offsets = unwrapped.compactMap { entry in entry.packet.serverMicros.map { micros(entry.packet.at) - Int64($0) } }
        let baseOffset = offsets.min() ?? 0
        var previousDelay = minRTT / 2
        var previous: (sequence: Int64, sent: Int64, size: Int)?
        for (sequence, packet) in unwrapped {
            if let server = packet.serverMicros {
                previousDelay = (micros(packet.at) - Int64(server)) - baseOffset + minRTT / 2
            }
            let sent = max(previous?.sent ?? 0, micros(packet.at) - previousDelay)
            if let previous, sequence - previous.sequence > 1 {
                let missing = sequence - previous.sequence - 1
                for k in 1...missing {
                    let t = previous.sent + (sent - previous.sent) * k / (missing + 1)
                    link.down.append(.init(sentMicros: t, delayMicros: nil, size: (previous.size + packet.bytes) / 2))
                }
            }
            if let previous, sequence == previous.sequence { continue }  // a duplicate
            link.down.append(.init(sentMicros: sent, delayMicros: micros(packet.at) - sent, size: packet.bytes))
            previous = (sequence, sent, packet.bytes)
        }
        return link
    }
}
