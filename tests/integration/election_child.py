"""A CMD-like instance for the election tests, under eventlet as ryu-manager
runs it: monkey-patches, commits one record, campaigns, prints ``leading``
once it leads, then keeps its lease alive until it is killed.

    python election_child.py ENDPOINT PREFIX INSTANCE_ID
"""
import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402  (after monkey-patching, as ryu-manager does)
import threading  # noqa: E402

from dmm_ryu.store.election import Election  # noqa: E402
from dmm_ryu.store.etcd import EtcdStore  # noqa: E402


def main(endpoint, prefix, instance_id):
    store = EtcdStore([endpoint], prefix=prefix)
    revision = store.commit({f"bce/{instance_id}": b"registered"})[f"bce/{instance_id}"]
    leading = threading.Event()
    Election(store, "cmd", instance_id, on_change=lambda now: now and leading.set()).start()
    leading.wait()
    green = eventlet.patcher.is_monkey_patched("thread")
    print(f"leading revision={revision} green={green}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(*sys.argv[1:])
