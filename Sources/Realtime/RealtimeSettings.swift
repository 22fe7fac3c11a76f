/// Limits and timers of the realtime layer; each is an `AGORA_*` setting (see the README).
package struct RealtimeSettings: Sendable {
    /// Events sent per page while a connection catches up from PostgreSQL (`AGORA_WS_RESUME_PAGE`).
    package var resumePageSize: Int
    /// How long a new connection waits for a first `resume` before it starts at the stream head it was told in
    /// `hello` (`AGORA_WS_RESUME_WAIT_MS`). A client that resumes does so at once; this only delays a client that does
    /// not.
    package var resumeWait: Duration
    /// How often each instance compares its connections with the stream heads in PostgreSQL, catching up any that
    /// missed a publish (a crashed publisher, a Redis outage) (`AGORA_WS_RESYNC_SECONDS`).
    package var resyncInterval: Duration
    /// Topics one connection may follow at once (`AGORA_WS_MAX_TOPICS`).
    package var maxTopicsPerConnection: Int
    /// Live events a connection holds while it is catching up before it drops them and re-reads from PostgreSQL.
    package var maxBufferedEvents: Int
    /// The longest wait for the Redis subscription of a new connection's user before it reads its stream head.
    package var subscribeWait: Duration
    /// Sockets one account may hold open across every instance (`AGORA_WS_MAX_PER_USER`); more are refused with 429.
    package var maxSocketsPerUser: Int
    /// Sockets one client address may hold open across every instance (`AGORA_WS_MAX_PER_IP`).
    package var maxSocketsPerIP: Int
    /// Commands one connection may have waiting to run (`AGORA_WS_MAX_PENDING`); a client past it is closed with 1008.
    package var maxPendingCommands: Int
    /// Commands (chat, typing, receipts, subscriptions) one account may send per `commandPeriod`, over all its sockets
    /// on every instance (`AGORA_WS_COMMAND_LIMIT`); nil when rate limits are off.
    package var commandLimit: Int?
    /// The window of `commandLimit` (`AGORA_RATE_LIMIT_WINDOW`).
    package var commandPeriod: Duration

    package init(
        resumePageSize: Int = 200,
        resumeWait: Duration = .seconds(2),
        resyncInterval: Duration = .seconds(10),
        maxTopicsPerConnection: Int = 100,
        maxBufferedEvents: Int = 1000,
        subscribeWait: Duration = .seconds(2),
        maxSocketsPerUser: Int = 16,
        maxSocketsPerIP: Int = 64,
        maxPendingCommands: Int = 32,
        commandLimit: Int? = 240,
        commandPeriod: Duration = .seconds(60)
    ) {
        self.maxSocketsPerUser = maxSocketsPerUser
        self.maxSocketsPerIP = maxSocketsPerIP
        self.maxPendingCommands = maxPendingCommands
        self.commandLimit = commandLimit
        self.commandPeriod = commandPeriod
        self.resumePageSize = resumePageSize
        self.resumeWait = resumeWait
        self.resyncInterval = resyncInterval
        self.maxTopicsPerConnection = maxTopicsPerConnection
        self.maxBufferedEvents = maxBufferedEvents
        self.subscribeWait = subscribeWait
    }
}
