import Foundation
import Testing
import TickwireProtocol
import TickwireRelay
import TickwireReliability
@testable import TickwireSimulation

/// Network traces: the file format, replay by time offset, the summary, the ping importer and the
/// recorder, each checked against what it must give.
@Suite struct NetworkTraceTests {
    static let sample = NetworkTrace(
        source: "test", delay: .oneWay, note: "hand-made",
        links: [NetworkTrace.Link(
            up: [.init(sentMicros: 0, delayMicros: 10_000, size: 60), .init(sentMicros: 50_000, delayMicros: nil, size: 60),
                 .init(sentMicros: 100_000, delayMicros: nil, size: 60), .init(sentMicros: 150_000, delayMicros: 30_000, size: 60)],
            down: [.init(sentMicros: 16_667, delayMicros: 12_000, size: 200)])])

    @Test func theFileFormatReadsBackWhatItWrote() throws {
        let text = Self.sample.encoded()
        #expect(text.hasPrefix("{"))
        #expect(text.split(separator: "\n").count == 6)
        #expect(try NetworkTrace.parse(text, source: "t") == Self.sample)
    }

    @Test func badTraceFilesNameTheLineAndTheField() {
        func error(_ text: String) -> String {
            do { _ = try NetworkTrace.parse(text, source: "x.trace"); return "accepted" } catch { return error.description }
        }
        let header = #"{"tickwire_trace": 1, "delay": "one_way", "links": 1}"#
        #expect(error("") == "x.trace: empty (a header line first)")
        #expect(error(#"{"tickwire_trace": 2, "delay": "one_way", "links": 1}"#).contains("trace format 2; this build reads 1"))
        #expect(error(#"{"tickwire_trace": 1, "delay": "guess", "links": 1}"#).contains("x.trace:1: delay must be one of"))
        #expect(error(header + "\n" + #"{"link": 3, "dir": "up", "t_us": 0, "size": 1, "delay_us": 5}"#).contains("x.trace:2: link must be 0...0"))
        #expect(error(header + "\n" + #"{"link": 0, "dir": "sideways", "t_us": 0, "size": 1, "delay_us": 5}"#).contains("x.trace:2: dir"))
        #expect(error(header + "\n" + #"{"link": 0, "dir": "up", "t_us": 0, "size": 1}"#).contains("x.trace:2: give delay_us"))
        #expect(error(header + "\n" + #"{"link": 0, "dir": "up", "t_us": 9, "size": 1, "lost": true}"# + "\n"
            + #"{"link": 0, "dir": "up", "t_us": 5, "size": 1, "lost": true}"#).contains("x.trace:3: t_us goes backwards"))
        #expect(error(header + "\nnot json").contains("x.trace:2: not a JSON object"))
        #expect(error(header + "\n" + #"{"link": 0, "dir": "up", "t_us": 1e30, "size": 1, "lost": true}"#).contains("x.trace:2: t_us must be a whole number"))
        #expect(error(header + "\n" + #"{"link": 0, "dir": "up", "t_us": 0.5, "size": 1, "lost": true}"#).contains("t_us must be a whole number"))
        #expect(error(header + "\n" + #"{"link": 0, "dir": "up", "t_us": 1, "size": 1, "delay_us": -3}"#).contains("give delay_us"))
    }

