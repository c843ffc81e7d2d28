import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Listens for SIGINT and SIGTERM for as long as it lives, without letting them kill the process,
/// so the server can shut down cleanly. Signals are queued: `next()` returns the oldest one not
/// yet taken, waiting if there is none. Cancelling the waiting task ends the wait (nil).
final class SignalListener: @unchecked Sendable {
    // Everything below is guarded by `lock`.
    private var sources: [any DispatchSourceSignal] = []
    private var received: [Int32] = []
    private var waiter: CheckedContinuation<Int32?, Never>?
    private let lock = DispatchQueue(label: "tickwire.signals")

    init(signals: [Int32] = [SIGINT, SIGTERM]) {
        lock.sync {
            for sig in signals {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler { [weak self] in self?.deliver(sig) }
                source.resume()
                sources.append(source)
            }
        }
    }

    deinit { sources.forEach { $0.cancel() } }

    private func deliver(_ sig: Int32) {
        lock.sync {
            if let waiter {
                self.waiter = nil
                waiter.resume(returning: sig)
            } else {
                received.append(sig)
            }
        }
    }

    /// The next signal.
    func next() async -> Int32? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Int32?, Never>) in
                lock.sync {
                    if !received.isEmpty {
                        continuation.resume(returning: received.removeFirst())
                    } else if Task.isCancelled {
                        continuation.resume(returning: nil)
                    } else {
                        waiter = continuation
                    }
                }
            }
        } onCancel: {
            lock.sync {
                waiter?.resume(returning: nil)
                waiter = nil
            }
        }
    }
}
