// Peer server for scripts/bench-ws.sh and scripts/bench-ws-compression.sh: Node's `ws` (Debian node-ws), echo on
// every path but /broadcast, which sends every text message to every /broadcast connection. Idiomatic use of the
// library, nothing tuned.
//
//   node node-server.js PORT [deflate]
//
// With `deflate`, permessage-deflate is on with ws's own defaults (context takeover kept unless the client asks
// otherwise, level and memLevel zlib's defaults, 10 zlib jobs at once) except the threshold, 128 bytes like
// agora ws-echo's (ws's default is 1024).
const { WebSocketServer } = require("ws");
const port = Number(process.argv[2] || 9002);
const perMessageDeflate = process.argv[3] === "deflate" ? { threshold: 128 } : false;
const server = new WebSocketServer({ host: "127.0.0.1", port, maxPayload: 16 * 1024 * 1024, perMessageDeflate });
const group = new Set();
server.on("connection", (socket, request) => {
  if (request.url === "/broadcast") {
    group.add(socket);
    socket.on("close", () => group.delete(socket));
    socket.on("message", (data, isBinary) => {
      for (const member of group) member.send(data, { binary: isBinary });
    });
  } else {
    socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
  }
});
server.on("listening", () => console.log(`node ws listening on ${port}${perMessageDeflate ? " (permessage-deflate)" : ""}`));
