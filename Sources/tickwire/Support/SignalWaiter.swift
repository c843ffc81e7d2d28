import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for SIGINT or SIGTERM without killing the process, so the server can shut down cleanly.
enum SignalWaiter {
    private final class Sources: @unchecked Sendable {
        var sources: [any DispatchSourceSignal] = []
    }

    static func wait(for signals: [Int32] = [SIGINT, SIGTERM]) async -> Int32 {
        let holder = Sources()
        let received: Int32 = await withCheckedContinuation { continuation in
            let once = Once()
            for sig in signals {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { if once.claim() { continuation.resume(returning: sig) } }
                source.resume()
                holder.sources.append(source)
            }
        }
        holder.sources.forEach { $0.cancel() }
        return received
    }

    private final class Once: @unchecked Sendable {
        private var done = false
        private let lock = DispatchQueue(label: "tickwire.signal-once")
        func claim() -> Bool { lock.sync { defer { done = true }; return !done } }
    }
}
