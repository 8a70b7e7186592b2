"""Two drop-in speed-ups for qrcode's pure-Python encoder (the credential PNG budget is 8 ms).

qrcode computes error-correction codewords with recursive polynomial objects and writes its bit
buffer one bit at a time: together about 25 ms of a 30 ms render of a credential. ``create_bytes``
returns the same codewords with an LFSR over GF(256) log tables, and ``put`` writes whole bytes;
tests compare both with qrcode's own on random data and decode the result with zxing-cpp.
"""

from __future__ import annotations

from qrcode import LUT, base, util

_EXP = [base.EXP_TABLE[i % 255] for i in range(512)]
_LOG = base.LOG_TABLE


def _generator(ec_count: int) -> list[int]:
    if ec_count in LUT.rsPoly_LUT:
        return list(LUT.rsPoly_LUT[ec_count])
    poly = base.Polynomial([1], 0)
    for i in range(ec_count):
        poly = poly * base.Polynomial([1, base.gexp(i)], 0)
    return [poly[i] for i in range(len(poly))]


def _remainder(data: list[int], gen_logs: list[int | None], ec_count: int) -> list[int]:
    rem = [0] * ec_count
    for byte in data:
        factor = byte ^ rem[0]
        del rem[0]
        rem.append(0)
        if factor:
            lf = _LOG[factor]
            for i, lg in enumerate(gen_logs):
                if lg is not None:
                    rem[i] ^= _EXP[lf + lg]
    return rem


def create_bytes(buffer: util.BitBuffer, rs_blocks: list[util.RSBlock]) -> list[int]:
    offset, dcdata, ecdata = 0, [], []
    for block in rs_blocks:
        dc_count, ec_count = block.data_count, block.total_count - block.data_count
        current = [0xFF & buffer.buffer[i + offset] for i in range(dc_count)]
        offset += dc_count
        gen = _generator(ec_count)
        logs = [_LOG[g] if g else None for g in gen[1:]]
        dcdata.append(current)
        ecdata.append(_remainder(current, logs, ec_count))
    data = [dc[i] for i in range(max(map(len, dcdata))) for dc in dcdata if i < len(dc)]
    data += [ec[i] for i in range(max(map(len, ecdata))) for ec in ecdata if i < len(ec)]
    return data


def put(self: util.BitBuffer, num: int, length: int) -> None:
    """Append the ``length`` low bits of ``num``, most significant first, a byte at a time."""
    if length <= 0:
        return
    start = self.length
    bit_off = start % 8
    span = bit_off + length
    nbytes = (span + 7) // 8
    chunk = (num & ((1 << length) - 1)) << (nbytes * 8 - span)
    buf, first = self.buffer, start // 8
    while len(buf) < first + nbytes:
        buf.append(0)
    for k in range(nbytes):
        buf[first + k] |= (chunk >> (8 * (nbytes - 1 - k))) & 0xFF
    self.length = start + length


original_create_bytes = util.create_bytes
original_put = util.BitBuffer.put


def install() -> None:
    util.create_bytes = create_bytes
    util.BitBuffer.put = put  # type: ignore[method-assign]
