"""YAML for domain files, read so that no file can crash or stall the reader.

``yaml.safe_load`` already refuses Python objects, but it still accepts
what a configuration file never needs and an attacker can abuse:

* duplicate keys, of which PyYAML silently keeps the last (an operator who
  edits one ``pool:`` line of two sees no effect);
* anchors and aliases (``&a`` / ``*a``): a few lines of nested aliases
  expand to billions of nodes (the "billion laughs" bomb);
* unbounded nesting: the composer recurses once per level, so 5,000 ``[``
  end in ``RecursionError``;
* unbounded size, and numbers of thousands of digits (``int()`` refuses
  them with a bare ``ValueError``).

:func:`load_yaml` refuses all of these, and text that is not UTF-8, with one
:class:`InvalidConfigError` naming the key path (``maars.maar1.pool``) or
the byte offset where the problem lies.  Aliases, anchors, long values and
depth are screened from the parser's event stream (libyaml's parser keeps
an explicit stack, so a megabyte of ``[`` costs no recursion) before any
node is composed; duplicate keys are then found on the composed tree, whose
depth the screen has bounded.
"""
from __future__ import annotations

from typing import Any, List, Union

import yaml

from dmm_ryu.config.values import InvalidConfigError

MAX_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_SCALAR = 4096  # characters of one value: longer than any key or address


#: libyaml's parser where available (eight times faster); same events either way.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"


def _path(steps: List[str]) -> str:
    return ".".join(s for s in steps if s).replace(".[", "[") or "(top level)"


def _refuse(steps: List[str], reason: str, mark) -> InvalidConfigError:
    return InvalidConfigError(f"{_path(steps)}: {reason} ({_where(mark)})")


class _Walk:
    """Where the event stream is: one frame per open mapping or sequence."""

    def __init__(self) -> None:
        self.frames: List[list] = []  # [is_mapping, items seen, current key]

    def steps(self) -> List[str]:
        return [key if is_mapping else f"[{seen - 1}]" if seen else ""
                for is_mapping, seen, key in self.frames]

    def node(self, event) -> None:
        """A scalar or a collection start inside the innermost frame."""
        if self.frames:
            frame = self.frames[-1]
            if frame[0] and frame[1] % 2 == 0:
                frame[2] = "(key)"
                if not isinstance(event, yaml.ScalarEvent):
                    raise _refuse(self.steps(), "a key must be a plain value, not a list or "
                                  "mapping", event.start_mark)
                frame[2] = event.value
            frame[1] += 1


def _screen(text: str) -> None:
    """Refuse aliases, anchors, long values and deep nesting from the events
    alone, before anything is built from them."""
    walk = _Walk()
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            raise _refuse(walk.steps(), "YAML aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise _refuse(walk.steps(), "YAML anchors (&name) are not allowed", event.start_mark)
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR:
            raise _refuse(walk.steps(), f"value longer than {MAX_SCALAR} characters",
                          event.start_mark)
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            walk.node(event)
        if isinstance(event, yaml.CollectionStartEvent):
            walk.frames.append([isinstance(event, yaml.MappingStartEvent), 0, ""])
            if len(walk.frames) > MAX_DEPTH:
                raise _refuse(walk.steps(), f"nested deeper than {MAX_DEPTH} levels",
                              event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            walk.frames.pop()


def _check_keys(loader, node, steps: List[str]) -> None:
    """Every mapping's keys given once, and no merge key (``<<``)."""
    if isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            _check_keys(loader, child, steps + [f"[{i}]"])
    if not isinstance(node, yaml.MappingNode):
        return
    first = {}
    for key_node, child in node.value:
        here = steps + [str(key_node.value)]
        if key_node.tag == "tag:yaml.org,2002:merge":
            raise _refuse(here, "merge keys (<<) are not allowed", key_node.start_mark)
        key = loader.construct_object(key_node)
        try:
            seen = first.setdefault(key, key_node)
        except TypeError:  # an unhashable key such as !!binary
            raise _refuse(here, "a key must be a plain value", key_node.start_mark) from None
        if seen is not key_node:
            raise _refuse(here, f"duplicate key (first on line {seen.start_mark.line + 1})",
                          key_node.start_mark)
        _check_keys(loader, child, here)


def _text(data: Union[bytes, str]) -> str:
    """The UTF-8 text of a file, at most :data:`MAX_BYTES` long."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_BYTES:
        raise InvalidConfigError(f"(file): larger than {MAX_BYTES} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InvalidConfigError(
            f"(file): not UTF-8 text: byte 0x{data[err.start]:02x} at offset {err.start} "
            f"(line {line})") from None


def load_yaml(data: Union[bytes, str]) -> Any:
    """The one YAML document in ``data``, as plain Python values."""
    text = _text(data)
    loader = None
    try:
        _screen(text)
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return None
        _check_keys(loader, node, [])
        return loader.construct_document(node)
    except InvalidConfigError:
        raise
    except yaml.MarkedYAMLError as err:
        raise InvalidConfigError(
            f"(file): not valid YAML ({err.problem or err.context}, "
            f"{_where(err.problem_mark)})") from None
    except yaml.YAMLError as err:
        raise InvalidConfigError(f"(file): not valid YAML ({' '.join(str(err).split())})") from None
    except ValueError as err:  # e.g. an int of more digits than Python reads
        raise InvalidConfigError(f"(file): unreadable value ({err})") from None
    finally:
        if loader is not None:
            loader.dispose()
