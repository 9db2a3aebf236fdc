"""The Ryu/os-ken application shell: what ``dmm_ryu.app`` delegates to.

Nothing here decides anything about mobility: it keeps the clock, guards
every handler and the timer thread, sends what the runtime returns, and
serves REST.  ``dmm_ryu/app.py`` holds the framework's event handlers
(they must live in the module ``ryu-manager`` loads)."""
