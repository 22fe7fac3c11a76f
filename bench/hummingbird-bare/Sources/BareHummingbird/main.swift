import Hummingbird
import Logging

// `bare-hummingbird [port]`: GET /health answers {"status":"ok"} as JSON, as Agora's route does; nothing else.
let port = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 8090 : 8090
var logger = Logger(label: "bare")
logger.logLevel = .warning
let router = Router()
router.get("/health") { _, _ in ["status": "ok"] }
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
try await app.runService()
