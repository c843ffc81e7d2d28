import Foundation

/// Every thread on the machine and the CPU time it has used (Linux: each
/// `/proc/PID/task/TID/schedstat` and `stat`), so that a benchmark can name what else ran while
/// it measured: a kernel thread or another process that shares the measured thread's core shows
/// up as that thread's time kept off the core, and here by name.
struct ThreadCensus {
    struct ThreadID: Hashable {
        var pid: Int32
        var tid: Int32
    }

    struct Sample: Equatable {
        var name: String
        /// CPU time used since the thread started, in nanoseconds.
        var runtime: UInt64
        /// The core the thread last ran on.
        var lastCore: Int
    }

    var threads: [ThreadID: Sample] = [:]

    /// The threads of every process readable now (none where /proc has no task lists).
    static func take() -> ThreadCensus {
        var census = ThreadCensus()
        let files = FileManager.default
        guard let processes = try? files.contentsOfDirectory(atPath: "/proc") else { return census }
        for process in processes {
            guard let pid = Int32(process), let tasks = try? files.contentsOfDirectory(atPath: "/proc/\(process)/task") else { continue }
            for task in tasks {
                guard let tid = Int32(task),
                      let stat = try? String(contentsOfFile: "/proc/\(process)/task/\(task)/stat", encoding: .utf8),
                      let schedstat = try? String(contentsOfFile: "/proc/\(process)/task/\(task)/schedstat", encoding: .utf8),
                      let sample = parse(stat: stat, schedstat: schedstat) else { continue }
                census.threads[ThreadID(pid: pid, tid: tid)] = sample
            }
        }
        return census
    }

    /// One thread's name, CPU time and last core from its `stat` line and `schedstat`; nil if
    /// either is not as the kernel writes them. The name sits in parentheses and may hold
    /// spaces and parentheses itself, so the fields after it are counted from the last `)`.
    static func parse(stat: String, schedstat: String) -> Sample? {
        guard let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")"), open < close,
              let runtime = schedstat.split(separator: " ").first.flatMap({ UInt64($0) }) else { return nil }
        let name = String(stat[stat.index(after: open)..<close])
        // After the name: state (field 3) first; the processor is field 39.
        let rest = stat[stat.index(after: close)...].split(separator: " ")
        guard rest.count >= 37, let core = Int(rest[36]) else { return nil }
        return Sample(name: name, runtime: runtime, lastCore: core)
    }

    /// The threads that used at least `minimumMsPerSecond` of CPU between `earlier` and `later`,
    /// `seconds` apart, busiest first and at most `limit` of them, leaving out the threads of
    /// `excluded` processes (the benchmark's own, whose figures it reports anyway).
    static func busiest(
        from earlier: ThreadCensus, to later: ThreadCensus, seconds: Double, excluding excluded: Set<Int32>,
        minimumMsPerSecond: Double = 0.5, limit: Int = 4
    ) -> [BusyThread] {
        guard seconds > 0 else { return [] }
        var busy: [BusyThread] = []
        for (id, sample) in later.threads where !excluded.contains(id.pid) {
            guard let before = earlier.threads[id], sample.runtime >= before.runtime else { continue }
            let msPerSecond = Double(sample.runtime - before.runtime) / 1e6 / seconds
            if msPerSecond >= minimumMsPerSecond {
                busy.append(BusyThread(name: sample.name, pid: id.pid, msPerSecond: msPerSecond, lastCore: sample.lastCore))
            }
        }
        busy.sort { $0.msPerSecond != $1.msPerSecond ? $0.msPerSecond > $1.msPerSecond : $0.name < $1.name }
        return Array(busy.prefix(limit))
    }
}

/// A thread outside the benchmark that used CPU while it measured.
public struct BusyThread: Codable, Sendable, Equatable {
    public var name: String
    public var pid: Int32
    public var msPerSecond: Double
    /// The core it last ran on (a hint: a thread free to move may have run on others too).
    public var lastCore: Int

    enum CodingKeys: String, CodingKey {
        case name, pid, msPerSecond = "ms_per_s", lastCore = "last_core"
    }
}
