# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Action plugin for postform.postfix.service_action.

Passes the host fact ``postform_postfix_pending`` (kept by the main_cf
action plugin) to the module as ``pending`` unless the task gives
``pending`` itself, runs the postform binary (see
``plugins/plugin_utils/binary_module.py``), and removes from the fact the
config dirs the module reports as ``done``. With nothing pending, nothing is
sent to the host.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.utils.vars import merge_hash

from ansible_collections.postform.postfix.plugins.module_utils.argspecs import (
    PENDING_FACT,
    SERVICE_ACTION_ARGUMENT_SPEC,
)
from ansible_collections.postform.postfix.plugins.plugin_utils.binary_module import BinaryModuleAction


class ActionModule(BinaryModuleAction):

    MODULE_FQCN = 'postform.postfix.service_action'
    # The pending fact is cleared from the result; async results never pass here.
    _supports_async = False
    ARGUMENT_SPEC = SERVICE_ACTION_ARGUMENT_SPEC

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # no longer has any effect
        args = self._task.args.copy()
        known = dict((task_vars.get('ansible_facts') or {}).get(PENDING_FACT) or {})
        # AnsibleActionFail from these fails the task.
        self.check_option_names(args)
        if args.get('pending') is None:
            args['pending'] = known
        pending = args['pending']
        if isinstance(pending, dict) and all(a in (None, 'none') for a in pending.values()):
            # Nothing to run: do not send the binary.
            result.update(changed=False, msg='no Postfix service action pending',
                          actions=[], done=sorted(pending))
            result['ansible_facts'] = {PENDING_FACT: dict(
                (d, a) for d, a in known.items() if d not in pending)}
            return result
        result = merge_hash(result, self.run_binary(task_vars, args))
        if not result.get('failed') and not self._task.async_val:
            done = set(result.get('done') or [])
            facts = dict(result.get('ansible_facts') or {})
            facts[PENDING_FACT] = dict((d, a) for d, a in known.items() if d not in done)
            result['ansible_facts'] = facts
        return result
