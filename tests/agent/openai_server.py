"""A local OpenAI-compatible server for the voice-agent tests.

It speaks the wire protocol Parley's providers use -- streaming chat
completions as Server-Sent Events (text deltas and tool calls),
/v1/audio/transcriptions (multipart WAV in, JSON out) -- on 127.0.0.1,
and answers from a script the test gives it: each chat request takes the
next reply in order. A reply can be slow, stall, fail with an HTTP
status or send a malformed stream, so the tests can watch Parley cope.
Every request is recorded for assertions.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Reply:
    """One assistant reply.

    text: streamed word by word, token_delay seconds apart, after
    first_delay; tool: (name, arguments dict) streamed as a tool call in
    pieces; status: an HTTP error instead; malformed: a broken SSE stream;
    stall: seconds to hang after the headers (a provider that stops).
    """

    def __init__(self, text="", tool=None, first_delay=0.0, token_delay=0.0,
                 status=200, malformed=False, stall=0.0):
        self.text, self.tool = text, tool
        self.first_delay, self.token_delay = first_delay, token_delay
        self.status, self.malformed, self.stall = status, malformed, stall


class FakeOpenAI:
    def __init__(self, replies=(), transcripts=()):
        self.replies = list(replies)
        self.transcripts = list(transcripts)
        self.chat_requests = []
        self.stt_requests = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n) if n else b""
                if self.path.endswith("/chat/completions"):
                    server._chat(self, body)
                elif self.path.endswith("/audio/transcriptions"):
                    server._stt(self, body)
                else:
                    self._send(404, {"error": {"message": "no such path"}})

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base_url = "http://127.0.0.1:%d/v1" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- transcription ----
    def _stt(self, h, body):
        with self.lock:
            self.stt_requests.append({"bytes": len(body),
                                      "auth": h.headers.get("Authorization"),
                                      "wav": b"RIFF" in body and b"WAVE" in body})
            text = self.transcripts.pop(0) if self.transcripts else ""
        h._send(200, {"text": text})

    # ---- chat ----
    def _chat(self, h, body):
        try:
            req = json.loads(body)
        except ValueError:
            h._send(400, {"error": {"message": "bad json"}})
            return
        with self.lock:
            self.chat_requests.append({"body": req,
                                       "auth": h.headers.get("Authorization"),
                                       "at": time.monotonic()})
            r = self.replies.pop(0) if self.replies else Reply("Okay.")
        if r.status != 200:
            h._send(r.status, {"error": {"message": "scripted failure"}})
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Transfer-Encoding", "chunked")
        h.end_headers()

        def chunk(data):
            h.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            h.wfile.flush()

        def event(obj):
            chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

        def delta(d, finish=None):
            event({"id": "c1", "object": "chat.completion.chunk",
                   "choices": [{"index": 0, "delta": d, "finish_reason": finish}]})

        try:
            if r.stall:
                time.sleep(r.stall)
            time.sleep(r.first_delay)
            if r.malformed:
                chunk(b"data: {\"choices\": [{\"delta\": {\"content\": \"Hel")
                chunk(b"\n\ndata: not json at all\n\n")
                chunk(b"data: [DONE]\n\n")
                chunk(b"")
                return
            delta({"role": "assistant", "content": ""})
            words = r.text.split(" ") if r.text else []
            for i, w in enumerate(words):
                delta({"content": w if i == 0 else " " + w})
                if r.token_delay:
                    time.sleep(r.token_delay)
            if r.tool:
                name, args = r.tool
                a = json.dumps(args)
                delta({"tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                                       "function": {"name": name, "arguments": ""}}]})
                for i in range(0, len(a), 5):
                    delta({"tool_calls": [{"index": 0, "function": {"arguments": a[i:i + 5]}}]})
                delta({}, "tool_calls")
            else:
                delta({}, "stop")
            chunk(b"data: [DONE]\n\n")
            chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            pass
