import NIOConcurrencyHelpers
import NIOCore
import Testing
import TickwireProtocol
import TickwireTransport

/// The shell's own loop: tasks, timers and reads, on its thread. Order is checked through what the
/// loop records, never through sleeps.
@Suite(.timeLimit(.minutes(1)))
struct DatagramLoopTests {
    /// Collects what a socket reads, with the batch ends.
    final class Recorder: DatagramEndpoint, @unchecked Sendable {
        let log = NIOLockedValueBox<[String]>([])
        func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
            log.withLockedValue { $0.append("\(String(decoding: datagram, as: UTF8.self)) from \(address.isLoopback ? "loopback" : "\(address)")") }
        }
        func readBatchComplete() { log.withLockedValue { $0.append("end") } }
    }

    @Test func tasksRunOnTheLoopThreadInOrder() async throws {
        let loop = try DatagramLoop(name: "test-tasks")
        defer { loop.shutdown() }
        #expect(!loop.inEventLoop)
        let order = NIOLockedValueBox<[Int]>([])
        for i in 0..<100 { loop.execute { order.withLockedValue { $0.append(i) } } }
        let onLoop = try await loop.submit { loop.inEventLoop }.get()
        #expect(onLoop)
        #expect(order.withLockedValue { $0 } == Array(0..<100))
    }

    @Test func timersRunByDeadlineAndACancelledOneNeverRuns() async throws {
        let loop = try DatagramLoop(name: "test-timers")
        defer { loop.shutdown() }
        let fired = NIOLockedValueBox<[String]>([])
        let now = NIODeadline.now()
        let late = loop.scheduleTask(deadline: now + .milliseconds(30)) { fired.withLockedValue { $0.append("late") } }
        let cancelled = loop.scheduleTask(deadline: now + .milliseconds(10)) { fired.withLockedValue { $0.append("cancelled") } }
        let early = loop.scheduleTask(deadline: now + .milliseconds(5)) { fired.withLockedValue { $0.append("early") } }
        cancelled.cancel()
        try await early.futureResult.get()
        try await late.futureResult.get()
        await #expect(throws: EventLoopError.self) { try await cancelled.futureResult.get() }
        #expect(fired.withLockedValue { $0 } == ["early", "late"])
        #expect(NIODeadline.now() >= now + .milliseconds(30))
    }

    @Test func aTimerStillPendingAtShutdownFailsItsFuture() async throws {
        let loop = try DatagramLoop(name: "test-shutdown")
        let pending = loop.scheduleTask(in: .hours(1)) { 1 }
        let outcome = NIOLockedValueBox<Result<Int, any Error>?>(nil)
        // Registered through the loop's queue, which runs before the loop stops.
        pending.futureResult.whenComplete { result in outcome.withLockedValue { $0 = result } }
        await loop.stop()
        let result = try #require(outcome.withLockedValue { $0 })
        #expect(throws: EventLoopError.self) { try result.get() }
    }

    /// Sends `texts` from a socket of `loop` to `port` on 127.0.0.1.
    /// Waits until `condition` holds (a datagram on loopback takes a moment to be read), for at
    /// most 10 s; the expectations after it say what was seen.
    static func eventually(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition(), ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
    }

    /// A socket on 127.0.0.1 (any port) delivering to `endpoint`, bound on the loop's thread.
    static func bind(_ endpoint: some DatagramEndpoint & Sendable, on loop: DatagramLoop, readInterval: Duration = .zero) async throws -> UDPSocket {
        try await loop.submit { try loop.bind(host: "127.0.0.1", port: 0, endpoint: endpoint, readInterval: readInterval) }.get()
    }

    static func send(_ texts: [String], to port: Int, from sender: UDPSocket, on loop: DatagramLoop) async throws {
        try await loop.submit {
            var queue = Self.queue(texts, to: port)
            DatagramBatchWriter(socket: sender).write(&queue)
        }.get()
    }

    /// `texts` queued as datagrams to `port` on 127.0.0.1.
    static func queue(_ texts: [String], to port: Int) -> OutboundQueue {
        var queue = OutboundQueue(initialCapacity: 1024)
        for text in texts {
            queue.append(to: .ipv4(127, 0, 0, 1, port: UInt16(port)), maxLength: 16) { buffer in
                buffer.copyBytes(from: text.utf8)
                return text.utf8.count
            }
        }
        return queue
    }

    @Test func withAReadIntervalTheSocketIsReadAgainAfterItAndReadNowReadsAtOnce() async throws {
        let loop = try DatagramLoop(name: "test-interval")
        defer { loop.shutdown() }
        let recorder = Recorder()
        // An interval no test run outlasts: after the first read, only readNow reads.
        let receiver = try await Self.bind(recorder, on: loop, readInterval: .seconds(3600))
        let sender = try await Self.bind(Recorder(), on: loop)
        let port = try #require(receiver.localAddress.port)
        try await Self.send(["a"], to: port, from: sender, on: loop)
        try await Self.eventually { recorder.log.withLockedValue { $0 } == ["a from loopback", "end"] }
        #expect(recorder.log.withLockedValue { $0 } == ["a from loopback", "end"])
        // Now the socket waits out its interval: "b" stays in its buffer until readNow.
        try await Self.send(["b"], to: port, from: sender, on: loop)
        // The datagram is in the receiver's buffer once the sender's loop has sent it on loopback;
        // a round trip through the loop lets a (wrong) readiness report be handled first.
        try await loop.submit {}.get()
        try await loop.submit {}.get()
        #expect(recorder.log.withLockedValue { $0 }.count == 2)
        try await loop.submit { loop.readNow(receiver) }.get()
        #expect(recorder.log.withLockedValue { $0 } == ["a from loopback", "end", "b from loopback", "end"])
    }

    /// Logs datagrams and hints by source port.
    final class HintRecorder: DatagramEndpoint, @unchecked Sendable {
        let log = NIOLockedValueBox<[String]>([])
        func receive(_ datagram: UnsafeRawBufferPointer, from address: NetcodeAddress) {
            log.withLockedValue { $0.append("\(String(decoding: datagram, as: UTF8.self)) from \(address.port)") }
        }
        func willReceive(from address: NetcodeAddress) { log.withLockedValue { $0.append("next from \(address.port)") } }
        func readBatchComplete() { log.withLockedValue { $0.append("end") } }
    }

    @Test func theEndpointHearsABatchsSourcesInOrderTwoDatagramsAhead() async throws {
        let loop = try DatagramLoop(name: "test-hint")
        defer { loop.shutdown() }
        let recorder = HintRecorder()
        // After the first read only readNow reads, so the three datagrams below make one batch.
        let receiver = try await Self.bind(recorder, on: loop, readInterval: .seconds(3600))
        let one = try await Self.bind(Recorder(), on: loop)
        let two = try await Self.bind(Recorder(), on: loop)
        let port = try #require(receiver.localAddress.port)
        let p1 = try #require(one.localAddress.port)
        let p2 = try #require(two.localAddress.port)
        try await Self.send(["a"], to: port, from: one, on: loop)
        try await Self.eventually { recorder.log.withLockedValue { $0 }.count >= 2 }
        // A batch of one: no hint.
        #expect(recorder.log.withLockedValue { $0 } == ["a from \(p1)", "end"])
        try await Self.send(["b"], to: port, from: one, on: loop)
        try await Self.send(["c"], to: port, from: two, on: loop)
        try await Self.send(["d"], to: port, from: one, on: loop)
        try await loop.submit { loop.readNow(receiver) }.get()
        // The second source before the first datagram, then each one two datagrams ahead.
        #expect(recorder.log.withLockedValue { $0 } == [
            "a from \(p1)", "end",
            "next from \(p2)", "next from \(p1)", "b from \(p1)", "c from \(p2)", "d from \(p1)", "end",
        ])
    }

    /// Writers that share one send batch (as a swarm's bots do) each send their own queue, to its
    /// own destinations, and count only what they sent.
    @Test func writersSharingASendBatchEachSendTheirOwnDatagrams() async throws {
        let loop = try DatagramLoop(name: "test-shared-batch")
        defer { loop.shutdown() }
        let first = Recorder(), second = Recorder()
        let firstPort = try #require(try await Self.bind(first, on: loop).localAddress.port)
        let secondPort = try #require(try await Self.bind(second, on: loop).localAddress.port)
        let senderA = try await Self.bind(Recorder(), on: loop)
        let senderB = try await Self.bind(Recorder(), on: loop)
        let counts = try await loop.submit { () -> (UInt64, UInt64) in
            let batch = DatagramSendBatch()
            let a = DatagramBatchWriter(socket: senderA, batch: batch)
            let b = DatagramBatchWriter(socket: senderB, batch: batch)
            for (writer, port, texts) in [(a, firstPort, ["a1", "a2"]), (b, secondPort, ["b1"])] {
                var queue = Self.queue(texts, to: port)
                writer.write(&queue)
            }
            return (a.datagramsWritten, b.datagramsWritten)
        }.get()
        #expect(counts == (2, 1))
        try await Self.eventually {
            first.log.withLockedValue { $0 }.filter { $0 != "end" }.count == 2 && second.log.withLockedValue { $0 }.filter { $0 != "end" }.count == 1
        }
        #expect(first.log.withLockedValue { $0 }.filter { $0 != "end" } == ["a1 from loopback", "a2 from loopback"])
        #expect(second.log.withLockedValue { $0 }.filter { $0 != "end" } == ["b1 from loopback"])
    }

    @Test func aBoundSocketDeliversEachDatagramWithItsSourceThenTheBatchEnd() async throws {
        let loop = try DatagramLoop(name: "test-read")
        defer { loop.shutdown() }
        let recorder = Recorder()
        let receiver = try await Self.bind(recorder, on: loop)
        let sender = try await Self.bind(Recorder(), on: loop)
        let port = try #require(receiver.localAddress.port)
        try await loop.submit {
            let writer = DatagramBatchWriter(socket: sender)
            var queue = OutboundQueue(initialCapacity: 64)
            for text in ["one", "two", "three"] {
                queue.append(to: .ipv4(127, 0, 0, 1, port: UInt16(port)), maxLength: 16) { buffer in
                    buffer.copyBytes(from: text.utf8)
                    return text.utf8.count
                }
            }
            writer.write(&queue)
            #expect(writer.datagramsWritten == 3)
        }.get()
        try await Self.eventually { recorder.log.withLockedValue { $0.filter { $0 != "end" }.count } >= 3 }
        let log = recorder.log.withLockedValue { $0 }
        #expect(log.filter { $0 != "end" } == ["one from loopback", "two from loopback", "three from loopback"])
        #expect(log.last == "end")
        await receiver.close()
        await sender.close()
        #expect(!(try await loop.submit { receiver.isOpen }.get()))
    }
}
