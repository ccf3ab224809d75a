// Connects to the demo server, authenticates, joins a room, says hello, hears it back, exits.
import { WebSocketClient } from 'resilient-ws';
import { WebSocket } from 'ws'; // Node 20 has no WebSocket of its own; browsers and Node 22 do

const client = new WebSocketClient(`ws://127.0.0.1:${process.env.PORT ?? 8080}/ws`, {
  WebSocket,
  auth: { type: 'auth', token: 'demo-token' }, // the first frame on every connection
});

client.onStateChange((state) => {
  console.log('state:', state);
  if (state === 'open') client.send({ type: 'join', room: 'lobby' }); // on every (re)connect
});
client.on('chat', (msg) => {
  if (msg.replay) return; // the room's recent lines, sent on join
  console.log(`${msg.user}: ${msg.text}`);
  client.dispose(); // done: no socket, timer or listener left, so Node exits
});
client.onError((err) => console.warn(err.message));

client.send({ type: 'message', text: 'hello' }); // queued now, sent once joined
