import CTickwireSocket
import NIOConcurrencyHelpers
import Dispatch
import NIOCore
import TickwireProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One I/O thread for UDP endpoints: the shell the server, the client and the swarm share.
///
/// It waits on its sockets, its earliest timer and tasks from other threads at once (epoll, a
/// timerfd and an eventfd on Linux). A readable socket is read with recvmmsg into one arena, and
/// each datagram goes to its endpoint in place: no buffer, address object or pipeline per
/// datagram. Writes go straight out through `DatagramBatchWriter`. It is a SwiftNIO `EventLoop`,
/// so futures, `NIOLoopBound`, `submit` and scheduled tasks work on it as on any loop; HTTP and
/// the rest of the process stay on NIO's own loops.
public final class DatagramLoop: EventLoop, @unchecked Sendable {
    /// Datagrams one recvmmsg reads, and the bytes kept for each (larger datagrams are truncated
    /// by the kernel, and the protocol then rejects them).
    public static let batchSize = 64
    public static let datagramCapacity = 2048
    /// recvmmsg calls per socket per wake before timers and tasks get their turn.
    static let readsPerWake = 4

    private let poller: OpaquePointer
    private let lock = NIOLock()
    // Guarded by `lock`.
    private var tasks: [@Sendable () -> Void] = []
    private var state = State.running
    // Set once by the loop's thread before `init` returns.
    private var thread = pthread_t()
    private let started = ConditionLock(value: false)
    private let stopped = ConditionLock(value: false)
    // Confined to the loop's thread.
    private var timers = TimerQueue()
    private var sockets: [Registration?] = []
    private var running: [@Sendable () -> Void] = []
    private let batch: OpaquePointer
    private var datagrams: [tickwire_datagram]
    /// The sources of the batch just read, decoded once for the hints and the deliveries.
    private var sources: [NetcodeAddress?]
    private let arena: UnsafeMutableRawPointer
    private var readyTokens = [UInt64](repeating: 0, count: 64)
    public let name: String

    private enum State { case running, stopping, stopped }

    private struct Registration {
        let socket: UDPSocket
        let endpoint: any DatagramEndpoint
        /// Nanoseconds between reads (0: read whenever readable).
        let readInterval: UInt64
    }

    /// Starts the loop's thread (named `name`, at most 15 characters shown).
    public init(name: String = "tickwire-udp") throws {
        self.name = name
        guard let poller = tickwire_poller_create() else { throw IOError(errnoCode: errno, reason: "DatagramLoop: epoll/timerfd/eventfd") }
        guard let batch = tickwire_batch_create(Int32(Self.batchSize)) else {
            tickwire_poller_free(poller)
            throw IOError(errnoCode: ENOMEM, reason: "DatagramLoop: read batch")
        }
        self.poller = poller
        self.batch = batch
        datagrams = Array(repeating: tickwire_datagram(), count: Self.batchSize)
        sources = Array(repeating: nil, count: Self.batchSize)
        arena = UnsafeMutableRawPointer.allocate(byteCount: Self.batchSize * Self.datagramCapacity, alignment: 16)
        // Each read then restores only the slots the previous one filled (see `read`).
        _ = tickwire_batch_prepare_receive(batch, arena.assumingMemoryBound(to: UInt8.self), Self.datagramCapacity, UInt32(Self.datagramCapacity), Int32(Self.batchSize))
        let box = Unmanaged.passRetained(self)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        var created = pthread_t()
        let rc = pthread_create(&created, &attributes, { raw in
            #if canImport(Darwin)
            let loop = Unmanaged<DatagramLoop>.fromOpaque(raw).takeRetainedValue()
            #else
            let loop = Unmanaged<DatagramLoop>.fromOpaque(raw!).takeRetainedValue()
            #endif
            loop.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            tickwire_batch_free(batch)
            tickwire_poller_free(poller)
            arena.deallocate()
            throw IOError(errnoCode: rc, reason: "DatagramLoop: pthread_create")
        }
        pthread_detach(created)
        started.lock(whenValue: true)
        started.unlock()
    }

    deinit {
        tickwire_batch_free(batch)
        tickwire_poller_free(poller)
        arena.deallocate()
    }

    // MARK: EventLoop

    public var inEventLoop: Bool { pthread_equal(pthread_self(), thread) != 0 }

    public func execute(_ task: @escaping @Sendable () -> Void) {
        let queued = lock.withLock { () -> Bool in
            guard state != .stopped else { return false }
            tasks.append(task)
            return true
        }
        // Once the thread has ended nothing runs on the loop again: like a NIO loop that has shut
        // down, a late task is dropped (its owner stopped the loop; nothing should await it).
        if queued { _ = tickwire_poller_wake(poller) }
    }

    public func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        let promise: EventLoopPromise<T> = makePromise()
        let id = TimerQueue.nextID()
        let timer = TimerQueue.Timer(deadline: deadline.uptimeNanoseconds, id: id, body: {
            do { promise.assumeIsolated().succeed(try task()) } catch { promise.fail(error) }
        }, abandon: { promise.fail(EventLoopError.shutdown) })
        if inEventLoop { timers.insert(timer) } else { execute { self.timers.insert(timer) } }
        return Scheduled(promise: promise) { [self] in
            if inEventLoop { timers.cancel(id) } else { execute { self.timers.cancel(id) } }
        }
    }

