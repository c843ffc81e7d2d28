import Testing
import TickwireProtocol
@testable import TickwireRelay

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

    /// The format a byte at a time, as the spec reads: runs of `zeros | literal count | literal`,
    /// where a zero run of at most 2 bytes stays inside the literal around it.
    private func referenceEncode(_ state: [UInt8], against baseline: [UInt8]) -> [UInt8] {
        let x = state.indices.map { state[$0] ^ ($0 < baseline.count ? baseline[$0] : 0) }
        var out: [UInt8] = []
        func varint(_ value: Int) {
            var rest = value
            while rest >= 0x80 { out.append(UInt8(rest & 0x7F) | 0x80); rest >>= 7 }
            out.append(UInt8(rest))
        }
        var position = 0
        while position < x.count {
            var start = position
            while start < x.count, x[start] == 0 { start += 1 }
            var end = start
            while end < x.count {
                if x[end] != 0 { end += 1; continue }
                var next = end
                while next < x.count, x[next] == 0 { next += 1 }
                if next - end > 2 || next == x.count { break }
                end = next
            }
            varint(start - position)
            varint(end - start)
            out += x[start..<end]
            position = end
        }
        return out
    }

    /// The encoder scans a word at a time and writes short run headers in one go: its bytes
    /// must be the format's, for blobs of any length with zero runs of every length (short ones
    /// inside literals, long ones past 127 whose headers take two bytes), and a writer too small
    /// for the result must make it fail, never trap.
    @Test func xorDeltaWritesTheFormatsBytesAtEveryLengthAndRun() {
        var random = SplitMix64(seed: 77)
        for round in 0..<3000 {
            let length = Int(random.next() % (round % 10 == 0 ? 700 : 90))
            let baseline = (0..<Int(random.next() % UInt64(length + 8))).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            // The XOR built in segments: zero runs of 0...3 bytes or long ones, and literals.
            var xor: [UInt8] = []
            while xor.count < length {
                let zeros = random.next() % 3 == 0 ? Int(random.next() % 300) : Int(random.next() % 4)
                xor += repeatElement(0, count: min(zeros, length - xor.count))
                let literal = Int(random.next() % (random.next() % 8 == 0 ? 200 : 12))
                for _ in 0..<min(literal, length - xor.count) { xor.append(UInt8(truncatingIfNeeded: random.next() % 255 + 1)) }
            }
            let state = xor.indices.map { xor[$0] ^ ($0 < baseline.count ? baseline[$0] : 0) }
            let expected = referenceEncode(state, against: baseline)
            #expect(encode(state, against: baseline) == expected)
            #expect(decode(expected, length: state.count, against: baseline) == state)
            // Every writer size short of the result fails; the exact size succeeds.
            for size in Set([0, 1, 2, expected.count / 2, max(0, expected.count - 1), expected.count]) {
                var buffer = [UInt8](repeating: 0, count: size)
                let ok = buffer.withUnsafeMutableBytes { raw in
                    var writer = UnsafeByteWriter(raw)
                    return state.withUnsafeBytes { s in baseline.withUnsafeBytes { b in XORDelta.encode(s, against: b, into: &writer) } }
                }
                #expect(ok == (size >= expected.count), "length \(state.count), writer \(size) of \(expected.count)")
                if ok { #expect(buffer[0..<expected.count].elementsEqual(expected)) }
            }
        }
    }

    /// `SnapshotView.prefetch` reads each array's storage reference from the view's memory: the
    /// words at its two offsets must be those references (each array's elements start 32 bytes
    /// into its storage).
    @Test func theViewPrefetchReadsTheViewsTwoArrayReferences() {
        var view = SnapshotView()
        view.append(id: 3, clientID: 7, state: [1, 2, 3])
        view.append(id: 5, clientID: 9, state: [4, 5])
        #expect(SnapshotView.entriesOffset != SnapshotView.bytesOffset)
        let starts = view.elementStarts
        withUnsafeBytes(of: &view) { raw in
            let entries = raw.load(fromByteOffset: SnapshotView.entriesOffset, as: UInt.self)
            let bytes = raw.load(fromByteOffset: SnapshotView.bytesOffset, as: UInt.self)
            #expect(starts.entries.map { UInt(bitPattern: $0) } == entries + 32)
            #expect(starts.bytes.map { UInt(bitPattern: $0) } == bytes + 32)
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

    /// The entries of a snapshot message: its header, then each entry's bytes.
    private func entries(of message: [UInt8]) -> (header: [UInt8], entries: [[UInt8]]) {
        message.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            _ = reader.skip(SnapshotFormat.headerSize)
            let count = Int(message[SnapshotFormat.headerSize - 2]) | Int(message[SnapshotFormat.headerSize - 1]) << 8
            var entries: [[UInt8]] = []
            for _ in 0..<count {
                let start = reader.offset
                _ = reader.read(UInt16.self)
                let op = reader.readUInt8()
                if op == SnapshotFormat.Op.new { _ = reader.read(UInt64.self) }
                if op != SnapshotFormat.Op.removed {
                    var skipped: [UInt8] = []
                    let length = reader.readVarint(limit: 1 << 20)!
                    #expect(XORDelta.decode(&reader, length: length, against: UnsafeRawBufferPointer(start: nil, count: 0), into: &skipped))
                }
                entries.append(Array(raw[start..<reader.offset]))
            }
            #expect(reader.remaining == 0)
            return (Array(raw[0..<SnapshotFormat.headerSize]), entries)
        }
    }

    /// Rooms whose members come and go, coded by the encoder: its messages, and each tick's view.
    private func churningRoom(ticks: UInt32, seed: UInt64) -> (messages: [[UInt8]], views: [SnapshotView]) {
        var random = SplitMix64(seed: seed)
        var encoder = SnapshotEncoder()
        var room = SnapshotView()
        var buffer = [UInt8](repeating: 0, count: 1188)
        var messages: [[UInt8]] = [], views: [SnapshotView] = []
        for tick in UInt32(0)..<ticks {
            room.removeAll()
            for id in UInt16(0)..<20 where random.next() % 6 != 0 {
                room.append(id: id, clientID: UInt64(id) + 100,
                            state: (0..<Int(random.next() % 65)).map { _ in UInt8(truncatingIfNeeded: random.next() % 3) })
            }
            let length = buffer.withUnsafeMutableBytes {
                encoder.encode(tick: tick, serverTimeMicros: UInt64(tick), room: room, excluding: 3, into: $0)
            }
            messages.append(Array(buffer[0..<length]))
            views.append(encoder.view(tick: tick)!)
            if random.next() % 2 == 0 { encoder.acked(tick: tick) }
        }
        return (messages, views)
    }

    @Test func entriesInAnyOrderRebuildTheSameSnapshot() {
        var random = SplitMix64(seed: 11)
        let (messages, views) = churningRoom(ticks: 300, seed: 5)
        var decoder = SnapshotDecoder(maxStateSize: 64)
        var shuffledMessages = 0
        for (tick, message) in messages.enumerated() {
            var (header, entries) = entries(of: message)
            if entries.count > 1 {
                // Reversed, then shuffled: never the id order the in-order path takes.
                entries.reverse()
                for k in stride(from: entries.count - 1, to: 1, by: -1) { entries.swapAt(k, Int(random.next() % UInt64(k))) }
                shuffledMessages += 1
            }
            let shuffled = header + entries.joined()
            let outcome = shuffled.withUnsafeBytes { decoder.decode($0) }
            #expect(outcome == .decoded(tick: UInt32(tick), serverTimeMicros: UInt64(tick)), "tick \(tick)")
            #expect(decoder.view(tick: UInt32(tick)) == views[tick], "tick \(tick)")
        }
        #expect(shuffledMessages > 250)
    }

    @Test func theInOrderPathAndTheGeneralPathAgreeOnEveryMessage() {
        // Two decoders with one history: one takes the one-pass path where it can, the other
        // always sorts. Each valid message and mutations of it (tried on copies of the two, so
        // the history stays valid) must get the same outcome and the same view from both.
        var random = SplitMix64(seed: 12)
        let (messages, _) = churningRoom(ticks: 400, seed: 6)
        var inOrder = SnapshotDecoder(maxStateSize: 64)
        var sorting = SnapshotDecoder(maxStateSize: 64)
        sorting.takesInOrderPath = false
        var decoded = 0, malformed = 0
        func agree(_ bytes: [UInt8], _ a: inout SnapshotDecoder, _ b: inout SnapshotDecoder, tick: Int) {
            let outcome = bytes.withUnsafeBytes { a.decode($0) }
            #expect(outcome == bytes.withUnsafeBytes { b.decode($0) }, "tick \(tick)")
            switch outcome {
            case .decoded(let tick, _):
                decoded += 1
                #expect(a.view(tick: tick) == b.view(tick: tick), "tick \(tick)")
            case .malformed: malformed += 1
            case .duplicate, .missingBaseline: break
            }
        }
        for (tick, message) in messages.enumerated() {
            // Where each entry starts: half the mutations hit an entry's id or op.
            var starts: [Int] = []
            var at = SnapshotFormat.headerSize
            for entry in entries(of: message).entries {
                starts.append(at)
                at += entry.count
            }
            for round in 0..<12 {
                var mutated = message
                for _ in 0..<1 + Int(random.next() % 3) where mutated.count > SnapshotFormat.headerSize {
                    let at = round % 2 == 0 && !starts.isEmpty
                        ? starts[Int(random.next() % UInt64(starts.count))] + Int(random.next() % 3)
                        : SnapshotFormat.headerSize + Int(random.next() % UInt64(mutated.count - SnapshotFormat.headerSize))
                    mutated[at] = round % 4 == 0 ? UInt8(random.next() % 4) : UInt8(truncatingIfNeeded: random.next())
                }
                var a = inOrder, b = sorting
                agree(mutated, &a, &b, tick: tick)
            }
            agree(message, &inOrder, &sorting, tick: tick)
        }
        // 400 valid messages, and mutations that still decode (a changed state byte) and that do not.
        #expect(decoded > 800 && malformed > 1000, "decoded \(decoded), malformed \(malformed)")
    }

    @Test func eachEntryMustFitItsBaselineOnEitherPath() {
        // Tick 1 holds entities 1, 3 and 5; each case is tick 2 against it, on both paths.
        func message(tick: UInt32, baseline: UInt32, _ entries: [[UInt8]], trailing: [UInt8] = []) -> [UInt8] {
            var bytes: [UInt8] = [SnapshotFormat.kind]
            withUnsafeBytes(of: tick.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: UInt64(0)) { bytes += $0 }
            withUnsafeBytes(of: baseline.littleEndian) { bytes += $0 }
            withUnsafeBytes(of: UInt16(entries.count).littleEndian) { bytes += $0 }
            return bytes + entries.joined() + trailing
        }
        func removed(_ id: UInt8) -> [UInt8] { [id, 0, SnapshotFormat.Op.removed] }
        func new(_ id: UInt8) -> [UInt8] { [id, 0, SnapshotFormat.Op.new, id, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0xAB] }
        func changed(_ id: UInt8) -> [UInt8] { [id, 0, SnapshotFormat.Op.changed, 1, 0, 1, 0xCD] }
        var held = SnapshotDecoder(maxStateSize: 64)
        let first = message(tick: 1, baseline: SnapshotFormat.noBaseline, [new(1), new(3), new(5)])
        #expect(first.withUnsafeBytes { held.decode($0) } == .decoded(tick: 1, serverTimeMicros: 0))
        let cases: [(entries: [[UInt8]], trailing: [UInt8], ids: [UInt16]?)] = [
            ([removed(3)], [], [1, 5]),
            ([removed(4)], [], nil),
            ([new(3)], [], nil),
            ([changed(4)], [], nil),
            ([removed(1), removed(1)], [], nil),
            ([changed(3), changed(3)], [], nil),
            ([new(2), new(2)], [], nil),
            ([changed(5), removed(1)], [], [3, 5]),
            ([new(2), changed(3), new(4)], [], [1, 2, 3, 4, 5]),
            ([new(6), new(0)], [], [0, 1, 3, 5, 6]),
            ([removed(3)], [0], nil),
            ([new(7)], [], [1, 3, 5, 7]),
        ]
        for (n, c) in cases.enumerated() {
            for inOrder in [true, false] {
                var decoder = held
                decoder.takesInOrderPath = inOrder
                let outcome = message(tick: 2, baseline: 1, c.entries, trailing: c.trailing).withUnsafeBytes { decoder.decode($0) }
                if let ids = c.ids {
                    #expect(outcome == .decoded(tick: 2, serverTimeMicros: 0), "case \(n), in order: \(inOrder)")
                    #expect(decoder.view(tick: 2)?.ids == ids, "case \(n), in order: \(inOrder)")
                } else {
                    #expect(outcome == .malformed, "case \(n), in order: \(inOrder)")
                }
            }
        }
    }
}
