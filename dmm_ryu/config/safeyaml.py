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
the byte offset where the problem lies.
"""
from __future__ import annotations

from typing import Any, List, Union

import yaml

from dmm_ryu.config.values import InvalidConfigError

MAX_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_SCALAR = 4096  # characters of one value: longer than any key or address


def _where(mark) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps the key path of the node being composed."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.path: List[str] = []

    def refuse(self, reason: str, mark=None) -> InvalidConfigError:
        key = _path(self.path)
        return InvalidConfigError(f"{key}: {reason} ({_where(mark)})")

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise self.refuse("YAML aliases (*name) are not allowed", event.start_mark)
        if getattr(event, "anchor", None) is not None:
            raise self.refuse("YAML anchors (&name) are not allowed", event.start_mark)
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_SCALAR:
            raise self.refuse(f"value longer than {MAX_SCALAR} characters", event.start_mark)
        self.path.append(_step(parent, index))
        if len(self.path) > MAX_DEPTH:
            raise self.refuse(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.MappingNode):
            self._check_keys(node)
        self.path.pop()
        return node

    def _check_keys(self, node: yaml.MappingNode) -> None:
        """Keys are plain values, each given once, and no merge (``<<``)."""
        first = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.refuse("a key must be a plain value, not a list or mapping",
                                  key_node.start_mark)
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.refuse("merge keys (<<) are not allowed", key_node.start_mark)
            key = self.construct_object(key_node)
            try:
                seen = first.setdefault(key, key_node)
            except TypeError:  # an unhashable key such as !!binary
                raise self.refuse("a key must be a plain value", key_node.start_mark) from None
            if seen is not key_node:
                self.path.append(str(key))
                raise self.refuse(f"duplicate key (first on line {seen.start_mark.line + 1})",
                                  key_node.start_mark)


def _path(steps: List[str]) -> str:
    return ".".join(s for s in steps if s).replace(".[", "[") or "(top level)"


def _step(parent, index) -> str:
    """The path element of a node composed under ``parent``."""
    if isinstance(index, yaml.ScalarNode):
        return str(index.value)
    if isinstance(index, int):
        return f"[{index}]"
    return "(key)" if isinstance(parent, yaml.MappingNode) else ""


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
        loader = _Loader(text)
        return loader.get_single_data()
    except InvalidConfigError:
        raise
    except yaml.MarkedYAMLError as err:
        raise InvalidConfigError(
            f"{_path(loader.path if loader else [])}: not valid YAML "
            f"({err.problem or err.context}, {_where(err.problem_mark)})") from None
    except yaml.YAMLError as err:
        raise InvalidConfigError(f"(file): not valid YAML ({' '.join(str(err).split())})") from None
    except ValueError as err:  # e.g. an int of more digits than Python reads
        raise InvalidConfigError(f"(file): unreadable value ({err})") from None
    finally:
        if loader is not None:
            loader.dispose()
