#!/usr/bin/env bash
# Bring a fresh Debian 12 machine (root, nothing installed, no services) to the
# point where the controller, the demo and the tests run.  Idempotent: each
# step checks first, so a second run takes about a second.
#   1. Debian packages (Open vSwitch, Mininet, etcd, tshark, iperf3, ping, venv, ...)
#   2. Open vSwitch daemons, started in user-space mode when nothing runs them
#   3. .venv (Debian's python3 + system site-packages, so Mininet's library
#      is importable) with the pinned Python dependencies, Ryu 4.34, os-ken
#      4.2.2 (both in one venv: their pins overlap, eventlet 0.33.3 and
#      oslo.config 10.7.0 suit both), our osken-manager (os-ken 4 has none)
#      and the eventlet compatibility hook for Ryu.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PY=/usr/bin/python3
APT_PACKAGES=(openvswitch-switch openvswitch-common mininet tshark tcpdump iperf3 etcd-server curl
              iputils-ping iproute2 procps ethtool python3-venv python3-pip)

say() { printf 'bootstrap: %s\n' "$*" >&2; }

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        say "must run as root (Open vSwitch, Mininet and network namespaces need it)"
        exit 1
    fi
}

install_debian_packages() {
    local missing=()
    for pkg in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Run a command with every file descriptor above 2 closed.
without_inherited_fds() {
    python3 -c 'import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:], close_fds=True))' "$@"
}

start_openvswitch() {
    if ovs-vsctl --timeout=3 show >/dev/null 2>&1; then
        return
    fi
    say "starting Open vSwitch (ovsdb-server + ovs-vswitchd, user-space datapath)"
    # No kernel module on these machines: bridges use datapath_type=netdev.
    # The daemons outlive this script: they must not inherit its open files
    # beyond stdio (a caller's flock would be held for as long as OVS runs).
    without_inherited_fds /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random \
        >/dev/null 2>&1 \
        || without_inherited_fds /usr/share/openvswitch/scripts/ovs-ctl start --system-id=random
    ovs-vsctl --timeout=10 show >/dev/null
}

# pip, minus this machine's notes about absent local mirror folders.
pip_quiet() {
    "$VENV/bin/python" -m pip --disable-pip-version-check "$@" \
        2> >(grep -v "^WARNING: Location 'file:" >&2)
}

venv_stamp() {
    cat "$ROOT/setup.cfg" "$ROOT/requirements/constraints.txt" "$0" | sha256sum | cut -d' ' -f1
}

build_venv() {
    local stamp
    stamp=$(venv_stamp)
    if [ -f "$VENV/.dmm-stamp" ] && [ "$(cat "$VENV/.dmm-stamp")" = "$stamp" ]; then
        return
    fi
    say "building $VENV (Python $($PY -c 'import platform; print(platform.python_version())'))"
    [ -x "$VENV/bin/python" ] || $PY -m venv --system-site-packages "$VENV"
    local pip=(pip_quiet install -q -c "$ROOT/requirements/constraints.txt")
    "${pip[@]}" setuptools==66.1.1 wheel pbr
    # Ryu 4.34's setup.py fails under pip's build isolation with current
    # setuptools; building against the venv's pinned setuptools works.
    "${pip[@]}" --no-build-isolation ryu==4.34
    "${pip[@]}" --no-build-isolation -e "$ROOT[ryu,osken,test,demo]"
    # os-ken 4 dropped its osken-manager; ours (dmm_ryu/shell/manager.py) must
    # be the one installed, not a leftover of an os-ken 3 venv.
    grep -q dmm_ryu.shell.manager "$VENV/bin/osken-manager" \
        || "${pip[@]}" --no-build-isolation --no-deps --force-reinstall -e "$ROOT"
    # ryu-manager imports ryu.app.wsgi before any app; see dmm_ryu/_eventlet_compat.py.
    "$VENV/bin/python" -c "from dmm_ryu.of._eventlet_compat import install_pth; install_pth()"
    echo "$stamp" > "$VENV/.dmm-stamp"
}

need_root
install_debian_packages
start_openvswitch
build_venv
