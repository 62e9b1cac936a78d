#!/usr/bin/env python3
"""Raw-frame helpers for the exception-path test (stdlib only, root).

capture: wait for UDP frames to a port on an interface (AF_PACKET) and
         print each as one JSON line with its Ethernet, IP and UDP fields
         and whether its checksums verify, so the test checks L2 and L3 of
         what glournetd's TX path sent.
flood:   send frames that are not heartbeats (ICMP echo requests, UDP to
         another port, TCP SYNs) to the collector, as fast as one core
         allows or at --rate, for a bounded time; print how many went.
"""
import argparse
import errno
import json
import os
import select
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003


def mac_text(b):
    return ":".join(f"{x:02x}" for x in b)


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def parse(frame, port):
    """The fields of a UDP frame to `port`, or None."""
    if len(frame) < 14:
        return None
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    out = {"dst_mac": mac_text(frame[0:6]), "src_mac": mac_text(frame[6:12]),
           "ethertype": f"0x{etype:04x}"}
    if etype == 0x0800 and len(ip) >= 20 and ip[9] == 17:
        ihl = (ip[0] & 0x0F) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        src, dst = socket.inet_ntop(socket.AF_INET, ip[12:16]), socket.inet_ntop(socket.AF_INET, ip[16:20])
        out.update(version=4, ttl=ip[8], ip_len=total, df=bool(ip[6] & 0x40),
                   ip_csum_ok=csum(ip[:ihl]) == 0)
        udp = ip[ihl:total]
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    elif etype == 0x86DD and len(ip) >= 40 and ip[6] == 17:
        plen = struct.unpack("!H", ip[4:6])[0]
        src, dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        out.update(version=6, ttl=ip[7], ip_len=plen)
        udp = ip[40:40 + plen]
        pseudo = ip[8:40] + struct.pack("!IxxxB", len(udp), 17)
    else:
        return None
    if len(udp) < 8:
        return None
    sport, dport, ulen, ucs = struct.unpack("!HHHH", udp[:8])
    if dport != port:
        return None
    out.update(src=src, dst=dst, sport=sport, dport=dport, udp_len=ulen,
               udp_csum_ok=ucs != 0 and csum(pseudo + udp[:ulen]) == 0,
               payload=udp[8:ulen].decode("ascii", "replace"))
    return out


def cmd_capture(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((a.iface, 0))
    if a.ready:
        open(a.ready, "w").close()
    deadline, seen = time.time() + a.timeout, 0
    while seen < a.count:
        left = deadline - time.time()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            sys.exit(f"nettool capture: {seen} of {a.count} frames to UDP port {a.port} in {a.timeout} s")
        frame, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        f = parse(frame, a.port)
        if f:
            print(json.dumps(f), flush=True)
            seen += 1


def frames(a):
    """Prebuilt frames that are not heartbeats, IPv4 to a.dst."""
    dst_mac, src_mac = mac_bytes(a.dst_mac), mac_bytes(a.src_mac)
    src, dst = socket.inet_aton(a.src), socket.inet_aton(a.dst)
    out = []

    def ip4(proto, body):
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0x4000, 64, proto, 0, src, dst)
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        return dst_mac + src_mac + b"\x08\x00" + h + body

    for i in range(64):
        icmp = struct.pack("!BBHHH", 8, 0, 0, 0xF10D, i) + b"flood" * 8
        icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
        out.append(ip4(1, icmp))
        udp = struct.pack("!HHHH", 40000 + i, 9, 8 + 32, 0) + os.urandom(32)
        out.append(ip4(17, udp))
        tcp = struct.pack("!HHIIBBHHH", 40000 + i, 22, i, 0, 5 << 4, 0x02, 1024, 0, 0)
        out.append(ip4(6, tcp))
    return out


def cmd_flood(a):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    fs = frames(a)
    sent, full, start = 0, 0, time.time()
    end = start + a.seconds
    while time.time() < end:
        if a.rate:   # paced: one batch of frames, then wait for the clock
            ahead = sent / a.rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
        for f in fs:
            try:
                s.send(f)
                sent += 1
            except OSError as e:  # the veth's queue is full: the top rate
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                full += 1
    print(json.dumps({"sent": sent, "queue_full": full, "seconds": a.seconds,
                      "pps": int(sent / a.seconds)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture", help="print UDP frames to PORT seen on IFACE (JSON lines)")
    c.add_argument("--iface", required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--count", type=int, default=1)
    c.add_argument("--timeout", type=float, default=10)
    c.add_argument("--ready", help="touch this file once listening")
    f = sub.add_parser("flood", help="send non-heartbeat frames as fast as possible")
    f.add_argument("--iface", required=True)
    f.add_argument("--src", required=True)
    f.add_argument("--dst", required=True)
    f.add_argument("--src-mac", required=True)
    f.add_argument("--dst-mac", required=True)
    f.add_argument("--seconds", type=float, default=3)
    f.add_argument("--rate", type=float, default=0, help="frames per second (default: as fast as possible)")
    a = ap.parse_args()
    (cmd_capture if a.cmd == "capture" else cmd_flood)(a)


if __name__ == "__main__":
    main()
