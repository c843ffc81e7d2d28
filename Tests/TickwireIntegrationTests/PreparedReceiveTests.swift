import CTickwireSocket
import Glibc
import Testing

/// `tickwire_recvmmsg_prepared`: slots set up once, and each read restores only what the previous
/// one changed, so a read of fewer datagrams after one of more still finds every slot whole.
@Suite(.timeLimit(.minutes(1)))
struct PreparedReceiveTests {
    static let loopback = UInt32(0x7F00_0001).bigEndian
    static let capacity = 64

    /// Sends `sizes.count` datagrams of those sizes (byte k of datagram i is i + k) from `from` to `port`.
    static func send(_ sizes: [Int], from: Int32, to port: UInt16, first: Int = 0) {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port
        address.sin_addr.s_addr = loopback
        for (i, size) in sizes.enumerated() {
            let bytes = (0..<size).map { UInt8(truncatingIfNeeded: first + i + $0) }
            let sent = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(from, bytes, size, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            precondition(sent == size, "send failed: errno \(errno)")
        }
    }

    /// Reads until `expected` datagrams came (the kernel may hand loopback datagrams over a
    /// moment after they are sent), at most 1,000 reads of at most `slots` each.
    static func read(_ fd: Int32, _ batch: OpaquePointer, _ datagrams: inout [tickwire_datagram], expected: Int) -> [(bytes: [UInt8], port: UInt16, slot: Int)] {
        var got: [(bytes: [UInt8], port: UInt16, slot: Int)] = []
        for _ in 0..<1000 where got.count < expected {
            let count = Int(tickwire_recvmmsg_prepared(fd, batch, &datagrams))
            precondition(count >= 0, "read failed: \(count)")
            if count == 0 { _ = tickwire_wait_readable(fd, 10_000_000) }
            for i in 0..<count {
                let d = datagrams[i]
                got.append((Array(UnsafeRawBufferPointer(start: d.bytes, count: Int(d.length))), d.port, i))
            }
        }
        return got
    }

    @Test func slotsPreparedOnceReadEveryDatagramWholeWithItsSourceAcrossReadsOfEverySize() throws {
        let receiver = tickwire_udp_socket(Self.loopback, 0, 1 << 20)
        let senderA = tickwire_udp_socket(Self.loopback, 0, 0)
        let senderB = tickwire_udp_socket(Self.loopback, 0, 0)
        #expect(receiver >= 0 && senderA >= 0 && senderB >= 0)
        defer { close(receiver); close(senderA); close(senderB) }
        let port = tickwire_udp_port(receiver)
        let slots = 8
        let batch = try #require(tickwire_batch_create(Int32(slots)))
        defer { tickwire_batch_free(batch) }
        let arena = UnsafeMutablePointer<UInt8>.allocate(capacity: slots * Self.capacity)
        defer { arena.deallocate() }
        #expect(tickwire_batch_prepare_receive(batch, arena, Self.capacity, UInt32(Self.capacity), Int32(slots + 1)) == -EINVAL)
        #expect(tickwire_batch_prepare_receive(batch, arena, Self.capacity, UInt32(Self.capacity), Int32(slots)) == 0)
        var datagrams = [tickwire_datagram](repeating: tickwire_datagram(), count: slots)

        // A full batch, then a short one, then one of every slot again, from two sources: the
        // slots a read fills are restored for the next, whatever their length was.
        Self.send([64, 1, 30, 64, 2, 17, 64, 5], from: senderA, to: port)
        let full = Self.read(receiver, batch, &datagrams, expected: 8)
        #expect(full.map(\.bytes.count) == [64, 1, 30, 64, 2, 17, 64, 5])
        #expect(full.map(\.slot) == Array(0..<8))
        Self.send([3], from: senderB, to: port, first: 100)
        let short = Self.read(receiver, batch, &datagrams, expected: 1)
        #expect(short.map(\.bytes) == [[100, 101, 102]])
        #expect(short.first?.port == tickwire_udp_port(senderB))
        Self.send([64, 64, 64, 64, 64, 64, 64, 64, 9], from: senderA, to: port, first: 7)
        let again = Self.read(receiver, batch, &datagrams, expected: 9)
        #expect(again.map(\.bytes.count) == [64, 64, 64, 64, 64, 64, 64, 64, 9])
        for (i, datagram) in again.enumerated() {
            #expect(datagram.bytes == (0..<datagram.bytes.count).map { UInt8(truncatingIfNeeded: 7 + i + $0) })
            #expect(datagram.port == tickwire_udp_port(senderA))
        }
        // Too long for a slot: cut to the slot, as recvmmsg does.
        Self.send([200], from: senderA, to: port)
        #expect(Self.read(receiver, batch, &datagrams, expected: 1).map(\.bytes.count) == [Self.capacity])

        // The plain read repoints the headers: the prepared one refuses until prepared again.
        var plain = [tickwire_datagram](repeating: tickwire_datagram(), count: 1)
        plain[0].bytes = UnsafeMutableRawPointer(arena)
        plain[0].length = UInt32(Self.capacity)
        #expect(tickwire_recvmmsg(receiver, batch, &plain, 1) == 0)
        #expect(tickwire_recvmmsg_prepared(receiver, batch, &datagrams) == -EINVAL)
        #expect(tickwire_batch_prepare_receive(batch, arena, Self.capacity, UInt32(Self.capacity), Int32(slots)) == 0)
        #expect(tickwire_recvmmsg_prepared(receiver, batch, &datagrams) == 0)
    }
}
