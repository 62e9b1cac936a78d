#!/usr/bin/env python3
"""A DPDK telemetry client in a few lines (Debian's dpdk lacks dpdk-telemetry.py).

The socket is /var/run/dpdk/PREFIX/dpdk_telemetry.v2 (SOCK_SEQPACKET): it
greets with a JSON object holding max_output_len, then answers each command
("/ethdev/stats,0", "/glournet/stats", "/" lists them all) with one JSON
object. Prints each answer, one line per command.

usage: telemetry.py SOCKET_PATH COMMAND...
"""
import json
import socket
import sys


def query(path, commands):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        hello = json.loads(s.recv(4096).decode())
        size = int(hello.get("max_output_len", 16384))
        for cmd in commands:
            s.send(cmd.encode())
            yield json.loads(s.recv(size).decode())


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    try:
        for answer in query(sys.argv[1], sys.argv[2:]):
            print(json.dumps(answer, sort_keys=True))
    except OSError as e:
        sys.exit(f"telemetry.py: {sys.argv[1]}: {e.strerror}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
