import CTickwireMemory
/// Everything the server writes: keep-alives, payloads, disconnects, and the global-sequence
/// packets (challenge, denied) sent before a client owns a slot.
extension NetcodeServer {
    public enum SendError: Error, Equatable, Sendable {
        case notConnected
        case payloadSize(Int)
    }

    /// Encrypts `payload` for a connected client. An unconfirmed client gets a keep-alive first.
    public mutating func sendPayload(_ clientIndex: Int, _ payload: UnsafeRawBufferPointer, now: TickwireInstant) throws(SendError) {
        guard isConnected(clientIndex) else { throw .notConnected }
        guard (1...Netcode.maxPayloadBytes).contains(payload.count) else { throw .payloadSize(payload.count) }
        if !slots[clientIndex].confirmed { sendKeepAlive(clientIndex, now: now) }
        sendToClient(clientIndex, .payload, plaintextLength: payload.count, now: now) { $0.write(bytes: payload) }
        counters.payloadsSent &+= 1
    }

    /// Hint: fetch the slot `sendPayload(clientIndex, …)` reads (keys, sequence, address). A host
    /// that sends to many clients in turn calls it for the next one while it sends to this one.
    public mutating func prefetch(client clientIndex: Int) {
        guard clientIndex >= 0, clientIndex < configuration.maxClients else { return }
        let slotLines = (MemoryLayout<Slot>.stride + 63) / 64
        withUnsafeMutablePointer(to: &slots) { tickwire_prefetch_array_elements($0, clientIndex &* MemoryLayout<Slot>.stride, slotLines) }
        withUnsafeMutablePointer(to: &liveness) { tickwire_prefetch_array_elements($0, clientIndex &* MemoryLayout<Liveness>.stride, 1) }
    }

    /// Hint: fetch the replay window slot the next payload from client `clientIndex` checks (its
    /// slot itself should be in cache: `prefetch(client:)` earlier).
    public mutating func prefetchReplay(client clientIndex: Int) {
        guard clientIndex >= 0, clientIndex < configuration.maxClients else { return }
        slots[clientIndex].replay.prefetchNext()
    }

    /// Hint: fetch the slot of the client at `address` (its keys and replay window's place), which
    /// a datagram from there about to be received reads; returns the slot's index, or nil for an
    /// address with no client.
    @discardableResult
    public mutating func prefetch(from address: NetcodeAddress) -> Int? {
        guard let index = clientIndex(forAddress: address) else { return nil }
        prefetch(client: index)
        return index
    }

    public mutating func sendPayload(_ clientIndex: Int, _ payload: [UInt8], now: TickwireInstant) throws(SendError) {
        guard isConnected(clientIndex) else { throw .notConnected }
        guard (1...Netcode.maxPayloadBytes).contains(payload.count) else { throw .payloadSize(payload.count) }
        // Both preconditions were just checked, so the inner call cannot throw.
        payload.withUnsafeBytes { raw in try! sendPayload(clientIndex, raw, now: now) }
    }

    /// Server-initiated disconnect: 10 disconnect packets, then the slot is freed.
    public mutating func disconnect(_ clientIndex: Int, now: TickwireInstant) {
        guard isConnected(clientIndex) else { return }
        for _ in 0..<Netcode.disconnectPacketCount {
            sendToClient(clientIndex, .disconnect, plaintextLength: 0, now: now) { _ in }
        }
        freeSlot(clientIndex, reason: .serverDisconnected, now: now)
    }

    /// Disconnects every client cleanly (used on shutdown).
    public mutating func disconnectAll(now: TickwireInstant) {
        for index in liveness.indices where liveness[index].connected { disconnect(index, now: now) }
    }

    mutating func sendKeepAlive(_ clientIndex: Int, now: TickwireInstant) {
        let maxClients = UInt32(configuration.maxClients)
        sendToClient(clientIndex, .keepAlive, plaintextLength: 8, now: now) { w in
            w.write(UInt32(clientIndex))
            w.write(maxClients)
        }
    }

    mutating func sendToClient(
        _ clientIndex: Int, _ type: NetcodePacketType, plaintextLength: Int, now: TickwireInstant,
        _ writePlaintext: (inout UnsafeByteWriter) -> Void
    ) {
        let sequence = slots[clientIndex].sequence
        slots[clientIndex].sequence &+= 1
        liveness[clientIndex].lastSend = now
        let address = slots[clientIndex].address
        let protocolID = configuration.protocolID
        let written = slots[clientIndex].sendKey.withUnsafeBytes { key in
            outbound.append(to: address, maxLength: 1 + 8 + plaintextLength + Netcode.macBytes) { buffer in
                Self.writePacket(type, sequence: sequence, plaintextLength: plaintextLength, protocolID: protocolID,
                                 key: key, buffer: buffer, writePlaintext)
            }
        }
        countSent(written)
    }

    mutating func sendGlobal(
        _ type: NetcodePacketType, to address: NetcodeAddress, key: [UInt8], plaintextLength: Int,
        _ writePlaintext: (inout UnsafeByteWriter) -> Void
    ) {
        let sequence = globalSequence
        globalSequence &+= 1
        let protocolID = configuration.protocolID
        let written = key.withUnsafeBytes { k in
            outbound.append(to: address, maxLength: 1 + 8 + plaintextLength + Netcode.macBytes) { buffer in
                Self.writePacket(type, sequence: sequence, plaintextLength: plaintextLength, protocolID: protocolID,
                                 key: k, buffer: buffer, writePlaintext)
            }
        }
        countSent(written)
    }

    mutating func sendDenied(to address: NetcodeAddress, key: [UInt8]) {
        sendGlobal(.connectionDenied, to: address, key: key, plaintextLength: 0) { _ in }
        counters.deniesSent &+= 1
    }

    private mutating func countSent(_ written: Bool) {
        guard written, let last = outbound.records.last else { return }
        counters.packetsSent &+= 1
        counters.bytesSent &+= UInt64(last.length)
    }

    /// Places the plaintext after the header and seals the packet in place.
    static func writePacket(
        _ type: NetcodePacketType, sequence: UInt64, plaintextLength: Int, protocolID: UInt64,
        key: UnsafeRawBufferPointer, buffer: UnsafeMutableRawBufferPointer,
        _ writePlaintext: (inout UnsafeByteWriter) -> Void
    ) -> Int? {
        let header = NetcodePacketCodec.headerLength(sequence: sequence)
        var w = UnsafeByteWriter(buffer, offset: header)
        writePlaintext(&w)
        guard !w.overflowed, w.offset - header == plaintextLength else { return nil }
        return NetcodePacketCodec.seal(
            type: type, sequence: sequence, plaintextLength: plaintextLength, protocolID: protocolID, key: key,
            buffer: buffer)
    }
}
