import { writeFileSync } from 'node:fs';

const EVENTS: Record<string, number> = { '*': 10, '#': 11 };

/**
 * Writes a pcap of one RFC 2833 (RFC 4733) DTMF event for SIPp's play_pcap_audio.
 * SIPp replays a pcap's RTP headers as they are, so replaying its stock dtmf_2833_<d>.pcap
 * twice in a call repeats the same sequence numbers and timestamp, and Asterisk drops the
 * second key as a duplicate. Each key here gets its own `index`: later sequence numbers and a
 * later timestamp on one SSRC, as a real phone sends them.
 */
export function writeDtmfPcap(path: string, digit: string, index: number): void {
  const event = EVENTS[digit] ?? Number(digit);
  if (!Number.isInteger(event) || event < 0 || event > 11) throw new Error(`not a DTMF key: ${digit}`);
  const seqBase = 1000 + index * 20;
  const timestamp = 16_000 + index * 16_000;
  const packets: Buffer[] = [];
  // 7 packets while the key is down, then 3 copies of the end packet (RFC 4733 §2.5.1.4).
  for (let i = 0; i < 10; i++) {
    const end = i >= 7;
    const rtp = Buffer.alloc(16);
    rtp[0] = 0x80;
    rtp[1] = (i === 0 ? 0x80 : 0) | 101; // marker on the first packet; payload type 101
    rtp.writeUInt16BE((seqBase + Math.min(i, 7)) & 0xffff, 2);
    rtp.writeUInt32BE(timestamp, 4);
    rtp.writeUInt32BE(0x48_4f_54_4c, 8); // SSRC "HOTL"
    rtp[12] = event;
    rtp[13] = (end ? 0x80 : 0) | 10; // E bit, volume 10
    rtp.writeUInt16BE(Math.min(i + 1, 8) * 160, 14);
    packets.push(frame(rtp));
  }
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20); // Ethernet
  const records = packets.map((p, i) => {
    const rec = Buffer.alloc(16);
    const us = i < 7 ? i * 20_000 : 140_000 + (i - 7) * 50;
    rec.writeUInt32LE(1_700_000_000, 0);
    rec.writeUInt32LE(us, 4);
    rec.writeUInt32LE(p.length, 8);
    rec.writeUInt32LE(p.length, 12);
    return Buffer.concat([rec, p]);
  });
  writeFileSync(path, Buffer.concat([header, ...records]));
}

/** Ethernet + IPv4 + UDP around an RTP packet; SIPp takes the UDP payload and its own addresses. */
function frame(rtp: Buffer): Buffer {
  const eth = Buffer.from('0050bf990336000d8714ac240800', 'hex');
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + 8 + rtp.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ip.set([127, 0, 0, 2], 12);
  ip.set([127, 0, 0, 1], 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  ip.writeUInt16BE(~sum & 0xffff, 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(49_176, 0);
  udp.writeUInt16BE(10_000, 2);
  udp.writeUInt16BE(8 + rtp.length, 4);
  return Buffer.concat([eth, ip, udp, rtp]);
}
