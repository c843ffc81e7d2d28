import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
import TickwireServer
import TickwireTransport

/// `serve --realtime-priority`: each worker's loop thread runs under SCHED_FIFO, or the server
/// does not start and says why.
@Suite(.serialized, .timeLimit(.minutes(1))) struct RealtimePriorityTests {
    /// Whether this machine lets a thread of this process take SCHED_FIFO `priority`, asked on a
    /// throwaway thread.
    static func systemAllows(_ priority: Int) -> Result<Void, RealtimePriorityError> {
        let outcome = NIOLockedValueBox<Result<Void, RealtimePriorityError>?>(nil)
        let done = DispatchSemaphore(value: 0)
        Thread {
            do throws(RealtimePriorityError) {
                try ThreadResources.useRealtimePriority(priority)
                outcome.withLockedValue { $0 = .success(()) }
            } catch {
                outcome.withLockedValue { $0 = .failure(error) }
            }
            done.signal()
        }.start()
        done.wait()
        return outcome.withLockedValue { $0 }!
    }

    @Test func theRelaysLoopThreadRunsUnderSCHEDFIFOOrTheStartSaysWhyNot() async throws {
        var options = RelayServerOptions(privateKey: Loopback.key)
        options.bindHost = "127.0.0.1"
        options.bindPort = 0
        options.realtimePriority = 3
        var logger = Logger(label: "test.realtime")
        logger.logLevel = .warning
        switch Self.systemAllows(3) {
        case .success:
            let host = try await RelayServerHost.start(options: options, logger: logger)
            #expect(try await host.onLoopThread { ThreadResources.realtimePriority() } == 3)
            // This thread (the test's) is untouched.
            #expect(ThreadResources.realtimePriority() == nil)
            try await host.shutdown()
        case .failure(let refused):
            do {
                let host = try await RelayServerHost.start(options: options, logger: logger)
                try await host.shutdown()
                Issue.record("the relay started although the system refuses SCHED_FIFO: \(refused)")
            } catch let error as RelayServerOptionsError {
                #expect(error.description.hasPrefix("--realtime-priority 3: "))
                #expect(error.description.contains(refused.description))
            }
        }
        // Without the option the loop keeps the ordinary scheduler.
        options.realtimePriority = nil
        let ordinary = try await RelayServerHost.start(options: options, logger: logger)
        #expect(try await ordinary.onLoopThread { ThreadResources.realtimePriority() } == nil)
        try await ordinary.shutdown()
    }

    @Test func outOfRangePrioritiesAreRefusedWithTheRange() {
        var options = RelayServerOptions(privateKey: Loopback.key)
        for bad in [0, 100, -1] {
            options.realtimePriority = bad
            #expect(throws: RelayServerOptionsError.invalid("--realtime-priority must be 1...99, got \(bad)")) { try options.validate() }
        }
        options.realtimePriority = 99
        #expect(throws: Never.self) { try options.validate() }
        // The system call itself refuses a priority outside SCHED_FIFO's range, whatever the privileges.
        #expect(throws: RealtimePriorityError(priority: 0, code: EINVAL)) { try ThreadResources.useRealtimePriority(0) }
        #expect(RealtimePriorityError(priority: 0, code: EINVAL).description == "SCHED_FIFO priority must be 1...99, got 0")
        #expect(RealtimePriorityError(priority: 7, code: EPERM).description.contains("CAP_SYS_NICE, or an RLIMIT_RTPRIO (ulimit -r) of at least 7"))
    }
}
