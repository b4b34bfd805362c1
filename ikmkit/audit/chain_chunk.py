"""The replay's chunk path: one partition's chunk verified in passes over all its records.

``BatchChecks._next_event`` checks one record in ~60 Python steps; its checks are each a
C call, so the Python steps (bytecode, calls, attribute lookups) are what the replay pays
per record. Here every check is done once for the whole chunk by C-level passes (``map``,
``zip``, ``bytes.join``, slices, list comparisons), each being the conjunction of the
per-record check it replaces:

- one header layout (``chain_body._PLATFORM``, every record the same length) compared for
  the chunk at once, values taken by slices;
- the attributes' "ASCII, nothing JSON would escape" on their concatenation (a byte test);
- the quick RFC 8785 test of ``canonical.quick_canonical`` term by term over all payloads;
- each record's previous hash and expected sequence from the compact chains before the
  chunk, or from the chunk's own earlier record of the same stream (the hash it claims,
  which is the digest the per-record path would have stored once it matched);
- the hashed bytes made and hashed by ``map`` over ``zip``, compared with the claims as
  lists.

The chunk is accepted only if every record passes every check the fast path makes, and
then the state changes exactly as ``_next_event`` would change it record by record (the
same digests appended in the same order, the same contract groups in the same order).
Anything else returns None before any state is touched, and the caller runs the
per-record path, which decides as before: a tampered or irregular record costs its chunk
the per-record speed, never a different answer (tests/unit/test_audit_chunk_path.py).
"""

from __future__ import annotations

import functools
from binascii import hexlify, unhexlify
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from itertools import chain, compress, repeat
from operator import attrgetter, is_, is_not, itemgetter, methodcaller, ne
from typing import Any, cast

from pydantic_core import from_json, to_json

from contracts import envelope as ce
from contracts.base import Event
from contracts.chain import CANON_RFC8785
from ikmkit.audit.canonical import _BEYOND_BMP, _SIMPLE, _plain, _plain_leaf
from ikmkit.audit.chain_body import _PLATFORM, _PLATFORM_TAILS, NEEDS_ESCAPE
from ikmkit.audit.chain_parts import Contracts, Stream, partition_prefix
from ikmkit.audit.fetch import LogEntry

_GENESIS = ce.GENESIS_HASH.encode()
_RFC8785 = CANON_RFC8785.encode()
_NOT_PLAIN = NEEDS_ESCAPE + bytes(range(0x80, 0x100))
_WIDTH = len(_PLATFORM)
_headers = attrgetter("headers")
_key = attrgetter("key")
_value = attrgetter("value")
_digest = methodcaller("digest")
_first = itemgetter(slice(None, len(_PLATFORM)))
_parse = functools.partial(from_json, allow_inf_nan=False, cache_strings="keys")
_fromisoformat = datetime.fromisoformat
_CANON_AT = _PLATFORM.index(ce.H_HASHCANON)
_CANON = (ce.H_HASHCANON, _RFC8785)
_DECLINED = (ValueError, TypeError, LookupError, AttributeError, RecursionError)
"""Whatever a pass raises declines the chunk: the per-record path then decides (or raises)
exactly as before."""

_DICT = {dict}
_NEW = unhexlify(_GENESIS)
"""A new stream's chain as ``_previous`` reads it: 32 bytes (no event before), whose hex
is the genesis hash."""
_last_digest = itemgetter(slice(-32, None))

Chains = dict[bytes, bytearray]


@functools.lru_cache(maxsize=64)
def _names(count: int, tail: tuple[str, ...]) -> tuple[str, ...]:
    """Every header name of ``count`` records in the platform's layout with ``tail``."""
    return (_PLATFORM + tail) * count


def _layout(headers: list[Any]) -> tuple[list[Any], int]:
    """The records' headers as rows of one width: as they are if every record has as many
    headers (the tail, traceparent or signature, then compared with the layout), else the
    platform's first twelve of each once every tail is one the layout allows; no rows if not."""
    widths = set(map(len, headers))
    if len(widths) == 1:
        return headers, widths.pop()
    if min(widths) < _WIDTH:
        return [], 0
    tails = {tuple(name for name, _ in record[_WIDTH:]) for record in headers}
    if not tails <= _PLATFORM_TAILS:
        return [], 0
    return list(map(_first, headers)), _WIDTH


