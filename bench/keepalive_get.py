#!/usr/bin/python3
"""N keep-alive GETs on one connection, each for a different URL (for callgrind).

ab sends one URL over and over; the cache policy remembers the last URLs it classified, so
a repeated URL measures its memo, not its classifier. This client asks for N URLs that
differ in the file name's content hash, in order, one at a time (as `ab -k -c 1` does):

  keepalive_get.py --port P --host H --count N --pattern '/static/app.{:07x}f.js'

Each answer must be a 200 with a Content-Length body; anything else exits non-zero.
The request bytes are the same for every variant of a benchmark run: the same URLs in the
same order, the same headers.
"""

import argparse
import socket
import sys


def read_answer(sock, buf):
    """Reads one answer; returns (status, leftover bytes)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("keepalive_get: the server closed the connection")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        sys.exit(f"keepalive_get: answer without Content-Length: {lines[0]!r}")
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("keepalive_get: the server closed the connection in a body")
        rest += chunk
    return status, rest[length:]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--pattern", required=True, help="a str.format pattern taking the index")
    args = ap.parse_args()

    sock = socket.create_connection(("127.0.0.1", args.port), timeout=120)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    for i in range(args.count):
        target = args.pattern.format(i)
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {args.host}\r\n"
                     "User-Agent: pulse-bench\r\nAccept: */*\r\n\r\n".encode())
        status, buf = read_answer(sock, buf)
        if status != 200:
            sys.exit(f"keepalive_get: {target} answered {status}")
    sock.close()
    print(f"keepalive_get: {args.count} answers of 200")


if __name__ == "__main__":
    main()