    /// A packet takes the fate of the latest trace packet sent at or before its time; looping,
    /// time scale and offset move that time.
    @Test func replayMeetsTheFateAtTheSameOffsetInTime() {
        let up = Self.sample.links[0].up
        func at(_ ms: UInt64) -> TickwireInstant { TickwireInstant(nanoseconds: ms * 1_000_000) }
        let replay = TraceReplay(up, loops: false)
        #expect(replay.fate(at: at(0)) == .milliseconds(10))
        #expect(replay.fate(at: at(49)) == .milliseconds(10))
        #expect(replay.fate(at: at(50)) == nil)
        #expect(replay.fate(at: at(149)) == nil)
        #expect(replay.fate(at: at(150)) == .milliseconds(30))
        #expect(replay.fate(at: at(5_000)) == .milliseconds(30), "past the end without a loop: the last fate holds")
        let looping = TraceReplay(up, loops: true)  // span: 150 ms + the mean gap of 50 ms
        #expect(looping.fate(at: at(200)) == .milliseconds(10))
        #expect(looping.fate(at: at(260)) == nil)
        let fast = TraceReplay(up, loops: false, timeScale: 2)
        #expect(fast.fate(at: at(30)) == nil)  // trace time 60 ms
        let later = TraceReplay(up, loops: false, offset: .milliseconds(150))
        #expect(later.fate(at: at(0)) == .milliseconds(30))
        // Any time scale gives a fate, never a trap.
        for scale in [Double.nan, .infinity, -1, 1e300] { _ = TraceReplay(up, timeScale: scale).fate(at: at(1_000_000)) }
    }

    @Test func theSummaryCountsBurstsDelaysAndOutages() {
        var packets: [NetworkTrace.Packet] = []
        for k in 0..<100 { packets.append(.init(sentMicros: Int64(k) * 50_000, delayMicros: (10...12).contains(k) || (40..<60).contains(k) ? nil : Int64(k) * 1000, size: 1)) }
        let summary = TraceSummary(packets)
        #expect(summary.packets == 100 && summary.lost == 23)
        #expect(summary.burstLengths == [0, 0, 1, 0, 1])
        #expect(summary.longestBurst == 20)
        #expect(summary.outages.count == 1 && summary.outages[0].start == 2.0 && summary.outages[0].seconds == 1.0)
        #expect(summary.delayMax == 99)
    }

    /// iputils ping output, with a missing reply and a summary that counts one more request.
    @Test func aPingLogBecomesATraceWithItsLossesAndHalfItsRoundTrips() throws {
        let log = """
            PING 192.0.2.7 (192.0.2.7) 56(84) bytes of data.
            64 bytes from 192.0.2.7: icmp_seq=1 ttl=54 time=40.2 ms
            64 bytes from 192.0.2.7: icmp_seq=2 ttl=54 time=44.0 ms
            64 bytes from 192.0.2.7: icmp_seq=4 ttl=54 time=120 ms

            --- 192.0.2.7 ping statistics ---
            5 packets transmitted, 3 received, 40% packet loss, time 4005ms
            """
        let trace = try PingLogImport.trace(from: log, source: "sample.log", interval: 0.2)
        #expect(trace.delay == .rttHalf)
        let up = trace.links[0].up
        #expect(up.map(\.sentMicros) == [0, 200_000, 400_000, 600_000, 800_000])
        #expect(up.map(\.delayMicros) == [20_100, 22_000, nil, 60_000, nil])
        #expect(trace.links[0].down.map(\.delayMicros) == up.map(\.delayMicros))
        #expect(throws: TraceError.self) { _ = try PingLogImport.trace(from: "nothing here", source: "x", interval: 1) }
    }

    /// Clients in virtual time behind a 30 ms link with 10% loss up and none down: the recorder's
    /// trace of one of them says so.
    @Test func theRecorderSeesTheLinkAClientLived() throws {
        var relay = try VirtualRelay(seed: 11)
        let lossy = ImpairmentProfile(latency: .milliseconds(30), loss: 0.1)
        let clean = ImpairmentProfile(latency: .milliseconds(30))
        for id in 1...2 {
            let i = try relay.addClient(clientID: UInt64(id), room: "a", up: id == 1 ? lossy : clean, down: clean, timeoutSeconds: 30)
            relay.clients[i].core.logPackets()
        }
        var next = [TickwireInstant](repeating: .zero, count: 3)
        relay.advance(by: .seconds(20)) { client, now in
            let id = Int(client.clientID)
            guard client.core.welcome != nil, now >= next[id] else { return }
            next[id] = now + .milliseconds(50)
            client.actsAt = next[id]
            try? client.core.sendState([UInt8(truncatingIfNeeded: now.nanoseconds >> 20), 1, 2, 3])
        }
        let log = try #require(relay.clients[0].core.channels.packetLog)
        let link = TraceRecorder.link(from: log, start: .zero, end: relay.now)
        let up = TraceSummary(link.up)
        let down = TraceSummary(link.down)
        #expect(up.packets > 300)
        #expect(abs(up.lossRate - 0.1) < 0.04, "up loss \(up.lossRate)")
        #expect(down.lost == 0)
        // Down: one-way, base from half the smallest round trip (which includes the relay's ack
        // wait, up to a tick): 30 ms plus at most a tick.
        #expect(down.delayP50 >= 29 && down.delayP50 <= 30 + 17, "down p50 \(down.delayP50)")
        #expect(down.delayP99 - down.delayP50 < 5)
    }

