import Testing
@testable import TickwireProtocol

@Suite struct ReplayProtectionTests {
    @Test func acceptsNewAndRejectsRepeated() {
        var replay = ReplayProtection()
        for s: UInt64 in [0, 1, 2, 5, 3] {
            #expect(!replay.alreadyReceived(s))
            replay.advance(s)
            #expect(replay.alreadyReceived(s))
        }
        #expect(!replay.alreadyReceived(4))
    }

    @Test func rejectsOlderThanTheWindow() {
        var replay = ReplayProtection()
        replay.advance(1000)
        #expect(replay.alreadyReceived(1000 - 256))
        #expect(!replay.alreadyReceived(1000 - 255))
        #expect(replay.alreadyReceived(0))
    }

    @Test func slotHoldingANewerSequenceRejectsOlder() {
        var replay = ReplayProtection()
        replay.advance(300)
        #expect(replay.alreadyReceived(44))  // same slot (300 % 256), and out of window
        replay.advance(301)
        #expect(!replay.alreadyReceived(302))
    }

    @Test func windowArithmeticCannotOverflowAtTheTop() {
        var replay = ReplayProtection()
        #expect(!replay.alreadyReceived(.max))
        replay.advance(.max)
        #expect(replay.alreadyReceived(.max))
        #expect(replay.alreadyReceived(.max - 256))
        #expect(!replay.alreadyReceived(.max - 1))
        #expect(replay.alreadyReceived(0))
    }

    @Test func resetForgetsEverything() {
        var replay = ReplayProtection()
        replay.advance(7)
        replay.reset()
        #expect(!replay.alreadyReceived(7))
        #expect(replay.mostRecentSequence == 0)
    }
}
