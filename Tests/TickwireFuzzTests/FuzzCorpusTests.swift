import Foundation
import Testing
import TickwireFuzzHarness
import TickwireProtocol

/// Every fuzz target replays its committed corpus (`Fuzz/Corpus/<target>`: seeds and every
/// finding) and a fixed set of seeded random inputs. A finding that traps fails here, in the
/// normal suite, without libFuzzer.
@Suite struct FuzzCorpusTests {
    static let corpusRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/Corpus")

    static func corpus(_ target: FuzzTarget) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpusRoot.appendingPathComponent(target.rawValue)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        return try names.map { ($0, [UInt8](try Data(contentsOf: folder.appendingPathComponent($0)))) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func corpusReplaysWithoutATrap(_ target: FuzzTarget) throws {
        let inputs = try Self.corpus(target)
        #expect(inputs.count >= 3, "seed corpus for \(target.rawValue)")
        for input in inputs { target.run(input.bytes) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seededRandomInputsRunWithoutATrap(_ target: FuzzTarget) {
        var random = SplitMix64(seed: 0x7469_636B ^ UInt64(target.rawValue.utf8.count))
        for _ in 0..<300 {
            let length = Int(random.next() % 400)
            target.run((0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        }
    }
}