    public func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        scheduleTask(deadline: .now() + delay, task)
    }

    public func preconditionInEventLoop(file: StaticString, line: UInt) {
        precondition(inEventLoop, "not on DatagramLoop \(name)", file: file, line: line)
    }

    public func preconditionNotInEventLoop(file: StaticString, line: UInt) {
        precondition(!inEventLoop, "on DatagramLoop \(name)", file: file, line: line)
    }

    /// Runs what is queued, closes the sockets still registered and ends the thread.
    public func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        let first = beginStopping()
        if !inEventLoop { waitUntilStopped() }
        queue.async { callback(first ? nil : EventLoopError.shutdown) }
    }

    /// Shuts the loop down and waits for its thread to end, without blocking the caller's thread.
    public func stop() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            shutdownGracefully(queue: .global()) { _ in done.resume() }
        }
    }

    /// Shuts the loop down and waits for its thread to end (not from the loop's own thread).
    public func shutdown() {
        preconditionNotInEventLoop(file: #file, line: #line)
        beginStopping()
        waitUntilStopped()
    }

    /// Asks the thread to stop once its queued tasks have run; false if it was already asked.
    @discardableResult
    private func beginStopping() -> Bool {
        let first = lock.withLock { () -> Bool in
            guard state == .running else { return false }
            state = .stopping
            return true
        }
        if first { _ = tickwire_poller_wake(poller) }
        return first
    }

    private func waitUntilStopped() {
        stopped.lock(whenValue: true)
        stopped.unlock()
    }

    // MARK: Sockets

    /// Binds a UDP socket (see `UDPBinding.bind`) and reads it into `endpoint` from now on. On
    /// the loop's thread.
    ///
    /// `readInterval`: after reading the socket, wait this long before looking at it again (the
    /// datagrams meanwhile wait in its receive buffer). Each wake-up of the thread costs more than
    /// a datagram read with others: a relay whose inbound work only matters at its next update
    /// reads in batches. Zero: read as soon as a datagram arrives.
    public func bind(host: String, port: Int, endpoint: any DatagramEndpoint, readInterval: Duration = .zero) throws -> UDPSocket {
        preconditionInEventLoop(file: #file, line: #line)
        let socket = try UDPBinding.bind(host: host, port: port, loop: self)
        let token = sockets.firstIndex { $0 == nil } ?? sockets.count
        let interval = UInt64(max(0, readInterval.nanosecondsClamped))
        let rc = interval > 0
            ? tickwire_poller_add_once(poller, socket.descriptor, UInt64(token))
            : tickwire_poller_add(poller, socket.descriptor, UInt64(token))
        guard rc == 0 else {
            socket.closeNow()
            throw IOError(errnoCode: -rc, reason: "DatagramLoop: watch socket")
        }
        if token == sockets.count { sockets.append(nil) }
        sockets[token] = Registration(socket: socket, endpoint: endpoint, readInterval: interval)
        return socket
    }

    /// Reads what is waiting on `socket` now, whatever its read interval: a host about to update
    /// its core reads first, so the update sees every datagram that arrived before it. On the
    /// loop's thread.
    public func readNow(_ socket: UDPSocket) {
        preconditionInEventLoop(file: #file, line: #line)
        guard socket.isOpen, let registration = sockets.first(where: { $0?.socket === socket }) ?? nil else { return }
        read(registration)
    }

    /// Stops reading `socket` and closes it. On the loop's thread; closing twice does nothing.
    func close(_ socket: UDPSocket) {
        preconditionInEventLoop(file: #file, line: #line)
        guard socket.isOpen else { return }
        if let token = sockets.firstIndex(where: { $0?.socket === socket }) {
            _ = tickwire_poller_remove(poller, socket.descriptor)
            sockets[token] = nil
        }
        socket.closeNow()
    }

    // MARK: The thread

    private func run() {
        thread = pthread_self()
        name.withCString { _ = tickwire_name_thread($0) }
        started.lock()
        started.unlock(withValue: true)
        while true {
            runTasks()
            runDueTimers()
            let (stopping, hasTasks) = lock.withLock { () -> (Bool, Bool) in
                if state == .stopping && tasks.isEmpty { state = .stopped }
                return (state == .stopped, !tasks.isEmpty)
            }
            if stopping { break }
            // With tasks queued or a timer due, only look at the sockets.
            let deadline: UInt64 = hasTasks ? 0 : timers.earliest ?? TICKWIRE_POLLER_NO_DEADLINE
            let ready = readyTokens.withUnsafeMutableBufferPointer {
                Int(tickwire_poller_wait(poller, deadline, $0.baseAddress, Int32($0.count)))
            }
            for k in 0..<max(0, ready) {
                let token = Int(readyTokens[k])
                guard token < sockets.count, let registration = sockets[token] else { continue }
                // The next ready socket's endpoint fetches its state while this one is read.
                if k + 1 < ready {
                    let next = Int(readyTokens[k + 1])
                    if next < sockets.count, let upcoming = sockets[next] { upcoming.endpoint.willRead() }
                }
                read(registration)
                if registration.readInterval > 0 { rearm(registration.socket, token: token, after: registration.readInterval) }
            }
        }
        for case let registration? in sockets { registration.socket.closeNow() }
        sockets.removeAll()
        // Timers that never ran fail their futures, as on a NIO loop that shuts down.
        for timer in timers.removeAll() { timer.abandon() }
        stopped.lock()
        stopped.unlock(withValue: true)
    }

    private func runTasks() {
        lock.withLock { swap(&tasks, &running) }
        for task in running { task() }
        running.removeAll(keepingCapacity: true)
    }

    private func runDueTimers() {
        let now = tickwire_monotonic_ns()
        // Timers a due timer schedules for now run on the next turn, after the sockets.
        while let timer = timers.popDue(at: now) { timer.body() }
    }

    /// Watches socket `token` again `interval` from now (it was watched for one readiness).
    /// (The endpoint may have closed the socket while it read: then nothing is re-armed.)
    private func rearm(_ socket: UDPSocket, token: Int, after interval: UInt64) {
        timers.insert(TimerQueue.Timer(deadline: tickwire_monotonic_ns() &+ interval, id: TimerQueue.nextID(), body: { [self] in
            guard token < sockets.count, let current = sockets[token], current.socket === socket, socket.isOpen
            else { return }
            _ = tickwire_poller_rearm(poller, current.socket.descriptor, UInt64(token))
        }, abandon: {}))
    }

    /// Reads until the socket would block, at most `readsPerWake` batches, then tells the
    /// endpoint the batch is complete.
    private func read(_ registration: Registration) {
        let fd = registration.socket.descriptor
        var any = false
        for _ in 0..<Self.readsPerWake {
            // Into the slots prepared once at start: no per-read rewrite of all 64 message headers
            // (a swarm reads one bot's socket per wake, usually for one or two datagrams).
            let count = Int(tickwire_recvmmsg_prepared(fd, batch, &datagrams))
            guard count > 0 else { break }
            any = true
            for i in 0..<count { sources[i] = NetcodeAddress(datagrams[i]) }
            // The endpoint hears the sources two datagrams ahead, so the state of each arrives in
            // cache (in two steps, see `DatagramEndpoint.willReceive`) while earlier ones are received.
            if count > 1, let next = sources[1] { registration.endpoint.willReceive(from: next) }
            for i in 0..<count {
                let datagram = datagrams[i]
                if i + 2 < count, let ahead = sources[i + 2] { registration.endpoint.willReceive(from: ahead) }
                guard let from = sources[i] else {
                    registration.socket.unreadableSources &+= 1
                    continue
                }
                let bytes = UnsafeRawBufferPointer(start: datagram.bytes, count: min(Int(datagram.length), Self.datagramCapacity))
                registration.endpoint.receive(bytes, from: from)
            }
            // The endpoint may have closed the socket.
            if count < Self.batchSize || !registration.socket.isOpen { break }
        }
        if any { registration.endpoint.readBatchComplete() }
    }
}
