"""The ``dmm-ryu-check`` command."""
from dmm_ryu.tools.check import main

GOOD = """
maars:
  maar1: {dpid: 1, address: "2001:db8:ffff::1", pool: "2001:db8:1::/48",
          access_ports: [1], transport_ports: [2]}
cmd: {address: "2001:db8:ffff::100", maar: maar1, port: 3}
"""


def test_valid_file_summarised(tmp_path, capsys):
    path = tmp_path / "dmm.yaml"
    path.write_text(GOOD)
    assert main([str(path)]) == 0
    assert "ok: proxy mode, CMD 2001:db8:ffff::100, MAARs maar1 (2001:db8:1::/48)" in capsys.readouterr().out


def test_invalid_file_names_key(tmp_path, capsys):
    path = tmp_path / "dmm.yaml"
    path.write_text(GOOD.replace("port: 3", "port: 0"))
    assert main([str(path)]) == 1
    assert "invalid: cmd.port: 0 out of range" in capsys.readouterr().err


def test_inconsistent_timers_are_refused_like_the_controller_does(tmp_path, capsys):
    path = tmp_path / "dmm.yaml"
    path.write_text(GOOD + "timers: {retransmit_initial: 9, retransmit_max: 2}\n")
    assert main([str(path)]) == 1
    assert "invalid: timers: need 0 < retransmit_initial <= retransmit_max" in capsys.readouterr().err


def test_dataplane_limits_are_checked_too(tmp_path, capsys):
    path = tmp_path / "dmm.yaml"
    path.write_text(GOOD + 'upstream_mac: "0e:00:00:00:00:01"\n')
    assert main([str(path)]) == 1
    assert "upstream_mac: 0e:00:00:00:00:01 is the transport MAC of MAAR maar1" in \
        capsys.readouterr().err


def test_pool_beyond_label_capacity_is_cut_with_a_note(tmp_path, capsys):
    path = tmp_path / "dmm.yaml"
    path.write_text(GOOD.replace('"2001:db8:1::/48"', '"2001:db8::/32"'))
    assert main([str(path)]) == 0
    assert ("note: maars.maar1.pool: only 2001:db8::/45 (524288 prefixes) is used"
            in capsys.readouterr().out)


def test_files_that_crashed_the_reader_are_refused_by_name(tmp_path, capsys):
    path = tmp_path / "dmm.yaml"
    path.write_bytes(GOOD.encode().replace(b"maar1", b"maar\xff", 1))
    assert main([str(path)]) == 1
    path.write_text(GOOD + "x: " + "[" * 5000)
    assert main([str(path)]) == 1
    err = capsys.readouterr().err
    assert "invalid: (file): not UTF-8 text: byte 0xff at offset 14 (line 3)" in err
    assert "invalid: x[0][0]" in err and "nested deeper than 32 levels" in err


def test_serving_any_mac_by_default_is_noted(tmp_path, capsys):
    path = tmp_path / "dmm.yaml"
    path.write_text(GOOD)
    assert main([str(path)]) == 0
    assert "note: mn_policy: not set, so any MAC is served" in capsys.readouterr().out
