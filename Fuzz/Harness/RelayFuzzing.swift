import TickwireProtocol
import TickwireRelay

/// Relay messages and snapshots as the client and server decode them.
enum RelayFuzzing {
    static func message(_ data: UnsafeRawBufferPointer) {
        // The relay's in-place reading of a client's message agrees with the decoder.
        let request = RelayMessage.request(in: data)
        precondition((request == nil) == (RelayMessage.decode(data) == nil), "request(in:) and decode disagree on validity")
        switch request {
        case .eventToRoom(let payload)?:
            precondition(RelayMessage.decode(data) == .eventToRoom(payload: Array(data[payload])), "eventToRoom payload differs")
        case .eventToClient(let id, let payload)?:
            precondition(RelayMessage.decode(data) == .eventToClient(clientID: id, payload: Array(data[payload])), "eventToClient differs")
        default: break
        }
        guard let message = RelayMessage.decode(data) else { return }
        // Whatever decodes must encode back to the same bytes and decode to the same message.
        let encoded = message.encoded()
        precondition(RelayMessage.decode(encoded) == message, "relay message does not round-trip: \(message)")
        precondition(encoded.elementsEqual(data), "relay message re-encodes differently: \(message)")
    }

    /// A decoder that holds snapshots 1 (three entities) and 2 (one removed, one changed), so
    /// inputs can name real baselines.
    nonisolated(unsafe) static let decoderTemplate: SnapshotDecoder = {
        var decoder = SnapshotDecoder(maxStateSize: 64)
        var encoder = SnapshotEncoder(usesBaselines: true)
        var view = SnapshotView()
        for id in [UInt16(1), 5, 9] { view.append(id: id, clientID: UInt64(id) * 100, state: [UInt8](repeating: UInt8(id), count: 16)) }
        var buffer = [UInt8](repeating: 0, count: 1200)
        let first = buffer.withUnsafeMutableBytes { encoder.encode(tick: 1, serverTimeMicros: 1000, room: view, excluding: 0, into: $0) }
        _ = decoder.decode(buffer[0..<first])
        encoder.acked(tick: 1)
        var next = SnapshotView()
        next.append(id: 1, clientID: 100, state: [UInt8](repeating: 3, count: 20))
        next.append(id: 9, clientID: 900, state: [UInt8](repeating: 9, count: 16))
        let second = buffer.withUnsafeMutableBytes { encoder.encode(tick: 2, serverTimeMicros: 2000, room: next, excluding: 0, into: $0) }
        _ = decoder.decode(buffer[0..<second])
        return decoder
    }()

    static func snapshot(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        var decoder = decoderTemplate
        while !input.isEmpty {
            let message = input.chunk()
            if case .decoded(let tick, _) = decoder.decode(message), let view = decoder.view(tick: tick) {
                precondition(view.ids == view.ids.sorted(), "decoded snapshot entities out of order")
            }
        }
    }
}

extension SnapshotDecoder {
    mutating func decode(_ bytes: ArraySlice<UInt8>) -> Outcome { bytes.withUnsafeBytes { decode($0) } }
    mutating func decode(_ bytes: [UInt8]) -> Outcome { bytes.withUnsafeBytes { decode($0) } }
}
