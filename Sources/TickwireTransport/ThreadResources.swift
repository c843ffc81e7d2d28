#if canImport(Glibc)
import CTickwireSocket
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The calling thread's CPU time, core and scheduling policy (what a benchmark reads and pins,
/// and a relay's loop sets with `--realtime-priority`), and the process's RSS.
public enum ThreadResources {
    /// CPU time (user + system) the calling thread has used.
    public static func cpuTime() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
    }

    /// How long the calling thread has waited, runnable, for a core (other threads held it), and
    /// how many times it was switched out while runnable: /proc/thread-self/schedstat and
    /// status on Linux; nil elsewhere or where the kernel keeps no such figures.
    public static func schedulerWaits() -> SchedulerWaits? {
        #if os(Linux)
        guard let schedstat = readSmallFile("/proc/thread-self/schedstat"),
              let status = readSmallFile("/proc/thread-self/status") else { return nil }
        let fields = schedstat.split(separator: " ")
        guard fields.count >= 2, let waited = Int64(fields[1]) else { return nil }
        let key = "nonvoluntary_ctxt_switches:"
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
              let switches = UInt64(line.dropFirst(key.count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })) else { return nil }
        return SchedulerWaits(waiting: .nanoseconds(waited), preemptions: switches)
        #else
        return nil
        #endif
    }

    /// Pins the calling thread to one core. Returns false where that is not possible (not Linux,
    /// core out of range, or a cgroup that forbids it); the caller reports it.
    @discardableResult
    public static func pin(toCore core: Int) -> Bool {
        #if os(Linux)
        return tickwire_pin_thread(Int32(clamping: core)) == 0
        #else
        return false
        #endif
    }

    /// Runs the calling thread under SCHED_FIFO at `priority` (1...99), so that no ordinary
    /// (SCHED_OTHER) thread or kernel worker sharing its core preempts it mid-tick. Throws where
    /// the system refuses (without CAP_SYS_NICE, or an RLIMIT_RTPRIO below `priority`).
    ///
    /// A SCHED_FIFO thread runs until it blocks: one that never does would keep everything else
    /// off its core but for the kernel's real-time throttle (by default 50 ms a second).
    public static func useRealtimePriority(_ priority: Int) throws(RealtimePriorityError) {
        #if os(Linux)
        let result = tickwire_set_fifo_priority(Int32(clamping: priority))
        if result != 0 { throw RealtimePriorityError(priority: priority, code: -result) }
        #else
        throw RealtimePriorityError(priority: priority, code: ENOTSUP)
        #endif
    }

    /// The calling thread's SCHED_FIFO priority, or nil if it runs under another policy.
    public static func realtimePriority() -> Int? {
        #if os(Linux)
        var priority: Int32 = 0
        return tickwire_scheduling(&priority) == SCHED_FIFO ? Int(priority) : nil
        #else
        return nil
        #endif
    }

    /// The process's resident set size in bytes (Linux: /proc/self/statm), or nil if unknown.
    public static func residentBytes() -> Int? {
        #if os(Linux)
        // statm: size and resident pages first, then others.
        guard let statm = readSmallFile("/proc/self/statm") else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count >= 2, let resident = Int(fields[1]) else { return nil }
        return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
        #else
        return nil
        #endif
    }

    /// The number of cores this process may run on.
    public static func availableCores() -> Int {
        #if os(Linux)
        let cores = tickwire_available_cores()
        if cores > 0 { return Int(cores) }
        #endif
        return Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
    }

    #if os(Linux)
    /// A small /proc file's text (its first 4 KiB), or nil if it cannot be read.
    private static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4096)
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: bytes[0..<count], as: UTF8.self)
    }
    #endif
}

/// A thread's time runnable but not running, and how often it was switched out while runnable
/// (cumulative since the thread started; subtract two readings for a window).
public struct SchedulerWaits: Sendable, Equatable {
    public var waiting: Duration
    public var preemptions: UInt64

    public init(waiting: Duration, preemptions: UInt64) {
        self.waiting = waiting
        self.preemptions = preemptions
    }

    public static let zero = SchedulerWaits(waiting: .zero, preemptions: 0)

    public static func - (later: SchedulerWaits, earlier: SchedulerWaits) -> SchedulerWaits {
        SchedulerWaits(waiting: later.waiting - earlier.waiting, preemptions: later.preemptions &- earlier.preemptions)
    }

    public static func + (a: SchedulerWaits, b: SchedulerWaits) -> SchedulerWaits {
        SchedulerWaits(waiting: a.waiting + b.waiting, preemptions: a.preemptions &+ b.preemptions)
    }
}

/// The system refused to run a thread under SCHED_FIFO.
public struct RealtimePriorityError: Error, Equatable, CustomStringConvertible {
    public let priority: Int
    /// The errno the system gave.
    public let code: Int32

    public init(priority: Int, code: Int32) {
        self.priority = priority
        self.code = code
    }

    public var description: String {
        switch code {
        case EINVAL: return "SCHED_FIFO priority must be 1...99, got \(priority)"
        case EPERM:
            return "the system refused SCHED_FIFO priority \(priority) (operation not permitted): it needs CAP_SYS_NICE, or an RLIMIT_RTPRIO (ulimit -r) of at least \(priority)"
        case ENOTSUP: return "SCHED_FIFO priorities are only supported on Linux"
        default: return "the system refused SCHED_FIFO priority \(priority) (\(String(cString: strerror(code))))"
        }
    }
}
