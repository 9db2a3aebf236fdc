"""Wireshark support for the RFC 8885 parts of the signalling.

Wireshark's mip6 dissector shows options 65-70 as "IE data not dissected"
and ignores the D flag; ``dmm_mh.lua`` dissects them (fields ``dmm.*``, see
its header).  Load it with::

    tshark -X lua_script:dmm_ryu/wire/wireshark/dmm_mh.lua -r capture.pcap -V
    tshark -X lua_script:dmm_ryu/wire/wireshark/dmm_mh.lua -r capture.pcap \\
        -T fields -e dmm.previous_maar.address -e dmm.serving_maar.address

Other option type numbers (the codec's ``OptionTypes``) are preferences:
``-o dmm.previous_maar:200``.
"""
from __future__ import annotations

from pathlib import Path
from typing import List

#: The Lua dissector, wherever the package is installed.
DISSECTOR = Path(__file__).with_name("dmm_mh.lua")


def tshark_options() -> List[str]:
    """The ``tshark``/``wireshark`` arguments that load :data:`DISSECTOR`."""
    return ["-X", f"lua_script:{DISSECTOR}"]
