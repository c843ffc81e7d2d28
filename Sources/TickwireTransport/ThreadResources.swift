#if canImport(Glibc)
import CTickwireSocket
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a benchmark reads about the calling thread and the process: CPU time, core pinning, RSS.
public enum ThreadResources {
    /// CPU time (user + system) the calling thread has used.
    public static func cpuTime() -> Duration {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return .seconds(Int64(ts.tv_sec)) + .nanoseconds(Int64(ts.tv_nsec))
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

    /// The process's resident set size in bytes (Linux: /proc/self/statm), or nil if unknown.
    public static func residentBytes() -> Int? {
        #if os(Linux)
        guard let file = fopen("/proc/self/statm", "r") else { return nil }
        defer { fclose(file) }
        var size = 0
        var resident = 0
        guard withUnsafeMutablePointer(to: &size, { s in
            withUnsafeMutablePointer(to: &resident) { r in fscanfLongs(file, s, r) }
        }) else { return nil }
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
    private static func fscanfLongs(_ file: UnsafeMutablePointer<FILE>, _ a: UnsafeMutablePointer<Int>, _ b: UnsafeMutablePointer<Int>) -> Bool {
        var line = [CChar](repeating: 0, count: 256)
        guard fgets(&line, Int32(line.count), file) != nil else { return false }
        let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let first = Int(fields[0]), let second = Int(fields[1]) else { return false }
        a.pointee = first
        b.pointee = second
        return true
    }
    #endif
}