@dataclass(slots=True)
class Chunk:
    """A chunk's header values (one tuple per header, records in order), its payloads, and
    once verified each record's digest."""

    models: list[type[Event]]
    ids: Sequence[bytes]
    types: Sequence[bytes]
    sources: Sequence[bytes]
    times: Sequence[bytes]
    subjects: Sequence[bytes]
    sequences: list[int]
    plain_sequences: list[bytes]
    claimed: Sequence[bytes]
    regions: Sequence[bytes]
    payloads: list[bytes]
    digests: list[bytes] = field(default_factory=list)
    # per record, its stream's compact chain before the chunk (_NEW if none), when no
    # stream has two records in the chunk
    olds: list[bytearray | bytes] | None = None


def verify_chunk(
    entries: Sequence[LogEntry],
    chains: Chains,
    streams: Mapping[tuple[str, bytes], Stream],
    topic: str,
    contracts: Contracts,
) -> Chunk | None:
    """The chunk with its records' digests, if every record is the next event of its
    regular stream as ``_next_event``'s fast path decides it; else None. Changes nothing
    (``commit`` does). ``contracts``: the topic's (``chain_parts.owned``)."""
    try:
        # a log written before RFC 8785 payloads (no ce_hashcanon) declines at its first record
        if entries[0].headers[_CANON_AT] != _CANON:
            return None
        chunk = _fields(entries, contracts)
        if chunk is None or not _canonical(chunk.payloads):
            return None
        previous = _previous(chunk, chains, streams, topic)
        if previous is None or not _hashes_hold(chunk, previous):
            return None
    except _DECLINED:
        return None
    return chunk


def commit(chunk: Chunk, chains: Chains, partition: int) -> None:
    """Append each record's digest to its stream's compact chain, in the records' order."""
    prefix = partition_prefix(partition)
    olds = chunk.olds
    if olds is not None:  # one record per stream: none sees another's digest appended
        continued = list(map(is_not, olds, repeat(_NEW)))
        appended = cast("Iterator[bytearray]", compress(olds, continued))  # _NEW left out
        list(map(bytearray.extend, appended, compress(chunk.digests, continued)))
        fresh = list(map(is_, olds, repeat(_NEW)))
        started = map(bytearray, map(prefix.__add__, compress(chunk.digests, fresh)))
        chains.update(zip(compress(chunk.subjects, fresh), started, strict=True))
        return
    get = chains.get
    for subject, digest in zip(chunk.subjects, chunk.digests, strict=True):
        digests = get(subject)
        if digests is None:
            chains[subject] = bytearray(prefix + digest)
        else:
            digests += digest


def _fields(entries: Sequence[LogEntry], contracts: Contracts) -> Chunk | None:
    """The chunk's header values, if each record has the platform's layout, a contract of
    the topic and its owner's ``ce_source``, the subject as its key, ``ce_hashcanon`` RFC
    8785, plain attributes, a sequence of ASCII digits and an ISO 8601 time (what
    ``_next_event`` asks)."""
    rows, width = _layout(list(map(_headers, entries)))
    if not rows:
        return None
    count = len(rows)
    names, values = zip(*chain.from_iterable(rows), strict=True)
    tail = names[_WIDTH:width]
    if tail not in _PLATFORM_TAILS or names != _names(count, tail):
        return None
    ids, types, sources, times = (
        values[1::width],
        values[2::width],
        values[3::width],
        values[4::width],
    )
    subjects, sequences, claimed = values[5::width], values[6::width], values[7::width]
    canons, regions = values[10::width], values[11::width]
    if canons.count(_RFC8785) != count or tuple(map(_key, entries)) != subjects:
        return None
    kinds = set(types)
    if len(kinds) == 1:
        model, source = contracts[kinds.pop()]
        if sources.count(source) != count:
            return None  # not every record its owner's: ``check`` says which
        models = [model] * count
    else:
        pairs = list(map(contracts.__getitem__, types))
        if any(map(ne, sources, map(itemgetter(1), pairs))):
            return None
        models = list(map(itemgetter(0), pairs))
    attributes = b"".join(chain(ids, sources, subjects, times, types, regions))
    if len(attributes.translate(None, _NOT_PLAIN)) != len(attributes):
        return None
    if not all(map(bytes.isdigit, sequences)):
        return None
    list(map(_fromisoformat, map(bytes.decode, times)))  # raises (declines) on a non-time
    return Chunk(
        models, ids, types, sources, times, subjects,
        list(map(int, sequences)), list(map(bytes.lstrip, sequences, repeat(b"0"))),
        claimed, regions, list(map(_value, entries)),
    )  # fmt: skip


