"""JUCE's VST3 plugin state, as pedalboard's `raw_state` holds it, and nice-plug's JSON inside.

Layout (JUCE's VST3PluginInstance::getStateInformation): the magic `VC2!`, the XML's length as a
little-endian u32, the XML, a NUL byte. The XML is
`<VST3PluginState><IComponent>…</IComponent><IEditController>…</IEditController></VST3PluginState>`,
where each element holds the bytes the plugin wrote, in JUCE's own base64 (MemoryBlock::
toBase64Encoding: `<byte count>.` then 6-bit groups, least significant bit first, over the
alphabet below). nice-plug's VST3 component state is its JSON state, unframed.
"""

import json
import re
import struct

MAGIC = b"VC2!"
ALPHABET = ".ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
COMPONENT = re.compile(r"<IComponent>(.*?)</IComponent>", re.S)


class StateError(ValueError):
    """The bytes are not a JUCE VST3 state this module understands."""


def juce_base64_decode(text):
    size_text, dot, data = text.partition(".")
    if not dot or not size_text.isdigit():
        raise StateError(f"not JUCE base64: {text[:20]!r}")
    num_bytes = int(size_text)
    out = bytearray(num_bytes)
    bit_idx = 0
    for char in data:
        value = ALPHABET.find(char)
        if value < 0:
            raise StateError(f"bad JUCE base64 character {char!r}")
        for k in range(6):
            byte_idx = (bit_idx + k) // 8
            if byte_idx < num_bytes and (value >> k) & 1:
                out[byte_idx] |= 1 << ((bit_idx + k) % 8)
        bit_idx += 6
    if bit_idx < 8 * num_bytes:
        raise StateError(f"JUCE base64 holds {bit_idx // 8} bytes, its header says {num_bytes}")
    return bytes(out)


def juce_base64_encode(data):
    num_chars = (len(data) * 8 + 5) // 6
    chars = []
    for char_idx in range(num_chars):
        value = 0
        for k in range(6):
            bit = char_idx * 6 + k
            if bit // 8 < len(data) and (data[bit // 8] >> (bit % 8)) & 1:
                value |= 1 << k
        chars.append(ALPHABET[value])
    return f"{len(data)}." + "".join(chars)


def split(raw_state):
    """(xml text, component bytes) of a pedalboard `raw_state`."""
    if raw_state[:4] != MAGIC or len(raw_state) < 8:
        raise StateError("raw_state does not start with VC2!")
    (xml_len,) = struct.unpack("<I", raw_state[4:8])
    if len(raw_state) < 8 + xml_len:
        raise StateError(f"raw_state is {len(raw_state)} bytes, its header promises {8 + xml_len}")
    xml = raw_state[8 : 8 + xml_len].decode("utf-8")
    match = COMPONENT.search(xml)
    if match is None:
        raise StateError("no <IComponent> in the state XML")
    return xml, juce_base64_decode(match.group(1))


def join(xml, component):
    """A `raw_state` with the <IComponent> of `xml` replaced by `component`."""
    encoded = juce_base64_encode(component)
    xml = COMPONENT.sub(lambda _: f"<IComponent>{encoded}</IComponent>", xml, count=1)
    body = xml.encode("utf-8")
    return MAGIC + struct.pack("<I", len(body)) + body + b"\0"


def decode(raw_state):
    """nice-plug's state (a dict with `params` and `fields`) inside a pedalboard `raw_state`."""
    _, component = split(raw_state)
    return json.loads(component)


def encode(raw_state_template, state):
    """`raw_state_template` with its component state replaced by nice-plug JSON `state`."""
    xml, _ = split(raw_state_template)
    return join(xml, json.dumps(state, separators=(",", ":")).encode("utf-8"))


def self_test():
    """The codec round-trips arbitrary bytes (run before trusting it on a real state)."""
    for data in (b"", b"\0", b"{}", bytes(range(256)), b'{"fields":{"a":"\\"x\\""}}' * 7):
        assert juce_base64_decode(juce_base64_encode(data)) == data, data
    # "{}" is 0x7d7b read as a little-endian integer; JUCE emits it 6 bits at a time, LSB first.
    assert juce_base64_encode(b"{}") == "2." + "".join(
        ALPHABET[(int.from_bytes(b"{}", "little") >> (6 * i)) & 63] for i in range(3)
    )
