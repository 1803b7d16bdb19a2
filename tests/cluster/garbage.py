#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Send bad packets at a kbpaxos node: over a kernel UDP socket to its client port, and as
# raw Ethernet frames into its tap with an AF_PACKET socket.  Prints how many were sent.
#   garbage.py NODE_IP CLIENT_PORT TAP_IFACE NODE_MAC CLUSTER_ID
import os, random, socket, struct, sys, zlib

ip, port, iface, mac, cluster = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
rnd = random.Random(1)

def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF

def header(type_=12, count=1, length=0, frm=0xff, to=0xff, magic=0x5850424B, version=1, cl=cluster):
    return struct.pack('<IBBBBBBHIII5Q', magic, version, type_, 0, 0, frm, to, cl, count, length, 0, 0, 0, 0, 0, 0)

def seal(h, payload=b''):
    c = crc32c(h + payload)
    return h[:20] + struct.pack('<I', c) + h[24:] + payload

get = struct.pack('<QQBBHHH', 77, 1, 2, 1, 0, 0, 0) + b'k' + b'\0' * 7   # GET "k"
udp = [
    b'',                                        # empty
    b'\x00' * 10,                               # shorter than the header (trunc_hdr)
    os.urandom(64),                             # random header
    seal(header(magic=0xdeadbeef)),             # wrong magic
    seal(header(version=9)),                    # wrong version
    seal(header(cl=cluster ^ 0x55)),            # wrong cluster
    seal(header(type_=99)),                     # unknown type
    seal(header(length=32), get)[:-8],          # truncated payload (len)
    seal(header(length=len(get)), get)[:-1] + b'\x01',  # bad CRC
    seal(header(type_=4, length=len(get)), get),        # peer type on the client port
    seal(header(count=0, length=len(get)), get),        # count 0
    seal(header(count=0xFFFFFFFF, length=len(get)), get),  # count 2^32-1
    seal(header(frm=1, length=len(get)), get),          # client request claiming a node id
] + [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 300))) for _ in range(40)]

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for d in udp:
    s.sendto(d, (ip, port))
print("udp", len(udp))

# Raw frames into the tap: kernel -> tap -> the node's DPDK port.
dst = bytes(int(x, 16) for x in mac.split(':'))
src = bytes([0x02, 0x6b, 0x70, 0, 0, 0xee])
def iphdr(total, proto=17, ihl=5, frag=0x4000, good=True, dst_ip=ip):
    h = struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, total, 0, frag, 64, proto, 0,
                    socket.inet_aton('10.77.0.250'), socket.inet_aton(dst_ip))
    if ihl > 5:
        h += b'\x01' * (4 * (ihl - 5))
    sm = sum(struct.unpack('!%dH' % (len(h) // 2), h))
    while sm >> 16:
        sm = (sm & 0xffff) + (sm >> 16)
    ck = (~sm & 0xffff) if good else 0x1234
    return h[:10] + struct.pack('!H', ck) + h[12:]
kbp = seal(header(length=len(get)), get)
udph = struct.pack('!HHHH', 40000, port, 8 + len(kbp), 0)
eth = dst + src + b'\x08\x00'
frames = [
    eth,                                                # Ethernet header only (the kernel sends nothing shorter)
    dst + src + b'\x86\xdd' + os.urandom(60),           # IPv6 ethertype
    eth + b'\x45\x00\x00',                              # truncated IPv4
    eth + iphdr(28 + len(kbp), good=False) + udph + kbp,     # bad IP checksum
    eth + iphdr(28 + len(kbp), frag=0x2000) + udph + kbp,    # fragment
    eth + iphdr(32 + len(kbp), ihl=6) + udph + kbp,          # IP options
    eth + iphdr(28 + len(kbp), proto=6) + udph + kbp,        # TCP
    eth + iphdr(28 + len(kbp) + 50) + udph + kbp,            # IP length beyond the frame
    eth + iphdr(28 + len(kbp), dst_ip='10.77.0.99') + udph + kbp,  # not our IP
    b'\x02\x6b\x70\x00\x00\x77' + src + b'\x08\x00' + iphdr(28 + len(kbp)) + udph + kbp,  # not our MAC
] + [eth + os.urandom(rnd.randint(0, 200)) for _ in range(20)]
r = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
r.bind((iface, 0))
sent = 0
for f in frames:
    try:
        r.send(f)
        sent += 1
    except OSError as e:
        print("raw frame of %d bytes not sent: %s" % (len(f), e), file=sys.stderr)
print("raw", sent)
