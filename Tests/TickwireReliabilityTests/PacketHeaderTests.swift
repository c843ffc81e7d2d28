import Testing
import TickwireProtocol
import TickwireReliability

@Suite struct PacketHeaderTests {
    @Test func healthyLinkHeaderIsFourBytes() {
        let header = PacketHeader(sequence: 1000, ack: 998, ackBits: 0xFFFF_FFFF)
        #expect(header.encoded() == [0b0010_0000, 0xE8, 0x03, 2])
        #expect(header.encodedSize == 4)
        #expect(PacketHeader.decode(header.encoded()) == header)
    }

    @Test func fullHeaderIsNineBytes() {
        let header = PacketHeader(sequence: 5, ack: 40000, ackBits: 0x0102_0304)
        let bytes = header.encoded()
        #expect(bytes == [0b0001_1110, 5, 0, 0x40, 0x9C, 4, 3, 2, 1])
        #expect(header.encodedSize == 9)
        #expect(PacketHeader.decode(bytes) == header)
    }

    @Test func ackDeltaWrapsAroundZero() {
        // sequence 3, ack 65533: (3 − 65533) mod 65536 = 6, one byte.
        let header = PacketHeader(sequence: 3, ack: 65533, ackBits: 0xFFFF_FFFF)
        #expect(header.encoded() == [0b0010_0000, 3, 0, 6])
        #expect(PacketHeader.decode(header.encoded()) == header)
    }

    @Test func roundTripForAnyValues() {
        var random = SplitMix64(seed: 1)
        for _ in 0..<200_000 {
            // Bias the bits toward bytes that are 0xFF so every prefix combination shows up.
            var bits = UInt32.random(in: .min ... .max, using: &random)
            for k in 0..<4 where random.chance(0.5) { bits |= 0xFF << (8 * UInt32(k)) }
            let sequence = UInt16.random(in: .min ... .max, using: &random)
            let ack = random.chance(0.5) ? sequence &- UInt16.random(in: 0...300, using: &random) : UInt16.random(in: .min ... .max, using: &random)
            let header = PacketHeader(sequence: sequence, ack: ack, ackBits: bits)
            let bytes = header.encoded()
            #expect(bytes.count == header.encodedSize)
            #expect((4...9).contains(bytes.count))
            guard PacketHeader.decode(bytes) == header else {
                Issue.record("round trip failed for \(header)")
                return
            }
        }
    }

    @Test func nonCanonicalAndReservedBitsAreRefused() {
        // Present ack-bits byte equal to 0xFF: must have been left out.
        #expect(PacketHeader.decode([0b0010_0010, 1, 0, 0, 0xFF]) == nil)
        // Two-byte ack whose delta fits in one byte.
        #expect(PacketHeader.decode([0b0000_0000, 10, 0, 9, 0]) == nil)
        // Fragment flag and reserved bits.
        #expect(PacketHeader.decode([0b0010_0001, 1, 0, 0]) == nil)
        #expect(PacketHeader.decode([0b0110_0000, 1, 0, 0]) == nil)
        // Truncated.
        #expect(PacketHeader.decode([]) == nil)
        #expect(PacketHeader.decode([0b0010_0000, 1, 0]) == nil)
        #expect(PacketHeader.decode([0b0011_1110, 1, 0, 0, 1, 2, 3]) == nil)
    }

    @Test func everyDecodedGarbageHeaderReencodesToItsBytes() {
        var random = SplitMix64(seed: 2)
        var decoded = 0
        for _ in 0..<200_000 {
            let length = Int.random(in: 0...12, using: &random)
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }
            bytes.withUnsafeBytes { raw in
                var reader = ByteReader(raw)
                guard let header = PacketHeader.decode(&reader) else { return }
                decoded += 1
                #expect(header.encoded() == Array(bytes[0..<reader.offset]))
            }
        }
        #expect(decoded > 1000)
    }

    @Test func sequenceComparisonsWrap() {
        #expect(SequenceNumber.isNewer(1, than: 0))
        #expect(SequenceNumber.isNewer(0, than: 65535))
        #expect(SequenceNumber.isNewer(100, than: 65000))
        #expect(!SequenceNumber.isNewer(65000, than: 100))
        #expect(!SequenceNumber.isNewer(7, than: 7))
        #expect(!SequenceNumber.isNewer(32768, than: 0))
        #expect(!SequenceNumber.isNewer(0, than: 32768))
        #expect(SequenceNumber.isNewer(32767, than: 0))
        var random = SplitMix64(seed: 3)
        for _ in 0..<100_000 {
            let a = UInt16.random(in: .min ... .max, using: &random)
            let step = UInt16.random(in: 1...32767, using: &random)
            #expect(SequenceNumber.isNewer(a &+ step, than: a))
            #expect(!SequenceNumber.isNewer(a, than: a &+ step))
        }
    }
}