def _canonical(payloads: list[bytes]) -> bool:
    """``quick_canonical`` of every payload, each of its tests made once for the chunk.

    Each payload is parsed alone (so each is one JSON value); the values are serialised as
    one array, compared with the payloads joined as one. A value's compact form is its
    only JSON text without whitespace, and no JSON value's text continues past its end,
    so if the two arrays are equal each item's form is its payload, as ``quick_canonical``
    asks item by item (tests/unit/test_audit_chunk_canonical.py holds the two together).
    """
    joined = b",".join(payloads)
    if not joined.isascii() and _BEYOND_BMP.search(joined):
        return False
    values = list(map(_parse, payloads))
    if set(map(type, values)) == _DICT:
        # the keys of each object in code point order: one test per key layout
        if not all(list(keys) == sorted(keys) for keys in set(map(tuple, values))):
            return False
        members = list(chain.from_iterable(map(dict.values, values)))
        if not _SIMPLE.issuperset(map(type, members)) and not all(map(_plain_leaf, members)):
            return False
    elif not all(map(_plain, values)):
        return False
    return bool(to_json(values) == b"[" + joined + b"]")


def _previous(
    chunk: Chunk, chains: Chains, streams: Mapping[tuple[str, bytes], Stream], topic: str
) -> list[bytes] | None:
    """Each record's predecessor's hash, None unless every sequence is its stream's next."""
    subjects = chunk.subjects
    if len(set(subjects)) == len(subjects):
        olds = list(map(chains.get, subjects, repeat(_NEW)))
        # (4 + 32 n + 28) >> 5 == n + 1, and 1 for _NEW (32 bytes)
        expected = [(len(d) + 28) >> 5 for d in olds]
        previous = list(map(hexlify, map(_last_digest, olds)))
        fresh = [s for s, d in zip(subjects, olds, strict=True) if d is _NEW] if streams else []
        chunk.olds = olds
    else:
        expected, previous, fresh = _repeated(chunk, chains)
    if expected != chunk.sequences:
        return None
    if streams and any((topic, subject) in streams for subject in fresh):
        return None  # an irregular stream, kept whole: ``check`` decides
    return previous


def _repeated(chunk: Chunk, chains: Chains) -> tuple[list[int], list[bytes], list[bytes]]:
    """``_previous`` when a stream has several records in the chunk: a record after the
    first follows the one before it, whose claimed hash is the digest the per-record path
    would have appended (the chunk is accepted only if every claim matches)."""
    last: dict[bytes, int] = {}
    expected: list[int] = []
    previous: list[bytes] = []
    fresh: list[bytes] = []
    for index, subject in enumerate(chunk.subjects):
        before = last.get(subject)
        last[subject] = index
        if before is not None:
            expected.append(chunk.sequences[before] + 1)
            previous.append(chunk.claimed[before])
            continue
        digests = chains.get(subject)
        if digests is None:
            expected.append(1)
            previous.append(_GENESIS)
            fresh.append(subject)
        else:
            expected.append(len(digests) // 32 + 1)
            previous.append(hexlify(digests[-32:]))
    return expected, previous, fresh


def _hashes_hold(chunk: Chunk, previous: list[bytes]) -> bool:
    """Every record's ``ce_hash`` is sha256(previous hash + its canonical body), the body
    spliced as ``chain_body.plain_chain_body`` splices it (a region is never None here)."""
    bodies = map(
        b"".join,
        zip(
            previous, repeat(b'{"data":'), chunk.payloads,
            repeat(b',"id":"'), chunk.ids,
            repeat(b'","region":"'), chunk.regions,
            repeat(b'","sequence":'), chunk.plain_sequences,
            repeat(b',"source":"'), chunk.sources,
            repeat(b'","subject":"'), chunk.subjects,
            repeat(b'","time":"'), chunk.times,
            repeat(b'","type":"'), chunk.types,
            repeat(b'"}'),
        ),
    )  # fmt: skip
    digests = list(map(_digest, map(sha256, bodies)))
    if list(map(hexlify, digests)) != list(chunk.claimed):
        return False
    chunk.digests = digests
    return True
