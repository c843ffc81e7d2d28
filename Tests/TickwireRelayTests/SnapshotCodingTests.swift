import Testing
import TickwireProtocol
import TickwireRelay

@Suite struct SnapshotCodingTests {
    private func encode(_ state: [UInt8], against baseline: [UInt8]) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let length = buffer.withUnsafeMutableBytes { raw -> Int? in
            var writer = UnsafeByteWriter(raw)
            let ok = state.withUnsafeBytes { s in baseline.withUnsafeBytes { b in XORDelta.encode(s, against: b, into: &writer) } }
            return ok ? writer.offset : nil
        }
        return length.map { Array(buffer[0..<$0]) }
    }

    private func decode(_ bytes: [UInt8], length: Int, against baseline: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        let ok = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            return baseline.withUnsafeBytes { XORDelta.decode(&reader, length: length, against: $0, into: &output) } && reader.remaining == 0
        }
        return ok ? output : nil
    }

    @Test func xorDeltaRoundTripsAnyPairOfBlobs() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<5000 {
            let baseline = (0..<Int(random.next() % 80)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            var state = (0..<Int(random.next() % 80)).map { i in i < baseline.count ? baseline[i] : 0 }
            // Change a few bytes, sometimes all of them.
            let changes = random.next() % 4 == 0 ? state.count : Int(random.next() % 6)
            for _ in 0..<changes where !state.isEmpty { state[Int(random.next() % UInt64(state.count))] = UInt8(truncatingIfNeeded: random.next()) }
            let coded = encode(state, against: baseline)!
            #expect(decode(coded, length: state.count, against: baseline) == state)
        }
    }

    @Test func unchangedBytesCostAlmostNothing() {
        let baseline = [UInt8](repeating: 0xAB, count: 64)
        #expect(encode(baseline, against: baseline)!.count == 2)  // one zero run covering all 64 bytes
        var moved = baseline
        moved[4] = 1; moved[5] = 2; moved[6] = 3; moved[7] = 4
        #expect(encode(moved, against: baseline)!.count == 2 + 4 + 2)  // run, 4 literal bytes, trailing run
        #expect(encode(Array(repeating: 0, count: 64), against: [])!.count == 2)
    }

    @Test func xorDeltaRefusesMalformedRuns() {
        // A run past the length, a run that makes no progress, a truncated literal.
        #expect(decode([10, 0], length: 4, against: []) == nil)
        #expect(decode([0, 0], length: 4, against: []) == nil)
        #expect(decode([0, 4, 1, 2], length: 4, against: []) == nil)
        #expect(decode([0x80, 0x00, 0], length: 4, against: []) == nil)  // non-canonical varint
    }

    /// Snapshots that send every change keep the room's view shared (less the client's own entity)
    /// as their baseline; snapshots over budget keep a copy. Mixed, the client must still
    /// reconstruct exactly what the encoder recorded, tick after tick, with the room's views
    /// rebuilt in a ring of slots as the server does.
    @Test func sharedAndCopiedBaselinesReconstructTheSame() {
        var random = SplitMix64(seed: 9)
        var encoder = SnapshotEncoder()
        var decoder = SnapshotDecoder(maxStateSize: 64)
        var rooms = Array(repeating: SnapshotView(), count: SnapshotEncoder.ringSize + 1)
        var states = (0..<12).map { _ in [UInt8](repeating: 0, count: 24) }
        for tick in UInt32(0)..<400 {
            // Quiet spells fit the budget; busy ones (every state changing) do not.
            let busy = (tick / 20) % 2 == 1
            for id in states.indices where busy || random.next() % 4 == 0 {
                states[id][Int(random.next() % 24)] = UInt8(truncatingIfNeeded: random.next())
            }
            let slot = Int(tick % UInt32(rooms.count))
            rooms[slot].removeAll()
            for id in states.indices where !(tick % 50 > 40 && id == 7) {  // entity 7 leaves and returns
                rooms[slot].append(id: UInt16(id), clientID: UInt64(id) + 100, state: states[id])
            }
            var buffer = [UInt8](repeating: 0, count: busy ? 160 : 1188)
            let length = buffer.withUnsafeMutableBytes {
                encoder.encode(tick: tick, serverTimeMicros: UInt64(tick), room: rooms[slot], excluding: 5, into: $0)
            }
            #expect(Array(buffer[0..<length]).withUnsafeBytes { decoder.decode($0) } == .decoded(tick: tick, serverTimeMicros: UInt64(tick)))
            let reconstructed = decoder.view(tick: tick)
            #expect(reconstructed == encoder.view(tick: tick), "tick \(tick)")
            #expect(reconstructed?.position(of: 5) == nil)
            if random.next() % 3 != 0 { encoder.acked(tick: tick) }
        }
        #expect(encoder.counters.entitiesDeferred > 0)
        #expect(encoder.counters.fullSnapshots == 1)
    }

    @Test func aResetBaselineIgnoresAcksOfEarlierSnapshots() {
        var encoder = SnapshotEncoder()
        var room = SnapshotView()
        room.append(id: 1, clientID: 101, state: [1, 2, 3])
        var buffer = [UInt8](repeating: 0, count: 1188)
        func encode(_ tick: UInt32) { _ = buffer.withUnsafeMutableBytes { encoder.encode(tick: tick, serverTimeMicros: 0, room: room, excluding: nil, into: $0) } }
        encode(1)
        encode(2)
        encoder.acked(tick: 1)
        #expect(encoder.newestAckedTick == 1)
        encoder.acked(tick: 2)
        encoder.acked(tick: 1)
        #expect(encoder.newestAckedTick == 2, "an older ack does not replace a newer one")
        encoder.resetBaseline()
        #expect(encoder.newestAckedTick == nil)
        // Acks of snapshots sent before the reset (late packets) are ignored; the next is full.
        encoder.acked(tick: 2)
        #expect(encoder.newestAckedTick == nil)
        let full = encoder.counters.fullSnapshots
        encode(3)
        #expect(encoder.counters.fullSnapshots == full + 1)
        encoder.acked(tick: 3)
        #expect(encoder.newestAckedTick == 3)
        encode(4)
        #expect(encoder.counters.fullSnapshots == full + 1, "tick 4 is coded against tick 3")
    }

    /// Members of one room code their snapshots through one `RoomDeltaCache` per tick, each with
    /// its own acks (so baselines differ and some snapshots overflow the budget). Every message is
    /// byte for byte what that member's encoder writes with no cache, and the cache is used.
    @Test func roomDeltaCacheChangesNoByte() {
        var random = SplitMix64(seed: 21)
        let members = 10
        var cached = (0..<members).map { _ in SnapshotEncoder() }
        var alone = cached
        var decoders = (0..<members).map { _ in SnapshotDecoder(maxStateSize: 64) }
        var cache = RoomDeltaCache()
        var rooms = Array(repeating: SnapshotView(), count: SnapshotEncoder.ringSize + 1)
        var states = (0..<members).map { _ in [UInt8](repeating: 0, count: 24) }
        for tick in UInt32(0)..<300 {
            let busy = (tick / 30) % 3 == 2
            for id in states.indices where busy || random.next() % 3 == 0 {
                states[id][Int(random.next() % 24)] = UInt8(truncatingIfNeeded: random.next())
            }
            let slot = Int(tick % UInt32(rooms.count))
            rooms[slot].removeAll()
            for id in states.indices where !(tick % 60 > 50 && id == 4) {
                rooms[slot].append(id: UInt16(id), clientID: UInt64(id) + 100, state: states[id])
            }
            cache.reset(positions: rooms[slot].count)
            for member in 0..<members {
                var withCache = [UInt8](repeating: 0, count: busy ? 90 : 1188)
                var without = withCache
                let a = withCache.withUnsafeMutableBytes {
                    cached[member].encode(tick: tick, serverTimeMicros: 1, room: rooms[slot], excluding: UInt16(member), into: $0, cache: &cache)
                }
                let b = without.withUnsafeMutableBytes {
                    alone[member].encode(tick: tick, serverTimeMicros: 1, room: rooms[slot], excluding: UInt16(member), into: $0)
                }
                #expect(Array(withCache[0..<a]) == Array(without[0..<b]), "tick \(tick) member \(member)")
                #expect(Array(withCache[0..<a]).withUnsafeBytes { decoders[member].decode($0) } == .decoded(tick: tick, serverTimeMicros: 1))
                #expect(decoders[member].view(tick: tick) == cached[member].view(tick: tick))
                // Most members ack most ticks; some lag, so baselines spread over several ticks.
                if random.next() % 4 != 0 {
                    for encoder in [0, 1] {
                        if encoder == 0 { cached[member].acked(tick: tick) }
                        else { alone[member].acked(tick: tick) }
                    }
                }
            }
        }
        #expect(cache.hits > cache.misses)
        #expect(cached.reduce(0) { $0 + $1.counters.entitiesDeferred } > 0)
        // Snapshots copied from the room's run count what coding them alone counts.
        for member in 0..<members { #expect(cached[member].counters == alone[member].counters, "member \(member)") }
    }

    @Test func encoderAndDecoderAgreeAndRandomInputNeverTraps() {
        var random = SplitMix64(seed: 7)
        var encoder = SnapshotEncoder()
        var decoder = SnapshotDecoder(maxStateSize: 64)
        var room = SnapshotView()
        var messages: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 1188)
        for tick in UInt32(0)..<200 {
            room.removeAll()
            for id in UInt16(0)..<20 where random.next() % 10 != 0 {
                room.append(id: id, clientID: UInt64(id) + 100,
                            state: (0..<Int(random.next() % 65)).map { _ in UInt8(truncatingIfNeeded: random.next() % 3) })
            }
            let length = buffer.withUnsafeMutableBytes {
                encoder.encode(tick: tick, serverTimeMicros: UInt64(tick) * 16_667, room: room, excluding: 3, into: $0)
            }
            let message = Array(buffer[0..<length])
            messages.append(message)
            #expect(message.withUnsafeBytes { decoder.decode($0) } == .decoded(tick: tick, serverTimeMicros: UInt64(tick) * 16_667))
            #expect(decoder.view(tick: tick) == encoder.view(tick: tick))
            if tick % 3 == 0 { encoder.acked(tick: tick) }
        }
        #expect(encoder.counters.fullSnapshots == 1)
        // Garbage and mutated messages: never a trap, never a decode of a tick not sent.
        var fresh = SnapshotDecoder(maxStateSize: 64)
        for round in 0..<20_000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(random.next() % 64)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                if !bytes.isEmpty { bytes[0] = SnapshotFormat.kind }
            } else {
                bytes = messages[Int(random.next() % UInt64(messages.count))]
                for _ in 0..<1 + Int(random.next() % 3) where bytes.count > 1 {
                    bytes[1 + Int(random.next() % UInt64(bytes.count - 1))] = UInt8(truncatingIfNeeded: random.next())
                }
            }
            _ = bytes.withUnsafeBytes { fresh.decode($0) }
        }
        #expect(fresh.counters.malformed > 0)
    }
}
