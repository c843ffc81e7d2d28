import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import tickwire

@Suite struct JSONLogHandlerTests {
    @Test func eachLineIsOneJSONObjectWithTheFieldsCollectorsRead() throws {
        let lines = NIOLockedValueBox<[Data]>([])
        var handler = JSONLogHandler(label: "tickwire.serve")
        handler.output = { data in lines.withLockedValue { $0.append(data) } }
        handler[metadataKey: "worker"] = "1"
        var logger = Logger(label: "tickwire.serve") { _ in handler }
        logger.logLevel = .info
        logger.debug("not shown")
        logger.notice("client joined \"quoted\"\nnext", metadata: ["room": "arena-1", "ids": ["1", "2"], "nested": ["a": "b"]])
        let captured = lines.withLockedValue { $0 }
        try #require(captured.count == 1)
        let text = String(decoding: captured[0], as: UTF8.self)
        #expect(text.hasSuffix("}\n") && text.dropLast().contains("\n") == false)
        let object = try #require(try JSONSerialization.jsonObject(with: captured[0]) as? [String: Any])
        #expect(object["level"] as? String == "notice")
        #expect(object["label"] as? String == "tickwire.serve")
        #expect(object["message"] as? String == "client joined \"quoted\"\nnext")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["worker"] as? String == "1" && metadata["room"] as? String == "arena-1")
        #expect(metadata["ids"] as? [String] == ["1", "2"])
        #expect((metadata["nested"] as? [String: String]) == ["a": "b"])
        let timestamp = try #require(object["timestamp"] as? String)
        #expect(timestamp.count == 24 && timestamp.hasSuffix("Z"))
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        #expect(JSONLogHandler.timestamp(Date(timeIntervalSince1970: 1_795_600_000.25)) == "2026-11-25T09:46:40.250Z")
    }
}
