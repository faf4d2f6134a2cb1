"""The agent: a loop that schedules reconcile passes, and its parts.

`loop` runs passes when `triggers` fire (file `watch`, engine events, timers) and backs failing
resources off; `lastgood` keeps each file's last valid content in force; `lock` keeps one agent per
engine and namespace; `statedir` is what it remembers across restarts, written with `atomic`;
`status` and `metrics` report what it sees.
"""
