# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Action plugin for postform.postfix.main_cf.

Runs the postform binary for the target's platform as the module (see
``plugins/plugin_utils/binary_module.py``), after checking the option names
on the controller, and keeps the service action the change needs pending.

Pending service actions: a handler sees only the last registered result,
so a restart needed by the first of several tasks (or loop items) would be
lost when a later one is a no-op. After every successful run this plugin
therefore returns the host fact ``postform_postfix_pending``: a dictionary
config dir -> ``reload`` or ``restart``, the strongest action any task
needed for that directory since it was last handled (``none < reload <
restart``). A directory drops out when the module itself ran an action at
least as strong (``service: auto``/``restart``). The module
``postform.postfix.service_action`` (the handler of the role
``postform.postfix.service``) runs the pending actions and clears the fact.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible.utils.vars import merge_hash

from ansible_collections.postform.postfix.plugins.module_utils.argspecs import (
    MAIN_CF_ARGUMENT_SPEC,
    MAIN_CF_REQUIRED_ONE_OF,
    PENDING_FACT,
    SERVICE_ACTIONS,
)
from ansible_collections.postform.postfix.plugins.plugin_utils.binary_module import BinaryModuleAction


# The pending actions computed by earlier items of the loop this worker
# process is running, keyed by (task uuid, host). Ansible runs all items of
# a task for one host in one forked worker, and does not reliably show an
# item the facts of the items before it (ansible-core 2.19 nests them under
# ansible_facts.ansible_facts; with INJECT_FACTS_AS_VARS off the top-level
# copy is missing), so the items chain through this instead.
_LOOP_PENDING = {}


def merge_pending(previous, result):
    """The pending-action dictionary after a successful main_cf result."""
    pending = dict(previous or {})
    config_dir = result.get('config_dir')
    if not config_dir:
        return pending
    rank = {a: i for i, a in enumerate(SERVICE_ACTIONS)}
    needed = max(rank.get(pending.get(config_dir), 0), rank.get(result.get('service_action'), 0))
    ran = rank.get(result.get('service_ran'), 0)
    if ran >= needed:
        pending.pop(config_dir, None)
    else:
        pending[config_dir] = SERVICE_ACTIONS[needed]
    return pending


class ActionModule(BinaryModuleAction):

    MODULE_FQCN = 'postform.postfix.main_cf'
    ARGUMENT_SPEC = MAIN_CF_ARGUMENT_SPEC
    REQUIRED_ONE_OF = MAIN_CF_REQUIRED_ONE_OF
    UNKNOWN_OPTION_HINT = 'Postfix parameters go under `parameters:`.'

    def run(self, tmp=None, task_vars=None):
        if task_vars is None:
            task_vars = {}
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # no longer has any effect
        args = self._task.args.copy()
        # AnsibleActionFail from these fails the task (ansible-core turns
        # it into the task's result in every supported version).
        self.check_option_names(args)
        result = merge_hash(result, self.run_binary(task_vars, args))
        if not result.get('failed') and not self._task.async_val:
            in_loop = bool(self._task.loop or self._task.loop_with)
            key = (self._task._uuid, task_vars.get('inventory_hostname'))
            if in_loop and key in _LOOP_PENDING:
                previous = _LOOP_PENDING[key]
            else:
                previous = (task_vars.get('ansible_facts') or {}).get(PENDING_FACT)
            pending = merge_pending(previous, result)
            if in_loop:
                _LOOP_PENDING[key] = pending
            facts = dict(result.get('ansible_facts') or {})
            facts[PENDING_FACT] = pending
            result['ansible_facts'] = facts
        return result