    /// The same trace and seed give the same run, byte for byte.
    @Test func aTraceReplaysTheSameRunTwice() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("trace-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var link = NetworkTrace.Link()
        for k in 0..<200 {
            let lost = k % 17 < 3
            link.up.append(.init(sentMicros: Int64(k) * 50_000, delayMicros: lost ? nil : 20_000 + Int64(k % 7) * 3000, size: 60))
            link.down.append(.init(sentMicros: Int64(k) * 16_667, delayMicros: k % 23 == 0 ? nil : 25_000, size: 200))
        }
        let path = folder.appendingPathComponent("t.trace").path
        try NetworkTrace(source: "test", delay: .oneWay, links: [link, link]).encoded().write(toFile: path, atomically: true, encoding: .utf8)
        let first = try TraceReplayCheck.run(tracePath: path, links: 2, seconds: 8, seed: 3)
        let second = try TraceReplayCheck.run(tracePath: path, links: 2, seconds: 8, seed: 3)
        #expect(try first.report.json() == second.report.json())
        let upRow = try #require(first.rows.first { $0.direction == .up })
        #expect(upRow.replayed.lost > 0)
        #expect(abs(upRow.replayed.lossRate - upRow.recorded.lossRate) < 0.06)
        #expect(abs(upRow.replayed.delayP50 - upRow.recorded.delayP50) <= 3)
    }
}

/// Packet captures at both ends, as tshark prints them, become a trace.
@Suite struct CaptureImportTests {
    @Test func datagramsMatchedAcrossTheTwoCapturesByPayload() throws {
        let client = """
            100.000000|10.0.0.2||5000|10.0.0.1||40000|20|aa01
            100.050000|10.0.0.2||5000|10.0.0.1||40000|20|aa02
            100.100000|10.0.0.2||5000|10.0.0.1||40000|20|aa03
            100.030000|10.0.0.1||40000|10.0.0.2||5000|30|bb01
            """
        let server = """
            100.020000|10.0.0.2||5000|10.0.0.1||40000|20|aa01
            100.125000|10.0.0.2||5000|10.0.0.1||40000|20|aa03
            100.010000|10.0.0.1||40000|10.0.0.2||5000|30|bb01
            100.060000|10.0.0.1||40000|10.0.0.2||5000|30|bb02
            """
        let trace = try CaptureImport.trace(
            clientSide: try CaptureImport.parse(client, source: "c"), serverSide: try CaptureImport.parse(server, source: "s"),
            server: "10.0.0.1:40000", source: "test")
        #expect(trace.delay == .oneWay && trace.links.count == 1)
        let link = trace.links[0]
        #expect(link.up.map(\.delayMicros) == [20_000, nil, 25_000])
        #expect(link.up.map(\.sentMicros) == [0, 50_000, 100_000])
        #expect(link.down.map(\.delayMicros) == [20_000, nil])
        #expect(link.up[0].size == 12)
        #expect(throws: TraceError.self) { _ = try CaptureImport.parse("not|tshark", source: "x") }
        #expect(throws: TraceError.self) {
            _ = try CaptureImport.trace(clientSide: [], serverSide: [], server: "10.0.0.1:40000", source: "empty")
        }
    }
}
