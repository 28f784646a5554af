"""A trivial HTTP endpoint: the load generator's own ceiling for webhook requests.

    python -m bench.baselines.trivial_http --port P --database-url IGNORED

Answers every request at once with a fixed 200 JSON ack, parsing no more than the headers
and skipping the body: no framework, no validation, no database. The webhook load processes
sign, send and read against it exactly as against Posko, so its rate is the most they can
measure on this machine (the server side costs almost nothing).
"""

import argparse
import asyncio

ACK = b'{"type":"ack","event_id":"00000000-0000-0000-0000-000000000000","result":"stored"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
    + str(len(ACK)).encode()
    + b"\r\n\r\n"
    + ACK
)
HEALTH = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n"


async def serve_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer requests on one keep-alive connection until it closes."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(HEALTH if head.startswith(b"GET /healthz") else RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main_async(port: int) -> None:
    """Serve until killed."""
    server = await asyncio.start_server(serve_client, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    """Parse arguments and serve."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--database-url", required=True)
    args = ap.parse_args()
    import uvloop

    uvloop.run(main_async(args.port))


if __name__ == "__main__":
    main()
