"""A minimal keep-alive HTTP/1.1 client on one socket to 127.0.0.1.

An httpx request costs about 1 ms of client CPU on this machine; this client costs
microseconds, so single-connection latencies are the server's, not the client's.
"""

from __future__ import annotations

import socket


class RawConnection:
    """One TCP connection (TCP_NODELAY, 30 s timeout); responses framed by Content-Length
    or chunked encoding."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _fill(self) -> None:
        data = self.sock.recv(262144)
        if not data:
            raise ConnectionError("server closed the connection")
        self.buf += data

    def request(self, raw: bytes) -> tuple[int, bytes]:
        self.sock.sendall(raw)
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        head, self.buf = self.buf[:end], self.buf[end + 4 :]
        status = int(head[9:12])
        headers = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
        )
        if b"content-length" in headers:
            n = int(headers[b"content-length"])
            while len(self.buf) < n:
                self._fill()
            body, self.buf = self.buf[:n], self.buf[n:]
            return status, body
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            parts = []
            while True:
                while (eol := self.buf.find(b"\r\n")) < 0:
                    self._fill()
                size = int(self.buf[:eol].split(b";")[0], 16)
                while len(self.buf) < eol + 2 + size + 2:
                    self._fill()
                parts.append(self.buf[eol + 2 : eol + 2 + size])
                self.buf = self.buf[eol + 2 + size + 2 :]
                if size == 0:
                    return status, b"".join(parts)
        raise ConnectionError("response without length")

    def close(self) -> None:
        self.sock.close()


def get_request(port: int, path: str) -> bytes:
    """The bytes of one ``GET path`` asking for JSON, sent as is on every repeat."""
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n"
    ).encode()
