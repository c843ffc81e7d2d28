import TickwireProtocol
import TickwireReliability

/// The channel layer's receive with any headers, records and fragments. Each chunk is one
/// packet from the peer; between packets the connection writes its own (acks, resends) and
/// delivers what it can, so acks, loss detection and reassembly all meet hostile input.
enum ChannelFuzzing {
    nonisolated(unsafe) static let template: ChannelConnection = {
        var connection = try! ChannelConnection()
        // Something in flight, so acks from the input have messages to settle.
        for size in [40, 3000, 1] { _ = try? connection.sendReliable([UInt8](repeating: 0x42, count: size)) }
        var buffer = [UInt8](repeating: 0, count: 1200)
        _ = buffer.withUnsafeMutableBytes { connection.writePacket(into: $0, now: .zero) }
        return connection
    }()

    static func receive(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        var connection = template
        var buffer = [UInt8](repeating: 0, count: 1200)
        var now = TickwireInstant.zero
        while !input.isEmpty {
            now = now + .milliseconds(Int64(input.byte()))
            let packet = input.chunk()
            connection.receive(packet, now: now) { _ in }
            while connection.receiveReliable() != nil {}
            if packet.first.map({ $0 & 1 == 1 }) ?? false { _ = try? connection.sendReliable(packet) }
            _ = buffer.withUnsafeMutableBytes { connection.writePacket(into: $0, now: now) }
            connection.endTick()
            connection.update(now: now)
        }
        _ = connection.stats
    }
}
