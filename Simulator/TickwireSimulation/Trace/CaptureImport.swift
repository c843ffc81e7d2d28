import Foundation

/// Builds a trace from a pair of packet captures taken at both ends of a link (read by
/// `tshark`): a packet is matched across the two by its UDP payload bytes. Seen leaving one end
/// and arriving at the other: delivered after the difference of the two capture times (one-way,
/// exact when both ends share a clock: two network namespaces of one host, or PTP-synchronised
/// machines; say so with `delay`); seen leaving and never arriving: lost. One link per client
/// address talking to the server address.
public enum CaptureImport {
    /// One UDP datagram as `tshark -T fields` prints it.
    public struct Datagram: Sendable, Equatable {
        public var time: Double
        public var source: String
        public var destination: String
        public var payload: String  // hex
        public var size: Int

        public init(time: Double, source: String, destination: String, payload: String, size: Int) {
            self.time = time
            self.source = source
            self.destination = destination
            self.payload = payload
            self.size = size
        }
    }

    /// The `tshark` arguments that print what `parse` reads.
    public static func tsharkArguments(file: String) -> [String] {
        ["-r", file, "-Y", "udp", "-T", "fields", "-E", "separator=|",
         "-e", "frame.time_epoch", "-e", "ip.src", "-e", "ipv6.src", "-e", "udp.srcport",
         "-e", "ip.dst", "-e", "ipv6.dst", "-e", "udp.dstport", "-e", "udp.length", "-e", "udp.payload"]
    }

    /// Reads `tshark` field output (lines of time|ip.src|ipv6.src|sport|ip.dst|ipv6.dst|dport|length|payload).
    public static func parse(_ text: String, source name: String) throws(TraceError) -> [Datagram] {
        var out: [Datagram] = []
        for (index, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 9, let time = Double(fields[0]), time.isFinite, time >= 0,
                  let sport = Int(fields[3]), let dport = Int(fields[6]), let length = Int(fields[7]), (8...65_535).contains(length)
            else { throw .invalid("\(name):\(index + 1): not a tshark UDP line (time|ip.src|ipv6.src|sport|ip.dst|ipv6.dst|dport|length|payload)") }
            let src = fields[1].isEmpty ? "[\(fields[2])]" : fields[1]
            let dst = fields[4].isEmpty ? "[\(fields[5])]" : fields[4]
            out.append(Datagram(time: time, source: "\(src):\(sport)", destination: "\(dst):\(dport)",
                                payload: fields[8].replacingOccurrences(of: ":", with: ""), size: length - 8))
        }
        return out
    }

    /// The trace of every client that talked to `server` ("ip:port", as tshark prints it).
    public static func trace(clientSide: [Datagram], serverSide: [Datagram], server: String, source: String) throws(TraceError) -> NetworkTrace {
        let clients = Array(Set(clientSide.filter { $0.destination == server }.map(\.source))).sorted()
        guard !clients.isEmpty else { throw .invalid("\(source): no UDP packets to \(server) in the client-side capture") }
        let start = min(clientSide.first?.time ?? 0, serverSide.first?.time ?? 0)
        func micros(_ time: Double) -> Int64 { Int64(((time - start) * 1e6).rounded()) }
        /// Departures from one side matched to arrivals on the other by payload, in order (a
        /// payload seen twice is matched first to first).
        func direction(_ sent: [Datagram], _ arrived: [Datagram]) -> [NetworkTrace.Packet] {
            var arrivals: [String: [Double]] = [:]
            for datagram in arrived { arrivals[datagram.payload, default: []].append(datagram.time) }
            var used: [String: Int] = [:]
            return sent.map { datagram in
                let k = used[datagram.payload, default: 0]
                let times = arrivals[datagram.payload] ?? []
                let arrival = k < times.count ? times[k] : nil
                if arrival != nil { used[datagram.payload] = k + 1 }
                return NetworkTrace.Packet(
                    sentMicros: micros(datagram.time), delayMicros: arrival.map { max(0, micros($0) - micros(datagram.time)) },
                    size: datagram.size)
            }
        }
        let links = clients.map { client in
            NetworkTrace.Link(
                up: direction(clientSide.filter { $0.source == client && $0.destination == server },
                              serverSide.filter { $0.source == client && $0.destination == server }),
                down: direction(serverSide.filter { $0.source == server && $0.destination == client },
                                clientSide.filter { $0.source == server && $0.destination == client }))
        }
        return NetworkTrace(
            source: source, delay: .oneWay,
            note: "imported from a pair of packet captures (client side and server side, read by tshark); delays are capture-time differences, one-way on a shared clock",
            links: links)
    }
}
