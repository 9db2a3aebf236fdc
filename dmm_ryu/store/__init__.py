"""Durable state of the nodes: a small key/value interface with revisions.

:mod:`base` defines what a node needs from a store (atomic multi-key commit,
compare-and-swap on revisions, load everything at start); backends sit
beside it (in memory for tests, SQLite by default, etcd for several
controllers).  The protocol core never sees a store: the runtime persists a
node's changed records before the messages that depend on them leave.
"""
