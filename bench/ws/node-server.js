// Peer server for scripts/bench-ws.sh: Node's `ws` (Debian node-ws), echo on every path but /broadcast,
// which sends every text message to every /broadcast connection. Idiomatic use of the library, nothing tuned.
const { WebSocketServer } = require("ws");
const port = Number(process.argv[2] || 9002);
const server = new WebSocketServer({ host: "127.0.0.1", port, maxPayload: 16 * 1024 * 1024 });
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
server.on("listening", () => console.log(`node ws listening on ${port}`));
