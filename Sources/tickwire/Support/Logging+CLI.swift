import ArgumentParser
import Logging

extension Logger.Level: @retroactive ExpressibleByArgument {}

enum CLILogging {
    static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
