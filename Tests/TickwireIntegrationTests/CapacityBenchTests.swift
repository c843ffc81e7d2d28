import Foundation
import Testing
@testable import TickwireBench
import TickwireServer
import TickwireTransport

/// `tickwire bench capacity`: the report's figures from known measurements, and the ceiling loop
/// over real loopback sockets for a second.
@Suite(.timeLimit(.minutes(1))) struct CapacityBenchTests {
    static func histogram(_ milliseconds: Int64, count: Int) -> DurationHistogram {
        var made = DurationHistogram()
        for _ in 0..<count { made.record(.milliseconds(milliseconds)) }
        return made
    }

    /// 4 clients for 10 s: 40 ms of relay CPU and 2,400 datagrams of 160 B out; the ceiling 15 ms over 5 s.
    static func measurements(clientsAtEnd: Int = 4) -> (RelayCapacityRun.Result, CeilingLoop.Result) {
        let relay = RelayCapacityRun.Result(
            clients: 4, clientsAtStart: 4, clientsAtEnd: clientsAtEnd, seconds: 10, cpu: .milliseconds(40),
            datagramsIn: 880, datagramsOut: 2400, bytesIn: 880 * 90, bytesOut: 2400 * 160,
            ticks: histogram(6, count: 600), tickSends: histogram(3, count: 600), tickCPU: histogram(5, count: 600),
            tickUpdateCPU: histogram(2, count: 600),
            waits: SchedulerWaits(waiting: .milliseconds(50), preemptions: 20),
            reliableResends: 8, snapshotsSent: 2400, lateTicks: 2, updates: 800,
            residentBytesBefore: 1_000_000, residentBytesAfter: 1_000_000 + 4 * 35_000,
            swarm: nil, swarmExitCode: 0, pinned: true, workers: [.init(clients: 4, cpu: .milliseconds(40))])
        let ceiling = CeilingLoop.Result(
            cpu: .milliseconds(15), seconds: 5, datagramsSent: 1200, datagramsReceived: 400, openFailures: 0, sendErrors: 0,
            tickSend: histogram(4, count: 300), tickCPU: histogram(4, count: 300),
            waits: SchedulerWaits(waiting: .milliseconds(5), preemptions: 5), pinned: true)
        return (relay, ceiling)
    }

    @Test func theReportsFiguresArePerClientSecondAndAgainstTheCeiling() throws {
        var configuration = CapacityBench.Configuration(executable: "/bin/true")
        configuration.clients = 4
        configuration.roomSize = 2
        configuration.realtimePriority = 10
        let (relay, ceiling) = Self.measurements()
        let report = CapacityBench.Report(configuration: configuration, relay: relay, ceiling: ceiling)
        #expect(report.relayUsPerClientS == 1000)
        #expect(report.ceilingUsPerClientS == 750)
        #expect(report.ratio == 0.75)
        #expect(report.packetsInPerClientS == 22 && report.packetsOutPerClientS == 60)
        #expect(report.ceilingPacketsOutPerClientS == 60 && report.ceilingPacketsInPerClientS == 20)
        #expect(report.meanDatagramOutBytes == 160 && report.meanDatagramInBytes == 90)
        #expect(report.tickP99Ms == 6 && report.ceilingTickSendP99Ms == 4 && report.tickP99OverCeiling == 1.5)
        #expect(report.tickCPUP99Ms == 5 && report.ceilingTickCPUP99Ms == 4)
        #expect(report.tickCPUP50Ms == 5 && report.ceilingTickCPUP50Ms == 4)
        #expect(report.tickUpdateCPUP50Ms == 2 && report.tickUpdateCPUP99Ms == 2)
        #expect(report.table().contains("tick update CPU p50/p99 ms                 2.000 / 2.000"))
        #expect(report.rssBytesPerClient == 35_000)
        #expect(report.relayWaitMsPerS == 5 && report.relayPreemptionsPerS == 2)
        #expect(report.ceilingWaitMsPerS == 1 && report.ceilingPreemptionsPerS == 1)
        #expect(report.table().contains("kept off the core, ms/s (switches/s)  1.00 (1.0) 5.00 (2.0)"))
        #expect(report.updatesPerSecond == 80)
        // No swarm report: the load is not known to be what was asked for.
        #expect(!report.valid)
        #expect(report.table().contains("NOT VALID"))
        #expect(report.table().contains("measured threads under SCHED_FIFO 10"))

        // The JSON carries what the issue names, under those names.
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
        let object = try #require(json)
        for key in ["ceiling_us_per_client_s", "relay_us_per_client_s", "ratio", "packets_in_per_client_s",
                    "packets_out_per_client_s", "tick_p99_ms", "rss_bytes_per_client", "realtime_priority", "tick_cpu_p99_ms",
                    "relay_wait_ms_per_s", "ceiling_wait_ms_per_s", "tick_update_cpu_p50_ms", "tick_update_cpu_p99_ms"] {
            #expect(object[key] != nil, "\(key)")
        }
        #expect(object["ratio"] as? Double == 0.75)
        #expect(object["realtime_priority"] as? Int == 10)

        configuration.realtimePriority = nil
        let ordinary = CapacityBench.Report(configuration: configuration, relay: relay, ceiling: ceiling)
        #expect(ordinary.table().contains("ordinary scheduling"))
        #expect(ordinary.realtimePriority == nil)
    }

    /// A `stat` line as the kernel writes it: the name in parentheses (which may hold both), then
    /// fields 3 to 52; field 39 (the last core) is `core`.
    static func statLine(pid: Int32, name: String, core: Int) -> String {
        var fields = (3...52).map { "\($0 * 10)" }
        fields[0] = "S"
        fields[39 - 3] = "\(core)"
        return "\(pid) (\(name)) " + fields.joined(separator: " ") + "\n"
    }

    @Test func aThreadsNameCPUTimeAndCoreAreReadFromProcWhateverItsName() throws {
        let sample = try #require(ThreadCensus.parse(
            stat: Self.statLine(pid: 71, name: "kdamond.0 (x) y)", core: 1), schedstat: "61400000 120 29\n"))
        #expect(sample == ThreadCensus.Sample(name: "kdamond.0 (x) y)", runtime: 61_400_000, lastCore: 1))
        #expect(ThreadCensus.parse(stat: "71 (short) S 1 2", schedstat: "5 0 0") == nil)
        #expect(ThreadCensus.parse(stat: Self.statLine(pid: 71, name: "a", core: 0), schedstat: "") == nil)
        #expect(ThreadCensus.parse(stat: "no name here", schedstat: "5 0 0") == nil)

        // This process's threads are in a census of the machine, having used some CPU.
        let census = ThreadCensus.take()
        let own = census.threads.filter { $0.key.pid == getpid() }
        #expect(!own.isEmpty)
        #expect(own.values.contains { $0.runtime > 0 })
    }

    @Test func theBusiestOtherThreadsAreNamedBusiestFirst() {
        func census(_ entries: [(Int32, Int32, String, UInt64)]) -> ThreadCensus {
            var made = ThreadCensus()
            for (pid, tid, name, runtime) in entries {
                made.threads[.init(pid: pid, tid: tid)] = .init(name: name, runtime: runtime, lastCore: Int(tid % 2))
            }
            return made
        }
        let earlier = census([(71, 71, "kdamond.0", 1_000_000), (10, 11, "bench", 0), (20, 20, "tenant", 0), (30, 30, "idle", 0)])
        let later = census([
            (71, 71, "kdamond.0", 61_000_000), (10, 11, "bench", 900_000_000), (20, 20, "tenant", 20_000_000),
            (30, 30, "idle", 4_000_000), (40, 40, "born-late", 500_000_000),
        ])
        let busy = ThreadCensus.busiest(from: earlier, to: later, seconds: 10, excluding: [10])
        // 6 and 2 ms a second; "idle" used 0.4, under the floor; the bench's own and a thread not
        // in the first census are left out.
        #expect(busy == [
            BusyThread(name: "kdamond.0", pid: 71, msPerSecond: 6, lastCore: 1),
            BusyThread(name: "tenant", pid: 20, msPerSecond: 2, lastCore: 0),
        ])
        #expect(ThreadCensus.busiest(from: earlier, to: later, seconds: 10, excluding: [10], limit: 1).count == 1)
        #expect(ThreadCensus.busiest(from: earlier, to: later, seconds: 0, excluding: []).isEmpty)
    }

    @Test func theReportNamesOtherProcessesBusyThreads() throws {
        var configuration = CapacityBench.Configuration(executable: "/bin/true")
        configuration.clients = 4
        var (relay, ceiling) = Self.measurements()
        relay.otherThreads = [BusyThread(name: "kdamond.0", pid: 71, msPerSecond: 6.1, lastCore: 0)]
        let report = CapacityBench.Report(configuration: configuration, relay: relay, ceiling: ceiling)
        #expect(report.table().contains(
            "other processes' busy threads in the relay phase, ms/s (last core): kdamond.0 6.1 (core 0)   (the relay was kept off its core 5.00 ms/s)"))
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any])
        let threads = try #require(json["other_threads"] as? [[String: Any]])
        #expect(threads.count == 1)
        #expect(threads.first?["name"] as? String == "kdamond.0" && threads.first?["ms_per_s"] as? Double == 6.1)
        #expect(threads.first?["last_core"] as? Int == 0)

        relay.otherThreads = []
        #expect(CapacityBench.Report(configuration: configuration, relay: relay, ceiling: ceiling).table()
            .contains("in the relay phase, ms/s (last core): none at 0.5 or more"))
    }

    @Test func theCeilingLoopSealsSendsReceivesAndOpensOverLoopback() throws {
        let configuration = CeilingLoop.Configuration(
            clients: 6, tickRate: 60, stateRate: 20, outboundPayloadBytes: 120, inboundPayloadBytes: 60, seconds: 1,
            serverCore: nil, loadCore: nil)
        let result = try CeilingLoop.run(configuration)
        // One datagram per client per tick, each opened by nobody but sent whole; the clients' states all open.
        #expect(result.sendErrors == 0 && result.openFailures == 0)
        #expect(result.tickSend.count >= 30 && result.tickSend.count <= 61)
        #expect(result.datagramsSent == 6 * result.tickSend.count)
        #expect(result.datagramsReceived >= 30 && result.datagramsReceived <= 6 * 22)
        #expect(result.cpu > .zero)
        #if os(Linux)
        // The server thread's waits for its core over the run: read, and a window's never negative.
        let waits = try #require(result.waits)
        #expect(waits.waiting >= .zero)
        #endif
    }

    @Test func aRefusedPriorityStopsTheCeilingWithTheOptionsName() {
        var configuration = CeilingLoop.Configuration(
            clients: 1, tickRate: 60, stateRate: 20, outboundPayloadBytes: 100, inboundPayloadBytes: 60, seconds: 1,
            serverCore: nil, loadCore: nil)
        configuration.realtimePriority = 0
        #expect {
            _ = try CeilingLoop.run(configuration)
        } throws: { error in
            "\(error)".hasPrefix("--realtime-priority 0: SCHED_FIFO priority must be 1...99")
        }
    }
}
