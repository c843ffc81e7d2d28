import Testing
import TickwireProtocol
@testable import TickwireReliability

/// The sent-packet ring's log of message references: what each packet carried reads back as
/// recorded while slots are claimed again (releasing the oldest packet's references) and the log
/// doubles for bursts. Seeded, against a dictionary of the packets still in the ring.
@Suite struct SentPacketRingTests {
    @Test func messageReferencesReadBackAsRecordedThroughReuseAndGrowth() {
        let size = 64
        var ring = SentPacketRing(size: size)
        var random = SplitMix64(seed: 3)
        var inRing: [UInt16: [UInt32]] = [:]
        // Starts below the wrap of sequence numbers, so it crosses it.
        var sequence: UInt16 = 0xFF00
        var largestLog = 0
        for round in 0..<2_000 {
            let (slot, _) = ring.begin(sequence, at: .zero)
            inRing[sequence &- UInt16(size)] = nil
            // Quiet stretches (0–2 references a packet) and bursts (up to 40).
            let count = round % 700 < 350 ? Int(random.next() % 3) : Int(random.next() % 41)
            let list = (0..<count).map { _ in UInt32(truncatingIfNeeded: random.next()) }
            ring.record(messages: list, in: slot)
            inRing[sequence] = list
            for (recorded, expected) in inRing {
                guard let found = ring.find(recorded) else {
                    Issue.record("packet \(recorded) is no longer in the ring")
                    return
                }
                let read = (0..<Int(ring[found].messageCount)).map { ring.message(in: found, at: $0) }
                #expect(read == expected, "packet \(recorded) at round \(round)")
                if read != expected { return }
            }
            largestLog = max(largestLog, ring.logCapacity)
            sequence &+= 1
        }
        // The log grew for the bursts (more than its first 64) and no further than the power of
        // two that holds 64 packets of 40.
        #expect(largestLog > SentPacketRing.initialLogEntries && largestLog <= 4_096)
    }
}
