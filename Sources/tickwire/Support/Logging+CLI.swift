import ArgumentParser
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// How log lines look: `text` (swift-log's stream handler, the default) or `json` (one object a line).
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

enum CLILogging {
    static func bootstrap(level: Logger.Level, format: LogFormat = .text) {
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
