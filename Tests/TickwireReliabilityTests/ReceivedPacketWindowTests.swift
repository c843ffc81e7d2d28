import Testing
import TickwireProtocol
@testable import TickwireReliability

@Suite struct ReceivedPacketWindowTests {
    /// The ack bits are kept as packets arrive; they must equal what a plain set of the received
    /// sequences gives, through reordering, duplicates, gaps longer than 32 and than the window,
    /// and the wrap of the 16-bit sequence.
    @Test func ackBitsMatchTheSequencesReceived() {
        var random = SplitMix64(seed: 11)
        var window = ReceivedPacketWindow(size: 256)
        #expect(window.ack == (0xFFFF, 0))
        var received = Set<UInt16>()
        var next: UInt16 = 65_000
        for step in 0..<30_000 {
            let roll = random.next() % 100
            let sequence: UInt16
            switch roll {
            case 0..<70: sequence = next; next &+= 1                           // in order
            case 70..<85: sequence = next &- UInt16(random.next() % 40)        // late or duplicate
            case 85..<97: next &+= UInt16(random.next() % 40); sequence = next  // a gap
            default: next &+= UInt16(random.next() % 2000); sequence = next      // a long gap
            }
            if window.classify(sequence) == .fresh {
                window.insert(sequence)
                received.insert(sequence)
            }
            let (ack, bits) = window.ack
            // What the window forgets (older than its 256 slots) leaves the model too, before the
            // 16-bit sequence wraps around to it.
            received = received.filter { SequenceNumber.distance(from: $0, to: ack) < 256 }
            var expected: UInt32 = 0
            for i in 0..<32 where received.contains(ack &- UInt16(i)) { expected |= 1 << UInt32(i) }
            if bits != expected {
                Issue.record("step \(step): ack \(ack) bits \(String(bits, radix: 2)) expected \(String(expected, radix: 2))")
                return
            }
        }
    }
}
