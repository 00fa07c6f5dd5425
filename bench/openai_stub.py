#!/usr/bin/env python3
"""A local OpenAI-compatible chat server for the voice-agent benchmark
(bench/agent_bench.py): every POST .../chat/completions streams the same
reply as Server-Sent Events, the first delta after --first-token-ms and
one word per --token-ms after it, like a hosted model would.

tests/agent/openai_server.py (the test suite's scripted server) runs a
thread per request; this one is asyncio, so hundreds of concurrent calls
cost little CPU next to the server under test. HTTP/1.1 keep-alive,
Content-Length bodies, chunked responses. Prints "port N" once
listening; on SIGTERM prints the number of requests served.
"""
import argparse
import asyncio
import json
import signal
import sys

REPLY = ("Sure, I can help with that. Your order left our warehouse "
         "yesterday. It should arrive on Friday.")


class Stub:
    def __init__(self, first_ms, token_ms, text):
        self.first = first_ms / 1000.0
        self.token = token_ms / 1000.0
        self.words = text.split(" ")
        self.requests = 0

    async def handle(self, reader, writer):
        try:
            while await self.one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def one(self, reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path = lines[0].split(" ")[:2]
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        if n:
            await reader.readexactly(n)
        close = headers.get("connection", "").lower() == "close"
        if method != "POST" or not path.endswith("/chat/completions"):
            body = b'{"error":{"message":"no such path"}}'
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()
            return not close
        self.requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                     b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(self.first)

        def chunk(data):
            writer.write(b"%x\r\n%s\r\n" % (len(data), data))

        def delta(d, finish=None):
            ev = {"id": "bench", "object": "chat.completion.chunk",
                  "choices": [{"index": 0, "delta": d, "finish_reason": finish}]}
            chunk(b"data: " + json.dumps(ev).encode() + b"\n\n")

        delta({"role": "assistant", "content": ""})
        for i, w in enumerate(self.words):
            delta({"content": w if i == 0 else " " + w})
            await writer.drain()
            if self.token and i + 1 < len(self.words):
                await asyncio.sleep(self.token)
        delta({}, "stop")
        chunk(b"data: [DONE]\n\n")
        chunk(b"")
        await writer.drain()
        return not close


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--first-token-ms", type=float, default=200)
    ap.add_argument("--token-ms", type=float, default=20)
    ap.add_argument("--text", default=REPLY)
    a = ap.parse_args()
    stub = Stub(a.first_token_ms, a.token_ms, a.text)
    server = await asyncio.start_server(stub.handle, "127.0.0.1", a.port, backlog=1024)
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print("requests %d" % stub.requests, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
