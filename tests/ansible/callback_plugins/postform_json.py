# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""A minimal JSON stdout callback for postform's tests and benchmark.

ansible-core does not bundle a JSON callback (``json`` redirects to
``ansible.posix.json``, a separate collection), so the tests carry this one.
At the end of the run it prints ONE JSON document shaped like
ansible.posix.json's:

    {"plays": [{"play": {"name": ...},
                "tasks": [{"task": {"name": ..., "action": ..., "handler": bool,
                                    "duration": {"start": ..., "end": ..., "seconds": ...}},
                           "hosts": {"<host>": <result>}}]}],
     "stats": {"<host>": {"ok": n, "changed": n, "failures": n, ...}}}

Results are kept whole (diff and invocation included). A task's duration
runs from its start to its last host result (what profile_tasks measures).

Enable with ANSIBLE_CALLBACK_PLUGINS=<this dir> ANSIBLE_STDOUT_CALLBACK=postform_json.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: postform_json
type: stdout
short_description: one JSON document with every task result and its duration
description:
  - Test helper for postform; prints the whole run as JSON at the end.
"""

import datetime
import json
import time

from ansible.plugins.callback import CallbackBase


def _now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _result_dict(result):
    # ansible-core >= 2.19: .result; older: ._result
    if hasattr(type(result), 'result'):
        return dict(result.result)
    return dict(result._result)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'postform_json'

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.plays = []
        self._task_by_uuid = {}

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name(), 'id': str(play._uuid)}, 'tasks': []})

    def _start(self, task, handler):
        entry = {
            'task': {
                'name': task.get_name(),
                'action': task.action,
                'handler': handler,
                'id': str(task._uuid),
                'duration': {'start': _now_iso(), 'end': None, 'seconds': None},
                '_t0': time.monotonic(),
            },
            'hosts': {},
        }
        if not self.plays:
            self.plays.append({'play': {'name': '', 'id': ''}, 'tasks': []})
        self.plays[-1]['tasks'].append(entry)
        self._task_by_uuid[str(task._uuid)] = entry

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, True)

    def _record(self, result, **extra):
        task = result._task
        entry = self._task_by_uuid.get(str(task._uuid))
        if entry is None:
            self._start(task, False)
            entry = self._task_by_uuid[str(task._uuid)]
        data = _result_dict(result)
        data.update(extra)
        entry['hosts'][result._host.get_name()] = data
        d = entry['task']['duration']
        d['end'] = _now_iso()
        d['seconds'] = round(time.monotonic() - entry['task']['_t0'], 6)

    def v2_runner_on_ok(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs):
        # ansible-core 2.19 drops `failed` from the result callbacks see.
        self._record(result, failed=True, ignore_errors=ignore_errors)

    def v2_runner_on_skipped(self, result, **kwargs):
        self._record(result)

    def v2_runner_on_unreachable(self, result, **kwargs):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        summary = {}
        for host in sorted(stats.processed.keys()):
            summary[host] = stats.summarize(host)
        for play in self.plays:
            for t in play['tasks']:
                t['task'].pop('_t0', None)
        out = {'plays': self.plays, 'stats': summary}
        self._display.display(json.dumps(out, indent=2, sort_keys=True, default=str, ensure_ascii=False))
